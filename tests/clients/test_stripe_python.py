"""stripe-python (the official SDK, PyPI `stripe`) pointed at the edge, as a merchant would:
`StripeClient(key, base_addresses={"api": edge})`. The SDK is synchronous: each scenario runs
in a thread while the servers run in the test's event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar, cast

import pytest
import stripe
from paycore.config import Settings
from paycore.edge import start_edge
from paycore.tools.psp import cards

from tests.clients.conftest import EdgeMerchant, new_edge_merchant
from tests.helpers import serving
from tests.payment.shop import PayIn, assert_books_balance, good_card

T = TypeVar("T")
PROCESSING_ERROR_METHOD = "pm_card_chargeDeclinedProcessingError"


def client(merchant: EdgeMerchant, key: str = "", **options: Any) -> stripe.StripeClient:
    return stripe.StripeClient(
        key or merchant.secret_key,
        base_addresses={"api": merchant.url},
        max_network_retries=options.pop("max_network_retries", 0),
        **options,
    )


async def in_thread(scenario: Callable[[], T]) -> T:
    return await asyncio.to_thread(scenario)


def card(sdk: stripe.StripeClient, number: str) -> stripe.PaymentMethod:
    return sdk.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
        }
    )


def monthly_prices(
    sdk: stripe.StripeClient, *amounts: int, currency: str = "usd", name: str = "Plan"
) -> list[str]:
    """A product and a monthly price of it for each of `amounts`: the prices' ids."""
    product = sdk.v1.products.create(params={"name": name})
    return [
        sdk.v1.prices.create(
            params={
                "product": product.id,
                "unit_amount": amount,
                "currency": currency,
                "recurring": {"interval": "month"},
            }
        ).id
        for amount in amounts
    ]


def customer_with_card(sdk: stripe.StripeClient, **fields: Any) -> tuple[str, str]:
    """A customer of `fields` with a card that pays attached: its id and the card's."""
    params: Any = fields
    customer = sdk.v1.customers.create(params=params)
    method = card(sdk, good_card())
    sdk.v1.payment_methods.attach(method.id, params={"customer": customer.id})
    return customer.id, method.id


async def test_customers_cards_and_a_confirmed_intent(edge_merchant: EdgeMerchant) -> None:
    def scenario() -> None:
        sdk = client(edge_merchant)
        customer = sdk.v1.customers.create(
            params={"email": "ada@example.com", "name": "Ada", "metadata": {"crm": "42"}}
        )
        assert isinstance(customer, stripe.Customer) and customer.id.startswith("cus_")
        assert (customer.email, customer["metadata"]["crm"]) == ("ada@example.com", "42")
        assert sdk.v1.customers.retrieve(customer.id).name == "Ada"
        method = card(sdk, good_card())
        assert isinstance(method, stripe.PaymentMethod)
        assert method.card is not None and method.card.last4 == method.card.last4[-4:]
        attached = sdk.v1.payment_methods.attach(method.id, params={"customer": customer.id})
        assert attached.customer == customer.id

        intent = sdk.v1.payment_intents.create(
            params={
                "amount": 2000,
                "currency": "usd",
                "customer": customer.id,
                "payment_method": method.id,
                "confirm": True,
                "metadata": {"order": "1234"},
            }
        )
        assert isinstance(intent, stripe.PaymentIntent)
        assert (intent.status, intent.amount, intent.amount_received) == ("succeeded", 2000, 2000)
        assert intent.cancellation_reason is None  # null, as Stripe answers an unset reason
        assert intent.amount + 1 == 2001  # a number: merchant code does arithmetic on it
        assert str(intent.client_secret).startswith(f"{intent.id}_secret_")

        expanded = sdk.v1.payment_intents.retrieve(
            intent.id, params={"expand": ["customer", "payment_method"]}
        )
        assert isinstance(expanded.customer, stripe.Customer)
        assert expanded.customer.email == "ada@example.com"
        assert isinstance(expanded.payment_method, stripe.PaymentMethod)
        assert expanded.payment_method.id == method.id

        listed = sdk.v1.customers.list(params={"limit": 3})
        assert isinstance(listed, stripe.ListObject)
        assert [found.id for found in listed.data] == [customer.id]

    await in_thread(scenario)


