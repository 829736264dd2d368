"""What the simulated PSP does with a request: idempotency by key, the test cards' outcomes,
and the charge's life (authorized -> captured | voided; refunds up to the captured amount).

Each operation is one SQLite transaction that also stores its answer under its idempotency
key, so a replay returns exactly the first answer, and a key the store does not know was never
processed. Everything here is synchronous: see store.py for why that is safe and fast.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from paycore.ids import random_base62
from paycore.tools.psp import authentication as three_ds
from paycore.tools.psp.cards import (
    CARD_BYPASS_PENDING,
    CARD_EARLY_FRAUD_WARNING,
    DECLINE_MESSAGES,
    DISPUTES,
    EARLY_FRAUD_TYPE,
    Outcome,
    brand_of,
    outcome_of,
)
from paycore.tools.psp.requests import (
    Authenticating,
    CaptureRequest,
    CardInput,
    ChargeRequest,
    PspFailure,
    RefundRequest,
    SetupRequest,
    VoidRequest,
)
from paycore.tools.psp.settlement import fee_of
from paycore.tools.psp.store import Authentication, Charge, Refund, Store, StoredOperation
from paycore.tools.psp.wallets import (
    INVALID_CRYPTOGRAM,
    INVALID_CRYPTOGRAM_MESSAGE,
    cryptogram_valid,
    network_token_of,
    network_token_valid,
    token_digest,
)

ID_LENGTH = 24
HTTP_OK = 200
HTTP_DECLINED = 402
"""A decline is a processed operation, answered as Stripe does: 402 with the (declined) charge
as the body, stored under its key like any answer."""


@dataclass(frozen=True)
class Answer:
    http_status: int
    body: str
    replayed: bool = False
    """True when the key had been processed before and this is its stored answer."""


def dumps(body: dict[str, Any]) -> str:
    """An answer's body as the simulator sends it: compact JSON."""
    return json.dumps(body, separators=(",", ":"))


def failure_body(failure: PspFailure) -> str:
    return dumps(failure.body())


