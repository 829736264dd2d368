"""Fee plans over the REST edge: the merchant reads its plan, an operator changes it."""

from __future__ import annotations

from aiohttp import ClientSession

from tests.edge.helpers import call, new_merchant


async def test_fee_plans_read_and_changed_over_http(
    http: ClientSession, settings_admin_token: str
) -> None:
    merchant = await new_merchant(http, settings_admin_token)
    path = f"/v1/merchants/{merchant['id']}/fee_plan"

    read = await call(http, "GET", path, key=merchant["secret_key"])
    assert read.status == 200, read.body
    assert read.body["percent_basis_points"] == 290 and read.body["default"] is True

    refused = await call(http, "POST", path, key=merchant["secret_key"], form="fixed_amount=0")
    assert refused.status == 403, refused.body
    changed = await call(
        http,
        "POST",
        path,
        key=settings_admin_token,
        form="percent_basis_points=200&fixed_amount=25",
    )
    assert changed.status == 200, changed.body
    assert changed.body == {
        "merchant": merchant["id"],
        "percent_basis_points": 200,
        "fixed_amount": 25,
        "default": False,
    }
    bad = await call(http, "POST", path, key=settings_admin_token, json_body={"fixed_amount": -1})
    assert bad.status == 400 and bad.body["error"]["param"] == "fixed_amount"
