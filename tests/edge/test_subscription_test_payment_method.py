"""A subscription's `default_payment_method` is a payment method attached to its customer: a
test payment method's name (`pm_card_visa`, which a payment intent takes) is refused saying what
to do, attach one first and pass its pm_ id (it answered "... is not a valid pm_... id", though
the user sent what Stripe's docs use), naming the field; doing what it says then works."""

from __future__ import annotations

from aiohttp import ClientSession

from tests.edge.helpers import call, new_merchant


async def test_a_test_payment_method_name_is_refused_saying_to_attach_one(
    http: ClientSession, settings_admin_token: str
) -> None:
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    product = (await call(http, "POST", "/v1/products", key=key, form="name=Gold")).body
    price = await call(
        http,
        "POST",
        "/v1/prices",
        key=key,
        form=f"product={product['id']}&unit_amount=1500&currency=usd&recurring[interval]=month",
    )
    customer = (await call(http, "POST", "/v1/customers", key=key, form="name=Ada")).body
    form = f"customer={customer['id']}&items[0][price]={price.body['id']}"

    refused = await call(
        http,
        "POST",
        "/v1/subscriptions",
        key=key,
        form=f"{form}&default_payment_method=pm_card_visa",
    )
    assert (refused.status, refused.error["code"], refused.error["param"]) == (
        400,
        "parameter_invalid",
        "default_payment_method",
    ), refused.error
    message = refused.error["message"]
    assert "not a valid" not in message, message
    assert "attach" in message and "/v1/payment_methods/pm_card_visa/attach" in message, message

    attached = await call(
        http,
        "POST",
        "/v1/payment_methods/pm_card_visa/attach",
        key=key,
        form=f"customer={customer['id']}",
    )
    assert attached.status == 200, attached.body
    assert attached.body["id"].startswith("pm_") and attached.body["id"] != "pm_card_visa"
    created = await call(
        http,
        "POST",
        "/v1/subscriptions",
        key=key,
        form=f"{form}&default_payment_method={attached.body['id']}",
    )
    assert created.status == 200, created.body
    assert created.body["default_payment_method"] == attached.body["id"]

    other = (await call(http, "POST", "/v1/customers", key=key, form="name=Bo")).body
    not_attached = await call(
        http,
        "POST",
        "/v1/subscriptions",
        key=key,
        form=f"customer={other['id']}&items[0][price]={price.body['id']}"
        f"&default_payment_method={attached.body['id']}",
    )
    assert (not_attached.status, not_attached.error["code"], not_attached.error["param"]) == (
        400,
        "payment_method_not_attached",
        "default_payment_method",
    ), not_attached.error
    unknown = await call(
        http,
        "POST",
        "/v1/subscriptions",
        key=key,
        form=f"{form}&default_payment_method=pm_{'0' * 22}",
    )
    assert (unknown.status, unknown.error["code"], unknown.error["param"]) == (
        400,
        "resource_missing",
        "default_payment_method",
    ), unknown.error

    updated = await call(
        http,
        "POST",
        f"/v1/subscriptions/{created.body['id']}",
        key=key,
        form="default_payment_method=pm_card_mastercard",
    )
    assert (updated.status, updated.error["code"], updated.error["param"]) == (
        400,
        "parameter_invalid",
        "default_payment_method",
    ), updated.error
    assert "/v1/payment_methods/pm_card_mastercard/attach" in updated.error["message"]
