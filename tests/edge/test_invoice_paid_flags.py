"""An invoice as Stripe's API before 2025 renders it (deploy/edge.md): `paid` and `attempted`,
which Stripe's own guides and webhook handlers read (`if invoice.paid:`); and the upcoming
invoice (a preview) has no id, nor do its lines: null, not ""."""

from __future__ import annotations

from typing import Any

from aiohttp import ClientSession
from paycore.tools.psp import cards

from tests.edge.helpers import call, card_method, new_merchant
from tests.payment.shop import PayIn


async def _customer_with_card(http: ClientSession, key: str, number: str) -> tuple[str, str]:
    customer = (await call(http, "POST", "/v1/customers", key=key, form="name=Ada")).body["id"]
    method = await card_method(http, key, number)
    attached = await call(
        http, "POST", f"/v1/payment_methods/{method}/attach", key=key, form=f"customer={customer}"
    )
    assert attached.status == 200, attached.body
    return customer, method


async def _monthly_price(http: ClientSession, key: str) -> str:
    priced = await call(
        http,
        "POST",
        "/v1/prices",
        key=key,
        form="unit_amount=1500&currency=usd&recurring[interval]=month&product_data[name]=Gold",
    )
    assert priced.status == 200, priced.body
    return str(priced.body["id"])


async def _subscribe(http: ClientSession, key: str, form: str) -> dict[str, Any]:
    created = await call(
        http, "POST", "/v1/subscriptions", key=key, form=form + "&expand[]=latest_invoice"
    )
    assert created.status == 200, created.body
    return dict(created.body)


async def test_a_paid_invoice_is_paid_and_attempted(
    payin_http: ClientSession, payin: PayIn
) -> None:
    key = (await new_merchant(payin_http, payin.admin_token))["secret_key"]
    price = await _monthly_price(payin_http, key)
    customer, method = await _customer_with_card(payin_http, key, cards.CARD_SUCCEEDS)
    form = f"customer={customer}&items[0][price]={price}&default_payment_method={method}"

    subscription = await _subscribe(payin_http, key, form)

    invoice = subscription["latest_invoice"]
    assert (invoice["status"], invoice["paid"], invoice["attempted"]) == ("paid", True, True)


async def test_a_declined_invoice_is_attempted_and_not_paid(
    payin_http: ClientSession, payin: PayIn
) -> None:
    key = (await new_merchant(payin_http, payin.admin_token))["secret_key"]
    price = await _monthly_price(payin_http, key)
    customer, method = await _customer_with_card(payin_http, key, cards.CARD_DECLINED)
    form = f"customer={customer}&items[0][price]={price}&default_payment_method={method}"

    subscription = await _subscribe(payin_http, key, form)

    invoice = subscription["latest_invoice"]
    assert subscription["status"] == "incomplete"
    assert (invoice["status"], invoice["paid"], invoice["attempted"]) == ("open", False, True)


async def test_a_trials_zero_invoice_is_paid_and_the_preview_has_no_ids(
    payin_http: ClientSession, payin: PayIn
) -> None:
    key = (await new_merchant(payin_http, payin.admin_token))["secret_key"]
    price = await _monthly_price(payin_http, key)
    customer, method = await _customer_with_card(payin_http, key, cards.CARD_SUCCEEDS)
    form = (
        f"customer={customer}&items[0][price]={price}&default_payment_method={method}"
        "&trial_period_days=7"
    )

    subscription = await _subscribe(payin_http, key, form)
    preview = await call(
        payin_http,
        "POST",
        "/v1/invoices/create_preview",
        key=key,
        form=f"subscription={subscription['id']}",
    )

    trial = subscription["latest_invoice"]
    assert (trial["amount_due"], trial["paid"], trial["status"]) == (0, True, "paid")
    assert preview.status == 200, preview.body
    assert (preview.body["id"], preview.body["number"], preview.body["paid"]) == (
        None,
        None,
        False,
    )
    assert preview.body["attempted"] is False
    assert [line["id"] for line in preview.body["lines"]["data"]] == [None]
    assert preview.body["lines"]["data"][0]["amount"] == 1500


async def test_only_a_draft_or_open_invoice_advances_automatically(
    payin_http: ClientSession, payin: PayIn
) -> None:
    """Stripe's auto_advance: "invoices that are paid, void, or uncollectible always have
    automatic advancement turned off"."""
    key = (await new_merchant(payin_http, payin.admin_token))["secret_key"]
    price = await _monthly_price(payin_http, key)
    paying, good = await _customer_with_card(payin_http, key, cards.CARD_SUCCEEDS)
    declining, bad = await _customer_with_card(payin_http, key, cards.CARD_DECLINED)

    paid = (
        await _subscribe(
            payin_http,
            key,
            f"customer={paying}&items[0][price]={price}&default_payment_method={good}",
        )
    )["latest_invoice"]
    declined = (
        await _subscribe(
            payin_http,
            key,
            f"customer={declining}&items[0][price]={price}&default_payment_method={bad}",
        )
    )["latest_invoice"]
    voided = await call(payin_http, "POST", f"/v1/invoices/{declined['id']}/void", key=key)

    assert (paid["status"], paid["auto_advance"]) == ("paid", False)
    assert (declined["status"], declined["auto_advance"]) == ("open", True)
    assert voided.status == 200, voided.body
    assert (voided.body["status"], voided.body["auto_advance"]) == ("void", False)
