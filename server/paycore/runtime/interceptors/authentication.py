from __future__ import annotations

from typing import Any

from paycore.account.authentication import Authenticator
from paycore.errors import ApiError, Reason, invalid
from paycore.runtime.context import current_call
from paycore.runtime.interceptors.base import (
    Behavior,
    Context,
    PolicyInterceptor,
    given_twice,
    metadata_value,
)
from paycore.runtime.policy import MethodPolicy

MERCHANT_HEADER = "paycore-merchant"


class AuthenticationInterceptor(PolicyInterceptor):
    """`authorization: Bearer <key>` -> the call's Caller, checked against the method's policy
    (UNAUTHENTICATED for a missing or wrong key, or two of them; PERMISSION_DENIED for a key
    that may not)."""

    def __init__(self, policies: dict[str, MethodPolicy], authenticator: Authenticator) -> None:
        super().__init__(policies)
        self._authenticator = authenticator

    async def around(
        self, behavior: Behavior, request: Any, context: Context, method: str, policy: MethodPolicy
    ) -> Any:
        call = current_call()
        if given_twice(call.metadata, "authorization"):
            raise ApiError(Reason.API_KEY_INVALID, param="authorization")
        if given_twice(call.metadata, MERCHANT_HEADER):
            raise invalid(MERCHANT_HEADER, "given more than once")
        call.caller = await self._authenticator.authenticate(
            metadata_value(call.metadata, "authorization"),
            metadata_value(call.metadata, MERCHANT_HEADER),
            policy,
            call.client_address,
        )
        return await behavior(request, context)
