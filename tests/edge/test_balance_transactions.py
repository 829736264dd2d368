"""GET /v1/balance_transactions as a Stripe user lists it: a card payment's transaction is of
type `charge` (paycore's `payment` on gRPC), and `type=charge` finds it."""

from __future__ import annotations

from aiohttp import ClientSession

from tests.edge.helpers import call, charge, new_merchant
from tests.payment.shop import PayIn, good_card


async def test_a_card_payments_transaction_is_a_charge_as_stripe_names_it(
    payin_http: ClientSession, payin: PayIn
) -> None:
    http = payin_http
    key = (await new_merchant(http, payin.admin_token))["secret_key"]
    intent = await charge(http, key, 2000, good_card(), payin.run_worker_once)
    refunded = await call(
        http, "POST", "/v1/refunds", key=key, form=f"payment_intent={intent}&amount=500"
    )
    assert refunded.status == 200, refunded.body

    every = await call(http, "GET", "/v1/balance_transactions", key=key)
    assert sorted(txn["type"] for txn in every.body["data"]) == ["charge", "refund"]
    [payment] = [txn for txn in every.body["data"] if txn["type"] == "charge"]
    assert payment["source"] == intent
    one = await call(http, "GET", f"/v1/balance_transactions/{payment['id']}", key=key)
    assert one.body == payment

    for named in ("charge", "payment"):  # Stripe's name, and paycore's gRPC one
        listed = await call(http, "GET", f"/v1/balance_transactions?type={named}", key=key)
        assert listed.status == 200, listed.body
        assert [txn["id"] for txn in listed.body["data"]] == [payment["id"]], named
    refunds = await call(http, "GET", "/v1/balance_transactions?type=refund", key=key)
    assert [txn["type"] for txn in refunds.body["data"]] == ["refund"]
    bad = await call(http, "GET", "/v1/balance_transactions?type=bogus", key=key)
    assert (bad.status, bad.error["param"]) == (400, "type"), bad.body
    assert "charge" in bad.error["message"], bad.error