async def test_stripe_test_payment_methods(edge_merchant: EdgeMerchant) -> None:
    """As Stripe's quickstarts write it: `pm_card_visa` in place of a payment method's id."""

    def scenario() -> None:
        sdk = client(edge_merchant)
        intent = sdk.v1.payment_intents.create(
            params={
                "amount": 2000,
                "currency": "usd",
                "payment_method": "pm_card_visa",
                "confirm": True,
            }
        )
        assert (intent.status, intent.amount_received) == ("succeeded", 2000)
        assert intent.payment_method != "pm_card_visa"
        method = sdk.v1.payment_methods.retrieve(str(intent.payment_method))
        assert method.card is not None and (method.card.brand, method.card.last4) == (
            "visa",
            "4242",
        )

        customer = sdk.v1.customers.create(params={"email": "grace@example.com"})
        attached = sdk.v1.payment_methods.attach(
            "pm_card_mastercard", params={"customer": customer.id}
        )
        assert attached.id.startswith("pm_") and attached.customer == customer.id
        with pytest.raises(stripe.CardError) as declined:
            sdk.v1.payment_intents.create(
                params={
                    "amount": 1000,
                    "currency": "usd",
                    "payment_method": "pm_card_chargeDeclined",
                    "confirm": True,
                }
            )
        assert declined.value.code == "card_declined"

    await in_thread(scenario)


async def test_manual_capture_cancel_and_partial_refunds(edge_merchant: EdgeMerchant) -> None:
    def scenario() -> None:
        sdk = client(edge_merchant)
        held = sdk.v1.payment_intents.create(
            params={
                "amount": 5000,
                "currency": "usd",
                "payment_method": card(sdk, good_card()).id,
                "capture_method": "manual",
            }
        )
        assert held.status == "requires_confirmation"
        held = sdk.v1.payment_intents.confirm(held.id)
        assert (held.status, held.amount_capturable) == ("requires_capture", 5000)
        captured = sdk.v1.payment_intents.capture(held.id, params={"amount_to_capture": 3000})
        assert (captured.status, captured.amount_received) == ("succeeded", 3000)

        first = sdk.v1.refunds.create(params={"payment_intent": held.id, "amount": 1000})
        second = sdk.v1.refunds.create(params={"payment_intent": held.id, "amount": 500})
        assert isinstance(first, stripe.Refund) and first.amount == 1000
        assert first.reason is None
        assert {first.status, second.status} <= {"pending", "succeeded"}
        refunded = sdk.v1.payment_intents.retrieve(held.id)
        assert refunded["amount_refunded"] == 1500  # Stripe's pre-2025 field
        with pytest.raises(stripe.InvalidRequestError) as too_much:
            sdk.v1.refunds.create(params={"payment_intent": held.id, "amount": 2000})
        assert too_much.value.param == "amount"

        other = sdk.v1.payment_intents.create(
            params={
                "amount": 700,
                "currency": "usd",
                "payment_method": card(sdk, good_card()).id,
                "capture_method": "manual",
                "confirm": True,
            }
        )
        canceled = sdk.v1.payment_intents.cancel(
            other.id, params={"cancellation_reason": "requested_by_customer"}
        )
        assert (canceled.status, canceled.cancellation_reason) == (
            "canceled",
            "requested_by_customer",
        )

    await in_thread(scenario)


