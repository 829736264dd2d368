"""Pay-in objects as stored (frozen dataclasses; the servicer renders them as messages)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from paycore.customer.models import Address, CardWallet
from paycore.errors import ErrorType, Reason
from paycore.records import MetadataChange, Stored
from paycore.search import FieldKind

PAYMENT_METHOD_TYPES = ("card",)
"""What intents and setups are paid with (Stripe's payment_method_types): cards, wallet tokens
included."""


class IntentStatus(StrEnum):
    REQUIRES_PAYMENT_METHOD = "requires_payment_method"
    REQUIRES_CONFIRMATION = "requires_confirmation"
    PROCESSING = "processing"
    REQUIRES_CAPTURE = "requires_capture"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"
    REQUIRES_ACTION = "requires_action"


class CaptureMethod(StrEnum):
    AUTOMATIC = "automatic"
    MANUAL = "manual"
    AUTOMATIC_ASYNC = "automatic_async"
    """Stripe's: captured at once, as AUTOMATIC (paycore's capture is never deferred)."""

    @property
    def at_once(self) -> bool:
        """Whether confirming captures (a charge), not only authorizes."""
        return self is not CaptureMethod.MANUAL


class SetupUsage(StrEnum):
    OFF_SESSION = "off_session"
    ON_SESSION = "on_session"


class PaymentStatus(StrEnum):
    CREATED = "created"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    PARTIALLY_SUCCEEDED = "partially_succeeded"
    FAILED = "failed"


class OrderStatus(StrEnum):
    NOT_STARTED = "not_started"
    EXECUTING = "executing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class RefundStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


FRAUD_SUSPECTED = "FRAUD_SUSPECTED"
BUYER_DECLINE_MESSAGE = "Your card was declined."


def buyer_message(code: str, message: str) -> str:
    """What the buyer's own client is told of a failed attempt: a fraud block as an ordinary
    decline (as card networks do), so that a card tester learns nothing from it; any other
    failure as it is. The merchant reads the real message."""
    return BUYER_DECLINE_MESSAGE if code == FRAUD_SUSPECTED else message


@dataclass(frozen=True)
class PaymentError:
    """Why the last attempt failed: a catalogue code (CARD_DECLINED, FRAUD_SUSPECTED, ...), the
    PSP's decline code (generic_decline, insufficient_funds, ...) and a message."""

    code: str
    decline_code: str = ""
    message: str = ""
    charge: str = ""
    """The failed charge ("ch_...": the PSP's, its attempt's, as ListCharges shows it), "" when
    the PSP named none (a fraud block, an error before it charged). Shown as Stripe's
    `last_payment_error.charge` and, while the intent has no paid charge, its `latest_charge`;
    never the intent's `psp_charge` (what refunds, disputes and the books take)."""

    def to_json(self) -> dict[str, str]:
        stored = {"code": self.code, "decline_code": self.decline_code, "message": self.message}
        return {**stored, "charge": self.charge} if self.charge else stored

    @property
    def failed_charge(self) -> str | None:
        return self.charge or None

    @property
    def type(self) -> str:
        """Stripe's error type (`last_payment_error.type`, what Stripe.js's quickstart tells a
        message to show by): the catalogue's for its codes, else `card_error` for the card's
        own failures (CARD_FAILURES, or any with a decline code), else `api_error`."""
        reason = Reason.__members__.get(self.code)
        if reason is not None:
            return reason.error_type.value
        if self.decline_code or self.code in CARD_FAILURES:
            return ErrorType.CARD.value
        return ErrorType.API.value


