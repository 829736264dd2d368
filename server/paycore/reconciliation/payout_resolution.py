"""Resolving a `payout_mismatch` (the bank's payouts report against paycore's payouts).

A payout's residual is cash: what paycore booked as gone from platform_cash for it (its amount
when paycore has it paid) less what the bank says went (the amount of a `paid` line), per
currency. The resolutions:

    auto       the bank finished a payout paycore has in transit (or paid, for a failure):
               paycore follows the bank through the payout's lifecycle, as the tracking job
               would: `paid` (payouts_in_transit -> platform_cash) or `failed` (the funds
               return to balance_available with a payout_failure balance transaction, an
               instant payout's fee with them: payout_fee_reversal)
    adjust     paycore follows the bank: a paid payout the bank failed or never reported fails
               through the lifecycle; otherwise the residual moves between platform_cash and
               the balance (balance_available of the payout's account, an `adjustment`
               balance transaction: the merchant's history shows it)
    write_off  the residual moves between platform_cash and reconciliation_write_offs
    ignore     nothing moves (the report was wrong: e.g. the bank's API says otherwise)

Transfer ids derive from the discrepancy, the action and the currency (Books), so a replay
books nothing twice; a lifecycle step happens once because the payout is locked and must still
be in the status the bank contradicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from paycore.errors import ApiError, Reason
from paycore.ledger import codes
from paycore.ledger.models import TransferRequest
from paycore.payout.balances import BalanceBook
from paycore.payout.lifecycle import PayoutLifecycle
from paycore.payout.models import BalanceStatus, Payout, PayoutStatus
from paycore.payout.repository import PayoutRepository
from paycore.reconciliation.books import (
    Books,
    day_tag,
    derived_transfer_id,
    is_merchant,
    movement,
)
from paycore.reconciliation.models import Action, Discrepancy
from paycore.storage.raw import driver_of
from sqlalchemy.ext.asyncio import AsyncConnection

_IN_FLIGHT_OR_PAID = (PayoutStatus.PENDING, PayoutStatus.IN_TRANSIT, PayoutStatus.PAID)
FOLLOWED_CODE = "could_not_process"
"""A failed payout's failure code when the bank's report gave none."""
_LIFECYCLE_TRANSFERS = """
SELECT id FROM ledger_transfers
WHERE merchant_id = $1 AND metadata->>'source' = $2 AND code = ANY($3::text[])
  AND created_at = now()
