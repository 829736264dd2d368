"""ReconciliationService requests -> validated values; each failure an ApiError naming the
field (INVALID_ARGUMENT), before anything changes."""

from __future__ import annotations

import datetime as dt

from paycore import validation
from paycore.errors import invalid, missing
from paycore.ids import Prefix
from paycore.reconciliation.models import (
    Action,
    DiscrepancyFilter,
    Kind,
    Resolution,
    Source,
    Status,
)
from paycore.runtime.messages import by_number, by_number_or_none, member
from paycore.v1 import reconciliation_pb2

NOTE_LENGTH_MAX = 1000
PSP_ADAPTERS = ("", "simulator")
_SOURCES = by_number_or_none(Source, reconciliation_pb2.ReconciliationSource)
_KINDS = by_number_or_none(Kind, reconciliation_pb2.DiscrepancyKind)
_STATUSES = by_number_or_none(Status, reconciliation_pb2.DiscrepancyStatus)
_ACTIONS = by_number(Action, reconciliation_pb2.DiscrepancyAction)


def day(param: str, value: str, *, required: bool) -> dt.date | None:
    if not value:
        if required:
            raise missing(param)
        return None
    try:
        if len(value) != 10:
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        raise invalid(param, "must be a date, YYYY-MM-DD") from None


def run_request(
    request: reconciliation_pb2.RunReconciliationRequest, today: dt.date
) -> tuple[Source, dt.date]:
    """`today`: the UTC day of the platform's clock. A day to come has no report yet: refused.
    Today may be run (what its reports say so far; a run of it again later matches what came
    since, as a rerun of any day does)."""
    parsed = day("date", request.date, required=True)
    if parsed is None:  # required: day() raised already
        raise missing("date")
    if parsed > today:
        raise invalid(
            "date",
            f"{parsed.isoformat()} has not begun: reconcile {today.isoformat()} (UTC) or a day"
            " before",
        )
    if request.psp not in PSP_ADAPTERS:
        raise invalid("psp", f"unknown PSP adapter {request.psp!r} (known: simulator)")
    source = (
        member("source", request.source, _SOURCES, reconciliation_pb2.ReconciliationSource)
        or Source.PSP_SETTLEMENT
    )
    return source, parsed


def discrepancy_filter(request: reconciliation_pb2.ListDiscrepanciesRequest) -> DiscrepancyFilter:
    kind = member("kind", request.kind, _KINDS, reconciliation_pb2.DiscrepancyKind)
    status = member("status", request.status, _STATUSES, reconciliation_pb2.DiscrepancyStatus)
    return DiscrepancyFilter(
        merchant_id=validation.object_id(
            "merchant", request.merchant, Prefix.ACCOUNT, required=False
        )
        or None,
        run_id=validation.object_id("run", request.run, Prefix.RECONCILIATION_RUN, required=False)
        or None,
        day=day("date", request.date, required=False),
        kind=kind,
        status=status,
    )


def resolution(request: reconciliation_pb2.ResolveDiscrepancyRequest) -> tuple[str, Resolution]:
    discrepancy_id = validation.object_id("id", request.id, Prefix.DISCREPANCY)
    note = validation.text("resolution", request.resolution, maximum=NOTE_LENGTH_MAX, required=True)
    # required (PARAMETER_MISSING), and never auto: reconciliation's own (answer_only)
    action = member("action", request.action, _ACTIONS, reconciliation_pb2.DiscrepancyAction)
    return discrepancy_id, Resolution(action, note)
