"""`GET /v1/test_helpers/test_clocks` and `DELETE /v1/test_helpers/test_clocks/{id}` (the
Stripe SDKs' `TestClock.list` and `TestClock.delete`) over the REST edge."""

from __future__ import annotations

import secrets

from aiohttp import ClientSession

from tests.edge.helpers import call, new_merchant

CLOCKS = "/v1/test_helpers/test_clocks"


async def test_test_clocks_listed_and_deleted_over_http(
    http: ClientSession, settings_admin_token: str
) -> None:
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    kept = (await call(http, "POST", CLOCKS, key=key, form="frozen_time=1767225600")).body
    gone = (await call(http, "POST", CLOCKS, key=key, form="frozen_time=1767225600")).body
    listed = await call(http, "GET", f"{CLOCKS}?limit=1", key=key)
    assert listed.status == 200, listed.body
    assert listed.body["object"] == "list" and listed.body["url"] == CLOCKS
    assert [clock["id"] for clock in listed.body["data"]] == [gone["id"]]
    assert listed.body["has_more"] is True
    assert listed.body["data"][0]["object"] == "test_helpers.test_clock"

    idempotency = {"Idempotency-Key": f"clock-{secrets.token_hex(4)}"}
    deleted = await call(http, "DELETE", f"{CLOCKS}/{gone['id']}", key=key, headers=idempotency)
    assert deleted.status == 200, deleted.body
    assert deleted.body == {"id": gone["id"], "object": "test_helpers.test_clock", "deleted": True}
    replayed = await call(http, "DELETE", f"{CLOCKS}/{gone['id']}", key=key, headers=idempotency)
    assert (replayed.status, replayed.body) == (200, deleted.body)
    after = await call(http, "GET", CLOCKS, key=key)
    assert [clock["id"] for clock in after.body["data"]] == [kept["id"]]
    read = await call(http, "GET", f"{CLOCKS}/{gone['id']}", key=key)
    assert (read.status, read.error["code"]) == (404, "resource_missing")

    await call(
        http, "POST", f"{CLOCKS}/{kept['id']}/advance", key=key, form="frozen_time=1769904000"
    )
    # Deleted while it advances, as Stripe allows (tests/subscription/test_clock_deletion.py).
    advancing = await call(http, "DELETE", f"{CLOCKS}/{kept['id']}", key=key)
    assert (advancing.status, advancing.body) == (
        200,
        {"id": kept["id"], "object": "test_helpers.test_clock", "deleted": True},
    )
