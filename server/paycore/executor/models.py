"""What the executor stores: an execution (one operation against the PSP) and its attempts."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

REQUIRES_ACTION = "requires_action"
"""The PSP's status of a charge or setup the buyer must authenticate first (3-D Secure)."""


class Operation(StrEnum):
    CHARGE = "charge"  # authorize and capture in one PSP call
    AUTHORIZE = "authorize"
    CAPTURE = "capture"
    VOID = "void"
    REFUND = "refund"
    PAYOUT = "payout"  # a payout to a bank account or debit card; psp_key is the po_ id
    SETUP = "setup"  # a SetupIntent's verification, no money moved (paycore.payment.setup)


PAY_IN_OPERATIONS = (
    Operation.CHARGE,
    Operation.AUTHORIZE,
    Operation.CAPTURE,
    Operation.VOID,
    Operation.REFUND,
)
"""The operations whose executions pay-in owns (paycore.payment.completion)."""


class ExecutionState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    RETRY_SCHEDULED = "retry_scheduled"
    UNKNOWN_OUTCOME = "unknown_outcome"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    DEAD_LETTERED = "dead_lettered"

    @property
    def terminal(self) -> bool:
        return self in _TERMINAL


_TERMINAL = frozenset(
    {ExecutionState.SUCCEEDED, ExecutionState.FAILED, ExecutionState.DEAD_LETTERED}
)


class AttemptKind(StrEnum):
    REQUEST = "request"
    STATUS_QUERY = "status_query"


class AttemptOutcome(StrEnum):
    IN_FLIGHT = "in_flight"
    SUCCEEDED = "succeeded"
    DECLINED = "declined"
    RETRYABLE_ERROR = "retryable_error"
    TIMEOUT = "timeout"
    NOT_FOUND = "not_found"


@dataclass(frozen=True)
class NewExecution:
    merchant_id: str
    operation: Operation
    amount: int
    currency: str
    # What the PSP deduplicates on; every attempt sends it.
    psp_key: str
    payment_intent_id: str | None = None
    payment_order_id: str | None = None
    refund_id: str | None = None
    payment_method_id: str | None = None
    psp_charge: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PspAnswer:
    """The PSP's final word on an execution, as stored (paycore.psp.client.PspResult)."""

    reference: str
    status: str
    amount: int
    decline_code: str = ""
    message: str = ""
    bypass_pending: bool = False
    """The captured funds are available at once (PspResult.bypass_pending)."""
    network_token: str = ""
    """A setup's network token of a wallet card (PspResult.network_token)."""
    authentication: str = ""
    """Status "requires_action" (3-D Secure): the PSP's authentication the buyer must answer
    (PspResult.authentication) and its page."""
    authentication_url: str = ""

    @property
    def declined(self) -> bool:
        return self.status in ("declined", "failed")

    @property
    def requires_action(self) -> bool:
        """The buyer must authenticate first: nothing was charged or verified."""
        return self.status == REQUIRES_ACTION


@dataclass(frozen=True, kw_only=True)
class ExecutionFilter:
    """Which executions a list reads: those of the state, payment order, payment intent and
    refund given (None or "": any), of one of `operations` when given."""

    state: ExecutionState | None = None
    payment_order_id: str = ""
    payment_intent_id: str = ""
    refund_id: str = ""
    operations: tuple[Operation, ...] = ()


@dataclass(frozen=True)
class Attempt:
    number: int
    kind: AttemptKind
    started: float
    finished: float | None
    outcome: AttemptOutcome
    error_code: str = ""
    error_message: str = ""


@dataclass(frozen=True, kw_only=True)
class Execution(NewExecution):
    """An execution as stored: what it was created from (psp_key its id unless the owner chose
    one), its id, where it stands against the PSP and creation time."""

    id: str
    state: ExecutionState
    attempt_count: int
    next_attempt: float | None
    lease_until: float | None
    psp_reference: str
    answer: PspAnswer | None
    failure_code: str
    failure_message: str
    created: int
    attempts: tuple[Attempt, ...] = ()

    @property
    def succeeded(self) -> bool:
        return self.state is ExecutionState.SUCCEEDED
