"""Pay-out's types: balance transactions, bank accounts, payout schedules and payouts (frozen
dataclasses; no protobuf, no rows). Amounts are integer minor units; times are unix seconds on
the pay-out clock."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

from paycore.currency.rules import CurrencyRules
from paycore.ranges import ALL_SECONDS, SecondsRange
from paycore.records import MetadataChange, Stored
from paycore.secret import Secret

DAY_SECONDS = 86_400
DELAY_DAYS_DEFAULT = 2
DELAY_DAYS_MIN = 2
DELAY_DAYS_MAX = 30
MERCHANT = ""
"""The `account` of the merchant's own balance (a seller's is its acct_ id)."""


class BalanceType(StrEnum):
    PAYMENT = "payment"
    REFUND = "refund"
    APPLICATION_FEE = "application_fee"
    TRANSFER = "transfer"
    PAYOUT = "payout"
    PAYOUT_CANCEL = "payout_cancel"
    PAYOUT_FAILURE = "payout_failure"
    ADJUSTMENT = "adjustment"
    FX_GAIN_LOSS = "fx_gain_loss"
    """Currencies (issue 19): a refund's conversion at today's rate against its payment's."""
    TRANSFER_REVERSAL = "transfer_reversal"
    """A transfer to a seller taken back (paycore.payout.transfers), on both balances."""
    APPLICATION_FEE_REFUND = "application_fee_refund"
    """An application fee given back to the seller, on both balances (docs/connect.md)."""


class BalanceStatus(StrEnum):
    PENDING = "pending"
    AVAILABLE = "available"


@dataclass(frozen=True)
class BalanceTransaction(Stored):
    account: str
    currency: str
    amount: int
    """Gross, negative when the balance goes down."""
    fee: int
    net: int
    """What the balance moved by: amount - fee."""
    type: BalanceType
    status: BalanceStatus
    available_on: int
    source: str
    description: str
    ledger_transfer_id: str
    payout_id: str | None
    conversion: Presentment | None = None
    """Currencies (issue 19): set on a converted payment's or refund's rows."""


@dataclass(frozen=True)
class Presentment:
    """What a converted row was in the buyer's currency: the locked rate (an exact decimal,
    settlement units per presentment unit), the amount the buyer paid or got back, and the
    conversion fee included in the row's fee."""

    exchange_rate: str
    amount: int
    currency: str
    conversion_fee: int = 0


@dataclass(frozen=True)
class AccountBalance:
    """A balance (the merchant's own or a seller's `account`) in some currencies, as its
    balance.available event carries it (paycore.payout.availability: the currency that moved),
    with Stripe's `instant_available` as GetBalance shows it."""

    merchant_id: str
    account: str
    available: dict[str, int]
    pending: dict[str, int]
    instant_available: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class BalanceFilter:
    account: str = MERCHANT
    type: BalanceType | None = None
    currency: str = ""
    source: str = ""
    payout_id: str = ""


class HolderType(StrEnum):
    INDIVIDUAL = "individual"
    COMPANY = "company"


class BankAccountStatus(StrEnum):
    NEW = "new"
    VERIFIED = "verified"
    # A payout to it failed: no more automatic payouts until another replaces it as default.
    ERRORED = "errored"


@dataclass(frozen=True)
class NewBankAccount:
    account: str
    country: str
    currency: str
    account_holder_name: str
    account_holder_type: HolderType
    routing_number: str
    account_number: Secret
    default_for_currency: bool
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class NewPayoutCard:
    """CreatePayoutCard: the merchant's debit card `payment_method` registered as the external
    account of `account` ("" the merchant's own, "acct_..." a seller's)."""

    payment_method: str
    account: str
    currency: str = ""
    """"" for the default: the card's country's currency if paycore knows it, else the
    payee's default settlement currency (`payout_card_currency`)."""
    default_for_currency: bool = False


@dataclass(frozen=True)
class PayoutCard(Stored):
    """A debit card registered as a payee's external account (its id the payment method's),
    tied to one currency, as every external account is."""

    account: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    country: str
    currency: str
    default_for_currency: bool


@dataclass(frozen=True)
class BankAccount(Stored):
    account: str
    country: str
    currency: str
    account_holder_name: str
    account_holder_type: HolderType
    bank_name: str
    routing_number: str
    last4: str
    fingerprint: str
    status: BankAccountStatus
    default_for_currency: bool
    instant_supported: bool
    metadata: dict[str, str]


class Interval(StrEnum):
    MANUAL = "manual"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


@dataclass(frozen=True)
class Schedule:
    account: str
    interval: Interval = Interval.MANUAL
    delay_days: int = DELAY_DAYS_DEFAULT
    weekly_anchor: int = 1
    """1 (Monday) .. 7 (Sunday)."""
    monthly_anchor: int = 1
    """1..31; 29-31 fall back to the month's last day."""
    minimum_amounts: dict[str, int] = field(default_factory=dict)
    next_run_on: dt.date | None = None