@dataclass(frozen=True)
class NextAction:
    """What the buyer must do before a confirmation goes on (3-D Secure): authenticate on the
    PSP's page `url`, which then sends them to `return_url`; `authentication` is the PSP's id
    of it, which the next confirmation names. Rendered as Stripe's
    next_action{type: redirect_to_url, redirect_to_url{url, return_url}}."""

    authentication: str
    url: str
    return_url: str = ""

    def to_json(self) -> dict[str, str]:
        return {
            "authentication": self.authentication,
            "url": self.url,
            "return_url": self.return_url,
        }

    @classmethod
    def from_json(cls, value: dict[str, str] | None) -> NextAction | None:
        return None if value is None else cls(**value)

    def way_back(self) -> NextAction | None:
        """What an intent or setup an update moves out of requires_action keeps of it: the
        confirmation's return_url alone, for the buyer still on the PSP's page, whose return
        (paycore.payment.authenticated.back_to_merchant) then goes on to the merchant's page;
        never the authentication, which no later confirmation or feed answer may take (and
        next_action is shown only in requires_action). None without a return_url."""
        return NextAction("", "", self.return_url) if self.return_url else None


@dataclass(frozen=True)
class Presence:
    """How a confirmation meets the buyer, for 3-D Secure: `off_session`, they are not there
    (a card that must authenticate is declined authentication_required instead of asking);
    `return_url`, where the authentication page sends them back to."""

    off_session: bool = False
    return_url: str = ""
    # Stripe's error_on_requires_action: a card that must authenticate declines
    # (authentication_required) instead of asking the buyer, who is there.
    error_on_requires_action: bool = False
    # A confirmation's setup_future_usage, set on the intent it confirms (None: unchanged).
    setup_future_usage: SetupUsage | None = None
    # Stripe's `setup_future_usage=""`: the intent's is unset (never with setup_future_usage).
    clear_setup_future_usage: bool = False
    # A confirmation's receipt_email, set on the intent it confirms ("" clears; None: unchanged).
    receipt_email: str | None = None

    def metadata(self) -> dict[str, str]:
        """As an execution's metadata (the executor sends it to the PSP with the charge)."""
        found = {
            "off_session": "true" if self.off_session else "",
            "return_url": self.return_url,
            "error_on_requires_action": "true" if self.error_on_requires_action else "",
        }
        return {name: value for name, value in found.items() if value}


ON_SESSION = Presence()


@dataclass(frozen=True)
class Risk:
    score: int
    decision: str  # allow | review | block
    reasons: tuple[str, ...]
    review: str = ""
    model_version: str = ""

    @property
    def held(self) -> bool:
        return self.decision == "review"

    @property
    def blocked(self) -> bool:
        return self.decision == "block"

    def to_json(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "decision": self.decision,
            "reasons": list(self.reasons),
            "review": self.review,
            "model_version": self.model_version,
        }

    @classmethod
    def from_json(cls, value: dict[str, Any] | None) -> Risk | None:
        if value is None:
            return None
        return cls(
            score=int(value["score"]),
            decision=str(value["decision"]),
            reasons=tuple(value["reasons"]),
            review=str(value.get("review", "")),
            model_version=str(value.get("model_version", "")),
        )


@dataclass(frozen=True)
class NewIntent:
    amount: int
    currency: str
    capture_method: CaptureMethod
    customer_id: str | None = None
    payment_method_id: str | None = None
    transfer_destination: str | None = None
    application_fee_amount: int = 0
    description: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    setup_future_usage: SetupUsage | None = None
    transfer_group: str = ""
    receipt_email: str = ""

    def intent(
        self, merchant_id: str, intent_id: str, status: IntentStatus, created: int
    ) -> Intent:
        """The intent as created from this, at `created` (seconds)."""
        return Intent(
            id=intent_id,
            merchant_id=merchant_id,
            amount=self.amount,
            currency=self.currency,
            status=status,
            capture_method=self.capture_method,
            customer_id=self.customer_id,
            payment_method_id=self.payment_method_id,
            amount_capturable=0,
            amount_received=0,
            amount_refunded=0,
            fee=0,
            transfer_destination=self.transfer_destination,
            application_fee_amount=self.application_fee_amount,
            description=self.description,
            last_error=None,
            risk=None,
            psp_charge=None,
            hold_transfer_id=None,
            execution_id=None,
            canceled_at=None,
            cancellation_reason=None,
            metadata=dict(self.metadata),
            created=created,
            setup_future_usage=self.setup_future_usage,
            transfer_group=self.transfer_group,
            receipt_email=self.receipt_email,
        )