@dataclass(frozen=True, slots=True)
class Processor:
    store: Store
    clock: Callable[[], float] = time.time

    def charge(self, request: ChargeRequest, page_base: str = "") -> Answer:
        """`page_base`: the simulator's address as the caller reached it, for the URL of an
        authentication's page (paycore.tools.psp.authentication)."""
        card = request.card
        request_hash = self.hash(
            "charge",
            request.merchant,
            request.reference,
            request.amount,
            request.currency,
            card.number,
            card.exp_month,
            card.exp_year,
            card.cvc,
            request.capture,
            card.wallet,
            card.cryptogram,
            *_authenticating(request),
        )

        def perform(now_ms: int) -> Answer:
            outcome, decline_code = self._card_outcome(request.merchant, card)
            if not decline_code:
                asked = self._asked("charge", request, request.amount, request.currency)
                checked = three_ds.gate(self.store, asked, now_ms)
                if checked.pending is not None:
                    body = self._requires_action(asked, checked.pending, page_base, now_ms)
                    return Answer(HTTP_OK, dumps(body))
                decline_code = checked.decline_code
            declined = decline_code != ""
            captured = request.capture and not declined
            status = "declined" if declined else "captured" if captured else "authorized"
            charge = Charge(
                id="ch_" + random_base62(ID_LENGTH),
                merchant=request.merchant,
                reference=request.reference,
                amount=request.amount,
                amount_captured=request.amount if captured else 0,
                amount_refunded=0,
                currency=request.currency,
                status=status,
                decline_code=decline_code,
                message=DECLINE_MESSAGES.get(outcome, "") or _own_message(decline_code),
                card_brand=brand_of(card.number),
                card_last4=card.number[-4:],
                card_exp_month=card.exp_month,
                card_exp_year=card.exp_year,
                card_fingerprint=self.fingerprint(card.number),
                fee=fee_of(request.amount) if captured else 0,
                created_ms=now_ms,
                captured_ms=now_ms if captured else None,
            )
            self.store.insert_charge(charge)
            if card.wallet and card.cryptogram and not declined:
                self.store.authenticate_wallet(request.merchant, self._token(card), charge.id)
            disputed = DISPUTES.get(card.number)
            if disputed is not None and not declined:
                self.store.plan_dispute(charge.id, *disputed)
            if card.number == CARD_EARLY_FRAUD_WARNING and not declined:
                self.store.warn_early(charge.id, EARLY_FRAUD_TYPE, now_ms)
            body = charge_body(charge, bypass_pending=self._bypasses_pending(charge))
            return Answer(HTTP_DECLINED if declined else HTTP_OK, dumps(body))

        return self.idempotent(request.idempotency_key, "charge", request_hash, perform)

    def setup(self, request: SetupRequest, page_base: str = "") -> Answer:
        """A card verified for later use without moving money (a zero-amount verification,
        as Stripe's SetupIntent runs): the test cards' declines decline it (402), the
        authentication card answers requires_action, any other succeeds; a wallet card's
        success carries the merchant's network token of it (paycore.tools.psp.wallets)."""
        card = request.card
        request_hash = self.hash(
            "setup",
            request.merchant,
            request.reference,
            card.number,
            card.exp_month,
            card.exp_year,
            card.wallet,
            card.cryptogram,
            card.network_token,
            *_authenticating(request),
        )

        def perform(now_ms: int) -> Answer:
            outcome, decline_code = self._card_outcome(request.merchant, card)
            pending = None
            if not decline_code:
                asked = self._asked("setup", request, 0, "")
                checked = three_ds.gate(self.store, asked, now_ms)
                decline_code, pending = checked.decline_code, checked.pending
            if decline_code:
                status = "declined"
            elif pending is not None:
                status = three_ds.REQUIRES_ACTION
            else:
                status = "succeeded"
            network_token = (
                network_token_of(self.store.key, request.merchant, self._token(card))
                if card.wallet and status == "succeeded"
                else ""
            )
            body = {
                "id": "seti_" + random_base62(ID_LENGTH),
                "object": "setup",
                "status": status,
                "amount": 0,
                "currency": "",
                "merchant": request.merchant,
                "reference": request.reference,
                "decline_code": decline_code,
                "message": DECLINE_MESSAGES.get(outcome, "") or _own_message(decline_code),
                "card": {
                    "brand": brand_of(card.number),
                    "last4": card.number[-4:],
                    "exp_month": card.exp_month,
                    "exp_year": card.exp_year,
                },
                "network_token": network_token,
                "created": now_ms // 1000,
            }
            if pending is not None:
                body["authentication"] = three_ds.authentication_body(pending, page_base)
            return Answer(HTTP_DECLINED if decline_code else HTTP_OK, dumps(body))

        return self.idempotent(request.idempotency_key, "setup", request_hash, perform)

    def capture(self, request: CaptureRequest) -> Answer:
        request_hash = self.hash("capture", request.charge, request.amount)

        def perform(now_ms: int) -> Answer:
            charge = self._authorized(request.charge, "capture")
            amount = charge.amount if request.amount is None else request.amount
            if amount > charge.amount:
                raise PspFailure(
                    400,
                    "amount_too_large",
                    f"amount {amount} is above the authorized {charge.amount}",
                    param="amount",
                    stored=True,
                )
            fee = fee_of(amount)
            self.store.capture(charge.id, amount, fee, now_ms)
            captured = replace(
                charge, status="captured", amount_captured=amount, fee=fee, captured_ms=now_ms
            )
            body = charge_body(captured, bypass_pending=self._bypasses_pending(captured))
            return Answer(HTTP_OK, dumps(body))

        return self.idempotent(request.idempotency_key, "capture", request_hash, perform)

    def void(self, request: VoidRequest) -> Answer:
        request_hash = self.hash("void", request.charge)

        def perform(now_ms: int) -> Answer:
            charge = self._authorized(request.charge, "void")
            self.store.void(charge.id)
            return Answer(HTTP_OK, dumps(charge_body(replace(charge, status="voided"))))

        return self.idempotent(request.idempotency_key, "void", request_hash, perform)

    def refund(self, request: RefundRequest) -> Answer:
        request_hash = self.hash("refund", request.charge, request.amount)

        def perform(now_ms: int) -> Answer:
            charge = self._charge(request.charge, param="charge")
            if charge.status != "captured":
                raise PspFailure(
                    400,
                    "charge_not_captured",
                    f"charge {charge.id} is {charge.status}: only a captured charge is refunded",
                    param="charge",
                    stored=True,
                )
            refund = Refund(
                id="rf_" + random_base62(ID_LENGTH),
                charge=charge.id,
                amount=request.amount,
                currency=charge.currency,
                status="succeeded",
                created_ms=now_ms,
            )
            if not self.store.add_refund(refund):
                refundable = charge.amount_captured - charge.amount_refunded
                raise PspFailure(
                    400,
                    "amount_too_large",
                    f"amount {request.amount} is above the {refundable} left to refund",
                    param="amount",
                    stored=True,
                )
            return Answer(HTTP_OK, dumps(refund_body(refund)))

        return self.idempotent(request.idempotency_key, "refund", request_hash, perform)

    def operation(self, idempotency_key: str) -> str | None:
        """The stored operation as JSON: {"idempotency_key", "operation", "http_status",
        "created", "result": the answer's body}; None if the key was never processed."""
        stored = self.store.operation(idempotency_key)
        if stored is None:
            return None
        head = dumps(
            {
                "idempotency_key": stored.idempotency_key,
                "operation": stored.operation,
                "http_status": stored.http_status,
                "created": stored.created_ms // 1000,
            }
        )
        return head[:-1] + ',"result":' + stored.body + "}"

    def charge_json(self, charge_id: str) -> str:
        body = charge_body(self._charge(charge_id, param="id"))
        body["refunds"] = [refund_body(refund) for refund in self.store.refunds(charge_id)]
        return dumps(body)

    def idempotent(
        self,
        idempotency_key: str,
        operation: str,
        request_hash: str,
        perform: Callable[[int], Answer],
    ) -> Answer:
        with self.store.transaction():
            stored = self.store.operation(idempotency_key)
            if stored is not None:
                if stored.request_hash != request_hash:
                    raise PspFailure(
                        409,
                        "idempotency_key_reused",
                        f"idempotency_key was used for another {stored.operation} request",
                        param="idempotency_key",
                    )
                return Answer(stored.http_status, stored.body, replayed=True)
            now_ms = int(self.clock() * 1000)
            try:
                answer = perform(now_ms)
            except PspFailure as failure:
                if not failure.stored:
                    raise
                answer = Answer(failure.http_status, failure_body(failure))
            self.store.insert_operation(
                StoredOperation(
                    idempotency_key,
                    operation,
                    request_hash,
                    answer.http_status,
                    answer.body,
                    now_ms,
                )
            )
            return answer

    def _charge(self, charge_id: str, *, param: str) -> Charge:
        charge = self.store.charge(charge_id)
        if charge is None:
            raise PspFailure(404, "not_found", f"no charge {charge_id}", param=param)
        return charge

    def _authorized(self, charge_id: str, action: str) -> Charge:
        charge = self._charge(charge_id, param="id")
        if charge.status != "authorized":
            code = {"captured": "charge_already_captured", "voided": "charge_already_voided"}
            raise PspFailure(
                400,
                code.get(charge.status, "charge_declined"),
                f"charge {charge.id} is {charge.status}: only an authorization can {action}",
                stored=True,
            )
        return charge

    def _card_outcome(self, merchant: str, card: CardInput) -> tuple[Outcome, str]:
        """The test card's outcome (expired past its date) and its decline code, a wallet
        card's cryptogram checked, before any authentication; the PSP error card raises."""
        outcome = outcome_of(card.number)
        if outcome is Outcome.PSP_ERROR:
            raise PspFailure(500, "psp_error", "An error occurred at the PSP; nothing was done")
        if outcome.decline_code == "" and self._expired(card.exp_month, card.exp_year):
            outcome = Outcome.EXPIRED
        return outcome, outcome.decline_code or self._wallet_decline(merchant, card)

    def _wallet_decline(self, merchant: str, card: CardInput) -> str:
        """A wallet card's cryptogram, when sent, must be the one its token was issued with;
        without one, the merchant's network token of it (a setup's) or the merchant having
        charged the token with it before (a merchant-initiated charge of a saved wallet card)."""
        if not card.wallet:
            return ""
        if card.cryptogram:
            valid = cryptogram_valid(self.store.key, card.wallet, card.number, card.cryptogram)
        elif card.network_token:
            valid = network_token_valid(
                self.store.key, merchant, self._token(card), card.network_token
            )
        else:
            valid = self.store.wallet_authenticated(merchant, self._token(card))
        return "" if valid else INVALID_CRYPTOGRAM

    def _asked(
        self, operation: str, request: ChargeRequest | SetupRequest, amount: int, currency: str
    ) -> three_ds.Asked:
        return three_ds.Asked(
            operation=operation,
            idempotency_key=request.idempotency_key,
            merchant=request.merchant,
            reference=request.reference,
            card_number=request.card.number,
            card_fingerprint=self.fingerprint(request.card.number),
            amount=amount,
            currency=currency,
            request=request,
        )

    def _requires_action(
        self, asked: three_ds.Asked, pending: Authentication, page_base: str, now_ms: int
    ) -> dict[str, Any]:
        """A charge's answer while the buyer must authenticate: nothing charged or recorded
        but the authentication, whose id is the answer's."""
        card = asked.request.card if isinstance(asked.request, ChargeRequest) else None
        return {
            "id": pending.id,
            "object": "charge",
            "status": three_ds.REQUIRES_ACTION,
            "amount": asked.amount,
            "amount_captured": 0,
            "amount_refunded": 0,
            "currency": asked.currency,
            "merchant": asked.merchant,
            "reference": asked.reference,
            "decline_code": "",
            "message": "",
            "fee": 0,
            "card": {
                "brand": brand_of(asked.card_number),
                "last4": asked.card_number[-4:],
                "exp_month": card.exp_month if card else 0,
                "exp_year": card.exp_year if card else 0,
            },
            "created": now_ms // 1000,
            "captured_at": None,
            "authentication": three_ds.authentication_body(pending, page_base),
        }

    def _token(self, card: CardInput) -> str:
        return token_digest(self.store.key, card.wallet, card.number)

    def _expired(self, exp_month: int, exp_year: int) -> bool:
        today = dt.datetime.fromtimestamp(self.clock(), dt.UTC)
        return (exp_year, exp_month) < (today.year, today.month)

    def hash(self, *fields: object) -> str:
        text = json.dumps(fields, separators=(",", ":"))
        return hmac.new(self.store.key, text.encode(), hashlib.sha256).hexdigest()

    def _bypasses_pending(self, charge: Charge) -> bool:
        """A captured charge of the bypass-pending test card (its funds available at once)."""
        captured = charge.status == "captured"
        return captured and charge.card_fingerprint == self.fingerprint(CARD_BYPASS_PENDING)

    def fingerprint(self, number: str) -> str:
        digest = hmac.new(self.store.key, b"card:" + number.encode(), hashlib.sha256)
        return digest.hexdigest()[:32]


