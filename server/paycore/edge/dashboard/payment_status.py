"""A payment's status as the dashboard words it, as Stripe's dashboard does: the API's status
says what an intent waits for (a declined one is `requires_payment_method`, like one never
tried); a merchant reading the list wants what happened to it."""

from __future__ import annotations

from typing import Any

WAITING_FOR_THE_BUYER = ("requires_payment_method", "requires_confirmation", "requires_action")


def payment_status(intent: dict[str, Any]) -> str:
    """`intent` as the REST edge renders it: failed (its last attempt declined), incomplete
    (never paid, nothing declined), uncaptured, disputed (the buyer's bank took the money
    back: a chargeback, not an inquiry), refunded, partially_refunded, or the API's status
    (succeeded, processing, canceled)."""
    status = str(intent["status"])
    if status in WAITING_FOR_THE_BUYER:
        return "failed" if intent.get("last_payment_error") else "incomplete"
    if status == "requires_capture":
        return "uncaptured"
    if status == "succeeded" and intent.get("disputed"):
        return "disputed"
    refunded = int(intent.get("amount_refunded") or 0)
    if status == "succeeded" and refunded:
        fully = refunded >= int(intent.get("amount_received") or 0)
        return "refunded" if fully else "partially_refunded"
    return status


def with_payment_status(intent: dict[str, Any]) -> dict[str, Any]:
    """`intent` with `dashboard_status` (`payment_status`) added, for the list and the page."""
    return {**intent, "dashboard_status": payment_status(intent)}
