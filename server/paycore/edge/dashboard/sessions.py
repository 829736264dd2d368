"""The dashboard's sign-in sessions: the key a merchant (or an operator's admin token) signed in
with stays in this edge process, never in the browser. The browser holds only a random session
id in an HttpOnly, SameSite=Strict cookie (Secure over HTTPS) scoped to /dashboard; every form
that changes something carries the session's CSRF token, compared in constant time.

Sessions live in the process's memory (bounded, idle ones expire): behind several edges a load
balancer must keep a browser on one edge (sticky sessions: the production Ingress pins
/dashboard with a cookie, deploy/kubernetes/overlays/production/ingress.yaml), and a restart
signs everyone out."""

from __future__ import annotations

import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

COOKIE = "paycore_dashboard"
COOKIE_PATH = "/dashboard"
IDLE_SECONDS = 8 * 3600
SESSIONS_MAX = 10_000


@dataclass
class SignedIn:
    """One browser's session. `key`: what calls paycore on its behalf (a secret or restricted
    key, or the admin token); `merchant_id`: the merchant an operator acts for ("" for none)."""

    key: str = field(repr=False)
    operator: bool
    merchant_id: str
    csrf: str = field(repr=False)
    expires_at: float

    def metadata(self) -> tuple[tuple[str, str], ...]:
        metadata = [("authorization", f"Bearer {self.key}")]
        if self.operator and self.merchant_id:
            metadata.append(("paycore-merchant", self.merchant_id))
        return tuple(metadata)

    def csrf_matches(self, given: str) -> bool:
        return hmac.compare_digest(given.encode(), self.csrf.encode())


class SessionStore:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._sessions: OrderedDict[str, SignedIn] = OrderedDict()
        self._clock = clock

    def open(self, key: str, operator: bool, merchant_id: str) -> str:
        """A new session; returns its id (the cookie's value)."""
        session_id = secrets.token_urlsafe(32)
        self._sessions[session_id] = SignedIn(
            key, operator, merchant_id, secrets.token_urlsafe(32), self._clock() + IDLE_SECONDS
        )
        while len(self._sessions) > SESSIONS_MAX:
            self._sessions.popitem(last=False)
        return session_id

    def find(self, session_id: str | None) -> SignedIn | None:
        if not session_id:
            return None
        found = self._sessions.get(session_id)
        now = self._clock()
        if found is None or found.expires_at <= now:
            self._sessions.pop(session_id, None)
            return None
        found.expires_at = now + IDLE_SECONDS
        self._sessions.move_to_end(session_id)
        return found

    def close(self, session_id: str | None) -> None:
        if session_id:
            self._sessions.pop(session_id, None)
