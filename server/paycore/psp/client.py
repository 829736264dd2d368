"""The PSP client the executor calls: one keep-alive aiohttp session, typed results, and an
exception for each thing the caller must do differently.

    PspError                 base: .code (stable, snake_case) and .message
     +-- PspTransientError   nothing happened at the PSP (5xx, 503 down, refused connection,
     |                       processing_error): retry with the same key
     +-- PspTimeout          it may or may not have happened (timed out or dropped after
     |                       sending): resolve with lookup(key), never by charging again
     +-- PspRejected         a permanent 4xx that is not a decline (idempotency_key_reused,
                             amount_too_large, charge_already_captured, not_found, ...)

A decline is not an exception: it is a PspResult with status "declined" and a decline_code.
The card number travels only inside the request body; no log line or exception carries it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
from paycore.secret import Secret

TIMEOUT_SECONDS_DEFAULT = 5.0
CONNECTIONS_MAX_DEFAULT = 100
_ANSWERED = (200, 402)
"""The statuses whose body is the operation's object (402: a declined charge)."""


@dataclass(frozen=True)
class CardDetails:
    """What the executor sends; the number (and cvc) are Secrets with masked reprs."""

    number: Secret
    exp_month: int
    exp_year: int
    cvc: Secret | None = None
    wallet: str = ""
    """"apple_pay" | "google_pay": the number is a wallet token's device account number."""
    cryptogram: Secret | None = None
    """The wallet token's one-time cryptogram (only ever in this request's body)."""
    network_token: str = ""
    """The PSP's network token of a wallet card (a setup's): sent when no cryptogram is."""


@dataclass(frozen=True)
class PspResult:
    operation: str
    """"charge" | "capture" | "void" | "refund" | "payout" | "setup"."""
    reference: str
    """The PSP object's id: ch_... (charge, capture, void) or rf_... (refund)."""
    status: str
    """"authorized" | "captured" | "voided" | "refunded" | "declined" | "failed" (the last
    for adapters of PSPs that answer failures as results; the simulator raises instead)."""
    amount: int
    """What this operation moved: authorized, captured, voided or refunded (minor units)."""
    currency: str
    decline_code: str = ""
    message: str = ""
    bypass_pending: bool = False
    """The captured funds are available at once, not after the payout delay (the PSP's test
    card for it: the simulator's 4000000000000077, as Stripe's)."""
    network_token: str = ""
    """A setup's: the PSP's reusable token of a wallet card ("ntok_..."), else ""."""
    authentication: str = ""
    """Status "requires_action": the id of the authentication (3-D Secure) the buyer must
    answer, which the charge or setup that goes on with it names ("auth_..."), else ""."""
    authentication_url: str = ""
    """Status "requires_action": the page where the buyer answers it."""

    @property
    def declined(self) -> bool:
        return self.status == "declined"


@dataclass(frozen=True)
class PayoutDestination:
    """Where the bank sends a payout: a bank account (country, routing number, account number
    or IBAN) or a debit card (number, expiry). The numbers are Secrets with masked reprs."""

    type: str
    """"bank_account" | "card"."""
    account_number: Secret
    country: str = ""
    routing_number: str = ""
    exp_month: int = 0
    exp_year: int = 0


@dataclass(frozen=True)
class BankPayoutState:
    """A payout at the bank as it stands now (GET /v1/bank/payouts/{key})."""

    reference: str
    status: str
    """"in_transit" | "paid" | "failed"."""
    arrival_date: int
    failure_code: str = ""
    failure_message: str = ""


@dataclass(frozen=True)
class PspDispute:
    """A dispute as the PSP's feed or a dispute call tells it (paycore.dispute applies it)."""

    id: str
    charge: str
    merchant: str
    reference: str
    """What paycore sent with the charge: the payment intent's id."""
    amount: int
    currency: str
    reason: str
    status: str
    evidence_due_by: int
    evidence_submitted: bool


@dataclass(frozen=True)
class PspDisputeEvent:
    sequence: int
    """Grows with every change the feed lists; a reader keeps the last it applied."""
    type: str
    dispute: PspDispute


