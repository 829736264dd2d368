"""A wallet token's card over HTTP, as a merchant's page would send it: Stripe-style form
fields, the wallet shown on the payment method, a payment, and a bad cryptogram declined."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import aiohttp
from aiohttp import ClientSession

from tests.edge.helpers import call, new_merchant
from tests.payout.support import World


async def _token(world: World, scenario: str) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{world.psp.url}/v1/wallet_tokens", json={"type": "apple_pay", "scenario": scenario}
        ) as response,
    ):
        token: dict[str, Any] = await response.json()
        return token


async def test_a_wallet_token_pays_over_http_and_a_bad_cryptogram_is_declined(
    world: World, world_http: ClientSession
) -> None:
    http = world_http
    key = (await new_merchant(http, world.admin_token))["secret_key"]
    statuses = []
    for scenario in ("succeeds", "bad_cryptogram"):
        token = await _token(world, scenario)
        method = await call(
            http,
            "POST",
            "/v1/payment_methods",
            key=key,
            form=f"type=card&card[number]={token['number']}&card[exp_month]={token['exp_month']}"
            f"&card[exp_year]={token['exp_year']}&card[wallet][type]=apple_pay"
            f"&card[wallet][cryptogram]={quote(token['cryptogram'], safe='')}",
        )
        assert method.status == 200, method.body
        assert method.body["card"]["wallet"] == {
            "type": "apple_pay",
            "dynamic_last4": token["last4"],
        }
        assert token["cryptogram"] not in str(method.body)
        intent = await call(
            http,
            "POST",
            "/v1/payment_intents",
            key=key,
            form=f"amount=1500&currency=usd&confirm=true&payment_method={method.body['id']}",
        )
        outcome = intent.body.get("error", intent.body)
        statuses.append((intent.status, outcome.get("status"), outcome.get("decline_code")))

    assert statuses == [(200, "succeeded", None), (402, None, "invalid_cryptogram")]
