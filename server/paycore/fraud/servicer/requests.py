"""paycore.v1 fraud requests -> checked domain values: every check names its field
(INVALID_ARGUMENT) and runs before anything is counted or stored."""

from __future__ import annotations

import re

from paycore import validation
from paycore.errors import ApiError, Reason, invalid, missing, not_found
from paycore.fraud.features import FEATURE_NAMES, PaymentFacts
from paycore.fraud.models import (
    BlocklistType,
    NewValueList,
    OutcomeLabel,
    ReviewStatus,
    ValueListChanges,
)
from paycore.fraud.rules import (
    ALLOW_MAX,
    ALLOWABLE_TYPES,
    CONDITIONS_MAX,
    DEFAULT_BLOCK_ABOVE,
    DEFAULT_DEGRADED_REVIEW_ABOVE_USD,
    DEFAULT_REVIEW_ABOVE,
    DEFAULT_RULES,
    RULES_MAX,
    AllowItem,
    Condition,
    Decision,
    Policy,
    Rule,
)
from paycore.fraud.servicer.messages import (
    BLOCKLIST_TYPES_BY_NUMBER,
    OUTCOME_LABELS_BY_NUMBER,
    REVIEW_STATUSES_BY_NUMBER,
)
from paycore.fraud.value_lists import ALIAS, ITEM_TYPES, LIST_FEATURE, is_default_id
from paycore.ids import MalformedId, Prefix, new_merchant_id, remembered_logical_shard_of
from paycore.runtime.context import current_call
from paycore.runtime.messages import member
from paycore.runtime.servicing import acting_merchant, metadata_change
from paycore.v1 import fraud_pb2

FINGERPRINT = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
BRAND = re.compile(r"^[a-z_ ]{1,20}$")
USER_AGENT_LENGTH_MAX = 500
LIST_NAME_MAX = 100
FUTURE_SLACK_S = 86_400
PAYMENT_PREFIXES = (Prefix.PAYMENT, Prefix.PAYMENT_INTENT)
NOTE_LENGTH_MAX = 500
VALUE_LENGTH_MAX = 800
RULE_NAME = re.compile(r"^[a-z0-9_]{1,40}$")
_ACTIONS: dict[int, Decision] = {
    fraud_pb2.RISK_DECISION_REVIEW: Decision.REVIEW,
    fraud_pb2.RISK_DECISION_BLOCK: Decision.BLOCK,
}
_ALLOWABLE_BY_NUMBER: dict[int, BlocklistType] = {
    number: kind
    for number, kind in BLOCKLIST_TYPES_BY_NUMBER.items()
    if kind is not None and kind in ALLOWABLE_TYPES
}


def payment_facts(
    merchant_id: str, request: fraud_pb2.ScorePaymentRequest, now_ms: int
) -> PaymentFacts:
    """A ScorePayment call's payment. Its card fingerprint is the caller's word (not the
    vault's of an attempted payment), so it is counted only within the merchant. A call naming
    no payment scores a new one, `pay_...` on the merchant's shard (the answer names it)."""
    currency = validation.currency("currency", request.currency)
    fingerprint = card_fingerprint("card_fingerprint", request.card_fingerprint)
    brand = request.card_brand.strip().lower()
    if brand and not BRAND.match(brand):
        raise invalid("card_brand", "a card brand such as visa or mastercard")
    if request.customer_created < 0 or request.customer_created > now_ms // 1000 + FUTURE_SLACK_S:
        raise invalid("customer_created", "unix seconds, not in the future")
    validation.object_id(
        "payment_method", request.payment_method, Prefix.PAYMENT_METHOD, required=False
    )
    validation.text("user_agent", request.user_agent, maximum=USER_AGENT_LENGTH_MAX)
    return PaymentFacts(
        merchant=merchant_id,
        payment=payment_id("payment", request.payment)
        if request.payment
        else new_merchant_id(Prefix.PAYMENT, merchant_id),
        amount=validation.required_amount("amount", validation.given(request, "amount"), currency),
        currency=currency,
        card_fingerprint=fingerprint,
        card_brand=brand,
        card_country=_country("card_country", request.card_country),
        customer=validation.object_id(
            "customer", request.customer, Prefix.CUSTOMER, required=False
        ),
        customer_created_s=request.customer_created,
        ip=ip_address("ip", request.ip) if request.ip else "",
        ip_country=_country("ip_country", request.ip_country),
        email=validation.email("email", request.email, required=False).lower(),
        country=_country("country", request.country),
        timestamp_ms=now_ms,
        card_observed=False,
    )