@dataclass(frozen=True)
class PspAuthentication:
    """A buyer's answer to a 3-D Secure authentication, as the PSP's authentications feed
    tells it (paycore.payment.authenticated applies it)."""

    id: str
    merchant: str
    operation: str
    """"charge" | "setup": what asked for it."""
    reference: str
    """What paycore sent with the operation: the payment intent's or setup's id."""
    status: str
    """"succeeded" | "failed"."""


@dataclass(frozen=True)
class PspAuthenticationEvent:
    sequence: int
    """Grows with every answer the feed lists; a reader keeps the last it applied."""
    authentication: PspAuthentication


@dataclass(frozen=True)
class PspEarlyFraudWarning:
    sequence: int
    """Grows with every warning the feed lists; a reader keeps the last it applied."""
    id: str
    charge: str
    merchant: str
    reference: str
    """The pi_ (or payment order) whose charge it is, as paycore named it in the charge."""
    fraud_type: str


class PspError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class PspTransientError(PspError):
    """Nothing happened at the PSP: safe to retry with the same idempotency key."""


class PspTimeout(PspError):
    """The request may or may not have been processed: resolve it with lookup()."""


class PspRejected(PspError):
    """A permanent refusal that is not a decline; retrying the same request cannot succeed."""


class PspClient:
    """Calls one PSP over one keep-alive session, made on first use in the running event loop
    (so use a client from one loop only) and closed by close()."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout_seconds: float = TIMEOUT_SECONDS_DEFAULT,
        max_connections: int = CONNECTIONS_MAX_DEFAULT,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_seconds = timeout_seconds
        self.max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    async def charge(
        self,
        *,
        idempotency_key: str,
        merchant: str,
        reference: str,
        amount: int,
        currency: str,
        card: CardDetails,
        capture: bool,
        off_session: bool = False,
        authentication: str = "",
        return_url: str = "",
        error_on_requires_action: bool = False,
        setup_future_usage: str = "",
    ) -> PspResult:
        """`off_session`: the buyer is not there (merchant-initiated), so a card that must
        authenticate is declined `authentication_required` instead of answering
        "requires_action"; `error_on_requires_action`: so declined with the buyer there;
        `authentication`: the completed authentication the charge goes on with; `return_url`:
        where the authentication page sends the buyer back to; `setup_future_usage`: the card
        is saved for later use (an authentication it completes sets it up, as a setup's)."""
        body = {
            **_moving(idempotency_key, merchant, reference, amount, currency),
            "card": _card_body(card),
            "capture": capture,
            **_authenticating(authentication, return_url),
        }
        if off_session:
            body["off_session"] = True
        if error_on_requires_action:
            body["error_on_requires_action"] = True
        if setup_future_usage:
            body["setup_future_usage"] = setup_future_usage
        status, answer = await self._call("POST", "/v1/charges", body)
        return _result("charge", status, answer)

    async def setup(
        self,
        *,
        idempotency_key: str,
        merchant: str,
        reference: str,
        card: CardDetails,
        authentication: str = "",
        return_url: str = "",
    ) -> PspResult:
        """Verifies the card for later use without moving money (status "succeeded",
        "requires_action" or "declined"); a wallet card's success carries its network token.
        `authentication` and `return_url` as a charge's."""
        body = {
            "idempotency_key": idempotency_key,
            "merchant": merchant,
            "reference": reference,
            "card": _card_body(card),
            **_authenticating(authentication, return_url),
        }
        status, answer = await self._call("POST", "/v1/setups", body)
        return _result("setup", status, answer)

    async def capture(
        self, *, idempotency_key: str, charge: str, amount: int | None = None
    ) -> PspResult:
        body: dict[str, Any] = {"idempotency_key": idempotency_key}
        if amount is not None:
            body["amount"] = amount
        status, answer = await self._call("POST", f"/v1/charges/{_segment(charge)}/capture", body)
        return _result("capture", status, answer)

    async def void(self, *, idempotency_key: str, charge: str) -> PspResult:
        body = {"idempotency_key": idempotency_key}
        status, answer = await self._call("POST", f"/v1/charges/{_segment(charge)}/void", body)
        return _result("void", status, answer)

    async def refund(self, *, idempotency_key: str, charge: str, amount: int) -> PspResult:
        body = {"idempotency_key": idempotency_key, "charge": charge, "amount": amount}
        status, answer = await self._call("POST", "/v1/refunds", body)
        return _result("refund", status, answer)

    async def payout(
        self,
        *,
        idempotency_key: str,
        merchant: str,
        reference: str,
        amount: int,
        currency: str,
        method: str,
        destination: PayoutDestination,
    ) -> PspResult:
        """Sends a payout to the bank (the simulator's bank side, paycore.tools.psp.bank)."""
        target: dict[str, Any]
        if destination.type == "card":
            target = {
                "type": "card",
                "card": {
                    "number": destination.account_number.reveal(),
                    "exp_month": destination.exp_month,
                    "exp_year": destination.exp_year,
                },
            }
        else:
            target = {
                "type": "bank_account",
                "country": destination.country,
                "routing_number": destination.routing_number,
                "account_number": destination.account_number.reveal(),
            }
        body = {
            **_moving(idempotency_key, merchant, reference, amount, currency),
            "method": method,
            "destination": target,
        }
        status, answer = await self._call("POST", "/v1/bank/payouts", body)
        return _result("payout", status, answer)

    async def bank_payout(self, idempotency_key: str) -> BankPayoutState | None:
        """The payout sent with this key as the bank sees it now; None if it never got it."""
        found = await self._found(f"/v1/bank/payouts/{_segment(idempotency_key)}")
        if found is None:
            return None
        try:
            return BankPayoutState(
                reference=str(found["id"]),
                status=str(found["status"]),
                arrival_date=int(found["arrival_date"]),
                failure_code=str(found.get("failure_code") or ""),
                failure_message=str(found.get("failure_message") or ""),
            )
        except (KeyError, TypeError, ValueError):
            raise PspTimeout("psp_protocol_error", "a payout answer lacks its fields") from None

    async def lookup(self, idempotency_key: str) -> PspResult | None:
        """The outcome of the operation with this key, as its own call would have answered it
        (a stored rejection raises PspRejected again); None if the PSP never processed it."""
        found = await self._found(f"/v1/operations/{_segment(idempotency_key)}")
        if found is None:
            return None
        if not {"operation", "http_status", "result"} <= found.keys():
            raise PspTimeout("psp_protocol_error", "an operation answer lacks its fields")
        return _result(str(found["operation"]), int(found["http_status"]), found["result"])

    async def dispute_events(self, after: int, limit: int) -> tuple[list[PspDisputeEvent], bool]:
        """The disputes feed after `after`: (at most `limit` events, whether more follow)."""
        _, found = await self._call("GET", f"/v1/dispute_events?after={after}&limit={limit}", None)
        try:
            events = [
                PspDisputeEvent(int(item["sequence"]), str(item["type"]), _dispute(item["dispute"]))
                for item in found["data"]
            ]
            return events, bool(found["has_more"])
        except (KeyError, TypeError, ValueError):
            raise PspTimeout("psp_protocol_error", "a dispute feed lacks its fields") from None

    async def early_fraud_warning_events(
        self, after: int, limit: int
    ) -> tuple[list[PspEarlyFraudWarning], bool]:
        """The early fraud warnings feed after `after`: (at most `limit`, whether more follow)."""
        path = f"/v1/early_fraud_warning_events?after={after}&limit={limit}"
        _, found = await self._call("GET", path, None)
        try:
            warnings = [
                PspEarlyFraudWarning(
                    int(item["sequence"]),
                    *(
                        str(item[name])
                        for name in ("id", "charge", "merchant", "reference", "fraud_type")
                    ),
                )
                for item in found["data"]
            ]
            return warnings, bool(found["has_more"])
        except (KeyError, TypeError, ValueError):
            raise PspTimeout("psp_protocol_error", "a warnings feed lacks its fields") from None

    async def authentication_status(self, authentication: str) -> str:
        """A 3-D Secure authentication's status now: "pending", "succeeded" or "failed"."""
        _, found = await self._call("GET", f"/v1/authentications/{_segment(authentication)}", None)
        try:
            return str(found["status"])
        except (KeyError, TypeError):
            raise PspTimeout("psp_protocol_error", "an authentication lacks its status") from None

    async def authentication_events(
        self, after: int, limit: int
    ) -> tuple[list[PspAuthenticationEvent], bool]:
        """The authentications feed after `after` (the buyers' answers, in order): (at most
        `limit` events, whether more follow)."""
        path = f"/v1/authentication_events?after={after}&limit={limit}"
        _, found = await self._call("GET", path, None)
        try:
            events = [
                PspAuthenticationEvent(
                    int(item["sequence"]),
                    PspAuthentication(
                        **{
                            name: str(item["authentication"][name])
                            for name in ("id", "merchant", "operation", "reference", "status")
                        }
                    ),
                )
                for item in found["data"]
            ]
            return events, bool(found["has_more"])
        except (KeyError, TypeError, ValueError):
            raise PspTimeout(
                "psp_protocol_error", "an authentications feed lacks its fields"
            ) from None

    async def submit_dispute_evidence(
        self, *, idempotency_key: str, dispute: str, evidence: dict[str, str]
    ) -> PspDispute:
        """Sends the merchant's evidence (the PSP takes it once)."""
        body = {"idempotency_key": idempotency_key, "evidence": evidence}
        path = f"/v1/disputes/{_segment(dispute)}/evidence"
        return _dispute((await self._call("POST", path, body))[1])

    async def close_dispute(self, *, idempotency_key: str, dispute: str) -> PspDispute:
        """Accepts the dispute."""
        body = {"idempotency_key": idempotency_key}
        path = f"/v1/disputes/{_segment(dispute)}/close"
        return _dispute((await self._call("POST", path, body))[1])

    async def _found(self, path: str) -> dict[str, Any] | None:
        """The object at `path`; None if the PSP answers not_found."""
        try:
            return (await self._call("GET", path, None))[1]
        except PspRejected as rejected:
            if rejected.code == "not_found":
                return None
            raise

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _session_in_loop(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.max_connections),
                timeout=call_timeout(self.timeout_seconds),
                json_serialize=_dumps,
            )
        return self._session

    async def _call(
        self, method: str, path: str, body: dict[str, Any] | None
    ) -> tuple[int, dict[str, Any]]:
        session = self._session_in_loop()
        try:
            async with session.request(method, self.base_url + path, json=body) as response:
                status = response.status
                answer = await response.read()
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as error:
            # Refused or never connected: the request was not sent.
            raise PspTransientError("psp_unreachable", _describe(error)) from None
        except (TimeoutError, aiohttp.ClientError) as error:
            raise PspTimeout("psp_timeout", _describe(error)) from None
        return status, _answer(status, answer)


