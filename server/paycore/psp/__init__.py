"""The PSP simulator (`paycore psp`, a process of its own) and the client paycore calls it with.

cards.py        the test card numbers and their fixed outcomes; brand, Luhn
requests.py     JSON bodies -> typed requests, or a 400 naming the field
store.py        the durable SQLite store (what survives what: its docstring)
processing.py   idempotency by key, the card outcomes, charge/capture/void/refund
settlement.py   the daily settlement report and the fee rule
simulator.py    the aiohttp application, faults, the time-out and answer-lost cards
process.py      the process (`paycore psp`) and the report printer
command.py      its command line
client.py       PspClient, PspResult, CardDetails and the PspError tree
"""

from paycore.psp.client import (
    CardDetails,
    PspClient,
    PspError,
    PspRejected,
    PspResult,
    PspTimeout,
    PspTransientError,
)

__all__ = [
    "CardDetails",
    "PspClient",
    "PspError",
    "PspRejected",
    "PspResult",
    "PspTimeout",
    "PspTransientError",
]
