from __future__ import annotations

import re
from typing import Any

from paycore.errors import ApiError, Reason
from paycore.runtime.context import current_call
from paycore.runtime.interceptors.base import Behavior, Context, PolicyInterceptor, metadata_value
from paycore.runtime.policy import MethodPolicy

IDEMPOTENCY_KEY_HEADER = "idempotency-key"
_VALID_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


class IdempotencyKeyInterceptor(PolicyInterceptor):
    """Reads and checks `idempotency-key` on mutating methods; the method's storage uses it."""

    async def around(
        self, behavior: Behavior, request: Any, context: Context, method: str, policy: MethodPolicy
    ) -> Any:
        if policy.mutating:
            key = metadata_value(current_call().metadata, IDEMPOTENCY_KEY_HEADER)
            if key is not None:
                if not _VALID_KEY.match(key):
                    raise ApiError(Reason.IDEMPOTENCY_KEY_INVALID, param=IDEMPOTENCY_KEY_HEADER)
                current_call().idempotency_key = key
        return await behavior(request, context)