def call_timeout(timeout_seconds: float) -> aiohttp.ClientTimeout:
    """One deadline for a whole call: the wait for a pooled connection, connecting, sending and
    the whole answer. Never rounded: aiohttp rounds a deadline of `ceil_threshold` seconds or
    more (5 by default, PAYCORE_PSP_TIMEOUT_MS's 5000) up to its loop clock's next whole second,
    so a call that hung timed out up to a second late."""
    return aiohttp.ClientTimeout(total=timeout_seconds, ceil_threshold=math.inf)


def _answer(status: int, raw: bytes) -> dict[str, Any]:
    try:
        answer = json.loads(raw)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        if status >= 500:
            raise PspTransientError("psp_unavailable", f"HTTP {status} without a JSON body")
        if status < 300:  # an answer we cannot read may still mean it happened
            raise PspTimeout("psp_protocol_error", f"HTTP {status} without a JSON object")
        raise PspRejected("psp_protocol_error", f"HTTP {status} without a JSON object")
    if status in _ANSWERED:
        return answer
    error = answer.get("error")
    if not isinstance(error, dict):
        error = {}
    code = str(error.get("code") or f"http_{status}")
    message = str(error.get("message") or "")
    if status >= 500 or status == 429:
        raise PspTransientError(code, message)
    raise PspRejected(code, message)


