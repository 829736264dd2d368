"""Stripe's Radar value list routes over HTTP with the merchant's secret key, form bodies as
the SDKs send them: `/v1/radar/value_lists` (create, read, update, list, delete) and
`/v1/radar/value_list_items` (create, read, list, delete); a default list (`rsl_block_email`)
takes items but is neither changed nor deleted. tests/clients/test_stripe_value_lists.py
drives the same routes with stripe-python and checks what the lists block."""

from __future__ import annotations

from aiohttp import ClientSession

from tests.edge.helpers import call, new_merchant


async def test_value_lists_and_their_items_over_http(
    http: ClientSession, settings_admin_token: str
) -> None:
    secret = (await new_merchant(http, settings_admin_token))["secret_key"]
    created = await call(
        http,
        "POST",
        "/v1/radar/value_lists",
        key=secret,
        form="alias=risky_ips&name=Risky+IPs&item_type=ip_address&metadata[source]=soc",
    )
    assert created.status == 200, created.body
    list_id = created.body["id"]
    assert created.body["object"] == "radar.value_list"
    assert (created.body["item_type"], created.body["metadata"]) == (
        "ip_address",
        {"source": "soc"},
    )
    read = await call(http, "GET", f"/v1/radar/value_lists/{list_id}", key=secret)
    assert read.body == created.body
    updated = await call(
        http, "POST", f"/v1/radar/value_lists/{list_id}", key=secret, form="alias=risky_addresses"
    )
    assert updated.status == 200 and updated.body["alias"] == "risky_addresses", updated.body
    listed = await call(http, "GET", "/v1/radar/value_lists?alias=risky_addresses", key=secret)
    assert [found["id"] for found in listed.body["data"]] == [list_id]

    item = await call(
        http,
        "POST",
        "/v1/radar/value_list_items",
        key=secret,
        form=f"value_list={list_id}&value=203.0.113.9",
    )
    assert item.status == 200 and item.body["object"] == "radar.value_list_item", item.body
    got = await call(http, "GET", f"/v1/radar/value_list_items/{item.body['id']}", key=secret)
    assert got.body == item.body
    items = await call(http, "GET", f"/v1/radar/value_list_items?value_list={list_id}", key=secret)
    assert [found["id"] for found in items.body["data"]] == [item.body["id"]]
    bad = await call(
        http,
        "POST",
        "/v1/radar/value_list_items",
        key=secret,
        form=f"value_list={list_id}&value=not-an-address",
    )
    assert bad.status == 400 and bad.error["param"] == "value", bad.body
    missing = await call(http, "GET", "/v1/radar/value_list_items", key=secret)
    assert missing.status == 400 and missing.error["param"] == "value_list", missing.body

    default = await call(
        http,
        "POST",
        "/v1/radar/value_list_items",
        key=secret,
        form="value_list=rsl_block_email&value=eve@example.com",
    )
    assert default.body["value_list"] == "rsl_block_email", default.body
    kept = await call(
        http, "POST", "/v1/radar/value_lists/rsl_block_email", key=secret, form="name=x"
    )
    assert kept.status == 400 and kept.error["param"] == "id", kept.body

    removed = await call(
        http, "DELETE", f"/v1/radar/value_list_items/{item.body['id']}", key=secret
    )
    assert removed.body == {
        "id": item.body["id"],
        "object": "radar.value_list_item",
        "deleted": True,
    }
    deleted = await call(http, "DELETE", f"/v1/radar/value_lists/{list_id}", key=secret)
    assert deleted.body == {"id": list_id, "object": "radar.value_list", "deleted": True}
    gone = await call(http, "GET", f"/v1/radar/value_lists/{list_id}", key=secret)
    assert gone.status == 404 and gone.error["param"] == "id", gone.body
