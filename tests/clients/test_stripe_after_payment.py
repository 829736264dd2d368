"""What comes after a payment, as Stripe's own documentation writes it, with stripe-python's
module-level style pointed at the edge: webhooks received on a real HTTP receiver and verified
with `stripe.Webhook.construct_event(payload, request.headers["Stripe-Signature"],
endpoint_secret)`, refunds, disputes of the `pm_card_createDispute` test cards, the balance and
its transactions, payouts; and the SDK's exception for each refusal on the way. The world's
clock (tests/payout/support.py) moves funds to available, payouts to paid and the disputes'
bank on; the worker's webhook delivery runs throughout (tests/clients/conftest.py's
`stripe_world`). What paycore lacks of these (deploy/edge.md's differences) is checked to be
a clean Stripe-shaped refusal."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar, cast

import pytest
import stripe
from aiohttp import web

from tests.clients.conftest import StripeWorld
from tests.dispute.support import DISPUTE_DELAY_SECONDS, read_feed
from tests.payment.shop import assert_books_balance, fee
from tests.payout.support import PAID, ROUTING
from tests.webhooks.receivers import Received, Receiver

T = TypeVar("T")
WAIT_SECONDS = 20.0


async def in_thread(scenario: Callable[[], T]) -> T:
    return await asyncio.to_thread(scenario)


def eventually(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {WAIT_SECONDS} s")
        time.sleep(0.05)


class StripeDocsReceiver:
    """docs.stripe.com/webhooks/quickstart's handler: the raw body and the Stripe-Signature
    header through `stripe.Webhook.construct_event` with the endpoint's secret; 400 on a bad
    payload or signature, else the event is handled and 200."""

    def __init__(self) -> None:
        self.endpoint_secret = ""
        self.events: list[stripe.Event] = []
        self.refused: list[str] = []
        self.receiver = Receiver(self.answer)

    async def answer(self, request: Received) -> web.Response:
        payload = request.body
        sig_header = request.headers["Stripe-Signature"]
        try:
            event = stripe.Webhook.construct_event(payload, sig_header, self.endpoint_secret)
        except ValueError as error:  # invalid payload
            self.refused.append(str(error))
            return web.Response(status=400)
        except stripe.SignatureVerificationError as error:  # invalid signature
            self.refused.append(str(error))
            return web.Response(status=400)
        self.events.append(event)
        return web.json_response({"success": True})

    def of_type(self, event_type: str) -> list[stripe.Event]:
        return [event for event in self.events if event.type == event_type]


@pytest.fixture
async def webhook_receiver() -> AsyncIterator[StripeDocsReceiver]:
    handler = StripeDocsReceiver()
    await handler.receiver.start()
    yield handler
    await handler.receiver.stop()


@pytest.mark.usefixtures("stripe_merchant")
async def test_webhooks_as_stripes_docs_receive_them(webhook_receiver: StripeDocsReceiver) -> None:
    """docs.stripe.com/webhooks: an endpoint made with the SDK, a payment and a refund, each
    event delivered to a real receiver that verifies it as the guide does; the events read back
    with stripe.Event; the endpoint listed, changed and deleted."""
    handler = webhook_receiver

    def scenario() -> None:
        endpoint = stripe.WebhookEndpoint.create(
            url=handler.receiver.url,
            enabled_events=["payment_intent.succeeded", "refund.created", "refund.updated"],
            description="Order fulfilment",
        )
        assert isinstance(endpoint, stripe.WebhookEndpoint)
        assert (endpoint.object, endpoint.status) == ("webhook_endpoint", "enabled")
        assert endpoint.secret is not None and endpoint.secret.startswith("whsec_")
        handler.endpoint_secret = endpoint.secret

        intent = stripe.PaymentIntent.create(
            amount=2000, currency="usd", payment_method="pm_card_visa", confirm=True
        )
        refund = stripe.Refund.create(payment_intent=intent.id, amount=500)
        eventually(
            lambda: (
                bool(handler.of_type("payment_intent.succeeded"))
                and bool(handler.of_type("refund.updated"))
            ),
            "the deliveries of payment_intent.succeeded and refund.updated",
        )
        assert handler.refused == []
        [succeeded] = handler.of_type("payment_intent.succeeded")
        assert isinstance(succeeded, stripe.Event) and succeeded.object == "event"
        paid = succeeded.data.object
        assert isinstance(paid, stripe.PaymentIntent)
        assert (succeeded.livemode, paid.livemode) == (False, False)  # a test-mode merchant's
        assert (paid.id, paid.status, paid.amount_received) == (intent.id, "succeeded", 2000)
        refunded = [event.data.object for event in handler.of_type("refund.updated")]
        assert [(found.id, found.status) for found in refunded] == [(refund.id, "succeeded")]
        assert all(isinstance(found, stripe.Refund) for found in refunded)
        assert {event.type for event in handler.events} <= set(endpoint.enabled_events)

        read = stripe.Event.retrieve(succeeded.id)
        assert (read.type, read.data.object.id) == ("payment_intent.succeeded", intent.id)
        assert read.to_dict() == succeeded.to_dict()  # the body delivered is the event read
        listed = stripe.Event.list(type="refund.*", limit=10)
        assert {event.type for event in listed.data} == {"refund.created", "refund.updated"}
        assert all(isinstance(event.data.object, stripe.Refund) for event in listed.data)

        assert [found.id for found in stripe.WebhookEndpoint.list().data] == [endpoint.id]
        again = stripe.WebhookEndpoint.retrieve(endpoint.id)
        assert (again.url, again.description) == (handler.receiver.url, "Order fulfilment")
        assert "secret" not in again  # shown once, when the endpoint is made (as Stripe's)
        widened = stripe.WebhookEndpoint.modify(endpoint.id, enabled_events=["*"])
        assert widened.enabled_events == ["*"]
        paused = stripe.WebhookEndpoint.modify(endpoint.id, disabled=True)
        assert paused.status == "disabled"
        deleted = stripe.WebhookEndpoint.delete(endpoint.id)
        assert deleted.deleted is True
        with pytest.raises(stripe.InvalidRequestError) as gone:
            stripe.WebhookEndpoint.retrieve(endpoint.id)
        assert (gone.value.http_status, gone.value.code) == (404, "resource_missing")

    await in_thread(scenario)

    # A body changed on the way fails the guide's check: the SDK's SignatureVerificationError.
    delivered = handler.receiver.accepted[0]
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(
            delivered.body.replace(b'"usd"', b'"eur"'),
            delivered.headers["Stripe-Signature"],
            handler.endpoint_secret,
        )


@pytest.mark.usefixtures("stripe_merchant")
async def test_webhook_endpoints_refuse_what_is_never_sent() -> None:
    """An endpoint for an event paycore never sends (Stripe's charge.expired: paycore's
    authorizations do not expire) or with a bad URL is refused naming the field, as
    InvalidRequestError."""

    def scenario() -> None:
        for params, param in (
            ({"url": "https://shop.test/hooks", "enabled_events": ["charge.expired"]}, None),
            ({"url": "ftp://shop.test/hooks", "enabled_events": ["*"]}, "url"),
            ({"url": "https://shop.test/hooks"}, "enabled_events"),
        ):
            with pytest.raises(stripe.InvalidRequestError) as refused:
                stripe.WebhookEndpoint.create(**cast(Any, params))
            assert refused.value.http_status == 400
            assert refused.value.param == (param or "enabled_events[0]")
        assert stripe.WebhookEndpoint.list().data == []

    await in_thread(scenario)


async def test_refunds_full_partial_listed_and_refused(stripe_merchant: StripeWorld) -> None:
    """docs.stripe.com/refunds: a partial refund, the rest, the list; then what Stripe answers
    for a refund too many (charge_already_refunded) or too large, an idempotent retry, an
    update of a refund's metadata."""

    def scenario() -> None:
        intent = stripe.PaymentIntent.create(
            amount=2000, currency="usd", payment_method="pm_card_visa", confirm=True
        )
        partial = stripe.Refund.create(
            payment_intent=intent.id,
            amount=500,
            reason="requested_by_customer",
            metadata={"order": "6735"},
        )
        assert isinstance(partial, stripe.Refund) and partial.object == "refund"
        assert (partial.amount, partial.currency, partial.payment_intent) == (500, "usd", intent.id)
        assert (partial.status, partial.reason) == ("succeeded", "requested_by_customer")
        with pytest.raises(stripe.InvalidRequestError) as too_much:
            stripe.Refund.create(payment_intent=intent.id, amount=1501)
        assert (too_much.value.code, too_much.value.param) == ("refund_exceeds_captured", "amount")
        rest = stripe.Refund.create(payment_intent=intent.id)  # no amount: all that remains
        assert rest.amount == 1500
        assert stripe.PaymentIntent.retrieve(intent.id)["amount_refunded"] == 2000

        with pytest.raises(stripe.InvalidRequestError) as again:
            stripe.Refund.create(payment_intent=intent.id)
        assert (again.value.http_status, again.value.code, again.value.param) == (
            400,
            "charge_already_refunded",
            "payment_intent",
        )
        assert intent.id in str(again.value.user_message)

        listed = stripe.Refund.list(payment_intent=intent.id, limit=1)
        assert [found.id for found in listed.auto_paging_iter()] == [rest.id, partial.id]
        read = stripe.Refund.retrieve(partial.id, expand=["payment_intent"])
        assert isinstance(read.payment_intent, stripe.PaymentIntent)
        assert read.payment_intent.id == intent.id
        assert read.to_dict()["metadata"] == {"order": "6735"}

        other = stripe.PaymentIntent.create(
            amount=900, currency="usd", payment_method="pm_card_visa", confirm=True
        )
        first = stripe.Refund.create(payment_intent=other.id, amount=100, idempotency_key="rf-42")
        replayed = stripe.Refund.create(
            payment_intent=other.id, amount=100, idempotency_key="rf-42"
        )
        assert replayed.id == first.id
        with pytest.raises(stripe.IdempotencyError):
            stripe.Refund.create(payment_intent=other.id, amount=200, idempotency_key="rf-42")
        assert [found.id for found in stripe.Refund.list(payment_intent=other.id).data] == [
            first.id
        ]
        held = stripe.PaymentIntent.create(
            amount=700,
            currency="usd",
            payment_method="pm_card_visa",
            capture_method="manual",
            confirm=True,
        )
        with pytest.raises(stripe.InvalidRequestError) as uncaptured:
            stripe.Refund.create(payment_intent=held.id)
        assert (uncaptured.value.code, uncaptured.value.param) == (
            "charge_not_refundable",
            "payment_intent",
        )
        # docs.stripe.com/api/refunds/update: metadata alone, merged; "" removes every key.
        modified = stripe.Refund.modify(partial.id, metadata={"order": "6736", "note": "late"})
        assert isinstance(modified, stripe.Refund)
        assert modified.to_dict()["metadata"] == {"order": "6736", "note": "late"}
        assert (modified.amount, modified.status) == (500, "succeeded")
        emptied = stripe.Refund.modify(partial.id, metadata="")
        assert emptied.to_dict()["metadata"] == {}
        assert stripe.Refund.retrieve(partial.id).to_dict()["metadata"] == {}
        with pytest.raises(stripe.InvalidRequestError) as modify_amount:
            # Stripe's update takes metadata only (its typed SDK has no other parameter).
            stripe.Refund.modify(partial.id, **cast(Any, {"amount": 1}))
        assert (modify_amount.value.code, modify_amount.value.param) == (
            "parameter_unknown",
            "amount",
        )
        # A coupon's update takes its name and metadata, as Stripe's (UpdateCoupon,
        # tests/edge/test_coupon_updates.py).
        coupon = stripe.Coupon.create(percent_off=10, duration="once")
        modified_coupon = stripe.Coupon.modify(coupon.id, metadata={"order": "6736"})
        assert modified_coupon.to_dict()["metadata"] == {"order": "6736"}
        updated = stripe.Event.list(type="refund.updated", limit=10).data
        assert [event.data.object.metadata.to_dict() for event in updated[:2]] == [
            {},
            {"order": "6736", "note": "late"},
        ]
        with pytest.raises(stripe.InvalidRequestError) as by_charge:
            stripe.Refund.create(charge="ch_3MmlLrLkdIwHu7ix0snN0B15")  # no such charge
        assert (by_charge.value.code, by_charge.value.param) == ("resource_missing", "charge")

    await in_thread(scenario)
    await assert_books_balance(stripe_merchant.world.admin, stripe_merchant.merchant.merchant_id)


