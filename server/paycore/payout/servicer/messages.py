"""Pay-out's dataclasses rendered as their proto messages."""

from __future__ import annotations

from paycore.contracts import enum_number
from paycore.payout.calendar import start_of
from paycore.payout.models import (
    BalanceTransaction,
    BankAccount,
    BankAccountStatus,
    Payout,
    PayoutMethod,
    Schedule,
)
from paycore.v1 import common_pb2, payout_pb2, wallet_pb2

_BANK_ACCOUNT_STATUSES = {
    BankAccountStatus.NEW: payout_pb2.BANK_ACCOUNT_STATUS_NEW,
    BankAccountStatus.VERIFIED: payout_pb2.BANK_ACCOUNT_STATUS_VERIFIED,
    BankAccountStatus.ERRORED: payout_pb2.BANK_ACCOUNT_STATUS_ERRORED,
}


def bank_account_message(bank_account: BankAccount) -> payout_pb2.BankAccount:
    methods = [PayoutMethod.STANDARD.value]
    if bank_account.instant_supported:
        methods.append(PayoutMethod.INSTANT.value)
    return payout_pb2.BankAccount(
        id=bank_account.id,
        account=bank_account.account,
        country=bank_account.country,
        currency=bank_account.currency,
        account_holder_name=bank_account.account_holder_name,
        account_holder_type=enum_number(
            payout_pb2.BankAccountHolderType,
            "BANK_ACCOUNT_HOLDER_TYPE",
            bank_account.account_holder_type,
        ),
        bank_name=bank_account.bank_name,
        last4=bank_account.last4,
        routing_number=bank_account.routing_number,
        fingerprint=bank_account.fingerprint,
        status=_BANK_ACCOUNT_STATUSES[bank_account.status],
        default_for_currency=bank_account.default_for_currency,
        created=bank_account.created,
        metadata=bank_account.metadata,
        available_payout_methods=methods,
    )


def payout_message(payout: Payout) -> payout_pb2.Payout:
    return payout_pb2.Payout(
        id=payout.id,
        account=payout.account,
        amount=payout.amount,
        currency=payout.currency,
        destination=payout.destination,
        status=enum_number(payout_pb2.PayoutStatus, "PAYOUT_STATUS", payout.status),
        arrival_date=payout.arrival_date,
        automatic=payout.automatic,
        balance_transaction=payout.balance_transaction,
        failure_code=payout.failure_code,
        failure_message=payout.failure_message,
        description=payout.description,
        created=payout.created,
        metadata=payout.metadata,
        method=enum_number(payout_pb2.PayoutMethod, "PAYOUT_METHOD", payout.method),
        fee=payout.fee,
    )


def schedule_message(schedule: Schedule) -> payout_pb2.PayoutSchedule:
    return payout_pb2.PayoutSchedule(
        account=schedule.account,
        interval=enum_number(
            payout_pb2.PayoutScheduleInterval, "PAYOUT_SCHEDULE_INTERVAL", schedule.interval
        ),
        delay_days=schedule.delay_days,
        weekly_anchor=schedule.weekly_anchor if schedule.interval.value == "weekly" else 0,  # type: ignore[arg-type]
        monthly_anchor=schedule.monthly_anchor if schedule.interval.value == "monthly" else 0,
        minimum_amounts=schedule.minimum_amounts,
        next_payout=start_of(schedule.next_run_on) if schedule.next_run_on else 0,
    )


def balance_transaction_message(
    transaction: BalanceTransaction,
) -> wallet_pb2.BalanceTransaction:
    message = _balance_transaction(transaction)
    conversion = transaction.conversion
    if conversion is not None:
        # Currencies (issue 19): the locked rate, the buyer's side and the fee's two lines.
        message.exchange_rate = conversion.exchange_rate
        message.presentment_amount = conversion.amount
        message.presentment_currency = conversion.currency
        for kind, amount in (
            ("processing_fee", transaction.fee - conversion.conversion_fee),
            ("conversion_fee", conversion.conversion_fee),
        ):
            if amount:
                message.fee_details.add(type=kind, amount=amount, currency=transaction.currency)
    return message


def _balance_transaction(transaction: BalanceTransaction) -> wallet_pb2.BalanceTransaction:
    return wallet_pb2.BalanceTransaction(
        id=transaction.id,
        account=transaction.account,
        amount=transaction.amount,
        currency=transaction.currency,
        fee=transaction.fee,
        net=transaction.net,
        type=enum_number(
            wallet_pb2.BalanceTransactionType, "BALANCE_TRANSACTION_TYPE", transaction.type
        ),
        status=enum_number(
            wallet_pb2.BalanceTransactionStatus, "BALANCE_TRANSACTION_STATUS", transaction.status
        ),
        available_on=transaction.available_on,
        source=transaction.source,
        description=transaction.description,
        created=transaction.created,
        payout=transaction.payout_id or "",
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