@dataclass(frozen=True)
class IntentChanges:
    """An UpdatePaymentIntent's fields: None leaves the intent's as it is."""

    amount: int | None = None
    currency: str | None = None
    customer_id: str | None = None
    payment_method_id: str | None = None
    description: str | None = None
    capture_method: CaptureMethod | None = None
    metadata: MetadataChange = field(default_factory=MetadataChange)
    setup_future_usage: SetupUsage | None = None
    # Stripe's `setup_future_usage=""`: the intent's is unset (never with setup_future_usage).
    clear_setup_future_usage: bool = False
    transfer_group: str | None = None
    receipt_email: str | None = None


@dataclass(frozen=True)
class Intent(Stored):
    amount: int
    currency: str
    status: IntentStatus
    capture_method: CaptureMethod
    customer_id: str | None
    payment_method_id: str | None
    amount_capturable: int
    amount_received: int
    amount_refunded: int
    fee: int
    transfer_destination: str | None
    application_fee_amount: int
    description: str
    last_error: PaymentError | None
    risk: Risk | None
    psp_charge: str | None
    hold_transfer_id: str | None
    execution_id: str | None
    canceled_at: int | None
    cancellation_reason: str | None
    metadata: dict[str, str]
    # The subscription invoice it pays (set by paycore.payment.off_session).
    invoice_id: str | None = None
    # Its charge is disputed (a chargeback: paycore.dispute); refunds are refused.
    disputed: bool = False
    # The authentication the buyer was last asked for (3-D Secure); shown while requires_action.
    next_action: NextAction | None = None
    # Stripe's: its payment method is saved for this use once it succeeds (or is authorized).
    setup_future_usage: SetupUsage | None = None
    # Stripe's label grouping the payment with the transfers that pay it out ("" none).
    transfer_group: str = ""
    # Where the receipt is sent ("" none); its charges' until UpdateCharge sets their own.
    receipt_email: str = ""

    def platform_fee(self, received: int) -> int:
        """What the platform keeps of `received` for a destination charge (never more)."""
        return min(received, self.application_fee_amount)


@dataclass(frozen=True)
class NewOrder:
    payment_order_id: str
    seller_account: str
    amount: int
    currency: str
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class NewPayment:
    checkout_id: str
    payment_method_id: str
    customer_id: str | None
    buyer_info: dict[str, str]
    orders: tuple[NewOrder, ...]
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Order(NewOrder, Stored):
    """A payment order as stored: what it was asked for, whose it is, its id, its payment, what
    its execution came to and creation time."""

    payment_id: str
    status: OrderStatus
    amount_refunded: int
    fee: int
    psp_reference: str
    failure_code: str
    decline_code: str
    failure_message: str
    execution_id: str | None
    # Its charge is disputed (a chargeback: paycore.dispute); refunds are refused.
    disputed: bool = False


@dataclass(frozen=True)
class Payment(Stored):
    checkout_id: str
    status: PaymentStatus
    buyer_info: dict[str, str]
    customer_id: str | None
    payment_method_id: str
    risk: Risk | None
    failure_code: str
    failure_message: str
    metadata: dict[str, str]
    orders: tuple[Order, ...] = ()


@dataclass(frozen=True)
class Refund(Stored):
    payment_intent_id: str | None
    payment_order_id: str | None
    amount: int
    currency: str
    reason: str
    status: RefundStatus
    failure_reason: str
    execution_id: str | None
    metadata: dict[str, str]
    # A destination charge's refund: what it took back from the seller (reverse_transfer) and
    # gave back to it of the application fee (refund_application_fee); None: not asked for.
    transfer_reversal_amount: int | None = None
    application_fee_refund_amount: int | None = None
    # Read, never written (repository.REFUNDS): the "ch_..." its execution refunds, and its
    # balance transaction once the refund's money is posted.
    charge_id: str | None = None
    balance_transaction_id: str | None = None


class SetupStatus(StrEnum):
    REQUIRES_PAYMENT_METHOD = "requires_payment_method"
    REQUIRES_CONFIRMATION = "requires_confirmation"
    REQUIRES_ACTION = "requires_action"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"


