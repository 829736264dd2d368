"""The one error catalogue: every stable reason code, its gRPC status and its message.

Every exception class in server/ (tests/test_errors_tree.py checks this tree against the code,
so a new class must be drawn here; module paths are under paycore):

    Exception
    ├── PaycoreError              root of everything paycore raises on purpose
    │   ├── ConfigurationError    a process cannot start (bad or missing settings)
    │   │   └── EmbeddedServerError  tools.embedded: the dev PostgreSQL/Redis cannot start
    │   ├── InvariantViolation    a guarantee of the code did not hold: a bug (invariant())
    │   │   └── IllegalMove       a status move a state machine's table forbids
    │   │       ├── IllegalIntentTransition  payment.machine: a payment intent's
    │   │       ├── IllegalSetupTransition   payment.setup.machine: a setup intent's
    │   │       └── IllegalDisputeTransition dispute.machine: a dispute's
    │   ├── ApiError              an answer to a caller: reason -> gRPC status + ErrorInfo
    │   │                         (REST renders it as {"error": {type, code, message, param}})
    │   └── IllegalTransition     executor.machine: an execution state move the table forbids
    ├── PspError                  psp.client: a PSP call that gave no result
    │   ├── PspTransientError     nothing happened: safe to retry with the same key
    │   ├── PspTimeout            it may or may not have happened: resolve with lookup()
    │   └── PspRejected           a permanent refusal that is not a decline
    ├── VaultError                customer.vault: a sealed card number that does not open
    ├── EdgeError                 edge.errors: an HTTP error answer of the REST edge
    ├── RouteNotFound             edge.routes: no route for the path (404)
    ├── MethodNotAllowed          edge.routes: the path exists, not with that verb (405)
    ├── PspFailure                tools.psp.requests: the simulator's error answer
    ├── MoveRefused               storage.moves: a logical shard move that cannot start
    ├── PreviewRollback           subscription.preview: leaves an invoice preview's transaction
    ├── OSError
    │   └── ForbiddenAddress      webhooks.addresses: an endpoint resolving to a refused address
    ├── ValueError
    │   ├── MalformedId           ids: not an id of the expected kind
    │   ├── JsonRejected          transcoding: JSON that does not fit the message
    │   └── UnknownEventType      events.outbox: a type not in events.types (a bug)
    └── RuntimeError
        ├── LedgerRejected        payment.money: the ledger refused a pay-in transfer (a bug)
        └── ReportUnavailable     reconciliation.report: the PSP's report cannot be read now

Domain code raises `ApiError(Reason.X, param=..., **template_fields)` and never imports grpc;
the server's error interceptor turns it into a status with a `google.rpc.ErrorInfo` detail.
"""

from __future__ import annotations

import re
from enum import Enum, IntEnum, StrEnum


class PaycoreError(Exception):
    """Root of the paycore exception tree."""


class ConfigurationError(PaycoreError):
    """The process cannot start with the settings it was given."""


class InvariantViolation(PaycoreError):
    """What the code guarantees did not hold: a bug (`paycore.invariants.invariant`)."""


class IllegalMove(InvariantViolation):
    """A status move that a state machine's table forbids, raised before it is written; each
    machine names its `subject`."""

    subject = "an object"

    def __init__(self, object_id: str, current: Enum, wanted: Enum) -> None:
        super().__init__(f"{self.subject} {object_id} cannot move from {current} to {wanted}")
        self.current = current
        self.wanted = wanted


class Status(IntEnum):
    """gRPC status codes, mirrored so that domain code does not depend on grpc."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


class ErrorType(StrEnum):
    """Stripe's error families, rendered by the REST edge as error.type."""

    INVALID_REQUEST = "invalid_request_error"
    AUTHENTICATION = "authentication_error"
    PERMISSION = "permission_error"
    RATE_LIMIT = "rate_limit_error"
    IDEMPOTENCY = "idempotency_error"
    CARD = "card_error"
    API = "api_error"