async def test_modify_an_intent_then_confirm_it(payin: PayIn, edge_merchant: EdgeMerchant) -> None:
    """stripe.PaymentIntent.modify / paymentIntents.update: POST /v1/payment_intents/{id}."""

    def scenario() -> None:
        sdk = client(edge_merchant)
        intent = sdk.v1.payment_intents.create(
            params={"amount": 1000, "currency": "usd", "metadata": {"cart": "1", "promo": "x"}}
        )
        assert intent.status == "requires_payment_method"
        assert (intent.customer, intent.payment_method) == (None, None)  # Stripe's unset ids
        updated = sdk.v1.payment_intents.update(
            intent.id,
            params={
                "amount": 1500,
                "description": "Two mugs",
                "metadata": {"promo": "", "gift": "yes"},
                "payment_method": "pm_card_visa",
                "capture_method": "manual",
            },
        )
        assert isinstance(updated, stripe.PaymentIntent) and updated.id == intent.id
        assert (updated.status, updated.amount, updated.description) == (
            "requires_confirmation",
            1500,
            "Two mugs",
        )
        assert updated.to_dict()["metadata"] == {"cart": "1", "gift": "yes"}
        cleared = sdk.v1.payment_intents.update(intent.id, params={"metadata": ""})  # metadata=
        assert cleared.to_dict()["metadata"] == {}
        assert str(updated.payment_method).startswith("pm_")
        assert updated.payment_method != "pm_card_visa"  # the test card, saved
        confirmed = sdk.v1.payment_intents.confirm(intent.id)
        assert (confirmed.status, confirmed.amount_capturable) == ("requires_capture", 1500)

        with pytest.raises(stripe.InvalidRequestError) as late:
            sdk.v1.payment_intents.update(intent.id, params={"amount": 2000})
        assert (late.value.http_status, late.value.code) == (
            400,
            "payment_intent_unexpected_state",
        )
        with pytest.raises(stripe.InvalidRequestError) as misspelt:
            sdk.v1.payment_intents.update(intent.id, params=cast(Any, {"amout": 10}))
        assert (misspelt.value.http_status, misspelt.value.param) == (400, "amout")
        captured = sdk.v1.payment_intents.capture(intent.id)
        assert (captured.status, captured.amount_received) == ("succeeded", 1500)

    await in_thread(scenario)
    await assert_books_balance(payin.admin, edge_merchant.merchant_id)


async def test_a_destination_charge_with_transfer_data(
    payin: PayIn, edge_merchant: EdgeMerchant
) -> None:
    def scenario() -> None:
        sdk = client(edge_merchant)
        seller = sdk.v1.accounts.create(
            params=cast(
                Any, {"email": "seller@shop.test", "country": "US", "default_currency": "usd"}
            )
        )
        intent = sdk.v1.payment_intents.create(
            params={
                "amount": 2000,
                "currency": "usd",
                "payment_method": "pm_card_visa",
                "confirm": True,
                "application_fee_amount": 200,
                "transfer_data": {"destination": seller.id},
            }
        )
        assert intent.status == "succeeded"
        assert intent.transfer_data is not None and intent.transfer_data.destination == seller.id
        assert intent["transfer_destination"] == seller.id
        with pytest.raises(stripe.InvalidRequestError) as both:
            sdk.v1.payment_intents.create(
                params=cast(
                    Any,
                    {
                        "amount": 2000,
                        "currency": "usd",
                        "transfer_destination": seller.id,
                        "transfer_data": {"destination": "acct_" + "0" * 22},
                    },
                )
            )
        assert (both.value.http_status, both.value.param) == (400, "transfer_data[destination]")

    await in_thread(scenario)
    await assert_books_balance(payin.admin, edge_merchant.merchant_id)


async def test_a_decline_is_a_card_error(edge_merchant: EdgeMerchant) -> None:
    def scenario() -> None:
        sdk = client(edge_merchant)
        method = card(sdk, cards.CARD_INSUFFICIENT_FUNDS)
        with pytest.raises(stripe.CardError) as declined:
            sdk.v1.payment_intents.create(
                params={
                    "amount": 2000,
                    "currency": "usd",
                    "payment_method": method.id,
                    "confirm": True,
                }
            )
        error = declined.value
        assert (error.http_status, error.code) == (402, "card_declined")
        assert error.error is not None and error.error.decline_code == "insufficient_funds"
        intent = error.error.payment_intent
        assert intent is not None and intent.status == "requires_payment_method"
        assert intent.last_payment_error is not None
        assert intent.last_payment_error.code == "card_declined"
        # The intent stays, as with Stripe: confirming again with a good card succeeds.
        retried = sdk.v1.payment_intents.confirm(
            intent.id, params={"payment_method": card(sdk, good_card()).id}
        )
        assert retried.status == "succeeded"

    await in_thread(scenario)


