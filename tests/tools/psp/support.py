"""Small helpers for the PSP tests: a card, a charge with defaults."""

from __future__ import annotations

import secrets

from paycore.psp.client import CardDetails, PspClient, PspResult
from paycore.secret import Secret
from paycore.tools.psp.cards import CARD_SUCCEEDS

EXP_YEAR = 2040


def card(number: str = CARD_SUCCEEDS, *, cvc: str | None = "123") -> CardDetails:
    return CardDetails(
        number=Secret(number),
        exp_month=12,
        exp_year=EXP_YEAR,
        cvc=None if cvc is None else Secret(cvc),
    )


def new_key() -> str:
    return "key_" + secrets.token_hex(8)


async def charge(
    client: PspClient,
    number: str = CARD_SUCCEEDS,
    *,
    key: str | None = None,
    amount: int = 1000,
    currency: str = "usd",
    capture: bool = True,
    reference: str = "pord_1",
    merchant: str = "acct_1",
) -> PspResult:
    return await client.charge(
        idempotency_key=key or new_key(),
        merchant=merchant,
        reference=reference,
        amount=amount,
        currency=currency,
        card=card(number),
        capture=capture,
    )
