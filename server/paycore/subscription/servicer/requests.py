"""SubscriptionService's billing requests checked for shape (ids, counts, ranges) and turned
into domain objects; prices, customers and clocks are checked by the domain."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from paycore import validation
from paycore.currency.rules import CurrencyRules, Purpose
from paycore.customer.test_methods import attached_payment_method_id
from paycore.errors import ApiError, Reason, invalid, missing
from paycore.ids import Prefix
from paycore.records import MetadataChange
from paycore.runtime.messages import by_number, by_number_or_none, member, value_names
from paycore.runtime.servicing import metadata_change
from paycore.subscription.changes import ItemChange, SubscriptionChanges
from paycore.subscription.invoice_items import DESCRIPTION_LENGTH_MAX, InvoiceItemChanges
from paycore.subscription.models import (
    INTERVAL_COUNT_MAX,
    PERCENT_OFF_MAX,
    PERCENT_SCALE,
    TRIAL_DAYS_MAX,
    CouponChanges,
    CouponDuration,
    FinalAction,
    Interval,
    InvoiceChanges,
    InvoiceStatus,
    NewCoupon,
    NewInvoice,
    NewInvoiceItem,
    NewPrice,
    NewProduct,
    NewPromotionCode,
    NewSubscription,
    NewSubscriptionItem,
    NewTestClock,
    PaymentBehavior,
    PriceChanges,
    ProductChanges,
    PromotionCodeChanges,
    ProrationBehavior,
    Recurring,
    Restrictions,
    SubscriptionStatus,
)
from paycore.subscription.preview import PreviewRequest
from paycore.v1 import subscription_pb2

# UNSPECIFIED: create prorations (Stripe's default).
PRORATIONS = {
    0: ProrationBehavior.CREATE_PRORATIONS,
    **by_number(ProrationBehavior, subscription_pb2.ProrationBehavior),
}
# RecurringInterval numbers a request may name; RECURRING_INTERVAL_UNSPECIFIED is "missing".
INTERVALS = by_number(Interval, subscription_pb2.RecurringInterval)
FINAL_ACTIONS = by_number_or_none(FinalAction, subscription_pb2.DunningFinalAction)
ITEMS_MAX = 20
# Keeps unit_amount * quantity far inside a bigint for any price.
QUANTITY_MAX = 1_000_000
RETRIES_MAX = 8
RETRY_DAYS_MAX = 30
# The proto's limits (subscription.proto), Stripe's where Stripe has one.
PRODUCT_NAME_LENGTH_MAX = 250
NICKNAME_LENGTH_MAX = 250
LOOKUP_KEY_LENGTH_MAX = 200
LOOKUP_KEYS_MAX = 10
CLOCK_NAME_LENGTH_MAX = 300
# Stripe's groups of statuses that ListSubscriptions' `status` may name beside one status.
_STATUS_GROUPS = {
    "all": frozenset(SubscriptionStatus),
    "ended": frozenset(status for status in SubscriptionStatus if status.ended),
}


def _listed(name: str) -> frozenset[SubscriptionStatus]:
    group = _STATUS_GROUPS.get(name)
    return group if group is not None else frozenset({SubscriptionStatus(name)})


# ListSubscriptions' `status` -> the statuses it lists; UNSPECIFIED -> None (Stripe's default:
# every one but canceled).
LISTED_STATUSES: dict[int, frozenset[SubscriptionStatus] | None] = {
    0: None,
    **{
        number: _listed(name)
        for number, name in value_names(
            subscription_pb2.SubscriptionStatusFilter.DESCRIPTOR
        ).items()
        if number
    },
}
INVOICE_STATUSES = by_number_or_none(InvoiceStatus, subscription_pb2.InvoiceStatus)


def new_product(request: subscription_pb2.CreateProductRequest) -> NewProduct:
    return NewProduct(
        name=validation.text("name", request.name, maximum=PRODUCT_NAME_LENGTH_MAX, required=True),
        description=validation.description(request.description),
        active=request.active if request.HasField("active") else True,
        metadata=validation.metadata("metadata", request.metadata),
    )


def product_changes(request: subscription_pb2.UpdateProductRequest) -> ProductChanges:
    """The fields present in the request, checked; absent ones stay None (unchanged)."""
    return ProductChanges(
        name=validation.text("name", request.name, maximum=PRODUCT_NAME_LENGTH_MAX, required=True)
        if request.HasField("name")
        else None,
        description=validation.description(request.description)
        if request.HasField("description")
        else None,
        active=request.active if request.HasField("active") else None,
        metadata=metadata_change(request),
    )


def price_changes(request: subscription_pb2.UpdatePriceRequest) -> PriceChanges:
    """The fields present in the request, checked; absent ones stay None (unchanged)."""
    return PriceChanges(
        active=request.active if request.HasField("active") else None,
        nickname=validation.text("nickname", request.nickname, maximum=NICKNAME_LENGTH_MAX)
        if request.HasField("nickname")
        else None,
        metadata=metadata_change(request),
        lookup_key=lookup_key("lookup_key", request.lookup_key)
        if request.HasField("lookup_key")
        else None,
        transfer_lookup_key=request.transfer_lookup_key,
    )


def lookup_key(param: str, value: str) -> str:
    return validation.text(param, value, maximum=LOOKUP_KEY_LENGTH_MAX)


def lookup_keys(values: Sequence[str]) -> tuple[str, ...]:
    """ListPrices' `lookup_keys` (at most LOOKUP_KEYS_MAX, none empty)."""
    if len(values) > LOOKUP_KEYS_MAX:
        raise invalid("lookup_keys", f"give at most {LOOKUP_KEYS_MAX}")
    for index, value in enumerate(values):
        if not value:
            raise invalid(f"lookup_keys[{index}]", "must not be empty")
        lookup_key(f"lookup_keys[{index}]", value)
    return tuple(values)


