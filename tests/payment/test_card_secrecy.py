"""After a full pay-in run (charges, a manual capture, a refund, a decline, a checkout, an
answer lost at the PSP and resolved), no card number is in any log record, any response, any
column of either shard or the PSP simulator's store."""

from __future__ import annotations

import logging

import pytest
from paycore.tools.psp import cards
from paycore.v1 import payment_pb2

from tests.helpers import PspSimulator
from tests.payment.shop import PayIn, Shop
from tests.secrecy import assert_nowhere, column_values, log_texts, psp_store_values, random_card

Order = payment_pb2.CreatePaymentRequest.PaymentOrder


async def test_no_card_number_is_kept_or_logged_anywhere_after_a_pay_in_run(
    shop: Shop, payin: PayIn, psp: PspSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    charged, captured, checkout = (random_card("4", 16) for _ in range(3))
    numbers = [charged, captured, checkout, cards.CARD_DECLINED, cards.CARD_ANSWER_LOST]
    responses: list[str] = []

    paid = await shop.pay(charged, 2000)
    responses.append(str(paid))
    responses.append(
        str(
            await shop.client.payments.CreateRefund(
                payment_pb2.CreateRefundRequest(payment_intent=paid.id, amount=500)
            )
        )
    )
    held = await shop.pay(captured, 900, manual=True)
    responses.append(
        str(
            await shop.client.payments.CapturePaymentIntent(
                payment_pb2.CapturePaymentIntentRequest(id=held.id)
            )
        )
    )
    responses.append(str(await shop.pay(cards.CARD_DECLINED, 300)))
    lost = await shop.pay(cards.CARD_ANSWER_LOST, 400)
    await payin.run_worker_once()
    responses.append(str(lost))
    seller = await shop.seller()
    responses.append(
        str(
            await shop.client.payments.CreatePayment(
                payment_pb2.CreatePaymentRequest(
                    checkout_id="secret-cart",
                    payment_method=await shop.card(checkout),
                    payment_orders=[
                        Order(
                            payment_order_id="s-1",
                            seller_account=seller,
                            amount=700,
                            currency="usd",
                        )
                    ],
                )
            )
        )
    )
    assert paid.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED

    assert_nowhere(numbers, [], log_texts(caplog.records), "a log record")
    assert_nowhere(numbers, [], responses, "a response")
    for engine in payin.platform.shards.engines:
        values = [value for _, value in await column_values(engine)]
        assert values, "the shards hold this run's rows"
        assert_nowhere(numbers, [], values, "a database column")
    stored_at_psp = psp_store_values(psp.data_dir)
    assert any(charged[-4:] in value for value in stored_at_psp)  # last4 is kept, as it may be
    assert_nowhere(numbers, [], stored_at_psp, "the PSP simulator's store")
