"""How reconciliation writes to the ledger: transfers whose ids derive from what they book (a
day's settlement, a discrepancy), posted inside the caller's transaction, so that a rerun or a
replay finds them already there (`exists`) and books nothing twice."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from paycore.ids import (
    BODY_LENGTH,
    HOME_LOGICAL_SHARD,
    RANDOM_BITS,
    SHARD_BITS,
    MalformedId,
    Prefix,
    encode_base62,
    logical_shard_of,
)
from paycore.invariants import invariant
from paycore.ledger import codes
from paycore.ledger.models import TransferRequest
from paycore.ledger.service import LedgerService
from sqlalchemy.ext.asyncio import AsyncConnection

TAG = "reconciliation"
"""The metadata key every reconciliation transfer carries: `<source>:<YYYY-MM-DD>`, the day
whose psp_receivable it moves (the day check reads it)."""


def is_merchant(owner: str) -> bool:
    """Whether a discrepancy's owner is a merchant (else "platform": a line naming no merchant
    paycore can route, which nothing can be booked for)."""
    try:
        logical_shard_of(owner, Prefix.ACCOUNT)
    except MalformedId:
        return False
    return True


def owner_logical_shard(owner: str) -> int:
    """The logical shard of a reconciliation row's owner: its merchant's, or the home shard's
    for the platform (runs, and discrepancies naming no merchant paycore can route)."""
    try:
        return logical_shard_of(owner, Prefix.ACCOUNT)
    except MalformedId:
        return HOME_LOGICAL_SHARD


def day_tag(source: str, day: dt.date) -> str:
    return f"{source}:{day.isoformat()}"


def derived_transfer_id(merchant_id: str, day: dt.date, key: str) -> str:
    """An lt_ id on the merchant's shard that is the same every time for the same `key`:
    the day's midnight as its time, the key's hash as its random part."""
    shard = logical_shard_of(merchant_id, Prefix.ACCOUNT)
    milliseconds = int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())
    milliseconds *= 1000
    digest = int.from_bytes(hashlib.sha256(key.encode()).digest()[:9], "big")
    random_part = digest & ((1 << (RANDOM_BITS - 1)) - 1)
    number = (milliseconds << (SHARD_BITS + RANDOM_BITS)) | (shard << RANDOM_BITS) | random_part
    return f"{Prefix.LEDGER_TRANSFER}_{encode_base62(number, BODY_LENGTH)}"


@dataclass(frozen=True, slots=True)
class Books:
    _ledger: LedgerService

    async def accounts(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        currency: str,
        specs: Sequence[codes.AccountCode] = codes.RECONCILIATION_ACCOUNTS,
    ) -> dict[str, str]:
        """The merchant's reconciliation accounts in `currency` (or those `specs`), by code
        (created on first use)."""
        return await self._ledger.merchant_account_ids(connection, merchant_id, currency, specs)

    async def post(
        self, connection: AsyncConnection, merchant_id: str, transfers: Sequence[TransferRequest]
    ) -> None:
        """Posts `transfers` in the caller's transaction; one already booked (same id, same
        terms) answers `exists` and changes nothing."""
        if not transfers:
            return
        outcomes = await self._ledger.post_in(connection, merchant_id, list(transfers))
        failed = [outcome for outcome in outcomes if not outcome.result.ok]
        invariant(not failed, f"the ledger refused reconciliation transfers: {failed}")


def movement(
    transfer_id: str,
    *,
    into: str,
    out_of: str,
    amount: int,
    currency: str,
    code: str,
    tag: str,
    source: str,
) -> TransferRequest | None:
    """`amount` debited to `into` and credited to `out_of` (reversed when negative); None for
    zero."""
    if amount == 0:
        return None
    debit, credit = (into, out_of) if amount > 0 else (out_of, into)
    return TransferRequest(
        id=transfer_id,
        debit_account_id=debit,
        credit_account_id=credit,
        amount=abs(amount),
        currency=currency,
        code=code,
        metadata={TAG: tag, "source": source},
    )