def _result(operation: str, http_status: int, body: dict[str, Any]) -> PspResult:
    """A PspResult from a charge or refund object; a stored error answer raises as it did."""
    if http_status not in _ANSWERED:
        _answer(http_status, json.dumps(body).encode())
    try:
        if operation == "refund":
            return PspResult(
                operation, str(body["id"]), "refunded", int(body["amount"]), str(body["currency"])
            )
        if operation == "payout":
            return PspResult(
                operation,
                str(body["id"]),
                str(body["status"]),
                int(body["amount"]),
                str(body["currency"]),
            )
        status = str(body["status"])
        amount = int(body["amount_captured"] if status == "captured" else body["amount"])
        return PspResult(
            operation=operation,
            reference=str(body["id"]),
            status=status,
            amount=amount,
            currency=str(body["currency"]),
            decline_code=str(body.get("decline_code") or ""),
            message=str(body.get("message") or ""),
            bypass_pending=body.get("bypass_pending") is True,
            network_token=str(body.get("network_token") or ""),
            authentication=_authentication(body).get("id", ""),
            authentication_url=_authentication(body).get("url", ""),
        )
    except (KeyError, TypeError, ValueError):
        raise PspTimeout("psp_protocol_error", f"a {operation} answer lacks its fields") from None


def _authentication(body: dict[str, Any]) -> dict[str, str]:
    """A requires_action answer's authentication: {id, url}; {} otherwise."""
    authentication = body.get("authentication")
    if not isinstance(authentication, dict):
        return {}
    return {name: str(authentication.get(name) or "") for name in ("id", "url")}


