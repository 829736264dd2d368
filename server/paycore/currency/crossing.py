"""Money between the platform's balance and a seller's that settles in another currency
(docs/currencies.md, "Sellers that settle in another currency"): a destination charge's share,
a transfer (tr_) and an application fee given back cross into the seller's settlement
currency; a refund's transfer reversal and a transfer reversal cross back. The platform's side
moves in the currency it holds the money in (X), the seller's in its default settlement
currency (T), through the pair's FX clearing account, so that each currency's books sum to
zero on their own:

    to the seller    X   platform balance -> fx_clearing:X_T         A
                     T   fx_clearing:X_T -> seller balance            floor(A x q)
    back             T   seller balance (available, then pending)
                         -> fx_clearing:X_T                           held(H) - held(H - A)
                     X   fx_clearing:X_T -> platform balance          A
    fee given back   X   platform balance -> fx_clearing:X_T         A
                     T   fx_clearing:X_T -> seller balance            held(H + A) - held(H)
    rounding         T   fx_clearing:X_T -> fx_rounding               whole units of the carry

A crossing to the seller converts at the newest rate (its request was refused before anything
moved when the rate was stale or missing: `check`); what crosses back (and an application fee
given back, which undoes part of the share) converts at the rate locked on the seller's row of
the money it undoes (the charge's share, the transfer), so the seller bears no FX result, and
moves the difference it makes to what the seller holds of that money: H, the X that crossed
less what came back (`BalanceTransactionRepository.moved_back`) plus the fee given back, held
as a crossing of it would have credited, held(H) = floor(H x q) (`part_of`). So the parts always
add up to what was credited: money coming back in full, in one part or many, leaves the seller
exactly where it started (each part rounded up on its own took up to a unit too many a part).
Each part's remainder against its exact value is in (-1, 1), negative when the part gives back
what earlier rounding kept; the platform's position in the pair, valued at the locked rates, is
the carry. The seller's rows show the locked rate and the platform's side of the money
(`exchange_rate`, `presentment_amount`, `presentment_currency`); no conversion fee is taken (the
platform's own conversion of a charge, if any, took its fee).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from paycore.currency.conversion import Converted, convert_down, exact_value
from paycore.currency.models import rate_text
from paycore.currency.settlement import Conversions
from paycore.ledger import codes
from paycore.ledger.models import TransferRequest
from paycore.payout.balances import BalanceBook, Taking
from paycore.payout.models import MERCHANT, BalanceStatus, BalanceType, Presentment
from paycore.payout.repository import BalanceTransactionRepository
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True)
class Rate:
    """The seller's settlement currency for money in `base`, and the rate (units of `quote`
    per unit of `base`) it crosses at."""

    base: str
    quote: str
    rate: Decimal


@dataclass(frozen=True)
class Side:
    """One balance's side of a crossing: its row's type, status (for the side credited, which of
    its balance accounts: available or pending), due time and description; for the side that
    pays, `account`: the ledger account it pays from (an id; "": as a refund takes money,
    balance_available as far as it goes, then balance_pending)."""

    kind: BalanceType
    account: str = ""
    status: BalanceStatus = BalanceStatus.PENDING
    available_on: int | None = None
    description: str = ""


@dataclass(frozen=True)
class Crossing:
    """`amount` minor units of the platform's side (`rate.base`) between the platform's balance
    and `seller`'s, sourced by `source` (pi_, tr_, re_, trr_) under the ledger `code`."""

    seller: str
    amount: int
    rate: Rate
    source: str
    code: str


@dataclass(frozen=True)
class Move:
    """`amount` of the platform's side (`currency`) between the platform's balance and
    `seller`'s, undoing part of the money `crossed` (the pi_ of a destination charge's share, a
    tr_) passed on: back to the platform, or (`to_seller`) an application fee given back."""

    seller: str
    to_seller: bool
    amount: int
    currency: str
    crossed: str
    source: str
    code: str
    kind: BalanceType
    description: str
    to_available: bool = False
    """The payee's row available at once (else pending, due at once)."""


def held(rate: Rate, amount: int) -> int:
    """What the seller holds in its currency of `amount` (the platform's side) of money that
    crossed at `rate`: as the crossing credited it, rounded down."""
    return convert_down(amount, rate.rate, rate.base, rate.quote).amount


def part_of(rate: Rate, holding: int, amount: int, to_seller: bool) -> Converted:
    """What moving `amount` (the platform's side) of money that crossed at `rate` to the seller
    (`to_seller`) or back moves of the seller's currency, when the seller holds `holding` of
    that money (what crossed, less what came back, plus the application fee given back): the
    difference it makes to `held`, so that what the seller holds is always what a crossing of
    its net would have credited, and a money given back in full leaves it none; the remainder,
    what the part kept for the platform against the exact value at `rate`, may be negative (a
    part giving back what earlier parts kept), always above -1."""
    after = holding + amount if to_seller else holding - amount
    moved = abs(held(rate, after) - held(rate, holding))
    exact = exact_value(amount, rate.rate, rate.base, rate.quote)
    return Converted(moved, exact - moved if to_seller else moved - exact)


