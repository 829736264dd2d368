"""An amount's rule names, in its message, what the minor units are of: the amount given, or
the amount another parameter makes (a quantity, a new currency), never that parameter as if it
were an amount."""

from __future__ import annotations

from aiohttp import ClientSession

from tests.edge.helpers import call, new_merchant


async def test_an_amount_too_large_for_a_quantity_names_the_amount_it_makes(
    http: ClientSession, settings_admin_token: str
) -> None:
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    product = (await call(http, "POST", "/v1/products", key=key, form="name=Gold")).body
    monthly = "&recurring[interval]=month&recurring[interval_count]=1"
    plan, one_time = [
        (
            await call(
                http,
                "POST",
                "/v1/prices",
                key=key,
                form=f"product={product['id']}&unit_amount=1500&currency=usd{recurring}",
            )
        ).body
        for recurring in (monthly, "")
    ]
    customer = (await call(http, "POST", "/v1/customers", key=key, form="name=Ada")).body
    subscription = (
        await call(
            http,
            "POST",
            "/v1/subscriptions",
            key=key,
            form=f"customer={customer['id']}&items[0][price]={plan['id']}&trial_period_days=14",
        )
    ).body
    item = await call(
        http,
        "POST",
        "/v1/invoiceitems",
        key=key,
        form=f"customer={customer['id']}&subscription={subscription['id']}"
        f"&price={one_time['id']}&quantity=100000",
    )
    assert (item.status, item.error["code"], item.error["param"]) == (
        400,
        "amount_too_large",
        "quantity",
    ), item.body
    assert item.error["message"] == (
        "The amount with the quantity given must be at most 99999999 (minor units of usd)"
    )


async def test_an_amount_too_small_in_a_new_currency_names_the_amount(
    http: ClientSession, settings_admin_token: str
) -> None:
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    intent = await call(
        http, "POST", "/v1/payment_intents", key=key, form="amount=100&currency=usd"
    )
    assert intent.status == 200, intent.body
    path = f"/v1/payment_intents/{intent.body['id']}"
    in_bhd = await call(http, "POST", path, key=key, form="currency=bhd")
    assert (in_bhd.status, in_bhd.error["code"], in_bhd.error["param"]) == (
        400,
        "amount_too_small",
        "currency",
    ), in_bhd.body
    assert in_bhd.error["message"] == (
        "The amount with the currency given must be at least 200 (minor units of bhd)"
    )
    amount = await call(http, "POST", path, key=key, form="amount=150&currency=bhd")
    assert amount.error["message"] == "amount must be at least 200 (minor units of bhd)"
    too_large = await call(http, "POST", path, key=key, form="amount=100000000")
    assert too_large.error["message"] == "amount must be at most 99999999 (minor units of usd)"
