"""The ledger transfers of pay-in, in one place (docs/design.md, "Ledger").

    charge captured      psp_receivable -> balance_pending          amount   (payment)
                         balance_pending -> fees_revenue             fee      (fee)
    destination charge   balance_pending -> seller balance_pending   amount - application fee
    authorization        psp_receivable -> balance_pending          amount, pending (a hold)
    capture              post the hold (the captured part; the rest is released), then the fee
    cancel               void the hold
    refund               balance_available (as far as it goes, then balance_pending)
                         -> psp_receivable                          amount   (refund)
    reverse_transfer     seller balance (available, then pending) -> balance_pending
                                                                    amount   (transfer_reversal)
    refund_application_fee  balance (available, then pending) -> seller balance_pending
                                                      the fee's share  (application_fee_refund)

(A fee's own refunds, fr_, are paycore.payment.application_fees'.)

A seller that settles in another currency gets its share (and a fee given back) converted into
it, and gives a transfer reversal back at that rate (paycore.currency.crossing). A payment
order credits its seller's own balance_pending instead of the merchant's. Every
transfer carries `source` (the intent or order), so the wallet shows fee and net per charge.
They are posted inside the caller's transaction, so status, money and event commit together.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from paycore.currency.conversion import convert_down, part_of_booked
from paycore.currency.crossing import Crossing, Crossings, Move, Side
from paycore.currency.settlement import Booked, Charge, Conversions, RefundCharge
from paycore.ledger import codes
from paycore.ledger.models import TransferRequest, sourced_transfer
from paycore.ledger.service import LedgerService
from paycore.payout.balances import BalanceBook
from paycore.payout.models import BalanceType
from sqlalchemy.ext.asyncio import AsyncConnection


class LedgerRejected(RuntimeError):
    """The ledger refused a pay-in transfer: a bug, never an answer to a caller."""


@dataclass(frozen=True)
class Capture:
    """A plain capture, for `PayInLedger.capture_together`."""

    source: str
    amount: int
    currency: str
    fee: int
    at_once: bool = False
    """The PSP made the funds available at once (its bypass-pending test card)."""
    balance_transaction_id: str = ""
    """Its balance transaction's id, named by the completion (the charge's events show it)."""


@dataclass(frozen=True)
class Credit:
    """Who a captured charge credits: the merchant, a seller (payment order), or the merchant
    with a share passed on to a seller (destination charge)."""

    seller_account: str | None = None
    destination: str | None = None
    application_fee: int = 0


@dataclass(frozen=True)
class Reversal:
    """What a destination charge's refund takes back from its seller (`transfer`: the
    transfer reversal) and gives back to it (`application_fee`: the fee's share)."""

    seller: str
    transfer: int
    application_fee: int
    # -- a converted charge's parts split what was booked (paycore.currency.conversion.
    # part_of_booked): the amount the charge captured, and what of it and of the fee it kept
    # the charge's earlier refunds had not taken back or given back yet (all in its currency).
    charged: int = 0
    transfer_left: int = 0
    fee_left: int = 0


@dataclass(frozen=True, slots=True)
class PayInLedger:
    _ledger: LedgerService
    # -- pay-out (issue 13): every credit and debit of a balance gets its balance
    # transaction row, in this transaction (paycore.payout.balances).
    _balances: BalanceBook
    # -- currencies (issue 19): charges converted into a settlement currency are booked
    # there (paycore.currency.settlement); the rest below, as before.
    _conversions: Conversions
    # -- sellers that settle in another currency: what passes between the merchant's balance
    # and theirs crosses into it (paycore.currency.crossing).
    _crossings: Crossings

    async def capture(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        *,
        source: str,
        amount: int,
        currency: str,
        fee: int,
        credit: Credit,
        hold_transfer_id: str | None = None,
        at_once: bool = False,
        balance_transaction_id: str = "",
    ) -> None:
        """Money received: a new posted transfer, or (`hold_transfer_id`) the hold posted for
        `amount`; then the fee and a destination's share. `at_once`: the PSP made the funds
        available at once, so the balance transactions are due now (a destination charge's
        share too, on both sides, as Stripe's). `balance_transaction_id`:
        the payment row's id, when the caller named it before (a charge's events show it)."""
        charge = Charge(
            source,
            amount,
            currency,
            fee,
            credit.seller_account or "",
            credit.application_fee,
            hold_transfer_id or "",
            at_once,
            balance_transaction_id,
        )
        booked = await self._conversions.capture(connection, merchant_id, charge)
        if booked is None:
            booked = await self._capture_unconverted(connection, merchant_id, charge)
        if credit.destination and booked.amount > booked.application_fee:
            await self._pass_on(connection, merchant_id, charge, credit.destination, booked)

    async def _capture_unconverted(
        self, connection: AsyncConnection, merchant_id: str, charge: Charge
    ) -> Booked:
        source, amount, currency, fee = charge.source, charge.amount, charge.currency, charge.fee
        accounts = await self._accounts(connection, merchant_id, currency)
        balance = accounts["balance_pending"]
        if charge.seller_account:
            seller = await self._seller_accounts(
                connection, merchant_id, currency, charge.seller_account
            )
            balance = seller[f"balance_pending:{charge.seller_account}"]
        transfers = []
        if charge.hold_transfer_id:
            transfers.append(
                sourced_transfer(
                    merchant_id,
                    source,
                    codes.TRANSFER_PAYMENT,
                    post=charge.hold_transfer_id,
                    amount=amount,
                )
            )
            if fee:
                transfers.append(self._fee(merchant_id, source, balance, accounts, fee, currency))
        else:
            transfers = self._received(
                merchant_id, source, balance, accounts, amount, fee, currency
            )
        # -- pay-out (issue 13): the balance transactions of what is posted below (first: the
        # posting locks the merchant's shared accounts until the commit).
        await self._balances.payment(
            connection,
            merchant_id,
            account=charge.seller_account,
            payment=transfers[0],
            amount=amount,
            currency=currency,
            fee=fee,
            source=source,
            at_once=charge.at_once,
            transaction_id=charge.balance_transaction_id,
        )
        await self._post(connection, merchant_id, transfers)
        return Booked(currency, amount, charge.application_fee, balance)

    async def _pass_on(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        charge: Charge,
        destination: str,
        booked: Booked,
    ) -> None:
        """A destination charge's share, out of the balance the charge credited: in the
        currency it was booked in, or converted into the seller's settlement currency
        (paycore.currency.crossing). `at_once`: both rows due now, as the charge's own."""
        share = booked.amount - booked.application_fee
        due = self._balances.now() if charge.at_once else None
        rate = await self._crossings.newest(connection, merchant_id, destination, booked.currency)
        if rate is not None:
            await self._crossings.to_seller(
                connection,
                merchant_id,
                Crossing(destination, share, rate, charge.source, codes.TRANSFER_TRANSFER),
                Side(BalanceType.TRANSFER, booked.balance, available_on=due),
                Side(BalanceType.PAYMENT, available_on=due),
            )
            return
        seller = await self._seller_accounts(connection, merchant_id, booked.currency, destination)
        transfer = sourced_transfer(
            merchant_id,
            charge.source,
            codes.TRANSFER_TRANSFER,
            debit=booked.balance,
            credit=seller[f"balance_pending:{destination}"],
            amount=share,
            currency=booked.currency,
        )
        await self._balances.passed_on(
            connection,
            merchant_id,
            seller=destination,
            transfer=transfer,
            source=charge.source,
            at_once=charge.at_once,
        )
        await self._post(connection, merchant_id, [transfer])

    async def capture_together(
        self, connection: AsyncConnection, merchant_id: str, captures: list[Capture]
    ) -> None:
        """Plain captures of one merchant (money received by the merchant itself: no hold,
        seller or destination), each as `capture` writes it, in one posting: a group commit's
        (paycore.executor.grouping) one lock of the merchant's accounts for all of them. A
        capture the merchant settles in another currency is booked converted, on its own."""
        settles = await self._conversions.settlement(connection, merchant_id, "")
        converted = [c for c in captures if settles.target_for(c.currency) is not None]
        for capture in converted:
            await self.capture(
                connection,
                merchant_id,
                source=capture.source,
                amount=capture.amount,
                currency=capture.currency,
                fee=capture.fee,
                credit=Credit(),
                at_once=capture.at_once,
                balance_transaction_id=capture.balance_transaction_id,
            )
        captures = [capture for capture in captures if capture not in converted]
        for currency in dict.fromkeys(capture.currency for capture in captures):
            accounts = await self._accounts(connection, merchant_id, currency)
            balance = accounts["balance_pending"]
            chains: list[TransferRequest] = []
            rows = []  # each capture's balance row (as `BalanceBook.payment`), one INSERT
            for capture in captures:
                if capture.currency != currency:
                    continue
                transfers = self._received(
                    merchant_id,
                    capture.source,
                    balance,
                    accounts,
                    capture.amount,
                    capture.fee,
                    currency,
                )
                rows.append(
                    self._balances.row(
                        merchant_id,
                        "",
                        transfers[0],
                        BalanceType.PAYMENT,
                        capture.amount,
                        fee=capture.fee,
                        source=capture.source,
                        currency=currency,
                        available_on=self._balances.now() if capture.at_once else None,
                        transaction_id=capture.balance_transaction_id,
                    )
                )
                chains += [*transfers[:-1], replace(transfers[-1], linked=False)]
            await self._balances.record(connection, rows)
            await self._post(connection, merchant_id, chains)

    def _received(
        self,
        merchant_id: str,
        source: str,
        balance: str,
        accounts: dict[str, str],
        amount: int,
        fee: int,
        currency: str,
    ) -> list[TransferRequest]:
        """A charge's money received: psp_receivable -> `balance`, then the fee."""
        received = sourced_transfer(
            merchant_id,
            source,
            codes.TRANSFER_PAYMENT,
            debit=accounts["psp_receivable"],
            credit=balance,
            amount=amount,
            currency=currency,
        )
        if not fee:
            return [received]
        return [received, self._fee(merchant_id, source, balance, accounts, fee, currency)]

    def _fee(
        self,
        merchant_id: str,
        source: str,
        balance: str,
        accounts: dict[str, str],
        fee: int,
        currency: str,
    ) -> TransferRequest:
        return sourced_transfer(
            merchant_id,
            source,
            codes.TRANSFER_FEE,
            debit=balance,
            credit=accounts["fees_revenue"],
            amount=fee,
            currency=currency,
        )

    async def hold(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        *,
        source: str,
        amount: int,
        currency: str,
    ) -> str:
        """An authorization: a pending transfer; returns its id (to post or void later)."""
        accounts = await self._accounts(connection, merchant_id, currency)
        transfer = sourced_transfer(
            merchant_id,
            source,
            codes.TRANSFER_PAYMENT,
            debit=accounts["psp_receivable"],
            credit=accounts["balance_pending"],
            amount=amount,
            currency=currency,
            pending=True,
        )
        await self._post(connection, merchant_id, [transfer])
        return transfer.id

    async def release(
        self, connection: AsyncConnection, merchant_id: str, *, source: str, hold_transfer_id: str
    ) -> None:
        await self._post(
            connection,
            merchant_id,
            [sourced_transfer(merchant_id, source, codes.TRANSFER_PAYMENT, void=hold_transfer_id)],
        )

    async def refund(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        *,
        source: str,
        amount: int,
        currency: str,
        seller_account: str | None = None,
        charge: str = "",
        reversal: Reversal | None = None,
    ) -> None:
        """`charge`: the pi_ or pord_ refunded (a converted one is refunded converted).
        `reversal`: a destination charge's, in the charge's currency, booked after the refund;
        the merchant's and the seller's balances are locked together first."""
        if reversal is not None:
            # In the currency the charge was booked in (its settlement currency, converted).
            locked = await self._conversions.locked(connection, merchant_id, charge, "")
            booked_in = currency if locked is None else locked.currency
            accounts = [
                await self._balances.accounts(connection, merchant_id, account, booked_in)
                for account in ("", reversal.seller)
            ]
            await self._balances.lock_many(connection, accounts)
        refunded = RefundCharge(source, charge, amount, currency, seller_account or "")
        locked = await self._conversions.refund(connection, merchant_id, refunded)
        if locked is None:
            # -- pay-out (issue 13): from balance_available as far as it goes, then pending.
            await self._balances.refund(
                connection,
                merchant_id,
                account=seller_account or "",
                currency=currency,
                amount=amount,
                source=source,
            )
        if reversal is None:
            return
        if locked is not None:
            # The share and the fee were booked in the settlement currency at the charge's
            # locked rate: their parts split that, nothing crosses currencies here. Each part
            # is the difference it makes to the value at that rate of what is left, rounded as
            # the gross (down) and the fee (half up) were, so the parts add up to the share
            # (each rounded on its own, a full refund took a unit or two past it).
            rate, booked_in = locked.rate, locked.currency
            reversal = Reversal(
                reversal.seller,
                part_of_booked(
                    reversal.transfer, reversal.transfer_left, rate, currency, booked_in
                ),
                part_of_booked(
                    reversal.application_fee,
                    reversal.fee_left,
                    rate,
                    currency,
                    booked_in,
                    half_up=True,
                    cap=convert_down(reversal.charged, rate, currency, booked_in).amount,
                ),
            )
            currency = locked.currency
        await self._reverse(connection, merchant_id, source, charge, currency, reversal)

    async def _reverse(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        source: str,
        charge: str,
        currency: str,
        reversal: Reversal,
    ) -> None:
        """A destination charge's refund's transfer reversal (seller -> merchant) and
        application fee refund (merchant -> seller), in `currency`, the platform's side;
        across the seller's settlement currency at the rate its share crossed at, when it
        crossed (paycore.currency.crossing)."""
        moves = (
            (
                False,
                reversal.transfer,
                codes.TRANSFER_TRANSFER_REVERSAL,
                BalanceType.TRANSFER,
                "transfer reversal",
            ),
            (
                True,
                reversal.application_fee,
                codes.TRANSFER_APPLICATION_FEE_REFUND,
                BalanceType.APPLICATION_FEE_REFUND,
                "application fee refund",
            ),
        )
        for to_seller, moved, code, kind, description in moves:
            if moved:
                await self._crossings.move(
                    connection,
                    merchant_id,
                    Move(
                        reversal.seller,
                        to_seller,
                        moved,
                        currency,
                        charge,
                        source,
                        code,
                        kind,
                        description,
                    ),
                )

    async def _accounts(
        self, connection: AsyncConnection, merchant_id: str, currency: str
    ) -> dict[str, str]:
        return await self._ledger.merchant_account_ids(connection, merchant_id, currency)

    async def _seller_accounts(
        self, connection: AsyncConnection, merchant_id: str, currency: str, seller: str
    ) -> dict[str, str]:
        specs = codes.seller_accounts(seller)
        return await self._ledger.merchant_account_ids(connection, merchant_id, currency, specs)

    async def _post(
        self, connection: AsyncConnection, merchant_id: str, transfers: list[TransferRequest]
    ) -> None:
        # A chain: the last transfer is not linked, closing it (all or nothing).
        chain = [*transfers[:-1], replace(transfers[-1], linked=False)]
        outcomes = await self._ledger.post_in(connection, merchant_id, chain)
        failed = [outcome for outcome in outcomes if not outcome.result.ok]
        if failed:
            raise LedgerRejected(f"the ledger refused pay-in transfers: {failed}")
