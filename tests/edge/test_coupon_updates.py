"""Stripe's `Coupon.modify` (POST /v1/coupons/{id}, UpdateCoupon) through stripe-python at the
REST edge: the fields Stripe's update takes, `name` ("" clears it) and `metadata` (merged, a key
"" removed, `metadata=""` clears all); its terms stay (`percent_off` is `parameter_unknown`);
`coupon.updated` with `previous_attributes` when something changed; a deleted coupon is
not found."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import stripe

from tests.edge.helpers import stripe_client
from tests.payment.shop import PayIn


async def test_a_coupons_name_and_metadata_change_and_its_terms_stay(payin: PayIn) -> None:
    async with stripe_client(payin, "Coupons", "coupons@example.com") as sdk:

        def run() -> None:
            coupon = sdk.v1.coupons.create(
                params={"percent_off": 12.5, "duration": "once", "metadata": {"a": "1"}}
            )
            named = sdk.v1.coupons.update(
                coupon.id, params={"name": "Spring", "metadata": {"b": "2"}}
            )
            assert (named.name, named.percent_off, named.duration) == ("Spring", 12.5, "once")
            assert named.to_dict()["metadata"] == {"a": "1", "b": "2"}
            assert sdk.v1.coupons.retrieve(coupon.id).name == "Spring"
            cleared: Any = {"name": "", "metadata": {"a": ""}}
            unnamed = sdk.v1.coupons.update(coupon.id, params=cleared)
            assert (unnamed.name, unnamed.to_dict()["metadata"]) == (None, {"b": "2"})
            with pytest.raises(stripe.InvalidRequestError) as terms:
                percent: Any = {"percent_off": 50}
                sdk.v1.coupons.update(coupon.id, params=percent)
            assert (terms.value.code, terms.value.param) == ("parameter_unknown", "percent_off")
            events = sdk.v1.events.list(params={"type": "coupon.updated"}).data
            assert [event.data.object.id for event in events] == [coupon.id, coupon.id]
            assert events[1].data.to_dict()["previous_attributes"] == {
                "name": None,
                "metadata": {"b": None},  # Stripe's: the keys changed, with their old values
            }
            sdk.v1.coupons.delete(coupon.id)
            with pytest.raises(stripe.InvalidRequestError) as gone:
                sdk.v1.coupons.update(coupon.id, params={"name": "Late"})
            assert (gone.value.http_status, gone.value.code) == (404, "resource_missing")

        await asyncio.to_thread(run)


async def test_an_update_that_changes_nothing_records_no_event(payin: PayIn) -> None:
    async with stripe_client(payin, "Same coupon", "same@example.com") as sdk:

        def run() -> None:
            coupon = sdk.v1.coupons.create(
                params={"amount_off": 500, "currency": "usd", "name": "Five"}
            )
            same = sdk.v1.coupons.update(coupon.id, params={"name": "Five"})
            assert (same.name, same.amount_off) == ("Five", 500)
            assert sdk.v1.events.list(params={"type": "coupon.updated"}).data == []

        await asyncio.to_thread(run)