async def test_disputes_of_the_dispute_test_cards(stripe_merchant: StripeWorld) -> None:
    """docs.stripe.com/testing#disputes and /disputes/responding: pm_card_createDispute's
    chargeback withdraws the amount and the fee; evidence staged, then submitted once with
    `winning_evidence` wins it back; another accepted (close) is lost; a disputed charge
    refuses a refund. Each step is an SDK call and a charge.dispute.* event."""
    world = stripe_merchant.world

    def pay() -> tuple[stripe.PaymentIntent, stripe.PaymentIntent]:
        disputed = stripe.PaymentIntent.create(
            amount=2000, currency="usd", payment_method="pm_card_createDispute", confirm=True
        )
        accepted = stripe.PaymentIntent.create(
            amount=3000,
            currency="usd",
            payment_method="pm_card_createDisputeProductNotReceived",
            confirm=True,
        )
        assert (disputed.status, accepted.status) == ("succeeded", "succeeded")
        return disputed, accepted

    disputed, accepted = await in_thread(pay)
    world.clock.advance(DISPUTE_DELAY_SECONDS + 1)  # the buyer's bank opens the disputes
    await read_feed(world)

    def respond() -> tuple[str, str]:
        [dispute] = stripe.Dispute.list(payment_intent=disputed.id).data
        assert isinstance(dispute, stripe.Dispute) and dispute.object == "dispute"
        assert (dispute.status, dispute.reason, dispute.amount, dispute.currency) == (
            "needs_response",
            "fraudulent",
            2000,
            "usd",
        )
        assert (dispute.evidence_details.due_by or 0) > 0
        assert not dispute.evidence_details.has_evidence
        assert stripe.Dispute.retrieve(dispute.id).to_dict() == dispute.to_dict()
        assert stripe.PaymentIntent.retrieve(disputed.id)["disputed"] is True
        with pytest.raises(stripe.InvalidRequestError) as refund:
            stripe.Refund.create(payment_intent=disputed.id)
        assert (refund.value.code, refund.value.param) == ("charge_disputed", "payment_intent")

        staged = stripe.Dispute.modify(
            dispute.id,
            evidence={"customer_name": "Jenny Rosen", "product_description": "A teapot"},
            metadata={"case": "7"},
            submit=False,
        )
        assert (staged.status, staged.evidence.customer_name) == ("needs_response", "Jenny Rosen")
        assert staged.evidence_details.has_evidence
        with pytest.raises(stripe.InvalidRequestError) as file_evidence:
            stripe.Dispute.modify(  # no Files API
                dispute.id, evidence={"receipt": "file_1234"}, submit=False
            )
        assert (file_evidence.value.code, file_evidence.value.param) == (
            "parameter_unknown",
            "evidence[receipt]",
        )
        submitted = stripe.Dispute.modify(
            dispute.id, evidence={"uncategorized_text": "winning_evidence"}, submit=True
        )
        assert (submitted.status, submitted.evidence_details.submission_count) == (
            "under_review",
            1,
        )
        assert submitted.evidence.product_description == "A teapot"  # staged, kept
        with pytest.raises(stripe.InvalidRequestError) as twice:
            stripe.Dispute.modify(dispute.id, submit=True)
        assert twice.value.code == "dispute_evidence_submitted"

        [other] = stripe.Dispute.list(payment_intent=accepted.id).data
        closed = stripe.Dispute.close(other.id)
        assert (closed.status, closed.reason) == ("lost", "product_not_received")
        with pytest.raises(stripe.InvalidRequestError) as closed_again:
            stripe.Dispute.close(other.id)
        assert closed_again.value.code == "dispute_not_open"
        return str(dispute.id), str(other.id)

    dispute_id, accepted_id = await in_thread(respond)
    await read_feed(world)  # the bank decides the submitted one

    def outcome() -> None:
        # Stripe's balance_transactions are the objects (asking to expand them changes nothing).
        won = stripe.Dispute.retrieve(dispute_id, expand=["balance_transactions"])
        assert won.status == "won"
        withdrawal, reinstatement = won.balance_transactions
        assert isinstance(withdrawal, stripe.BalanceTransaction)
        assert (withdrawal.type, withdrawal.amount, withdrawal.fee, withdrawal.net) == (
            "adjustment",
            -2000,
            1500,
            -3500,
        )
        assert [(line.type, line.amount) for line in withdrawal.fee_details] == [
            ("dispute_fee", 1500)
        ]
        assert (reinstatement.amount, reinstatement.source) == (2000, dispute_id)
        events = stripe.Event.list(type="charge.dispute.*", limit=100).data
        assert {
            "charge.dispute.created",
            "charge.dispute.funds_withdrawn",
            "charge.dispute.updated",
            "charge.dispute.closed",
            "charge.dispute.funds_reinstated",
        } <= {event.type for event in events}
        assert all(isinstance(event.data.object, stripe.Dispute) for event in events)
        listed = stripe.Dispute.list(expand=["data.balance_transactions"]).data
        assert {found.id: len(found.balance_transactions) for found in listed} == {
            dispute_id: 2,  # withdrawn, reinstated
            accepted_id: 1,  # withdrawn: lost
        }

    await in_thread(outcome)
    await assert_books_balance(world.admin, stripe_merchant.merchant.merchant_id)


