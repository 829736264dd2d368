"""Settlement currencies and the conversion of charges into them (docs/currencies.md).

A balance (the merchant's or a seller's) with settlement currencies gets every charge in
another currency converted into its default (first) one when the money is captured, at the
newest rate then, locked on the balance transaction. In the ledger, per charge (P presentment
minor units in currency C, settled in currency T at rate q):

    C   psp_receivable -> fx_clearing:C_T          P      payment (or the hold posted, then
                                                          balance_pending -> fx_clearing)
    T   fx_clearing:C_T -> balance_pending         S = floor(P x q)         payment
    T   balance_pending -> fees_revenue            the plan's fee at q      fee
    T   balance_pending -> fees_revenue            conversion fee           conversion_fee
    T   fx_clearing:C_T -> fx_rounding             whole units of the carry fx_rounding

A refund gives the buyer exactly the presentment amount back and converts the merchant's side
at today's rate, rounded up (the platform is paid): S' = ceil(P' x q_now). Its rows: the
refund at the original rate (rounded up too) and the difference, the rate's move alone, as an
fx_gain_loss row (and an fx_gain or fx_loss transfer against the clearing account).

    C   fx_clearing:C_T -> psp_receivable          P'     refund
    T   balance (available, then pending) -> fx_clearing   ceil(P' x q_original)   refund
    T   fx_clearing <-> balance_pending            the difference            fx_gain | fx_loss
    T   fx_clearing:C_T -> fx_rounding             whole units of the carry  fx_rounding

A chargeback (paycore.dispute.money) of P' takes the side of the balance the charge credited
(the merchant's, or a payment order's seller's) at the charge's own rate q, rounded up as a
refund's: D = ceil(P' x q), and the dispute fee (PAYCORE_DISPUTE_FEE, minor units of C) at q,
half up, as the charge's fee was; a won dispute gives back exactly D (and the fee when it is
returned), and takes the chargeback's rounding remainder back off the carry.

    C   fx_clearing:C_T -> psp_receivable          P'     dispute        (won: the reverse)
    T   balance_pending -> fx_clearing:C_T         D      dispute        (won: the reverse)
    T   balance_pending -> fees_revenue            fee    dispute_fee    (won, returned: reverse)
    T   fx_clearing:C_T -> fx_rounding             whole units of the carry (won: back, if the
                                                   carry booked one since)

Every conversion's rounding remainder (< 1 minor unit, always in the platform's favour) is added
exactly to the merchant's carry in T (fx_rounding_carries); the whole units it reaches are
booked to fx_rounding. So fx_rounding + carry = the sum of the remainders, exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from paycore.currency import repository
from paycore.currency.conversion import (
    basis_points_of,
    convert_down,
    convert_half_up,
    convert_up,
)
from paycore.currency.models import ExchangeRate, Settlement, rate_text
from paycore.currency.rates import Rates
from paycore.ids import Prefix
from paycore.invariants import invariant
from paycore.ledger import codes
from paycore.ledger.models import TransferRequest, sourced_transfer
from paycore.ledger.service import LedgerService
from paycore.payout.balances import BalanceBook
from paycore.payout.models import (
    MERCHANT,
    BalanceStatus,
    BalanceTransaction,
    BalanceType,
    Presentment,
)
from paycore.payout.repository import BalanceTransactionRepository
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True)
class Charge:
    """A captured charge as pay-in books it (paycore.payment.money.PayInLedger.capture)."""

    source: str
    amount: int
    currency: str
    fee: int
    """The fee plan's fee, in the presentment currency."""
    seller_account: str = ""
    application_fee: int = 0
    """A destination charge's, in the presentment currency (what the platform keeps of it)."""
    hold_transfer_id: str = ""
    at_once: bool = False
    """The PSP made the funds available at once (the bypass-pending test card): the row is due
    now, as an unconverted charge's."""
    balance_transaction_id: str = ""
    """The payment row's id, when pay-in named it before (its charge's events show it)."""


