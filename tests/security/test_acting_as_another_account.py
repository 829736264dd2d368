"""Stripe's SDKs name the account a call acts for in a header (`stripe_account`:
Stripe-Account; `stripe_context`: Stripe-Context). paycore has no connected accounts: a call
that names one must be refused, never answered for the caller's own account as if it were the
one named (a platform reading "the seller's balance" would get its own)."""

from __future__ import annotations

import asyncio

import pytest
import stripe
from paycore.client import connect
from paycore.edge import start_edge
from paycore.v1 import account_pb2

from tests.security.conftest import OpenServer


@pytest.mark.parametrize(
    ("option", "header"),
    [("stripe_account", "Stripe-Account"), ("stripe_context", "Stripe-Context")],
)
async def test_a_call_naming_another_account_is_refused(
    open_server: OpenServer, option: str, header: str
) -> None:
    async with connect(open_server.target, open_server.settings.admin_token) as admin:
        platform, seller = [
            await admin.accounts.CreateMerchant(
                account_pb2.CreateMerchantRequest(
                    name=name, email=f"{name}@acting.test", country="US", default_currency="usd"
                )
            )
            for name in ("platform", "seller")
        ]
    edge = await start_edge(open_server.target, "127.0.0.1:0")
    try:
        client = stripe.StripeClient(
            platform.secret_key,
            base_addresses={"api": f"http://127.0.0.1:{edge.port}"},
            max_network_retries=0,
        )
        options: dict[str, str] = {option: seller.id}
        with pytest.raises(stripe.InvalidRequestError) as refused:
            await asyncio.to_thread(client.v1.balance.retrieve, options=options)  # type: ignore[arg-type]
        assert refused.value.http_status == 400
        assert (refused.value.code, refused.value.param) == ("header_unsupported", header)
    finally:
        await edge.close()
