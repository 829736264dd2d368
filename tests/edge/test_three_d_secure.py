"""3-D Secure over the REST edge, as stripe-python users write it (Stripe's "card
authentication and 3D Secure" guide): a confirmation that needs authentication answers
`requires_action` with `next_action.redirect_to_url`; the buyer completes (or fails) on that
page, which sends them back to the return_url; confirming again charges it, or answers 402
`payment_intent_authentication_failure`; off-session, the card is declined
`authentication_required` (a CardError, as Stripe raises it); SetupIntents alike, also
confirmed by the browser with the publishable key and client_secret; an invoice paid on-session
(Invoice.pay off_session=False) waits for the customer's authentication."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
import stripe
from paycore.edge import start_edge
from paycore.v1 import account_pb2

from tests.helpers import PspSimulator
from tests.payment.shop import PayIn, assert_books_balance

RETURN_URL = "https://shop.example/checkout/done"


async def _buyer_answers(url: str, outcome: str) -> str:
    """The buyer on the authentication page: it offers both buttons; the one pressed sends
    them on (the Location answered)."""
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as page:
            text = await page.text()
        assert page.status == 200 and "Complete" in text and "Fail" in text
        async with session.post(url, data={"outcome": outcome}, allow_redirects=False) as sent:
            assert sent.status == 303
            return sent.headers["Location"]


def assert_returns_through_paycore(
    back: str, name: str, object_id: str, client_secret: str, redirect_status: str
) -> None:
    """The page sends the buyer to paycore's return (/3ds/return, which finishes the object
    and sends them on to the merchant's return_url: tests/edge/test_three_d_secure_return.py),
    naming the object and its client secret as Stripe's redirect does, and the buyer's answer."""
    parts = urlsplit(back)
    assert parts.path == "/3ds/return", back
    query = parse_qs(parts.query)
    assert query[name] == [object_id] and query[f"{name}_client_secret"] == [client_secret]
    assert query["merchant"][0].startswith("acct_")
    assert query["redirect_status"] == [redirect_status]


async def test_a_payment_that_needs_authentication_redirects_and_is_charged(
    stripe_module: account_pb2.Merchant, payin: PayIn, psp: PspSimulator
) -> None:
    intent = await asyncio.to_thread(
        stripe.PaymentIntent.create,
        amount=2000,
        currency="usd",
        payment_method="pm_card_authenticationRequired",
        confirm=True,
        return_url=RETURN_URL,
    )
    assert intent.status == "requires_action"
    assert intent.next_action is not None and intent.next_action.type == "redirect_to_url"
    redirect = intent.next_action.redirect_to_url
    assert redirect is not None and redirect.return_url == RETURN_URL
    assert str(redirect.url).startswith(f"{psp.url}/authenticate/auth_")

    back = await _buyer_answers(str(redirect.url), "complete")
    assert_returns_through_paycore(
        back, "payment_intent", intent.id, str(intent.client_secret), "succeeded"
    )
    # The buyer does not follow it: the merchant confirms again, as before paycore's return.
    confirmed = await asyncio.to_thread(stripe.PaymentIntent.confirm, intent.id)

    assert confirmed.status == "succeeded" and confirmed.amount_received == 2000
    assert confirmed.next_action is None
    retrieved = await asyncio.to_thread(stripe.PaymentIntent.retrieve, intent.id)
    assert retrieved.status == "succeeded"
    events = await asyncio.to_thread(stripe.Event.list, limit=100)
    assert "payment_intent.requires_action" in {event.type for event in events.data}
    await assert_books_balance(payin.admin, stripe_module.id)


async def test_a_confirmation_without_return_url_shows_a_null_return_url(
    stripe_module: account_pb2.Merchant,
) -> None:
    """Without a return_url the authentication page shows the outcome and stays: Stripe's
    `next_action.redirect_to_url.return_url` is then null (it rendered "")."""
    intent = await asyncio.to_thread(
        stripe.PaymentIntent.create,
        amount=2000,
        currency="usd",
        payment_method="pm_card_authenticationRequired",
        confirm=True,
    )
    assert intent.status == "requires_action"
    assert intent.next_action is not None and intent.next_action.redirect_to_url is not None
    assert intent.next_action.redirect_to_url.return_url is None
    assert str(intent.next_action.redirect_to_url.url).startswith("http")


async def test_a_failed_authentication_is_a_card_error(
    stripe_module: account_pb2.Merchant, payin: PayIn, psp: PspSimulator
) -> None:
    intent = await asyncio.to_thread(
        stripe.PaymentIntent.create,
        amount=1500,
        currency="usd",
        payment_method="pm_card_authenticationRequiredOnSetup",
        confirm=True,
        return_url=RETURN_URL,
    )
    assert intent.next_action is not None and intent.next_action.redirect_to_url is not None
    await _buyer_answers(str(intent.next_action.redirect_to_url.url), "fail")

    with pytest.raises(stripe.CardError) as raised:
        await asyncio.to_thread(stripe.PaymentIntent.confirm, intent.id)

    assert raised.value.code == "payment_intent_authentication_failure"
    failed = await asyncio.to_thread(stripe.PaymentIntent.retrieve, intent.id)
    assert failed.status == "requires_payment_method"
    assert failed.last_payment_error is not None
    assert failed.last_payment_error.code == "payment_intent_authentication_failure"
    assert failed.next_action is None
    await assert_books_balance(payin.admin, stripe_module.id)


async def test_off_session_a_card_that_must_authenticate_is_declined(
    stripe_module: account_pb2.Merchant, payin: PayIn
) -> None:
    def scenario() -> None:
        customer = stripe.Customer.create(email="ada@example.com")
        with pytest.raises(stripe.CardError) as raised:
            stripe.PaymentIntent.create(
                amount=2000,
                currency="usd",
                customer=customer.id,
                payment_method="pm_card_authenticationRequired",
                off_session=True,
                confirm=True,
            )
        assert raised.value.code == "authentication_required"
        error = raised.value.error
        assert error is not None and error.decline_code == "authentication_required"
        assert error.payment_intent is not None
        assert error.payment_intent["status"] == "requires_payment_method"

    await asyncio.to_thread(scenario)
    await assert_books_balance(payin.admin, stripe_module.id)


async def test_a_card_saved_with_authentication_is_charged_off_session(
    stripe_module: account_pb2.Merchant, payin: PayIn
) -> None:
    customer = await asyncio.to_thread(stripe.Customer.create, email="bo@example.com")
    setup = await asyncio.to_thread(
        stripe.SetupIntent.create,
        customer=customer.id,
        payment_method="pm_card_authenticationRequiredOnSetup",
        confirm=True,
        return_url=RETURN_URL,
    )
    assert setup.status == "requires_action"
    assert setup.next_action is not None and setup.next_action.redirect_to_url is not None
    assert setup.next_action.redirect_to_url.return_url == RETURN_URL

    await _buyer_answers(str(setup.next_action.redirect_to_url.url), "complete")
    saved = await asyncio.to_thread(stripe.SetupIntent.confirm, setup.id)
    assert saved.status == "succeeded" and saved.next_action is None

    paid = await asyncio.to_thread(
        stripe.PaymentIntent.create,
        amount=3000,
        currency="usd",
        customer=customer.id,
        payment_method=str(saved.payment_method),
        off_session=True,
        confirm=True,
    )
    assert paid.status == "succeeded"
    await assert_books_balance(payin.admin, stripe_module.id)


async def test_the_browser_confirms_a_setup_with_the_publishable_key_and_client_secret(
    payin: PayIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stripe.js's confirmCardSetup, as its REST calls: the publishable key and the setup's
    client_secret, through the authentication; the answer has no customer nor metadata."""
    server = await start_edge(payin.target, "127.0.0.1:0")
    merchant = await payin.admin.accounts.CreateMerchant(
        account_pb2.CreateMerchantRequest(
            name="Setup in browser", email="dev@seti.test", country="US", default_currency="usd"
        )
    )
    monkeypatch.setattr(stripe, "api_base", f"http://127.0.0.1:{server.port}")
    monkeypatch.setattr(stripe, "api_key", merchant.secret_key)
    monkeypatch.setattr(stripe, "max_network_retries", 0)
    publishable = merchant.publishable_key

    def scenario() -> None:
        customer = stripe.Customer.create(email="cy@example.com")
        setup = stripe.SetupIntent.create(customer=customer.id, metadata={"plan": "pro"})
        # What Stripe.js sends; stripe-python's server-side types do not name it.
        secret: dict[str, Any] = {"client_secret": str(setup.client_secret)}
        with pytest.raises(stripe.InvalidRequestError) as missing:
            stripe.SetupIntent.retrieve(setup.id, api_key=publishable)
        assert missing.value.param == "client_secret"
        asked = stripe.SetupIntent.confirm(
            setup.id,
            api_key=publishable,
            payment_method="pm_card_authenticationRequiredOnSetup",
            **secret,
            return_url=RETURN_URL,
        )
        assert asked.status == "requires_action"
        assert asked.to_dict().get("customer") is None and not asked.to_dict().get("metadata")
        assert asked.next_action is not None and asked.next_action.redirect_to_url is not None
        url = str(asked.next_action.redirect_to_url.url)
        back = asyncio.run(_buyer_answers(url, "complete"))
        assert_returns_through_paycore(
            back, "setup_intent", setup.id, str(setup.client_secret), "succeeded"
        )
        done = stripe.SetupIntent.confirm(setup.id, api_key=publishable, **secret)
        assert done.status == "succeeded"
        read = stripe.SetupIntent.retrieve(setup.id, api_key=publishable, **secret)
        assert read.status == "succeeded" and read.to_dict().get("customer") is None
        merchant_view = stripe.SetupIntent.retrieve(setup.id)
        assert merchant_view.customer == customer.id
        assert merchant_view.to_dict()["metadata"] == {"plan": "pro"}

    try:
        await asyncio.to_thread(scenario)
    finally:
        await server.close()