ORDER BY id
"""


def cash_residual(discrepancy: Discrepancy) -> dict[str, int]:
    """What paycore booked out of platform_cash for the payout less what the bank paid, per
    currency (positive: paycore's books say more left than did)."""
    residual: dict[str, int] = {}
    if discrepancy.internal_status == PayoutStatus.PAID.value and discrepancy.internal_currency:
        residual[discrepancy.internal_currency] = discrepancy.internal_amount
    if discrepancy.psp_status == "paid" and discrepancy.psp_currency:
        residual[discrepancy.psp_currency] = (
            residual.get(discrepancy.psp_currency, 0) - discrepancy.psp_amount
        )
    return {currency: amount for currency, amount in residual.items() if amount}


def follows_bank(discrepancy: Discrepancy) -> bool:
    """The cases paycore settles by itself: the bank finished (paid, failed) a payout paycore
    still has in flight, or failed one paycore has paid; same amount and currency."""
    same = (discrepancy.internal_amount, discrepancy.internal_currency) == (
        discrepancy.psp_amount,
        discrepancy.psp_currency,
    )
    if not same:
        return False
    if discrepancy.psp_status == "paid":
        return discrepancy.internal_status == PayoutStatus.IN_TRANSIT.value
    return discrepancy.psp_status == "failed" and discrepancy.internal_status in {
        status.value for status in _IN_FLIGHT_OR_PAID
    }


@dataclass(frozen=True, slots=True)
class PayoutResolutions:
    _books: Books
    _balances: BalanceBook
    _lifecycle: PayoutLifecycle

    async def resolve(
        self, connection: AsyncConnection, discrepancy: Discrepancy, *, action: Action, code: str
    ) -> list[str]:
        """Books the action; the ids of the ledger transfers it posted."""
        if action is Action.IGNORE:
            return []
        if not is_merchant(discrepancy.merchant_id):
            raise unfit(action, discrepancy, "no merchant to book for; only ignore fits")
        if action is Action.REFUND_AT_PSP:
            raise unfit(action, discrepancy, "a payout is adjusted, written off or ignored")
        if action is Action.AUTO or (action is Action.ADJUST and _bank_never_paid(discrepancy)):
            return await self._follow_bank(connection, discrepancy, action, code)
        residual = cash_residual(discrepancy)
        if action is Action.WRITE_OFF:
            transfers = await residual_transfers(
                self._books,
                connection,
                discrepancy,
                action,
                residual,
                into=codes.PLATFORM_CASH,
                out_of=codes.RECONCILIATION_WRITE_OFFS,
            )
            await self._books.post(connection, discrepancy.merchant_id, transfers)
            return [transfer.id for transfer in transfers]
        return await self._adjust_balance(connection, discrepancy, residual)

    async def _follow_bank(
        self, connection: AsyncConnection, discrepancy: Discrepancy, action: Action, code: str
    ) -> list[str]:
        payout = await self._payout(connection, discrepancy)
        paid = discrepancy.psp_status == "paid"
        arrived = PayoutStatus.PAID if paid else PayoutStatus.FAILED
        if payout is not None and paid and payout.status is PayoutStatus.IN_TRANSIT:
            await self._lifecycle.paid(connection, payout)
            moved = [codes.TRANSFER_PAYOUT]
        elif payout is not None and not paid and payout.status in _IN_FLIGHT_OR_PAID:
            said = "failed" if discrepancy.psp_status == "failed" else "not paid"
            await self._lifecycle.fail(
                connection,
                payout,
                code or FOLLOWED_CODE,
                f"The bank's payouts report of {discrepancy.day.isoformat()} says it {said}.",
            )
            moved = [codes.TRANSFER_PAYOUT_FAILURE, codes.TRANSFER_PAYOUT_FEE_REVERSAL]
        elif payout is not None and payout.status is arrived:
            return []  # paycore got there meanwhile (the tracking job): nothing left to do
        elif action is Action.AUTO:
            return []  # a run never fails on it: the discrepancy closes, its views tell
        else:
            status = "missing" if payout is None else payout.status.value
            raise unfit(action, discrepancy, f"the payout is {status}")
        driver = await driver_of(connection)
        rows = await driver.fetch(
            _LIFECYCLE_TRANSFERS, discrepancy.merchant_id, discrepancy.object_id, moved
        )
        return [row["id"] for row in rows]

    async def _adjust_balance(
        self, connection: AsyncConnection, discrepancy: Discrepancy, residual: dict[str, int]
    ) -> list[str]:
        payout = await self._payout(connection, discrepancy)
        account = payout.account if payout is not None else ""
        moves = []
        for currency, amount in sorted(residual.items()):
            accounts = await self._balances.accounts(
                connection, discrepancy.merchant_id, account, currency
            )
            if amount < 0:
                locked = await self._balances.lock(connection, discrepancy.merchant_id, accounts)
                if locked.available < -amount:
                    raise unfit(
                        Action.ADJUST,
                        discrepancy,
                        f"the available balance in {currency} ({locked.available}) cannot "
                        f"cover {-amount}",
                    )
            # The residual back into platform_cash (out of it when negative).
            transfer = resolution_transfer(
                discrepancy,
                Action.ADJUST,
                currency,
                amount,
                into=accounts.platform_cash,
                out_of=accounts.available,
            )
            if transfer is not None:
                moves.append((transfer, amount))
        await self._balances.adjust(
            connection,
            discrepancy.merchant_id,
            account=account,
            moves=moves,
            status=BalanceStatus.AVAILABLE,
            description=f"reconciliation: {discrepancy.kind.value} {discrepancy.id}",
        )
        return [transfer.id for transfer, _ in moves]

    @staticmethod
    async def _payout(connection: AsyncConnection, discrepancy: Discrepancy) -> Payout | None:
        if not discrepancy.object_id or not discrepancy.internal_status:
            return None
        return await PayoutRepository(connection).get(
            discrepancy.merchant_id, discrepancy.object_id, lock=True
        )


def _bank_never_paid(discrepancy: Discrepancy) -> bool:
    """paycore has it paid; the bank failed it or did not report it (same amount, if any)."""
    return (
        discrepancy.internal_status == PayoutStatus.PAID.value
        and discrepancy.psp_status != "paid"
        and discrepancy.psp_amount in (0, discrepancy.internal_amount)
    )


def transfer_id(discrepancy: Discrepancy, action: Action, currency: str) -> str:
    return derived_transfer_id(
        discrepancy.merchant_id, discrepancy.day, f"{discrepancy.id}:{action.value}:{currency}"
    )


def resolution_transfer(
    discrepancy: Discrepancy,
    action: Action,
    currency: str,
    amount: int,
    *,
    into: str,
    out_of: str,
) -> TransferRequest | None:
    """`amount` into `into` out of `out_of` (reversed when negative; None for zero) as the
    adjustment transfer that resolves `discrepancy` by `action`: every resolution books its
    transfers with the same id, code, day tag and source, so that each posts once and the
    day's reconciliation finds it."""
    return movement(
        transfer_id(discrepancy, action, currency),
        into=into,
        out_of=out_of,
        amount=amount,
        currency=currency,
        code=codes.TRANSFER_ADJUSTMENT,
        tag=day_tag(discrepancy.source.value, discrepancy.day),
        source=discrepancy.id,
    )


async def residual_transfers(
    books: Books,
    connection: AsyncConnection,
    discrepancy: Discrepancy,
    action: Action,
    residual: Mapping[str, int],
    *,
    into: codes.AccountCode,
    out_of: codes.AccountCode,
) -> list[TransferRequest]:
    """The residual of each currency moved into the merchant's account `into` out of the
    account `out_of`: one resolution transfer a currency, none where it is zero. Only those two
    accounts are made in a currency the merchant has none of: a balance account made there (a
    residual of the PSP's currency, not the charge's) would show the merchant a currency its
    balance never moved in."""
    transfers = []
    for currency, amount in sorted(residual.items()):
        accounts = await books.accounts(
            connection, discrepancy.merchant_id, currency, (into, out_of)
        )
        transfer = resolution_transfer(
            discrepancy,
            action,
            currency,
            amount,
            into=accounts[into.code],
            out_of=accounts[out_of.code],
        )
        if transfer is not None:
            transfers.append(transfer)
    return transfers


def unfit(action: Action, discrepancy: Discrepancy, detail: str) -> ApiError:
    return ApiError(
        Reason.DISCREPANCY_ACTION_UNFIT,
        param="action",
        action=action.value,
        id=discrepancy.id,
        detail=detail,
    )
