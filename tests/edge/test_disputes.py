"""DisputeService over HTTP, as a merchant sees it: a payment with a dispute test card, the
chargeback listed and read, evidence staged then submitted once, the outcome, and the refund
that a disputed charge refuses."""

from __future__ import annotations

from aiohttp import ClientSession
from paycore.tools.psp import cards

from tests.dispute.support import DISPUTE_DELAY_SECONDS, read_feed
from tests.edge.helpers import call, charge, new_merchant
from tests.payout.support import World


async def test_disputes_read_answered_and_closed_over_http(
    world: World, world_http: ClientSession
) -> None:
    http = world_http
    merchant = await new_merchant(http, world.admin_token)
    key = merchant["secret_key"]
    intents = [
        await charge(http, key, 2000, number, world.run_worker_once)
        for number in (cards.CARD_DISPUTE_FRAUDULENT, cards.CARD_DISPUTE_PRODUCT_NOT_RECEIVED)
    ]
    world.clock.advance(DISPUTE_DELAY_SECONDS + 1)
    await read_feed(world)

    listed = await call(http, "GET", f"/v1/disputes?payment_intent={intents[0]}", key=key)
    assert listed.status == 200, listed.body
    assert listed.body["object"] == "list"
    (dispute,) = listed.body["data"]
    assert dispute["object"] == "dispute"
    assert (dispute["status"], dispute["reason"], dispute["amount"]) == (
        "needs_response",
        "fraudulent",
        2000,
    )
    assert dispute["evidence_details"]["due_by"] > 0
    # no evidence given yet: each field null, as Stripe's (they rendered "")
    assert set(dispute["evidence"].values()) == {None}
    fetched = await call(http, "GET", f"/v1/disputes/{dispute['id']}", key=key)
    assert fetched.body == dispute
    intent = await call(http, "GET", f"/v1/payment_intents/{intents[0]}", key=key)
    assert intent.body["disputed"] is True
    refused = await call(
        http, "POST", "/v1/refunds", key=key, form=f"payment_intent={intents[0]}&amount=100"
    )
    assert (refused.status, refused.error["code"]) == (400, "charge_disputed")

    staged = await call(
        http,
        "POST",
        f"/v1/disputes/{dispute['id']}",
        key=key,
        form="evidence[product_description]=A+teapot&metadata[case]=7&submit=false",
    )
    assert staged.status == 200, staged.body
    assert staged.body["evidence"]["product_description"] == "A teapot"
    assert staged.body["evidence"]["customer_name"] is None
    assert staged.body["metadata"] == {"case": "7"}
    # Stripe's metadata rules, as on every update: an empty value removes its key, and
    # `metadata=` (stripe-python's metadata="") removes every key.
    path = f"/v1/disputes/{dispute['id']}"
    one_removed = await call(http, "POST", path, key=key, form="metadata[case]=&metadata[a]=1")
    assert one_removed.body["metadata"] == {"a": "1"}, one_removed.body
    cleared = await call(http, "POST", path, key=key, form="metadata=")
    assert cleared.body["metadata"] == {}, cleared.body
    submitted = await call(
        http,
        "POST",
        f"/v1/disputes/{dispute['id']}",
        key=key,
        headers={"Idempotency-Key": "submit-evidence"},
        form="evidence[uncategorized_text]=winning_evidence&submit=true",
    )
    assert submitted.body["status"] == "under_review", submitted.body
    assert submitted.body["evidence_details"]["submission_count"] == 1
    twice = await call(http, "POST", f"/v1/disputes/{dispute['id']}", key=key, form="submit=true")
    assert (twice.status, twice.error["code"]) == (400, "dispute_evidence_submitted")

    other = (await call(http, "GET", f"/v1/disputes?payment_intent={intents[1]}", key=key)).body
    closed = await call(http, "POST", f"/v1/disputes/{other['data'][0]['id']}/close", key=key)
    assert closed.body["status"] == "lost", closed.body
    await read_feed(world)
    won = await call(http, "GET", f"/v1/disputes/{dispute['id']}", key=key)
    assert won.body["status"] == "won"
    assert len(won.body["balance_transactions"]) == 2