async def test_an_invoice_paid_on_session_waits_for_the_customers_authentication(
    stripe_module: account_pb2.Merchant, payin: PayIn
) -> None:
    """stripe.Invoice.pay(off_session=False) with a card that must authenticate: the invoice
    stays open, its payment intent requires_action, and invoice.payment_action_required."""

    def scenario() -> None:
        customer = stripe.Customer.create(email="di@example.com")
        product = stripe.Product.create(name="Pro")
        price = stripe.Price.create(
            product=product.id, unit_amount=1200, currency="usd", recurring={"interval": "month"}
        )
        subscription = stripe.Subscription.create(
            customer=customer.id,
            items=[{"price": price.id}],
            payment_behavior="default_incomplete",
        )
        invoice = stripe.Invoice.pay(
            str(subscription.latest_invoice),
            payment_method="pm_card_authenticationRequired",
            off_session=False,
        )
        assert invoice.status == "open" and invoice.attempt_count == 1
        intent = stripe.PaymentIntent.retrieve(str(invoice["payment_intent"]))
        assert intent.status == "requires_action"
        assert intent.next_action is not None and intent.next_action.type == "redirect_to_url"
        events = stripe.Event.list(type="invoice.payment_action_required")
        assert [event.data.object["id"] for event in events.data] == [invoice.id]

    await asyncio.to_thread(scenario)
    await assert_books_balance(payin.admin, stripe_module.id)


