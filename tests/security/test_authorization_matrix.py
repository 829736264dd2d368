"""Issue 23: every RPC called with every kind of credential, checked against the policy the
contract declares (`(paycore.v1.policy)`): exactly the allowed calls get past authorization;
every other answers UNAUTHENTICATED or PERMISSION_DENIED; nothing answers INTERNAL.

The expectations are computed from the protos, so a method added tomorrow is covered the day
it is served. Requests are empty: an allowed call then fails validation (or succeeds), which
is past authorization either way; what is checked is who gets that far.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from typing import Any

import grpc
import pytest_asyncio
from grpc import aio
from paycore import contracts
from paycore.account.keys import issue_key
from paycore.account.models import ApiKeyType
from paycore.client import connect
from paycore.ids import Prefix, logical_shard_of, new_id
from paycore.runtime.policy import Access, MethodPolicy
from paycore.transcoding import message_class
from paycore.v1 import account_pb2, fraud_pb2, payment_pb2

from tests.helpers import RichError, rich_error
from tests.payment.shop import Shop, good_card
from tests.security.conftest import OpenServer

NONE, MALFORMED, UNKNOWN = "none", "malformed", "unknown"
OTHER_SECRET, PUBLISHABLE = "other merchant's secret key", "publishable"
WITH_SCOPE, WITHOUT_SCOPE = "restricted with the scope", "restricted without the scope"
SECRET, ADMIN, INTERNAL = "secret", "admin", "internal"
REVOKED, ROLLED = "revoked restricted key holding every scope", "rolled-away secret key"
KINDS = (
    NONE,
    MALFORMED,
    UNKNOWN,
    REVOKED,
    ROLLED,
    OTHER_SECRET,
    PUBLISHABLE,
    WITH_SCOPE,
    WITHOUT_SCOPE,
    SECRET,
    ADMIN,
    INTERNAL,
)
KEY_MANAGEMENT = "api_keys:write"


def allowed(policy: MethodPolicy, kind: str) -> bool:
    """Who may call a method with `policy`: the contract's words (common.proto's Access)."""
    if policy.access is Access.ADMIN:
        return kind == ADMIN
    if policy.access is Access.INTERNAL:
        return kind in (ADMIN, INTERNAL)
    merchant_kinds = {SECRET, OTHER_SECRET, ADMIN, INTERNAL}
    if policy.scope and policy.scope != KEY_MANAGEMENT:
        merchant_kinds.add(WITH_SCOPE)
    if policy.access is Access.PUBLISHABLE:
        merchant_kinds.add(PUBLISHABLE)
    return kind in merchant_kinds


@dataclass(frozen=True)
class Setup:
    target: str
    served: frozenset[str]
    tokens: dict[str, str]
    """Credential kind -> bearer token (restricted kinds are per scope, in `scoped`)."""
    with_scope: dict[str, str]
    without_scope: dict[str, str]
    merchant_id: str


@pytest_asyncio.fixture(scope="module")
async def setup(open_server: OpenServer) -> Setup:
    target, settings = open_server.target, open_server.settings
    async with connect(target, settings.admin_token) as admin:
        request = account_pb2.CreateMerchantRequest(
            name="Matrix", email="m@matrix.test", country="US", default_currency="usd"
        )
        merchant = await admin.accounts.CreateMerchant(request)
        other = await admin.accounts.CreateMerchant(request)
        rolled = await admin.accounts.CreateMerchant(request)
    scopes = sorted({p.scope for p in contracts.method_policies().values() if p.scope})
    grantable = [scope for scope in scopes if scope != KEY_MANAGEMENT]
    with_scope: dict[str, str] = {}
    without_scope: dict[str, str] = {}
    async with connect(target, merchant.secret_key) as owner:
        for scope in scopes:
            resource = scope.split(":")[0]
            held = [scope] if scope in grantable else grantable
            others = [s for s in grantable if s.split(":")[0] != resource]
            for chosen, into in ((held, with_scope), (others, without_scope)):
                key = await owner.accounts.CreateApiKey(
                    account_pb2.CreateApiKeyRequest(name=scope, scopes=chosen)
                )
                into[scope] = key.secret
        everything = await owner.accounts.CreateApiKey(
            account_pb2.CreateApiKeyRequest(name="revoked", scopes=grantable)
        )
        await owner.accounts.RevokeApiKey(account_pb2.RevokeApiKeyRequest(id=everything.id))
    async with connect(target, rolled.secret_key) as rolling:
        keys = await rolling.accounts.ListApiKeys(
            account_pb2.ListApiKeysRequest(type=account_pb2.API_KEY_TYPE_SECRET)
        )
        await rolling.accounts.RollApiKey(
            account_pb2.RollApiKeyRequest(id=keys.data[0].id, expires_in_seconds=0)
        )
    _, unknown = issue_key(ApiKeyType.SECRET, False, 1)
    tokens = {
        MALFORMED: "not-a-key",
        UNKNOWN: unknown.reveal(),
        REVOKED: everything.secret,
        ROLLED: rolled.secret_key,
        OTHER_SECRET: other.secret_key,
        PUBLISHABLE: merchant.publishable_key,
        SECRET: merchant.secret_key,
        ADMIN: settings.admin_token,
        INTERNAL: settings.internal_token,
    }
    return Setup(target, open_server.served, tokens, with_scope, without_scope, merchant.id)


def _metadata(setup: Setup, kind: str, policy: MethodPolicy) -> tuple[tuple[str, str], ...]:
    if kind == NONE:
        return ()
    if kind == WITH_SCOPE:
        token = setup.with_scope.get(policy.scope, setup.with_scope["accounts:read"])
    elif kind == WITHOUT_SCOPE:
        token = setup.without_scope.get(policy.scope, setup.without_scope["accounts:read"])
    else:
        token = setup.tokens[kind]
    metadata = [("authorization", f"Bearer {token}")]
    if kind in (ADMIN, INTERNAL):
        metadata.append(("paycore-merchant", setup.merchant_id))
    return tuple(metadata)


async def _answer(
    channel: aio.Channel, method: str, metadata: tuple[tuple[str, str], ...]
) -> RichError | None:
    service, name = method.strip("/").split("/")
    descriptor = next(
        file.services_by_name[service.split(".")[-1]]
        for file in contracts.proto_files()
        if service.split(".")[-1] in file.services_by_name
    ).methods_by_name[name]
    call: Any = channel.unary_unary(
        method,
        request_serializer=lambda message: message.SerializeToString(),
        response_deserializer=message_class(descriptor.output_type).FromString,
    )
    try:
        await call(message_class(descriptor.input_type)(), metadata=metadata, timeout=20)
    except aio.AioRpcError as error:
        return rich_error(error)
    return None


def _denied(answer: RichError | None) -> bool:
    """Whether the call stopped at authentication or authorization."""
    if answer is None:
        return False
    if answer.code == grpc.StatusCode.UNAUTHENTICATED:
        return True
    return answer.code == grpc.StatusCode.PERMISSION_DENIED and answer.param == "authorization"


async def test_every_method_with_every_credential(setup: Setup) -> None:
    policies = {
        method: policy
        for method, policy in contracts.method_policies().items()
        if method.strip("/").split("/")[0] in setup.served
    }
    assert len(policies) >= 80, sorted(setup.served)
    wrong: list[str] = []
    async with aio.insecure_channel(setup.target) as channel:
        for method, policy in sorted(policies.items()):
            answers = await asyncio.gather(
                *(_answer(channel, method, _metadata(setup, kind, policy)) for kind in KINDS)
            )
            for kind, answer in zip(KINDS, answers, strict=True):
                code = answer.code if answer else grpc.StatusCode.OK
                if code in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN):
                    wrong.append(f"{method} as {kind}: {code.name} {answer}")
                elif allowed(policy, kind) == _denied(answer):
                    expected = "allowed" if allowed(policy, kind) else "denied"
                    wrong.append(f"{method} as {kind}: expected {expected}, got {answer}")
    assert not wrong, "\n".join(wrong)


async def test_the_expectations_cover_each_kind_of_access() -> None:
    """The matrix is not vacuous: each kind of credential is allowed somewhere and refused
    somewhere, as the contract reads."""
    policies = contracts.method_policies().values()
    for kind in (OTHER_SECRET, PUBLISHABLE, WITH_SCOPE, SECRET, ADMIN, INTERNAL):
        assert any(allowed(policy, kind) for policy in policies), kind
        assert kind == ADMIN or any(not allowed(policy, kind) for policy in policies), kind
    for kind in (NONE, MALFORMED, UNKNOWN, REVOKED, ROLLED, WITHOUT_SCOPE):
        assert not any(allowed(policy, kind) for policy in policies), kind


async def test_one_merchant_cannot_poison_another_merchants_fraud_counters(
    shop: Shop, admin_client_for: object, payin: object
) -> None:
    """Merchant A called ScorePayment 11 times naming one IP (and 9 made-up fingerprints);
    merchant B's real payment from that IP then failed FRAUD_SUSPECTED."""
    from tests.payment.shop import open_shop

    ip = f"192.0.2.{secrets.randbelow(250) + 1}"
    attacker = await open_shop(payin.admin, payin.target, payin.admin_token, payin.platform)  # type: ignore[attr-defined]
    try:
        for _ in range(20):
            await attacker.client.fraud.ScorePayment(
                fraud_pb2.ScorePaymentRequest(
                    payment=new_id(Prefix.PAYMENT, logical_shard_of(attacker.id, Prefix.ACCOUNT)),
                    amount=1000,
                    currency="usd",
                    card_fingerprint=secrets.token_hex(8),
                    card_country="US",
                    ip=ip,
                )
            )
    finally:
        await attacker.close()
    seller = await shop.seller("Victim's seller")
    payment = await shop.client.payments.CreatePayment(
        payment_pb2.CreatePaymentRequest(
            checkout_id="cart-victim",
            payment_method=await shop.card(good_card()),
            buyer_info=payment_pb2.BuyerInfo(ip=ip, email="buyer@example.com"),
            payment_orders=[
                payment_pb2.CreatePaymentRequest.PaymentOrder(
                    payment_order_id="victim-1", seller_account=seller, amount=1500, currency="usd"
                )
            ],
        )
    )
    assert payment.status == payment_pb2.PAYMENT_STATUS_SUCCEEDED, payment.failure_code
    await shop.assert_books_balance()
