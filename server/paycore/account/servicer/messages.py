"""Account dataclasses -> AccountService messages (the only direction: requests.py reads them)."""

from __future__ import annotations

from typing import TypeVar

from google.protobuf.message import Message
from paycore.account.fee_plans import FeePlan
from paycore.account.models import (
    ApiKey,
    ApiKeyType,
    CreatedMerchant,
    IssuedKey,
    Merchant,
    SellerAccount,
)
from paycore.v1 import account_pb2

MessageT = TypeVar("MessageT", bound=Message)
KEY_TYPES = {
    ApiKeyType.SECRET: account_pb2.API_KEY_TYPE_SECRET,
    ApiKeyType.PUBLISHABLE: account_pb2.API_KEY_TYPE_PUBLISHABLE,
    ApiKeyType.RESTRICTED: account_pb2.API_KEY_TYPE_RESTRICTED,
}
SECRET_FIELDS = ("secret_key", "publishable_key", "secret")


def without_secrets(message: MessageT) -> MessageT:
    """The form an idempotent replay returns: keys are shown once, never stored in clear."""
    kept = type(message)()
    kept.CopyFrom(message)
    for name in SECRET_FIELDS:
        if name in kept.DESCRIPTOR.fields_by_name:
            kept.ClearField(name)
    return kept


def merchant_message(merchant: Merchant) -> account_pb2.Merchant:
    return account_pb2.Merchant(
        id=merchant.id,
        name=merchant.name,
        email=merchant.email,
        country=merchant.country,
        default_currency=merchant.default_currency,
        livemode=merchant.livemode,
        created=merchant.created,
        metadata=merchant.metadata,
    )


def created_merchant_message(created: CreatedMerchant) -> account_pb2.Merchant:
    """The merchant with its two keys, shown this once."""
    message = merchant_message(created.merchant)
    message.secret_key = created.secret_key.secret.reveal()
    message.publishable_key = created.publishable_key.secret.reveal()
    return message


def seller_account_message(account: SellerAccount) -> account_pb2.SellerAccount:
    return account_pb2.SellerAccount(
        id=account.id,
        merchant=account.merchant_id,
        email=account.email,
        business_name=account.business_name,
        country=account.country,
        default_currency=account.default_currency,
        created=account.created,
        metadata=account.metadata,
    )


def api_key_message(key: ApiKey) -> account_pb2.ApiKey:
    return account_pb2.ApiKey(
        id=key.id,
        type=KEY_TYPES[key.type],
        name=key.name,
        scopes=key.scopes,
        redacted=key.redacted,
        created=key.created,
        revoked=key.revoked or 0,
        expires=key.expires or 0,
    )


def issued_key_message(issued: IssuedKey) -> account_pb2.ApiKey:
    message = api_key_message(issued.key)
    message.secret = issued.secret.reveal()
    return message


def fee_plan_message(merchant_id: str, plan: FeePlan, default: bool) -> account_pb2.FeePlan:
    return account_pb2.FeePlan(
        merchant=merchant_id,
        percent_basis_points=plan.percent_basis_points,
        fixed_amount=plan.fixed_amount,
        default=default,
    )