async def test_a_subscriptions_first_invoice_waits_for_the_customers_authentication(
    stripe_module: account_pb2.Merchant, payin: PayIn
) -> None:
    """stripe.Subscription.create with a card that must authenticate: allow_incomplete leaves
    the subscription incomplete and latest_invoice.payment_intent requires_action (charged
    on-session, as Stripe does); error_if_incomplete raises a 402 CardError
    invoice_payment_intent_requires_action and leaves nothing active."""

    def scenario() -> None:
        customer = stripe.Customer.create(
            email="sca@example.com",
            payment_method="pm_card_authenticationRequired",
            invoice_settings={"default_payment_method": "pm_card_authenticationRequired"},
        )
        product = stripe.Product.create(name="Pro")
        price = stripe.Price.create(
            product=product.id, unit_amount=1200, currency="usd", recurring={"interval": "month"}
        )
        subscription = stripe.Subscription.create(
            customer=customer.id,
            items=[{"price": price.id}],
            payment_behavior="allow_incomplete",
            expand=["latest_invoice.payment_intent"],
        )
        assert subscription.status == "incomplete"
        intent = subscription["latest_invoice"]["payment_intent"]
        assert intent["status"] == "requires_action", intent
        assert intent["next_action"]["type"] == "redirect_to_url"

        with pytest.raises(stripe.error.CardError) as refused:
            stripe.Subscription.create(
                customer=customer.id,
                items=[{"price": price.id}],
                payment_behavior="error_if_incomplete",
            )
        assert (refused.value.http_status, refused.value.code) == (
            402,
            "invoice_payment_intent_requires_action",
        )
        assert stripe.Subscription.list(customer=customer.id, status="active").data == []

    await asyncio.to_thread(scenario)
    await assert_books_balance(payin.admin, stripe_module.id)


