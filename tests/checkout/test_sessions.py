"""Checkout sessions over gRPC on the pay-in server (PSP simulator): creating one with its
payment intent, paying it the way the hosted page does (the page's publishable key, the
intent's client_secret), expiring it (the merchant, the worker's sweep), and the checks of the
request. Every scenario that moves money ends with the books balanced."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import grpc
import pytest
from paycore.client import connect
from paycore.tools.psp import cards
from paycore.v1 import checkout_pb2, event_pb2, fraud_pb2, payment_pb2, subscription_pb2
from paycore.worker.jobs import checkout_session_sweep

from tests.customer.support import new_card
from tests.helpers import rich_error
from tests.payment.shop import PayIn, Shop, good_card

OPEN = checkout_pb2.CHECKOUT_SESSION_STATUS_OPEN
COMPLETE = checkout_pb2.CHECKOUT_SESSION_STATUS_COMPLETE
EXPIRED = checkout_pb2.CHECKOUT_SESSION_STATUS_EXPIRED


def session_request(**fields: object) -> checkout_pb2.CreateCheckoutSessionRequest:
    values: dict[str, object] = {
        "currency": "usd",
        "line_items": [
            checkout_pb2.CheckoutLineItemParams(name="T-shirt", unit_amount=1500, quantity=2),
            checkout_pb2.CheckoutLineItemParams(name="Socks", unit_amount=500),
        ],
        "success_url": "https://shop.test/thanks?session={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://shop.test/cart",
    }
    values.update(fields)
    return checkout_pb2.CreateCheckoutSessionRequest(**values)  # type: ignore[arg-type]


async def sweep(payin: PayIn, now: float | None = None) -> int:
    job = checkout_session_sweep(payin.platform.checkout, clock=lambda: now or time.time())
    return sum([await job.run(engine) for engine in payin.platform.shards.engines])


def page_request(session: checkout_pb2.CheckoutSession) -> checkout_pb2.GetCheckoutPageRequest:
    """What the edge asks for a visit of the session's `url`: its id and the page's secret
    (the url's last path segment)."""
    session_id, secret = session.url.split("/c/pay/", 1)[1].split("/")
    return checkout_pb2.GetCheckoutPageRequest(id=session_id, secret=secret)


async def pay_as_the_page(
    payin: PayIn, session: checkout_pb2.CheckoutSession, number: str
) -> payment_pb2.PaymentIntent:
    """What the hosted page's script does: tokenize with the page's publishable key, then
    confirm the intent with its client_secret under that key."""
    page = await payin.admin.checkout.GetCheckoutPage(page_request(session))
    assert page.publishable_key.startswith("pk_test_")
    async with connect(payin.target, page.publishable_key) as browser:
        method = await new_card(browser, number)
        confirmed: payment_pb2.PaymentIntent = await browser.payments.ConfirmPaymentIntent(
            payment_pb2.ConfirmPaymentIntentRequest(
                id=page.session.payment_intent,
                payment_method=method.id,
                client_secret=page.client_secret,
            )
        )
    return confirmed


async def test_a_session_is_paid_once_on_its_page_and_completes(payin: PayIn, shop: Shop) -> None:
    session = await shop.client.checkout.CreateCheckoutSession(
        session_request(customer_email="buyer@shop.test", description="Order 17"),
        metadata=(("idempotency-key", "cs-create-1"),),
    )
    assert session.id.startswith("cs_")
    assert session.status == OPEN
    assert session.amount_total == 3500
    assert [item.amount_total for item in session.line_items] == [3000, 500]
    assert re.fullmatch(rf"http://[^/]+/c/pay/{session.id}/[0-9A-Za-z]{{32}}", session.url)
    assert 24 * 3600 - 60 < session.expires_at - time.time() <= 24 * 3600
    replay = await shop.client.checkout.CreateCheckoutSession(
        session_request(customer_email="buyer@shop.test", description="Order 17"),
        metadata=(("idempotency-key", "cs-create-1"),),
    )
    assert replay == session
    intent = await shop.client.payments.GetPaymentIntent(
        payment_pb2.GetPaymentIntentRequest(id=session.payment_intent)
    )
    assert intent.amount == 3500
    assert intent.status == payment_pb2.PAYMENT_INTENT_STATUS_REQUIRES_PAYMENT_METHOD
    assert intent.metadata["checkout_session"] == session.id

    declined = await pay_as_the_page(payin, session, cards.CARD_DECLINED)
    assert declined.last_payment_error.message
    page = await payin.admin.checkout.GetCheckoutPage(page_request(session))
    assert page.session.status == OPEN
    assert page.last_error_message == declined.last_payment_error.message
    assert page.merchant_name == "Shop"

    paid = await pay_as_the_page(payin, session, good_card())
    assert paid.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED
    # Complete at once (read through the intent), recorded with its event by the sweep.
    got = await shop.client.checkout.GetCheckoutSession(
        checkout_pb2.GetCheckoutSessionRequest(id=session.id)
    )
    assert got.status == COMPLETE
    assert await sweep(payin) >= 1
    events = await shop.client.events.ListEvents(
        event_pb2.ListEventsRequest(type="checkout.session.*")
    )
    assert [event.type for event in events.data] == ["checkout.session.completed"]
    # One object's timeline (ListEvents.object_id) and the intents by status.
    timeline = await shop.client.events.ListEvents(
        event_pb2.ListEventsRequest(object_id=session.payment_intent)
    )
    assert {event.type for event in timeline.data} >= {
        "payment_intent.created",
        "payment_intent.payment_failed",
        "payment_intent.succeeded",
    }
    succeeded = await shop.client.payments.ListPaymentIntents(
        payment_pb2.ListPaymentIntentsRequest(status=payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED)
    )
    assert [intent.id for intent in succeeded.data] == [session.payment_intent]
    waiting = await shop.client.payments.ListPaymentIntents(
        payment_pb2.ListPaymentIntentsRequest(
            status=payment_pb2.PAYMENT_INTENT_STATUS_REQUIRES_PAYMENT_METHOD
        )
    )
    assert list(waiting.data) == []
    # A second payment of the same page is refused by the intent itself.
    with pytest.raises(grpc.aio.AioRpcError) as again:
        await pay_as_the_page(payin, session, good_card())
    assert rich_error(again.value).reason == "PAYMENT_INTENT_UNEXPECTED_STATE"
    with pytest.raises(grpc.aio.AioRpcError) as expire:
        await shop.client.checkout.ExpireCheckoutSession(
            checkout_pb2.ExpireCheckoutSessionRequest(id=session.id)
        )
    assert rich_error(expire.value).reason == "CHECKOUT_SESSION_UNEXPECTED_STATE"
    listed = await shop.client.checkout.ListCheckoutSessions(
        checkout_pb2.ListCheckoutSessionsRequest(status=COMPLETE)
    )
    assert [found.id for found in listed.data] == [session.id]
    await shop.assert_books_balance()


async def test_an_expired_session_cannot_be_paid(payin: PayIn, shop: Shop) -> None:
    session = await shop.client.checkout.CreateCheckoutSession(session_request(amount=0))
    expired = await shop.client.checkout.ExpireCheckoutSession(
        checkout_pb2.ExpireCheckoutSessionRequest(id=session.id)
    )
    assert expired.status == EXPIRED
    intent = await shop.client.payments.GetPaymentIntent(
        payment_pb2.GetPaymentIntentRequest(id=session.payment_intent)
    )
    assert intent.status == payment_pb2.PAYMENT_INTENT_STATUS_CANCELED
    with pytest.raises(grpc.aio.AioRpcError) as paying:
        await pay_as_the_page(payin, session, good_card())
    assert rich_error(paying.value).reason == "PAYMENT_INTENT_UNEXPECTED_STATE"
    events = await shop.client.events.ListEvents(
        event_pb2.ListEventsRequest(type="checkout.session.expired")
    )
    assert events.data[0].data.object.value  # the session, packed
    await shop.assert_books_balance()


async def test_the_sweep_expires_sessions_past_expires_at(payin: PayIn, shop: Shop) -> None:
    soon = int(time.time()) + 31 * 60
    session = await shop.client.checkout.CreateCheckoutSession(
        session_request(line_items=[], amount=990, expires_at=soon)
    )
    assert session.amount_total == 990
    assert await sweep(payin, now=soon - 60) == 0
    assert await sweep(payin, now=soon + 1) >= 1
    got = await shop.client.checkout.GetCheckoutSession(
        checkout_pb2.GetCheckoutSessionRequest(id=session.id)
    )
    assert got.status == EXPIRED
    intent = await shop.client.payments.GetPaymentIntent(
        payment_pb2.GetPaymentIntentRequest(id=session.payment_intent)
    )
    assert intent.cancellation_reason == payment_pb2.PAYMENT_INTENT_CANCELLATION_REASON_ABANDONED
    assert datetime.now(UTC).timestamp() < soon  # expired by the sweep's clock, not by waiting


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"expires_at": int(time.time()) + 60}, "expires_at"),
        ({"expires_at": int(time.time()) + 25 * 3600}, "expires_at"),
        ({"amount": 100}, "amount"),
        ({"line_items": [], "amount": 0}, "amount"),
        ({"success_url": "javascript:alert(1)"}, "success_url"),
        ({"cancel_url": "http://[::1/cart"}, "cancel_url"),
        ({"success_url": "https://shop.test/\nthanks"}, "success_url"),
        ({"currency": "xxx"}, "currency"),
        ({"customer": "cus_nope", "customer_email": "a@b.test"}, "customer"),
        (
            {
                "line_items": [
                    checkout_pb2.CheckoutLineItemParams(name="x", unit_amount=1, quantity=1001)
                ]
            },
            "line_items[0].quantity",
        ),
    ],
)
async def test_bad_requests_name_the_field_and_create_nothing(
    shop: Shop, fields: dict[str, object], param: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await shop.client.checkout.CreateCheckoutSession(session_request(**fields))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert rich_error(refused.value).param == param
    listed = await shop.client.checkout.ListCheckoutSessions(
        checkout_pb2.ListCheckoutSessionsRequest()
    )
    assert list(listed.data) == []


async def test_the_page_is_for_operators_only(shop: Shop) -> None:
    session = await shop.client.checkout.CreateCheckoutSession(session_request())
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await shop.client.checkout.GetCheckoutPage(page_request(session))
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_the_page_needs_the_secret_of_its_url_not_the_id_alone(
    payin: PayIn, shop: Shop
) -> None:
    """Ids are a clock, a shard and a sequence: guessable. The page hands out the intent's
    client_secret, so it opens only with the secret its session's `url` carries (a keyed hash
    of the id): without it, or with another, the session reads as an unknown one does."""
    session = await shop.client.checkout.CreateCheckoutSession(session_request())
    other = await shop.client.checkout.CreateCheckoutSession(session_request())

    async def refusal(request: checkout_pb2.GetCheckoutPageRequest) -> tuple[object, ...]:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await payin.admin.checkout.GetCheckoutPage(request)
        error = rich_error(refused.value)
        # As an unknown session's, the id aside.
        metadata = {key: value.replace(request.id, "<id>") for key, value in error.metadata.items()}
        return error.code, error.message.replace(request.id, "<id>"), error.reason, metadata

    unknown_id = session.id[:-4] + ("0000" if not session.id.endswith("0000") else "1111")
    unknown = await refusal(checkout_pb2.GetCheckoutPageRequest(id=unknown_id))
    assert unknown[0] == grpc.StatusCode.NOT_FOUND
    # The id alone, which was enough before.
    assert await refusal(checkout_pb2.GetCheckoutPageRequest(id=session.id)) == unknown

    right = page_request(session)
    assert len(right.secret) == 32  # base62: 190 bits
    assert right.secret != page_request(other).secret
    assert right.secret not in (session.id, session.payment_intent)
    known_secret = checkout_pb2.GetCheckoutPageRequest(id=unknown_id, secret=right.secret)
    assert await refusal(known_secret) == unknown
    wrong_secrets = [
        "",
        page_request(other).secret,  # another session's
        right.secret[:-1] + ("a" if right.secret[-1] != "a" else "b"),
        right.secret[:-1],
        right.secret + "0",
        right.secret.lower(),
        session.id,
    ]
    for secret in wrong_secrets:
        request = checkout_pb2.GetCheckoutPageRequest(id=session.id, secret=secret)
        assert await refusal(request) == unknown, secret

    page = await payin.admin.checkout.GetCheckoutPage(right)
    assert page.session.id == session.id
    assert page.client_secret.startswith(f"{session.payment_intent}_secret_")
    assert page.session.url == session.url


async def test_the_buyers_client_is_not_told_what_the_fraud_check_saw(
    payin: PayIn, shop: Shop
) -> None:
    """The hosted page's confirmation (publishable key + client_secret) answers the intent
    without its risk assessment: its score and reasons ("ip_velocity_1m", "country_mismatch",
    ...) would teach a card tester which signals to change. The merchant still reads it."""
    session = await shop.client.checkout.CreateCheckoutSession(session_request())
    paid = await pay_as_the_page(payin, session, good_card())
    assert paid.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED
    assert not paid.HasField("risk_assessment")
    intent = await shop.client.payments.GetPaymentIntent(
        payment_pb2.GetPaymentIntentRequest(id=session.payment_intent)
    )
    assert intent.HasField("risk_assessment")
    assert intent.risk_assessment.model_version


async def test_a_merchants_ip_blocklist_holds_against_the_address_paycore_sees(
    payin: PayIn, shop: Shop
) -> None:
    """A merchant blocklists an IP; a buyer paying from it on the hosted page (whose address
    paycore sees itself: the page's publishable key) is blocked with `blocklisted_ip`, though
    no merchant named the address. Before, only an address the merchant sent matched."""
    await payin.admin.fraud.AddBlocklistItem(
        fraud_pb2.AddBlocklistItemRequest(
            type=fraud_pb2.BLOCKLIST_ITEM_TYPE_IP, value="127.0.0.1", merchant=shop.id
        )
    )
    session = await shop.client.checkout.CreateCheckoutSession(session_request())
    refused = await pay_as_the_page(payin, session, good_card())
    assert refused.status == payment_pb2.PAYMENT_INTENT_STATUS_REQUIRES_PAYMENT_METHOD
    assert refused.last_payment_error.decline_code == "fraudulent"
    # The buyer is told an ordinary decline, on the page and after a reload; the merchant why.
    assert refused.last_payment_error.message == "Your card was declined."
    page = await payin.admin.checkout.GetCheckoutPage(page_request(session))
    assert page.last_error_message == "Your card was declined."
    intent = await shop.client.payments.GetPaymentIntent(
        payment_pb2.GetPaymentIntentRequest(id=session.payment_intent)
    )
    assert intent.risk_assessment.decision == fraud_pb2.RISK_DECISION_BLOCK
    assert "blocklisted_ip" in intent.risk_assessment.reasons
    assert intent.last_payment_error.message == "The payment was blocked as likely fraudulent."


async def test_a_price_data_lines_price_and_product_are_read_by_get_price_and_get_product(
    shop: Shop,
) -> None:
    data = checkout_pb2.CheckoutPriceData(
        currency="usd",
        unit_amount=900,
        product_data=checkout_pb2.CheckoutProductData(
            name="Poster", description="A2, matte", metadata={"sku": "P-2"}
        ),
    )
    session = await shop.client.checkout.CreateCheckoutSession(
        session_request(line_items=[checkout_pb2.CheckoutLineItemParams(price_data=data)])
    )
    price = session.line_items[0].price
    read = await shop.client.subscriptions.GetPrice(subscription_pb2.GetPriceRequest(id=price.id))
    assert (read.unit_amount, read.currency, read.active) == (900, "usd", False)
    assert read.product == price.product
    product = await shop.client.subscriptions.GetProduct(
        subscription_pb2.GetProductRequest(id=price.product)
    )
    assert (product.name, product.description, product.active) == ("Poster", "A2, matte", False)
    assert dict(product.metadata) == {"sku": "P-2"}


async def test_update_checkout_session_changes_its_metadata_alone(shop: Shop) -> None:
    session = await shop.client.checkout.CreateCheckoutSession(
        session_request(metadata={"order": "42", "cart": "7"})
    )
    changed = await shop.client.checkout.UpdateCheckoutSession(
        checkout_pb2.UpdateCheckoutSessionRequest(
            id=session.id, metadata={"cart": "", "note": "gift"}
        )
    )
    assert dict(changed.metadata) == {"order": "42", "note": "gift"}
    assert (changed.amount_total, changed.status) == (session.amount_total, OPEN)
    cleared = await shop.client.checkout.UpdateCheckoutSession(
        checkout_pb2.UpdateCheckoutSessionRequest(id=session.id, clear_metadata=True)
    )
    assert dict(cleared.metadata) == {}
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await shop.client.checkout.UpdateCheckoutSession(
            checkout_pb2.UpdateCheckoutSessionRequest(id="pi_123", metadata={"a": "b"})
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_customer_creation_locale_and_allow_promotion_codes_are_kept(shop: Shop) -> None:
    plain = await shop.client.checkout.CreateCheckoutSession(session_request())
    assert (plain.customer_creation, plain.locale) == ("if_required", "")
    assert not plain.HasField("allow_promotion_codes")
    given = await shop.client.checkout.CreateCheckoutSession(
        session_request(customer_creation="always", locale="fr", allow_promotion_codes=False)
    )
    read = await shop.client.checkout.GetCheckoutSession(
        checkout_pb2.GetCheckoutSessionRequest(id=given.id)
    )
    assert (read.customer_creation, read.locale) == ("always", "fr")
    assert read.HasField("allow_promotion_codes") and read.allow_promotion_codes is False
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await shop.client.checkout.CreateCheckoutSession(session_request(locale="xx"))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert rich_error(refused.value).metadata["param"] == "locale"


async def test_a_promotion_code_is_applied_for_the_pages_secret_only(
    payin: PayIn, shop: Shop
) -> None:
    coupon = await shop.client.subscriptions.CreateCoupon(
        subscription_pb2.CreateCouponRequest(amount_off=500, currency="usd", duration="once")
    )
    await shop.client.subscriptions.CreatePromotionCode(
        subscription_pb2.CreatePromotionCodeRequest(coupon=coupon.id, code="FIVE")
    )
    session = await shop.client.checkout.CreateCheckoutSession(
        session_request(allow_promotion_codes=True)
    )
    request = page_request(session)

    async def apply(code: str, secret: str = request.secret) -> checkout_pb2.CheckoutPage:
        return await payin.admin.checkout.ApplyCheckoutPromotionCode(
            checkout_pb2.ApplyCheckoutPromotionCodeRequest(
                id=session.id, secret=secret, promotion_code=code
            )
        )

    with pytest.raises(grpc.aio.AioRpcError) as wrong:
        await apply("FIVE", secret="A" * 32)
    assert wrong.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await apply("SIX")
    assert rich_error(unknown.value).param == "promotion_code"
    page = await apply(" five ")
    assert (page.session.amount_total, page.session.amount_subtotal) == (3000, 3500)
    intent = await shop.client.payments.GetPaymentIntent(
        payment_pb2.GetPaymentIntentRequest(id=session.payment_intent)
    )
    assert intent.amount == 3000
    with pytest.raises(grpc.aio.AioRpcError) as again:
        await apply("FIVE")
    assert rich_error(again.value).param == "promotion_code"


async def test_a_paid_session_takes_no_promotion_code(payin: PayIn, shop: Shop) -> None:
    coupon = await shop.client.subscriptions.CreateCoupon(
        subscription_pb2.CreateCouponRequest(amount_off=500, currency="usd", duration="once")
    )
    await shop.client.subscriptions.CreatePromotionCode(
        subscription_pb2.CreatePromotionCodeRequest(coupon=coupon.id, code="LATE")
    )
    session = await shop.client.checkout.CreateCheckoutSession(
        session_request(allow_promotion_codes=True)
    )
    await pay_as_the_page(payin, session, good_card())
    request = page_request(session)
    with pytest.raises(grpc.aio.AioRpcError) as paid:
        await payin.admin.checkout.ApplyCheckoutPromotionCode(
            checkout_pb2.ApplyCheckoutPromotionCodeRequest(
                id=session.id, secret=request.secret, promotion_code="LATE"
            )
        )
    assert paid.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    intent = await shop.client.payments.GetPaymentIntent(
        payment_pb2.GetPaymentIntentRequest(id=session.payment_intent)
    )
    assert intent.amount == intent.amount_received == 3500
