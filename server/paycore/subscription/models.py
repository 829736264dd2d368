"""Subscription domain objects: what the service and repositories exchange (never proto
messages). Times are unix seconds (UTC); amounts are integer minor units of `currency`."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from paycore.records import MetadataChange, Stored


class Interval(Enum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


# Stripe's limit: a recurring price bills at least once a year (365 days, 52 weeks, 12 months).
INTERVAL_COUNT_MAX: dict[Interval, int] = {
    Interval.DAY: 365,
    Interval.WEEK: 52,
    Interval.MONTH: 12,
    Interval.YEAR: 1,
}


@dataclass(frozen=True)
class Recurring:
    """Bills every `interval_count` intervals (1..INTERVAL_COUNT_MAX[interval])."""

    interval: Interval
    interval_count: int


@dataclass(frozen=True)
class Period:
    """[start, end) in unix seconds."""

    start: int
    end: int


@dataclass(frozen=True)
class NewProduct:
    name: str
    description: str
    active: bool
    metadata: dict[str, str]


@dataclass(frozen=True)
class Product(NewProduct, Stored):
    """A product as stored: what it was created with, whose it is, its id and creation time."""


@dataclass(frozen=True)
class NewPrice:
    product_id: str
    unit_amount: int
    currency: str
    # None for a one-time price.
    recurring: Recurring | None
    nickname: str
    active: bool
    metadata: dict[str, str]
    lookup_key: str = ""
    """The merchant's name for it (Stripe's), unique among its prices; "" for none."""


@dataclass(frozen=True)
class Price(NewPrice, Stored):
    """A price as stored: what it was created with, whose it is, its id and creation time."""


class TestClockStatus(Enum):
    __test__ = False  # not a pytest test class, despite its name

    READY = "ready"
    ADVANCING = "advancing"
    INTERNAL_FAILURE = "internal_failure"


@dataclass(frozen=True)
class NewTestClock:
    __test__ = False  # not a pytest test class, despite its name
    frozen_time: int
    name: str
    metadata: dict[str, str]


@dataclass(frozen=True)
class TestClock(NewTestClock, Stored):
    """A test clock as stored: what it was created with (its frozen time as advanced), whose
    it is, its id, status and creation time."""

    __test__ = False  # not a pytest test class, despite its name
    status: TestClockStatus


# --- coupons and discounts ----------------------------------------------------------------


class CouponDuration(Enum):
    ONCE = "once"
    REPEATING = "repeating"
    FOREVER = "forever"


PERCENT_SCALE = 100
"""percent_off is stored in hundredths of a percent: 12.5% is 1250, 100% is 10000."""
PERCENT_OFF_MAX = 100 * PERCENT_SCALE


@dataclass(frozen=True)
class NewCoupon:
    """A coupon as asked for: percent_off (hundredths of a percent) or amount_off with its
    currency, never both."""

    requested_id: str
    """The merchant's id for it; "" to generate one."""
    name: str
    percent_off: int | None
    amount_off: int | None
    currency: str | None
    duration: CouponDuration
    duration_in_months: int | None
    max_redemptions: int | None
    redeem_by: int | None
    metadata: dict[str, str]


@dataclass(frozen=True)
class Coupon(Stored):
    name: str
    percent_off: int | None
    amount_off: int | None
    currency: str | None
    duration: CouponDuration
    duration_in_months: int | None
    max_redemptions: int | None
    redeem_by: int | None
    times_redeemed: int
    metadata: dict[str, str]
    valid: bool
    """Redeemable now: not deleted, under max_redemptions, not past redeem_by (real time)."""


@dataclass(frozen=True)
class Discount:
    """A coupon applied to a subscription: from `start` to `end` (None: no end; a `once`
    coupon's discount is removed once an invoice has taken it)."""

    id: str
    merchant_id: str
    coupon: Coupon
    customer_id: str
    subscription_id: str
    start: int
    end: int | None
    promotion_code_id: str | None = None
    """The "promo_..." redeemed for it (None: the coupon was given)."""