async def test_the_processing_error_card_is_a_card_error(edge_merchant: EdgeMerchant) -> None:
    """Stripe's 4000000000000119 (pm_card_chargeDeclinedProcessingError) declines with code
    processing_error: the SDK raises CardError, the intent awaits another payment method."""

    def scenario() -> None:
        sdk = client(edge_merchant)
        for method in (card(sdk, cards.CARD_PROCESSING_ERROR).id, PROCESSING_ERROR_METHOD):
            with pytest.raises(stripe.CardError) as declined:
                sdk.v1.payment_intents.create(
                    params={
                        "amount": 1800,
                        "currency": "usd",
                        "payment_method": method,
                        "confirm": True,
                    }
                )
            error = declined.value
            assert (error.http_status, error.code) == (402, "processing_error")
            assert error.error is not None and error.error.decline_code == "processing_error"
            intent = error.error.payment_intent
            assert intent is not None and intent.status == "requires_payment_method"
            assert intent.last_payment_error is not None
            assert intent.last_payment_error.code == "processing_error"

    await in_thread(scenario)


async def test_a_browser_confirms_with_the_publishable_key_and_client_secret(
    edge_merchant: EdgeMerchant,
) -> None:
    def scenario() -> None:
        server = client(edge_merchant)
        intent = server.v1.payment_intents.create(params={"amount": 1200, "currency": "usd"})
        browser = client(edge_merchant, key=edge_merchant.publishable_key)
        method = card(browser, good_card())  # card numbers go browser -> paycore only
        with pytest.raises(stripe.InvalidRequestError) as wrong:
            browser.v1.payment_intents.confirm(
                intent.id,
                params=cast(Any, {"payment_method": method.id, "client_secret": f"{intent.id}_x"}),
            )
        assert wrong.value.param == "client_secret"
        with pytest.raises(stripe.InvalidRequestError) as missing:
            browser.v1.payment_intents.confirm(intent.id, params={"payment_method": method.id})
        assert missing.value.param == "client_secret"
        confirmed = browser.v1.payment_intents.confirm(
            intent.id,
            params=cast(Any, {"payment_method": method.id, "client_secret": intent.client_secret}),
        )
        assert confirmed.status == "succeeded"
        with pytest.raises(stripe.PermissionError):
            browser.v1.payment_intents.list()  # a publishable key reads nothing

    await in_thread(scenario)


async def test_auto_paging_250_intents(payin: PayIn, edge_url: str) -> None:
    merchant = await new_edge_merchant(payin, edge_url, name="Pager")

    def scenario() -> None:
        sdk = client(merchant)
        created = [
            sdk.v1.payment_intents.create(params={"amount": 100 + index, "currency": "usd"}).id
            for index in range(250)
        ]
        first = sdk.v1.payment_intents.list(params={"limit": 100})
        assert (cast(Any, first)["object"], first.url, first.has_more, len(first.data)) == (
            "list",
            "/v1/payment_intents",
            True,
            100,
        )
        paged = [intent.id for intent in first.auto_paging_iter()]
        assert paged == created[::-1]  # newest first, each once, across three pages

    await in_thread(scenario)


async def test_balance_and_balance_transactions(edge_merchant: EdgeMerchant) -> None:
    def scenario() -> None:
        sdk = client(edge_merchant)
        paid = sdk.v1.payment_intents.create(
            params={
                "amount": 1000,
                "currency": "usd",
                "payment_method": card(sdk, good_card()).id,
                "confirm": True,
            }
        )
        balance = sdk.v1.balance.retrieve()
        assert isinstance(balance, stripe.Balance)
        pending = {money.currency: money.amount for money in balance.pending}
        assert pending == {"usd": 1000 - 59}  # 2.9 % + 30, rounded half up
        listed = sdk.v1.balance_transactions.list(params={"limit": 10})
        [transaction] = [txn for txn in listed.data if txn.source == paid.id]
        assert isinstance(transaction, stripe.BalanceTransaction)
        assert (transaction.amount, transaction.fee, transaction.net) == (1000, 59, 941)
        assert transaction.type == "charge"  # Stripe's name; gRPC's is payment
        read = sdk.v1.balance_transactions.retrieve(transaction.id)
        assert read.id == transaction.id

    await in_thread(scenario)


