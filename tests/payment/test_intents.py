"""Payment intents end to end through gRPC: the real server, PostgreSQL, Redis and the PSP
simulator. Every scenario ends with a clean ledger and the wallet holding the expected net."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
from paycore.payment.intents import confirm
from paycore.tools.psp import cards
from paycore.v1 import customer_pb2, event_pb2, payment_pb2

from tests.helpers import rich_error
from tests.payment.shop import Shop, fee, good_card

S = payment_pb2.PaymentIntent
UNKNOWN_STATUS = payment_pb2.PaymentIntentStatus.ValueType(99)


async def test_a_good_card_is_charged_once_and_credits_the_wallet_net_of_the_fee(
    shop: Shop,
) -> None:
    intent = await shop.pay(good_card(), 1000)

    assert intent.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED
    assert intent.amount_received == 1000
    assert not intent.HasField("last_payment_error")
    assert intent.risk_assessment.decision == 1  # allow
    available, pending = await shop.balance()
    assert pending == {"usd": 1000 - fee(1000)}
    assert available == {"usd": 0}
    await shop.assert_books_balance()


@pytest.mark.parametrize(
    ("number", "code", "decline_code"),
    [
        (cards.CARD_DECLINED, "CARD_DECLINED", "generic_decline"),
        (cards.CARD_INSUFFICIENT_FUNDS, "CARD_DECLINED", "insufficient_funds"),
        (cards.CARD_EXPIRED, "EXPIRED_CARD", "expired_card"),
        (cards.CARD_INCORRECT_CVC, "INCORRECT_CVC", "incorrect_cvc"),
        (cards.CARD_PROCESSING_ERROR, "PROCESSING_ERROR", "processing_error"),
    ],
)
async def test_a_declined_card_leaves_the_intent_awaiting_another_payment_method(
    shop: Shop, number: str, code: str, decline_code: str
) -> None:
    intent = await shop.pay(number, 1000)

    assert intent.status == payment_pb2.PAYMENT_INTENT_STATUS_REQUIRES_PAYMENT_METHOD
    assert intent.last_payment_error.code == code
    assert intent.last_payment_error.decline_code == decline_code
    assert intent.amount_received == 0
    assert (await shop.balance())[1].get("usd", 0) == 0
    await shop.assert_books_balance()


async def test_a_declined_intent_can_be_confirmed_again_with_another_card(shop: Shop) -> None:
    declined = await shop.pay(cards.CARD_DECLINED, 500)
    retried = await shop.client.payments.ConfirmPaymentIntent(
        payment_pb2.ConfirmPaymentIntentRequest(
            id=declined.id, payment_method=await shop.card(good_card())
        )
    )

    assert retried.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED
    assert not retried.HasField("last_payment_error")
    assert (await shop.balance())[1] == {"usd": 500 - fee(500)}
    await shop.assert_books_balance()


async def test_manual_capture_of_part_releases_the_rest(shop: Shop) -> None:
    authorized = await shop.pay(good_card(), 1000, manual=True)
    assert authorized.status == payment_pb2.PAYMENT_INTENT_STATUS_REQUIRES_CAPTURE
    assert authorized.amount_capturable == 1000
    assert (await shop.balance())[1] == {"usd": 0}  # a hold is not money yet

    captured = await shop.client.payments.CapturePaymentIntent(
        payment_pb2.CapturePaymentIntentRequest(id=authorized.id, amount_to_capture=600)
    )

    assert captured.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED
    assert captured.amount_received == 600
    assert captured.amount_capturable == 0
    assert (await shop.balance())[1] == {"usd": 600 - fee(600)}
    await shop.assert_books_balance()


async def test_capture_above_the_authorized_amount_is_refused_and_changes_nothing(
    shop: Shop,
) -> None:
    authorized = await shop.pay(good_card(), 1000, manual=True)

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await shop.client.payments.CapturePaymentIntent(
            payment_pb2.CapturePaymentIntentRequest(id=authorized.id, amount_to_capture=1001)
        )

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    info = rich_error(raised.value)
    assert info.reason == "CAPTURE_EXCEEDS_AUTHORIZED"
    assert info.metadata["param"] == "amount_to_capture"
    after = await shop.client.payments.GetPaymentIntent(
        payment_pb2.GetPaymentIntentRequest(id=authorized.id)
    )
    assert after.status == payment_pb2.PAYMENT_INTENT_STATUS_REQUIRES_CAPTURE
    assert after.amount_capturable == 1000
    await shop.assert_books_balance()


async def test_cancel_voids_the_authorization(shop: Shop) -> None:
    authorized = await shop.pay(good_card(), 1000, manual=True)

    canceled = await shop.client.payments.CancelPaymentIntent(
        payment_pb2.CancelPaymentIntentRequest(
            id=authorized.id,
            cancellation_reason=payment_pb2.PAYMENT_INTENT_CANCELLATION_REASON_REQUESTED_BY_CUSTOMER,
        )
    )

    assert canceled.status == payment_pb2.PAYMENT_INTENT_STATUS_CANCELED
    assert canceled.canceled_at > 0
    assert canceled.amount_capturable == 0
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await shop.client.payments.CapturePaymentIntent(
            payment_pb2.CapturePaymentIntentRequest(id=authorized.id)
        )
    assert rich_error(raised.value).reason == "PAYMENT_INTENT_UNEXPECTED_STATE"
    assert (await shop.balance())[1] == {"usd": 0}
    await shop.assert_books_balance()


@pytest.mark.parametrize(
    "reason",
    [
        payment_pb2.PAYMENT_INTENT_CANCELLATION_REASON_VOID_INVOICE,
        payment_pb2.PAYMENT_INTENT_CANCELLATION_REASON_AUTOMATIC,
    ],
)
async def test_a_reason_only_paycore_sets_is_refused_and_cancels_nothing(
    shop: Shop, reason: int
) -> None:
    """Stripe's cancel takes duplicate, fraudulent, requested_by_customer and abandoned; its
    void_invoice and automatic are what Stripe itself sets (an invoice voided, a hold
    expired), never a merchant's word: paycore refuses them naming the field, as it refuses
    an unknown value, and the intent stays as it was."""
    authorized = await shop.pay(good_card(), 1000, manual=True)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await shop.client.payments.CancelPaymentIntent(
            payment_pb2.CancelPaymentIntentRequest(id=authorized.id, cancellation_reason=reason)  # type: ignore[arg-type]
        )
    refused = rich_error(raised.value)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (refused.reason, refused.metadata["param"]) == (
        "PARAMETER_UNKNOWN_ENUM",
        "cancellation_reason",
    )
    offered = (raised.value.details() or "").partition(" (not ")[0]  # the values it takes
    assert "ABANDONED" in offered and "VOID_INVOICE" not in offered and "AUTOMATIC" not in offered
    read = await shop.client.payments.GetPaymentIntent(
        payment_pb2.GetPaymentIntentRequest(id=authorized.id)
    )
    assert read.status == payment_pb2.PAYMENT_INTENT_STATUS_REQUIRES_CAPTURE


async def test_the_same_key_answers_the_same_and_another_body_is_refused(shop: Shop) -> None:
    method = await shop.card(good_card())
    request = payment_pb2.CreatePaymentIntentRequest(
        amount=700, currency="usd", payment_method=method, confirm=True
    )
    key = (("idempotency-key", "pay-once"),)

    first = await shop.client.payments.CreatePaymentIntent(request, metadata=key)
    again = await shop.client.payments.CreatePaymentIntent(request, metadata=key)
    request.amount = 701
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await shop.client.payments.CreatePaymentIntent(request, metadata=key)

    assert again == first
    assert first.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED
    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert rich_error(raised.value).reason == "IDEMPOTENCY_KEY_REUSED"
    listed = await shop.client.payments.ListPaymentIntents(payment_pb2.ListPaymentIntentsRequest())
    assert [intent.id for intent in listed.data] == [first.id]
    assert (await shop.balance())[1] == {"usd": 700 - fee(700)}
    await shop.assert_books_balance()


async def test_concurrent_create_and_confirms_charge_each_key_once(shop: Shop) -> None:
    """Concurrent first phases share a transaction (a group commit, issue 17); a key sent twice
    at once must still charge once: its second call answers the first's intent or that the key
    is in use, never a second intent."""
    keys = [f"together-{number}" for number in range(12)]
    requests = [  # a card each: the fraud counters per card stay at one payment
        payment_pb2.CreatePaymentIntentRequest(
            amount=1000 + number,
            currency="usd",
            payment_method=await shop.card(good_card()),
            confirm=True,
        )
        for number in range(len(keys))
    ]

    async def create(number: int) -> S | grpc.aio.AioRpcError:
        try:
            return await shop.client.payments.CreatePaymentIntent(
                requests[number], metadata=(("idempotency-key", keys[number]),)
            )
        except grpc.aio.AioRpcError as error:
            return error

    # Each key twice, all at once.
    outcomes = await asyncio.gather(*(create(number % len(keys)) for number in range(24)))

    by_key: dict[str, set[str]] = {}
    for number, outcome in enumerate(outcomes):
        if isinstance(outcome, grpc.aio.AioRpcError):
            assert rich_error(outcome).reason == "IDEMPOTENCY_KEY_IN_USE"
            continue
        assert outcome.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED
        assert outcome.amount == 1000 + number % len(keys)
        by_key.setdefault(keys[number % len(keys)], set()).add(outcome.id)
    assert all(len(ids) == 1 for ids in by_key.values())
    listed = await shop.client.payments.ListPaymentIntents(
        payment_pb2.ListPaymentIntentsRequest(limit=100)
    )
    assert len(listed.data) == len(keys)
    total = sum(1000 + number for number in range(len(keys)))
    assert (await shop.balance())[1] == {"usd": total - sum(fee(1000 + n) for n in range(12))}
    await shop.assert_books_balance()


@pytest.mark.parametrize(
    ("field", "value", "param"),
    [
        ("amount", 0, "amount"),
        ("amount", -5, "amount"),
        ("currency", "xyz", "currency"),
        ("customer", "cus_0000000000000000000000", "customer"),
        ("payment_method", "pm_0000000000000000000000", "payment_method"),
    ],
)
async def test_bad_input_is_refused_naming_the_field_and_records_nothing(
    shop: Shop, field: str, value: object, param: str
) -> None:
    request = payment_pb2.CreatePaymentIntentRequest(
        amount=1000,
        currency="usd",
        payment_method=await shop.card(good_card()),
        confirm=True,
    )
    setattr(request, field, value)

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await shop.client.payments.CreatePaymentIntent(request)

    # Issue 4: bad input, an unknown customer or payment method included, is INVALID_ARGUMENT
    # (an object the request names is missing: RESOURCE_MISSING, Stripe's 400 resource_missing).
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert rich_error(raised.value).metadata["param"] == param
    listed = await shop.client.payments.ListPaymentIntents(payment_pb2.ListPaymentIntentsRequest())
    assert list(listed.data) == []


async def test_a_missing_object_is_not_found_only_when_the_call_is_about_it(shop: Shop) -> None:
    """Reading an intent that is not there is NOT_FOUND; naming one in a refund is the
    refund's bad argument, INVALID_ARGUMENT with reason RESOURCE_MISSING naming the field."""
    missing = "pi_0000000000000000000000"
    with pytest.raises(grpc.aio.AioRpcError) as read:
        await shop.client.payments.GetPaymentIntent(payment_pb2.GetPaymentIntentRequest(id=missing))
    assert read.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as refund:
        await shop.client.payments.CreateRefund(
            payment_pb2.CreateRefundRequest(payment_intent=missing)
        )
    assert refund.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    info = rich_error(refund.value)
    assert (info.reason, info.metadata["param"]) == ("RESOURCE_MISSING", "payment_intent")