def sdk() -> stripe.StripeClient:
    """For the one route Stripe's SDK has no method of: paycore's own bank accounts (Stripe's
    are an account's external_accounts, which paycore does not have): `raw_request`."""
    return stripe.StripeClient(
        str(stripe.api_key), base_addresses={"api": stripe.api_base}, max_network_retries=0
    )


async def test_balance_and_payouts(stripe_merchant: StripeWorld) -> None:
    """docs.stripe.com/payouts: a payment's funds pending, then available after the payout
    delay; a payout canceled (its funds come back) and one paid; the balance transactions of
    each, their fee lines summing to the fee; the refusals on the way; a paid payout's
    metadata updated."""
    world = stripe_merchant.world
    net = 10_000 - fee(10_000)

    def pay() -> None:
        with pytest.raises(stripe.InvalidRequestError) as no_bank:
            stripe.Payout.create(amount=1000, currency="usd")
        assert (no_bank.value.code, no_bank.value.param) == ("bank_account_missing", "destination")
        client = sdk()
        answer = client.raw_request(
            "post",
            "/v1/bank_accounts",
            country="US",
            currency="usd",
            account_holder_name="Jenny Rosen",
            account_holder_type="individual",
            routing_number=ROUTING,
            account_number=PAID,
        )
        bank_account = client.deserialize(answer, api_mode="V1")
        assert (bank_account["object"], bank_account["last4"]) == ("bank_account", PAID[-4:])

        intent = stripe.PaymentIntent.create(
            amount=10_000, currency="usd", payment_method="pm_card_visa", confirm=True
        )
        balance = stripe.Balance.retrieve()
        assert isinstance(balance, stripe.Balance) and balance.object == "balance"
        assert [(money.currency, money.amount) for money in balance.pending] == [("usd", net)]
        assert [money.amount for money in balance.available] == [0]
        [payment] = stripe.BalanceTransaction.list(source=intent.id).data
        assert (payment.type, payment.status, payment.net) == ("charge", "pending", net)
        assert sum(line.amount for line in payment.fee_details) == payment.fee == fee(10_000)
        with pytest.raises(stripe.InvalidRequestError) as not_yet:
            stripe.Payout.create(amount=1000, currency="usd")
        assert (not_yet.value.code, not_yet.value.param) == ("balance_insufficient", "amount")

    await in_thread(pay)
    await world.advance(2)  # the payout delay: the funds become available

    def pay_out() -> tuple[str, str]:
        balance = stripe.Balance.retrieve()
        assert [(money.currency, money.amount) for money in balance.available] == [("usd", net)]
        # Stripe's instant_available: the largest instant payout, its 1 % fee (at least 50) beside
        assert balance.instant_available is not None
        [instant] = balance.instant_available
        assert instant.currency == "usd"
        assert instant.amount + max(50, (instant.amount + 50) // 100) <= net
        assert instant.amount + 1 + max(50, (instant.amount + 51) // 100) > net
        canceled = stripe.Payout.create(amount=4000, currency="usd", description="Weekly")
        assert isinstance(canceled, stripe.Payout) and canceled.object == "payout"
        assert (canceled.status, canceled.method, canceled.automatic) == (
            "pending",
            "standard",
            False,
        )
        assert str(canceled.destination).startswith("ba_")
        assert stripe.Balance.retrieve().available[0].amount == net - 4000
        assert stripe.Payout.cancel(canceled.id).status == "canceled"
        assert stripe.Balance.retrieve().available[0].amount == net
        with pytest.raises(stripe.InvalidRequestError) as twice:
            stripe.Payout.cancel(canceled.id)
        assert (twice.value.http_status, twice.value.code) == (400, "payout_not_cancelable")

        payout = stripe.Payout.create(amount=net, currency="usd", idempotency_key="payout-1")
        assert stripe.Payout.create(amount=net, currency="usd", idempotency_key="payout-1").id == (
            payout.id
        )
        with pytest.raises(stripe.InvalidRequestError) as too_much:
            stripe.Payout.create(amount=1, currency="usd")
        assert (too_much.value.code, too_much.value.param) == ("balance_insufficient", "amount")
        with pytest.raises(stripe.InvalidRequestError) as negative:
            stripe.Payout.create(amount=-1, currency="usd")
        assert (negative.value.code, negative.value.param) == ("parameter_invalid", "amount")
        listed = stripe.Payout.list(limit=10)
        assert [found.id for found in listed.data] == [payout.id, canceled.id]
        assert [found.id for found in stripe.Payout.list(status="canceled").data] == [canceled.id]
        return str(payout.id), str(canceled.id)

    payout_id, canceled_id = await in_thread(pay_out)
    # The worker sends a manual payout once the executor's lease has passed, then the bank
    # pays it on the second business day after (a Wednesday here: Friday).
    await asyncio.sleep(world.platform.settings.executor_lease_ms / 1000 + 0.2)
    await world.run_jobs()
    assert (await in_thread(lambda: stripe.Payout.retrieve(payout_id).status)) == "in_transit"
    await world.advance(2)

    def paid() -> None:
        payout = stripe.Payout.retrieve(payout_id)
        assert (payout.status, payout.amount) == ("paid", net)
        moved = stripe.BalanceTransaction.retrieve(str(payout.balance_transaction))
        assert (moved.type, moved.amount, moved.source) == ("payout", -net, payout_id)
        for transaction in stripe.BalanceTransaction.list(limit=100).auto_paging_iter():
            assert sum(line.amount for line in transaction.fee_details) == transaction.fee
        balance = stripe.Balance.retrieve()
        assert [money.amount for money in balance.available] == [0]
        assert [money.amount for money in balance.pending] == [0]
        events = stripe.Event.list(type="payout.*", limit=100).data
        assert {(event.type, event.data.object.id) for event in events} >= {
            ("payout.created", payout_id),
            ("payout.canceled", canceled_id),
            ("payout.paid", payout_id),
        }
        assert all(isinstance(event.data.object, stripe.Payout) for event in events)
        [available] = stripe.Event.list(type="balance.available").data
        assert isinstance(available.data.object, stripe.Balance)
        # docs.stripe.com/api/payouts/update: metadata alone, on a paid payout too.
        modified = stripe.Payout.modify(payout_id, metadata={"batch": "7"})
        assert isinstance(modified, stripe.Payout)
        assert (modified.status, modified.to_dict()["metadata"]) == ("paid", {"batch": "7"})
        assert stripe.Payout.retrieve(payout_id).to_dict()["metadata"] == {"batch": "7"}
        [updated] = stripe.Event.list(type="payout.updated", limit=1).data
        assert (updated.data.object.id, updated.data.object.metadata.to_dict()) == (
            payout_id,
            {"batch": "7"},
        )
        # docs.stripe.com/api/payouts/reverse: only a connected account's payouts (a seller's:
        # tests/payout/test_payout_reversals.py); the merchant's own is refused naming id.
        with pytest.raises(stripe.InvalidRequestError) as reverse:
            stripe.Payout.reverse(payout_id)
        assert (reverse.value.http_status, reverse.value.code, reverse.value.param) == (
            400,
            "payout_not_reversible",
            "id",
        )

    await in_thread(paid)
    await assert_books_balance(world.admin, stripe_merchant.merchant.merchant_id)