class Reason(Enum):
    """Stable reason codes (ErrorInfo.reason). A value: (status, type, message template)."""

    PARAMETER_MISSING = (Status.INVALID_ARGUMENT, ErrorType.INVALID_REQUEST, "{param} is required")
    PARAMETER_INVALID = (Status.INVALID_ARGUMENT, ErrorType.INVALID_REQUEST, "{param}: {detail}")
    PARAMETER_TOO_LONG = (
        Status.INVALID_ARGUMENT,
        ErrorType.INVALID_REQUEST,
        "{param} must be at most {maximum} characters",
    )
    PARAMETER_UNKNOWN_ENUM = (
        Status.INVALID_ARGUMENT,
        ErrorType.INVALID_REQUEST,
        "{param} must be one of {accepted} (not {value})",
    )
    ID_MALFORMED = (
        Status.INVALID_ARGUMENT,
        ErrorType.INVALID_REQUEST,
        "{param} is not a valid {prefix}_... id",
    )
    IDEMPOTENCY_KEY_INVALID = (
        Status.INVALID_ARGUMENT,
        ErrorType.IDEMPOTENCY,
        "idempotency-key must be one value of 1 to 255 printable ASCII characters",
    )
    AMOUNT_TOO_LARGE = (
        Status.INVALID_ARGUMENT,
        ErrorType.INVALID_REQUEST,
        "{amount_subject} must be at most {maximum} (minor units of {currency})",
    )
    RESOURCE_MISSING = (Status.NOT_FOUND, ErrorType.INVALID_REQUEST, "No such {object}: '{id}'")
    LEDGER_ACCOUNT_EXISTS = (
        Status.ALREADY_EXISTS,
        ErrorType.INVALID_REQUEST,
        "A ledger account {code} in {currency} exists with another type or other flags: {id}",
    )
    API_KEY_MISSING = (
        Status.UNAUTHENTICATED,
        ErrorType.AUTHENTICATION,
        "No API key provided: send `authorization: Bearer <key>`",
    )
    API_KEY_INVALID = (Status.UNAUTHENTICATED, ErrorType.AUTHENTICATION, "Invalid API key")
    API_KEY_EXPIRED = (
        Status.UNAUTHENTICATED,
        ErrorType.AUTHENTICATION,
        "Expired API key provided: it was rolled and its overlap has ended; use the key that"
        " replaced it",
    )
    API_KEY_LAST_SECRET = (
        Status.FAILED_PRECONDITION,
        ErrorType.INVALID_REQUEST,
        "{id} is the account's last secret key: roll it (POST /v1/api_keys/{id}/roll) to replace"
        " it; revoked, it would leave no key that can manage the account",
    )
    API_KEY_ROLLED = (
        Status.FAILED_PRECONDITION,
        ErrorType.INVALID_REQUEST,
        "{id} was already rolled (replaced by {replacement}) and a key rolls once: roll"
        " {replacement} instead, or revoke {id} (POST /v1/api_keys/{id}/revoke) to end its"
        " overlap now",
    )
    PERMISSION_DENIED = (Status.PERMISSION_DENIED, ErrorType.PERMISSION, "{detail}")
    RATE_LIMITED = (
        Status.RESOURCE_EXHAUSTED,
        ErrorType.RATE_LIMIT,
        "Too many {rate_class} requests for this key; retry after {retry_after_ms} ms",
    )
    IDEMPOTENCY_KEY_REUSED = (
        Status.FAILED_PRECONDITION,
        ErrorType.IDEMPOTENCY,
        "idempotency-key was already used for a different request",
    )
    IDEMPOTENCY_KEY_IN_USE = (
        Status.ABORTED,
        ErrorType.IDEMPOTENCY,
        "A request with this idempotency-key is still in progress; retry later",
    )
    # Customers and payment methods (server/paycore/customer). Card reasons are Stripe's codes,
    # so the REST edge's `code` reads as Stripe's; messages never carry the card's digits.
    INVALID_NUMBER = (
        Status.INVALID_ARGUMENT,
        ErrorType.CARD,
        "{param} is not a valid card number: {detail}",
    )
    INVALID_EXPIRY_MONTH = (
        Status.INVALID_ARGUMENT,
        ErrorType.CARD,
        "{param} must be a month between 1 and 12",
    )
    INVALID_EXPIRY_YEAR = (
        Status.INVALID_ARGUMENT,
        ErrorType.CARD,
        "{param} must be a four-digit year at most {maximum}",
    )
    EXPIRED_CARD = (
        Status.INVALID_ARGUMENT,
        ErrorType.CARD,
        "The card expired at the end of {month:02d}/{year} ({param})",
    )
    INVALID_CVC = (
        Status.INVALID_ARGUMENT,
        ErrorType.CARD,
        "{param} must be {digits} digits for this card",
    )
    PAYMENT_METHOD_ALREADY_ATTACHED = (
        Status.FAILED_PRECONDITION,
        ErrorType.INVALID_REQUEST,
        "The payment method {id} is already attached to another customer",
    )
    PAYMENT_METHOD_NOT_ATTACHED = (
        Status.FAILED_PRECONDITION,
        ErrorType.INVALID_REQUEST,
        "The payment method {id} is not attached to {customer}",
    )
    PAYMENT_METHOD_IS_PAYOUT_CARD = (
        Status.FAILED_PRECONDITION,
        ErrorType.INVALID_REQUEST,
        "The payment method {id} is a payout card of {holder}; it cannot belong to a customer",
    )
    PAYMENT_METHOD_DETACHED = (
        Status.FAILED_PRECONDITION,
        ErrorType.INVALID_REQUEST,
        "The payment method {id} was detached from its customer and can no longer be used",
    )
    INTERNAL_ERROR = (
        Status.INTERNAL,
        ErrorType.API,
        "An internal error occurred (request {request_id})",
    )
    UNAVAILABLE = (Status.UNAVAILABLE, ErrorType.API, "{detail}")
    # Pay-in (payment intents, payments, refunds, the executor).
    PAYMENT_INTENT_UNEXPECTED_STATE = (
        Status.FAILED_PRECONDITION,
        ErrorType.INVALID_REQUEST,
        "This PaymentIntent is {status}; {action} needs it to be one of: {expected}",
    )
    SETUP_INTENT_UNEXPECTED_STATE = (
        Status.FAILED_PRECONDITION,
        ErrorType.INVALID_REQUEST,
        "This SetupIntent is {status}; {action} needs it to be one of: {expected}",
    )
    CHARGE_ALREADY_CAPTURED = (
        Status.FAILED_PRECONDITION,
        ErrorType.INVALID_REQUEST,
        "Charge {id} has already been captured",
    )
    CAPTURE_EXCEEDS_AUTHORIZED = (
        Status.INVALID_ARGUMENT,
        ErrorType.INVALID_REQUEST,
        "{param} {amount} is more than the {capturable} still capturable",
    )
    REFUND_EXCEEDS_CAPTURED = (
        Status.INVALID_ARGUMENT,
        ErrorType.INVALID_REQUEST,
        "Refund {param} {amount} is more than the {remaining} that remains refundable",
    )
    CHARGE_ALREADY_REFUNDED = (
        Status.FAILED_PRECONDITION,
        ErrorType.INVALID_REQUEST,
        "The {object} {id} has been refunded in full already",
    )
    REFUND_NOT_CANCELABLE = (
        Status.FAILED_PRECONDITION,
        ErrorType.INVALID_REQUEST,
        "The refund {id} cannot be canceled: {detail}",
    )
    CHARGE_NOT_REFUNDABLE = (
        Status.FAILED_PRECONDITION,
        ErrorType.INVALID_REQUEST,
        "The {object} {id} is {status}: only a paid one can be refunded",
    )
    CHARGE_DISPUTED = (
        Status.FAILED_PRECONDITION,
        ErrorType.INVALID_REQUEST,
        "The charge of {object} {id} is disputed: it cannot be refunded",
    )
    CHECKOUT_EXISTS = (
        Status.ALREADY_EXISTS,
        ErrorType.INVALID_REQUEST,
        "A payment with checkout_id {checkout_id} exists already",
    )
    PAYMENT_ORDER_ID_EXISTS = (
        Status.ALREADY_EXISTS,
        ErrorType.INVALID_REQUEST,
        "A payment order with payment_order_id {payment_order_id} exists already",
    )
    PAYMENT_METHOD_CUSTOMER_MISMATCH = (
        Status.INVALID_ARGUMENT,
        ErrorType.INVALID_REQUEST,
        "The payment method {payment_method} is attached to a customer other than {customer}",
    )
    PAYMENT_METHOD_CUSTOMER_REQUIRED = (
        Status.INVALID_ARGUMENT,
        ErrorType.INVALID_REQUEST,
        "The payment method {payment_method} belongs to the customer {customer}: name that "
        "customer in customer to pay with it",
    )
    EXECUTION_NOT_DEAD_LETTERED = (
        Status.FAILED_PRECONDITION,
        ErrorType.INVALID_REQUEST,
        "The execution {id} is not dead-lettered",
    )
    # Events (server/paycore/events): a method of a served service that is not built yet.
    METHOD_NOT_IMPLEMENTED = (
        Status.UNIMPLEMENTED,
        ErrorType.API,
        "{method} is not implemented yet",
    )
    # fraud (issue 5)
    REVIEW_CLOSED = (
        Status.FAILED_PRECONDITION,
        ErrorType.INVALID_REQUEST,
        "Review {id} is already closed ({status})",
    )
    # Subscriptions (server/paycore/subscription): the catalogue and test clocks.
    PRODUCT_INACTIVE = (
        Status.INVALID_ARGUMENT,
        ErrorType.INVALID_REQUEST,
        "The product {id} is inactive: {param} must name an active product",
    )
    TEST_CLOCK_LIVEMODE = (
        Status.FAILED_PRECONDITION,
        ErrorType.INVALID_REQUEST,
        "Test clocks are for test mode only; merchant {id} is live",
    )
    # Subscriptions (server/paycore/subscription): subscriptions, invoices, billing.
    CURRENCY_MISMATCH = (
        Status.INVALID_ARGUMENT,
        ErrorType.INVALID_REQUEST,
        "{param} is in {currency}; every item of a subscription is in {expected}",
    )
    TEST_CLOCK_ADVANCING = (
        Status.FAILED_PRECONDITION,
        ErrorType.INVALID_REQUEST,
        "The test clock {id} is still advancing; wait until it is ready",
    )
    CARD_DECLINED = (
        # PayInvoice's attempt declined: Stripe's code, so the REST edge answers it as Stripe
        # does (402 card_error card_declined); an intent's decline is a result instead, its
        # last_payment_error (paycore.payment.completion).
        Status.FAILED_PRECONDITION,
        ErrorType.CARD,
        "{detail} The invoice {invoice} stays open.",
    )
    INVOICE_NO_PAYMENT_METHOD = (
        # PayInvoice with nothing to charge: no payment_method given, none on the subscription
        # or as the customer's invoice default. Refused before anything changes (no attempt).
        Status.FAILED_PRECONDITION,
        ErrorType.INVALID_REQUEST,
        "This customer has no attached payment source or default payment method; give"
        " {param} or set the subscription's or the customer's default to pay the invoice {id}",
    )
    INVOICE_UNEXPECTED_STATE = (
        Status.FAILED_PRECONDITION,
        ErrorType.INVALID_REQUEST,
        "The invoice {id} is {status}; it cannot be {action}",
    )
    INVOICE_NOT_EDITABLE = (
        # UpdateInvoiceItem / DeleteInvoiceItem of an item an invoice has taken already
        # (Stripe's invoice_not_editable).
        Status.FAILED_PRECONDITION,
        ErrorType.INVALID_REQUEST,
        "The invoice item {id} is on the invoice {invoice} already; it can no longer be {action}",
    )
    INVOICE_UPCOMING_NONE = (
        # CreateInvoicePreview of a subscription that will make no more invoices (ended, or
        # canceling at its period end); Stripe's invoice_upcoming_none (404).
        Status.NOT_FOUND,
        ErrorType.INVALID_REQUEST,
        "No upcoming invoices for {param} {id}",
    )
    SUBSCRIPTION_ENDED = (
        Status.FAILED_PRECONDITION,
        ErrorType.INVALID_REQUEST,
        "The subscription {id} has ended ({status}) and can no longer be changed",
    )
    # Hosted payment pages (issue 21, server/paycore/checkout).
    CHECKOUT_SESSION_UNEXPECTED_STATE = (
        Status.FAILED_PRECONDITION,
        ErrorType.INVALID_REQUEST,
        "The checkout session {id} is {status}; only an open session can be {action}",
    )
    # Currencies (issue 19, server/paycore/currency): rules, rates, conversion.
    AMOUNT_NOT_ALLOWED = (
        Status.INVALID_ARGUMENT,
        ErrorType.INVALID_REQUEST,
        "{amount_subject} must be a multiple of {multiple} (minor units of {currency})"
        " for a {purpose}",
    )
    AMOUNT_TOO_SMALL = (
        Status.INVALID_ARGUMENT,
        ErrorType.INVALID_REQUEST,
        "{amount_subject} must be at least {minimum} (minor units of {currency}){converted}",
    )
    CURRENCY_PAIR_UNSUPPORTED = (
        Status.INVALID_ARGUMENT,
        ErrorType.INVALID_REQUEST,
        "There is no exchange rate from {base} to {quote}: {param} cannot settle in {quote}",
    )
    EXCHANGE_RATE_STALE = (
        Status.FAILED_PRECONDITION,
        ErrorType.INVALID_REQUEST,
        "The exchange rate from {base} to {quote} is {age_seconds} s old (at most "
        "{max_age_seconds} s): no conversion until it is refreshed",
    )
    # Pay-out (issue 13, server/paycore/payout): balances, bank accounts, payouts.
    BALANCE_INSUFFICIENT = (
        Status.FAILED_PRECONDITION,
        ErrorType.INVALID_REQUEST,
        "{amount} {currency} is more than can be paid out now ({available} {currency})",
    )
    # Separate charges and transfers (docs/connect.md).
    TRANSFER_ALREADY_REVERSED = (
        Status.FAILED_PRECONDITION,
        ErrorType.INVALID_REQUEST,
        "The transfer {id} has been reversed in full already",
    )
    NO_BALANCE_IN_CURRENCY = (
        Status.FAILED_PRECONDITION,
        ErrorType.INVALID_REQUEST,
        "There is no balance in {currency} to pay out",
    )
    BANK_ACCOUNT_MISSING = (
        Status.FAILED_PRECONDITION,
        ErrorType.INVALID_REQUEST,
        "There is no default bank account for {currency}: create one or name a destination",
    )
    BANK_ACCOUNT_EXISTS = (
        # Stripe's code: one bank account per holder, currency and routing and account number.
        Status.ALREADY_EXISTS,
        ErrorType.INVALID_REQUEST,
        "A bank account with this routing number and account number exists already for"
        " {holder} in {currency}: {id}",
    )
    BANK_ACCOUNT_ERRORED = (
        Status.FAILED_PRECONDITION,
        ErrorType.INVALID_REQUEST,
        "A payout to the bank account {id} failed; add a new bank account to replace it",
    )
    PAYOUT_CURRENCY_MISMATCH = (
        Status.INVALID_ARGUMENT,
        ErrorType.INVALID_REQUEST,
        "{param} is in {expected}; the payout is in {currency}",
    )
    PAYOUT_METHOD_UNSUPPORTED = (
        Status.INVALID_ARGUMENT,
        ErrorType.INVALID_REQUEST,
        "{detail}",
    )
    PAYOUT_DESTINATION_NOT_EXTERNAL = (
        Status.INVALID_ARGUMENT,
        ErrorType.INVALID_REQUEST,
        "{id} is not an external account of {holder}: a payout goes to the payee's own bank"
        " account or a debit card registered for it with CreatePayoutCard, never to a"
        " customer's payment method",
    )
    PAYOUT_CARD_EXISTS = (
        Status.FAILED_PRECONDITION,
        ErrorType.INVALID_REQUEST,
        "The card {id} is registered already as the payout card of {holder}",
    )
    PAYOUT_CARD_CURRENCY_FIXED = (
        Status.INVALID_ARGUMENT,
        ErrorType.INVALID_REQUEST,
        "The payout card {id} takes payouts in {expected}, not {currency}: a card's currency is"
        " set when it is registered; register another card for {currency}",
    )
    PAYOUT_NOT_CANCELABLE = (
        Status.FAILED_PRECONDITION,
        ErrorType.INVALID_REQUEST,
        "The payout {id} cannot be canceled: {detail}",
    )
    PAYOUT_NOT_REVERSIBLE = (
        Status.FAILED_PRECONDITION,
        ErrorType.INVALID_REQUEST,
        "The payout {id} cannot be reversed: {detail}",
    )
    # Disputes (server/paycore/dispute, issue 22).
    DISPUTE_PAST_DUE = (
        Status.FAILED_PRECONDITION,
        ErrorType.INVALID_REQUEST,
        "The evidence of dispute {id} was due by {due_by} (unix seconds)",
    )
    DISPUTE_EVIDENCE_SUBMITTED = (
        Status.FAILED_PRECONDITION,
        ErrorType.INVALID_REQUEST,
        "The evidence of dispute {id} was submitted already: it is sent once",
    )
    DISPUTE_EVIDENCE_TOO_LONG = (
        Status.INVALID_ARGUMENT,
        ErrorType.INVALID_REQUEST,
        "{param}: the evidence holds {length} characters; at most {maximum}",
    )
    DISPUTE_NOT_OPEN = (
        Status.FAILED_PRECONDITION,
        ErrorType.INVALID_REQUEST,
        "The dispute {id} is {status}: {action} needs one awaiting the merchant's response",
    )
    DISPUTE_PSP_REFUSED = (
        Status.FAILED_PRECONDITION,
        ErrorType.INVALID_REQUEST,
        "The PSP refused the dispute {id}'s {action}: {detail}",
    )
    # Webhooks (server/paycore/webhooks, issue 15).
    WEBHOOK_ENDPOINT_LIMIT = (
        Status.FAILED_PRECONDITION,
        ErrorType.INVALID_REQUEST,
        "A merchant has at most {maximum} webhook endpoints; delete one first",
    )
    WEBHOOK_ENDPOINT_DISABLED = (
        Status.FAILED_PRECONDITION,
        ErrorType.INVALID_REQUEST,
        "The webhook endpoint {id} is disabled; enable it first",
    )
    # Security and failure behaviour (issue 23).
    AUTHENTICATION_THROTTLED = (
        Status.RESOURCE_EXHAUSTED,
        ErrorType.RATE_LIMIT,
        "Too many failed authentications from this address; retry after {retry_after_ms} ms",
    )
    DATABASE_UNAVAILABLE = (
        Status.UNAVAILABLE,
        ErrorType.API,
        # Never "nothing was changed": a phased call's first transaction (a payout sent, a
        # refund made at the PSP) may have committed before the database went away.
        "The database is unavailable ({detail}); retry after {retry_after_ms} ms. A change "
        "cut off may have been made in part: retry it with the same idempotency-key, which "
        "finishes it once",
    )
    DATABASE_CONFLICT = (
        Status.ABORTED,
        ErrorType.API,
        "The request conflicted with a concurrent one ({detail}); retry after {retry_after_ms} ms",
    )
    SHARD_UNKNOWN = (
        Status.NOT_FOUND,
        ErrorType.INVALID_REQUEST,
        "No such object: {id} names logical shard {shard}, beyond this deployment's {count}",
    )
    REQUEST_TOO_LARGE = (
        Status.RESOURCE_EXHAUSTED,
        ErrorType.INVALID_REQUEST,
        "The request is {size} bytes; this method takes at most {maximum}",
    )
    HEADER_INVALID = (
        Status.INVALID_ARGUMENT,
        ErrorType.INVALID_REQUEST,
        "{param} must be printable ASCII without control characters",
    )
    # reconciliation (issue 14)
    DISCREPANCY_RESOLVED = (
        Status.FAILED_PRECONDITION,
        ErrorType.INVALID_REQUEST,
        "The discrepancy {id} is already resolved ({action})",
    )
    DISCREPANCY_ACTION_UNFIT = (
        Status.FAILED_PRECONDITION,
        ErrorType.INVALID_REQUEST,
        "{action} does not fit the discrepancy {id}: {detail}",
    )

    @property
    def status(self) -> Status:
        return self.value[0]

    @property
    def error_type(self) -> ErrorType:
        return self.value[1]

    @property
    def template(self) -> str:
        return self.value[2]


