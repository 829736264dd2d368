"""The two signature schemes against the libraries merchants verify with, and the typed
client's verify helper: tampered bodies, wrong secrets and stale timestamps are refused."""

from __future__ import annotations

import time

import pytest
import stripe
from paycore.client.webhooks import WebhookVerificationError, verify
from paycore.webhooks.models import SigningKeys
from paycore.webhooks.signing import new_secret, signature_headers
from standardwebhooks.webhooks import Webhook

SUPERSCRIPT_TWO = "\u00b2"  # a digit to str.isdigit, not to int()
ARABIC_INDIC = "\u0661\u0667" + "\u0660" * 8  # 1700000000 in Arabic-Indic digits
BODY = b'{"id":"evt_1","type":"payment_intent.succeeded"}'


def test_both_schemes_verify_with_the_libraries_and_the_client_helper() -> None:
    secret = new_secret()
    now = int(time.time())
    headers = signature_headers(SigningKeys(secret), "evt_1", now, BODY)
    Webhook(secret.reveal()).verify(BODY, headers)
    stripe.Webhook.construct_event(BODY, headers["Paycore-Signature"], secret.reveal())
    # Where Stripe's webhook examples read it, too.
    stripe.Webhook.construct_event(BODY, headers["Stripe-Signature"], secret.reveal())
    assert verify(BODY, headers, secret.reveal())["id"] == "evt_1"
    only_stripe = {"Paycore-Signature": headers["Paycore-Signature"]}
    assert verify(BODY, only_stripe, secret.reveal())["id"] == "evt_1"


def test_the_client_helper_refuses_what_was_not_signed_so() -> None:
    secret, other = new_secret(), new_secret()
    now = int(time.time())
    headers = signature_headers(SigningKeys(secret), "evt_1", now, BODY)
    only_stripe = {"Paycore-Signature": headers["Paycore-Signature"]}
    for scheme in (headers, only_stripe):
        with pytest.raises(WebhookVerificationError):
            verify(BODY + b" ", scheme, secret.reveal())  # the raw body, byte for byte
        with pytest.raises(WebhookVerificationError):
            verify(BODY, scheme, other.reveal())
        with pytest.raises(WebhookVerificationError):
            verify(BODY, scheme, secret.reveal(), now=now + 301)  # 5 minutes' tolerance
        assert verify(BODY, scheme, secret.reveal(), now=now + 299)["id"] == "evt_1"
    with pytest.raises(WebhookVerificationError):
        verify(BODY, {}, secret.reveal())


def test_during_an_overlap_either_secret_verifies() -> None:
    old, new = new_secret(), new_secret()
    now = int(time.time())
    headers = signature_headers(SigningKeys(new, old), "evt_1", now, BODY)
    for secret in (old, new):
        Webhook(secret.reveal()).verify(BODY, headers)
        stripe.Webhook.construct_event(BODY, headers["Paycore-Signature"], secret.reveal())
        verify(BODY, headers, secret.reveal())
    with pytest.raises(WebhookVerificationError):
        verify(BODY, headers, new_secret().reveal())


def test_a_secret_is_never_in_a_repr() -> None:
    secret = new_secret()
    assert secret.reveal() not in repr(SigningKeys(secret))


def test_the_client_helper_takes_the_body_as_text_as_the_libraries_do() -> None:
    """Frameworks hand the body over as text (Flask's get_data(as_text=True)); the
    standardwebhooks and stripe libraries verify it as its UTF-8 bytes. The helper raised
    TypeError (str + bytes) instead of verifying it or refusing it."""
    body = '{"id":"evt_1","type":"customer.created","data":{"name":"Zoë"}}'
    secret = new_secret()
    now = int(time.time())
    headers = signature_headers(SigningKeys(secret), "evt_1", now, body.encode())
    Webhook(secret.reveal()).verify(body, headers)
    stripe.Webhook.construct_event(body, headers["Paycore-Signature"], secret.reveal())
    only_stripe = {"Paycore-Signature": headers["Paycore-Signature"]}
    for scheme in (headers, only_stripe):
        assert verify(body, scheme, secret.reveal())["id"] == "evt_1"
        with pytest.raises(WebhookVerificationError):
            verify(body.replace("Zoë", "Zoe"), scheme, secret.reveal())


def test_the_client_helper_takes_the_stripe_signature_header_alone() -> None:
    """Found by probing: a receiver copied from Stripe's examples keeps only Stripe-Signature
    (which every delivery carries, the same value as Paycore-Signature), and the typed client's
    helper, documented as taking either scheme, answered "no webhook-signature or
    Paycore-Signature header"."""
    secret, other = new_secret(), new_secret()
    now = int(time.time())
    headers = signature_headers(SigningKeys(secret), "evt_1", now, BODY)
    as_stripe = {"Stripe-Signature": headers["Stripe-Signature"]}
    assert verify(BODY, as_stripe, secret.reveal())["id"] == "evt_1"
    with pytest.raises(WebhookVerificationError):
        verify(BODY, as_stripe, other.reveal())
    with pytest.raises(WebhookVerificationError):
        verify(BODY, as_stripe, secret.reveal(), now=now + 301)


@pytest.mark.parametrize(
    "forged",
    [
        {"webhook-signature": "v1,é"},  # non-ASCII: hmac.compare_digest raises TypeError
        {"webhook-timestamp": SUPERSCRIPT_TWO},  # a digit to str.isdigit, not to int()
        {"webhook-timestamp": ARABIC_INDIC},  # Arabic-Indic digits
        {"webhook-id": "evt_\udcff"},  # a lone surrogate, as a lenient header decoder gives
    ],
)
def test_forged_headers_are_a_verification_error_never_another_exception(
    forged: dict[str, str],
) -> None:
    """A receiver catches WebhookVerificationError (the README's does) and answers 400;
    anything else a forger can send would be its 500, retried by nobody and logged as a bug."""
    secret = new_secret()
    now = int(time.time())
    headers = {**signature_headers(SigningKeys(secret), "evt_1", now, BODY), **forged}
    with pytest.raises(WebhookVerificationError):
        verify(BODY, headers, secret.reveal())
    stripe_header = headers["Paycore-Signature"].replace("v1=", "v1=é", 1)
    with pytest.raises(WebhookVerificationError):
        verify(BODY, {"Paycore-Signature": stripe_header}, secret.reveal())
    for timestamp in (SUPERSCRIPT_TWO, ARABIC_INDIC, " 12 "):
        with pytest.raises(WebhookVerificationError):
            verify(BODY, {"Stripe-Signature": f"t={timestamp},v1=00"}, secret.reveal())
