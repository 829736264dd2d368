"""Settlement in the ledger: the PSP pays a day's net, so the day's amounts leave
psp_receivable, the net into platform_cash and the PSP's fee into psp_fees:

    net (gross - fee)  platform_cash  <- psp_receivable     (reversed when refunds outweigh)
    fee                psp_fees       <- psp_receivable

per merchant and currency, with the report's totals (what the PSP actually paid). What paycore
booked differently for an item stays in psp_receivable as that item's discrepancy until it is
resolved; `day_receivable` checks that nothing else does.

A rerun posts only what differs from the totals already settled for the day (none, when the
report is the same), under ids derived from the day and the totals before it: never twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from paycore.ledger import codes
from paycore.ledger.models import TransferRequest
from paycore.reconciliation.books import Books, day_tag, derived_transfer_id, movement
from paycore.reconciliation.models import Source
from paycore.storage.raw import Driver
from sqlalchemy.ext.asyncio import AsyncConnection

_SETTLED = """
SELECT merchant_id, currency, gross_amount, fee_amount FROM reconciliation_settlements
WHERE source = $1 AND day = $2 AND merchant_id = ANY($3::text[])
"""
_SAVE = """
INSERT INTO reconciliation_settlements (merchant_id, source, day, currency, gross_amount,
                                        fee_amount)
SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::text[], $5::bigint[], $6::bigint[])
ON CONFLICT (merchant_id, source, day, currency)
DO UPDATE SET gross_amount = excluded.gross_amount, fee_amount = excluded.fee_amount
"""
_CODES = {"net": codes.TRANSFER_SETTLEMENT, "fee": codes.TRANSFER_SETTLEMENT_FEE}
SETTLEMENT_ACCOUNTS = (codes.PSP_RECEIVABLE, codes.PLATFORM_CASH, codes.PSP_FEES)
"""The accounts a day's settlement posts to (its net into platform_cash, its fee into psp_fees,
both out of psp_receivable)."""


async def settle_day(
    connection: AsyncConnection,
    driver: Driver,
    books: Books,
    source: Source,
    day: dt.date,
    totals: list[tuple[str, str, int, int]],
    also: Sequence[str] = (),
) -> None:
    """Books the day's settlement (`totals`: merchant, currency, gross, fee) on this shard.
    A merchant and currency an earlier run settled that the report no longer carries (the
    merchants of `totals` and `also`: those whose discrepancies this run found or closed) is
    settled to zero: what the earlier run moved out of psp_receivable comes back."""
    wanted = {(merchant, currency): (gross, fee) for merchant, currency, gross, fee in totals}
    merchants = sorted({merchant for merchant, _ in wanted} | set(also))
    if not merchants:
        return
    settled = {
        (row["merchant_id"], row["currency"]): (row["gross_amount"], row["fee_amount"])
        for row in await driver.fetch(_SETTLED, source.value, day, merchants)
    }
    for gone in settled.keys() - wanted.keys():
        wanted[gone] = (0, 0)
    if not wanted:
        return
    tag = day_tag(source.value, day)
    for merchant_id in sorted({merchant for merchant, _ in wanted}):
        transfers: list[TransferRequest] = []
        for (merchant, currency), (gross, fee) in sorted(wanted.items()):
            if merchant != merchant_id:
                continue
            before_gross, before_fee = settled.get((merchant, currency), (0, 0))
            if (gross, fee) == (before_gross, before_fee):
                continue
            # Only the accounts it posts to: a converted charge settles in its presentment
            # currency, where the merchant has no balance (GetBalance would show one).
            accounts = await books.accounts(connection, merchant_id, currency, SETTLEMENT_ACCOUNTS)
            key = f"{tag}:{currency}:{before_gross}:{before_fee}->{gross}:{fee}"
            for leg, into, amount in (
                ("net", codes.PLATFORM_CASH.code, (gross - fee) - (before_gross - before_fee)),
                ("fee", codes.PSP_FEES.code, fee - before_fee),
            ):
                transfer = movement(
                    derived_transfer_id(merchant_id, day, f"settlement:{leg}:{key}"),
                    into=accounts[into],
                    out_of=accounts[codes.PSP_RECEIVABLE.code],
                    amount=amount,
                    currency=currency,
                    code=codes.TRANSFER_SETTLEMENT
                    if leg == "net"
                    else codes.TRANSFER_SETTLEMENT_FEE,
                    tag=tag,
                    source="settlement",
                )
                if transfer is not None:
                    transfers.append(transfer)
        await books.post(connection, merchant_id, transfers)
    rows = sorted(wanted.items())
    await driver.execute(
        _SAVE,
        [merchant for (merchant, _), _ in rows],
        [source.value] * len(rows),
        [day] * len(rows),
        [currency for (_, currency), _ in rows],
        [gross for _, (gross, _) in rows],
        [fee for _, (_, fee) in rows],
    )


_SETTLED_MERCHANTS = """
SELECT merchant_id FROM reconciliation_settlements WHERE source = $1 AND day = $2
UNION
SELECT merchant_id FROM reconciliation_items WHERE source = $1 AND day = $2
"""


async def settled_merchants(driver: Driver, source: Source, day: dt.date) -> list[str]:
    """The merchants (on this shard) with anything the day settled."""
    return sorted(
        row["merchant_id"] for row in await driver.fetch(_SETTLED_MERCHANTS, source.value, day)
    )
