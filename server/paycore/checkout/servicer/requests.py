"""CheckoutService requests -> checked checkout dataclasses; each failure an ApiError naming
the field, raised before anything changes."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from paycore import validation
from paycore.checkout.models import (
    ALWAYS,
    IF_REQUIRED,
    INTENT_SESSION_KEY,
    LineItem,
    NewSession,
    SessionStatus,
)
from paycore.errors import ApiError, Reason, invalid, missing
from paycore.ids import Prefix
from paycore.iso import amount_max
from paycore.runtime.messages import by_number_or_none, member
from paycore.subscription.models import NewProduct
from paycore.v1 import checkout_pb2

LINE_ITEMS_MAX = 100
QUANTITY_MAX = 1000
NAME_LENGTH_MAX = 250
EXPIRY_SECONDS_MIN = 30 * 60
EXPIRY_SECONDS_MAX = 24 * 3600
"""expires_at is 30 minutes to 24 hours ahead, as Stripe's."""
STATUSES = by_number_or_none(SessionStatus, checkout_pb2.CheckoutSessionStatus)


CUSTOMER_CREATIONS = (IF_REQUIRED, ALWAYS)
_LOCALE_NAMES = (
    "auto bg cs da de el en en-GB es es-419 et fi fil fr fr-CA hr hu id it ja ko lt lv ms mt nb"
    " nl pl pt pt-BR ro ru sk sl sv th tr vi zh zh-HK zh-TW"
)
LOCALES = frozenset(_LOCALE_NAMES.split())
"""Stripe's Checkout `locale`s."""

MODES = ("payment",)
"""Stripe's `mode`s a session takes: payments only (no subscription or setup sessions)."""


@dataclass(frozen=True)
class CataloguePrice:
    """What a line item's `price` names (read by the servicer): its product's name, its unit
    amount and currency, its product, nickname and metadata."""

    name: str
    unit_amount: int
    currency: str
    product_id: str = ""
    nickname: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Catalogue:
    """The merchant's objects a request's line items name, read before the request is checked:
    by line index, the price of `line_items[i].price` and the product name of
    `line_items[i].price_data.product`."""

    prices: Mapping[int, CataloguePrice]
    product_names: Mapping[int, str]


def new_session(
    request: checkout_pb2.CreateCheckoutSessionRequest,
    catalogue: Catalogue,
    now: float | None = None,
) -> NewSession:
    """The checked request. `catalogue` was read after `stripe_options` and `check_line_count`
    passed (the servicer checks them before it reads the line items' prices and products)."""
    currency = session_currency(request, catalogue)
    items = line_items(request, currency, catalogue)
    amount = validation.given(request, "amount")
    if items and amount:
        raise invalid("amount", "give either line_items or amount, not both")
    total = (
        sum(item.amount_total for item in items)
        if items
        else validation.required_amount("amount", amount, currency)
    )
    if total > amount_max(currency):
        raise ApiError(
            Reason.AMOUNT_TOO_LARGE,
            param="line_items",
            maximum=amount_max(currency),
            currency=currency,
        )
    customer = validation.object_id("customer", request.customer, Prefix.CUSTOMER, required=False)
    email = validation.email("customer_email", request.customer_email, required=False)
    if customer and email:
        raise invalid("customer_email", "give either customer or customer_email, not both")
    coupon, promotion_code = discount_of(request)
    intent_data = request.payment_intent_data
    return NewSession(
        amount_total=total,
        currency=currency,
        line_items=items,
        customer_id=customer or None,
        customer_email=email,
        success_url=validation.url("success_url", request.success_url),
        cancel_url=validation.url("cancel_url", request.cancel_url, required=False),
        expires_at=expires_at(request.expires_at, time.time() if now is None else now),
        description=session_description(request),
        metadata=validation.metadata("metadata", request.metadata),
        coupon_id=coupon,
        promotion_code_id=promotion_code,
        client_reference_id=validation.text(
            "client_reference_id",
            request.client_reference_id,
            maximum=CLIENT_REFERENCE_ID_LENGTH_MAX,
        ),
        intent_metadata=intent_metadata(intent_data.metadata),
        receipt_email=validation.email(
            "payment_intent_data.receipt_email", intent_data.receipt_email, required=False
        ),
        transfer_group=validation.text(
            "payment_intent_data.transfer_group",
            intent_data.transfer_group,
            maximum=validation.TRANSFER_GROUP_LENGTH_MAX,
        ),
        customer_creation=customer_creation(request),
        locale=locale(request.locale),
        allow_promotion_codes=allow_promotion_codes(request),
    )


