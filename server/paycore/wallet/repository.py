"""The wallet's reads of ledger rows on a merchant's shard (the wallet owns no table: it is a
view over the ledger, paycore.wallet.service). Every query filters by the merchant first."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from paycore.ledger import codes
from paycore.storage.schema import ledger_transfers
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

TRANSFER_ID = ledger_transfers.c.id
# A balance transaction is the ledger transfer of the same id, with its own prefix.
TRANSACTION_PREFIX = "txn_"
TRANSFER_PREFIX = "lt_"


def transfer_id_of(transaction_id: str) -> str:
    return TRANSFER_PREFIX + transaction_id.removeprefix(TRANSACTION_PREFIX)


def transaction_id_of(transfer_id: str) -> str:
    return TRANSACTION_PREFIX + transfer_id.removeprefix(TRANSFER_PREFIX)


def transfers_query(
    merchant_id: str,
    balance_account_ids: Collection[str],
    transfer_codes: Collection[str],
    currency: str,
    source: str,
    transfer_id: str = "",
) -> Select[Any]:
    """The merchant's posted transfers of `transfer_codes` into or out of the balance accounts
    (narrowed to a currency, a `source` metadata value, one transfer, when given)."""
    t = ledger_transfers
    touches = t.c.debit_account_id.in_(balance_account_ids) | t.c.credit_account_id.in_(
        balance_account_ids
    )
    query = select(t).where(
        t.c.merchant_id == merchant_id,
        t.c.status == "posted",
        t.c.kind.in_(["posted", "post_pending"]),
        t.c.code.in_(transfer_codes),
        touches,
    )
    if currency:
        query = query.where(t.c.currency == currency)
    if source:
        query = query.where(t.c.metadata["source"].astext == source)
    if transfer_id:
        query = query.where(t.c.id == transfer_id)
    return query


async def fees_by_source(
    connection: AsyncConnection, merchant_id: str, sources: set[str]
) -> dict[str, int]:
    """The sum of the posted `fee` transfers of each source (a payment's id)."""
    if not sources:
        return {}
    t = ledger_transfers
    source = t.c.metadata["source"].astext
    rows = await connection.execute(
        select(source, func.sum(t.c.amount))
        .where(
            t.c.merchant_id == merchant_id,
            t.c.code == codes.TRANSFER_FEE,
            t.c.status == "posted",
            source.in_(sources),
        )
        .group_by(source)
    )
    return {row[0]: int(row[1]) for row in rows.all()}
