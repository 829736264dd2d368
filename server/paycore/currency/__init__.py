"""Currencies (issue 19, docs/currencies.md): rules, rates, settlement currencies, conversion.

rules.py        what an amount in a currency must look like (ISO 4217 and the processors,
                as data, with per-PSP overrides); checked where amounts enter
conversion.py   exact conversion arithmetic: rounding and its remainder
models.py       rates, quotes, settlement currencies (frozen dataclasses)
repository.py   the rates table (every shard), settlement currencies, rounding carries
rates.py        the rates conversions use and GetExchangeRate shows; stale and missing
providers.py    where rates come from: the PSP simulator's, an ECB reference-rates file
job.py          the worker's exchange_rates job
settlement.py   captures, refunds and chargebacks converted into a settlement currency, in the
                ledger
crossing.py     what passes between the platform's balance and a seller's that settles in
                another currency (shares, transfers, fees given back, reversals)
service.py      what the servicer and pay-in's request checks ask
servicer/       CurrencyService
"""