@dataclass(frozen=True)
class Restrictions:
    """A promotion code's conditions (Stripe's `restrictions`), checked at redemption."""

    first_time_transaction: bool = False
    minimum_amount: int | None = None
    """Minor units of minimum_amount_currency the purchase must come to (None: no minimum)."""
    minimum_amount_currency: str | None = None


@dataclass(frozen=True)
class Purchase:
    """What a promotion code is redeemed for: its amount before the discount and currency
    (None: no amount, a customer's discount), and the customer (None: a guest)."""

    amount: int | None
    currency: str | None
    customer_id: str | None


@dataclass(frozen=True)
class NewPromotionCode:
    coupon_id: str
    code: str
    """"" to generate one."""
    active: bool
    max_redemptions: int | None
    expires_at: int | None
    metadata: dict[str, str]
    restrictions: Restrictions = Restrictions()


@dataclass(frozen=True)
class PromotionCode(Stored):
    code: str
    coupon_id: str
    active: bool
    max_redemptions: int | None
    expires_at: int | None
    times_redeemed: int
    metadata: dict[str, str]
    coupon: Coupon | None = None
    restrictions: Restrictions = Restrictions()
    """Its coupon (deleted ones too), added by the read (None only before)."""


@dataclass(frozen=True)
class CouponChanges:
    """UpdateCoupon's fields (Stripe's Coupon.modify: its name and metadata, never its terms);
    None leaves the name unchanged, "" clears it."""

    name: str | None
    metadata: MetadataChange


@dataclass(frozen=True)
class ProductChanges:
    """UpdateProduct's fields; None leaves one unchanged."""

    name: str | None
    description: str | None
    active: bool | None
    metadata: MetadataChange


@dataclass(frozen=True)
class PriceChanges:
    """UpdatePrice's fields (Stripe's: never the amount or currency); None leaves one unchanged."""

    active: bool | None
    nickname: str | None
    metadata: MetadataChange
    lookup_key: str | None = None
    """"" removes it."""
    transfer_lookup_key: bool = False
    """Stripe's: the lookup key moves here from the price holding it (else that is refused)."""


@dataclass(frozen=True)
class PromotionCodeChanges:
    active: bool | None
    metadata: MetadataChange


# --- subscriptions and invoices ------------------------------------------------------------


class SubscriptionStatus(Enum):
    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    UNPAID = "unpaid"
    CANCELED = "canceled"
    INCOMPLETE = "incomplete"
    INCOMPLETE_EXPIRED = "incomplete_expired"

    @property
    def ended(self) -> bool:
        return self in (SubscriptionStatus.CANCELED, SubscriptionStatus.INCOMPLETE_EXPIRED)


class InvoiceStatus(Enum):
    DRAFT = "draft"
    OPEN = "open"
    PAID = "paid"
    UNCOLLECTIBLE = "uncollectible"
    VOID = "void"


class BillingReason(Enum):
    SUBSCRIPTION_CREATE = "subscription_create"
    SUBSCRIPTION_CYCLE = "subscription_cycle"
    SUBSCRIPTION_UPDATE = "subscription_update"
    MANUAL = "manual"
    """A one-off invoice the merchant made (Invoice.create): no subscription."""


class ProrationBehavior(Enum):
    CREATE_PRORATIONS = "create_prorations"
    NONE = "none"
    ALWAYS_INVOICE = "always_invoice"


class FinalAction(Enum):
    CANCEL = "cancel"
    MARK_UNPAID = "mark_unpaid"


@dataclass(frozen=True)
class BillingSettings:
    """Dunning: days from each failed attempt to the next retry, then the final action."""

    retry_schedule_days: tuple[int, ...] = (3, 5, 7)
    final_action: FinalAction = FinalAction.CANCEL