async def test_stripes_parameters_for_redirects_and_authentication_change_no_card_payment(
    shop: Shop,
) -> None:
    """automatic_payment_methods, off_session and return_url, as Stripe's snippets send them:
    checked, and the card is charged exactly as without them."""
    automatic = payment_pb2.AutomaticPaymentMethods(
        enabled=True, allow_redirects=payment_pb2.ALLOW_REDIRECTS_NEVER
    )
    paid = await shop.client.payments.CreatePaymentIntent(
        payment_pb2.CreatePaymentIntentRequest(
            amount=1099,
            currency="usd",
            automatic_payment_methods=automatic,
            payment_method=await shop.card(good_card()),
            off_session=True,
            return_url="https://example.com/order/123/complete",
            confirm=True,
        )
    )
    assert paid.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED
    assert paid.amount_received == 1099
    later = await shop.client.payments.CreatePaymentIntent(
        payment_pb2.CreatePaymentIntentRequest(
            amount=500,
            currency="usd",
            automatic_payment_methods=payment_pb2.AutomaticPaymentMethods(enabled=True),
        )
    )
    confirmed = await shop.client.payments.ConfirmPaymentIntent(
        payment_pb2.ConfirmPaymentIntentRequest(
            id=later.id,
            payment_method=await shop.card(good_card()),
            off_session=True,
            return_url="https://www.example.com",
        )
    )
    assert confirmed.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED
    assert (await shop.balance())[1] == {"usd": 1099 - fee(1099) + 500 - fee(500)}
    await shop.assert_books_balance()