async def test_a_subscription_with_its_invoice(edge_merchant: EdgeMerchant) -> None:
    def scenario() -> None:
        sdk = client(edge_merchant)
        product = sdk.v1.products.create(params={"name": "Pro plan"})
        price = sdk.v1.prices.create(
            params={
                "product": product.id,
                "unit_amount": 1500,
                "currency": "usd",
                "recurring": {"interval": "month", "interval_count": 1},
            }
        )
        assert (price.object, price.unit_amount) == ("price", 1500)
        customer = sdk.v1.customers.create(params={"email": "sub@example.com"})
        method = card(sdk, good_card())
        sdk.v1.payment_methods.attach(method.id, params={"customer": customer.id})
        subscription = sdk.v1.subscriptions.create(
            params={
                "customer": customer.id,
                "items": [{"price": price.id, "quantity": 2}],
                "default_payment_method": method.id,
            }
        )
        assert isinstance(subscription, stripe.Subscription)
        assert subscription["items"].data[0].quantity == 2
        invoice = sdk.v1.invoices.retrieve(
            str(subscription.latest_invoice), params={"expand": ["payment_intent"]}
        )
        assert isinstance(invoice, stripe.Invoice)
        # Stripe's invoice fields before its 2025 API (subscription, payment_intent on the invoice)
        assert (invoice.total, invoice["subscription"]) == (3000, subscription.id)
        assert invoice.lines.data[0].amount == 3000
        assert invoice.status in ("open", "paid")
        intent = invoice["payment_intent"]
        assert isinstance(intent, stripe.PaymentIntent) and intent.amount == 3000

    await in_thread(scenario)


async def test_idempotency_keys_the_sdk_sends(edge_merchant: EdgeMerchant) -> None:
    def scenario() -> None:
        sdk = client(edge_merchant)
        options: Any = {"idempotency_key": "order-77"}
        params: Any = {"amount": 900, "currency": "usd"}
        first = sdk.v1.payment_intents.create(params=params, options=options)
        again = sdk.v1.payment_intents.create(params=params, options=options)
        assert again.id == first.id
        with pytest.raises(stripe.IdempotencyError):
            sdk.v1.payment_intents.create(
                params=cast(Any, {**params, "amount": 901}), options=options
            )

    await in_thread(scenario)


async def test_the_sdk_retries_a_lost_answer_with_its_own_idempotency_key(
    edge_merchant: EdgeMerchant, lossy_proxy: tuple[str, list[tuple[str, str]]]
) -> None:
    proxy_url, seen = lossy_proxy

    def scenario() -> None:
        sdk = stripe.StripeClient(
            edge_merchant.secret_key, base_addresses={"api": proxy_url}, max_network_retries=2
        )
        intent = sdk.v1.payment_intents.create(params={"amount": 4321, "currency": "usd"})
        direct = client(edge_merchant)
        listed = direct.v1.payment_intents.list(params={"limit": 10})
        assert [found.id for found in listed.data] == [intent.id]  # created once

    await in_thread(scenario)
    assert [what for what, _ in seen] == ["POST /v1/payment_intents"] * 2
    keys = {key for _, key in seen}
    assert len(keys) == 1 and keys != {""}  # the SDK's own key, the same on the retry


