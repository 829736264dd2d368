"""AccountService over the REST edge, end to end: the edge, the gRPC server, PostgreSQL, Redis."""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
from collections.abc import AsyncIterator

import pytest_asyncio
from aiohttp import ClientSession
from paycore.config import Settings
from paycore.edge import start_edge

from tests.edge.helpers import MERCHANT, call, new_merchant
from tests.helpers import serving
from tests.payout.support import World


async def test_admin_creates_a_merchant_which_reads_itself(
    http: ClientSession, settings_admin_token: str
) -> None:
    created = await call(
        http,
        "POST",
        "/v1/merchants",
        key=settings_admin_token,
        json_body={**MERCHANT, "metadata": {"team": "payments"}},
    )
    assert created.status == 200, created.body
    merchant = created.body
    assert merchant["id"].startswith("acct_")
    assert merchant["secret_key"].startswith("sk_test_")
    assert merchant["metadata"] == {"team": "payments"}
    assert merchant["livemode"] is False  # every field is present, as Stripe renders objects
    assert merchant["object"] == "account"
    # int64 is a JSON number, as Stripe writes timestamps and amounts (proto3 JSON said a string)
    assert isinstance(merchant["created"], int) and merchant["created"] > 1_700_000_000
    assert created.headers["Request-Id"].startswith("req_")

    read = await call(http, "GET", f"/v1/merchants/{merchant['id']}", key=merchant["secret_key"])
    assert read.status == 200, read.body
    assert read.body["id"] == merchant["id"]
    # The keys are shown once: a read does not issue them, and leaves them out (was "").
    assert merchant["publishable_key"].startswith("pk_test_")
    assert "secret_key" not in read.body and "publishable_key" not in read.body, read.body
    assert read.body["email"] == MERCHANT["email"]
    # Stripe's GET /v1/account (stripe-python's Account.retrieve() without an id): the caller's own.
    own = await call(http, "GET", "/v1/account", key=merchant["secret_key"])
    assert (own.status, own.body) == (200, read.body), own.body
    headers = {"Idempotency-Key": f"merchant-{secrets.token_hex(4)}"}
    first = await call(
        http, "POST", "/v1/merchants", key=settings_admin_token, headers=headers, json_body=MERCHANT
    )
    replay = await call(
        http, "POST", "/v1/merchants", key=settings_admin_token, headers=headers, json_body=MERCHANT
    )
    assert first.body["secret_key"].startswith("sk_test_")
    assert replay.status == 200 and replay.body["id"] == first.body["id"], replay.body
    assert "secret_key" not in replay.body  # the replay is the stored form: never the key


async def test_seller_accounts_from_json_and_form_bodies_and_their_pages(
    http: ClientSession, settings_admin_token: str
) -> None:
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    from_json = await call(
        http,
        "POST",
        "/v1/accounts",
        key=key,
        json_body={"email": "a@seller.test", "country": "DE", "default_currency": "eur"},
    )
    assert from_json.status == 200, from_json.body
    from_form = await call(
        http,
        "POST",
        "/v1/accounts",
        key=key,
        form="email=b%40seller.test&business_name=B+%26+Co&country=FR&default_currency=eur"
        "&metadata[shop]=42&metadata[tier]=gold",
    )
    assert from_form.status == 200, from_form.body
    assert from_form.body["email"] == "b@seller.test"
    assert from_form.body["business_name"] == "B & Co"
    assert from_form.body["metadata"] == {"shop": "42", "tier": "gold"}
    third = await call(
        http,
        "POST",
        "/v1/accounts",
        key=key,
        json_body={"email": "c@seller.test", "country": "FR", "default_currency": "eur"},
    )
    assert third.status == 200

    first_page = await call(http, "GET", "/v1/accounts?limit=2", key=key)
    assert first_page.status == 200, first_page.body
    assert len(first_page.body["data"]) == 2 and first_page.body["has_more"] is True
    last = first_page.body["data"][-1]["id"]
    second_page = await call(http, "GET", f"/v1/accounts?limit=2&starting_after={last}", key=key)
    assert second_page.status == 200, second_page.body
    assert len(second_page.body["data"]) == 1 and second_page.body["has_more"] is False
    seen = {seller["id"] for seller in first_page.body["data"] + second_page.body["data"]}
    assert seen == {from_json.body["id"], from_form.body["id"], third.body["id"]}


