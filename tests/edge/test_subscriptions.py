"""SubscriptionService over the REST edge: the catalogue and test clocks as Stripe's SDKs send
them (form bodies): the catalogue, test clocks, subscriptions, invoices, billing settings."""

from __future__ import annotations

from typing import Any

from aiohttp import ClientSession
from paycore.tools.psp import cards

from tests.edge.helpers import call, card_method, new_merchant
from tests.payment.shop import PayIn


async def test_products_and_prices_over_http(
    http: ClientSession, settings_admin_token: str
) -> None:
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    created = await call(
        http, "POST", "/v1/products", key=key, form="name=Gold+plan&metadata[tier]=3"
    )
    assert created.status == 200, created.body
    product = created.body
    assert product["id"].startswith("prod_") and product["active"] is True
    assert product["metadata"] == {"tier": "3"}
    read = await call(http, "GET", f"/v1/products/{product['id']}", key=key)
    assert read.status == 200 and read.body == product
    listed = await call(http, "GET", "/v1/products?active=true&limit=5", key=key)
    assert [item["id"] for item in listed.body["data"]] == [product["id"]]

    priced = await call(
        http,
        "POST",
        "/v1/prices",
        key=key,
        form=f"product={product['id']}&unit_amount=1500&currency=usd"
        "&recurring[interval]=month&recurring[interval_count]=1",
    )
    assert priced.status == 200, priced.body
    price = priced.body
    assert price["id"].startswith("price_")
    assert (price["unit_amount"], price["currency"], price["type"]) == (1500, "usd", "recurring")
    assert price["recurring"] == {"interval": "month", "interval_count": 1}
    read_price = await call(http, "GET", f"/v1/prices/{price['id']}", key=key)
    assert read_price.status == 200 and read_price.body == price
    prices = await call(http, "GET", f"/v1/prices?product={product['id']}", key=key)
    assert [item["id"] for item in prices.body["data"]] == [price["id"]]

    free = await call(
        http,
        "POST",
        "/v1/prices",
        key=key,
        json_body={"product": product["id"], "unit_amount": "0", "currency": "usd"},
    )
    assert (free.status, free.error["param"], free.error["code"]) == (
        400,
        "unit_amount",
        "parameter_invalid",
    )
    unknown = await call(
        http,
        "POST",
        "/v1/prices",
        key=key,
        json_body={"product": "prod_" + "0" * 22, "unit_amount": "5", "currency": "usd"},
    )
    assert (unknown.status, unknown.error["param"]) == (400, "product")
    # 205 fils: no processor charges a bhd amount whose last digit is not 0 (docs/currencies.md).
    unchargeable = await call(
        http,
        "POST",
        "/v1/prices",
        key=key,
        form=f"product={product['id']}&unit_amount=205&currency=bhd",
    )
    assert (unchargeable.status, unchargeable.error["code"], unchargeable.error["param"]) == (
        400,
        "amount_not_allowed",
        "unit_amount",
    )


async def test_test_clocks_over_http(http: ClientSession, settings_admin_token: str) -> None:
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    created = await call(
        http,
        "POST",
        "/v1/test_helpers/test_clocks",
        key=key,
        form="frozen_time=1767225600&name=Renewals",
    )
    assert created.status == 200, created.body
    clock = created.body
    assert clock["id"].startswith("clock_")
    assert (clock["frozen_time"], clock["status"]) == (1767225600, "ready")
    read = await call(http, "GET", f"/v1/test_helpers/test_clocks/{clock['id']}", key=key)
    assert read.status == 200 and read.body == clock
    advanced = await call(
        http,
        "POST",
        f"/v1/test_helpers/test_clocks/{clock['id']}/advance",
        key=key,
        form="frozen_time=1769904000",
    )
    assert advanced.status == 200, advanced.body
    assert (advanced.body["frozen_time"], advanced.body["status"]) == (1769904000, "advancing")
    again = await call(
        http,
        "POST",
        f"/v1/test_helpers/test_clocks/{clock['id']}/advance",
        key=key,
        form="frozen_time=1769904001",
    )
    assert (again.status, again.error["code"]) == (400, "test_clock_advancing")


