from __future__ import annotations

from typing import Any

from paycore.errors import ApiError, Reason
from paycore.invariants import violated
from paycore.ratelimit import RateLimiter
from paycore.runtime.context import CallerKind, current_call
from paycore.runtime.interceptors.base import Behavior, Context, PolicyInterceptor
from paycore.runtime.policy import MethodPolicy


class RateLimitInterceptor(PolicyInterceptor):
    """RESOURCE_EXHAUSTED (reason RATE_LIMITED) once a key exceeds its class's rate (or its
    merchant's keys together exceed the merchant's, PAYCORE_RATE_LIMIT_MERCHANT_FACTOR); the wait is
    in RetryInfo and in the `retry-after-ms` trailing metadata. A method whose policy says
    `per_client_address` counts per client address instead, whoever calls."""

    def __init__(self, policies: dict[str, MethodPolicy], limiter: RateLimiter) -> None:
        super().__init__(policies)
        self._limiter = limiter

    async def around(
        self, behavior: Behavior, request: Any, context: Context, method: str, policy: MethodPolicy
    ) -> Any:
        principal = _principal(method, policy)
        if principal is not None:
            decision = await self._limiter.check(
                principal, policy.rate_class, _merchant_bound(policy)
            )
            if not decision.allowed:
                raise ApiError(
                    Reason.RATE_LIMITED,
                    metadata={"retry_after_ms": str(decision.retry_after_ms)},
                    rate_class=policy.rate_class.value,
                    retry_after_ms=decision.retry_after_ms,
                )
        return await behavior(request, context)


def _principal(method: str, policy: MethodPolicy) -> str | None:
    """Whose allowance the call uses; None for a call that is not limited."""
    call = current_call()
    caller = call.caller
    if caller is None:
        violated("authentication runs before rate limiting")
    if policy.per_client_address:
        # The edge calls with its own credential for an anonymous visitor (the hosted checkout
        # page), whose address it forwards: each visitor gets the method's allowance, and no
        # visitor can use up another's or the edge's.
        return f"{method}@{call.client_address}"
    if caller.is_operator:
        # Limits are per API key (docs/design.md); the admin and internal credentials carry
        # service-to-service traffic (ledger postings), which no merchant's key can use.
        return None
    if caller.kind is CallerKind.PUBLISHABLE_KEY:
        # The publishable key is public: limited per key alone, anyone could exhaust it and
        # stop the merchant's buyers from tokenizing cards. Each client address gets its
        # own allowance (issue 23, item 5).
        return f"{caller.principal}@{call.client_address}"
    return caller.principal


def _merchant_bound(policy: MethodPolicy) -> str | None:
    """The merchant whose bucket a secret or restricted key's call also counts against: a
    merchant may create keys without end, and each has a bucket of its own. Not a publishable
    key's (anyone may use it: a flood of it must not use up the merchant's own calls) nor a
    per-address method's."""
    caller = current_call().caller
    if caller is None or policy.per_client_address:
        return None
    if caller.kind in (CallerKind.SECRET_KEY, CallerKind.RESTRICTED_KEY):
        return caller.merchant_id
    return None
