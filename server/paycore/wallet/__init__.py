"""WalletService: a merchant's balances and balance transactions, read from its ledger accounts."""
