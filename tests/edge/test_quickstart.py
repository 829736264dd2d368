"""Stripe's quickstarts over the REST edge with stripe-python: Price.create with
`product_data` (the product and its price in one call, one transaction, idempotent with the
key); PaymentIntents' `off_session` given as Stripe's "one_off" / "recurring" strings."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
import stripe
from paycore.edge import start_edge
from paycore.v1 import account_pb2

from tests.payment.shop import PayIn, assert_books_balance


@pytest_asyncio.fixture
async def sdk(payin: PayIn) -> AsyncIterator[tuple[stripe.StripeClient, str]]:
    server = await start_edge(payin.target, "127.0.0.1:0")
    merchant = await payin.admin.accounts.CreateMerchant(
        account_pb2.CreateMerchantRequest(
            name="Quickstart", email="dev@quickstart.test", country="US", default_currency="usd"
        )
    )
    try:
        client = stripe.StripeClient(
            merchant.secret_key,
            base_addresses={"api": f"http://127.0.0.1:{server.port}"},
            max_network_retries=0,
        )
        yield client, merchant.id
    finally:
        await server.close()


def _with(params: dict[str, Any], **changes: Any) -> Any:
    return {**params, **changes}


async def test_price_create_with_product_data_makes_both_once(
    sdk: tuple[stripe.StripeClient, str],
) -> None:
    client, _ = sdk

    def scenario() -> None:
        recurring: Any = {"interval": "month"}
        product_data: Any = {"name": "Starter", "metadata": {"tier": "1"}}
        params: Any = {
            "product_data": product_data,
            "unit_amount": 2000,
            "currency": "usd",
            "recurring": recurring,
        }
        price = client.v1.prices.create(params=params, options={"idempotency_key": "qs-1"})
        assert price.unit_amount == 2000 and price.currency == "usd" and price.active
        assert price.recurring is not None and price.recurring.interval == "month"
        product = client.v1.products.retrieve(str(price.product))
        assert product.name == "Starter" and product.active
        assert product.metadata.to_dict() == {"tier": "1"}

        again = client.v1.prices.create(params=params, options={"idempotency_key": "qs-1"})
        assert again.id == price.id and again.product == price.product
        assert [p.id for p in client.v1.products.list().data] == [product.id]

        with pytest.raises(stripe.InvalidRequestError) as both:
            client.v1.prices.create(
                params=_with(params, product=product.id),
                options={"idempotency_key": "qs-2"},
            )
        assert both.value.param == "product_data"
        with pytest.raises(stripe.InvalidRequestError) as nameless:
            client.v1.prices.create(
                params=_with(params, product_data={"metadata": {"tier": "2"}}),
                options={"idempotency_key": "qs-3"},
            )
        assert nameless.value.param == "product_data[name]"
        with pytest.raises(stripe.InvalidRequestError) as neither:
            client.v1.prices.create(
                params=_with({}, unit_amount=2000, currency="usd"),
                options={"idempotency_key": "qs-4"},
            )
        assert neither.value.param == "product"
        # A refused price leaves no product behind.
        assert [p.id for p in client.v1.products.list().data] == [product.id]
        with pytest.raises(stripe.InvalidRequestError) as bad_amount:
            client.v1.prices.create(
                params=_with(params, unit_amount=0), options={"idempotency_key": "qs-5"}
            )
        assert bad_amount.value.param == "unit_amount"
        assert [p.id for p in client.v1.products.list().data] == [product.id]

    await asyncio.to_thread(scenario)


async def test_off_session_takes_stripes_one_off_and_recurring(
    sdk: tuple[stripe.StripeClient, str], payin: PayIn
) -> None:
    client, merchant_id = sdk

    def scenario() -> None:
        customer = client.v1.customers.create(params={"email": "ada@example.com"})
        for word in ("recurring", "one_off"):
            params: Any = {
                "amount": 2000,
                "currency": "usd",
                "customer": customer.id,
                "payment_method": "pm_card_authenticationRequired",
                "off_session": word,
                "confirm": True,
            }
            # Off-session, a card that must authenticate is declined (on-session it would
            # ask for authentication): the word meant true.
            with pytest.raises(stripe.CardError) as raised:
                client.v1.payment_intents.create(params=params)
            assert raised.value.code == "authentication_required", word

        intent = client.v1.payment_intents.create(
            params={
                "amount": 1500,
                "currency": "usd",
                "customer": customer.id,
                "payment_method": "pm_card_authenticationRequired",
            }
        )
        with pytest.raises(stripe.CardError) as confirmed:
            client.v1.payment_intents.confirm(intent.id, params={"off_session": "one_off"})
        assert confirmed.value.code == "authentication_required"
        with pytest.raises(stripe.InvalidRequestError) as other:
            client.v1.payment_intents.confirm(intent.id, params={"off_session": "often"})
        assert other.value.param == "off_session" and "one_off" in str(other.value)

    await asyncio.to_thread(scenario)
    await assert_books_balance(payin.admin, merchant_id)


async def test_updated_events_carry_previous_attributes(
    sdk: tuple[stripe.StripeClient, str],
) -> None:
    client, _ = sdk

    def scenario() -> None:
        customer = client.v1.customers.create(
            params={"email": "ada@example.com", "name": "Ada", "metadata": {"plan": "a"}}
        )
        client.v1.customers.update(
            customer.id,
            params={"email": "ada@new.example", "metadata": {"plan": "b", "seat": "3"}},
        )
        listed = client.v1.events.list(params={"type": "customer.updated"}).data
        assert len(listed) == 1
        event = client.v1.events.retrieve(listed[0].id)
        for seen in (event, listed[0]):
            previous = seen.data.to_dict()["previous_attributes"]
            assert previous == {
                "email": "ada@example.com",
                "metadata": {"plan": "a", "seat": None},
            }, previous
            assert seen.data.object["email"] == "ada@new.example"
        created = client.v1.events.list(params={"type": "customer.created"}).data
        assert created[0].data.to_dict().get("previous_attributes") is None

    await asyncio.to_thread(scenario)


async def test_subscription_and_charge_updates_carry_previous_attributes(
    sdk: tuple[stripe.StripeClient, str],
) -> None:
    client, _ = sdk

    def scenario() -> None:
        customer = client.v1.customers.create(params={"email": "bo@example.com"})
        recurring: Any = {"interval": "month"}
        product_data: Any = {"name": "Pro"}
        price = client.v1.prices.create(
            params={
                "product_data": product_data,
                "unit_amount": 1200,
                "currency": "usd",
                "recurring": recurring,
            }
        )
        items: Any = [{"price": price.id}]
        subscription = client.v1.subscriptions.create(
            params={"customer": customer.id, "items": items, "trial_period_days": 7}
        )
        client.v1.subscriptions.update(
            subscription.id, params={"cancel_at_period_end": True, "metadata": {"n": "1"}}
        )
        (event,) = client.v1.events.list(params={"type": "customer.subscription.updated"}).data
        previous = event.data.to_dict()["previous_attributes"]
        # As Stripe's: cancel_at (the period end now) was null before.
        assert previous == {
            "cancel_at": None,
            "cancel_at_period_end": False,
            "canceled_at": None,
            "metadata": {"n": None},
        }, previous
        canceled_at = event.data.object["canceled_at"]
        assert isinstance(canceled_at, int)
        # Renewing again: the old timestamp is given back as the integer it was.
        client.v1.subscriptions.update(subscription.id, params={"cancel_at_period_end": False})
        newest = client.v1.events.list(params={"type": "customer.subscription.updated"}).data[0]
        assert newest.data.to_dict()["previous_attributes"] == {
            "cancel_at": event.data.object["current_period_end"],
            "cancel_at_period_end": True,
            "canceled_at": canceled_at,
        }
        assert type(newest.data.to_dict()["previous_attributes"]["canceled_at"]) is int

        intent = client.v1.payment_intents.create(
            params={
                "amount": 2500,
                "currency": "usd",
                "payment_method": "pm_card_visa",
                "confirm": True,
                "description": "first",
            }
        )
        charge_id = str(intent.latest_charge)
        client.v1.charges.update(charge_id, params={"description": "second"})
        (changed,) = client.v1.events.list(params={"type": "charge.updated"}).data
        assert changed.data.to_dict()["previous_attributes"] == {"description": "first"}

    await asyncio.to_thread(scenario)


async def test_webhook_endpoint_api_version_is_stored_and_shown(
    sdk: tuple[stripe.StripeClient, str],
) -> None:
    client, _ = sdk

    def scenario() -> None:
        events: Any = ["customer.updated"]
        pinned = client.v1.webhook_endpoints.create(
            params={
                "url": "https://93.184.215.14/hooks",
                "enabled_events": events,
                "api_version": "2025-03-31.basil",
            }
        )
        assert pinned.api_version == "2025-03-31.basil"
        assert client.v1.webhook_endpoints.retrieve(pinned.id).api_version == "2025-03-31.basil"
        plain = client.v1.webhook_endpoints.create(
            params={"url": "https://93.184.215.14/other", "enabled_events": events}
        )
        assert plain.api_version is None
        listed = {e.id: e.api_version for e in client.v1.webhook_endpoints.list().data}
        assert listed == {pinned.id: "2025-03-31.basil", plain.id: None}
        updated = client.v1.webhook_endpoints.update(pinned.id, params={"description": "x"})
        assert updated.api_version == "2025-03-31.basil"
        with pytest.raises(stripe.InvalidRequestError) as bad:
            client.v1.webhook_endpoints.create(
                params=_with(
                    {}, url="https://93.184.215.14/bad", enabled_events=events, api_version="latest"
                )
            )
        assert bad.value.param == "api_version"
        assert len(client.v1.webhook_endpoints.list().data) == 2

    await asyncio.to_thread(scenario)


async def test_list_events_takes_delivery_success(sdk: tuple[stripe.StripeClient, str]) -> None:
    """The REST filter reaches ListEvents (its semantics: tests/webhooks/
    test_delivery_success_filter.py): with no endpoint, no event was delivered or is pending."""
    client, _ = sdk

    def scenario() -> None:
        client.v1.customers.create(params={"name": "Ada"})
        assert [event.type for event in client.v1.events.list().data] == ["customer.created"]
        for delivered in (True, False):
            listed = client.v1.events.list(params={"delivery_success": delivered})
            assert listed.data == [], delivered

    await asyncio.to_thread(scenario)