@pytest.mark.parametrize(
    ("fields", "reason", "param"),
    [
        ({"off_session": True}, "PARAMETER_INVALID", "off_session"),
        ({"return_url": "https://example.com/back"}, "PARAMETER_INVALID", "return_url"),
        (
            {"return_url": "example.com/back", "confirm": True},
            "PARAMETER_INVALID",
            "return_url",
        ),
        (
            {
                "automatic_payment_methods": payment_pb2.AutomaticPaymentMethods(enabled=True),
                "confirm": True,
            },
            "PARAMETER_INVALID",
            "return_url",
        ),
        (
            {"automatic_payment_methods": payment_pb2.AutomaticPaymentMethods(allow_redirects=9)},  # type: ignore[arg-type]
            "PARAMETER_UNKNOWN_ENUM",
            "automatic_payment_methods.allow_redirects",
        ),
    ],
)
async def test_stripes_redirect_parameters_are_checked_as_stripe_checks_them(
    shop: Shop, fields: dict[str, Any], reason: str, param: str
) -> None:
    request = payment_pb2.CreatePaymentIntentRequest(
        amount=1000, currency="usd", payment_method=await shop.card(good_card()), **fields
    )

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await shop.client.payments.CreatePaymentIntent(request)

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    error = rich_error(raised.value)
    assert (error.reason, error.metadata["param"]) == (reason, param)
    listed = await shop.client.payments.ListPaymentIntents(payment_pb2.ListPaymentIntentsRequest())
    assert list(listed.data) == []