def customer_creation(request: checkout_pb2.CreateCheckoutSessionRequest) -> str:
    """Stripe's `customer_creation`: if_required (left out) or always, for a session of no
    `customer` (whom it would make)."""
    given = request.customer_creation
    if given and given not in CUSTOMER_CREATIONS:
        raise invalid("customer_creation", f"must be one of {', '.join(CUSTOMER_CREATIONS)}")
    if given and request.customer:
        raise invalid("customer_creation", "give customer or customer_creation, not both")
    return given or IF_REQUIRED


def locale(value: str) -> str:
    if value and value not in LOCALES:
        raise invalid("locale", "must be auto or one of Stripe's Checkout locales (en, pt-BR, ...)")
    return value


def allow_promotion_codes(request: checkout_pb2.CreateCheckoutSessionRequest) -> bool | None:
    """Stripe's: kept and shown; not with `discounts`, as Stripe's."""
    if not request.HasField("allow_promotion_codes"):
        return None
    if request.allow_promotion_codes and request.discounts:
        raise invalid("allow_promotion_codes", "give allow_promotion_codes or discounts, not both")
    return request.allow_promotion_codes


def session_description(request: checkout_pb2.CreateCheckoutSessionRequest) -> str:
    """paycore's `description` or Stripe's `payment_intent_data[description]`: one text, shown
    on the page and given to the payment intent."""
    stripes = request.payment_intent_data.description
    if stripes and request.description:
        raise invalid(
            "payment_intent_data.description",
            "give description or payment_intent_data[description], not both",
        )
    if stripes:
        return validation.text(
            "payment_intent_data.description", stripes, maximum=validation.DESCRIPTION_LENGTH_MAX
        )
    return validation.description(request.description)


def intent_metadata(given: Mapping[str, str]) -> dict[str, str]:
    param = "payment_intent_data.metadata"
    if INTENT_SESSION_KEY in given:
        raise invalid(f"{param}[{INTENT_SESSION_KEY}]", "is set by paycore: the session's id")
    checked = validation.metadata(param, given)
    if len(checked) >= validation.METADATA_KEYS_MAX:
        raise invalid(param, f"at most {validation.METADATA_KEYS_MAX - 1} keys")
    return checked


COUPON_ID_LENGTH_MAX = 200
CLIENT_REFERENCE_ID_LENGTH_MAX = 200
"""Stripe's limit on a session's `client_reference_id`."""


def discount_of(request: checkout_pb2.CreateCheckoutSessionRequest) -> tuple[str, str]:
    """`discounts[0]`: a coupon's id or a promotion code's, one discount at most."""
    if len(request.discounts) > 1:
        raise invalid("discounts", "at most one discount")
    if not request.discounts:
        return "", ""
    wanted = request.discounts[0]
    if wanted.coupon and wanted.promotion_code:
        raise invalid("discounts[0].promotion_code", "give coupon or promotion_code, not both")
    coupon = validation.text("discounts[0].coupon", wanted.coupon, maximum=COUPON_ID_LENGTH_MAX)
    promotion_code = validation.object_id(
        "discounts[0].promotion_code", wanted.promotion_code, Prefix.PROMOTION_CODE, required=False
    )
    if not coupon and not promotion_code:
        raise missing("discounts[0].coupon")
    return coupon, promotion_code


def stripe_options(request: checkout_pb2.CreateCheckoutSessionRequest) -> None:
    """Stripe's `mode` and `payment_method_types`, which change nothing when they say what a
    session is anyway (a card payment)."""
    if request.mode and request.mode not in MODES:
        raise invalid("mode", "must be payment: paycore's checkout sessions take payments only")
    for index, kind in enumerate(request.payment_method_types):
        if kind != "card":
            raise invalid(f"payment_method_types[{index}]", "must be card, the only one")


def check_line_count(request: checkout_pb2.CreateCheckoutSessionRequest) -> None:
    if len(request.line_items) > LINE_ITEMS_MAX:
        raise invalid("line_items", f"at most {LINE_ITEMS_MAX} items")


def session_currency(
    request: checkout_pb2.CreateCheckoutSessionRequest, catalogue: Catalogue
) -> str:
    """`currency`, or, left out, the currency of the first line item that names one (a price's,
    `price_data.currency`), as Stripe's sessions take it. Without one, what is missing: a
    line's price, the line items (nor an amount), else the currency."""
    if request.currency:
        return validation.currency("currency", request.currency)
    for index, item in enumerate(request.line_items):
        if index in catalogue.prices:
            return catalogue.prices[index].currency
        if item.HasField("price_data"):
            param = f"line_items[{index}].price_data.currency"
            return validation.currency(param, item.price_data.currency)
        if not (item.price or item.name or item.HasField("unit_amount")):
            raise missing(f"line_items[{index}].price")
    if not request.line_items and not request.HasField("amount"):
        raise missing("line_items")
    raise missing("currency")


