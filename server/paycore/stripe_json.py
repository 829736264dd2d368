"""The JSON merchants see (REST edge answers, webhook bodies): Stripe's shapes over the proto3
JSON of paycore.transcoding, so that the official Stripe SDKs read paycore's objects.

`stripe_json(message)` renders any response message:
- 64-bit integers (money, counts, unix timestamps) are JSON numbers, not proto3's strings;
- every resource (a message with an `id`, and Balance) carries `object` ("payment_intent"),
  right after its id;
- a list response ({data, has_more}) becomes {"object": "list", "data", "has_more", "url"} (a
  search's, with `next_page`, Stripe's {"object": "search_result", ..., "next_page"}), and
  the lists inside a resource that Stripe nests as lists (a subscription's `items`, an invoice's
  `lines`, a checkout session's `line_items`) too, so that the SDKs' auto-paging and classes work;
- codes inside resources (`code`, `failure_code`, `decline_code`...) are lowercase snake_case
  (`card_declined`), where gRPC keeps its catalogue's UPPER_SNAKE reasons;
- a secret shown once (`SHOWN_ONCE`: a merchant's keys, an API key's or a webhook endpoint's
  secret) is absent, not "", from the answers that do not issue it (a GET, a list, a replay);
- a sub-object that is not there (an intent's `last_payment_error` before any failure) is null,
  where proto3 JSON leaves an unset message out (`is_absent_object`: stripe-python raises
  AttributeError reading a field the JSON lacks);
- an id reference with nothing in it (a payment intent's `customer`, `payment_method`) is null,
  where proto3 has "" (`is_id_reference` says which fields are references), and so is a
  timestamp of NULL_WHEN_ZERO that has not happened (an open review's `closed`);
- an event's `data.object` (a google.protobuf.Any on gRPC) is the object itself, rendered by
  these rules, without proto3's "@type";
- an enum value Stripe names otherwise has Stripe's name (`STRIPE_ENUM_NAMES`: a card
  payment's balance transaction is a `charge`, paycore's `payment`);
- a balance transaction's `exchange_rate` is Stripe's: a number that takes the presentment
  amount to the settled one, each in its currency's smallest unit (`stripe_exchange_rate`), or
  null when nothing was converted; gRPC's is the exact decimal of major units;
- every object (a dict with an `object`, but lists) carries Stripe's `livemode`, the mode of the
  merchant it belongs to (`with_livemode`: the edge passes its caller key's mode, a webhook
  delivery its merchant's), which gRPC answers leave out (the caller knows its own mode).

gRPC keeps its typed contract; deploy/edge.md lists every difference."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from functools import cache
from typing import Any, cast

from google.protobuf import descriptor_pool
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from paycore.dispute.models import EVIDENCE_FIELDS
from paycore.ids import Prefix
from paycore.iso import CURRENCY_EXPONENTS
from paycore.transcoding import (
    ANY,
    is_map,
    is_well_known,
    message_of,
    stripe_enum_names,
    to_json,
)

_INTEGERS_64 = (FieldDescriptor.CPPTYPE_INT64, FieldDescriptor.CPPTYPE_UINT64)
_UPPER_CODE = re.compile(r"^[A-Z][A-Z0-9_]*$")
_PACKAGE = "paycore.v1."

OBJECT_NAMES = {
    # Where Stripe's name is not the message's name in snake_case.
    "paycore.v1.Merchant": "account",
    "paycore.v1.SellerAccount": "account",
    "paycore.v1.InvoiceItem": "invoiceitem",
    "paycore.v1.TestClock": "test_helpers.test_clock",
    "paycore.v1.Invoice.LineItem": "line_item",
    "paycore.v1.DeleteWebhookEndpointResponse": "webhook_endpoint",
    "paycore.v1.DeleteCustomerResponse": "customer",
    "paycore.v1.DeleteTestClockResponse": "test_helpers.test_clock",
    "paycore.v1.DeleteCouponResponse": "coupon",
    "paycore.v1.DeleteSubscriptionDiscountResponse": "discount",
    "paycore.v1.DeleteInvoiceItemResponse": "invoiceitem",
    "paycore.v1.DeleteInvoiceResponse": "invoice",
    "paycore.v1.DeleteSubscriptionItemResponse": "subscription_item",
    "paycore.v1.RemoveBlocklistItemResponse": "blocklist_item",
    "paycore.v1.ValueList": "radar.value_list",
    "paycore.v1.EarlyFraudWarning": "radar.early_fraud_warning",
    "paycore.v1.DeleteValueListResponse": "radar.value_list",
    "paycore.v1.ValueListItem": "radar.value_list_item",
    "paycore.v1.DeleteValueListItemResponse": "radar.value_list_item",
    "paycore.v1.DeletedDiscount": "discount",
    "paycore.v1.Balance": "balance",
    "paycore.v1.CheckoutSession": "checkout.session",
    "paycore.v1.CheckoutLineItem": "item",
    "paycore.v1.SellerTransferReversal": "transfer_reversal",
    # Stripe's external account card (a connected account's debit card for payouts).
    "paycore.v1.PayoutCard": "card",
}
"""Object names that do not follow the rule (snake_case of the message name)."""

NESTED_LISTS: dict[str, Callable[[dict[str, Any]], str]] = {
    # Stripe nests these as list objects; the url is where the whole list is read.
    "paycore.v1.Subscription.items": lambda owner: (
        f"/v1/subscription_items?subscription={owner.get('id', '')}"
    ),
    "paycore.v1.Invoice.lines": lambda owner: f"/v1/invoices/{owner.get('id', '')}/lines",
    "paycore.v1.CheckoutSession.line_items": lambda owner: (
        f"/v1/checkout/sessions/{owner.get('id', '')}/line_items"
    ),
    # Inline, as Stripe's API before 2022-11-15 rendered a charge's refunds (paycore's expand
    # reads ids, not lists); the whole list is the intent's refunds.
    "paycore.v1.Charge.refunds": lambda owner: (
        f"/v1/refunds?payment_intent={owner.get('payment_intent', '')}"
    ),
    "paycore.v1.Transfer.reversals": lambda owner: f"/v1/transfers/{owner.get('id', '')}/reversals",
    "paycore.v1.ApplicationFee.refunds": lambda owner: (
        f"/v1/application_fees/{owner.get('id', '')}/refunds"
    ),
}
NOT_OBJECTS = frozenset({"paycore.v1.Event.Request"})
"""Messages with an `id` that are no resource, so carry no `object`: an event's `request`
(Stripe's `{"id": "req_...", "idempotency_key"}`)."""
ONE_OF_WRAPPERS = frozenset({"paycore.v1.ExternalAccount"})
"""Messages of one oneof whose JSON is the member set alone (Stripe's lists holding objects of
several kinds: a connected account's external accounts, bank_account and card)."""

COUNTED_LISTS = frozenset({"paycore.v1.Transfer.reversals", "paycore.v1.ApplicationFee.refunds"})
"""Nested lists Stripe renders with their `total_count` (all of the list is inline)."""


SHOWN_ONCE = frozenset(
    {
        "paycore.v1.Merchant.secret_key",
        "paycore.v1.Merchant.publishable_key",
        "paycore.v1.ApiKey.secret",
        "paycore.v1.WebhookEndpoint.secret",
    }
)
"""Secrets an object carries only in the answer that issues them (its servicer's converter
clears them in its `stored_form`, `runtime.messages.without`): elsewhere they are empty, and
the JSON leaves them out, as Stripe's objects do (tests/edge/test_stripe_shapes.py checks the
set against the converters)."""

NULL_WHEN_ZERO = frozenset(
    {
        # Unix seconds when approved or rejected: 0 while the review is open.
        "paycore.v1.Review.closed",
        "paycore.v1.PaymentIntent.canceled_at",
        "paycore.v1.Subscription.trial_start",
        "paycore.v1.Subscription.trial_end",
        "paycore.v1.Subscription.canceled_at",
        "paycore.v1.Subscription.cancel_at",
        "paycore.v1.Subscription.ended_at",
        "paycore.v1.Invoice.next_payment_attempt",
        "paycore.v1.Invoice.paid_at",
        "paycore.v1.Invoice.StatusTransitions.finalized_at",
        "paycore.v1.Invoice.StatusTransitions.marked_uncollectible_at",
        "paycore.v1.Invoice.StatusTransitions.paid_at",
        "paycore.v1.Invoice.StatusTransitions.voided_at",
        "paycore.v1.DisputeEvidenceDetails.submitted_at",
        "paycore.v1.WebhookDelivery.last_attempt",
        "paycore.v1.WebhookDelivery.next_attempt",
        "paycore.v1.ApiKey.revoked",
        "paycore.v1.ApiKey.expires",
        "paycore.v1.ExchangeRate.valid_to",
        "paycore.v1.ReconciliationRun.finished",
        "paycore.v1.Discrepancy.resolved",
        "paycore.v1.LedgerTransfer.expires_at",
        "paycore.v1.Execution.Attempt.finished",
        "paycore.v1.PayoutSchedule.next_payout",
    }
)
"""Timestamps whose 0 means "has not happened": null in the JSON, as Stripe renders a moment
still to come (`canceled_at: null`), where 0 would read as 1970. gRPC keeps proto3's 0."""

NULL_WHEN_EMPTY: dict[str, tuple[str, ...]] = {
    # A charge that did not fail has no failure; a receipt_email, description or
    # transfer_group never given is null; an approved charge's outcome has no reason.
    "paycore.v1.Charge": (
        "failure_code",
        "failure_message",
        "receipt_email",
        "description",
        "transfer_group",
    ),
    "paycore.v1.Charge.Outcome": ("reason",),
    # An intent's receipt_email, description or transfer_group never given (or cleared) is
    # null, and so is its client_secret where it is not carried (an event's intent).
    "paycore.v1.PaymentIntent": ("receipt_email", "description", "transfer_group", "client_secret"),
    "paycore.v1.SetupIntent": ("description", "client_secret"),
    # A checkout's payment and its orders that did not fail.
    "paycore.v1.Payment": ("failure_code", "failure_message"),
    "paycore.v1.PaymentOrder": ("failure_code", "decline_code", "failure_message"),
    # A transfer made without a description or transfer_group; a reversal without a description.
    "paycore.v1.Transfer": ("description", "transfer_group"),
    "paycore.v1.SellerTransferReversal": ("description",),
    # A 3-D Secure confirmation without a return_url (the page then shows the outcome).
    "paycore.v1.NextAction.RedirectToUrl": ("return_url",),
    # A payment method's billing details never given; an address's lines (a payment method's,
    # a customer's, a charge's shipping) not given.
    "paycore.v1.BillingDetails": ("name", "email", "phone"),
    "paycore.v1.Address": ("line1", "line2", "city", "state", "postal_code", "country"),
    "paycore.v1.Shipping": ("phone", "carrier", "tracking_number"),
    # An endpoint without a description.
    "paycore.v1.WebhookEndpoint": ("api_version", "description"),
    # An event no API call caused (a background job's), or whose call had no idempotency key.
    "paycore.v1.Event.Request": ("id", "idempotency_key"),
    # amount_off and currency of a percent_off, duration_in_months but for repeating, no
    # max_redemptions or redeem_by, no name.
    "paycore.v1.Coupon": (
        "name",
        "amount_off",
        "currency",
        "duration_in_months",
        "max_redemptions",
        "redeem_by",
    ),
    "paycore.v1.PromotionCode": ("max_redemptions", "expires_at"),
    # A discount without an end (once, forever).
    "paycore.v1.Discount": ("end",),
    # A draft invoice (a preview too) is not numbered yet; a preview and its lines have no id;
    # an invoice without a memo has no description.
    "paycore.v1.Invoice": ("number", "id", "description"),
    "paycore.v1.Invoice.LineItem": ("id",),
    # A price made without a nickname, a product without a description.
    "paycore.v1.Price": ("nickname", "lookup_key"),
    "paycore.v1.Product": ("description",),
    # A refund or a payout that did not fail; a payout without a description.
    "paycore.v1.Refund": ("failure_reason",),
    "paycore.v1.Payout": (
        "failure_code",
        "failure_message",
        "description",
        "statement_descriptor",
    ),
    # An IBAN's bank account has no routing number; paycore knows no bank's name. A schedule
    # that is not monthly has no monthly anchor (its weekly one is an enum: null already).
    "paycore.v1.BankAccount": ("routing_number", "bank_name"),
    "paycore.v1.PayoutSchedule": ("monthly_anchor",),
    # A seller account's email and business name never given (Stripe's email is nullable).
    "paycore.v1.SellerAccount": ("email", "business_name"),
    # A customer's text never given (or cleared), and its address when every line is empty.
    "paycore.v1.Customer": ("name", "email", "phone", "description", "address"),
    # A test clock's name never given (Stripe's is nullable).
    "paycore.v1.TestClock": ("name",),
    # The evidence the merchant has not given (Stripe's evidence fields are null until then).
    "paycore.v1.DisputeEvidence": EVIDENCE_FIELDS,
    # A balance transaction without a description, and one not converted: no presentment
    # amount or currency (as its exchange_rate, null).
    "paycore.v1.BalanceTransaction": ("description", "presentment_amount", "presentment_currency"),
    # An open review has not closed.
    "paycore.v1.Review": ("closed_reason",),
    # What a checkout session was not given.
    "paycore.v1.CheckoutSession": ("customer_email", "cancel_url", "client_reference_id", "locale"),
    # An attempt the endpoint gave no answer to (timeout, refused connection) has no status;
    # one that did not fail (and a delivery whose last attempt did not) has no error.
    "paycore.v1.WebhookDelivery": ("last_response_status", "last_error"),
    "paycore.v1.WebhookAttempt": ("response_status", "error"),
    # What a complete session's buyer did not give (a guest gives no name, phone, address).
    "paycore.v1.CheckoutCustomerDetails": ("email", "name", "phone", "address"),
}
"""Per message type, the fields whose "" or 0 (what the object has not), or a sub-object whose
fields all are, are rendered null, as Stripe renders them; the OpenAPI document says they may
be null."""

PSP_KINDS = {"charge": "ch"}
"""Objects of the PSP's that answers name by id, by kind and id prefix: a payment intent's
`latest_charge` and a dispute's `charge` are the PSP's "ch_...", as Stripe's are its own."""
KIND_OF_PREFIX = {
    **{prefix.value: prefix.name.lower() for prefix in Prefix},
    **{prefix: kind for kind, prefix in PSP_KINDS.items()},
}
"""An id's prefix -> the kind of object it names (`pi` -> `payment_intent`, `ch` -> `charge`)."""
_OBJECT_KINDS = tuple(sorted(KIND_OF_PREFIX.values()))
REFERENCE_NAMES = frozenset({"merchant", "destination", "transfer_destination"})
"""Fields that hold another object's id everywhere, under a name that is not its kind's
(`merchant` is an `acct_...`, a `destination` an `acct_...` or a `ba_...`)."""
REFERENCE_FIELDS = frozenset(
    {
        # The object that moved the money: "pord_...", "pi_...", "re_...", "po_...".
        "paycore.v1.BalanceTransaction.source",
        "paycore.v1.Discrepancy.object",
        "paycore.v1.Discrepancy.run",
        # The PSP's record ("ch_...", "rf_...", "du_...:dispute").
        "paycore.v1.Discrepancy.psp_reference",
        # Ledger transfers ("lt_...").
        "paycore.v1.IntegrityReport.Mismatch.transfer",
        "paycore.v1.LedgerEntry.transfer",
        "paycore.v1.LedgerTransfer.post_pending_id",
        "paycore.v1.LedgerTransfer.void_pending_id",
        "paycore.v1.LedgerTransfer.resolved_by",
        # The charge a transfer follows ("pi_...").
        "paycore.v1.Transfer.source_transaction",
        # The application fee ("fee_...") a fee refund gives back (Stripe's name).
        "paycore.v1.FeeRefund.fee",
        # The payout ("po_...") that reversed this one (ReversePayout).
        "paycore.v1.Payout.reversed_by",
    }
)
"""The other id references: fields whose name says neither their kind nor, elsewhere, an id
(an exchange rate's `source` is "ecb"). tests/edge/test_stripe_shapes.py checks the rule
against the protos' comments, which name what each field holds ("cus_...")."""


@cache
def is_id_reference(field: FieldDescriptor) -> bool:
    """Whether `field` of an answer holds the id of another object, so that its "" (none) is
    rendered null, as Stripe renders an absent reference (`if intent.customer:` in SDK code,
    typed SDKs' `Optional[str]`). By name: an object kind (`customer`, `payment_method`,
    `price`: `paycore.ids.Prefix`; `charge`: PSP_KINDS), or one ending in `_<kind>`
    (`default_payment_method`, `latest_invoice`, `latest_charge`), or REFERENCE_NAMES or
    REFERENCE_FIELDS. Not the object's own `id`, and not the fields of requests."""
    if field.type != FieldDescriptor.TYPE_STRING or field.is_repeated or field.name == "id":
        return False
    if not _of_an_answer(field):
        return False
    name = field.name
    return (
        name in REFERENCE_NAMES
        or field.full_name in REFERENCE_FIELDS
        or any(name == kind or name.endswith(f"_{kind}") for kind in _OBJECT_KINDS)
    )


@cache
def is_absent_object(field: FieldDescriptor) -> bool:
    """Whether `field` of an answer is a sub-object rendered null when unset, as Stripe renders
    one (`last_payment_error: null`, `transfer_data: null`): a singular message field of an
    answer's message (not of a request's), other than google.protobuf.Any."""
    if field.type != FieldDescriptor.TYPE_MESSAGE or field.is_repeated:
        return False
    if message_of(field).full_name == ANY:
        return False
    return _of_an_answer(field)


@cache
def _absent_object_names(descriptor: Descriptor) -> tuple[str, ...]:
    """The names of `descriptor`'s fields that `is_absent_object` renders null when unset:
    found once per message type, not at each render."""
    return tuple(field.name for field in descriptor.fields if is_absent_object(field))


def _of_an_answer(field: FieldDescriptor) -> bool:
    """Whether `field` is of one of paycore's messages that answers carry: not of a request,
    nor of a message nested in one."""
    outer: Descriptor | None = field.containing_type
    if outer is None or not outer.full_name.startswith(_PACKAGE):
        return False
    while outer is not None:
        if outer.name.endswith("Request"):
            return False
        outer = outer.containing_type
    return True


def stripe_json(message: Message, *, list_url: str = "") -> dict[str, Any]:
    """`message` as a Stripe client expects it. `list_url` is the path a list response was read
    from (its envelope's `url`); the edge passes the route's path."""
    descriptor = cast(Descriptor, message.DESCRIPTOR)  # the stubs name upb's class
    return render_json(descriptor, to_json(message), list_url=list_url)


def render_json(
    descriptor: Descriptor, rendered: dict[str, Any], *, list_url: str = ""
) -> dict[str, Any]:
    """The same from proto3 JSON already made by paycore.transcoding.to_json (an event's stored
    object, say)."""
    if is_list_response(descriptor) or is_search_response(descriptor):
        searched = is_search_response(descriptor)
        data = rendered.get("data", [])
        answer: dict[str, Any] = {
            "object": "search_result" if searched else "list",
            "data": [_value(descriptor.fields_by_name["data"], item) for item in data],
            "has_more": bool(rendered.get("has_more", False)),
            "url": list_url,
        }
        if searched:  # Stripe's search_result: the page to ask for next, or null
            answer["next_page"] = rendered.get("next_page") or None
        return answer
    return _message(descriptor, rendered)


_NOT_OBJECTS = frozenset({"list", "search_result"})
# What a merchant writes (metadata) and the changed fields an event names hold no objects.
_NO_OBJECTS_INSIDE = frozenset({"metadata", "previous_attributes"})


def with_livemode(rendered: Any, livemode: bool) -> Any:
    """`rendered` (stripe_json's output, changed in place) with `livemode` on every object in
    it, as Stripe's: each dict with an `object` but the list envelopes and a deletion's stub
    (`{"id", "object", "deleted": true}`, as Stripe's). Returns it."""
    if isinstance(rendered, list):
        for item in rendered:
            with_livemode(item, livemode)
    elif isinstance(rendered, dict):
        kind = rendered.get("object")
        if (
            isinstance(kind, str)
            and kind not in _NOT_OBJECTS
            and rendered.get("deleted") is not True
        ):
            rendered.setdefault("livemode", livemode)
        for key, item in rendered.items():
            if key not in _NO_OBJECTS_INSIDE and isinstance(item, dict | list):
                with_livemode(item, livemode)
    return rendered


def object_name(descriptor: Descriptor) -> str | None:
    """The `object` a message carries: paycore's resources (messages with an id) and Balance.
    None for a message with an `object` field of its own (a discrepancy's: the object it is
    about), which the type's name would otherwise hide from every REST and webhook reader."""
    name = OBJECT_NAMES.get(descriptor.full_name)
    if name is not None:
        return name
    fields = descriptor.fields_by_name
    if not descriptor.full_name.startswith(_PACKAGE) or "id" not in fields or "object" in fields:
        return None
    if descriptor.full_name in NOT_OBJECTS:
        return None
    outer: Descriptor | None = descriptor
    while outer is not None:  # parts of requests and responses are not resources
        if outer.name.endswith(("Request", "Response")):
            return None
        outer = outer.containing_type
    return re.sub(r"(?<!^)(?=[A-Z])", "_", descriptor.name).lower()


def is_list_response(descriptor: Descriptor) -> bool:
    fields = descriptor.fields_by_name
    return (
        set(fields) == {"data", "has_more"}
        and fields["data"].is_repeated
        and fields["data"].type == FieldDescriptor.TYPE_MESSAGE
    )


def is_search_response(descriptor: Descriptor) -> bool:
    """A Search's response (Stripe's search_result): a list's fields and `next_page`."""
    fields = descriptor.fields_by_name
    return (
        set(fields) == {"data", "has_more", "next_page"}
        and fields["data"].is_repeated
        and fields["data"].type == FieldDescriptor.TYPE_MESSAGE
    )


def _inner(descriptor: Descriptor, rendered: dict[str, Any]) -> dict[str, Any] | None:
    """The message an Any packs, or the member a ONE_OF_WRAPPERS message holds; else None."""
    if descriptor.full_name == ANY:
        return _unpacked(rendered)
    if descriptor.full_name in ONE_OF_WRAPPERS and len(rendered) == 1:
        [(key, item)] = rendered.items()
        return cast(dict[str, Any], _value(descriptor.fields_by_name[key], item))
    return None


def _message(descriptor: Descriptor, rendered: dict[str, Any]) -> dict[str, Any]:
    inner = _inner(descriptor, rendered)
    if inner is not None:
        return inner
    result: dict[str, Any] = {}
    if "id" in rendered:
        result["id"] = rendered["id"]
    name = object_name(descriptor)
    if name is not None:
        result["object"] = name
    for key, item in rendered.items():
        if key in result:
            continue
        field = descriptor.fields_by_name.get(key)
        if field is None:
            result[key] = item
        elif item == "" and field.full_name in SHOWN_ONCE:
            continue  # not issued by this answer
        elif is_map(field):
            value_field = message_of(field).fields_by_name["value"]
            result[key] = {entry: _value(value_field, value) for entry, value in item.items()}
        elif field.is_repeated:
            result[key] = _repeated(field, item, rendered)
        else:
            result[key] = _value(field, item)
    return _finished(descriptor, result)


def _repeated(field: FieldDescriptor, item: list[Any], owner: dict[str, Any]) -> Any:
    """A repeated field: a JSON array, or the list object Stripe nests (NESTED_LISTS)."""
    values = [_value(field, value) for value in item]
    nested = NESTED_LISTS.get(field.full_name)
    if nested is None:
        return values
    listed: dict[str, Any] = {"object": "list", "data": values, "has_more": False}
    if field.full_name in COUNTED_LISTS:
        listed["total_count"] = len(values)
    return {**listed, "url": nested(owner)}


def _finished(descriptor: Descriptor, result: dict[str, Any]) -> dict[str, Any]:
    """`result` with null for each sub-object proto3 JSON left out (`is_absent_object`) and
    each field of NULL_WHEN_EMPTY the object has not, and its type's FIXUPS applied."""
    for name in _absent_object_names(descriptor):
        if name not in result:
            result[name] = None
    for name in NULL_WHEN_EMPTY.get(descriptor.full_name, ()):
        value = result.get(name)
        if not value or (isinstance(value, dict) and not any(value.values())):
            result[name] = None
    fixup = FIXUPS.get(descriptor.full_name)
    if fixup is not None:
        fixup(result)
    return result


def stripe_exchange_rate(rate: str, presentment_currency: str, currency: str) -> float | None:
    """Stripe's `exchange_rate` of a conversion at `rate` (units of `currency` for one unit of
    `presentment_currency`, paycore's exact decimal): the number that multiplies the presentment
    amount into the settled amount, both in minor units (1,000 JPY at 0.0064 USD/JPY is 640
    cents: 0.64). None for no conversion ("")."""
    if not rate:
        return None
    shift = CURRENCY_EXPONENTS.get(currency, 2) - CURRENCY_EXPONENTS.get(presentment_currency, 2)
    return float(Decimal(rate).scaleb(shift))


def _balance_transaction(rendered: dict[str, Any]) -> None:
    rendered["exchange_rate"] = stripe_exchange_rate(
        str(rendered.get("exchange_rate") or ""),
        str(rendered.get("presentment_currency") or ""),
        str(rendered.get("currency", "")),
    )


def _coupon(rendered: dict[str, Any]) -> None:
    """Stripe's percent_off is a number (null with amount_off); paycore's the exact decimal."""
    percent = str(rendered.get("percent_off") or "")
    rendered["percent_off"] = float(Decimal(percent)) if percent else None


def _application_fee_amount(rendered: dict[str, Any]) -> None:
    """Stripe's application_fee_amount is null on a charge that pays no seller (no
    transfer_data); a destination charge's fee shows, 0 included."""
    if rendered.get("transfer_data") is None and not rendered.get("application_fee_amount"):
        rendered["application_fee_amount"] = None


NULL_WITHOUT_TRANSFER = frozenset(
    {"paycore.v1.PaymentIntent.application_fee_amount", "paycore.v1.Charge.application_fee_amount"}
)
"""Fields FIXUPS render null when the object has no transfer_data (`_application_fee_amount`):
the OpenAPI document says they may be null."""

NUMBER_FIELDS = frozenset(
    {"paycore.v1.BalanceTransaction.exchange_rate", "paycore.v1.Coupon.percent_off"}
)
"""String fields of the contract that FIXUPS render as a JSON number (or null)."""


def _checkout_session(rendered: dict[str, Any]) -> None:
    """Stripe's allow_promotion_codes is null when not given (an unset optional field, which
    proto3 JSON leaves out)."""
    rendered.setdefault("allow_promotion_codes", None)


FIXUPS: dict[str, Callable[[dict[str, Any]], None]] = {
    "paycore.v1.BalanceTransaction": _balance_transaction,
    "paycore.v1.CheckoutSession": _checkout_session,
    "paycore.v1.Coupon": _coupon,
    "paycore.v1.PaymentIntent": _application_fee_amount,
    "paycore.v1.Charge": _application_fee_amount,
}
"""Per message type, what its JSON changes to be Stripe's (after the rules above)."""


def _value(field: FieldDescriptor, value: Any) -> Any:
    if field.cpp_type in _INTEGERS_64 and isinstance(value, str):
        number = int(value)
        return None if number == 0 and field.full_name in NULL_WHEN_ZERO else number
    if field.type == FieldDescriptor.TYPE_MESSAGE and isinstance(value, dict):
        message = message_of(field)
        if message.full_name == STRUCT:
            return _whole_numbers(value)
        return (
            value
            if is_well_known(message) and message.full_name != ANY
            else _message(message, value)
        )
    if field.type == FieldDescriptor.TYPE_ENUM and isinstance(value, str):
        return stripe_enum_names(field.enum_type).get(value, value)
    if field.type == FieldDescriptor.TYPE_STRING and isinstance(value, str):
        if value == "" and is_id_reference(field):
            return None
        if _is_code(field):
            return value.lower() if _UPPER_CODE.match(value) else value
    return value


STRUCT = "google.protobuf.Struct"


def _whole_numbers(value: Any) -> Any:
    """A Struct's JSON (an event's previous_attributes) with its whole numbers as integers:
    a Struct holds every number as a double, which Stripe's amounts and timestamps are not."""
    if isinstance(value, dict):
        return {key: _whole_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _is_code(field: FieldDescriptor) -> bool:
    if field.full_name in NOT_CODES:
        return False
    return field.name == "code" or (field.name.endswith("_code") and field.name != "postal_code")


NOT_CODES = frozenset(
    {"paycore.v1.PromotionCode.code", "paycore.v1.ListPromotionCodesRequest.code"}
)
"""Fields named `code` that hold the merchant's text, kept as it is (a promotion code)."""


def _unpacked(rendered_any: dict[str, Any]) -> dict[str, Any]:
    """An Any's JSON is the packed message's fields plus "@type": the message alone."""
    type_name = str(rendered_any.get("@type", "")).rpartition("/")[2]
    fields = {key: value for key, value in rendered_any.items() if key != "@type"}
    try:
        descriptor = descriptor_pool.Default().FindMessageTypeByName(type_name)
    except KeyError:
        return fields
    return render_json(descriptor, fields)
