"""The typed paycore client: one channel, the API key on every call, a stub per service, a
default deadline, retries of UNAVAILABLE made safe by idempotency keys, keepalive, TLS.

async with connect("127.0.0.1:50051", api_key="sk_test_...") as paycore:
    merchant = await paycore.accounts.GetMerchant(GetMerchantRequest(id="acct_..."))
    seller = await paycore.accounts.CreateSellerAccount(
        request, metadata=idempotency_key("order-1234-seller")
    )

A stub's call object also tells whether its answer was an idempotent replay:
    call = paycore.accounts.CreateSellerAccount(request, metadata=idempotency_key("k"))
    seller = await call
    was_replay = await replayed(call)

A caught error's rich details (reason, param, request id, retry delay), decoded:
    except grpc.aio.AioRpcError as error:
        details = error_details(error)
"""

from paycore.client.connection import (
    DEFAULT_TIMEOUT_SECONDS,
    REPLAYED,
    Paycore,
    connect,
    idempotency_key,
    replayed,
)
from paycore.client.errors import ErrorDetails, error_details
from paycore.client.tls import Tls

__all__ = [
    "DEFAULT_TIMEOUT_SECONDS",
    "REPLAYED",
    "ErrorDetails",
    "Paycore",
    "Tls",
    "connect",
    "error_details",
    "idempotency_key",
    "replayed",
]