@dataclass(frozen=True)
class NewSetupIntent:
    """A CreateSetupIntent's checked fields (`payment_method_id` may be a test payment method's
    name until the request's first transaction writes it)."""

    usage: SetupUsage
    customer_id: str | None = None
    payment_method_id: str | None = None
    description: str = ""
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SetupChanges:
    """An UpdateSetupIntent's fields: None leaves the setup's as it is (`payment_method_id`
    may be a test payment method's name until the update's transaction writes it)."""

    description: str | None = None
    payment_method_id: str | None = None
    customer_id: str | None = None
    metadata: MetadataChange = field(default_factory=MetadataChange)


@dataclass(frozen=True)
class SetupIntent(Stored):
    """Stripe's SetupIntent (paycore.payment.setup): a payment method verified at the PSP and
    saved for later use; no money moves."""

    status: SetupStatus
    usage: SetupUsage
    customer_id: str | None
    payment_method_id: str | None
    description: str
    last_setup_error: PaymentError | None
    execution_id: str | None
    cancellation_reason: str | None
    metadata: dict[str, str]
    next_action: NextAction | None = None
    """The authentication the buyer was last asked for (3-D Secure); shown while
    requires_action."""

    @property
    def payment_method_types(self) -> tuple[str, ...]:
        return PAYMENT_METHOD_TYPES


# PSP decline codes that Stripe reports under their own error code (else card_declined).
OWN_DECLINE_CODES = {
    "expired_card": "EXPIRED_CARD",
    "incorrect_cvc": "INCORRECT_CVC",
    "processing_error": "PROCESSING_ERROR",
    # Off-session, a card that must authenticate (Stripe: code and decline_code alike).
    "authentication_required": "AUTHENTICATION_REQUIRED",
}
CARD_FAILURES = frozenset(
    {
        *OWN_DECLINE_CODES.values(),
        FRAUD_SUSPECTED,
        "PAYMENT_INTENT_AUTHENTICATION_FAILURE",
        "SETUP_INTENT_AUTHENTICATION_FAILURE",
    }
)
"""The codes of a card's own failures that the error catalogue does not list: `card_error`."""


class ChargeStatus(StrEnum):
    SUCCEEDED = "succeeded"
    PENDING = "pending"
    FAILED = "failed"


@dataclass(frozen=True)
class ChargeCard:
    """The card a charge was made on, as its payment method stored it."""

    brand: str
    last4: str
    exp_month: int
    exp_year: int
    funding: str
    country: str
    wallet: CardWallet | None = None
    """Set when the card came from a wallet token (its payment method's)."""


@dataclass(frozen=True)
class PaymentMethodDetails:
    card: ChargeCard
    type: str = "card"


@dataclass(frozen=True)
class ChargeOutcome:
    """Stripe's `outcome` of a charge: the network's answer and the fraud check's level."""

    type: str
    network_status: str
    risk_level: str
    risk_score: int
    seller_message: str
    reason: str


@dataclass(frozen=True)
class Shipping:
    """Stripe's shipping details of a charge (UpdateCharge)."""

    address: Address
    name: str
    phone: str = ""
    carrier: str = ""
    tracking_number: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, value: dict[str, Any] | None) -> Shipping | None:
        if value is None:
            return None
        return cls(**{**value, "address": Address(**value["address"])})


@dataclass(frozen=True)
class ChargeDetails:
    """What UpdateCharge set of a charge (`charge_details`): None follows its intent's (a
    charge has no shipping but its own)."""

    description: str | None = None
    metadata: dict[str, str] | None = None
    receipt_email: str | None = None
    shipping: Shipping | None = None


