"""`paycore bench accounts`: GetMerchant, the request path's baseline (authentication with the
key cache, routing to the merchant's shard, rate limit, one primary-key read)."""

from __future__ import annotations

from paycore.tools.bench.scenario import Call, Scenario, Session
from paycore.v1 import account_pb2


async def prepare(session: Session) -> Call:
    request = account_pb2.GetMerchantRequest(id=session.merchant_id)
    get_merchant = session.client.accounts.GetMerchant

    async def call(sequence: int) -> object:
        return await get_merchant(
            request, metadata=session.metadata, timeout=session.timeout_seconds
        )

    return call


SCENARIO = Scenario(
    name="accounts",
    summary="AccountService.GetMerchant: auth + routing + a read",
    method="/paycore.v1.AccountService/GetMerchant",
    needs_merchant=True,
    prepare=prepare,
)
