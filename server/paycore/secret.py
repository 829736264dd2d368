"""A value that must never reach a log or a repr: keys, tokens, card numbers."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

from paycore.ids import encode_base62


@dataclass(frozen=True)
class Secret:
    _value: str = field(repr=False)

    def reveal(self) -> str:
        return self._value

    def masked(self) -> str:
        """What may be shown: a recognisable prefix and the last four characters."""
        head = self._value.rsplit("_", 1)[0] + "_" if "_" in self._value else ""
        return f"{head}...{self._value[-4:]}" if len(self._value) > 12 else "***"

    def __repr__(self) -> str:
        return f"Secret({self.masked()!r})"

    __str__ = __repr__


class DerivedSecrets:
    """Secrets paycore derives instead of storing (a payment intent's client_secret, a hosted
    page's secret): `digits` base62 digits of an HMAC-SHA256 of a message under a key made from
    `PAYCORE_KEY_HASH_SECRET` and `domain`, so that each use has keys of its own. The same on
    every read and replay, computable only by paycore."""

    def __init__(self, key_hash_secret: str, domain: bytes, digits: int) -> None:
        self._key = hmac.new(key_hash_secret.encode(), domain, hashlib.sha256).digest()
        self._digits = digits

    def __repr__(self) -> str:
        return "DerivedSecrets(***)"

    def of(self, message: str) -> str:
        digest = hmac.new(self._key, message.encode(), hashlib.sha256).digest()
        return encode_base62(int.from_bytes(digest) % 62**self._digits, self._digits)
