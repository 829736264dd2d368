"""Verifying paycore's webhook deliveries in a receiver, against the raw body as received.

Every delivery carries two signatures over the same body (paycore.webhooks.signing):

    webhook-id, webhook-timestamp, webhook-signature: v1,<base64> ...   Standard Webhooks
    Paycore-Signature: t=<unix seconds>,v1=<hex>,...                    Stripe's scheme
    Stripe-Signature: the same value, where Stripe's examples read it

`verify` checks whichever the headers carry (Standard Webhooks first) and a timestamp within
5 minutes of now, and returns the event as parsed JSON. Dedupe on its `id` (delivery is at least
once) and do not rely on the order of deliveries.

    from paycore.client.webhooks import WebhookVerificationError, verify

    async def receive(request):                       # an aiohttp handler, say
        body = await request.read()                   # the raw bytes, before any parsing
        try:
            event = verify(body, request.headers, secret="whsec_...")
        except WebhookVerificationError:
            return web.Response(status=400)
        ...
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

SECRET_PREFIX = "whsec_"
TOLERANCE_SECONDS = 300
SIGNATURE_HEADERS = (
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "paycore-signature",
    "stripe-signature",
)


class WebhookVerificationError(ValueError):
    """The delivery is not signed with the secret, or its timestamp is too old or too new."""


def verify(
    body: bytes | str,
    headers: Mapping[str, str],
    secret: str,
    *,
    tolerance_seconds: int = TOLERANCE_SECONDS,
    now: float | None = None,
) -> dict[str, Any]:
    """The event, once its signature and timestamp check out; WebhookVerificationError if not.
    `body` is the raw body as received: bytes, or text (its UTF-8 bytes are what was signed),
    as the standardwebhooks and stripe libraries take it."""
    if isinstance(body, str):
        body = body.encode()
    lowered = {name.lower(): value for name, value in headers.items()}
    for name in SIGNATURE_HEADERS:
        # What paycore sends there is ASCII (an id, digits, base64, hex): anything else is
        # forged, and refused as such (not a TypeError from hmac.compare_digest).
        if name in lowered and not lowered[name].isascii():
            raise WebhookVerificationError(f"the {name} header is not ASCII")
    moment = time.time() if now is None else now
    # Stripe-Signature carries the same value as Paycore-Signature (Stripe's examples read it).
    stripe_scheme = lowered.get("paycore-signature", lowered.get("stripe-signature"))
    if "webhook-signature" in lowered:
        verify_standard(body, lowered, secret, tolerance_seconds, moment)
    elif stripe_scheme is not None:
        verify_stripe_scheme(body, stripe_scheme, secret, tolerance_seconds, moment)
    else:
        raise WebhookVerificationError(
            "no webhook-signature, Paycore-Signature or Stripe-Signature header"
        )
    try:
        event: dict[str, Any] = json.loads(body)
    except ValueError:
        raise WebhookVerificationError("the body is not JSON") from None
    return event


def verify_standard(
    body: bytes, headers: Mapping[str, str], secret: str, tolerance_seconds: int, now: float
) -> None:
    """Standard Webhooks: HMAC-SHA256 keyed by the secret's base64 part over "id.t.body"."""
    message_id = headers.get("webhook-id", "")
    timestamp = _timestamp(headers.get("webhook-timestamp", ""), tolerance_seconds, now)
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error:
        raise WebhookVerificationError("the secret is not whsec_<base64>") from None
    signed = f"{message_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.digest(key, signed, hashlib.sha256)).decode()
    for signature in headers.get("webhook-signature", "").split():
        version, _, value = signature.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return
    raise WebhookVerificationError("no webhook-signature matches the secret")


def verify_stripe_scheme(
    body: bytes, header: str, secret: str, tolerance_seconds: int, now: float
) -> None:
    """Paycore-Signature (Stripe's scheme): hex HMAC-SHA256 keyed by the whole secret over
    "t.body"."""
    fields = [part.partition("=") for part in header.split(",")]
    timestamps = [value for name, _, value in fields if name.strip() == "t"]
    if len(timestamps) != 1:
        raise WebhookVerificationError("Paycore-Signature has no single t=")
    timestamp = _timestamp(timestamps[0], tolerance_seconds, now)
    signed = f"{timestamp}.".encode() + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    for name, _, value in fields:
        if name.strip() == "v1" and hmac.compare_digest(value.strip(), expected):
            return
    raise WebhookVerificationError("no Paycore-Signature v1 matches the secret")


def _timestamp(text: str, tolerance_seconds: int, now: float) -> int:
    text = text.strip()
    if not (text.isascii() and text.isdigit()):  # str.isdigit alone takes "\u00b2" and "\u0661"
        raise WebhookVerificationError("the timestamp is missing or not a number")
    timestamp = int(text)
    if abs(now - timestamp) > tolerance_seconds:
        raise WebhookVerificationError("the timestamp is outside the tolerance")
    return timestamp
