"""A payment intent's `client_secret`, as Stripe has it: what a merchant's server hands the
buyer's browser so that it can confirm that one intent with the publishable key.

`<intent id>_secret_<24 base62>`: an HMAC-SHA256 of the merchant and intent ids under
`PAYCORE_KEY_HASH_SECRET`, so that it needs no storage, cannot be guessed from the intent id
(which appears in URLs and logs) and is the same on every read and replay."""

from __future__ import annotations

import hmac

from paycore.errors import invalid
from paycore.secret import DerivedSecrets

SECRET_DIGITS = 24
_DOMAIN = b"paycore client_secret v1:"


class ClientSecrets:
    def __init__(self, key_hash_secret: str) -> None:
        self._secrets = DerivedSecrets(key_hash_secret, _DOMAIN, SECRET_DIGITS)

    def __repr__(self) -> str:
        return "ClientSecrets(***)"

    def of(self, merchant_id: str, owner_id: str) -> str:
        """The client_secret of `owner_id`: a payment intent's "pi_..." or a setup intent's
        "seti_..." (both have one, derived the same way)."""
        return f"{owner_id}_secret_{self._secrets.of(f'{merchant_id}:{owner_id}')}"

    def check(self, merchant_id: str, owner_id: str, given: str) -> None:
        """INVALID_ARGUMENT naming `client_secret` unless `given` is `owner_id`'s."""
        if not hmac.compare_digest(given.encode(), self.of(merchant_id, owner_id).encode()):
            raise invalid("client_secret", "does not match this intent")
