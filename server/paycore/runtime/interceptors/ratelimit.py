from __future__ import annotations

from typing import Any

from paycore.errors import ApiError, Reason
from paycore.invariants import violated
from paycore.ratelimit import RateLimiter
from paycore.runtime.context import CallerKind, current_call
from paycore.runtime.interceptors.base import Behavior, Context, PolicyInterceptor
from paycore.runtime.policy import MethodPolicy


class RateLimitInterceptor(PolicyInterceptor):
    """RESOURCE_EXHAUSTED (reason RATE_LIMITED) once a key exceeds its class's rate; the wait is
    in RetryInfo and in the `retry-after-ms` trailing metadata."""

    def __init__(self, policies: dict[str, MethodPolicy], limiter: RateLimiter) -> None:
        super().__init__(policies)
        self._limiter = limiter

    async def around(
        self, behavior: Behavior, request: Any, context: Context, method: str, policy: MethodPolicy
    ) -> Any:
        caller = current_call().caller
        if caller is None:
            violated("authentication runs before rate limiting")
        if caller.is_operator:
            # Limits are per API key (docs/design.md); the admin and internal credentials carry
            # service-to-service traffic (ledger postings), which no merchant's key can use.
            return await behavior(request, context)
        principal = caller.principal
        if caller.kind is CallerKind.PUBLISHABLE_KEY:
            # The publishable key is public: limited per key alone, anyone could exhaust it and
            # stop the merchant's buyers from tokenizing cards. Each client address gets its
            # own allowance (issue 23, item 5).
            principal = f"{principal}@{current_call().client_address}"
        decision = await self._limiter.check(principal, policy.rate_class)
        if not decision.allowed:
            raise ApiError(
                Reason.RATE_LIMITED,
                metadata={"retry_after_ms": str(decision.retry_after_ms)},
                rate_class=policy.rate_class.value,
                retry_after_ms=decision.retry_after_ms,
            )
        return await behavior(request, context)