@dataclass(frozen=True, kw_only=True)
class ChargeAttempt(Stored):
    """What paycore stores of one PSP attempt of an intent (its charge or authorization
    execution, `id` the PSP's ch_...), with the intent's, card's, dispute's and balance
    transaction's parts a Charge shows (paycore.payment.charges derives the Charge)."""

    operation: str
    """charge | authorize (paycore.executor.models.Operation)."""
    state: str
    """The execution's state (paycore.executor.models.ExecutionState)."""
    amount: int
    currency: str
    payment_method_id: str | None
    decline_code: str
    psp_message: str
    failure_code: str
    failure_message: str
    intent: Intent
    card: ChargeCard | None
    dispute_id: str | None
    balance_transaction_id: str | None
    refunds: tuple[Refund, ...] = ()
    details: ChargeDetails = field(default_factory=ChargeDetails)


@dataclass(frozen=True)
class ChargeChanges:
    """An UpdateCharge's fields: None (an empty MetadataChange) leaves the charge's as it is."""

    description: str | None = None
    receipt_email: str | None = None
    metadata: MetadataChange = field(default_factory=MetadataChange)
    shipping: Shipping | None = None


@dataclass(frozen=True, kw_only=True)
class Charge(Stored):
    """Stripe's Charge: `id` the PSP's ch_..., `created` the attempt's; derived from its
    attempt (paycore.payment.charges), but for what UpdateCharge set (`ChargeDetails`)."""

    amount: int
    amount_captured: int
    amount_refunded: int
    currency: str
    captured: bool
    paid: bool
    refunded: bool
    status: ChargeStatus
    payment_intent_id: str
    customer_id: str | None
    payment_method_id: str | None
    payment_method_details: PaymentMethodDetails | None
    balance_transaction_id: str | None
    outcome: ChargeOutcome | None
    failure_code: str
    failure_message: str
    disputed: bool
    dispute_id: str | None
    metadata: dict[str, str]
    description: str
    application_fee_amount: int
    transfer_destination: str | None
    refunds: tuple[Refund, ...]
    receipt_email: str = ""
    transfer_group: str = ""
    shipping: Shipping | None = None
    application_fee_id: str | None = None
    """The succeeded destination charge's application fee ("fee_..."), if it kept one."""


INTENT_SEARCH_FIELDS = {
    "status": FieldKind.TEXT,
    "currency": FieldKind.TEXT,
    "customer": FieldKind.TEXT,
    "description": FieldKind.TEXT,
    "amount": FieldKind.NUMBER,
    "created": FieldKind.NUMBER,
    "metadata": FieldKind.METADATA,
}
"""What SearchPaymentIntents' query may name (Stripe's payment intent search fields)."""

CHARGE_SEARCH_FIELDS = {
    "amount": FieldKind.NUMBER,
    "currency": FieldKind.TEXT,
    "status": FieldKind.TEXT,
    "customer": FieldKind.TEXT,
    "payment_intent": FieldKind.TEXT,
    "created": FieldKind.NUMBER,
    "metadata": FieldKind.METADATA,
}
"""What SearchCharges' query may name (a subset of Stripe's charge search fields)."""


@dataclass(frozen=True, kw_only=True)
class ApplicationFee(Stored):
    """The fee a platform kept on a destination charge (Stripe's ApplicationFee), read from
    the captured intent (its id the intent's under the fee_ prefix) and its refunds."""

    account: str
    """The seller (the charge's transfer destination) whose share paid it."""
    amount: int
    amount_refunded: int
    """What refunds with refund_application_fee and the fee's own refunds gave back."""
    currency: str
    payment_intent_id: str
    refunds: tuple[FeeRefund, ...] = ()
    """Its own refunds (CreateApplicationFeeRefund), newest first."""
    charge: str = ""
    """The "ch_..." it was taken from (the intent's latest charge)."""


@dataclass(frozen=True, kw_only=True)
class FeeRefund(Stored):
    """Some of an application fee given back to the seller (Stripe's fee_refund, fr_)."""

    payment_intent_id: str
    """The charge whose fee it refunds (the fee's id is this one's under fee_)."""
    amount: int
    currency: str
    balance_transaction: str
    metadata: dict[str, str]


@dataclass(frozen=True)
class NewFeeRefund:
    amount: int | None
    """None: all that is left of the fee."""
    metadata: dict[str, str]


@dataclass(frozen=True)
class ApplicationFeeFilter:
    payment_intent_id: str = ""
    account: str = ""
