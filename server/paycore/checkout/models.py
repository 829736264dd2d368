"""The checkout domain's types: a session, what creates one, and the hosted page's view."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from paycore.customer.models import Address
from paycore.records import Stored
from paycore.subscription.models import NewProduct

INTENT_SESSION_KEY = "checkout_session"
"""The metadata key paycore sets on a session's payment intent: the session's id."""


IF_REQUIRED = "if_required"
ALWAYS = "always"
"""Stripe's `customer_creation`s: a payment session needs no customer, so IF_REQUIRED makes
none; ALWAYS makes one of a guest's session when it completes."""


class SessionStatus(StrEnum):
    OPEN = "open"
    COMPLETE = "complete"
    EXPIRED = "expired"


@dataclass(frozen=True)
class LineItem:
    name: str
    unit_amount: int
    quantity: int
    price_id: str | None = None
    """The catalogue price the line was made from (Stripe's `line_items[i][price]`), if any."""
    id: str = ""
    """The stored line's "li_..." ("" until stored: the session's insert names it)."""
    product_id: str | None = None
    """The catalogue product of the line's price (`price`, or `price_data[product]`), if any."""
    price_nickname: str = ""
    """The catalogue price's nickname and metadata when the session was created (shown in the
    line's price object)."""
    price_metadata: dict[str, str] = field(default_factory=dict)
    inline: bool = False
    """A `price_data` line: its price (`price_id`, inactive) is made for it with the session."""
    product_data: NewProduct | None = None
    """A `price_data[product_data]` line's product, to be made with its price (None once
    made: `product_id` names it)."""

    @property
    def amount_total(self) -> int:
        return self.unit_amount * self.quantity


@dataclass(frozen=True)
class NewSession:
    """A checked CreateCheckoutSession request."""

    amount_total: int
    currency: str
    line_items: tuple[LineItem, ...]
    customer_id: str | None
    customer_email: str
    success_url: str
    cancel_url: str
    expires_at: int
    """Unix seconds, already within the allowed window."""
    description: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    coupon_id: str = ""
    """The discount asked for: a coupon, or (one at most) a promotion code ("" for none)."""
    promotion_code_id: str = ""
    amount_discount: int = 0
    """What the discount took off: amount_total is after it (the servicer's 0; the create
    sets it)."""
    client_reference_id: str = ""
    """Stripe's: the merchant's own reference for the session (an order or cart id); "" none."""
    intent_metadata: dict[str, str] = field(default_factory=dict)
    """Stripe's `payment_intent_data`: given to the payment intent the session creates, not
    kept with the session (the intent keeps them)."""
    receipt_email: str = ""
    transfer_group: str = ""
    customer_creation: str = IF_REQUIRED
    """Stripe's: ALWAYS makes a guest's session a customer when it completes."""
    locale: str = ""
    """Stripe's page language, kept and shown ("" none given)."""
    allow_promotion_codes: bool | None = None
    """Stripe's, kept and shown (None: not given); the page takes no code yet."""

    @property
    def amount_subtotal(self) -> int:
        return self.amount_total + self.amount_discount


@dataclass(frozen=True)
class CustomerDetails:
    """Stripe's `customer_details` of a complete session: who paid. A customer's email, name,
    phone and address as its row reads; a guest's email is the session's customer_email."""

    email: str
    name: str = ""
    phone: str = ""
    address: Address = field(default_factory=Address)
    tax_exempt: str = "none"
    """Stripe's tax status: paycore's customers carry none."""


@dataclass(frozen=True, kw_only=True)
class Session(NewSession, Stored):
    """A session as stored: what it was created with, whose it is, its id, status, payment
    intent and creation time."""

    status: SessionStatus
    """As shown: an open session whose intent succeeded reads complete, one past expires_at
    reads expired, before the worker records either (repository.session_of)."""
    payment_intent_id: str
    customer_details: CustomerDetails | None = None
    """None until the session is complete."""


@dataclass(frozen=True)
class HostedPage:
    """GetCheckoutPage: the session and what its page needs to take a card."""

    session: Session
    merchant_name: str
    publishable_key: str
    last_error_message: str
    intent_status: str
    last_error_code: str = ""
    """The decline's decline_code, else its code, lowercase; "" none."""