@dataclass(frozen=True)
class SubscriptionItem:
    """An item as stored, with the price it bills (read with it: an item's message and the
    events' subscriptions carry the Price object, as Stripe's do)."""

    id: str
    subscription_id: str
    price: Price
    quantity: int
    created: int
    metadata: dict[str, str]

    @property
    def price_id(self) -> str:
        return self.price.id


@dataclass(frozen=True)
class PlacedItem:
    """A subscription item with its subscription's current period, which its message shows
    (SubscriptionItem's routes answer it)."""

    item: SubscriptionItem
    period: Period

    @property
    def id(self) -> str:
        return self.item.id


@dataclass(frozen=True)
class NewSubscriptionItem:
    """CreateSubscriptionItem's: a price added to a subscription, prorated as `proration`."""

    subscription_id: str
    price_id: str
    quantity: int
    metadata: dict[str, str]
    proration: ProrationBehavior
    proration_date: int | None = None
    """Stripe's proration_date: prorated as though added then (None: now)."""


@dataclass(frozen=True)
class Subscription(Stored):
    customer_id: str
    status: SubscriptionStatus
    currency: str
    recurring: Recurring
    billing_cycle_anchor: int
    current_period: Period
    trial_start: int | None
    trial_end: int | None
    cancel_at_period_end: bool
    canceled_at: int | None
    ended_at: int | None
    default_payment_method_id: str | None
    latest_invoice_id: str | None
    test_clock_id: str | None
    credit_balance: int
    next_action_at: int | None
    metadata: dict[str, str]
    items: tuple[SubscriptionItem, ...] = ()
    discount: Discount | None = None


@dataclass(frozen=True)
class NewItem:
    """A subscription item as asked for: its price (checked) and quantity (1 or more)."""

    price: Price
    quantity: int


class PaymentBehavior(Enum):
    """How CreateSubscription collects the first invoice (Stripe's payment_behavior)."""

    ALLOW_INCOMPLETE = "allow_incomplete"
    """Charged in the call; a decline leaves the subscription incomplete."""
    DEFAULT_INCOMPLETE = "default_incomplete"
    """Not charged: its payment intent waits for the customer to confirm it."""
    ERROR_IF_INCOMPLETE = "error_if_incomplete"
    """Charged in the call; a decline refuses the create (nothing stays active)."""


TRIAL_DAYS_MAX = 730
"""The longest trial, in days from the subscription's start."""


@dataclass(frozen=True)
class NewSubscription:
    customer_id: str
    items: tuple[tuple[str, int], ...]
    """(price id, quantity) per item, as requested; the service checks the prices. The price
    id of an item given with price_data is "" (its price is made in the create)."""
    trial_period_days: int
    default_payment_method_id: str | None
    test_clock_id: str | None
    metadata: dict[str, str]
    payment_behavior: PaymentBehavior = PaymentBehavior.ALLOW_INCOMPLETE
    save_default_payment_method: bool = False
    """Stripe's payment_settings.save_default_payment_method=on_subscription: the payment
    method that pays the first invoice becomes the subscription's default."""
    trial_end: int | None = None
    """Stripe's trial_end: the trial's end as a moment (unix seconds, checked against the
    subscription's clock), instead of trial_period_days."""
    price_data: tuple[tuple[int, NewPrice], ...] = ()
    """(item index, its price) of the items given with Stripe's price_data: the price is made
    inline (inactive) in the create's transaction."""
    item_metadata: tuple[dict[str, str], ...] = ()
    """Each item's own metadata, in `items`' order (Stripe's items[n][metadata]); () for
    none."""
    coupon_id: str = ""
    """A coupon whose discount the subscription takes ("" for none)."""
    promotion_code_id: str = ""
    """A promotion code ("promo_...") whose coupon it takes instead ("" for none)."""
    discount_prefix: str = ""
    """"discounts[0]." when the coupon or code came as Stripe's discounts[0][...]: refusals
    name that field."""
    cancel_at_period_end: bool = False
    """Stripe's: it cancels at its first period's end instead of renewing."""

    @property
    def has_trial(self) -> bool:
        return bool(self.trial_period_days or self.trial_end)


