"""`invariant()`: a check of what the code itself guarantees (never of input, which gets an
`ApiError`). Unlike `assert`, it still runs under `python -O`; a failure is a bug, answered
INTERNAL and logged with its message."""

from __future__ import annotations

from typing import NoReturn

from paycore.errors import InvariantViolation


def invariant(condition: bool, message: str) -> None:
    if not condition:
        violated(message)


def violated(message: str) -> NoReturn:
    raise InvariantViolation(message)