def card_fingerprint(param: str, value: str) -> str:
    """A card fingerprint as scoring reads it ("" when empty); a listed one is checked the same
    way, since an item no payment's fingerprint can equal would never match."""
    fingerprint = value.strip()
    if fingerprint and not FINGERPRINT.match(fingerprint):
        raise invalid(param, "1 to 64 letters, digits, '-' or '_'")
    return fingerprint


def payment_id(param: str, value: str) -> str:
    """A "pay_..." or "pi_..." id."""
    if not value:
        raise missing(param)
    for prefix in PAYMENT_PREFIXES:
        try:
            remembered_logical_shard_of(value, prefix)
        except MalformedId:
            continue
        return value
    raise ApiError(Reason.ID_MALFORMED, param=param, prefix="pay_... or pi")


def _country(param: str, value: str) -> str:
    return validation.country(param, value) if value else ""


def ip_address(param: str, value: str) -> str:
    """The address in its canonical text form (::ffff:a.b.c.d as a.b.c.d)."""
    address = validation.ip_address(param, value)
    if not address:
        raise invalid(param, "must be an IPv4 or IPv6 address")
    return address


def outcome_label(request: fraud_pb2.ReportOutcomeRequest) -> OutcomeLabel:
    label = member("label", request.label, OUTCOME_LABELS_BY_NUMBER, fraud_pb2.OutcomeLabel)
    if label is None:
        raise missing("label")
    return label


def note(param: str, value: str) -> str:
    return validation.text(param, value, maximum=NOTE_LENGTH_MAX)


def blocklist_type(param: str, number: int) -> BlocklistType | None:
    """None for BLOCKLIST_ITEM_TYPE_UNSPECIFIED (a list filter's "any")."""
    return member(param, number, BLOCKLIST_TYPES_BY_NUMBER, fraud_pb2.BlocklistItemType)


def required_blocklist_type(param: str, number: int) -> BlocklistType:
    kind = blocklist_type(param, number)
    if kind is None:
        raise missing(param)
    return kind


def review_status(request: fraud_pb2.ListReviewsRequest) -> ReviewStatus | None:
    return member("status", request.status, REVIEW_STATUSES_BY_NUMBER, fraud_pb2.ReviewStatus)


def merchant(value: str) -> str:
    """An optional `merchant` naming an account ("" when absent)."""
    return validation.object_id("merchant", value, Prefix.ACCOUNT, required=False)


def listed_merchant(value: str) -> str | None:
    """A List's `merchant` filter: an operator's, else the merchant it acts for, else None
    (every merchant's); a merchant key's own merchant (another's is missing, naming
    `merchant`, as any object of another merchant's named by a field is)."""
    merchant_id = merchant(value)
    caller = current_call().caller
    if caller is None or caller.is_operator:
        return merchant_id or acting_merchant()
    if merchant_id and merchant_id != caller.merchant_id:
        raise not_found("account", merchant_id, param="merchant")
    return caller.merchant_id


def listed_value(kind: BlocklistType | None, value: str) -> str:
    """The listing's `value` filter in the form items are stored in: as AddBlocklistItem reads
    it when the type is given; without one, an email lowercased and an IP canonical (their
    forms tell them apart), anything else as typed."""
    value = validation.text("value", value, maximum=VALUE_LENGTH_MAX).strip()
    if not value:
        return ""
    if kind is not None:
        return blocklist_value("value", kind, value)
    if "@" in value:
        return value.lower()
    try:
        return validation.ip_address("value", value)
    except ApiError:
        return value


def blocklist_value(param: str, kind: BlocklistType, raw: str) -> str:
    value = validation.text(param, raw, maximum=VALUE_LENGTH_MAX, required=True)
    if kind is BlocklistType.EMAIL:
        return validation.email(param, value).lower()
    if kind is BlocklistType.COUNTRY:
        return validation.country(param, value)
    if kind is BlocklistType.CUSTOMER:
        return validation.object_id(param, value, Prefix.CUSTOMER)
    if kind is BlocklistType.IP:
        return ip_address(param, value)
    return card_fingerprint(param, value)


