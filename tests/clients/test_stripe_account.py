"""stripe-python's read of the caller's own account (`Account.retrieve()` without an id, the
client's `accounts.retrieve_current()`: Stripe's GET /v1/account), against the edge."""

from __future__ import annotations

from tests.clients.conftest import EdgeMerchant
from tests.clients.test_stripe_python import client, in_thread


async def test_the_callers_own_account_is_retrieved_without_an_id(
    edge_merchant: EdgeMerchant,
) -> None:
    def scenario() -> None:
        own = client(edge_merchant).v1.accounts.retrieve_current()
        assert (own.id, own.object) == (edge_merchant.merchant_id, "account")

    await in_thread(scenario)