def new_price(
    request: subscription_pb2.CreatePriceRequest, rules: CurrencyRules
) -> tuple[NewPrice, NewProduct | None, bool]:
    """The price, the product made with it (Stripe's `product_data`, in place of
    `product`: then the price's product_id is "" until the domain makes the product) and
    whether its lookup key moves from the price holding it (transfer_lookup_key). The unit
    amount is one the processors take in a charge (the currency's multiple: a bhd amount ends
    in 0); the least charge is the invoice's to meet, as quantities add up
    (paycore.subscription.invoices.finalize)."""
    product = None
    if request.HasField("product_data"):
        if request.product:
            raise invalid("product_data", "give one of product and product_data, not both")
        data = request.product_data
        product = NewProduct(
            name=validation.text(
                "product_data.name", data.name, maximum=PRODUCT_NAME_LENGTH_MAX, required=True
            ),
            description="",
            active=data.active if data.HasField("active") else True,
            metadata=validation.metadata("product_data.metadata", data.metadata),
        )
    return (
        NewPrice(
            **_price_fields("", request, rules, product_given=product is not None),
            recurring=recurring(request.recurring) if request.HasField("recurring") else None,
            nickname=validation.text("nickname", request.nickname, maximum=NICKNAME_LENGTH_MAX),
            active=request.active if request.HasField("active") else True,
            metadata=validation.metadata("metadata", request.metadata),
            lookup_key=lookup_key("lookup_key", request.lookup_key),
        ),
        product,
        request.transfer_lookup_key,
    )


def price_data(param: str, message: subscription_pb2.PriceData, rules: CurrencyRules) -> NewPrice:
    """A subscription item's price_data (`param`, e.g. "items[0].price_data"): the price made
    inline, recurring, inactive (Stripe's: nothing else takes it)."""
    if not message.HasField("recurring"):
        raise missing(f"{param}.recurring")
    return NewPrice(
        **_price_fields(f"{param}.", message, rules),
        recurring=recurring(message.recurring, f"{param}.recurring"),
        nickname="",
        active=False,
        metadata={},
    )


def _price_fields(
    prefix: str,
    message: subscription_pb2.CreatePriceRequest | subscription_pb2.PriceData,
    rules: CurrencyRules,
    product_given: bool = False,
) -> dict[str, Any]:
    """The product, currency and unit amount of a price, each checked (params `prefix` +
    the field's name); the product "" when `product_given` (made with the price)."""
    product_id = (
        ""
        if product_given
        else validation.object_id(f"{prefix}product", message.product, Prefix.PRODUCT)
    )
    currency = validation.currency(f"{prefix}currency", message.currency)
    param = f"{prefix}unit_amount"
    unit_amount = validation.required_amount(
        param, validation.given(message, "unit_amount"), currency
    )
    return {
        "product_id": product_id,
        "unit_amount": rules.check(param, unit_amount, currency, Purpose.AMOUNT),
        "currency": currency,
    }


