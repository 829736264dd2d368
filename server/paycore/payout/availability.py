"""The availability job: moves what has come due from balance_pending to balance_available.

One run on one shard, one transaction: claim up to a batch of pending balance transactions whose
available_on has passed (FOR UPDATE SKIP LOCKED, so workers side by side take disjoint rows),
net them per merchant, account and currency, post one ledger transfer per group (pending ->
available, or available -> pending when refunds outweigh the day's credits), mark the rows
available and record balance.available. The rows' status and the money move in the same
commit, so each row moves exactly once. A group whose net is negative and larger than what is
available (the balance is negative) cannot settle yet: its rows wait a day and are netted
again with what comes due then.

A won dispute's reinstatement (an adjustment of a dispute, `dp_` source, giving money back) is
due at once, but is never available before the withdrawal it reverses: while that withdrawal
is pending and not claimed in the same run, the reinstatement is held and takes the
withdrawal's available_on (so both come due together, fall in the same group and settle or
wait as one). Claimed in the same run, they are in the same group already.

`settle` does the same for one merchant inside a caller's transaction (a balance read, a
payout, a transfer), so what has come due counts at once; it never postpones a group that
cannot settle (that is the job's, once a day), so calling it again changes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from paycore.events import Recorder
from paycore.ids import Prefix
from paycore.ledger import codes
from paycore.payout.balances import BalanceBook
from paycore.payout.events import BALANCE_AVAILABLE
from paycore.payout.models import DAY_SECONDS, AccountBalance, BalanceType, InstantAvailable
from paycore.payout.repository import BalanceTransactionRepository, DueRow
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

BATCH_MAX = 2000
Group = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class Availability:
    _book: BalanceBook
    _events: Recorder[AccountBalance]
    _instant: InstantAvailable

    async def run(self, engine: AsyncEngine, limit: int = BATCH_MAX) -> int:
        """One batch of what has come due on `engine`'s shard; the number of rows moved."""
        async with engine.begin() as connection:
            return await self._settle(connection, "", limit, postpone=True)

    async def settle(self, connection: AsyncConnection, merchant_id: str) -> int:
        """What has come due for one merchant (its sellers' balances too), in the caller's
        transaction: a payout, a transfer or a balance read counts it as available at once
        instead of waiting for the job's next run (a charge of the bypass-pending test card is
        due the moment it is captured, as Stripe's is available). A group that cannot settle
        is left as it is, for the job to postpone, so that calling this again changes nothing."""
        return await self._settle(connection, merchant_id, BATCH_MAX, postpone=False)

    async def any_due(self, connection: AsyncConnection, merchant_id: str) -> bool:
        """Whether `settle` has anything to do for the merchant (a read, for a reader)."""
        repository = BalanceTransactionRepository(connection)
        return await repository.any_due(merchant_id, self._book.now())

    async def _settle(
        self, connection: AsyncConnection, merchant_id: str, limit: int, *, postpone: bool
    ) -> int:
        book = self._book
        repository = BalanceTransactionRepository(connection)
        due = await repository.claim_due(book.now(), limit, merchant_id)
        if not due:
            return 0
        due = await _hold_reinstatements(repository, due)
        if not due:
            return 0
        groups: dict[Group, list[DueRow]] = defaultdict(list)
        for row in due:
            groups[(row.merchant_id, row.account, row.currency)].append(row)
        accounts = await book.balance_accounts(connection, list(groups))
        moving = [(group, sum(row.net for row in groups[group])) for group in groups]
        moving = [(group, net) for group, net in moving if net]
        transfers = [
            book.transfer(
                group[0],
                codes.TRANSFER_AVAILABILITY,
                debit=accounts[group][0] if net > 0 else accounts[group][1],
                credit=accounts[group][1] if net > 0 else accounts[group][0],
                amount=abs(net),
                currency=group[2],
                source="availability",
            )
            for group, net in moving
        ]
        applied = await book.post_each(connection, transfers)
        waiting = {group for (group, _), ok in zip(moving, applied, strict=True) if not ok}
        settled = [row for group, rows in groups.items() if group not in waiting for row in rows]
        await repository.mark_available(settled)
        if postpone:
            await repository.postpone(
                [row for group in waiting for row in groups[group]], DAY_SECONDS
            )
        moved = [group for group, _ in moving if group not in waiting]
        balances = await book.posted_balances(
            connection, [account for group in moved for account in accounts[group]]
        )
        await self._events.record_each(
            connection,
            BALANCE_AVAILABLE,
            [
                AccountBalance(
                    merchant,
                    account,
                    available={currency: available},
                    pending={currency: pending},
                    instant_available={currency: self._instant(available, pending, currency)},
                )
                for group in moved
                for merchant, account, currency in [group]
                for available, pending in [
                    (balances[accounts[group][1]], balances[accounts[group][0]])
                ]
            ],
        )
        return len(settled)


async def _hold_reinstatements(
    repository: BalanceTransactionRepository, due: list[DueRow]
) -> list[DueRow]:
    """`due` but for the dispute reinstatements whose withdrawal is still pending outside it:
    those take the withdrawal's available_on and wait for it."""
    reinstatements = [
        row
        for row in due
        if row.type == BalanceType.ADJUSTMENT.value
        and row.net > 0
        and row.source.startswith(f"{Prefix.DISPUTE.value}_")
    ]
    if not reinstatements:
        return due
    keys = sorted({(row.merchant_id, row.source) for row in reinstatements})
    withdrawals = await repository.pending_withdrawals(keys, due)
    held = [
        (row, withdrawals[(row.merchant_id, row.source)])
        for row in reinstatements
        if (row.merchant_id, row.source) in withdrawals
    ]
    await repository.defer(held)
    ids = {row.id for row, _ in held}
    return [row for row in due if row.id not in ids]