async def test_a_declined_confirmation_names_its_payment_method(
    stripe_module: account_pb2.Merchant, payin: PayIn
) -> None:
    """Stripe's error of a declined confirmation carries the payment method, which its
    save-a-card samples read to bring the customer back on-session
    (`err.raw.payment_method.id`, `.card.last4`, `err.raw.payment_intent.client_secret`)."""

    def scenario() -> None:
        customer = stripe.Customer.create(email="cy@example.com")
        card = stripe.PaymentMethod.create(
            type="card",
            card={"number": "4000002760003184", "exp_month": 12, "exp_year": 2040, "cvc": "123"},
        )
        stripe.PaymentMethod.attach(card.id, customer=customer.id)
        with pytest.raises(stripe.CardError) as raised:
            stripe.PaymentIntent.create(
                amount=2000,
                currency="usd",
                customer=customer.id,
                payment_method=card.id,
                off_session=True,
                confirm=True,
            )
        error = raised.value.error
        assert error is not None and error.payment_intent is not None
        assert error.payment_intent["client_secret"].startswith(error.payment_intent["id"])
        assert error.payment_method is not None
        assert error.payment_method["id"] == card.id
        assert error.payment_method["card"]["last4"] == "3184"
        with pytest.raises(stripe.CardError) as declined:
            stripe.PaymentIntent.create(
                amount=500, currency="usd", payment_method="pm_card_chargeDeclined", confirm=True
            )
        named = declined.value.error
        assert named is not None and named.payment_method is not None
        assert named.payment_intent is not None
        assert named.payment_method["id"] == named.payment_intent["payment_method"]
        assert named.payment_method["card"]["last4"] == "0002"

    await asyncio.to_thread(scenario)


@pytest.mark.parametrize(
    ("name", "number"),
    [
        ("pm_card_threeDSecure2Required", "4000000000003220"),
        ("pm_card_threeDSecureRequired", "4000000000003063"),
    ],
)
async def test_stripes_3d_secure_test_cards_ask_for_authentication(
    stripe_module: account_pb2.Merchant, name: str, number: str
) -> None:
    """Stripe's 3-D Secure test cards (docs.stripe.com/testing, "3D Secure"): by name or by
    number, a confirmation answers requires_action; off-session it is declined
    `authentication_required`. 4000000000003055 (`pm_card_threeDSecureOptional`) supports 3-D
    Secure without requiring it: it is charged at once."""

    def scenario() -> None:
        card = stripe.PaymentMethod.create(
            type="card", card={"number": number, "exp_month": 12, "exp_year": 2040, "cvc": "123"}
        )
        for payment_method in (name, card.id):
            intent = stripe.PaymentIntent.create(
                amount=2000,
                currency="usd",
                payment_method=payment_method,
                confirm=True,
                return_url=RETURN_URL,
            )
            assert intent.status == "requires_action", payment_method
            assert intent.next_action is not None and intent.next_action.type == "redirect_to_url"
        with pytest.raises(stripe.CardError) as raised:
            stripe.PaymentIntent.create(
                amount=2000, currency="usd", payment_method=name, off_session=True, confirm=True
            )
        assert raised.value.code == "authentication_required"
        optional = stripe.PaymentIntent.create(
            amount=2000,
            currency="usd",
            payment_method="pm_card_threeDSecureOptional",
            confirm=True,
            return_url=RETURN_URL,
        )
        assert optional.status == "succeeded"

    await asyncio.to_thread(scenario)


async def test_the_last_errors_say_their_type(stripe_module: account_pb2.Merchant) -> None:
    """`last_payment_error.type` and `last_setup_error.type`, as Stripe's (Stripe.js's
    quickstart shows the message of a `card_error` and a generic one otherwise)."""

    def scenario() -> None:
        with pytest.raises(stripe.CardError) as raised:
            stripe.PaymentIntent.create(
                amount=500,
                currency="usd",
                payment_method="pm_card_chargeDeclinedInsufficientFunds",
                confirm=True,
            )
        error = raised.value.error
        assert error is not None and error.payment_intent is not None
        assert error.payment_intent["last_payment_error"]["type"] == "card_error"
        failed = stripe.PaymentIntent.retrieve(error.payment_intent["id"])
        assert failed.last_payment_error is not None
        assert (failed.last_payment_error.type, failed.last_payment_error.decline_code) == (
            "card_error",
            "insufficient_funds",
        )
        customer = stripe.Customer.create(email="di@example.com")
        with pytest.raises(stripe.CardError) as refused:
            stripe.PaymentIntent.create(
                amount=500,
                currency="usd",
                customer=customer.id,
                payment_method="pm_card_authenticationRequired",
                off_session=True,
                confirm=True,
            )
        assert refused.value.error is not None and refused.value.error.payment_intent is not None
        assert refused.value.error.payment_intent["last_payment_error"]["type"] == "card_error"
        with pytest.raises(stripe.CardError) as setup_refused:
            stripe.SetupIntent.create(
                customer=customer.id, payment_method="pm_card_chargeDeclined", confirm=True
            )
        setup_error = setup_refused.value.error
        assert setup_error is not None and setup_error.setup_intent is not None
        setup = stripe.SetupIntent.retrieve(setup_error.setup_intent["id"])
        assert setup.last_setup_error is not None
        assert setup.last_setup_error.type == "card_error"

    await asyncio.to_thread(scenario)