def new_test_clock(request: subscription_pb2.CreateTestClockRequest) -> NewTestClock:
    return NewTestClock(
        frozen_time=frozen_time("frozen_time", request.frozen_time),
        name=validation.text("name", request.name, maximum=CLOCK_NAME_LENGTH_MAX),
        metadata=validation.metadata("metadata", request.metadata),
    )


def new_subscription(
    request: subscription_pb2.CreateSubscriptionRequest, rules: CurrencyRules
) -> NewSubscription:
    """The request's shape checked; the prices, customer and clock are checked by the domain.
    An item with price_data has no price id (""): the domain makes its price."""
    customer = validation.object_id("customer", request.customer, Prefix.CUSTOMER)
    if not request.items:
        raise missing("items")
    if len(request.items) > ITEMS_MAX:
        raise invalid("items", f"at most {ITEMS_MAX} items")
    items: list[tuple[str, int]] = []
    inline: list[tuple[int, NewPrice]] = []
    item_metadata = tuple(
        validation.metadata(f"items[{index}].metadata", item.metadata)
        for index, item in enumerate(request.items)
    )
    for index, item in enumerate(request.items):
        price = ""
        if item.HasField("price_data"):
            param = f"items[{index}].price_data"
            if item.price:
                raise invalid(param, "give price or price_data, not both")
            inline.append((index, price_data(param, item.price_data, rules)))
        else:
            price = validation.object_id(f"items[{index}].price", item.price, Prefix.PRICE)
            if any(price == seen for seen, _ in items):
                raise invalid(f"items[{index}].price", "each item must have a different price")
        quantity = item.quantity if item.HasField("quantity") else None
        items.append((price, item_quantity(f"items[{index}].quantity", quantity)))
    _check_trial(request)
    collection_method(request.collection_method)
    return NewSubscription(
        customer_id=customer,
        items=tuple(items),
        item_metadata=item_metadata,
        price_data=tuple(inline),
        trial_period_days=request.trial_period_days,
        trial_end=request.trial_end or None,
        default_payment_method_id=attached_payment_method_id(
            "default_payment_method", request.default_payment_method, required=False
        )
        or None,
        test_clock_id=validation.object_id(
            "test_clock", request.test_clock, Prefix.TEST_CLOCK, required=False
        )
        or None,
        metadata=validation.metadata("metadata", request.metadata),
        payment_behavior=payment_behavior(request.payment_behavior),
        save_default_payment_method=save_default_payment_method(
            request.payment_settings.save_default_payment_method
        ),
        cancel_at_period_end=request.cancel_at_period_end,
        **discount_of(request),
    )


def payment_behavior(value: str) -> PaymentBehavior:
    """Stripe's payment_behavior; empty is allow_incomplete, Stripe's default."""
    if not value:
        return PaymentBehavior.ALLOW_INCOMPLETE
    try:
        return PaymentBehavior(value)
    except ValueError:
        allowed = ", ".join(behavior.value for behavior in PaymentBehavior)
        raise invalid("payment_behavior", f"must be one of {allowed}") from None


def save_default_payment_method(value: str) -> bool:
    """Stripe's payment_settings.save_default_payment_method: on_subscription or off."""
    if value not in ("", "off", "on_subscription"):
        raise invalid(
            "payment_settings.save_default_payment_method", "must be on_subscription or off"
        )
    return value == "on_subscription"


def _check_trial(request: subscription_pb2.CreateSubscriptionRequest) -> None:
    """The trial asked for: trial_period_days or trial_end (not both), or Stripe's
    trial_end=now (no trial), each refused naming the field."""
    if not 0 <= request.trial_period_days <= TRIAL_DAYS_MAX:
        raise invalid("trial_period_days", f"must be 0 to {TRIAL_DAYS_MAX} days from now")
    if request.trial_end < 0:
        raise invalid("trial_end", "must be unix seconds after now")
    if request.trial_end and request.trial_period_days:
        raise invalid("trial_end", "give trial_end or trial_period_days, not both")
    if request.trial_end_now and (request.trial_end or request.trial_period_days):
        raise invalid("trial_end", "now (no trial) cannot be given with a trial")


