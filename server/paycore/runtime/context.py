"""What one call carries through the server: request id, method policy, caller, idempotency key.

The interceptors fill it in, in order; servicers read it with `current_call()`. It lives in a
ContextVar, and grpc.aio runs every call in its own task, so calls never see each other's; a
task that outlives the call that started it is spawned without it (paycore.background), so
`current_call()` there raises LookupError rather than answer for another caller.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import Enum

from paycore.errors import ApiError, Reason
from paycore.runtime.policy import MethodPolicy

Metadata = tuple[tuple[str, str | bytes], ...]


class CallerKind(Enum):
    SECRET_KEY = "secret_key"
    PUBLISHABLE_KEY = "publishable_key"
    RESTRICTED_KEY = "restricted_key"
    ADMIN = "admin"
    INTERNAL = "internal"


@dataclass(frozen=True)
class Caller:
    """Who is calling, after authentication."""

    kind: CallerKind
    # The merchant whose objects the call may see; None for admin/internal calls that name none.
    merchant_id: str | None
    # What rate limits count against: the API key's id, or the operator credential's kind.
    principal: str
    scopes: frozenset[str] = frozenset()

    @property
    def is_operator(self) -> bool:
        return self.kind in (CallerKind.ADMIN, CallerKind.INTERNAL)


@dataclass
class CallContext:
    method: str
    request_id: str
    policy: MethodPolicy
    caller: Caller | None = None
    idempotency_key: str | None = None
    started_ns: int = field(default=0)
    client_address: str = ""
    """The caller's network address (runtime.interceptors.headers), for per-address limits."""
    forwarded_by_stranger: bool = False
    """The call carried `x-forwarded-for` from a peer not trusted as a proxy: the peer is a
    proxy, so `client_address` is the proxy's, nobody's own."""
    metadata: Metadata = ()
    """The call's invocation metadata as the request log read it: grpc.aio builds a new tuple
    on every `invocation_metadata()` (about 3 us), and the interceptors after it that look a
    header up (authentication, idempotency key) read this instead."""
    replayed: bool = False
    """The call's answer is one the idempotency store kept for its key, given again (set by
    Mutations in the call's own task from the store's answer): the answer then carries
    `paycore-idempotent-replayed: true` (paycore.runtime.interceptors.idempotency)."""

    def buyer_address(self) -> str:
        """The buyer's network address, for fraud scoring (`PaymentFacts.client_ip`), when the
        caller is the buyer's own client: a publishable key (a browser, the hosted checkout
        page's script), directly or through the REST edge. "" for a merchant's server or an
        operator, whose address is not the buyer's, and for an address only an untrusted proxy
        would vouch for."""
        if self.caller is None or self.caller.kind is not CallerKind.PUBLISHABLE_KEY:
            return ""
        return "" if self.forwarded_by_stranger else self.client_address

    def require_merchant(self) -> str:
        """The merchant the call acts for; operators must name one in `paycore-merchant`."""
        if self.caller is None or self.caller.merchant_id is None:
            raise ApiError(
                Reason.PERMISSION_DENIED,
                param="paycore-merchant",
                detail="operator calls to this method must name a merchant in paycore-merchant",
            )
        return self.caller.merchant_id


_current: ContextVar[CallContext] = ContextVar("paycore_call")


def current_call() -> CallContext:
    return _current.get()


def begin_call(call: CallContext) -> None:
    _current.set(call)


def call_or_none() -> CallContext | None:
    """The current call, None outside any (a worker's job, a spawned task)."""
    return _current.get(None)


@contextmanager
def running_for(call: CallContext | None) -> Iterator[None]:
    """Runs the block as `call`'s, in a task of no call (a group commit's, which runs the
    recordings of several calls one after the other: paycore.executor.grouping), so what the
    block records names its own call (an event's `request`), never another's; `None` leaves
    the task as it is."""
    if call is None:
        yield
        return
    token = _current.set(call)
    try:
        yield
    finally:
        _current.reset(token)
