"""Pay-out (issue 13): balances that settle, bank accounts, and payouts to the merchant and its
sellers (DESIGN.md, "Payout"; docs/payouts.md).

    models.py         the domain's types
    repository.py     rows (balance_transactions, bank_accounts, payout_schedules, payouts)
    balances.py       the balance book: ledger transfer + balance transaction, together
    availability.py   the job moving what is due from pending to available
    bank_accounts.py  bank accounts; where a payout goes (for the executor)
    banking.py        IBAN / ABA / account number checks
    calendar.py       days: available_on, arrival on bank business days, schedule runs
    payouts.py        manual and automatic payouts, cancel, sending through the executor
    lifecycle.py      pending -> in_transit -> paid / failed / canceled, and their money
    tracking.py       the job asking the bank how payouts stand
    schedules.py      payout schedules and the scheduler job
    reading.py        Get / List through paycore.storage.reads
    services.py       built by the composition root
    servicer/         PayoutService over gRPC
"""
