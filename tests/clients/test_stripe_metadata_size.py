"""A merchant's server creating a card with the metadata Stripe allows (here 40 keys of 450
characters, 18 KB) was refused 413 `request_too_large`: card tokenization is a publishable-key
method, and its 16 KiB limit (a browser's card form needs no more, and the public key may not
make the server parse more) applied to the secret key too, which takes 1 MiB everywhere else
(a customer with the same metadata is made). The small limit is the publishable key's."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import stripe

from tests.clients.conftest import EdgeMerchant

METADATA = {f"k{i}": "v" * 450 for i in range(40)}
PARAMS: Any = {
    "type": "card",
    "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034},
    "metadata": METADATA,
}


def _sdk(merchant: EdgeMerchant, key: str) -> stripe.StripeClient:
    return stripe.StripeClient(key, base_addresses={"api": merchant.url}, max_network_retries=0)


async def test_the_secret_key_tokenizes_a_card_with_stripes_metadata(
    edge_merchant: EdgeMerchant,
) -> None:
    secret = _sdk(edge_merchant, edge_merchant.secret_key)
    card = await asyncio.to_thread(
        secret.v1.payment_methods.create,
        params=PARAMS,
    )
    assert card.metadata is not None and card.metadata.to_dict() == METADATA
    public = _sdk(edge_merchant, edge_merchant.publishable_key)
    with pytest.raises(stripe.APIError) as refused:  # stripe-python's class for a 413
        await asyncio.to_thread(
            public.v1.payment_methods.create,
            params=PARAMS,
        )
    assert refused.value.error is not None
    assert (refused.value.http_status, refused.value.error.code) == (413, "request_too_large")
