"""Who the bench calls as: a merchant's API key, or a merchant it creates with the admin token."""

from __future__ import annotations

from dataclasses import dataclass

from grpc import aio
from paycore.client import connect
from paycore.errors import ConfigurationError
from paycore.secret import Secret
from paycore.tools.bench.scenario import Scenario
from paycore.v1 import account_pb2

BENCH_MERCHANT = account_pb2.CreateMerchantRequest(
    name="paycore bench", email="bench@paycore.invalid", country="US", default_currency="usd"
)


@dataclass(frozen=True)
class Credentials:
    api_key: Secret
    merchant_id: str


NO_CREDENTIALS = Credentials(Secret(""), "")


async def credentials_for(
    scenario: Scenario,
    target: str,
    *,
    api_key: str,
    merchant_id: str,
    admin_token: str,
    timeout_seconds: float,
) -> Credentials:
    """The given key (and its merchant), else a new merchant's secret key when the admin token
    is given; scenarios that need no merchant need neither."""
    if not scenario.needs_merchant:
        return NO_CREDENTIALS
    if api_key:
        if not merchant_id:
            raise ConfigurationError(
                "--api-key needs --merchant (PAYCORE_BENCH_MERCHANT_ID): the key's merchant"
            )
        return Credentials(Secret(api_key), merchant_id)
    if not admin_token:
        raise ConfigurationError(
            f"paycore bench {scenario.name} needs --api-key and --merchant"
            " (PAYCORE_BENCH_API_KEY, PAYCORE_BENCH_MERCHANT_ID),"
            " or --admin-token (PAYCORE_ADMIN_TOKEN) to create a merchant of its own"
        )
    async with connect(target, admin_token) as admin:
        try:
            merchant = await admin.accounts.CreateMerchant(BENCH_MERCHANT, timeout=timeout_seconds)
        except aio.AioRpcError as error:
            raise ConfigurationError(
                f"creating the bench's merchant on {target} failed:"
                f" {error.code().name} {error.details()}"
            ) from None
    return Credentials(Secret(merchant.secret_key), merchant.id)
