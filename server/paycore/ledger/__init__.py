"""LedgerService: double-entry accounts, two-phase transfers in batches, integrity checks."""
