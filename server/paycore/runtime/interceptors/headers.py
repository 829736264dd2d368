"""Refuses metadata carrying control characters (issue 23, item 7): a newline in
`x-request-id` or any other header could split a log line or smuggle a second one. Binary
(`-bin`) headers are bytes by definition and are left alone."""

from __future__ import annotations

import re
from typing import Any

from paycore.errors import ApiError, Reason
from paycore.runtime.addresses import TrustedProxies, forwarded_client
from paycore.runtime.context import current_call
from paycore.runtime.interceptors.base import Behavior, Context, PolicyInterceptor
from paycore.runtime.policy import MethodPolicy

FORWARDED_FOR_HEADER = "x-forwarded-for"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class HeaderInterceptor(PolicyInterceptor):
    """INVALID_ARGUMENT (HEADER_INVALID) for a header with control characters; records the
    client's address (the peer's, or the one a trusted proxy forwards) for the limits that
    count per address."""

    def __init__(self, policies: Any, trusted_proxies: tuple[str, ...]) -> None:
        super().__init__(policies)
        self._trusted_proxies = TrustedProxies(trusted_proxies)

    async def around(
        self,
        behavior: Behavior,
        request: Any,
        context: Context,
        method: str,
        policy: MethodPolicy,
    ) -> Any:
        forwarded = None
        for key, value in context.invocation_metadata() or ():
            if key.endswith("-bin"):
                continue
            text = value if isinstance(value, str) else value.decode("latin-1")
            if _CONTROL.search(text):
                raise ApiError(Reason.HEADER_INVALID, param=key)
            if key == FORWARDED_FOR_HEADER:
                forwarded = text
        call, host = current_call(), _peer_host(context.peer())
        call.client_address = forwarded_client(host, forwarded, self._trusted_proxies)
        call.forwarded_by_stranger = forwarded is not None and host not in self._trusted_proxies
        return await behavior(request, context)


def _peer_host(peer: str) -> str:
    """ "ipv4:10.0.0.7:53412" -> "10.0.0.7"; "ipv6:[::1]:53412" -> "::1"."""
    scheme, _, rest = peer.partition(":")
    if scheme == "ipv6":
        return rest.rpartition(":")[0].strip("[]").removeprefix("%5B").removesuffix("%5D")
    if scheme == "ipv4":
        return rest.rpartition(":")[0]
    return peer
