"""The webhooks domain's types: what endpoints.py, deliveries.py, delivering.py and the
repository exchange. No protobuf, no rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from paycore.events.types import is_merchant_event_type
from paycore.records import MetadataChange, Stored
from paycore.secret import Secret

ALL_EVENTS = "*"


class EndpointStatus(StrEnum):
    ENABLED = "enabled"
    DISABLED = "disabled"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class NewEndpoint:
    url: str
    enabled_events: tuple[str, ...]
    description: str
    metadata: dict[str, str]
    api_version: str | None = field(default=None, kw_only=True)
    """Stripe's API version given on create (stored and shown only); None when none was."""


@dataclass(frozen=True)
class Endpoint(NewEndpoint, Stored):
    """An endpoint as stored: what it was created with (or changed to), whose it is, its id,
    status and creation time."""

    status: EndpointStatus

    def wants(self, event_type: str) -> bool:
        """Whether the endpoint is sent events of `event_type`: never the operators' ones
        (paycore.events.types.OPERATOR_EVENT_TYPES), even with `*`."""
        if not is_merchant_event_type(event_type):
            return False
        return ALL_EVENTS in self.enabled_events or event_type in self.enabled_events


@dataclass(frozen=True)
class EndpointChange:
    """UpdateWebhookEndpoint: None (or empty) leaves a field as it is."""

    url: str | None = None
    enabled_events: tuple[str, ...] = ()
    status: EndpointStatus | None = None
    description: str | None = None
    metadata: MetadataChange = field(default_factory=MetadataChange)


@dataclass(frozen=True)
class EndpointWithSecret:
    """The answer of a create or a roll: the only time the secret is shown."""

    endpoint: Endpoint
    secret: Secret


@dataclass(frozen=True)
class Deleted:
    id: str


@dataclass(frozen=True)
class Attempt:
    number: int
    attempted: int
    """Unix seconds."""
    response_status: int
    duration_ms: int
    response_body: str
    error: str


@dataclass(frozen=True)
class Delivery(Stored):
    event_id: str
    endpoint_id: str
    event_type: str
    status: DeliveryStatus
    attempt_count: int
    last_attempt: int
    next_attempt: int
    """Unix seconds; 0 when none is scheduled."""
    last_response_status: int
    last_error: str
    attempts: tuple[Attempt, ...] = ()


@dataclass(frozen=True)
class DeliveryFilter:
    endpoint_id: str = ""
    event_id: str = ""
    status: DeliveryStatus | None = None


@dataclass(frozen=True)
class SigningKeys:
    """The secrets a delivery is signed with: the current one, and the previous one while a
    roll's overlap lasts."""

    current: Secret
    previous: Secret | None = None


@dataclass(frozen=True)
class ClaimedDelivery:
    """A delivery a worker has leased for one attempt, with what the attempt needs."""

    merchant_id: str
    id: str
    event_id: str
    endpoint_id: str
    url: str
    attempt_count: int
    """Attempts made before this one."""
    expires_at: datetime
    keys: SigningKeys
    body: bytes
    endpoint_failing: bool = False
    """Whether the endpoint was in a run of failures when the delivery was claimed."""


@dataclass(frozen=True)
class Outcome:
    """What one POST came to."""

    response_status: int
    """0 when the endpoint did not answer."""
    duration_ms: int
    response_body: str
    error: str
    """"" on success, else e.g. "timeout", "connection_refused", "http_500"."""
    retry_after_seconds: int = 0
    """The endpoint's Retry-After (429, 503), 0 when none."""

    @property
    def stored_body(self) -> str:
        """The body as the attempt log keeps it: without NUL, which text columns refuse."""
        return self.response_body.replace("\x00", "")

    @property
    def succeeded(self) -> bool:
        return 200 <= self.response_status < 300 and not self.error

    @property
    def gone(self) -> bool:
        """410: the endpoint says it will never take deliveries again."""
        return self.response_status == 410


@dataclass(frozen=True)
class AttemptResult:
    """An attempt's outcome and what follows from it, ready to be recorded."""

    merchant_id: str
    delivery_id: str
    endpoint_id: str
    number: int
    attempted_at: datetime
    outcome: Outcome
    status: DeliveryStatus
    next_attempt_at: datetime | None
    endpoint_was_failing: bool = False