@dataclass(frozen=True, slots=True)
class Crossings:
    _conversions: Conversions
    _balances: BalanceBook

    async def check(
        self, connection: AsyncConnection, merchant_id: str, seller: str, currency: str, param: str
    ) -> None:
        """Before money in `currency` is passed on to `seller`: when it would cross into the
        seller's settlement currency, the pair has a fresh rate (CURRENCY_PAIR_UNSUPPORTED or
        EXCHANGE_RATE_STALE naming `param`)."""
        target = await self._target(connection, merchant_id, seller, currency)
        if target is not None:
            await self._conversions.rates.usable(connection, currency, target, param)

    async def newest(
        self, connection: AsyncConnection, merchant_id: str, seller: str, currency: str
    ) -> Rate | None:
        """The rate money in `currency` crosses to `seller` at now (the newest, whatever its
        age: requests were checked before the PSP moved the money); None: it does not cross,
        or the pair has no rate at all (the seller's currencies changed after the request was
        checked): the money stays in `currency`, as for a seller without settlement
        currencies."""
        target = await self._target(connection, merchant_id, seller, currency)
        if target is None:
            return None
        newest = await self._conversions.rates.newest(connection, currency, target)
        return None if newest is None else Rate(currency, target, newest.rate)

    async def undoing(
        self, connection: AsyncConnection, merchant_id: str, move: Move
    ) -> tuple[Rate, Converted] | None:
        """The rate `move.crossed` locked on the seller's row when its money in `move.currency`
        crossed, and what `move` moves of the seller's currency: the difference it makes to
        what the seller holds of that money, `held` (so that its parts always add up to what
        was credited); None: it did not cross."""
        repository = BalanceTransactionRepository(connection)
        row = await repository.converted_payment(merchant_id, move.crossed, move.seller)
        if row is None or row.conversion is None or row.conversion.currency != move.currency:
            return None
        rate = Rate(move.currency, row.currency, Decimal(row.conversion.exchange_rate))
        back = await repository.moved_back(merchant_id, move.crossed, move.currency, move.source)
        return rate, part_of(rate, row.conversion.amount - back, move.amount, move.to_seller)

    async def move(
        self, connection: AsyncConnection, merchant_id: str, move: Move
    ) -> list[dict[str, Any]]:
        """`move` as `BalanceBook.move` moves money between two balances (the payer's available
        as far as it goes, then pending; the payee's pending, due at once, or available), or,
        when the money it undoes crossed into the seller's settlement currency, across it at
        the rate locked then. The rows written."""
        undone = await self.undoing(connection, merchant_id, move)
        if undone is None:
            payer, payee = (MERCHANT, move.seller) if move.to_seller else (move.seller, MERCHANT)
            return await self._balances.move(
                connection,
                merchant_id,
                payer=payer,
                payee=payee,
                currency=move.currency,
                amount=move.amount,
                source=move.source,
                code=move.code,
                kind=move.kind,
                description=move.description,
                to_available=move.to_available,
            )
        rate, converted = undone
        crossing = Crossing(move.seller, move.amount, rate, move.source, move.code)
        status = BalanceStatus.AVAILABLE if move.to_available else BalanceStatus.PENDING
        paying = Side(move.kind, description=move.description)
        paid = Side(move.kind, "", status, self._balances.now(), move.description)
        if move.to_seller:
            return await self.to_seller(connection, merchant_id, crossing, paying, paid, converted)
        return await self._to_platform(connection, merchant_id, crossing, paid, paying, converted)

    async def to_seller(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        crossing: Crossing,
        platform: Side,
        seller: Side,
        converted: Converted | None = None,
    ) -> list[dict[str, Any]]:
        """The platform pays `crossing.amount` (out of `platform.account`, or as a refund takes
        it when ""), the seller gets it converted, rounded down, or `converted` (into its
        balance as `seller.status` says). The rows written, the seller's last."""
        rate = crossing.rate
        if converted is None:
            converted = convert_down(crossing.amount, rate.rate, rate.base, rate.quote)
        clearing = await self._clearing(connection, merchant_id, rate)
        rows: list[dict[str, Any]] = []
        taken: list[dict[str, Any]] = []  # the rows `BalanceBook.take` wrote
        transfers: list[TransferRequest] = []
        if platform.account:
            paid = self._move(merchant_id, crossing, platform.account, clearing[0])
            transfers.append(paid)
            rows.append(
                self._row(merchant_id, MERCHANT, paid, platform, -crossing.amount, rate.base)
            )
        else:
            taking = self._taking(MERCHANT, crossing, rate.base, crossing.amount, platform)
            (paid, *_), taken = await self._balances.take(
                connection, merchant_id, taking, counter=clearing[0]
            )
        seller_account = await self._credited(
            connection, merchant_id, crossing.seller, rate.quote, seller
        )
        got = self._move(
            merchant_id, crossing, clearing[1], seller_account, converted.amount, rate.quote
        )
        transfers.append(got)
        shown = Presentment(rate_text(rate.rate), crossing.amount, rate.base)
        rows.append(
            self._row(
                merchant_id,
                crossing.seller,
                got if converted.amount else paid,
                seller,
                converted.amount,
                rate.quote,
                shown,
            )
        )
        transfers += await self._rounding(connection, merchant_id, crossing, converted.remainder)
        await self._balances.post(connection, merchant_id, [t for t in transfers if t.amount])
        await self._balances.record(connection, rows)
        return [*taken, *rows]

    async def _to_platform(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        crossing: Crossing,
        platform: Side,
        seller: Side,
        owed: Converted,
    ) -> list[dict[str, Any]]:
        """The seller gives back `owed` for `crossing.amount` of the platform's side, as a
        refund takes it; the platform gets exactly `crossing.amount` (into its balance as
        `platform.status` says). The rows written, the platform's last."""
        rate = crossing.rate
        clearing = await self._clearing(connection, merchant_id, rate)
        shown = Presentment(rate_text(rate.rate), crossing.amount, rate.base)
        taking = self._taking(crossing.seller, crossing, rate.quote, owed.amount, seller)
        _, rows = await self._balances.take(
            connection, merchant_id, taking, counter=clearing[1], conversion=shown
        )
        platform_account = await self._credited(
            connection, merchant_id, MERCHANT, rate.base, platform
        )
        back = self._move(merchant_id, crossing, clearing[0], platform_account)
        rounding = await self._rounding(connection, merchant_id, crossing, owed.remainder)
        await self._balances.post(connection, merchant_id, [back, *rounding])
        row = self._row(merchant_id, MERCHANT, back, platform, crossing.amount, rate.base)
        recorded = [row]
        if not rows:
            # A part too small to take a unit still gets the seller's (zero) row, as a crossing
            # to it does: the seller's rows show every part's conversion.
            now = self._balances.now()
            shown_on = Side(seller.kind, "", BalanceStatus.AVAILABLE, now, seller.description)
            rows = [self._row(merchant_id, crossing.seller, back, shown_on, 0, rate.quote, shown)]
            recorded = [*rows, row]
        await self._balances.record(connection, recorded)
        return [*rows, row]

    # -- parts -----------------------------------------------------------------------------------

    async def _target(
        self, connection: AsyncConnection, merchant_id: str, seller: str, currency: str
    ) -> str | None:
        settlement = await self._conversions.settlement(connection, merchant_id, seller)
        return settlement.target_for(currency)

    async def _credited(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        account: str,
        currency: str,
        side: Side,
    ) -> str:
        """The balance account a crossing credits: available or pending, as its row's status."""
        accounts = await self._balances.accounts(connection, merchant_id, account, currency)
        return accounts.available if side.status is BalanceStatus.AVAILABLE else accounts.pending

    async def _clearing(
        self, connection: AsyncConnection, merchant_id: str, rate: Rate
    ) -> tuple[str, str]:
        """The pair's FX clearing account in the platform's currency and in the seller's."""
        clearing = codes.fx_clearing(rate.base, rate.quote)
        there = await self._conversions.accounts(connection, merchant_id, rate.base, (clearing,))
        here = await self._conversions.accounts(connection, merchant_id, rate.quote, (clearing,))
        return there[clearing.code], here[clearing.code]

    async def _rounding(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        crossing: Crossing,
        remainder: Fraction,
    ) -> list[TransferRequest]:
        """The remainder added to the merchant's carry in the seller's currency; the whole
        units it makes, booked to fx_rounding."""
        rate = crossing.rate
        whole = await self._conversions.carry(connection, merchant_id, rate.quote, remainder)
        clearing = codes.fx_clearing(rate.base, rate.quote)
        accounts = await self._conversions.accounts(
            connection, merchant_id, rate.quote, (clearing, codes.FX_ROUNDING)
        )
        return self._conversions.rounding(
            merchant_id, crossing.source, accounts, clearing, whole, rate.quote
        )

    def _move(
        self,
        merchant_id: str,
        crossing: Crossing,
        debit: str,
        credit: str,
        amount: int | None = None,
        currency: str = "",
    ) -> TransferRequest:
        return self._balances.transfer(
            merchant_id,
            crossing.code,
            debit=debit,
            credit=credit,
            amount=crossing.amount if amount is None else amount,
            currency=currency or crossing.rate.base,
            source=crossing.source,
        )

    def _taking(
        self, account: str, crossing: Crossing, currency: str, amount: int, side: Side
    ) -> Taking:
        return Taking(
            account, currency, amount, crossing.source, crossing.code, side.kind, side.description
        )

    def _row(
        self,
        merchant_id: str,
        account: str,
        transfer: TransferRequest,
        side: Side,
        amount: int,
        currency: str,
        conversion: Presentment | None = None,
    ) -> dict[str, Any]:
        return self._balances.row(
            merchant_id,
            account,
            transfer,
            side.kind,
            amount,
            status=side.status,
            available_on=side.available_on,
            description=side.description,
            currency=currency,
            conversion=conversion,
        )