async def test_a_list_refuses_a_bad_filter_naming_it(shop: Shop) -> None:
    payments = shop.client.payments
    for call, reason, param in (
        (
            payments.ListPaymentIntents(payment_pb2.ListPaymentIntentsRequest(customer="pi_x")),
            "ID_MALFORMED",
            "customer",
        ),
        (
            payments.ListPaymentIntents(
                payment_pb2.ListPaymentIntentsRequest(status=UNKNOWN_STATUS)
            ),
            "PARAMETER_UNKNOWN_ENUM",
            "status",
        ),
        (
            payments.ListPayments(payment_pb2.ListPaymentsRequest(customer="pi_x")),
            "ID_MALFORMED",
            "customer",
        ),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await call
        refused = rich_error(raised.value)
        assert (raised.value.code(), refused.reason, refused.param) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            reason,
            param,
        )


@pytest.mark.parametrize("succeeds", [True, False])
async def test_the_answer_the_stored_answer_the_intent_and_its_events_agree(
    shop: Shop, succeeds: bool
) -> None:
    number = good_card() if succeeds else cards.CARD_DECLINED
    # The pay-in path writes the answer, the intent and its events from the rows it builds
    # (paycore.payment.charging, update_intent_with_event): they must be what a read finds.
    request = payment_pb2.CreatePaymentIntentRequest(
        amount=1234, currency="usd", payment_method=await shop.card(number), confirm=True
    )
    # Not the card's number in the key: tests/payment/test_card_secrecy looks for it in every
    # column of the shards these tests share.
    key = (("idempotency-key", f"agree-{'succeeds' if succeeds else 'declined'}"),)

    answered = await shop.client.payments.CreatePaymentIntent(request, metadata=key)
    replayed = await shop.client.payments.CreatePaymentIntent(request, metadata=key)
    read = await shop.client.payments.GetPaymentIntent(
        payment_pb2.GetPaymentIntentRequest(id=answered.id)
    )
    listed = await shop.client.events.ListEvents(
        event_pb2.ListEventsRequest(type="payment_intent.*", limit=10)
    )

    assert replayed == answered == read
    objects = []
    for event in reversed(listed.data):  # oldest first
        object_ = payment_pb2.PaymentIntent()
        assert event.data.object.Unpack(object_)
        objects.append((event.type, object_))
    final = "succeeded" if succeeds else "payment_failed"
    assert [kind for kind, _ in objects] == [
        "payment_intent.created",
        "payment_intent.processing",
        f"payment_intent.{final}",
    ]
    created, processing, last = (object_ for _, object_ in objects)
    # The client_secret is derived when an intent is answered, never stored: events have none.
    assert read.client_secret.startswith(f"{read.id}_secret_") and not last.client_secret
    last.client_secret = read.client_secret
    assert last == read
    assert created.status == payment_pb2.PAYMENT_INTENT_STATUS_REQUIRES_CONFIRMATION
    assert not created.HasField("risk_assessment")
    assert processing.status == payment_pb2.PAYMENT_INTENT_STATUS_PROCESSING
    assert processing.risk_assessment == read.risk_assessment
    assert created.created == processing.created == read.created
    assert created.amount == read.amount == 1234


