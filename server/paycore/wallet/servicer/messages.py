"""Wallet dataclasses -> WalletService messages. A balance transaction is pay-out's row
(paycore.payout.balances), rendered as pay-out renders it for its events."""

from __future__ import annotations

from paycore.payout.servicer.messages import balance_message as amounts_message
from paycore.payout.servicer.messages import balance_transaction_message
from paycore.v1 import common_pb2, wallet_pb2
from paycore.wallet.service import Balance

transaction_message = balance_transaction_message


def balance_message(account: str, balance: Balance) -> wallet_pb2.Balance:
    message = amounts_message(account, balance.available, balance.pending)
    message.instant_available.extend(
        common_pb2.Money(amount=amount, currency=currency)
        for currency, amount in sorted(balance.instant_available.items())
    )
    return message
