"""stripe-python's `checkout.Session.modify(id, metadata=...)`: POST /v1/checkout/sessions/{id}
changes a session's metadata (merged; a key given "" removed; `metadata=""` clears them),
whatever its status, idempotent with a key, naming the field it refuses; before, 405."""

from __future__ import annotations

import asyncio
from typing import Any

import stripe

from tests.edge.test_checkout_fulfillment import SUCCESS_URL, merchant, pay, sweep
from tests.payment.shop import PayIn

__all__ = ["merchant"]


def _create(**extra: Any) -> stripe.checkout.Session:
    return stripe.checkout.Session.create(
        mode="payment",
        line_items=[{"price_data": _pin(), "quantity": 1}],
        success_url=SUCCESS_URL,
        **extra,
    )


def _metadata(session: Any) -> dict[str, str]:
    metadata: dict[str, str] = session.metadata.to_dict()
    return metadata


def _pin() -> Any:
    return {"currency": "usd", "unit_amount": 800, "product_data": {"name": "Pin"}}


async def test_modify_merges_removes_and_clears_metadata(payin: PayIn, merchant: str) -> None:
    def scenario() -> stripe.checkout.Session:
        session = _create(metadata={"order": "42", "cart": "7"})
        changed = stripe.checkout.Session.modify(
            session.id, metadata={"order": "43", "cart": "", "note": "gift"}
        )
        assert changed.id == session.id
        assert _metadata(changed) == {"order": "43", "note": "gift"}
        read = stripe.checkout.Session.retrieve(session.id)
        assert _metadata(read) == {"order": "43", "note": "gift"}
        assert read.amount_total == 800 and read.status == "open"
        # The same key answers the first answer, and changes nothing more.
        first = stripe.checkout.Session.modify(
            session.id, metadata={"step": "1"}, idempotency_key="modify-1"
        )
        stripe.checkout.Session.modify(session.id, metadata={"step": "2"})
        replayed = stripe.checkout.Session.modify(
            session.id, metadata={"step": "1"}, idempotency_key="modify-1"
        )
        assert _metadata(replayed) == _metadata(first)
        assert _metadata(stripe.checkout.Session.retrieve(session.id))["step"] == "2"
        cleared = stripe.checkout.Session.modify(session.id, metadata="")
        assert _metadata(cleared) == {}
        return session

    session = await asyncio.to_thread(scenario)

    def after_paid() -> None:
        pay(session)

    await asyncio.to_thread(after_paid)
    await sweep(payin)

    def complete() -> None:
        done = stripe.checkout.Session.modify(session.id, metadata={"shipped": "yes"})
        assert (done.status, _metadata(done)) == ("complete", {"shipped": "yes"})

    await asyncio.to_thread(complete)


async def test_modify_refuses_naming_the_field(payin: PayIn, merchant: str) -> None:
    def scenario() -> None:
        session = _create(metadata={"order": "42"})
        try:
            stripe.checkout.Session.modify(session.id, metadata={"k" * 41: "v"})
        except stripe.InvalidRequestError as error:
            assert error.param is not None and error.param.startswith("metadata[")
        else:
            raise AssertionError("a 41-character key was taken")
        try:
            extra: Any = {"success_url": "https://shop.test/other"}
            stripe.checkout.Session.modify(session.id, **extra)
        except stripe.InvalidRequestError as error:
            assert error.param == "success_url"
        else:
            raise AssertionError("a field Session.modify does not take here was taken")
        try:
            stripe.checkout.Session.modify("cs_0000000000000000000000", metadata={"a": "b"})
        except stripe.InvalidRequestError as error:
            assert error.http_status == 404
        else:
            raise AssertionError("an unknown session was modified")
        assert _metadata(stripe.checkout.Session.retrieve(session.id)) == {"order": "42"}

    await asyncio.to_thread(scenario)
