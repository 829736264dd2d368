"""Pay-out's dataclasses rendered as their proto messages."""

from __future__ import annotations

from paycore.payout.calendar import start_of
from paycore.payout.models import (
    BalanceTransaction,
    BankAccount,
    Interval,
    Payout,
    PayoutMethod,
    Schedule,
)
from paycore.runtime.messages import converts, derived, message_of
from paycore.v1 import common_pb2, payout_pb2, wallet_pb2


@converts(payout_pb2.BankAccount)
def bank_account_message(bank_account: BankAccount) -> payout_pb2.BankAccount:
    methods = [PayoutMethod.STANDARD.value]
    if bank_account.instant_supported:
        methods.append(PayoutMethod.INSTANT.value)
    return message_of(payout_pb2.BankAccount, bank_account, available_payout_methods=methods)


payout_message = derived(Payout, payout_pb2.Payout)


@converts(payout_pb2.PayoutSchedule)
def schedule_message(schedule: Schedule) -> payout_pb2.PayoutSchedule:
    return message_of(
        payout_pb2.PayoutSchedule,
        schedule,
        weekly_anchor=schedule.weekly_anchor if schedule.interval == Interval.WEEKLY else 0,
        monthly_anchor=schedule.monthly_anchor if schedule.interval == Interval.MONTHLY else 0,
        next_payout=start_of(schedule.next_run_on) if schedule.next_run_on else 0,
    )


@converts(wallet_pb2.BalanceTransaction)
def balance_transaction_message(
    transaction: BalanceTransaction,
) -> wallet_pb2.BalanceTransaction:
    conversion = transaction.conversion
    if conversion is None:
        return message_of(wallet_pb2.BalanceTransaction, transaction)
    # Currencies (issue 19): the locked rate, the buyer's side and the fee's two lines.
    lines = (
        ("processing_fee", transaction.fee - conversion.conversion_fee),
        ("conversion_fee", conversion.conversion_fee),
    )
    return message_of(
        wallet_pb2.BalanceTransaction,
        transaction,
        exchange_rate=conversion.exchange_rate,
        presentment_amount=conversion.amount,
        presentment_currency=conversion.currency,
        fee_details=[
            wallet_pb2.FeeDetail(type=kind, amount=amount, currency=transaction.currency)
            for kind, amount in lines
            if amount
        ],
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
