"""The typed paycore client: one channel, the API key on every call, a stub per service.

async with connect("127.0.0.1:50051", api_key="sk_test_...") as paycore:
    merchant = await paycore.accounts.GetMerchant(GetMerchantRequest(id="acct_..."))
    seller = await paycore.accounts.CreateSellerAccount(
        request, metadata=idempotency_key("order-1234-seller")
    )
"""

from paycore.client.connection import Paycore, connect, idempotency_key

__all__ = ["Paycore", "connect", "idempotency_key"]
