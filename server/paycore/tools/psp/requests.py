"""The simulator's requests: JSON bodies checked into typed values, or a 400 naming the field.
Nothing here touches the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from paycore.iso import CURRENCY_EXPONENTS, amount_max
from paycore.tools.psp.cards import luhn_valid

TEXT_LENGTH_MAX = 255
EXP_YEAR_MIN = 2000
EXP_YEAR_MAX = 2100


class PspFailure(Exception):
    """An answer that is not the operation's object: {"error": {"code", "message", "param"}}.
    `stored` failures happened after the operation started (an amount too large for the
    charge, a second capture); they are kept under the idempotency key like any answer.
    The others (bad input, an unknown charge, transient errors) leave the key unused."""

    def __init__(
        self, http_status: int, code: str, message: str, *, param: str = "", stored: bool = False
    ) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.code = code
        self.message = message
        self.param = param
        self.stored = stored

    def body(self) -> dict[str, Any]:
        error = {"code": self.code, "message": self.message}
        if self.param:
            error["param"] = self.param
        return {"error": error}


@dataclass(frozen=True)
class CardInput:
    number: str = field(repr=False)
    exp_month: int
    exp_year: int
    cvc: str = field(default="", repr=False)
    wallet: str = ""
    """A wallet token's type (the number is its DPAN), or ""."""
    cryptogram: str = field(default="", repr=False)
    network_token: str = field(default="", repr=False)
    """What a setup gave for a wallet token ("ntok_..."): charges it without a cryptogram."""


@dataclass(frozen=True, kw_only=True)
class Moving:
    """What every request that moves money (a charge, a payout) says first. Keyword-only, so a
    request's own fields keep their positions and every construction names these."""

    idempotency_key: str
    merchant: str
    reference: str
    amount: int
    currency: str


@dataclass(frozen=True, kw_only=True)
class Authenticating:
    """What a charge or setup says about 3-D Secure (paycore.tools.psp.authentication), each
    optional: `authentication` the id of a completed authentication the operation goes on with
    ("" none), `return_url` where the authentication page sends the buyer back to, and for a
    charge `off_session` (the buyer is not there to authenticate: merchant-initiated)."""

    authentication: str = ""
    return_url: str = ""
    off_session: bool = False
    # A charge's: declined rather than asking the buyer (Stripe's error_on_requires_action);
    # saved for later use (setup_future_usage: an authentication it completes sets the card up).
    error_on_requires_action: bool = False
    setup_future_usage: str = ""


@dataclass(frozen=True)
class ChargeRequest(Moving, Authenticating):
    card: CardInput
    capture: bool


@dataclass(frozen=True)
class SetupRequest(Authenticating):
    """A card verified for later use, no money moved (paycore.tools.psp.processing.setup)."""

    idempotency_key: str
    merchant: str
    reference: str
    card: CardInput


@dataclass(frozen=True)
class CaptureRequest:
    idempotency_key: str
    charge: str
    amount: int | None


@dataclass(frozen=True)
class VoidRequest:
    idempotency_key: str
    charge: str


@dataclass(frozen=True)
class RefundRequest:
    idempotency_key: str
    charge: str
    amount: int


def _moving(body: dict[str, Any], currency: str, amount_max: int | None = None) -> dict[str, Any]:
    """A money-moving request's `Moving` fields, checked in this order; the amount at most
    `amount_max` (None: a charge's largest in the currency)."""
    return {
        "idempotency_key": idempotency_key(body),
        "merchant": _text(body, "merchant"),
        "reference": _text(body, "reference"),
        "amount": _amount(body, "amount", currency)
        if amount_max is None
        else _integer(body, "amount", 1, amount_max),
        "currency": currency,
    }


def charge_request(body: dict[str, Any]) -> ChargeRequest:
    currency = _currency(body)
    return ChargeRequest(
        **_moving(body, currency),
        card=_card(body),
        capture=_bool(body, "capture"),
        authentication=_optional_text(body, "authentication"),
        return_url=_optional_text(body, "return_url"),
        off_session=_bool(body, "off_session") if "off_session" in body else False,
        error_on_requires_action=_bool(body, "error_on_requires_action")
        if "error_on_requires_action" in body
        else False,
        setup_future_usage=_optional_text(body, "setup_future_usage"),
    )


def setup_request(body: dict[str, Any]) -> SetupRequest:
    return SetupRequest(
        idempotency_key=idempotency_key(body),
        merchant=_text(body, "merchant"),
        reference=_text(body, "reference"),
        card=_card(body),
        authentication=_optional_text(body, "authentication"),
        return_url=_optional_text(body, "return_url"),
    )


def _optional_text(body: dict[str, Any], param: str) -> str:
    return _text(body, param) if body.get(param) else ""


def authentication_outcome(body: dict[str, Any]) -> bool:
    """The buyer's answer on an authentication (POST /v1/authentications/{id}): True for
    "complete", False for "fail"."""
    outcome = _text(body, "outcome")
    if outcome not in ("complete", "fail"):
        raise invalid("outcome", "outcome is complete or fail")
    return outcome == "complete"


AMOUNT_MAX = 10**15
"""The largest amount a capture, a refund or a payout names. Not a charge's largest
(paycore.iso.amount_max): a payout pays out a balance, which adds up many charges."""


