"""Endpoint secrets and the two signatures every delivery carries, so that a merchant can verify
it with the `standardwebhooks` library or with the Stripe SDK's `Webhook.construct_event`:

    webhook-id: <event id>                     Standard Webhooks (svix): HMAC-SHA256 keyed by
    webhook-timestamp: <unix seconds>          the base64-decoded part of the secret, over
    webhook-signature: v1,<base64> [v1,...]    "<id>.<timestamp>.<body>"
    Paycore-Signature: t=<unix>,v1=<hex>[,v1=<hex>]   Stripe's scheme: HMAC-SHA256 keyed by the
                                               whole "whsec_..." text, over "<t>.<body>"
    Stripe-Signature: the same value, where Stripe's own webhook examples read it

While a rolled secret's overlap lasts, each header carries one signature per secret (both
schemes accept a delivery when any signature matches)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable

from paycore.secret import Secret
from paycore.webhooks.models import SigningKeys

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> Secret:
    return Secret(SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode())


def standard_key(secret: Secret) -> bytes:
    """The Standard Webhooks key: the base64 after the prefix, decoded."""
    return base64.b64decode(secret.reveal().removeprefix(SECRET_PREFIX))


def standard_signature(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.digest(key, signed, hashlib.sha256)).decode()


def stripe_signature(secret: Secret, timestamp: int, body: bytes) -> str:
    signed = f"{timestamp}.".encode() + body
    return hmac.new(secret.reveal().encode(), signed, hashlib.sha256).hexdigest()


def signature_headers(
    keys: SigningKeys, message_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    stripe_scheme = f"t={timestamp}," + ",".join(
        f"v1={stripe_signature(secret, timestamp, body)}" for secret in _secrets(keys)
    )
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            standard_signature(standard_key(secret), message_id, timestamp, body)
            for secret in _secrets(keys)
        ),
        "Paycore-Signature": stripe_scheme,
        "Stripe-Signature": stripe_scheme,
    }


def _secrets(keys: SigningKeys) -> Iterable[Secret]:
    yield keys.current
    if keys.previous is not None:
        yield keys.previous