async def test_a_subscription_and_a_customer_expand_their_test_clock(
    http: ClientSession, settings_admin_token: str
) -> None:
    """Stripe's `expand[]=test_clock` on a subscription and a customer: the clock's object, as
    GET /v1/test_helpers/test_clocks/{id} answers it."""
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    clock = (
        await call(
            http, "POST", "/v1/test_helpers/test_clocks", key=key, form="frozen_time=1767225600"
        )
    ).body
    price, _ = await _monthly_price_and_customer(http, key)
    customer = (
        await call(http, "POST", "/v1/customers", key=key, form=f"test_clock={clock['id']}")
    ).body
    form = f"customer={customer['id']}&items[0][price]={price['id']}&trial_period_days=14"

    created = await call(
        http, "POST", "/v1/subscriptions", key=key, form=form + "&expand[]=test_clock"
    )
    read = await call(http, "GET", f"/v1/customers/{customer['id']}?expand[]=test_clock", key=key)

    assert created.status == 200, created.body
    assert created.body["test_clock"] == clock
    assert read.status == 200, read.body
    assert read.body["test_clock"] == clock


async def test_subscriptions_and_invoices_over_http(
    http: ClientSession, settings_admin_token: str
) -> None:
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    price, customer = await _monthly_price_and_customer(http, key)
    created = await call(
        http,
        "POST",
        "/v1/subscriptions",
        key=key,
        form=f"customer={customer['id']}&items[0][price]={price['id']}&items[0][quantity]=2"
        "&trial_period_days=14",
    )
    assert created.status == 200, created.body
    subscription = created.body
    assert subscription["status"] == "trialing"
    items = subscription["items"]  # a list object, as Stripe nests a subscription's items
    assert (items["object"], items["url"]) == (
        "list",
        f"/v1/subscription_items?subscription={subscription['id']}",
    )
    # Each item's price is the Price object, as Stripe renders it (never only its id).
    assert [(item["price"], item["quantity"]) for item in items["data"]] == [(price, 2)]
    # The list's url answers it (Stripe's SubscriptionItem.list(subscription=...)).
    at_url = await call(http, "GET", items["url"], key=key)
    assert at_url.status == 200, at_url.body
    assert (at_url.body["object"], at_url.body["data"]) == ("list", items["data"])
    unknown = "sub_" + "0" * 22
    missing = await call(http, "GET", f"/v1/subscription_items?subscription={unknown}", key=key)
    assert (missing.status, missing.error["param"]) == (400, "subscription")
    read = await call(http, "GET", f"/v1/subscriptions/{subscription['id']}", key=key)
    assert read.status == 200 and read.body == subscription
    listed = await call(http, "GET", f"/v1/subscriptions?customer={customer['id']}", key=key)
    assert [found["id"] for found in listed.body["data"]] == [subscription["id"]]
    invoice_id = subscription["latest_invoice"]
    invoice = (await call(http, "GET", f"/v1/invoices/{invoice_id}", key=key)).body
    lines = await call(http, "GET", invoice["lines"]["url"], key=key)  # Invoice.list_lines
    assert lines.status == 200, lines.body
    assert (lines.body["object"], lines.body["data"]) == ("list", invoice["lines"]["data"])
    assert (invoice["status"], invoice["amount_due"], invoice["total"]) == ("paid", 0, 0)
    invoices = await call(http, "GET", f"/v1/invoices?subscription={subscription['id']}", key=key)
    assert [found["id"] for found in invoices.body["data"]] == [invoice_id]
    for action in ("pay", "void", "mark_uncollectible"):
        refused = await call(http, "POST", f"/v1/invoices/{invoice_id}/{action}", key=key)
        assert (refused.status, refused.error["code"]) == (400, "invoice_unexpected_state")


async def test_the_nested_lists_urls_over_http(
    http: ClientSession, settings_admin_token: str
) -> None:
    """A subscription's `items` and an invoice's `lines` name the url of their whole list
    (Stripe's SubscriptionItem.list, Invoice.list_lines): each answers it."""
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    price, customer = await _monthly_price_and_customer(http, key)
    subscription = await _trialing_subscription(http, key, price, customer)
    items = await call(http, "GET", subscription["items"]["url"], key=key)
    assert items.status == 200, items.body
    assert items.body["data"] == subscription["items"]["data"]
    assert items.body["data"][0]["object"] == "subscription_item"
    invoice = await call(http, "GET", f"/v1/invoices/{subscription['latest_invoice']}", key=key)
    lines = await call(http, "GET", invoice.body["lines"]["url"], key=key)
    assert lines.status == 200, lines.body
    assert lines.body["data"] == invoice.body["lines"]["data"]
    line = lines.body["data"][0]
    assert line["id"].startswith("il_")
    assert line["period"] == {"start": line["period_start"], "end": line["period_end"]}
    unnamed = await call(http, "GET", "/v1/subscription_items", key=key)
    assert (unnamed.status, unnamed.error["param"]) == (400, "subscription")