def capture_request(charge_id: str, body: dict[str, Any]) -> CaptureRequest:
    amount = body.get("amount")
    return CaptureRequest(
        idempotency_key=idempotency_key(body),
        charge=charge_id,
        amount=None if amount is None else _integer(body, "amount", 1, AMOUNT_MAX),
    )


def void_request(charge_id: str, body: dict[str, Any]) -> VoidRequest:
    return VoidRequest(idempotency_key=idempotency_key(body), charge=charge_id)


def refund_request(body: dict[str, Any]) -> RefundRequest:
    return RefundRequest(
        idempotency_key=idempotency_key(body),
        charge=_text(body, "charge"),
        amount=_integer(body, "amount", 1, AMOUNT_MAX),
    )


def idempotency_key(body: dict[str, Any]) -> str:
    return _text(body, "idempotency_key")


def invalid(param: str, message: str) -> PspFailure:
    return PspFailure(400, "parameter_invalid", message, param=param)


def _present(body: dict[str, Any], key: str, param: str = "") -> Any:
    if body.get(key) is None:
        param = param or key
        raise PspFailure(400, "parameter_missing", f"{param} is required", param=param)
    return body[key]


def _text(body: dict[str, Any], param: str) -> str:
    value = _present(body, param)
    if not isinstance(value, str) or not value or len(value) > TEXT_LENGTH_MAX:
        raise invalid(param, f"{param} must be a string of 1 to {TEXT_LENGTH_MAX} characters")
    return value


def _integer(body: dict[str, Any], key: str, minimum: int, maximum: int, *, param: str = "") -> int:
    param = param or key
    value = _present(body, key, param)
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise invalid(param, f"{param} must be an integer from {minimum} to {maximum}")
    return value


def _bool(body: dict[str, Any], param: str) -> bool:
    value = _present(body, param)
    if not isinstance(value, bool):
        raise invalid(param, f"{param} must be true or false")
    return value


def _currency(body: dict[str, Any]) -> str:
    currency = _text(body, "currency")
    if currency not in CURRENCY_EXPONENTS:
        raise invalid("currency", "currency must be a lowercase ISO 4217 code")
    return currency


def _amount(body: dict[str, Any], param: str, currency: str) -> int:
    return _integer(body, param, 1, amount_max(currency))


def _card(body: dict[str, Any]) -> CardInput:
    card = _present(body, "card")
    if not isinstance(card, dict):
        raise invalid("card", "card must be an object")
    number = _present(card, "number", "card[number]")
    # Never echo the number: the message says what is wrong, not what was sent.
    if not isinstance(number, str) or not luhn_valid(number):
        raise invalid("card[number]", "card[number] must be 12 to 19 digits passing the Luhn check")
    cvc = card.get("cvc") or ""
    if not isinstance(cvc, str) or not (cvc == "" or (cvc.isdigit() and 3 <= len(cvc) <= 4)):
        raise invalid("card[cvc]", "card[cvc] must be 3 or 4 digits")
    exp_month = _integer(card, "exp_month", 1, 12, param="card[exp_month]")
    exp_year = _integer(card, "exp_year", EXP_YEAR_MIN, EXP_YEAR_MAX, param="card[exp_year]")
    wallet = card.get("wallet") or {}
    if not isinstance(wallet, dict) or not all(
        isinstance(wallet.get(name, ""), str) for name in ("type", "cryptogram", "network_token")
    ):
        raise invalid(
            "card[wallet]", "card[wallet] must be {type, cryptogram, network_token} strings"
        )
    return CardInput(
        number=number,
        exp_month=exp_month,
        exp_year=exp_year,
        cvc=cvc,
        wallet=wallet.get("type", ""),
        cryptogram=wallet.get("cryptogram", ""),
        network_token=wallet.get("network_token", ""),
    )


# -- the bank side (paycore.tools.psp.bank) -----------------------------------------------------


@dataclass(frozen=True)
class PayoutRequest(Moving):
    method: str
    """"standard" | "instant"."""
    destination_type: str
    """"bank_account" | "card"."""
    country: str
    routing_number: str
    account_number: str = field(repr=False)
    """The bank account's number (or IBAN), or the debit card's number."""


def _payout_fields(body: dict[str, Any], currency: str, method: str, kind: str) -> dict[str, Any]:
    """What a payout request says whatever its destination, checked in this order."""
    return {
        **_moving(body, currency, AMOUNT_MAX),
        "method": method,
        "destination_type": kind,
    }


def payout_request(body: dict[str, Any]) -> PayoutRequest:
    currency = _currency(body)
    method = _text(body, "method")
    if method not in ("standard", "instant"):
        raise invalid("method", "method is standard or instant")
    destination = _present(body, "destination")
    if not isinstance(destination, dict):
        raise invalid("destination", "destination must be an object")
    kind = _text(destination, "type")
    if kind == "card":
        card = _card({"card": destination.get("card")})
        return PayoutRequest(
            **_payout_fields(body, currency, method, kind),
            country="",
            routing_number="",
            account_number=card.number,
        )
    if kind != "bank_account":
        raise invalid("destination.type", "destination.type is bank_account or card")
    return PayoutRequest(
        **_payout_fields(body, currency, method, kind),
        country=_text(destination, "country"),
        routing_number=str(destination.get("routing_number") or ""),
        account_number=_text(destination, "account_number"),
    )
