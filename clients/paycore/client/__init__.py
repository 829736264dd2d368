"""The typed paycore client: one channel, the API key on every call, a stub per service, a
default deadline, retries of UNAVAILABLE made safe by idempotency keys, keepalive, TLS.

async with connect("127.0.0.1:50051", api_key="sk_test_...") as paycore:
    merchant = await paycore.accounts.GetMerchant(GetMerchantRequest(id="acct_..."))
    seller = await paycore.accounts.CreateSellerAccount(
        request, metadata=idempotency_key("order-1234-seller")
    )
"""

from paycore.client.connection import (
    DEFAULT_TIMEOUT_SECONDS,
    Paycore,
    connect,
    idempotency_key,
)
from paycore.client.tls import Tls

__all__ = ["DEFAULT_TIMEOUT_SECONDS", "Paycore", "Tls", "connect", "idempotency_key"]