async def test_restricted_keys_take_scopes_in_brackets_and_enums_are_stripe_like(
    http: ClientSession, settings_admin_token: str
) -> None:
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    created = await call(
        http,
        "POST",
        "/v1/api_keys",
        key=key,
        form="name=reader&scopes[]=accounts:read&scopes[]=api_keys:read",
    )
    assert created.status == 200, created.body
    assert created.body["scopes"] == ["accounts:read", "api_keys:read"]
    assert created.body["type"] == "restricted"
    restricted = created.body["secret"]

    listed = await call(http, "GET", "/v1/api_keys?type=restricted", key=restricted)
    assert listed.status == 200, listed.body
    assert [item["type"] for item in listed.body["data"]] == ["restricted"]
    assert "secret" not in listed.body["data"][0]  # shown once, by the create
    denied = await call(
        http, "POST", "/v1/accounts", key=restricted, json_body={"email": "x@y.test"}
    )
    assert denied.status == 403, denied.body
    assert denied.error["type"] == "permission_error"
    unknown_enum = await call(http, "GET", "/v1/api_keys?type=API_KEY_TYPE_SECRET", key=key)
    assert unknown_enum.status == 400
    assert unknown_enum.error["param"] == "type"
    assert "restricted" in unknown_enum.error["message"]


async def test_an_idempotency_key_replays_the_same_body_and_refuses_another(
    http: ClientSession, settings_admin_token: str
) -> None:
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    headers = {"Idempotency-Key": f"seller-{secrets.token_hex(4)}"}
    body = {"email": "once@seller.test", "country": "US", "default_currency": "usd"}
    first = await call(http, "POST", "/v1/accounts", key=key, headers=headers, json_body=body)
    replay = await call(http, "POST", "/v1/accounts", key=key, headers=headers, json_body=body)
    assert first.status == replay.status == 200, (first.body, replay.body)
    assert replay.body == first.body
    other = await call(
        http, "POST", "/v1/accounts", key=key, headers=headers, json_body={**body, "country": "CA"}
    )
    assert other.status == 400, other.body
    assert other.error["type"] == "idempotency_error"
    assert other.error["code"] == "idempotency_key_reused"


async def test_authentication_and_missing_objects_map_to_401_and_404(
    http: ClientSession, settings_admin_token: str
) -> None:
    merchant = await new_merchant(http, settings_admin_token)
    path = f"/v1/merchants/{merchant['id']}"
    anonymous = await call(http, "GET", path)
    assert anonymous.status == 401
    assert anonymous.error["type"] == "authentication_error"
    assert anonymous.error["code"] == "api_key_missing"
    wrong = await call(http, "GET", path, key=merchant["secret_key"][:-2] + "xx")
    assert (wrong.status, wrong.error["code"]) == (401, "api_key_invalid")
    malformed = await call(http, "GET", path, key="sk_test_nope")
    # Every refused key names the header it came in, as a missing one does.
    for refused in (wrong, malformed):
        assert (refused.status, refused.error["param"]) == (401, "authorization"), refused.body
    not_admin = await call(
        http, "POST", "/v1/merchants", key=merchant["secret_key"], json_body=MERCHANT
    )
    assert (not_admin.status, not_admin.error["type"]) == (403, "permission_error")
    missing = await call(http, "GET", "/v1/merchants/acct_" + "1" * 22, key=merchant["secret_key"])
    assert missing.status == 404, missing.body
    assert missing.error == {
        "type": "invalid_request_error",
        "code": "resource_missing",
        "message": missing.error["message"],
        "param": "id",
    }
    assert missing.headers["Request-Id"].startswith("req_")
    absent = await call(
        http, "POST", "/v1/accounts", key=merchant["secret_key"], json_body={"country": "DE"}
    )
    assert absent.status == 400
    assert absent.error["code"] == "parameter_missing"
    assert absent.error["param"] == "default_currency"