@dataclass(frozen=True)
class Booked:
    """A charge booked converted: the settlement currency, the gross amount credited, the
    application fee at the locked rate (half up, as the fee: a split of what was credited) and
    the balance_pending account credited, which a destination's share leaves from."""

    currency: str
    amount: int
    application_fee: int
    balance: str


@dataclass(frozen=True)
class Locked:
    """The conversion a refund of a converted charge found: the settlement currency and the
    charge's locked rate (settlement units per presentment unit)."""

    currency: str
    rate: Decimal


@dataclass(frozen=True)
class RefundCharge:
    source: str
    """The refund (re_...)."""
    charge: str
    """What it refunds (pi_... or pord_...)."""
    amount: int
    currency: str
    account: str = ""


@dataclass(frozen=True)
class Chargeback:
    """What a dispute moves (paycore.dispute.money), as the PSP reports it: the amount the
    buyer's bank takes back of a charge (or gives back when the dispute is won) and the dispute
    fee with it, in the charge's currency."""

    source: str
    """The dispute (dp_...)."""
    charge: str
    """The charge's owner disputed (pi_... or pord_...)."""
    amount: int
    currency: str
    fee: int
    account: str = ""
    """The balance the charge credited (a payment order's seller; "" the merchant's)."""


@dataclass(frozen=True)
class SettledChargeback:
    """A chargeback in the currency the merchant's balance moves in: the settlement currency at
    the charge's own rate when the charge was converted (its `conversion`), else as reported."""

    amount: int
    fee: int
    currency: str
    counter: str = ""
    """The account the amount goes to (or comes back from): psp_receivable unless a
    conversion's FX clearing account."""
    conversion: Presentment | None = None