async def test_an_intent_without_an_amount_is_missing_it_and_a_zero_one_too_small(
    shop: Shop,
) -> None:
    """Absent and 0 differ, as at Stripe: parameter_missing, then a value below the minimum."""
    absent = payment_pb2.CreatePaymentIntentRequest(currency="usd")
    zero = payment_pb2.CreatePaymentIntentRequest(amount=0, currency="usd")
    found = []
    for request in (absent, zero):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await shop.client.payments.CreatePaymentIntent(request)
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        error = rich_error(raised.value)
        found.append((error.reason, error.metadata["param"]))

    assert found == [("PARAMETER_MISSING", "amount"), ("PARAMETER_INVALID", "amount")]


async def test_a_confirmation_retried_while_its_first_attempt_commits_charges_once(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A retry of ConfirmPaymentIntent (the same key) that found the key unused, then the intent
    its first attempt confirmed (committed in between), answers that attempt's intent, not
    PAYMENT_INTENT_UNEXPECTED_STATE for a payment that succeeded. The window between the key's
    lookup and the intent's read is held open by letting the retry's read wait."""
    method = await shop.card(good_card())
    intent = await shop.client.payments.CreatePaymentIntent(
        payment_pb2.CreatePaymentIntentRequest(amount=3000, currency="usd", payment_method=method)
    )
    request = payment_pb2.ConfirmPaymentIntentRequest(id=intent.id)
    key = (("idempotency-key", "pi-confirm-retried"),)
    real_prepare = confirm.prepare
    retry_reached, first_answered = asyncio.Event(), asyncio.Event()

    async def prepare_after_the_first(*arguments: Any, **named: Any) -> Any:
        if not retry_reached.is_set():  # the retry, past its key's lookup: waits for the first
            retry_reached.set()
            await first_answered.wait()
        return await real_prepare(*arguments, **named)

    monkeypatch.setattr(confirm, "prepare", prepare_after_the_first)
    retry = asyncio.ensure_future(shop.client.payments.ConfirmPaymentIntent(request, metadata=key))
    await retry_reached.wait()
    first = await shop.client.payments.ConfirmPaymentIntent(request, metadata=key)
    first_answered.set()

    assert first.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED, first
    assert await retry == first
    assert (await shop.balance())[1] == {"usd": 3000 - fee(3000)}
    await shop.assert_books_balance()


async def test_a_customers_card_is_charged_only_with_that_customer_named(shop: Shop) -> None:
    """As at Stripe, a payment method attached to a customer pays only an intent that names
    that customer: without `customer` the payment is refused naming it, and nothing is
    charged or recorded."""
    owner = await shop.client.customers.CreateCustomer(customer_pb2.CreateCustomerRequest())
    card = await shop.card(good_card(), customer=owner.id)
    pay = payment_pb2.CreatePaymentIntentRequest(
        amount=1000, currency="usd", payment_method=card, confirm=True
    )

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await shop.client.payments.CreatePaymentIntent(pay)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    error = rich_error(refused.value)
    assert (error.reason, error.metadata.get("param")) == (
        "PAYMENT_METHOD_CUSTOMER_REQUIRED",
        "customer",
    )
    assert owner.id in str(refused.value.details())
    listed = await shop.client.payments.ListPaymentIntents(payment_pb2.ListPaymentIntentsRequest())
    assert list(listed.data) == []

    opened = await shop.client.payments.CreatePaymentIntent(
        payment_pb2.CreatePaymentIntentRequest(amount=1000, currency="usd")
    )
    with pytest.raises(grpc.aio.AioRpcError) as unconfirmed:
        await shop.client.payments.ConfirmPaymentIntent(
            payment_pb2.ConfirmPaymentIntentRequest(id=opened.id, payment_method=card)
        )
    assert rich_error(unconfirmed.value).reason == "PAYMENT_METHOD_CUSTOMER_REQUIRED"

    paid = await shop.client.payments.CreatePaymentIntent(
        payment_pb2.CreatePaymentIntentRequest(
            amount=1000, currency="usd", payment_method=card, customer=owner.id, confirm=True
        )
    )
    paid = await shop.settled(paid)
    succeeded = payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED
    assert (paid.status, paid.customer, paid.payment_method) == (succeeded, owner.id, card)
    assert (await shop.balance())[1] == {"usd": 1000 - fee(1000)}
    await shop.assert_books_balance()