async def test_invoice_items_over_http(http: ClientSession, settings_admin_token: str) -> None:
    # A merchant of its own, whose key's subscriptions rate class no other test uses.
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    price, customer = await _monthly_price_and_customer(http, key)
    subscription = await _trialing_subscription(http, key, price, customer)
    item = await call(
        http,
        "POST",
        "/v1/invoiceitems",
        key=key,
        form=f"customer={customer['id']}&subscription={subscription['id']}"
        "&amount=-200&currency=usd&description=Goodwill",
    )
    assert item.status == 200, item.body
    assert (item.body["amount"], item.body["quantity"], item.body["invoice"]) == (-200, 1, None)
    read_item = await call(http, "GET", f"/v1/invoiceitems/{item.body['id']}", key=key)
    assert read_item.status == 200 and read_item.body == item.body
    zero = await call(
        http,
        "POST",
        "/v1/invoiceitems",
        key=key,
        form=f"customer={customer['id']}&subscription={subscription['id']}&currency=usd",
    )
    assert (zero.status, zero.error["param"]) == (400, "amount")


async def test_billing_settings_over_http(http: ClientSession, settings_admin_token: str) -> None:
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    settings = await call(http, "GET", "/v1/billing_settings", key=key)
    assert settings.body == {"retry_schedule_days": [3, 5, 7], "final_action": "cancel"}
    updated = await call(
        http,
        "POST",
        "/v1/billing_settings",
        key=key,
        form="retry_schedule_days[0]=1&retry_schedule_days[1]=2&final_action=mark_unpaid",
    )
    assert updated.body == {"retry_schedule_days": [1, 2], "final_action": "mark_unpaid"}
    too_long = await call(
        http, "POST", "/v1/billing_settings", key=key, form="retry_schedule_days[0]=31"
    )
    assert (too_long.status, too_long.error["param"]) == (400, "retry_schedule_days")


async def test_subscription_update_and_cancel_over_http(
    http: ClientSession, settings_admin_token: str
) -> None:
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    product = (await call(http, "POST", "/v1/products", key=key, form="name=Gold")).body
    recurring = "&recurring[interval]=month&recurring[interval_count]=1"
    price = (
        await call(
            http,
            "POST",
            "/v1/prices",
            key=key,
            form=f"product={product['id']}&unit_amount=1500&currency=usd{recurring}",
        )
    ).body
    customer = (await call(http, "POST", "/v1/customers", key=key, form="name=Ada")).body
    subscription = (
        await call(
            http,
            "POST",
            "/v1/subscriptions",
            key=key,
            form=f"customer={customer['id']}&items[0][price]={price['id']}&trial_period_days=3",
        )
    ).body
    item = subscription["items"]["data"][0]["id"]
    updated = await call(
        http,
        "POST",
        f"/v1/subscriptions/{subscription['id']}",
        key=key,
        form=f"items[0][id]={item}&items[0][quantity]=3&metadata[plan]=team",
    )
    assert updated.status == 200, updated.body
    assert updated.body["items"]["data"][0]["quantity"] == 3
    assert updated.body["metadata"] == {"plan": "team"}
    canceled = await call(
        http, "POST", f"/v1/subscriptions/{subscription['id']}/cancel", key=key, form=""
    )
    assert canceled.status == 200, canceled.body
    assert canceled.body["status"] == "canceled"
    again = await call(
        http, "POST", f"/v1/subscriptions/{subscription['id']}/cancel", key=key, form=""
    )
    assert (again.status, again.error["code"]) == (400, "subscription_ended")


