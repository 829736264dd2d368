"""A payment the fraud check sends to review is held, never reaching the PSP, until an
operator approves it (charged then) or rejects it (canceled as fraudulent)."""

from __future__ import annotations

from paycore.v1 import customer_pb2, executor_pb2, fraud_pb2, payment_pb2

from tests.payment.shop import Shop, fee, good_card


async def _review_everything(shop: Shop) -> None:
    await shop.operator.fraud.UpdateRiskPolicy(
        fraud_pb2.UpdateRiskPolicyRequest(
            review_above=500,
            block_above=800,
            rules=[
                fraud_pb2.RiskRule(
                    name="review_everything",
                    conditions=[fraud_pb2.RiskCondition(feature="amount_usd", above=0)],
                    action=fraud_pb2.RISK_DECISION_REVIEW,
                )
            ],
        )
    )


async def test_an_approved_review_charges_the_held_payment(shop: Shop) -> None:
    await _review_everything(shop)
    held = await shop.pay(good_card(), 1500)
    assert held.status == payment_pb2.PAYMENT_INTENT_STATUS_PROCESSING
    assert held.risk_assessment.decision == fraud_pb2.RISK_DECISION_REVIEW
    assert "review_everything" in held.risk_assessment.reasons
    assert (await shop.balance())[1] in ({}, {"usd": 0})

    await shop.operator.fraud.ApproveReview(
        fraud_pb2.ApproveReviewRequest(id=held.risk_assessment.review, note="known buyer")
    )

    after = await shop.client.payments.GetPaymentIntent(
        payment_pb2.GetPaymentIntentRequest(id=held.id)
    )
    assert after.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED
    assert (await shop.balance())[1] == {"usd": 1500 - fee(1500)}
    await shop.assert_books_balance()


async def test_a_rejected_review_cancels_the_held_payment(shop: Shop) -> None:
    await _review_everything(shop)
    held = await shop.pay(good_card(), 1500)

    await shop.operator.fraud.RejectReview(
        fraud_pb2.RejectReviewRequest(id=held.risk_assessment.review, note="stolen")
    )

    after = await shop.client.payments.GetPaymentIntent(
        payment_pb2.GetPaymentIntentRequest(id=held.id)
    )
    assert after.status == payment_pb2.PAYMENT_INTENT_STATUS_CANCELED
    assert after.cancellation_reason == payment_pb2.PAYMENT_INTENT_CANCELLATION_REASON_FRAUDULENT
    assert (await shop.balance())[1] in ({}, {"usd": 0})
    await shop.assert_books_balance()


async def test_a_blocked_intent_fails_as_fraud_and_never_reaches_the_psp(shop: Shop) -> None:
    number = good_card()
    method = await shop.card(number)
    fingerprint = (
        await shop.client.customers.GetPaymentMethod(
            customer_pb2.GetPaymentMethodRequest(id=method)
        )
    ).card.fingerprint
    await shop.operator.fraud.AddBlocklistItem(
        fraud_pb2.AddBlocklistItemRequest(
            type=fraud_pb2.BLOCKLIST_ITEM_TYPE_CARD_FINGERPRINT,
            value=fingerprint,
            merchant=shop.id,
            reason="stolen",
        )
    )

    blocked = await shop.client.payments.CreatePaymentIntent(
        payment_pb2.CreatePaymentIntentRequest(
            amount=900, currency="usd", payment_method=method, confirm=True
        )
    )

    assert blocked.status == payment_pb2.PAYMENT_INTENT_STATUS_REQUIRES_PAYMENT_METHOD
    assert blocked.last_payment_error.code == "FRAUD_SUSPECTED"
    assert blocked.risk_assessment.decision == fraud_pb2.RISK_DECISION_BLOCK
    executions = await shop.operator.executor.ListExecutions(
        executor_pb2.ListExecutionsRequest(payment_intent=blocked.id)
    )
    assert list(executions.data) == []
    assert (await shop.balance())[1] in ({}, {"usd": 0})
    await shop.assert_books_balance()


async def test_a_checkout_held_for_review_is_processing_as_a_held_intent_is(shop: Shop) -> None:
    """docs/payments.md ("Fraud"): review holds a confirmation or a checkout in `processing`
    until an operator decides (a held checkout showed `created`, its orders not started)."""
    await _review_everything(shop)
    seller = await shop.seller()

    async def checkout(cart: str) -> payment_pb2.Payment:
        order = payment_pb2.CreatePaymentRequest.PaymentOrder(
            payment_order_id=f"order-{cart}", seller_account=seller, amount=1500, currency="usd"
        )
        return await shop.client.payments.CreatePayment(
            payment_pb2.CreatePaymentRequest(
                checkout_id=cart,
                payment_method=await shop.card(good_card()),
                buyer_info=payment_pb2.BuyerInfo(email="buyer@example.com"),
                payment_orders=[order],
            )
        )

    async def read(payment: payment_pb2.Payment) -> payment_pb2.Payment:
        request = payment_pb2.GetPaymentRequest(id=payment.id)
        return await shop.client.payments.GetPayment(request)

    approved, rejected = await checkout("cart-approved"), await checkout("cart-rejected")
    for held in (approved, rejected, await read(approved)):
        assert held.status == payment_pb2.PAYMENT_STATUS_PROCESSING, held
        assert held.risk_assessment.decision == fraud_pb2.RISK_DECISION_REVIEW
        [order] = held.payment_orders
        assert order.status == payment_pb2.PAYMENT_ORDER_STATUS_NOT_STARTED, order

    await shop.operator.fraud.ApproveReview(
        fraud_pb2.ApproveReviewRequest(id=approved.risk_assessment.review)
    )
    await shop.operator.fraud.RejectReview(
        fraud_pb2.RejectReviewRequest(id=rejected.risk_assessment.review)
    )
    assert (await read(approved)).status == payment_pb2.PAYMENT_STATUS_SUCCEEDED
    after = await read(rejected)
    assert after.status == payment_pb2.PAYMENT_STATUS_FAILED, after
    await shop.assert_books_balance()