def collection_method(value: str) -> None:
    """Stripe's collection_method of a subscription or invoice: charge_automatically (also
    empty, the default) is the only one built; send_invoice is refused naming the field."""
    if value and value not in COLLECTION_METHODS:
        raise unknown_value("collection_method", value, COLLECTION_METHODS)


def subscription_changes(
    request: subscription_pb2.UpdateSubscriptionRequest, rules: CurrencyRules
) -> SubscriptionChanges:
    method = None
    if request.HasField("default_payment_method"):
        method = attached_payment_method_id(
            "default_payment_method", request.default_payment_method, required=False
        )
    cancel = request.cancel_at_period_end if request.HasField("cancel_at_period_end") else None
    behavior = proration_of(request)
    discount = discount_of(request)
    if request.clear_discounts and (discount["coupon_id"] or discount["promotion_code_id"]):
        raise invalid("discounts", "cannot be given with clear_discounts")
    trial_end = request.trial_end if request.HasField("trial_end") else None
    if trial_end is not None and request.trial_end_now:
        raise invalid("trial_end", "give a moment or now, not both")
    collection_method(request.collection_method)
    return SubscriptionChanges(
        items=item_changes(request.items, rules),
        proration=behavior,
        cancel_at_period_end=cancel,
        default_payment_method_id=method,
        metadata=metadata_change(request),
        clear_discounts=request.clear_discounts,
        trial_end=trial_end,
        trial_end_now=request.trial_end_now,
        proration_date=proration_date(request),
        **discount,
    )


class _Prorated(Protocol):
    @property
    def proration_behavior(self) -> int: ...


def proration_of(request: _Prorated) -> ProrationBehavior:
    """A request's proration_behavior (unset: create_prorations, Stripe's default)."""
    return member(
        "proration_behavior",
        request.proration_behavior,
        PRORATIONS,
        subscription_pb2.ProrationBehavior,
    )


def item_removal(request: subscription_pb2.DeleteSubscriptionItemRequest) -> ProrationBehavior:
    """DeleteSubscriptionItem's proration_behavior (how the removed item's unused time is
    credited)."""
    return proration_of(request)


def new_subscription_item(
    request: subscription_pb2.CreateSubscriptionItemRequest,
) -> NewSubscriptionItem:
    """CreateSubscriptionItem's shape checks (the price's and the subscription's are
    UpdateSubscription's, paycore.subscription.changes)."""
    subscription_id = validation.object_id(
        "subscription", request.subscription, Prefix.SUBSCRIPTION
    )
    price_id = validation.object_id("price", request.price, Prefix.PRICE)
    quantity = request.quantity if request.HasField("quantity") else None
    return NewSubscriptionItem(
        subscription_id=subscription_id,
        price_id=price_id,
        quantity=item_quantity("quantity", quantity),
        metadata=validation.metadata("metadata", request.metadata),
        proration=proration_of(request),
        proration_date=proration_date(request),
    )


def proration_date(
    request: subscription_pb2.UpdateSubscriptionRequest
    | subscription_pb2.CreateSubscriptionItemRequest
    | subscription_pb2.UpdateSubscriptionItemRequest,
) -> int | None:
    """Stripe's proration_date when the request gives one (None: prorated now)."""
    return request.proration_date if request.HasField("proration_date") else None


def subscription_item_change(
    request: subscription_pb2.UpdateSubscriptionItemRequest, item_id: str
) -> tuple[ItemChange, ProrationBehavior, int | None]:
    """UpdateSubscriptionItem's change of the item (UpdateSubscription's, naming the fields
    without `items[n].`), how it is prorated and at which moment (None: now)."""
    price_id = validation.object_id("price", request.price, Prefix.PRICE, required=False)
    quantity = None
    if request.HasField("quantity"):
        quantity = item_quantity("quantity", request.quantity)
    change = ItemChange(
        item_id=item_id,
        price_id=price_id or None,
        quantity=quantity,
        deleted=False,
        metadata=metadata_change(request),
        prefix="",
    )
    return change, proration_of(request), proration_date(request)