def line_items(
    request: checkout_pb2.CreateCheckoutSessionRequest, currency: str, catalogue: Catalogue
) -> tuple[LineItem, ...]:
    items = []
    for index, item in enumerate(request.line_items):
        param = f"line_items[{index}]"
        quantity = item.quantity if item.HasField("quantity") else 1
        if not 1 <= quantity <= QUANTITY_MAX:
            raise invalid(f"{param}.quantity", f"must be 1 to {QUANTITY_MAX}")
        name, unit_amount = _line_price(
            param,
            item,
            currency,
            catalogue.prices.get(index),
            catalogue.product_names.get(index, ""),
        )
        price = catalogue.prices.get(index)
        if price is None:
            inline = item.HasField("price_data")
            line = LineItem(
                name,
                unit_amount,
                quantity,
                product_id=item.price_data.product or None,
                inline=inline,
                product_data=_product_data(f"{param}.price_data", item.price_data, name)
                if inline
                else None,
            )
            items.append(line)
            continue
        line = LineItem(
            name,
            unit_amount,
            quantity,
            item.price,
            product_id=price.product_id,
            price_nickname=price.nickname,
            price_metadata=dict(price.metadata),
        )
        items.append(line)
    return tuple(items)


def _line_price(
    param: str,
    item: checkout_pb2.CheckoutLineItemParams,
    currency: str,
    price: CataloguePrice | None,
    product_name: str,
) -> tuple[str, int]:
    """A line's name and unit amount: given (`name`, `unit_amount`), a price's (`price`) or
    inline (`price_data`), exactly one of the three."""
    given = [
        form
        for form, present in (
            ("price", bool(item.price)),
            ("price_data", item.HasField("price_data")),
            ("name", bool(item.name or item.HasField("unit_amount"))),
        )
        if present
    ]
    if len(given) > 1:
        raise invalid(f"{param}.{given[1]}", f"give one of {given[0]} and {given[1]}, not both")
    if price is not None:
        if price.currency != currency:
            raise invalid(
                f"{param}.price", f"is in {price.currency}: the session's currency is {currency}"
            )
        return price.name, price.unit_amount
    if item.HasField("price_data"):
        return _price_data(f"{param}.price_data", item.price_data, currency, product_name)
    name = validation.text(f"{param}.name", item.name, maximum=NAME_LENGTH_MAX, required=True)
    unit_amount = validation.given(item, "unit_amount")
    return name, validation.required_amount(f"{param}.unit_amount", unit_amount, currency)


def _price_data(
    param: str, data: checkout_pb2.CheckoutPriceData, currency: str, product_name: str
) -> tuple[str, int]:
    given = validation.currency(f"{param}.currency", data.currency)
    if given != currency:
        raise invalid(f"{param}.currency", f"must be the session's currency, {currency}")
    if data.product and data.HasField("product_data"):
        raise invalid(f"{param}.product_data", "give one of product and product_data, not both")
    if data.product:
        name = product_name
    else:
        if not data.HasField("product_data"):
            raise missing(f"{param}.product_data")
        name = validation.text(
            f"{param}.product_data.name",
            data.product_data.name,
            maximum=NAME_LENGTH_MAX,
            required=True,
        )
    unit_amount = validation.given(data, "unit_amount")
    return name, validation.required_amount(f"{param}.unit_amount", unit_amount, currency)


def _product_data(param: str, data: checkout_pb2.CheckoutPriceData, name: str) -> NewProduct | None:
    """The product a price_data line's `product_data` makes (None for one of a `product`):
    inactive, as Stripe's made for a line."""
    if data.product:
        return None
    given = data.product_data
    param = f"{param}.product_data"
    return NewProduct(
        name=name,
        description=validation.text(
            f"{param}.description", given.description, maximum=validation.DESCRIPTION_LENGTH_MAX
        ),
        active=False,
        metadata=validation.metadata(f"{param}.metadata", given.metadata),
    )


def expires_at(value: int, now: float) -> int:
    if value == 0:
        return int(now) + EXPIRY_SECONDS_MAX
    if not now + EXPIRY_SECONDS_MIN <= value <= now + EXPIRY_SECONDS_MAX:
        raise invalid("expires_at", "must be 30 minutes to 24 hours from now (unix seconds)")
    return value


PROMOTION_CODE_LENGTH_MAX = 500


def typed_code(value: str) -> str:
    """A promotion code as the buyer typed it on the page (trimmed)."""
    return validation.text(
        "promotion_code", value, maximum=PROMOTION_CODE_LENGTH_MAX, required=True
    )


def session_id(value: str) -> str:
    return validation.object_id("id", value, Prefix.CHECKOUT_SESSION)


def status_filter(value: int) -> SessionStatus | None:
    return member("status", value, STATUSES, checkout_pb2.CheckoutSessionStatus)