async def test_stripes_delete_cancels_and_a_price_without_a_count_is_every_interval(
    http: ClientSession, settings_admin_token: str
) -> None:
    """What stripe-python sends for Price.create(recurring={"interval": "month"}) and
    Subscription.cancel(id): no interval_count, and DELETE /v1/subscriptions/{id}."""
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    product = (await call(http, "POST", "/v1/products", key=key, form="name=Gold")).body
    priced = await call(
        http,
        "POST",
        "/v1/prices",
        key=key,
        form=f"product={product['id']}&unit_amount=1500&currency=usd&recurring[interval]=month",
    )
    assert priced.status == 200, priced.body
    assert priced.body["recurring"] == {"interval": "month", "interval_count": 1}
    customer = (await call(http, "POST", "/v1/customers", key=key, form="name=Ada")).body
    items = f"customer={customer['id']}&items[0][price]={priced.body['id']}&trial_period_days=3"
    subscription = (await call(http, "POST", "/v1/subscriptions", key=key, form=items)).body
    path = f"/v1/subscriptions/{subscription['id']}"
    later = await call(http, "DELETE", f"{path}?at_period_end=true", key=key)
    assert later.status == 200, later.body
    assert (later.body["status"], later.body["cancel_at_period_end"]) == ("trialing", True)
    canceled = await call(http, "DELETE", path, key=key)
    assert canceled.status == 200, canceled.body
    assert canceled.body["status"] == "canceled"
    again = await call(http, "DELETE", path, key=key)
    assert (again.status, again.error["code"]) == (400, "subscription_ended")


async def test_paying_an_invoice_with_a_declining_card_is_a_402_card_error(
    payin_http: ClientSession, payin: PayIn
) -> None:
    http = payin_http
    key = (await new_merchant(http, payin.admin_token))["secret_key"]
    invoice_id = await _declined_first_invoice(http, key, cards.CARD_INSUFFICIENT_FUNDS)

    answers = [
        await call(
            http,
            "POST",
            f"/v1/invoices/{invoice_id}/pay",
            key=key,
            headers={"Idempotency-Key": "pay-declined-1"},
        )
        for _ in range(2)
    ]

    declined, replay = answers
    assert declined.status == 402, declined.body
    error = declined.body["error"]
    assert (error["type"], error["code"], error["decline_code"]) == (
        "card_error",
        "card_declined",
        "insufficient_funds",
    )
    assert (replay.status, replay.body) == (402, declined.body)
    invoice = (await call(http, "GET", f"/v1/invoices/{invoice_id}", key=key)).body
    assert (invoice["status"], invoice["attempt_count"]) == ("open", 2)


async def test_a_declined_invoice_payment_has_the_code_a_declined_intent_has_for_the_card(
    payin_http: ClientSession, payin: PayIn
) -> None:
    http = payin_http
    key = (await new_merchant(http, payin.admin_token))["secret_key"]
    invoice_id = await _declined_first_invoice(http, key, cards.CARD_EXPIRED)
    intent = await call(
        http,
        "POST",
        "/v1/payment_intents",
        key=key,
        form="amount=900&currency=usd&confirm=true&payment_method="
        + await card_method(http, key, cards.CARD_EXPIRED),
    )

    paid = await call(http, "POST", f"/v1/invoices/{invoice_id}/pay", key=key)

    assert (intent.status, paid.status) == (402, 402), (intent.body, paid.body)
    fields = ("type", "code", "decline_code")
    assert [paid.error[name] for name in fields] == [intent.error[name] for name in fields]
    assert [paid.error[name] for name in fields] == ["card_error", "expired_card", "expired_card"]


async def _declined_first_invoice(http: ClientSession, key: str, number: str) -> str:
    """The first invoice of a subscription whose customer's default card (`number`) declined
    it: the subscription incomplete, the invoice open."""
    price, customer = await _monthly_price_and_customer(http, key)
    method = await card_method(http, key, number)
    attached = await call(
        http,
        "POST",
        f"/v1/payment_methods/{method}/attach",
        key=key,
        form=f"customer={customer['id']}",
    )
    assert attached.status == 200, attached.body
    created = await call(
        http,
        "POST",
        "/v1/subscriptions",
        key=key,
        form=f"customer={customer['id']}&items[0][price]={price['id']}"
        f"&default_payment_method={method}",
    )
    assert created.body["status"] == "incomplete", created.body
    return str(created.body["latest_invoice"])


