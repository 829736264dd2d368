"""Pay-out's dataclasses rendered as their proto messages."""

from __future__ import annotations

from paycore.ids import Prefix
from paycore.payout.calendar import start_of
from paycore.payout.models import (
    SOURCE_TYPE_CARD,
    AccountBalance,
    BalanceTransaction,
    BalanceType,
    BankAccount,
    Interval,
    Payout,
    PayoutCard,
    PayoutMethod,
    Schedule,
    Transfer,
    TransferReversal,
)
from paycore.runtime.messages import converts, derived, message_of
from paycore.v1 import common_pb2, payout_pb2, wallet_pb2


@converts(payout_pb2.BankAccount)
def bank_account_message(bank_account: BankAccount) -> payout_pb2.BankAccount:
    methods = [PayoutMethod.STANDARD.value]
    if bank_account.instant_supported:
        methods.append(PayoutMethod.INSTANT.value)
    return message_of(payout_pb2.BankAccount, bank_account, available_payout_methods=methods)


@converts(payout_pb2.Payout)
def payout_message(payout: Payout) -> payout_pb2.Payout:
    """Every field by its name, and Stripe's `type` (what the destination is) and
    `reconciliation_status` (an automatic payout's rows are assigned when it is made)."""
    to_card = payout.destination.startswith(f"{Prefix.PAYMENT_METHOD.value}_")
    return message_of(
        payout_pb2.Payout,
        payout,
        type="card" if to_card else "bank_account",
        reconciliation_status="completed" if payout.automatic else "not_applicable",
        source_type=SOURCE_TYPE_CARD,
    )


payout_card_message = derived(PayoutCard, payout_pb2.PayoutCard)
transfer_reversal_message = derived(TransferReversal, payout_pb2.SellerTransferReversal)


@converts(payout_pb2.Transfer)
def transfer_message(transfer: Transfer) -> payout_pb2.Transfer:
    return message_of(
        payout_pb2.Transfer,
        transfer,
        reversed=transfer.amount_reversed == transfer.amount,
        reversals=[transfer_reversal_message(reversal) for reversal in transfer.reversals],
    )


@converts(payout_pb2.PayoutSchedule)
def schedule_message(schedule: Schedule) -> payout_pb2.PayoutSchedule:
    return message_of(
        payout_pb2.PayoutSchedule,
        schedule,
        weekly_anchor=schedule.weekly_anchor if schedule.interval == Interval.WEEKLY else 0,
        monthly_anchor=schedule.monthly_anchor if schedule.interval == Interval.MONTHLY else 0,
        next_payout=start_of(schedule.next_run_on) if schedule.next_run_on else 0,
    )


FEE_KINDS = {
    BalanceType.ADJUSTMENT: "dispute_fee",  # the only adjustments with a fee are disputes'
    BalanceType.PAYOUT: "payout_fee",  # an instant payout's
    BalanceType.PAYOUT_CANCEL: "payout_fee",
    BalanceType.PAYOUT_FAILURE: "payout_fee",
}
"""What a row's fee (other than a conversion's) paid for; any other row's is the fee plan's
`processing_fee`."""


REPORTING_CATEGORIES = {
    BalanceType.PAYMENT: "charge",
    BalanceType.REFUND: "refund",
    BalanceType.APPLICATION_FEE: "platform_earning",
    BalanceType.APPLICATION_FEE_REFUND: "platform_earning_refund",
    BalanceType.TRANSFER: "transfer",
    BalanceType.TRANSFER_REVERSAL: "transfer_reversal",
    BalanceType.PAYOUT: "payout",
    BalanceType.PAYOUT_CANCEL: "payout_reversal",
    BalanceType.PAYOUT_FAILURE: "payout_reversal",
}
"""Stripe's reporting_category of each type (docs.stripe.com/reports/reporting-categories); an
adjustment's depends on what it adjusts (`reporting_category`)."""


def reporting_category(transaction: BalanceTransaction) -> str:
    """Stripe's category: a dispute's withdrawal `dispute`, its reinstatement
    `dispute_reversal`, any other adjustment (reconciliation's, an FX gain or loss)
    `other_adjustment`."""
    category = REPORTING_CATEGORIES.get(BalanceType(transaction.type))
    if category is not None:
        return category
    if transaction.type == BalanceType.ADJUSTMENT and transaction.source.startswith(
        f"{Prefix.DISPUTE.value}_"
    ):
        return "dispute" if transaction.amount < 0 else "dispute_reversal"
    return "other_adjustment"


@converts(wallet_pb2.BalanceTransaction)
def balance_transaction_message(
    transaction: BalanceTransaction,
) -> wallet_pb2.BalanceTransaction:
    # `fee_details` itemize `fee` on every row (they sum to it, as Stripe's do), and a
    # converted row (currencies, issue 19) shows the locked rate and the buyer's side too.
    conversion = transaction.conversion
    conversion_fee = 0 if conversion is None else conversion.conversion_fee
    lines = (
        (FEE_KINDS.get(transaction.type, "processing_fee"), transaction.fee - conversion_fee),
        ("conversion_fee", conversion_fee),
    )
    fee_details = [
        wallet_pb2.FeeDetail(type=kind, amount=amount, currency=transaction.currency)
        for kind, amount in lines
        if amount
    ]
    category = reporting_category(transaction)
    if conversion is None:
        return message_of(
            wallet_pb2.BalanceTransaction,
            transaction,
            fee_details=fee_details,
            reporting_category=category,
        )
    return message_of(
        wallet_pb2.BalanceTransaction,
        transaction,
        exchange_rate=conversion.exchange_rate,
        presentment_amount=conversion.amount,
        presentment_currency=conversion.currency,
        fee_details=fee_details,
        reporting_category=category,
    )


def balance_message(
    account: str, available: dict[str, int], pending: dict[str, int]
) -> wallet_pb2.Balance:
    return wallet_pb2.Balance(
        account=account,
        available=[
            common_pb2.Money(amount=amount, currency=currency)
            for currency, amount in sorted(available.items())
        ],
        pending=[
            common_pb2.Money(amount=amount, currency=currency)
            for currency, amount in sorted(pending.items())
        ],
    )


@converts(wallet_pb2.Balance)
def account_balance_message(balance: AccountBalance) -> wallet_pb2.Balance:
    message = balance_message(balance.account, balance.available, balance.pending)
    message.instant_available.extend(
        common_pb2.Money(amount=amount, currency=currency)
        for currency, amount in sorted(balance.instant_available.items())
    )
    return message


def external_message(external: BankAccount | PayoutCard) -> payout_pb2.ExternalAccount:
    """One of a seller's external accounts, the kind it is set (ListExternalAccounts)."""
    if isinstance(external, BankAccount):
        return payout_pb2.ExternalAccount(bank_account=bank_account_message(external))
    return payout_pb2.ExternalAccount(card=payout_card_message(external))