async def test_curl_basic_auth_with_the_key_as_user_is_the_same_as_bearer(
    http: ClientSession, settings_admin_token: str
) -> None:
    merchant = await new_merchant(http, settings_admin_token)
    path = f"/v1/merchants/{merchant['id']}"

    def basic(user: str) -> dict[str, str]:  # curl -u USER: sends this
        return {"Authorization": "Basic " + base64.b64encode(f"{user}:".encode()).decode()}

    answered = await call(http, "GET", path, headers=basic(merchant["secret_key"]))
    assert (answered.status, answered.body["id"]) == (200, merchant["id"]), answered.body
    wrong = await call(http, "GET", path, headers=basic(merchant["secret_key"][:-2] + "xx"))
    assert (wrong.status, wrong.error["code"]) == (401, "api_key_invalid")
    garbled = await call(http, "GET", path, headers={"Authorization": "Basic %%%"})
    assert (garbled.status, garbled.error["type"]) == (401, "authentication_error")


async def test_an_operator_acts_for_a_merchant_with_paycore_merchant(
    http: ClientSession, settings_admin_token: str
) -> None:
    merchant = await new_merchant(http, settings_admin_token)
    acting = await call(
        http,
        "GET",
        "/v1/accounts",
        key=settings_admin_token,
        headers={"Paycore-Merchant": merchant["id"]},
    )
    assert acting.status == 200, acting.body
    assert acting.body == {"object": "list", "data": [], "has_more": False, "url": "/v1/accounts"}


@pytest_asyncio.fixture
async def limited_edge(migrated: Settings) -> AsyncIterator[str]:
    limited = migrated.with_overrides(
        rate_limits_per_second={"payments": 100, "subscriptions": 10, "other": 3},
        redis_key_prefix=f"{migrated.redis_key_prefix}{os.urandom(4).hex()}:",
    )
    async with serving(limited) as target:
        edge = await start_edge(target, "127.0.0.1:0", operator_routes=True)
        yield f"http://127.0.0.1:{edge.port}"
        await edge.close()


async def test_rate_limited_requests_answer_429_with_retry_after(
    limited_edge: str, settings_admin_token: str
) -> None:
    async with ClientSession(base_url=limited_edge) as http:
        merchant = await new_merchant(http, settings_admin_token)
        path = f"/v1/merchants/{merchant['id']}"
        answers = [await call(http, "GET", path, key=merchant["secret_key"]) for _ in range(4)]
    assert [answer.status for answer in answers] == [200, 200, 200, 429]
    limited = answers[-1]
    assert limited.error["type"] == "rate_limit_error"
    assert limited.error["code"] == "rate_limited"
    assert limited.headers["Retry-After"] == "1"  # 1..334 ms, rounded up to whole seconds


async def test_a_seller_account_reads_back_and_a_revoked_key_stops_working(
    http: ClientSession, settings_admin_token: str
) -> None:
    merchant = await new_merchant(http, settings_admin_token)
    key = merchant["secret_key"]
    seller = await call(
        http,
        "POST",
        "/v1/accounts",
        key=key,
        json_body={"email": "s@seller.test", "country": "US", "default_currency": "usd"},
    )
    assert seller.status == 200, seller.body
    read = await call(http, "GET", f"/v1/accounts/{seller.body['id']}", key=key)
    assert (read.status, read.body) == (200, seller.body)
    other = await new_merchant(http, settings_admin_token, name="Globex")
    hidden = await call(http, "GET", f"/v1/accounts/{seller.body['id']}", key=other["secret_key"])
    assert (hidden.status, hidden.error["code"]) == (404, "resource_missing")

    created = await call(
        http, "POST", "/v1/api_keys", key=key, form="name=temp&scopes[]=accounts:read"
    )
    assert created.status == 200, created.body
    temporary = created.body["secret"]
    assert (await call(http, "GET", "/v1/accounts", key=temporary)).status == 200
    revoked = await call(http, "POST", f"/v1/api_keys/{created.body['id']}/revoke", key=key)
    assert revoked.status == 200, revoked.body
    assert revoked.body["id"] == created.body["id"] and revoked.body["revoked"] != "0"
    # The key dies at once on the process that revoked it (others trust it for the cache TTL).
    refused = await call(http, "GET", "/v1/accounts", key=temporary)
    assert (refused.status, refused.error["type"]) == (401, "authentication_error")
    unknown = await call(http, "POST", "/v1/api_keys/key_" + "1" * 22 + "/revoke", key=key)
    assert unknown.status == 404, unknown.body
    body_given = await call(
        http, "POST", f"/v1/api_keys/{created.body['id']}/revoke", key=key, json_body={"id": "x"}
    )
    assert (body_given.status, body_given.error["param"]) == (400, "id")