async def _monthly_price_and_customer(
    http: ClientSession, key: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A product's monthly price of 15.00 usd and a customer, made over HTTP with `key`."""
    product = (await call(http, "POST", "/v1/products", key=key, form="name=Gold")).body
    price = (
        await call(
            http,
            "POST",
            "/v1/prices",
            key=key,
            form=f"product={product['id']}&unit_amount=1500&currency=usd"
            "&recurring[interval]=month&recurring[interval_count]=1",
        )
    ).body
    customer = (await call(http, "POST", "/v1/customers", key=key, form="name=Ada")).body
    return price, customer


async def _trialing_subscription(
    http: ClientSession, key: str, price: dict[str, Any], customer: dict[str, Any]
) -> dict[str, Any]:
    """`customer`'s subscription to `price` with a 14-day trial, made over HTTP with `key`."""
    form = f"customer={customer['id']}&items[0][price]={price['id']}&trial_period_days=14"
    created: dict[str, Any] = (
        await call(http, "POST", "/v1/subscriptions", key=key, form=form)
    ).body
    return created


async def test_listing_subscriptions_by_status_as_stripe_does(
    http: ClientSession, settings_admin_token: str
) -> None:
    """Subscription.list(): without a status every one not canceled, `status=all` every one,
    `status=ended` the canceled and the expired ones, as Stripe lists them."""
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    price, customer = await _monthly_price_and_customer(http, key)
    items = f"customer={customer['id']}&items[0][price]={price['id']}&trial_period_days=3"
    kept = (await call(http, "POST", "/v1/subscriptions", key=key, form=items)).body
    ended = (await call(http, "POST", "/v1/subscriptions", key=key, form=items)).body
    canceled = await call(http, "DELETE", f"/v1/subscriptions/{ended['id']}", key=key)
    assert canceled.body["status"] == "canceled", canceled.body

    async def listed(query: str) -> list[str]:
        answer = await call(http, "GET", f"/v1/subscriptions{query}", key=key)
        assert answer.status == 200, answer.body
        return [item["id"] for item in answer.body["data"]]

    assert await listed("") == [kept["id"]]
    assert await listed("?status=all") == [ended["id"], kept["id"]]
    assert await listed("?status=all&limit=1") == [ended["id"]]
    assert await listed(f"?status=all&starting_after={ended['id']}") == [kept["id"]]
    assert await listed("?status=ended") == [ended["id"]]
    assert await listed("?status=canceled") == [ended["id"]]
    assert await listed("?status=trialing") == [kept["id"]]
    wrong = await call(http, "GET", "/v1/subscriptions?status=every", key=key)
    assert (wrong.status, wrong.error["param"]) == (400, "status"), wrong.body
    assert "all" in wrong.error["message"] and "ended" in wrong.error["message"]


async def test_cancel_at_is_the_period_end_while_it_cancels_at_period_end(
    http: ClientSession, settings_admin_token: str
) -> None:
    """Stripe renders `cancel_at` = current_period_end while cancel_at_period_end is set, null
    otherwise."""
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    price, customer = await _monthly_price_and_customer(http, key)
    created = await _trialing_subscription(http, key, price, customer)
    assert created["cancel_at"] is None
    path = f"/v1/subscriptions/{created['id']}"

    canceling = await call(http, "POST", path, key=key, form="cancel_at_period_end=true")

    assert canceling.status == 200, canceling.body
    assert canceling.body["cancel_at"] == canceling.body["current_period_end"]
    assert (await call(http, "GET", path, key=key)).body["cancel_at"] == created["trial_end"]
    resumed = await call(http, "POST", path, key=key, form="cancel_at_period_end=false")
    assert (resumed.body["cancel_at_period_end"], resumed.body["cancel_at"]) == (False, None)


async def test_created_to_cancel_at_period_end_over_http(
    http: ClientSession, settings_admin_token: str
) -> None:
    """Stripe's `cancel_at_period_end=true` on `POST /v1/subscriptions`: cancel_at is the
    (trial) period's end."""
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    price, customer = await _monthly_price_and_customer(http, key)
    form = f"customer={customer['id']}&items[0][price]={price['id']}&trial_period_days=14"

    created = await call(
        http, "POST", "/v1/subscriptions", key=key, form=f"{form}&cancel_at_period_end=true"
    )

    assert created.status == 200, created.body
    assert created.body["cancel_at_period_end"] is True
    assert created.body["cancel_at"] == created.body["trial_end"]
    assert created.body["canceled_at"] == created.body["created"]