@dataclass(frozen=True)
class InvoiceLine:
    amount: int
    currency: str
    description: str
    price_id: str | None
    quantity: int
    subscription_item_id: str | None
    proration: bool
    period: Period
    id: str = ""
    """The stored line's "il_..." ("" until stored: the invoice's insert names it)."""
    created: int = 0
    """Unix seconds it was stored (0 until then)."""
    discount_amount: int = 0
    """What the invoice's discount took off this line (minor units, the line's sign)."""
    discount_id: str | None = None
    """That discount's "di_..." (None: none)."""
    subscription_id: str = ""
    """The "sub_..." of the invoice it is on ("" on a one-off invoice, and until stored)."""

    @property
    def type(self) -> str:
        """Stripe's source of the line: an item's charge for a period ("subscription"), or an
        invoice item ("invoiceitem": a one-off item, a proration, an amount carried)."""
        if self.subscription_item_id and not self.proration:
            return "subscription"
        return "invoiceitem"


@dataclass(frozen=True)
class Invoice(Stored):
    subscription_id: str
    """"sub_..."; "" for a one-off invoice (billing_reason manual)."""
    customer_id: str
    status: InvoiceStatus
    billing_reason: BillingReason
    currency: str
    number: str
    subtotal: int
    total: int
    amount_due: int
    amount_paid: int
    payment_intent_id: str | None
    attempt_count: int
    retry_count: int
    attempted_at: int | None
    next_payment_attempt: int | None
    charging: bool
    period: Period
    paid_at: int | None
    test_clock_id: str | None
    metadata: dict[str, str]
    lines: tuple[InvoiceLine, ...] = ()
    discount_id: str | None = None
    """The "di_..." the invoice took, None for none."""
    total_discount: int = 0
    """The sum of the lines' discount_amount: total = subtotal - total_discount."""
    # The customer's failed payment of it was reported (invoice.payment_failed), once.
    failure_reported: bool = False
    description: str = ""
    """The memo (Stripe's description); "" for none."""
    auto_advance: bool = True
    """Stripe's auto_advance: billing moves it on by itself (a subscription's invoices; a
    one-off draft an hour after it was made: paycore.subscription.one_off.advance); without
    it a one-off invoice is finalized and paid when the merchant asks."""
    finalized_at: int | None = None
    """Unix seconds of the move (Stripe's status_transitions; paid_at is the fourth); None
    until it happens."""
    voided_at: int | None = None
    marked_uncollectible_at: int | None = None


@dataclass(frozen=True)
class NewInvoice:
    """Invoice.create's: a one-off invoice of the customer's, draft, with (`include_pending`,
    Stripe's pending_invoice_items_behavior=include) the customer's pending invoice items that
    no subscription bills."""

    customer_id: str
    auto_advance: bool
    description: str
    metadata: dict[str, str]
    include_pending: bool
    currency: str = ""
    """"" for the customer's pending items' currency, else usd (Stripe's default currency)."""


@dataclass(frozen=True)
class InvoiceChanges:
    """UpdateInvoice's: None leaves a field as it is. Metadata changes on any invoice; the
    others only on a draft."""

    description: str | None
    auto_advance: bool | None
    metadata: MetadataChange


@dataclass(frozen=True)
class NewInvoiceItem:
    customer_id: str
    subscription_id: str
    """"sub_..." whose next invoice bills it; "" for the customer's next one-off invoice."""
    price_id: str | None
    quantity: int
    # Without a price: non-zero minor units in `currency`.
    amount: int
    currency: str
    description: str
    metadata: dict[str, str]


@dataclass(frozen=True)
class InvoiceItem(NewInvoiceItem, Stored):
    """An invoice item as stored: what it was created with, whose it is, its id, the invoice
    that took it up (None while pending) and creation time."""

    invoice_id: str | None
