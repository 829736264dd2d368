"""A balance transaction's `fee_details` itemize its `fee`: the lines always sum to it, for a
plain payment as for a converted one, each line named for what the fee paid for (the shape of
Stripe's fee_details, which merchants reconcile against `fee`)."""

from __future__ import annotations

import pytest
from paycore.payout.models import BalanceStatus, BalanceTransaction, BalanceType, Presentment
from paycore.payout.servicer.messages import balance_transaction_message


def _row(
    type: BalanceType, amount: int, fee: int, conversion: Presentment | None = None
) -> BalanceTransaction:
    return BalanceTransaction(
        account="",
        currency="usd",
        amount=amount,
        fee=fee,
        net=amount - fee,
        type=type,
        status=BalanceStatus.PENDING,
        available_on=0,
        source="pi_x",
        description="",
        ledger_transfer_id="",
        payout_id=None,
        conversion=conversion,
        id="txn_x",
        merchant_id="acct_x",
        created=0,
    )


@pytest.mark.parametrize(
    ("type", "amount", "fee", "lines"),
    [
        (BalanceType.PAYMENT, 10_000, 320, [("processing_fee", 320)]),
        (BalanceType.ADJUSTMENT, -2_000, 1_500, [("dispute_fee", 1_500)]),
        (BalanceType.ADJUSTMENT, 2_000, -1_500, [("dispute_fee", -1_500)]),  # returned on a win
        (BalanceType.PAYOUT, -5_000, 50, [("payout_fee", 50)]),
        (BalanceType.REFUND, -700, 0, []),
    ],
)
def test_the_fee_lines_of_an_unconverted_row_sum_to_its_fee(
    type: BalanceType, amount: int, fee: int, lines: list[tuple[str, int]]
) -> None:
    message = balance_transaction_message(_row(type, amount, fee))
    assert [(line.type, line.amount, line.currency) for line in message.fee_details] == [
        (kind, part, "usd") for kind, part in lines
    ]
    assert sum(line.amount for line in message.fee_details) == message.fee == fee


def test_a_converted_payment_has_its_processing_and_conversion_lines() -> None:
    converted = Presentment(
        exchange_rate="0.0065", amount=150_000, currency="jpy", conversion_fee=20
    )
    message = balance_transaction_message(_row(BalanceType.PAYMENT, 1_000, 79, converted))
    assert [(line.type, line.amount) for line in message.fee_details] == [
        ("processing_fee", 59),
        ("conversion_fee", 20),
    ]
    assert (message.exchange_rate, message.presentment_currency) == ("0.0065", "jpy")
