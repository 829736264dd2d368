"""A subscription item names its subscription (`subscription`, Stripe's field: stripe-python's
`item.subscription`), in the subscription's `items` and in ListSubscriptionItems."""

from __future__ import annotations

from aiohttp import ClientSession
from paycore.tools.psp import cards

from tests.edge.helpers import call, card_method, new_merchant
from tests.payment.shop import PayIn


async def test_an_item_names_its_subscription(payin_http: ClientSession, payin: PayIn) -> None:
    http = payin_http
    key = (await new_merchant(http, payin.admin_token))["secret_key"]
    method = await card_method(http, key, cards.CARD_SUCCEEDS)
    customer = await call(http, "POST", "/v1/customers", key=key, form=f"payment_method={method}")
    assert customer.status == 200, customer.body
    price = await call(
        http,
        "POST",
        "/v1/prices",
        key=key,
        form="unit_amount=900&currency=usd&recurring[interval]=month&product_data[name]=Items",
    )
    created = await call(
        http,
        "POST",
        "/v1/subscriptions",
        key=key,
        form=f"customer={customer.body['id']}&items[0][price]={price.body['id']}"
        f"&default_payment_method={method}",
    )
    assert created.status == 200, created.body
    subscription = created.body["id"]

    listed = await call(http, "GET", f"/v1/subscription_items?subscription={subscription}", key=key)

    [item] = created.body["items"]["data"]
    assert item["subscription"] == subscription
    assert [found["subscription"] for found in listed.body["data"]] == [subscription]