async def test_errors_are_the_sdk_exceptions(edge_merchant: EdgeMerchant) -> None:
    def scenario() -> None:
        sdk = client(edge_merchant, stripe_version="2024-06-20")  # Stripe-Version is ignored
        with pytest.raises(stripe.InvalidRequestError) as bad:
            sdk.v1.payment_intents.create(params={"amount": -5, "currency": "usd"})
        assert (bad.value.http_status, bad.value.param) == (400, "amount")
        with pytest.raises(stripe.InvalidRequestError) as no_amount:
            sdk.v1.payment_intents.create(params={"currency": "usd"})  # type: ignore[typeddict-item]
        assert (no_amount.value.code, no_amount.value.param) == ("parameter_missing", "amount")
        with pytest.raises(stripe.InvalidRequestError) as missing:
            sdk.v1.customers.retrieve("cus_" + "0" * 22)
        assert (missing.value.http_status, missing.value.code) == (404, "resource_missing")
        with pytest.raises(stripe.AuthenticationError):
            client(edge_merchant, key="sk_test_" + "x" * 40).v1.customers.list()
        with pytest.raises(stripe.InvalidRequestError) as unknown:
            sdk.v1.payment_intents.retrieve("pi_" + "0" * 22, params={"expand": ["nope"]})
        assert unknown.value.http_status in (400, 404)

    await in_thread(scenario)


async def test_over_the_rate_limit_is_a_rate_limit_error(migrated: Settings, payin: PayIn) -> None:
    limited = migrated.with_overrides(
        rate_limits_per_second={"payments": 1, "subscriptions": 1, "other": 1}
    )
    async with serving(limited) as target:
        edge = await start_edge(target, "127.0.0.1:0")
        try:
            merchant = await new_edge_merchant(payin, f"http://127.0.0.1:{edge.port}")

            def scenario() -> stripe.RateLimitError:
                sdk = client(merchant)
                for _ in range(10):
                    try:
                        sdk.v1.customers.list()
                    except stripe.RateLimitError as error:
                        return error
                raise AssertionError("10 calls at once never hit a limit of 1/s")

            error = await in_thread(scenario)
        finally:
            await edge.close()
    assert error.http_status == 429
    assert error.headers is not None and int(error.headers["Retry-After"]) >= 1


async def test_an_absent_object_is_none_as_stripe_renders_it(edge_merchant: EdgeMerchant) -> None:
    """Stripe renders a sub-object that is not there as null (`last_payment_error: null` on an
    intent that never failed), so SDK code reads `intent.last_payment_error is None`; a field
    left out of the JSON is an AttributeError in stripe-python instead."""

    def scenario() -> None:
        sdk = client(edge_merchant)
        intent = sdk.v1.payment_intents.create(
            params={
                "amount": 2000,
                "currency": "usd",
                "payment_method": card(sdk, good_card()).id,
                "confirm": True,
            }
        )
        assert intent.status == "succeeded"
        assert intent.last_payment_error is None
        assert intent.transfer_data is None  # no destination: Stripe's null
        assert sdk.v1.payment_intents.retrieve(intent.id).last_payment_error is None
        listed = sdk.v1.payment_intents.list(params={"limit": 1})
        assert listed.data[0].last_payment_error is None

    await in_thread(scenario)


