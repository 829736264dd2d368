"""The PSP simulator (`paycore psp`, a process of its own). paycore calls it through
`paycore.psp.PspClient`, which is the server's wire code and lives outside the tools.

cards.py        the test card numbers and their fixed outcomes; brand, Luhn
requests.py     JSON bodies -> typed requests, or a 400 naming the field
store.py        the durable SQLite store (what survives what: its docstring)
processing.py   idempotency by key, the card outcomes, charge/capture/void/refund
settlement.py   the daily settlement report and the fee rule
simulator.py    the aiohttp application, faults, the time-out and answer-lost cards
process.py      the process (`paycore psp`) and the report printer
command.py      its command line
"""