async def test_a_rolled_key_is_reissued_and_the_old_one_expires(
    http: ClientSession, settings_admin_token: str
) -> None:
    """Issue 23, item 9: POST /v1/api_keys/{id}/roll, Stripe's roll."""
    merchant = await new_merchant(http, settings_admin_token)
    key = merchant["secret_key"]
    created = await call(
        http, "POST", "/v1/api_keys", key=key, form="name=ci&scopes[]=accounts:read"
    )
    assert created.status == 200, created.body
    rolled = await call(
        http,
        "POST",
        f"/v1/api_keys/{created.body['id']}/roll",
        key=key,
        form="expires_in_seconds=0",
    )
    assert rolled.status == 200, rolled.body
    assert rolled.body["id"] != created.body["id"] and rolled.body["secret"].startswith("rk_")
    assert rolled.body["scopes"] == ["accounts:read"] and rolled.body["name"] == "ci"
    assert (await call(http, "GET", "/v1/accounts", key=rolled.body["secret"])).status == 200
    old = await call(http, "GET", "/v1/accounts", key=created.body["secret"])
    assert (old.status, old.error["type"]) == (401, "authentication_error")
    too_long = await call(
        http,
        "POST",
        f"/v1/api_keys/{rolled.body['id']}/roll",
        key=key,
        form="expires_in_seconds=604801",
    )
    assert (too_long.status, too_long.error["param"]) == (400, "expires_in_seconds")


async def test_concurrent_rolls_of_one_key_give_one_replacement(
    http: ClientSession, settings_admin_token: str
) -> None:
    """The probe: six POST /v1/api_keys/{id}/roll of one key at once, without an
    Idempotency-Key, gave six live replacements. One is issued; the others, and a later roll
    of the same key, answer 400 `api_key_rolled` naming `id` and the replacement."""
    merchant = await new_merchant(http, settings_admin_token)
    key = merchant["secret_key"]
    created = await call(
        http, "POST", "/v1/api_keys", key=key, form="name=ci&scopes[]=accounts:read"
    )
    path = f"/v1/api_keys/{created.body['id']}/roll"
    answers = await asyncio.gather(
        *(call(http, "POST", path, key=key, form="expires_in_seconds=3600") for _ in range(6))
    )
    issued = [answer.body for answer in answers if answer.status == 200]
    assert len(issued) == 1, [answer.body for answer in answers]
    successor = issued[0]["id"]
    later = await call(http, "POST", path, key=key, form="expires_in_seconds=0")
    for refused in [answer for answer in answers if answer.status != 200] + [later]:
        assert (refused.status, refused.error["code"], refused.error["param"]) == (
            400,
            "api_key_rolled",
            "id",
        ), refused.body
        assert f"replaced by {successor}" in refused.error["message"]
    listed = await call(http, "GET", "/v1/api_keys?type=restricted", key=key)
    data = listed.body["data"]
    lasting = [k["id"] for k in data if k["revoked"] is None and k["expires"] is None]
    assert lasting == [successor], listed.body


async def test_a_public_edge_has_no_operator_routes(target: str, settings_admin_token: str) -> None:
    """Issue 23, item 7: without PAYCORE_EDGE_OPERATOR_ROUTES the admin and internal methods'
    routes answer 404 as unknown URLs, whatever the credential."""
    edge = await start_edge(target, "127.0.0.1:0")
    try:
        async with ClientSession(base_url=f"http://127.0.0.1:{edge.port}") as public:
            create = await call(
                public, "POST", "/v1/merchants", key=settings_admin_token, json_body=MERCHANT
            )
            integrity = await call(public, "GET", "/v1/ledger/integrity", key=settings_admin_token)
            openapi = await (await public.get("/openapi.json")).json()
    finally:
        await edge.close()
    assert (create.status, create.error["code"]) == (404, "route_unknown")
    assert integrity.status == 404
    assert "/v1/merchants" not in openapi["paths"]
    assert "/v1/accounts" in openapi["paths"]