@dataclass(frozen=True)
class ScheduleChange:
    """UpdatePayoutSchedule's fields; each None keeps the schedule's."""

    account: str
    interval: Interval | None
    delay_days: int | None
    weekly_anchor: int | None
    monthly_anchor: int | None
    minimum_amounts: dict[str, int] | None


class PayoutStatus(StrEnum):
    PENDING = "pending"
    IN_TRANSIT = "in_transit"
    PAID = "paid"
    FAILED = "failed"
    CANCELED = "canceled"


class PayoutMethod(StrEnum):
    STANDARD = "standard"
    INSTANT = "instant"


@dataclass(frozen=True)
class NewPayout:
    account: str
    amount: int
    currency: str
    destination: str
    """ba_ or pm_; "" for the default bank account of the currency."""
    method: PayoutMethod
    description: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    statement_descriptor: str = ""
    """Stripe's: what the payee's bank statement shows; "" none (migration 0064)."""


@dataclass(frozen=True, kw_only=True)
class Payout(NewPayout, Stored):
    """A payout as stored: what it was asked for (its destination resolved), whose it is, its
    id, what it came to and creation time."""

    fee: int
    status: PayoutStatus
    automatic: bool
    period: dt.date | None
    arrival_date: int
    balance_transaction: str
    failure_balance_transaction: str
    failure_code: str
    failure_message: str
    bank_reference: str
    execution_id: str
    original_payout: str = ""
    """A reversal's: the po_ it reverses (its amount is the negative of that one's)."""
    reversed_by: str = ""
    """The po_ that reversed this payout."""


@dataclass(frozen=True)
class PayoutFilter:
    account: str = MERCHANT
    status: PayoutStatus | None = None
    destination: str = ""
    arrival_date: SecondsRange = ALL_SECONDS


@dataclass(frozen=True)
class InstantFees:
    """The instant payout fee: `basis_points` of the amount (rounded half up), at least
    `minimum` minor units."""

    basis_points: int = 100
    minimum: int = 50

    def fee_for(self, amount: int) -> int:
        return max(self.minimum, (amount * self.basis_points + 5_000) // 10_000)

    def largest_amount(self, payable: int) -> int:
        """The largest instant payout whose amount and fee `payable` covers; 0 when it does not
        cover the minimum fee and a unit (a payout and its fee grow together: bisection)."""
        low, high = 0, max(0, payable)
        while low < high:
            middle = (low + high + 1) // 2
            if middle + self.fee_for(middle) <= payable:
                low = middle
            else:
                high = middle - 1
        return low


def payable(available: int, pending: int) -> int:
    """What can be paid out: the available balance, less what a negative pending balance owes
    (a refund larger than the balance took the rest from pending)."""
    return available + min(0, pending)


@dataclass(frozen=True)
class InstantAvailable:
    """Stripe's `instant_available`: the largest instant payout CreatePayout takes out of a
    balance, its amount and fee within what can be paid out, in the currency's payout
    multiples (GetBalance and the balance.available event show it)."""

    fees: InstantFees
    rules: CurrencyRules

    def __call__(self, available: int, pending: int, currency: str) -> int:
        largest = self.fees.largest_amount(payable(available, pending))
        return self.rules.payable(largest, currency)


@dataclass(frozen=True)
class NewTransfer:
    """CreateTransfer: `amount` of the platform's balance to the seller `destination`."""

    amount: int
    currency: str
    destination: str
    source_transaction: str = ""
    """A pi_ whose funds the transfer follows; "" for the available balance."""
    transfer_group: str = ""
    description: str = ""
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Transfer(NewTransfer, Stored):
    amount_reversed: int
    balance_transaction: str
    """The platform's txn_ row that took it."""
    reversals: tuple[TransferReversal, ...] = ()
    """Its reversals, newest first (read with it: repository.TRANSFERS)."""


@dataclass(frozen=True)
class TransferFilter:
    destination: str = ""
    transfer_group: str = ""


@dataclass(frozen=True)
class TransferChange:
    """UpdateTransfer: the metadata change, and a new description (None: unchanged)."""

    metadata: MetadataChange
    description: str | None = None


@dataclass(frozen=True)
class NewTransferReversal:
    amount: int
    """0: all that is not reversed yet."""
    description: str = ""
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class TransferReversal(Stored):
    transfer_id: str
    amount: int
    currency: str
    description: str
    metadata: dict[str, str]
    balance_transaction: str = ""
    """The platform's txn_ row it credited (read with it: repository.TRANSFER_REVERSALS)."""


SOURCE_TYPE_CARD = "card"
"""The one `source_type` a payout takes and shows (Stripe's): paycore keeps one balance, card
payments'."""