def policy(request: fraud_pb2.UpdateRiskPolicyRequest) -> Policy:
    review_above = request.review_above or DEFAULT_REVIEW_ABOVE
    block_above = request.block_above or DEFAULT_BLOCK_ABOVE
    if not 0 < review_above <= 1000:
        raise invalid("review_above", "thousandths between 1 and 1000 (0 for the default)")
    if not review_above <= block_above <= 1000:
        raise invalid("block_above", "thousandths between review_above and 1000")
    if request.degraded_review_above_usd < 0:
        raise invalid("degraded_review_above_usd", "US cents, at least 0 (0 for the default)")
    if len(request.rules) > RULES_MAX:
        raise invalid("rules", f"at most {RULES_MAX} rules")
    if len(request.allow) > ALLOW_MAX:
        raise invalid("allow", f"at most {ALLOW_MAX} items")
    # No rules means the default rules, as 0 means a threshold's default: an operator moving
    # only the thresholds keeps the card-testing and large-purchase rules.
    rules = (
        tuple(_rule(f"rules[{index}]", rule) for index, rule in enumerate(request.rules))
        or DEFAULT_RULES
    )
    names = [rule.name for rule in rules]
    for index, name in enumerate(names):
        if name in names[:index]:
            # A rule's name is the reason an assessment gives: two would be told apart by none.
            raise invalid(f"rules[{index}].name", f"{name!r} names an earlier rule too")
    allow = tuple(_allow_item(f"allow[{index}]", item) for index, item in enumerate(request.allow))
    return Policy(
        review_above=review_above,
        block_above=block_above,
        rules=rules,
        degraded_review_above_usd=request.degraded_review_above_usd
        or DEFAULT_DEGRADED_REVIEW_ABOVE_USD,
        allow=tuple(dict.fromkeys(allow)),
    )


def _allow_item(param: str, item: fraud_pb2.AllowListItem) -> AllowItem:
    kind = member(f"{param}.type", item.type, _ALLOWABLE_BY_NUMBER, fraud_pb2.BlocklistItemType)
    return AllowItem(kind, blocklist_value(f"{param}.value", kind, item.value))


def _rule(param: str, rule: fraud_pb2.RiskRule) -> Rule:
    if not RULE_NAME.match(rule.name):
        raise invalid(f"{param}.name", "1 to 40 lowercase letters, digits or '_'")
    if not 1 <= len(rule.conditions) <= CONDITIONS_MAX:
        raise invalid(f"{param}.conditions", f"1 to {CONDITIONS_MAX} conditions")
    for index, condition in enumerate(rule.conditions):
        named_list = condition.feature.startswith(LIST_FEATURE) and ALIAS.match(
            condition.feature.removeprefix(LIST_FEATURE)
        )
        if condition.feature not in FEATURE_NAMES and not named_list:
            raise invalid(
                f"{param}.conditions[{index}].feature",
                f"{condition.feature[:40]!r} is not a feature nor @<value list alias>"
                " (docs/fraud.md)",
            )
    return Rule(
        name=rule.name,
        conditions=tuple(Condition(c.feature, c.above) for c in rule.conditions),
        action=member(f"{param}.action", rule.action, _ACTIONS, fraud_pb2.RiskDecision),
    )


def value_list_id(param: str, value: str, *, required: bool = True) -> str:
    """An "rsl_..." of the merchant's, or a default list's "rsl_block_<item_type>"."""
    if is_default_id(value):
        return value
    return validation.object_id(param, value, Prefix.VALUE_LIST, required=required)


def alias(value: str) -> str:
    if not ALIAS.match(value):
        raise invalid("alias", "1 to 100 letters, digits or '_'")
    return value


def list_name(value: str) -> str:
    return validation.text("name", value, maximum=LIST_NAME_MAX, required=True)


def item_type(value: str) -> BlocklistType:
    if not value:
        raise missing("item_type")
    kind = ITEM_TYPES.get(value)
    if kind is None:
        raise invalid(
            "item_type",
            f"one of {', '.join(ITEM_TYPES)} (the values paycore matches payments on)",
        )
    return kind


def new_value_list(request: fraud_pb2.CreateValueListRequest) -> NewValueList:
    return NewValueList(
        alias(request.alias),
        list_name(request.name),
        item_type(request.item_type),
        validation.metadata("metadata", request.metadata),
    )


def value_list_changes(request: fraud_pb2.UpdateValueListRequest) -> ValueListChanges:
    return ValueListChanges(
        alias=alias(request.alias) if request.HasField("alias") else None,
        name=list_name(request.name) if request.HasField("name") else None,
        metadata=metadata_change(request),
    )
