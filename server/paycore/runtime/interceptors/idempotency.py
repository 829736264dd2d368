from __future__ import annotations

import re
from typing import Any

from paycore.errors import ApiError, Reason
from paycore.runtime.context import current_call
from paycore.runtime.interceptors.base import (
    Behavior,
    Context,
    PolicyInterceptor,
    given_twice,
    metadata_value,
)
from paycore.runtime.policy import MethodPolicy

IDEMPOTENCY_KEY_HEADER = "idempotency-key"
REPLAYED_HEADER = "paycore-idempotent-replayed"
"""Trailing metadata, "true" on an answer the idempotency store kept and gave again (Stripe's
`Idempotent-Replayed`, which the edge sends for it); absent on a fresh execution."""
REPLAYED = ((REPLAYED_HEADER, "true"),)
_VALID_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


class IdempotencyKeyInterceptor(PolicyInterceptor):
    """Reads and checks `idempotency-key` on mutating methods; the method's storage uses it.
    An answer the store gave again (`CallContext.replayed`) gets `REPLAYED_HEADER` in its
    trailing metadata (a replayed error gets it from paycore.runtime.interceptors.errors)."""

    async def around(
        self, behavior: Behavior, request: Any, context: Context, method: str, policy: MethodPolicy
    ) -> Any:
        if not policy.mutating:
            return await behavior(request, context)
        call = current_call()
        key = metadata_value(call.metadata, IDEMPOTENCY_KEY_HEADER)
        if key is None:
            return await behavior(request, context)
        if not _VALID_KEY.match(key) or given_twice(call.metadata, IDEMPOTENCY_KEY_HEADER):
            raise ApiError(Reason.IDEMPOTENCY_KEY_INVALID, param=IDEMPOTENCY_KEY_HEADER)
        call.idempotency_key = key
        response = await behavior(request, context)
        if call.replayed:
            context.set_trailing_metadata((*(context.trailing_metadata() or ()), *REPLAYED))
        return response
