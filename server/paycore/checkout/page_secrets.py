"""The secret a checkout session's hosted page opens with: the last path segment of its `url`
(`/c/pay/<cs id>/<secret>`), as Stripe's checkout URLs carry a long unguessable part.

Ids are a millisecond clock, a shard and random bits (paycore.ids): a page reachable by its id
alone would be reachable by guessing, and the page hands out the intent's client_secret. The
secret is an HMAC-SHA256 of the session id under `PAYCORE_KEY_HASH_SECRET` (domain-separated
from the client_secret's), 32 base62 digits (190 bits): no storage and no migration, the same
on every read, computable only by paycore. A wrong one is checked in constant time and refused
as an unknown session is (NOT_FOUND), so a guess learns nothing."""

from __future__ import annotations

import hmac

from paycore.errors import not_found
from paycore.secret import DerivedSecrets

SECRET_DIGITS = 32
_DOMAIN = b"paycore checkout page v1:"


class PageSecrets:
    def __init__(self, key_hash_secret: str) -> None:
        self._secrets = DerivedSecrets(key_hash_secret, _DOMAIN, SECRET_DIGITS)

    def __repr__(self) -> str:
        return "PageSecrets(***)"

    def of(self, session_id: str) -> str:
        return self._secrets.of(session_id)

    def check(self, session_id: str, given: str) -> None:
        """NOT_FOUND, exactly as for a session that does not exist, unless `given` is the
        page's secret of `session_id`."""
        if not hmac.compare_digest(given.encode(), self.of(session_id).encode()):
            raise not_found("checkout_session", session_id)