def _authenticating(authentication: str, return_url: str) -> dict[str, str]:
    """A charge's or setup's optional 3-D Secure fields, only those given."""
    fields = {"authentication": authentication, "return_url": return_url}
    return {name: value for name, value in fields.items() if value}


def _card_body(card: CardDetails) -> dict[str, Any]:
    card_body: dict[str, Any] = {
        "number": card.number.reveal(),
        "exp_month": card.exp_month,
        "exp_year": card.exp_year,
    }
    if card.cvc is not None:
        card_body["cvc"] = card.cvc.reveal()
    if card.wallet:
        wallet = {"type": card.wallet}
        if card.cryptogram is not None:
            wallet["cryptogram"] = card.cryptogram.reveal()
        elif card.network_token:
            wallet["network_token"] = card.network_token
        card_body["wallet"] = wallet
    return card_body


def _dispute(body: dict[str, Any]) -> PspDispute:
    try:
        return PspDispute(
            id=str(body["id"]),
            charge=str(body["charge"]),
            merchant=str(body["merchant"]),
            reference=str(body["reference"]),
            amount=int(body["amount"]),
            currency=str(body["currency"]),
            reason=str(body["reason"]),
            status=str(body["status"]),
            evidence_due_by=int(body["evidence_due_by"]),
            evidence_submitted=bool(body["evidence_submitted"]),
        )
    except (KeyError, TypeError, ValueError):
        raise PspTimeout("psp_protocol_error", "a dispute answer lacks its fields") from None


def _moving(
    idempotency_key: str, merchant: str, reference: str, amount: int, currency: str
) -> dict[str, Any]:
    """What a request that moves money (a charge, a payout) starts with."""
    return {
        "idempotency_key": idempotency_key,
        "merchant": merchant,
        "reference": reference,
        "amount": amount,
        "currency": currency,
    }


def _segment(text: str) -> str:
    return quote(text, safe="")


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _describe(error: BaseException) -> str:
    """The error's class and the PSP address, never the request (which holds the card)."""
    detail = str(error) if isinstance(error, OSError) else ""
    return type(error).__name__ + (f": {detail}" if detail else "")