def item_changes(
    requested: Iterable[subscription_pb2.UpdateSubscriptionRequest.Item],
    rules: CurrencyRules,
    prefix: str = "",
) -> tuple[ItemChange, ...]:
    """UpdateSubscription's item changes (also a preview's), each checked naming
    `<prefix>items[n].<field>`."""
    items = []
    for index, item in enumerate(requested):
        param = f"{prefix}items[{index}]"
        item_id = validation.object_id(
            f"{param}.id", item.id, Prefix.SUBSCRIPTION_ITEM, required=item.deleted
        )
        quantity = None
        if item.HasField("quantity"):
            quantity = item_quantity(f"{param}.quantity", item.quantity)
        inline = None
        if item.HasField("price_data"):
            if item.price:
                raise invalid(f"{param}.price_data", "give price or price_data, not both")
            inline = price_data(f"{param}.price_data", item.price_data, rules)
        items.append(
            ItemChange(
                item_id=item_id or None,
                price_id=validation.object_id(
                    f"{param}.price", item.price, Prefix.PRICE, required=False
                )
                or None,
                quantity=quantity,
                deleted=item.deleted,
                price_data=inline,
                metadata=MetadataChange(
                    validation.metadata(f"{param}.metadata", item.metadata, removals=True)
                )
                if item.metadata
                else None,
            )
        )
    return tuple(items)


def item_quantity(param: str, quantity: int | None) -> int:
    """Absent (None) means 1, as at Stripe; a quantity given is 1 to QUANTITY_MAX (0 is
    refused: issue 7 names "zero quantity" bad input)."""
    if quantity is None:
        return 1
    if quantity < 1:
        raise invalid(param, "must be 1 or more")
    if quantity > QUANTITY_MAX:
        raise invalid(param, f"must be at most {QUANTITY_MAX}")
    return quantity


def retry_schedule(days: Sequence[int]) -> tuple[int, ...] | None:
    """None (keep the schedule) when empty; else 1..RETRIES_MAX retries of 1..30 days."""
    if not days:
        return None
    if len(days) > RETRIES_MAX or any(not 1 <= day <= RETRY_DAYS_MAX for day in days):
        raise invalid(
            "retry_schedule_days",
            f"at most {RETRIES_MAX} retries, each 1 to {RETRY_DAYS_MAX} days",
        )
    return tuple(days)


def invoice_item(
    request: subscription_pb2.CreateInvoiceItemRequest, rules: CurrencyRules
) -> tuple[NewInvoiceItem, str]:
    """A price (one-time; quantity 0 means 1) or a non-zero amount (negative: a credit) with
    its currency, and the draft invoice to add it to ("" for none); the subscription's and
    the invoice's checks are paycore.subscription.invoice_items.create's."""
    customer_id = validation.object_id("customer", request.customer, Prefix.CUSTOMER)
    subscription_id = validation.object_id(
        "subscription", request.subscription, Prefix.SUBSCRIPTION, required=False
    )
    invoice_id = validation.object_id("invoice", request.invoice, Prefix.INVOICE, required=False)
    price_id = validation.object_id("price", request.price, Prefix.PRICE, required=False)
    if request.quantity < 0:
        raise invalid("quantity", "must be 0 (meaning 1) or more")
    currency = ""
    if price_id:
        if request.amount:
            raise invalid("amount", "give either price or amount, not both")
        if request.currency:
            currency = validation.currency("currency", request.currency)
    else:
        if request.quantity:
            raise invalid("quantity", "only with a price")
        currency = validation.currency("currency", request.currency)
        if not request.HasField("amount"):
            raise missing("amount")
        if request.amount == 0:
            raise invalid("amount", "must not be zero (negative is a credit)")
        validation.amount("amount", abs(request.amount), currency)
        rules.check("amount", abs(request.amount), currency, Purpose.AMOUNT)
    new = NewInvoiceItem(
        customer_id=customer_id,
        subscription_id=subscription_id,
        price_id=price_id or None,
        quantity=(request.quantity or 1) if price_id else 1,
        amount=request.amount,
        currency=currency,
        description=validation.text(
            "description", request.description, maximum=DESCRIPTION_LENGTH_MAX
        ),
        metadata=validation.metadata("metadata", request.metadata),
    )
    return new, invoice_id


# Invoice.create's pending_invoice_items_behavior -> whether the pending items are included
# ("" is Stripe's default since API 2022-08-01: exclude).
PENDING_ITEMS = {"": False, "exclude": False, "include": True}
COLLECTION_METHODS = ("charge_automatically",)