async def test_a_checkout_session_as_stripe_checkout_quickstart_writes_it(
    edge_merchant: EdgeMerchant,
) -> None:
    """Stripe's Checkout quickstart: `mode="payment"` and line items by `price_data` (inline)
    or by a catalogue `price` with a quantity, the currency taken from them; the session shows
    `mode` and `payment_status`, which turns `paid` once its intent has succeeded."""

    def scenario() -> None:
        sdk = client(edge_merchant)
        session = sdk.v1.checkout.sessions.create(
            params=cast(
                Any,
                {
                    "mode": "payment",
                    "payment_method_types": ["card"],
                    "line_items": [
                        {
                            "price_data": {
                                "currency": "usd",
                                "product_data": {"name": "T-shirt"},
                                "unit_amount": 2000,
                            },
                            "quantity": 2,
                        }
                    ],
                    "success_url": "https://shop.example.com/success?session_id={CHECKOUT_SESSION_ID}",
                    "cancel_url": "https://shop.example.com/cancel",
                },
            )
        )
        assert isinstance(session, stripe.checkout.Session)
        assert (session.amount_total, session.currency, session.status) == (4000, "usd", "open")
        assert (session.mode, session.payment_status) == ("payment", "unpaid")
        assert f"/c/pay/{session.id}/" in str(session.url)  # then the page's secret

        product = sdk.v1.products.create(params={"name": "Paper cranes"})
        price = sdk.v1.prices.create(
            params={"product": product.id, "unit_amount": 1250, "currency": "eur"}
        )
        by_price = sdk.v1.checkout.sessions.create(
            params={
                "mode": "payment",
                "line_items": [{"price": price.id, "quantity": 3}],
                "success_url": "https://shop.example.com/success",
            }
        )
        assert (by_price.amount_total, by_price.currency) == (3750, "eur")
        # Stripe's fulfillment guide reads the lines with expand[]=line_items: a list object.
        expanded = sdk.v1.checkout.sessions.retrieve(by_price.id, params={"expand": ["line_items"]})
        assert expanded.line_items is not None
        (line,) = expanded.line_items.data
        assert (line["name"], line["price"]["id"], line["quantity"]) == (
            "Paper cranes",
            price.id,
            3,
        )
        assert (line["price"]["object"], line["price"]["unit_amount"]) == ("price", 1250)
        listed = sdk.v1.checkout.sessions.line_items.list(by_price.id, params={"limit": 5})
        assert [item["amount_total"] for item in listed.data] == [3750]

        sdk.v1.payment_intents.confirm(
            str(session.payment_intent), params={"payment_method": "pm_card_visa"}
        )
        paid = sdk.v1.checkout.sessions.retrieve(session.id)
        assert (paid.status, paid.payment_status) == ("complete", "paid")

        monthly = sdk.v1.prices.create(
            params={
                "product": product.id,
                "unit_amount": 500,
                "currency": "usd",
                "recurring": {"interval": "month"},
            }
        )
        refusals: list[tuple[dict[str, Any], str]] = [
            ({"mode": "subscription", "line_items": [{"price": monthly.id}]}, "mode"),
            ({"line_items": [{"price": monthly.id}]}, "line_items[0][price]"),
            (
                {"currency": "usd", "line_items": [{"price": price.id, "quantity": 1}]},
                "line_items[0][price]",
            ),
            (
                {"payment_method_types": ["sepa_debit"], "amount": 100, "currency": "usd"},
                "payment_method_types[0]",
            ),
        ]
        before = len(sdk.v1.checkout.sessions.list(params={"limit": 100}).data)
        for params, param in refusals:
            with pytest.raises(stripe.InvalidRequestError) as refused:
                sdk.v1.checkout.sessions.create(
                    params=cast(Any, {**params, "success_url": "https://shop.example.com/s"})
                )
            assert refused.value.param == param, refused.value
        assert len(sdk.v1.checkout.sessions.list(params={"limit": 100}).data) == before

    await in_thread(scenario)


async def test_payment_method_types_card_as_stripe_snippets_write_it(
    edge_merchant: EdgeMerchant,
) -> None:
    """`payment_method_types=["card"]`, as many of Stripe's snippets create an intent: cards are
    paycore's one type, so it changes nothing; another type is refused naming it."""

    def scenario() -> None:
        sdk = client(edge_merchant)
        intent = sdk.v1.payment_intents.create(
            params=cast(
                Any,
                {
                    "amount": 1500,
                    "currency": "usd",
                    "payment_method_types": ["card"],
                    "payment_method": "pm_card_visa",
                    "confirm": True,
                },
            )
        )
        assert (intent.status, intent.amount_received) == ("succeeded", 1500)
        before = len(sdk.v1.payment_intents.list(params={"limit": 100}).data)
        with pytest.raises(stripe.InvalidRequestError) as refused:
            sdk.v1.payment_intents.create(
                params=cast(
                    Any,
                    {"amount": 1500, "currency": "usd", "payment_method_types": ["card", "ideal"]},
                )
            )
        assert refused.value.param == "payment_method_types[1]"
        assert len(sdk.v1.payment_intents.list(params={"limit": 100}).data) == before

    await in_thread(scenario)
