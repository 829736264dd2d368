"""Customer domain objects: what the service and repositories exchange (never proto messages).

A card number only ever travels as a `Secret` (masked repr); no object here other than
`CardInput`, `CheckedCard` and `ChargeableCard` holds it, and none holds the cvc past
`CardInput`."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from paycore.records import MetadataChange, Stored
from paycore.search import FieldKind
from paycore.secret import Secret
from paycore.subscription.models import Discount


class CardBrand(Enum):
    AMEX = "amex"
    DINERS = "diners"
    DISCOVER = "discover"
    JCB = "jcb"
    MASTERCARD = "mastercard"
    UNIONPAY = "unionpay"
    VISA = "visa"
    UNKNOWN = "unknown"


class CardFunding(Enum):
    CREDIT = "credit"
    DEBIT = "debit"
    PREPAID = "prepaid"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Address:
    line1: str = ""
    line2: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    country: str = ""


@dataclass(frozen=True)
class NewCustomer:
    email: str
    name: str
    description: str
    phone: str
    address: Address
    metadata: dict[str, str]
    test_clock_id: str | None
    """The test clock its subscriptions are billed on (CreateCustomer's, as Stripe's)."""


@dataclass(frozen=True)
class CustomerChanges:
    """An update: None leaves a field as it is."""

    email: str | None = None
    name: str | None = None
    description: str | None = None
    phone: str | None = None
    address: Address | None = None
    # "" clears the default; None leaves it.
    default_payment_method: str | None = None
    metadata: MetadataChange = field(default_factory=MetadataChange)
    discount: DiscountChoice | None = None
    """A coupon or promotion code whose discount replaces the customer's (None keeps it)."""


@dataclass(frozen=True)
class DiscountChoice:
    """A coupon (`coupon_id`) or a promotion code (`promotion_code_id`) to redeem: one of them."""

    coupon_id: str = ""
    promotion_code_id: str = ""


@dataclass(frozen=True)
class PaymentMethodChanges:
    """UpdatePaymentMethod: None leaves a field as it is."""

    name: str | None = None
    email: str | None = None
    phone: str | None = None
    address: Address | None = None
    exp_month: int | None = None
    exp_year: int | None = None
    metadata: MetadataChange = field(default_factory=MetadataChange)


@dataclass(frozen=True)
class Customer(NewCustomer, Stored):
    """A customer as stored: what it was created with (or changed to), whose it is, its id,
    default payment method and creation time."""

    default_payment_method: str | None
    discount: Discount | None = None
    """The coupon redeemed onto the customer (its subscriptions without a discount of their
    own take it; paycore.subscription.discounts), None for none."""
    discount_id: str | None = None
    """The stored discount's "di_..." as read from the customer's row (reads add `discount`,
    with its coupon, only to the customers that have one: no second query for the others)."""


@dataclass(frozen=True)
class BillingDetails:
    name: str = ""
    email: str = ""
    phone: str = ""
    address: Address = field(default_factory=Address)


@dataclass(frozen=True)
class CardInput:
    """A card as the buyer typed it, unchecked."""

    number: Secret
    exp_month: int
    exp_year: int
    cvc: Secret
    wallet: str = ""
    """"apple_pay" | "google_pay" for a digital wallet's token (number: the DPAN), else ""."""
    cryptogram: Secret = field(default_factory=lambda: Secret(""))
    """The wallet token's one-time cryptogram: held for the charge, never stored."""


@dataclass(frozen=True)
class CheckedCard:
    """A card that passed paycore.customer.cards.check_card; the cvc is gone."""

    number: Secret
    exp_month: int
    exp_year: int
    brand: CardBrand
    last4: str
    country: str
    funding: CardFunding
    wallet: str = ""


@dataclass(frozen=True)
class Card:
    """What is known of a stored card without its number."""

    brand: CardBrand
    last4: str
    exp_month: int
    exp_year: int
    fingerprint: str
    country: str
    funding: CardFunding
    wallet: CardWallet | None = None
    """Set when the card came from a wallet token."""


class WalletType(Enum):
    APPLE_PAY = "apple_pay"
    GOOGLE_PAY = "google_pay"


@dataclass(frozen=True)
class CardWallet:
    type: WalletType
    dynamic_last4: str
    """The device account number's last four digits (also the card's last4)."""


@dataclass(frozen=True)
class PaymentMethod(Stored):
    type: str
    card: Card
    billing_details: BillingDetails
    customer_id: str | None
    detached: bool
    metadata: dict[str, str]
    setup_usage: str | None = None
    """"off_session" | "on_session" once a SetupIntent saved it (paycore.payment.setup)."""
    network_token: str | None = None
    """A wallet card's network token from the PSP, once a SetupIntent saved it: charges it
    without its cryptogram. Never rendered."""
    payout_account: str | None = None
    """Set when the card is registered as a payee's external account (paycore.payout's
    CreatePayoutCard): "" the merchant's own, "acct_..." a seller's. Such a card is no
    customer's and takes that payee's instant payouts."""
    payout_currency: str | None = None
    """A payout card's currency: its payouts are in it only (None for any other card)."""
    payout_default: bool = False
    """The payout card is its payee's default for `payout_currency`."""


@dataclass(frozen=True)
class UnsavedCard:
    """A test payment method made for one request (`pm_card_visa`:
    paycore.customer.test_methods), written by that request's first transaction."""

    card: CheckedCard
    fingerprint: str
    number_sealed: bytes


@dataclass(frozen=True)
class ChargeableCard:
    """A card with its number, as the payment flow hands it to a PSP: a stored one, or a test
    payment method's not yet written (`unsaved`)."""

    payment_method_id: str
    customer_id: str | None  # the customer it is attached to, None if not attached
    number: Secret  # decrypted from the vault
    exp_month: int
    exp_year: int
    brand: str  # "visa", "mastercard", ...
    last4: str
    fingerprint: str
    country: str  # issuing country or ""
    wallet: str = ""  # "apple_pay" | "google_pay" | ""
    cryptogram: Secret | None = None  # a wallet token's, held until its charge (never stored)
    network_token: str = ""  # the PSP's reusable token of a wallet card a setup saved
    unsaved: UnsavedCard | None = None  # a test payment method's, until its request saves it


@dataclass(frozen=True)
class FirstPaymentMethod:
    """CreateCustomer's payment_method, attached to the new customer: a stored one, or a test
    payment method made for the request (`test_card`, written in its transaction); with
    `default`, the customer's invoice_settings.default_payment_method too."""

    payment_method_id: str
    default: bool
    test_card: ChargeableCard | None = None


CUSTOMER_SEARCH_FIELDS = {
    "email": FieldKind.TEXT,
    "name": FieldKind.TEXT,
    "phone": FieldKind.TEXT,
    "description": FieldKind.TEXT,
    "created": FieldKind.NUMBER,
    "metadata": FieldKind.METADATA,
}
"""What SearchCustomers' query may name (Stripe's customer search fields but its test clock's)."""