def new_invoice(request: subscription_pb2.CreateInvoiceRequest) -> NewInvoice:
    """CreateInvoice's shape checks (the customer's are paycore.subscription.one_off's)."""
    customer_id = validation.object_id("customer", request.customer, Prefix.CUSTOMER)
    behavior = request.pending_invoice_items_behavior
    if behavior not in PENDING_ITEMS:
        raise unknown_value("pending_invoice_items_behavior", behavior, ("exclude", "include"))
    collection_method(request.collection_method)
    return NewInvoice(
        customer_id=customer_id,
        auto_advance=request.auto_advance,
        description=invoice_description(request.description),
        metadata=validation.metadata("metadata", request.metadata),
        include_pending=PENDING_ITEMS[behavior],
        currency=validation.currency("currency", request.currency) if request.currency else "",
    )


def invoice_changes(request: subscription_pb2.UpdateInvoiceRequest) -> InvoiceChanges:
    """UpdateInvoice's shape checks (which fields the invoice's status allows are
    paycore.subscription.one_off.update's)."""
    return InvoiceChanges(
        description=(
            invoice_description(request.description) if request.HasField("description") else None
        ),
        auto_advance=request.auto_advance if request.HasField("auto_advance") else None,
        metadata=metadata_change(request),
    )


def auto_advance(request: subscription_pb2.FinalizeInvoiceRequest) -> bool | None:
    """FinalizeInvoice's auto_advance (None: left as it is)."""
    return request.auto_advance if request.HasField("auto_advance") else None


def invoice_description(value: str) -> str:
    return validation.text("description", value, maximum=DESCRIPTION_LENGTH_MAX)


def unknown_value(param: str, value: str, accepted: Sequence[str]) -> ApiError:
    return ApiError(
        Reason.PARAMETER_UNKNOWN_ENUM, param=param, accepted=", ".join(accepted), value=value
    )


# A clock's time stays far enough from datetime's year 9999 for years of periods after it.
FROZEN_TIME_MAX = int(datetime(3000, 1, 1, tzinfo=UTC).timestamp())


def recurring(message: subscription_pb2.Recurring, param: str = "recurring") -> Recurring:
    """A recurring price's interval, checked: at least one interval (one when the count is
    absent), at most one year in all."""
    if message.interval == subscription_pb2.RECURRING_INTERVAL_UNSPECIFIED:
        raise missing(f"{param}.interval")
    interval = member(
        f"{param}.interval", message.interval, INTERVALS, subscription_pb2.RecurringInterval
    )
    maximum = INTERVAL_COUNT_MAX[interval]
    count = message.interval_count if message.HasField("interval_count") else 1  # Stripe's default
    if not 1 <= count <= maximum:
        raise invalid(
            f"{param}.interval_count",
            f"must be 1 to {maximum} for {interval.value} intervals (at most one year in all)",
        )
    return Recurring(interval, count)


def frozen_time(param: str, value: int) -> int:
    if value == 0:
        raise missing(param)
    if not 0 < value <= FROZEN_TIME_MAX:
        raise invalid(param, f"must be unix seconds between 1 and {FROZEN_TIME_MAX}")
    return value


# --- coupons -----------------------------------------------------------------------------------

COUPON_ID = re.compile(r"^[A-Za-z0-9_-]{1,200}$")
COUPON_NAME_LENGTH_MAX = 40
DURATION_IN_MONTHS_MAX = 36
_PERCENT = re.compile(r"^(?:0|[1-9][0-9]{0,2})(?:\.[0-9]{1,2})?$")


def coupon_id(param: str, value: str, *, required: bool = True) -> str:
    """A coupon's id: 1..200 of [A-Za-z0-9_-] (the merchant's, or generated)."""
    if not value:
        if required:
            raise missing(param)
        return value
    if not COUPON_ID.match(value):
        raise invalid(param, "must be 1 to 200 letters, digits, '_' or '-'")
    return value