async def test_a_public_edge_takes_no_operator_credential(
    http: ClientSession, settings: Settings, target: str
) -> None:
    """docs/security.md: the admin token and the internal credential are the operators', and a
    public edge (no PAYCORE_EDGE_OPERATOR_ROUTES) serves merchants only: before, either acted
    for any merchant on its merchant routes (`Paycore-Merchant`), so the admin token was
    usable, and guessable, from the internet. The edge refuses any credential that is not an
    API key there, 401 naming `authorization`, before calling paycore; the operators' edge takes
    them as before, and the merchant's own key works on both."""
    merchant = await new_merchant(http, settings.admin_token)
    acting = {"Paycore-Merchant": merchant["id"]}
    edge = await start_edge(target, "127.0.0.1:0")
    try:
        async with ClientSession(base_url=f"http://127.0.0.1:{edge.port}") as public:
            refused = [
                await call(public, "GET", "/v1/customers", key=token, headers=acting)
                for token in (settings.admin_token, settings.internal_token, "not-a-key")
            ]
            basic = base64.b64encode(f"{settings.admin_token}:".encode()).decode()
            refused.append(
                await call(
                    public,
                    "GET",
                    "/v1/balance",
                    headers={"Authorization": f"Basic {basic}", **acting},
                )
            )
            login = await public.post(
                "/dashboard/login",
                data={"key": settings.admin_token, "merchant": merchant["id"]},
                headers={"Origin": f"http://127.0.0.1:{edge.port}"},
                allow_redirects=False,
            )
            own = await call(public, "GET", "/v1/customers", key=merchant["secret_key"])
    finally:
        await edge.close()
    for answer in refused:
        assert (answer.status, answer.error["param"]) == (401, "authorization"), answer.body
        assert answer.error["type"] == "authentication_error"
    assert login.status == 401
    assert own.status == 200, own.body
    operators = await call(http, "GET", "/v1/customers", key=settings.admin_token, headers=acting)
    assert operators.status == 200, operators.body


async def test_a_key_naming_another_merchant_in_paycore_merchant_is_refused(
    http: ClientSession, settings_admin_token: str
) -> None:
    """The header is the operators' way to act for a merchant; a key acts for its own only,
    so another merchant named is refused rather than ignored (the call would act on the key's)."""
    merchant = await new_merchant(http, settings_admin_token)
    other = await new_merchant(http, settings_admin_token, name="Globex")
    for key in (merchant["secret_key"], merchant["publishable_key"]):
        for named in (other["id"], "acct_nope"):
            refused = await call(
                http, "GET", "/v1/balance", key=key, headers={"Paycore-Merchant": named}
            )
            assert (refused.status, refused.error["type"]) == (403, "permission_error"), named
            assert refused.error["param"] == "paycore-merchant"
    own = await call(
        http,
        "GET",
        "/v1/balance",
        key=merchant["secret_key"],
        headers={"Paycore-Merchant": merchant["id"]},
    )
    assert own.status == 200, own.body


async def test_a_seller_account_takes_stripes_capabilities(
    world: World, world_http: ClientSession
) -> None:
    """Stripe's Connect guides create a custom account with `capabilities[transfers]
    [requested]=true` (Stripe requires it of custom accounts); paycore answered 400
    parameter_unknown, so a platform written for Stripe could not create its sellers. The
    capabilities requested are taken and shown on the account, each `active` (paycore verifies
    nothing: a seller receives transfers and destination charges at once); a name that is no
    capability's shape is refused naming it."""
    http = world_http
    key = (await new_merchant(http, world.admin_token))["secret_key"]
    created = await call(
        http,
        "POST",
        "/v1/accounts",
        key=key,
        form="type=custom&country=US&email=s@example.com"
        "&capabilities[card_payments][requested]=true"
        "&capabilities[transfers][requested]=true"
        "&capabilities[us_bank_account_ach_payments][requested]=false",
    )
    assert created.status == 200, created.body
    assert created.body["capabilities"] == {"card_payments": "active", "transfers": "active"}
    read = await call(http, "GET", f"/v1/accounts/{created.body['id']}", key=key)
    assert read.body["capabilities"] == created.body["capabilities"]
    plain = await call(http, "POST", "/v1/accounts", key=key, form="country=US")
    assert (plain.status, plain.body["capabilities"]) == (200, {}), plain.body
    bad = await call(
        http,
        "POST",
        "/v1/accounts",
        key=key,
        form="country=US&capabilities[Bad-Name][requested]=true",
    )
    assert (bad.status, bad.error["param"]) == (400, "capabilities[Bad-Name]"), bad.body