class ApiError(PaycoreError):
    """An answer to the caller, with a stable reason and, for input errors, the parameter."""

    is_replay = False
    """The error a stored idempotent request ended with, given again (`replayed`): the answer
    says so (`paycore-idempotent-replayed`, the edge's `Idempotent-Replayed`)."""

    def __init__(
        self,
        reason: Reason,
        *,
        param: str = "",
        metadata: dict[str, str] | None = None,
        **fields: object,
    ) -> None:
        self.reason = reason
        self.param = param
        self.metadata = dict(metadata or {})
        subject = amount_subject(param)
        self.message = reason.template.format(param=param, amount_subject=subject, **fields)
        super().__init__(self.message)

    @classmethod
    def replayed(
        cls, reason: Reason, *, param: str, message: str, metadata: dict[str, str] | None
    ) -> ApiError:
        """The error a stored idempotent request ended with, as it was first answered."""
        error = cls.__new__(cls)
        error.reason, error.param, error.message = reason, param, message
        error.metadata = dict(metadata or {})
        error.is_replay = True
        Exception.__init__(error, message)
        return error

    @property
    def status(self) -> Status:
        return self.reason.status

    def __repr__(self) -> str:
        return f"ApiError({self.reason.name}, param={self.param!r}, message={self.message!r})"


_INDEXES = re.compile(r"\[[^\]]*\]")


def amount_subject(param: str) -> str:
    """What an amount's rule (AMOUNT_TOO_LARGE, AMOUNT_TOO_SMALL, AMOUNT_NOT_ALLOWED) says is
    wrong: `param` when it is an amount (`amount`, `payment_orders[0].amount`,
    `amount_to_capture`), else the amount it makes, which is what the minor units are of (a
    `quantity` times a price, a session's `line_items`, an intent's amount in a new `currency`)."""
    name = _INDEXES.sub("", param).rsplit(".", 1)[-1]
    if "amount" in name:
        return param
    return f"The amount with the {param} given" if param else "The amount"


def missing(param: str) -> ApiError:
    return ApiError(Reason.PARAMETER_MISSING, param=param)


def invalid(param: str, detail: str) -> ApiError:
    return ApiError(Reason.PARAMETER_INVALID, param=param, detail=detail)


def not_found(object_name: str, object_id: str, param: str = "id") -> ApiError:
    return ApiError(Reason.RESOURCE_MISSING, param=param, object=object_name, id=object_id)
