"""A rolled key past its overlap, as Stripe answers it: 401 `api_key_expired` (stripe-python's
AuthenticationError with that code), so a merchant that rolled a leaked key and forgot one
deployment learns why its calls fail. paycore answered `api_key_invalid`, as for a key that
never existed. A revoked key stays `api_key_invalid`."""

from __future__ import annotations

import asyncio

import pytest
import stripe
from aiohttp import ClientSession

from tests.clients.conftest import EdgeMerchant


def _failure(url: str, key: str) -> stripe.AuthenticationError:
    sdk = stripe.StripeClient(key, base_addresses={"api": url}, max_network_retries=0)
    with pytest.raises(stripe.AuthenticationError) as refused:
        sdk.v1.customers.list()
    return refused.value


async def test_a_rolled_key_past_its_overlap_is_expired(edge_merchant: EdgeMerchant) -> None:
    bearer = {"Authorization": f"Bearer {edge_merchant.secret_key}"}
    async with ClientSession(base_url=edge_merchant.url, headers=bearer) as http:
        async with http.post(
            "/v1/api_keys", data={"name": "reports", "scopes[]": "customers:read"}
        ) as created:
            key = await created.json()
        async with http.post(
            f"/v1/api_keys/{key['id']}/roll", data={"expires_in_seconds": "0"}
        ) as rolled:
            replacement = await rolled.json()
        expired = await asyncio.to_thread(_failure, edge_merchant.url, key["secret"])
        assert expired.error is not None  # the error object: the SDK sets no .code on a 401
        assert (expired.http_status, expired.error.code) == (401, "api_key_expired")
        sdk = stripe.StripeClient(replacement["secret"], base_addresses={"api": edge_merchant.url})
        listed = await asyncio.to_thread(sdk.v1.customers.list)
        assert listed.data is not None  # the replacement key reads
        async with http.post(f"/v1/api_keys/{replacement['id']}/revoke") as revoked:
            assert revoked.status == 200
    invalid = await asyncio.to_thread(_failure, edge_merchant.url, replacement["secret"])
    assert invalid.error is not None
    assert (invalid.http_status, invalid.error.code) == (401, "api_key_invalid")