def discount_of(
    request: (
        subscription_pb2.CreateSubscriptionRequest | subscription_pb2.UpdateSubscriptionRequest
    ),
) -> dict[str, str]:
    """`coupon_id` and `promotion_code_id` (one at most): from `coupon` or `promotion_code`, or
    Stripe's `discounts[0][coupon]` / `discounts[0][promotion_code]` (one discount at most,
    with `discount_prefix` "discounts[0]." so that refusals name that field)."""
    given = [name for name in ("coupon", "promotion_code") if getattr(request, name)]
    if len(request.discounts) > 1:
        raise invalid("discounts", "at most one discount")
    if request.discounts:
        if given:
            raise invalid("discounts", f"give {given[0]} or discounts, not both")
        wanted = request.discounts[0]
        if wanted.coupon and wanted.promotion_code:
            raise invalid("discounts[0].promotion_code", "give coupon or promotion_code, not both")
        return {
            "coupon_id": coupon_id("discounts[0].coupon", wanted.coupon, required=False),
            "promotion_code_id": validation.object_id(
                "discounts[0].promotion_code",
                wanted.promotion_code,
                Prefix.PROMOTION_CODE,
                required=False,
            ),
            "discount_prefix": "discounts[0].",
        }
    if len(given) > 1:
        raise invalid("promotion_code", "give coupon or promotion_code, not both")
    return {
        "coupon_id": coupon_id("coupon", request.coupon, required=False),
        "promotion_code_id": validation.object_id(
            "promotion_code", request.promotion_code, Prefix.PROMOTION_CODE, required=False
        ),
    }


PROMOTION_CODE = re.compile(r"^[A-Za-z0-9_-]{1,500}$")


def new_promotion_code(request: subscription_pb2.CreatePromotionCodeRequest) -> NewPromotionCode:
    if request.code and not PROMOTION_CODE.match(request.code):
        raise invalid("code", "must be 1 to 500 letters, digits, '_' or '-'")
    _check_max_redemptions(request)
    if not 0 <= request.expires_at <= FROZEN_TIME_MAX:
        raise invalid("expires_at", "must be unix seconds")
    return NewPromotionCode(
        coupon_id=coupon_id("coupon", request.coupon),
        code=request.code,
        active=request.active if request.HasField("active") else True,
        max_redemptions=request.max_redemptions or None,
        expires_at=request.expires_at or None,
        metadata=validation.metadata("metadata", request.metadata),
        restrictions=restrictions(request.restrictions),
    )


def restrictions(message: subscription_pb2.PromotionCodeRestrictions) -> Restrictions:
    """A promotion code's restrictions: a minimum amount (1 or more minor units) with its
    currency, both or neither; first_time_transaction."""
    param = "restrictions"
    minimum, currency = message.minimum_amount, message.minimum_amount_currency
    if minimum < 0:
        raise invalid(f"{param}.minimum_amount", "must be 1 or more minor units")
    if minimum and not currency:
        raise missing(f"{param}.minimum_amount_currency")
    if currency and not minimum:
        raise missing(f"{param}.minimum_amount")
    if minimum:
        currency = validation.currency(f"{param}.minimum_amount_currency", currency)
        validation.amount(f"{param}.minimum_amount", minimum, currency)
    return Restrictions(
        first_time_transaction=message.first_time_transaction,
        minimum_amount=minimum or None,
        minimum_amount_currency=currency or None,
    )


def coupon_changes(request: subscription_pb2.UpdateCouponRequest) -> CouponChanges:
    """UpdateCoupon's name (absent: kept; "" clears it) and metadata (Stripe's rules)."""
    name = None
    if request.HasField("name"):
        name = validation.text("name", request.name, maximum=COUPON_NAME_LENGTH_MAX)
    return CouponChanges(name=name, metadata=metadata_change(request))


def promotion_code_changes(
    request: subscription_pb2.UpdatePromotionCodeRequest,
) -> PromotionCodeChanges:
    return PromotionCodeChanges(
        active=request.active if request.HasField("active") else None,
        metadata=metadata_change(request),
    )


def percent_off(value: str) -> int:
    """A decimal percent exact to 2 places, 0 < p <= 100, in hundredths of a percent."""
    if not _PERCENT.match(value):
        raise invalid("percent_off", "must be a decimal number above 0 and at most 100")
    whole, _, fraction = value.partition(".")
    hundredths = int(whole) * PERCENT_SCALE + int(fraction.ljust(2, "0") or 0)
    if not 0 < hundredths <= PERCENT_OFF_MAX:
        raise invalid("percent_off", "must be a decimal number above 0 and at most 100")
    return hundredths


