"""ExecutorService.ExecutePaymentOrder as its contract reads: the execution of one payment (a
payment order or a payment intent) and one operation, never another operation's execution of
the same payment; a request that names no payment, or both, is refused naming the field."""

from __future__ import annotations

import grpc
import pytest
from paycore.v1 import executor_pb2, payment_pb2

from tests.helpers import rich_error
from tests.payment.shop import Shop, good_card

Operation = executor_pb2.ExecutionOperation
Order = payment_pb2.CreatePaymentRequest.PaymentOrder


async def _refunded_order(shop: Shop) -> tuple[str, str]:
    """A checkout's one payment order, charged then partly refunded: (order id, refund id)."""
    seller = await shop.seller()
    payment = await shop.client.payments.CreatePayment(
        payment_pb2.CreatePaymentRequest(
            checkout_id="cart-executed",
            payment_method=await shop.card(good_card()),
            buyer_info=payment_pb2.BuyerInfo(email="buyer@example.com"),
            payment_orders=[
                Order(payment_order_id="o-1", seller_account=seller, amount=1500, currency="usd")
            ],
        )
    )
    (order,) = payment.payment_orders
    refund = await shop.client.payments.CreateRefund(
        payment_pb2.CreateRefundRequest(payment_order=order.id, amount=400)
    )
    return order.id, refund.id


async def _execute(shop: Shop, **fields: object) -> executor_pb2.Execution:
    return await shop.operator.executor.ExecutePaymentOrder(
        executor_pb2.ExecutePaymentOrderRequest(merchant=shop.id, **fields)  # type: ignore[arg-type]
    )


async def test_a_payment_order_runs_its_charge_not_its_newest_refund(shop: Shop) -> None:
    order_id, refund_id = await _refunded_order(shop)

    charge = await _execute(
        shop, payment_order=order_id, operation=Operation.EXECUTION_OPERATION_CHARGE
    )
    unnamed = await _execute(shop, payment_order=order_id)
    refund = await _execute(
        shop,
        payment_order=order_id,
        operation=Operation.EXECUTION_OPERATION_REFUND,
        refund=refund_id,
    )

    assert (charge.operation, charge.amount, charge.refund) == (
        Operation.EXECUTION_OPERATION_CHARGE,
        1500,
        "",
    )
    assert charge.state == executor_pb2.EXECUTION_STATE_SUCCEEDED
    assert unnamed.id == charge.id
    assert (refund.operation, refund.amount, refund.refund) == (
        Operation.EXECUTION_OPERATION_REFUND,
        400,
        refund_id,
    )
    await shop.assert_books_balance()


async def test_a_payment_intent_names_its_execution(shop: Shop) -> None:
    intent = await shop.pay(good_card(), 1200)

    execution = await _execute(
        shop, payment_intent=intent.id, operation=Operation.EXECUTION_OPERATION_CHARGE
    )

    assert (execution.payment_intent, execution.operation, execution.amount) == (
        intent.id,
        Operation.EXECUTION_OPERATION_CHARGE,
        1200,
    )
    assert execution.state == executor_pb2.EXECUTION_STATE_SUCCEEDED
    await shop.assert_books_balance()


async def test_an_operation_the_payment_never_had_is_not_found(shop: Shop) -> None:
    intent = await shop.pay(good_card(), 700)

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await _execute(shop, payment_intent=intent.id, operation=Operation.EXECUTION_OPERATION_VOID)

    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    assert rich_error(raised.value).metadata["param"] == "operation"


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({}, "payment_order"),
        ({"payment_intent": "both"}, "payment_intent"),
        ({"operation": Operation.EXECUTION_OPERATION_REFUND}, "refund"),
        ({"operation": 99}, "operation"),
    ],
)
async def test_a_request_that_names_no_one_execution_is_refused_naming_the_field(
    shop: Shop, fields: dict[str, object], param: str
) -> None:
    order_id, _ = await _refunded_order(shop)
    intent = await shop.pay(good_card(), 300)
    request: dict[str, object] = {"payment_order": order_id} if fields else {}
    request.update(fields)
    if request.get("payment_intent") == "both":
        request["payment_intent"] = intent.id

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await _execute(shop, **request)

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert rich_error(raised.value).metadata["param"] == param


async def test_listed_executions_carry_their_attempts(shop: Shop) -> None:
    """ListExecutions and ListDeadLetters answered every execution with `attempts: []`, as if
    none had been made: a dead letter read from the list showed no attempt at all."""
    intent = await shop.pay(good_card(), 900)
    await shop.client.payments.CreateRefund(
        payment_pb2.CreateRefundRequest(payment_intent=intent.id, amount=100)
    )

    listed = await shop.operator.executor.ListExecutions(
        executor_pb2.ListExecutionsRequest(payment_intent=intent.id)
    )

    assert [execution.operation for execution in listed.data] == [
        Operation.EXECUTION_OPERATION_REFUND,
        Operation.EXECUTION_OPERATION_CHARGE,
    ]
    for execution in listed.data:
        read = await shop.operator.executor.GetExecution(
            executor_pb2.GetExecutionRequest(id=execution.id)
        )
        assert len(read.attempts) >= 1
        assert list(execution.attempts) == list(read.attempts)
