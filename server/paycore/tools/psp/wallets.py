"""The simulator's digital wallets: test wallet tokens (what an Apple Pay or Google Pay device
hands the merchant's page) and the check of a token's cryptogram at charge.

    POST /v1/wallet_tokens {"type": "apple_pay" | "google_pay",
                            "scenario": "succeeds" (default) | "declines" | "bad_cryptogram"}
      -> {"object": "wallet_token", "type", "number" (the device account number, DPAN),
          "exp_month", "exp_year", "cryptogram", "last4"}

A token's cryptogram is a keyed digest of its type and number (the simulator's key), so it is
checked without being stored. `succeeds` issues a fresh DPAN each time (so the fraud counters
per card see a new card, as with a real device), `declines` the generic-decline test number,
`bad_cryptogram` a fresh DPAN whose cryptogram does not match.

A charge of a wallet card (`card.wallet.type`) is authenticated by its `card.wallet.cryptogram`
(customer present); a wrong cryptogram is declined `invalid_cryptogram`. Once a token's charge
with the right cryptogram succeeded (authorized or captured), the merchant may charge the same
token again WITHOUT a cryptogram (merchant-initiated, on the network token: a saved wallet
card's renewals and off-session payments), as at Stripe; a token the merchant never charged
with its cryptogram, or another merchant's, is declined `invalid_cryptogram` without one. The
store keeps the authenticated token as a keyed digest of its type and DPAN (`token_digest`),
never the number.

A setup (POST /v1/setups: a verification, no money moved) of a wallet card with its right
cryptogram answers a `network_token` ("ntok_..."), the merchant's reusable token of that
wallet token: a charge that sends it (`card.wallet.network_token`) instead of a cryptogram is
accepted (merchant-initiated), whenever it comes. It is a keyed digest of the merchant and the
token, so it is checked without being stored, and is worth nothing to another merchant.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Any

from paycore.tools.psp.cards import CARD_DECLINED, luhn_valid
from paycore.tools.psp.requests import invalid

WALLET_TYPES = frozenset({"apple_pay", "google_pay"})
SCENARIOS = frozenset({"succeeds", "declines", "bad_cryptogram"})
DPAN_PREFIX = "400000"
TOKEN_EXP_MONTH = 12
TOKEN_EXP_YEARS_AHEAD = 4
INVALID_CRYPTOGRAM = "invalid_cryptogram"
INVALID_CRYPTOGRAM_MESSAGE = "The wallet token's cryptogram is not valid."


def cryptogram_of(key: bytes, wallet_type: str, number: str) -> str:
    digest = hmac.new(key, f"wallet:{wallet_type}:{number}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest[:20]).decode()


def cryptogram_valid(key: bytes, wallet_type: str, number: str, cryptogram: str) -> bool:
    return hmac.compare_digest(cryptogram_of(key, wallet_type, number), cryptogram)


def token_digest(key: bytes, wallet_type: str, number: str) -> str:
    """What the store keeps of an authenticated wallet token (not its cryptogram: another
    message under the key)."""
    digest = hmac.new(key, f"wallet_token:{wallet_type}:{number}".encode(), hashlib.sha256)
    return digest.hexdigest()


NETWORK_TOKEN_PREFIX = "ntok_"


def network_token_of(key: bytes, merchant: str, token: str) -> str:
    """The merchant's network token of a wallet token (`token`: its `token_digest`)."""
    digest = hmac.new(key, f"network_token:{merchant}:{token}".encode(), hashlib.sha256)
    return NETWORK_TOKEN_PREFIX + digest.hexdigest()[:32]


def network_token_valid(key: bytes, merchant: str, token: str, given: str) -> bool:
    return hmac.compare_digest(network_token_of(key, merchant, token), given)


def issue_token(key: bytes, body: dict[str, Any], year: int) -> dict[str, Any]:
    wallet_type = body.get("type")
    if wallet_type not in WALLET_TYPES:
        raise invalid("type", "type is apple_pay or google_pay")
    scenario = body.get("scenario", "succeeds")
    if scenario not in SCENARIOS:
        raise invalid("scenario", "scenario is succeeds, declines or bad_cryptogram")
    number = CARD_DECLINED if scenario == "declines" else _fresh_dpan()
    cryptogram = cryptogram_of(key, str(wallet_type), number)
    if scenario == "bad_cryptogram":
        cryptogram = base64.b64encode(secrets.token_bytes(20)).decode()
    return {
        "object": "wallet_token",
        "type": wallet_type,
        "number": number,
        "exp_month": TOKEN_EXP_MONTH,
        "exp_year": year + TOKEN_EXP_YEARS_AHEAD,
        "cryptogram": cryptogram,
        "last4": number[-4:],
    }


def _fresh_dpan() -> str:
    body = DPAN_PREFIX + "".join(secrets.choice("0123456789") for _ in range(9))
    for check in "0123456789":
        if luhn_valid(body + check):
            return body + check
    raise AssertionError("a Luhn check digit always exists")  # pragma: no cover