def coupon_duration(
    request: subscription_pb2.CreateCouponRequest,
) -> tuple[CouponDuration, int | None]:
    """The duration (`once` when left out, as Stripe's), and duration_in_months, required with
    repeating only."""
    try:
        duration = CouponDuration(request.duration or CouponDuration.ONCE.value)
    except ValueError:
        raise invalid("duration", "must be once, repeating or forever") from None
    months = validation.given(request, "duration_in_months")
    if duration is not CouponDuration.REPEATING:
        if months:
            raise invalid("duration_in_months", "only with duration repeating")
        return duration, None
    if months is None:
        raise missing("duration_in_months")
    if not 1 <= months <= DURATION_IN_MONTHS_MAX:
        raise invalid("duration_in_months", f"must be 1 to {DURATION_IN_MONTHS_MAX}")
    return duration, months


def _check_max_redemptions(
    request: subscription_pb2.CreateCouponRequest | subscription_pb2.CreatePromotionCodeRequest,
) -> None:
    """Absent is unlimited; given, it is 1 or more (Stripe's positive integer: an explicit 0
    is not "no limit")."""
    if request.HasField("max_redemptions") and request.max_redemptions < 1:
        raise invalid("max_redemptions", "must be 1 or more")


def new_coupon(request: subscription_pb2.CreateCouponRequest) -> NewCoupon:
    """Exactly one of percent_off and amount_off (with its currency); a duration, and
    duration_in_months with repeating only."""
    requested = coupon_id("id", request.id, required=False)
    percent = amount = currency = None
    if request.percent_off:
        if request.HasField("amount_off") or request.currency:
            raise invalid("amount_off", "give percent_off or amount_off, not both")
        percent = percent_off(request.percent_off)
    elif request.HasField("amount_off"):
        currency = validation.currency("currency", request.currency)
        amount = validation.amount("amount_off", request.amount_off, currency)
    else:
        raise missing("percent_off")
    duration, months = coupon_duration(request)
    _check_max_redemptions(request)
    if not 0 <= request.redeem_by <= FROZEN_TIME_MAX:
        raise invalid("redeem_by", "must be unix seconds")
    return NewCoupon(
        requested_id=requested,
        name=validation.text("name", request.name, maximum=COUPON_NAME_LENGTH_MAX),
        percent_off=percent,
        amount_off=amount,
        currency=currency,
        duration=duration,
        duration_in_months=months,
        max_redemptions=request.max_redemptions or None,
        redeem_by=request.redeem_by or None,
        metadata=validation.metadata("metadata", request.metadata),
    )


def preview_request(
    request: subscription_pb2.CreateInvoicePreviewRequest, rules: CurrencyRules
) -> PreviewRequest:
    """CreateInvoicePreview's shape checks: a customer or a subscription, the proposed
    changes named `subscription_details.<field>`."""
    customer_id = validation.object_id(
        "customer", request.customer, Prefix.CUSTOMER, required=False
    )
    subscription_id = validation.object_id(
        "subscription", request.subscription, Prefix.SUBSCRIPTION, required=False
    )
    if not customer_id and not subscription_id:
        raise missing("customer")
    details = request.subscription_details
    prefix = "subscription_details."
    behavior = member(
        f"{prefix}proration_behavior",
        details.proration_behavior,
        PRORATIONS,
        subscription_pb2.ProrationBehavior,
    )
    if details.proration_date < 0:
        raise invalid(f"{prefix}proration_date", "must be unix seconds")
    return PreviewRequest(
        customer_id=customer_id,
        subscription_id=subscription_id,
        items=item_changes(details.items, rules, prefix),
        proration=behavior,
        proration_date=details.proration_date or None,
    )


def invoice_item_changes(request: subscription_pb2.UpdateInvoiceItemRequest) -> InvoiceItemChanges:
    """UpdateInvoiceItem's shape checks (the item's own, with its currency, are
    paycore.subscription.invoice_items.update_item's)."""
    amount = request.amount if request.HasField("amount") else None
    if amount == 0:
        raise invalid("amount", "must not be zero (negative is a credit)")
    quantity = None
    if request.HasField("quantity"):
        quantity = item_quantity("quantity", request.quantity)
    description = None
    if request.HasField("description"):
        description = validation.text(
            "description", request.description, maximum=DESCRIPTION_LENGTH_MAX
        )
    return InvoiceItemChanges(
        amount=amount,
        quantity=quantity,
        description=description,
        metadata=metadata_change(request),
    )