@dataclass(frozen=True, slots=True)
class Conversions:
    _ledger: LedgerService
    _balances: BalanceBook
    rates: Rates
    _fee_bps: int

    # -- settlement currencies -------------------------------------------------------------------

    async def settlement(
        self, connection: AsyncConnection, merchant_id: str, account: str
    ) -> Settlement:
        return await repository.settlement(connection, merchant_id, account)

    async def save_settlement(
        self, connection: AsyncConnection, merchant_id: str, settlement: Settlement
    ) -> Settlement:
        await repository.save_settlement(connection, merchant_id, settlement)
        return settlement

    async def check(
        self, connection: AsyncConnection, merchant_id: str, account: str, currency: str, param: str
    ) -> ExchangeRate | None:
        """Before a charge in `currency` to `account`'s balance reaches the PSP: when it would
        be converted, the pair has a fresh rate (else CURRENCY_PAIR_UNSUPPORTED or
        EXCHANGE_RATE_STALE naming `param`), which it answers (its `quote` is the settlement
        currency); None when the charge would not be converted."""
        target = (await self.settlement(connection, merchant_id, account)).target_for(currency)
        if target is None:
            return None
        return await self.rates.usable(connection, currency, target, param)

    async def check_refund(
        self, connection: AsyncConnection, merchant_id: str, charge: str, param: str
    ) -> str | None:
        """Before a refund of `charge` reaches the PSP: a converted charge needs a fresh rate.
        Returns the presentment currency of a converted charge (None: not converted)."""
        original = await self._converted_payment(connection, merchant_id, charge, _credited(charge))
        if original is None or original.conversion is None:
            return None
        presentment = original.conversion.currency
        await self.rates.usable(connection, presentment, original.currency, param)
        return presentment

    async def locked(
        self, connection: AsyncConnection, merchant_id: str, charge: str, account: str
    ) -> Locked | None:
        """The conversion `charge` was booked with on `account`'s balance; None: none."""
        original = await self._converted_payment(connection, merchant_id, charge, account)
        if original is None or original.conversion is None:
            return None
        return Locked(original.currency, Decimal(original.conversion.exchange_rate))

    # -- captures --------------------------------------------------------------------------------

    async def capture(
        self, connection: AsyncConnection, merchant_id: str, charge: Charge
    ) -> Booked | None:
        """Books `charge` converted when the credited balance settles in another currency, a
        destination's share aside (the caller passes it on from the answer's balance); None
        (nothing done) when it does not."""
        credited = charge.seller_account
        target = (await self.settlement(connection, merchant_id, credited)).target_for(
            charge.currency
        )
        if target is None:
            return None
        source, presentment = charge.source, charge.currency
        rate = (await self.rates.booking(connection, presentment, target)).rate
        converted = convert_down(charge.amount, rate, presentment, target)
        gross = converted.amount
        fee = min(gross, convert_half_up(charge.fee, rate, presentment, target))
        conversion_fee = min(gross - fee, basis_points_of(gross, self._fee_bps))
        whole = await self.carry(connection, merchant_id, target, converted.remainder)
        clearing = codes.fx_clearing(presentment, target)
        pending, _, _ = codes.balance_account_codes(credited)
        # An authorization held the money on balance_pending in the presentment currency
        # (paycore.payment.money.hold): posted, it moves on to the clearing account.
        held = (codes.BALANCE_PENDING,) if charge.hold_transfer_id else ()
        there = await self.accounts(
            connection, merchant_id, presentment, (codes.PSP_RECEIVABLE, *held, clearing)
        )
        here = await self.accounts(
            connection,
            merchant_id,
            target,
            (pending, codes.FEES_REVENUE, clearing, codes.FX_ROUNDING),
        )
        transfers = []
        if charge.hold_transfer_id:
            transfers.append(self._post_hold(merchant_id, source, charge))
            into = there[codes.BALANCE_PENDING.code]
        else:
            into = there[codes.PSP_RECEIVABLE.code]
        received = self.transfer(
            merchant_id,
            source,
            codes.TRANSFER_PAYMENT,
            into,
            there[clearing.code],
            charge.amount,
            presentment,
        )
        transfers.append(received)
        balance = here[pending.code]
        payment = self.transfer(
            merchant_id, source, codes.TRANSFER_PAYMENT, here[clearing.code], balance, gross, target
        )
        transfers.append(payment)
        for code, amount in (
            (codes.TRANSFER_FEE, fee),
            (codes.TRANSFER_CONVERSION_FEE, conversion_fee),
        ):
            if amount:
                transfers.append(
                    self.transfer(
                        merchant_id,
                        source,
                        code,
                        balance,
                        here[codes.FEES_REVENUE.code],
                        amount,
                        target,
                    )
                )
        transfers.extend(self.rounding(merchant_id, source, here, clearing, whole, target))
        await self._balances.post(connection, merchant_id, _moving(transfers))
        # A capture too small to make one settlement unit still gets its (zero) row, naming the
        # presentment side's transfer: its refunds must find it converted.
        await self._balances.payment(
            connection,
            merchant_id,
            account=credited,
            payment=payment if gross else received,
            amount=gross,
            currency=target,
            fee=fee + conversion_fee,
            source=source,
            conversion=Presentment(rate_text(rate), charge.amount, presentment, conversion_fee),
            at_once=charge.at_once,
            transaction_id=charge.balance_transaction_id,
        )
        kept = min(gross, convert_half_up(charge.application_fee, rate, presentment, target))
        return Booked(target, gross, kept, balance)

    # -- refunds ---------------------------------------------------------------------------------

    async def refund(
        self, connection: AsyncConnection, merchant_id: str, refund: RefundCharge
    ) -> Locked | None:
        """Books `refund` when the payment it refunds was converted, and answers the charge's
        conversion; None (nothing done) when it was not."""
        original = await self._conversion_of(
            connection, merchant_id, refund.charge, refund.account, refund
        )
        if original is None:
            return None
        presentment, (target, conversion) = refund.currency, original
        rate_now = (await self.rates.booking(connection, presentment, target)).rate
        rate_then = Decimal(conversion.exchange_rate)
        owed = convert_up(refund.amount, rate_now, presentment, target)
        # Rounded as `owed` is (up: the platform is paid), so that the difference is the rate's
        # move alone: none when the rate has not moved.
        at_original = convert_up(refund.amount, rate_then, presentment, target).amount
        result = at_original - owed.amount
        whole = await self.carry(connection, merchant_id, target, owed.remainder)
        clearing = codes.fx_clearing(presentment, target)
        pending, _, _ = codes.balance_account_codes(refund.account)
        there = await self.accounts(
            connection, merchant_id, presentment, (codes.PSP_RECEIVABLE, clearing)
        )
        here = await self.accounts(
            connection, merchant_id, target, (pending, clearing, codes.FX_ROUNDING)
        )
        shown = Presentment(rate_text(rate_then), refund.amount, presentment)
        await self._balances.refund(
            connection,
            merchant_id,
            account=refund.account,
            currency=target,
            amount=at_original,
            source=refund.source,
            counter=here[clearing.code],
            conversion=shown,
        )
        source = refund.source
        transfers = [
            self.transfer(
                merchant_id,
                source,
                codes.TRANSFER_REFUND,
                there[clearing.code],
                there[codes.PSP_RECEIVABLE.code],
                refund.amount,
                presentment,
            )
        ]
        fx_row = None
        if result:
            gain = result > 0
            fx = self.transfer(
                merchant_id,
                source,
                codes.TRANSFER_FX_GAIN if gain else codes.TRANSFER_FX_LOSS,
                here[clearing.code] if gain else here[pending.code],
                here[pending.code] if gain else here[clearing.code],
                abs(result),
                target,
            )
            transfers.append(fx)
            fx_row = self._balances.row(
                merchant_id,
                refund.account,
                fx,
                BalanceType.FX_GAIN_LOSS,
                result,
                status=BalanceStatus.PENDING,
                available_on=self._balances.now(),
                conversion=Presentment(rate_text(rate_now), refund.amount, presentment),
            )
        transfers.extend(self.rounding(merchant_id, source, here, clearing, whole, target))
        await self._balances.post(connection, merchant_id, _moving(transfers))
        if fx_row is not None:
            await self._balances.record(connection, [fx_row])
        return Locked(target, rate_then)

    # -- chargebacks -----------------------------------------------------------------------------

    async def chargeback(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        chargeback: Chargeback,
        *,
        reversal: bool,
    ) -> SettledChargeback | None:
        """When the disputed charge was converted: books the presentment side (and the
        rounding) of its chargeback, or of the reversal of it when the dispute is won, and
        answers what the merchant's balance moves by in the settlement currency, at the
        charge's own rate; the caller posts that. None (nothing done) when not converted."""
        original = await self._conversion_of(
            connection, merchant_id, chargeback.charge, chargeback.account, chargeback
        )
        if original is None:
            return None
        presentment, (target, conversion) = chargeback.currency, original
        rate = Decimal(conversion.exchange_rate)
        taken = convert_up(chargeback.amount, rate, presentment, target)
        # A won dispute gives back exactly what its chargeback took, so the platform gives
        # back the rounding that chargeback kept.
        remainder = -taken.remainder if reversal else taken.remainder
        whole = await self.carry(connection, merchant_id, target, remainder)
        clearing = codes.fx_clearing(presentment, target)
        there = await self.accounts(
            connection, merchant_id, presentment, (codes.PSP_RECEIVABLE, clearing)
        )
        here = await self.accounts(connection, merchant_id, target, (clearing, codes.FX_ROUNDING))
        debit, credit = there[clearing.code], there[codes.PSP_RECEIVABLE.code]
        if reversal:
            debit, credit = credit, debit
        source = chargeback.source
        code = codes.TRANSFER_DISPUTE_REVERSAL if reversal else codes.TRANSFER_DISPUTE
        transfers = [
            self.transfer(merchant_id, source, code, debit, credit, chargeback.amount, presentment),
            *self.rounding(merchant_id, source, here, clearing, whole, target),
        ]
        await self._balances.post(connection, merchant_id, transfers)
        return SettledChargeback(
            amount=taken.amount,
            fee=convert_half_up(chargeback.fee, rate, presentment, target),
            currency=target,
            counter=here[clearing.code],
            conversion=Presentment(conversion.exchange_rate, chargeback.amount, presentment),
        )

    # -- parts -----------------------------------------------------------------------------------

    async def _converted_payment(
        self, connection: AsyncConnection, merchant_id: str, charge: str, account: str | None
    ) -> BalanceTransaction | None:
        if not charge:
            return None
        return await BalanceTransactionRepository(connection).converted_payment(
            merchant_id, charge, account
        )

    async def _conversion_of(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        charge: str,
        account: str,
        money_back: RefundCharge | Chargeback,
    ) -> tuple[str, Presentment] | None:
        """The settlement currency and the locked conversion of `charge` (credited to
        `account`'s balance), which `money_back` returns in its presentment currency; None when
        the charge was not converted."""
        original = await self._converted_payment(connection, merchant_id, charge, account)
        if original is None or original.conversion is None:
            return None
        invariant(
            original.conversion.currency == money_back.currency,
            f"{money_back.source} in {money_back.currency}: its charge {charge} was not",
        )
        return original.currency, original.conversion

    async def carry(
        self, connection: AsyncConnection, merchant_id: str, currency: str, remainder: Fraction
    ) -> int:
        """Adds `remainder` to the merchant's carry in `currency`; the whole units it makes
        (-1 when a negative remainder, one given back, takes the carry below zero)."""
        invariant(-1 < remainder < 1, f"a rounding remainder out of (-1, 1): {remainder}")
        carry = await repository.locked_carry(connection, merchant_id, currency) + remainder
        whole = math.floor(carry)
        await repository.save_carry(connection, merchant_id, currency, carry - whole)
        return whole

    def rounding(
        self,
        merchant_id: str,
        source: str,
        accounts: dict[str, str],
        clearing: codes.AccountCode,
        whole: int,
        currency: str,
    ) -> list[TransferRequest]:
        """The whole units the carry made, booked to fx_rounding (negative: back from it)."""
        if not whole:
            return []
        debit, credit = accounts[clearing.code], accounts[codes.FX_ROUNDING.code]
        if whole < 0:
            debit, credit = credit, debit
        return [
            self.transfer(
                merchant_id,
                source,
                codes.TRANSFER_FX_ROUNDING,
                debit,
                credit,
                abs(whole),
                currency,
            )
        ]

    async def accounts(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        currency: str,
        specs: tuple[codes.AccountCode, ...],
    ) -> dict[str, str]:
        return await self._ledger.merchant_account_ids(connection, merchant_id, currency, specs)

    def _post_hold(self, merchant_id: str, source: str, charge: Charge) -> TransferRequest:
        return sourced_transfer(
            merchant_id,
            source,
            codes.TRANSFER_PAYMENT,
            post=charge.hold_transfer_id,
            amount=charge.amount,
        )

    def transfer(
        self,
        merchant_id: str,
        source: str,
        code: str,
        debit: str,
        credit: str,
        amount: int,
        currency: str,
    ) -> TransferRequest:
        return self._balances.transfer(
            merchant_id,
            code,
            debit=debit,
            credit=credit,
            amount=amount,
            currency=currency,
            source=source,
        )


def _credited(charge: str) -> str | None:
    """The balance whose payment row of `charge` tells whether the charge was converted: a
    payment intent's is the merchant's (a destination charge's share has a row of its own on
    the seller's balance, converted or not, paycore.currency.crossing), a payment order's is
    its seller's (None: any)."""
    return MERCHANT if charge.startswith(f"{Prefix.PAYMENT_INTENT.value}_") else None


def _moving(transfers: list[TransferRequest]) -> list[TransferRequest]:
    """The transfers that move something (a conversion can round a part down to nothing)."""
    return [transfer for transfer in transfers if transfer.amount or transfer.post_pending_id]