def _own_message(decline_code: str) -> str:
    """The message of a decline that no test card's outcome names: a wallet's, 3-D Secure's."""
    if decline_code == INVALID_CRYPTOGRAM:
        return INVALID_CRYPTOGRAM_MESSAGE
    return three_ds.MESSAGES.get(decline_code, "")


def _authenticating(request: Authenticating) -> tuple[object, ...]:
    return (
        request.authentication,
        request.return_url,
        request.off_session,
        request.error_on_requires_action,
        request.setup_future_usage,
    )


def charge_body(charge: Charge, *, bypass_pending: bool = False) -> dict[str, Any]:
    """A charge as the simulator answers it; `bypass_pending` (a captured charge of the
    bypass-pending test card) adds `"bypass_pending": true`: its funds are available at once."""
    extra = {"bypass_pending": True} if bypass_pending else {}
    return {
        "id": charge.id,
        "object": "charge",
        **_copied(charge, "status", "amount", "amount_captured", "amount_refunded", "currency"),
        **_copied(charge, "merchant", "reference", "decline_code", "message", "fee"),
        "card": {
            "brand": charge.card_brand,
            "last4": charge.card_last4,
            "exp_month": charge.card_exp_month,
            "exp_year": charge.card_exp_year,
        },
        "created": charge.created_ms // 1000,
        "captured_at": None if charge.captured_ms is None else charge.captured_ms // 1000,
        **extra,
    }


def refund_body(refund: Refund) -> dict[str, Any]:
    return {
        "id": refund.id,
        "object": "refund",
        **_copied(refund, "status", "amount", "currency", "charge"),
        "created": refund.created_ms // 1000,
    }


def _copied(record: Charge | Refund, *names: str) -> dict[str, Any]:
    """The named attributes of `record`, as they are, under their own names."""
    return {name: getattr(record, name) for name in names}
