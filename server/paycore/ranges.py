"""A range of unix seconds that a list is filtered by (Stripe's `created[gt]`, `created[gte]`,
`created[lt]`, `created[lte]`), held as the half-open [start, end) that a query compares a
timestamp column with (paycore.storage.reads.within)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

SECONDS_MAX = 253402300799
"""The last second of year 9999: the latest bound a range takes."""


@dataclass(frozen=True, slots=True)
class SecondsRange:
    start: int | None = None
    """The first second in the range; None: no lower bound."""
    end: int | None = None
    """The first second after the range; None: no upper bound."""

    @staticmethod
    def of(
        gt: int | None = None,
        gte: int | None = None,
        lt: int | None = None,
        lte: int | None = None,
    ) -> SecondsRange:
        """The seconds every bound given admits (none given: all of them)."""
        starts = [bound for bound in (None if gt is None else gt + 1, gte) if bound is not None]
        ends = [bound for bound in (lt, None if lte is None else lte + 1) if bound is not None]
        return SecondsRange(max(starts, default=None), min(ends, default=None))


def moment(seconds: int) -> datetime:
    """The time `seconds` after the epoch; past SECONDS_MAX, the latest time Python holds."""
    if seconds > SECONDS_MAX:
        return datetime.max.replace(tzinfo=UTC)
    return datetime.fromtimestamp(seconds, UTC)


ALL_SECONDS = SecondsRange()
"""No bound: what a list without a range filter asks."""
