"""Wallet dataclasses -> WalletService messages."""

from __future__ import annotations

from paycore.v1 import common_pb2, wallet_pb2
from paycore.wallet.service import Balance, BalanceTransaction

TYPES = {
    "payment": wallet_pb2.BALANCE_TRANSACTION_TYPE_PAYMENT,
    "refund": wallet_pb2.BALANCE_TRANSACTION_TYPE_REFUND,
    "application_fee": wallet_pb2.BALANCE_TRANSACTION_TYPE_APPLICATION_FEE,
    "transfer": wallet_pb2.BALANCE_TRANSACTION_TYPE_TRANSFER,
    "payout": wallet_pb2.BALANCE_TRANSACTION_TYPE_PAYOUT,
    "payout_cancel": wallet_pb2.BALANCE_TRANSACTION_TYPE_PAYOUT_CANCEL,
    "payout_failure": wallet_pb2.BALANCE_TRANSACTION_TYPE_PAYOUT_FAILURE,
    "adjustment": wallet_pb2.BALANCE_TRANSACTION_TYPE_ADJUSTMENT,
}


def money_messages(amounts: dict[str, int]) -> list[common_pb2.Money]:
    return [
        common_pb2.Money(amount=amount, currency=currency)
        for currency, amount in sorted(amounts.items())
    ]


def balance_message(account: str, balance: Balance) -> wallet_pb2.Balance:
    return wallet_pb2.Balance(
        account=account,
        available=money_messages(balance.available),
        pending=money_messages(balance.pending),
    )


def transaction_message(transaction: BalanceTransaction) -> wallet_pb2.BalanceTransaction:
    return wallet_pb2.BalanceTransaction(
        id=transaction.id,
        amount=transaction.amount,
        currency=transaction.currency,
        fee=transaction.fee,
        net=transaction.net,
        type=TYPES[transaction.type],
        status=(
            wallet_pb2.BALANCE_TRANSACTION_STATUS_AVAILABLE
            if transaction.available
            else wallet_pb2.BALANCE_TRANSACTION_STATUS_PENDING
        ),
        available_on=transaction.created,
        source=transaction.source,
        description=transaction.description,
        created=transaction.created,
    )
