"""AccountService requests -> checked account dataclasses; each failure an ApiError naming the
field, raised before anything changes."""

from __future__ import annotations

import re
from collections.abc import Mapping

from paycore import validation
from paycore.account.fee_plans import BASIS_POINTS, FIXED_AMOUNT_MAX, FeePlan
from paycore.account.models import ApiKeyType, NewMerchant, NewSellerAccount, SellerAccountType
from paycore.errors import invalid, not_found
from paycore.ids import Prefix
from paycore.runtime.context import current_call
from paycore.runtime.messages import by_number_or_none, member
from paycore.v1 import account_pb2

NAME_LENGTH_MAX = 200
_KEY_TYPES_BY_NUMBER = by_number_or_none(ApiKeyType, account_pb2.ApiKeyType)


def new_merchant(request: account_pb2.CreateMerchantRequest) -> NewMerchant:
    return NewMerchant(
        name=validation.text("name", request.name, maximum=NAME_LENGTH_MAX, required=True),
        email=validation.email("email", request.email),
        country=validation.country("country", request.country),
        default_currency=validation.currency("default_currency", request.default_currency),
        livemode=request.livemode,
        metadata=validation.metadata("metadata", request.metadata),
        settlement_currencies=validation.currencies(
            "settlement_currencies", list(request.settlement_currencies)
        ),
    )


_SELLER_TYPES: dict[int, SellerAccountType] = {
    account_pb2.SELLER_ACCOUNT_TYPE_UNSPECIFIED: SellerAccountType.CUSTOM,
    account_pb2.SELLER_ACCOUNT_TYPE_STANDARD: SellerAccountType.STANDARD,
    account_pb2.SELLER_ACCOUNT_TYPE_EXPRESS: SellerAccountType.EXPRESS,
    account_pb2.SELLER_ACCOUNT_TYPE_CUSTOM: SellerAccountType.CUSTOM,
}


def fee_plan(request: account_pb2.UpdateFeePlanRequest) -> FeePlan:
    if not 0 <= request.percent_basis_points <= BASIS_POINTS:
        raise invalid("percent_basis_points", f"must be between 0 and {BASIS_POINTS}")
    if not 0 <= request.fixed_amount <= FIXED_AMOUNT_MAX:
        raise invalid("fixed_amount", f"must be between 0 and {FIXED_AMOUNT_MAX}")
    return FeePlan(request.percent_basis_points, request.fixed_amount)


def new_seller_account(request: account_pb2.CreateSellerAccountRequest) -> NewSellerAccount:
    return NewSellerAccount(
        email=validation.email("email", request.email, required=False),
        business_name=validation.text(
            "business_name", request.business_name, maximum=NAME_LENGTH_MAX
        ),
        # Left out (""), the platform's: AccountService.create_seller_account fills them in.
        country=request.country and validation.country("country", request.country),
        default_currency=request.default_currency
        and validation.currency("default_currency", request.default_currency),
        metadata=validation.metadata("metadata", request.metadata),
        settlement_currencies=validation.currencies(
            "settlement_currencies", list(request.settlement_currencies)
        ),
        type=_SELLER_TYPES[
            validation.enum_value(
                "type", request.type, _SELLER_TYPES, account_pb2.SellerAccountType
            )
        ],
        capabilities=_capabilities(request.capabilities),
    )


_CAPABILITY_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
CAPABILITIES_MAX = 50


def _capabilities(
    requested: Mapping[str, account_pb2.SellerCapabilityRequest],
) -> dict[str, str]:
    """Stripe's `capabilities[<name>][requested]`: each one requested is "active" (paycore
    verifies nothing), one not requested left out; a name of another shape is refused."""
    if len(requested) > CAPABILITIES_MAX:
        raise invalid("capabilities", f"at most {CAPABILITIES_MAX} capabilities")
    for name in requested:
        if not _CAPABILITY_NAME.fullmatch(name):
            raise invalid(
                f"capabilities[{name[:64]}]",
                "a capability is named by lowercase letters, digits and underscores"
                " (card_payments, transfers)",
            )
    return {name: "active" for name, wanted in sorted(requested.items()) if wanted.requested}


def key_name(request: account_pb2.CreateApiKeyRequest) -> str:
    return validation.text("name", request.name, maximum=NAME_LENGTH_MAX)


def key_scopes(request: account_pb2.CreateApiKeyRequest) -> tuple[str, ...]:
    """The scopes in their order, once each (the domain checks each names a resource)."""
    return tuple(dict.fromkeys(scope.strip() for scope in request.scopes))


def key_type_filter(request: account_pb2.ListApiKeysRequest) -> ApiKeyType | None:
    return member("type", request.type, _KEY_TYPES_BY_NUMBER, account_pb2.ApiKeyType)


def own_merchant() -> str:
    """The calling merchant's id; "" for a caller acting for none (the admin token)."""
    caller = current_call().caller
    return (caller.merchant_id if caller else None) or ""


def readable_merchant(param: str, merchant_id: str) -> str:
    """A merchant the caller may read: its own, or any for an operator acting for none
    (another merchant's is NOT_FOUND, as if it did not exist)."""
    merchant_id = validation.object_id(param, merchant_id, Prefix.ACCOUNT)
    caller = current_call().caller
    own_merchant = caller.merchant_id if caller else None
    may_read_any = caller is not None and caller.is_operator and own_merchant is None
    if not may_read_any and merchant_id != own_merchant:
        raise not_found("merchant", merchant_id, param=param)
    return merchant_id
