"""Account dataclasses -> AccountService messages (the only direction: requests.py reads them)."""

from __future__ import annotations

from paycore.account.fee_plans import FeePlan
from paycore.account.models import (
    ApiKey,
    CreatedMerchant,
    IssuedKey,
    Merchant,
    SellerAccount,
)
from paycore.runtime.messages import converts, derived, message_of, without
from paycore.v1 import account_pb2

merchant_message = derived(Merchant, account_pb2.Merchant)
seller_account_message = derived(SellerAccount, account_pb2.SellerAccount)
api_key_message = derived(ApiKey, account_pb2.ApiKey)


@converts(account_pb2.Merchant, stored_form=without("secret_key", "publishable_key"))
def created_merchant_message(created: CreatedMerchant) -> account_pb2.Merchant:
    """The merchant with its two keys, shown this once (never stored)."""
    message = merchant_message(created.merchant)
    message.secret_key = created.secret_key.secret.reveal()
    message.publishable_key = created.publishable_key.secret.reveal()
    return message


@converts(account_pb2.ApiKey, stored_form=without("secret"))
def issued_key_message(issued: IssuedKey) -> account_pb2.ApiKey:
    """A new key with its secret, shown this once (never stored)."""
    message = api_key_message(issued.key)
    message.secret = issued.secret.reveal()
    return message


def fee_plan_message(merchant_id: str, plan: FeePlan, default: bool) -> account_pb2.FeePlan:
    return message_of(account_pb2.FeePlan, plan, merchant=merchant_id, default=default)
