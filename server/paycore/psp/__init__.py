"""How paycore calls a PSP: PspClient, PspResult, CardDetails and the PspError tree.
The simulator it talks to in development and tests is `paycore.tools.psp`."""

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
