"""ExecutePaymentOrder's request -> which execution it names; each failure an ApiError naming
the field."""

from __future__ import annotations

from dataclasses import dataclass

from paycore import validation
from paycore.errors import invalid, missing
from paycore.executor.models import Execution, ExecutionFilter, Operation
from paycore.ids import Prefix
from paycore.v1 import executor_pb2

# The operations each requested one matches; none named means the payment's own charge (or
# its authorization, for a manual capture): what "execute this payment order" means.
_OPERATIONS: dict[int, tuple[Operation, ...]] = {
    executor_pb2.EXECUTION_OPERATION_UNSPECIFIED: (Operation.CHARGE, Operation.AUTHORIZE),
    executor_pb2.EXECUTION_OPERATION_CHARGE: (Operation.CHARGE,),
    executor_pb2.EXECUTION_OPERATION_AUTHORIZE: (Operation.AUTHORIZE,),
    executor_pb2.EXECUTION_OPERATION_CAPTURE: (Operation.CAPTURE,),
    executor_pb2.EXECUTION_OPERATION_VOID: (Operation.VOID,),
    executor_pb2.EXECUTION_OPERATION_REFUND: (Operation.REFUND,),
    executor_pb2.EXECUTION_OPERATION_PAYOUT: (Operation.PAYOUT,),
}


@dataclass(frozen=True, slots=True)
class ExecutedPayment:
    """One payment (a payment order or a payment intent) and the operation of it asked for,
    with the terms the request states (empty or 0: not stated)."""

    payment_order_id: str
    payment_intent_id: str
    operations: tuple[Operation, ...]
    refund_id: str
    amount: int
    currency: str
    payment_method_id: str

    @property
    def param(self) -> str:
        """The field naming the payment, which is also its object's name."""
        return "payment_order" if self.payment_order_id else "payment_intent"

    @property
    def payment_id(self) -> str:
        return self.payment_order_id or self.payment_intent_id

    @property
    def executions(self) -> ExecutionFilter:
        """The payment's executions of the operation asked for."""
        return ExecutionFilter(
            payment_order_id=self.payment_order_id,
            payment_intent_id=self.payment_intent_id,
            refund_id=self.refund_id,
            operations=self.operations,
        )

    @property
    def description(self) -> str:
        """E.g. "refund re_... of pi_...", for a NOT_FOUND message."""
        what = "/".join(operation.value for operation in self.operations)
        of_refund = f" {self.refund_id}" if self.refund_id else ""
        return f"{what}{of_refund} of {self.payment_id}"

    def checked(self, execution: Execution) -> Execution:
        """The execution found, when every term the request states is its own."""
        stated = (
            ("amount", self.amount, execution.amount),
            ("currency", self.currency, execution.currency),
            ("payment_method", self.payment_method_id, execution.payment_method_id or ""),
        )
        for param, value, own in stated:
            if value and value != own:
                raise invalid(param, f"{value!r} is not the execution's {own!r}")
        return execution


def executed_payment(request: executor_pb2.ExecutePaymentOrderRequest) -> ExecutedPayment:
    order_id = validation.object_id(
        "payment_order", request.payment_order, Prefix.PAYMENT_ORDER, required=False
    )
    intent_id = validation.object_id(
        "payment_intent", request.payment_intent, Prefix.PAYMENT_INTENT, required=False
    )
    if not order_id and not intent_id:
        raise missing("payment_order")
    if order_id and intent_id:
        raise invalid("payment_intent", "give payment_order or payment_intent, not both")
    operation = validation.enum_value(
        "operation", request.operation, _OPERATIONS, executor_pb2.ExecutionOperation
    )
    refunds = operation == executor_pb2.EXECUTION_OPERATION_REFUND
    refund_id = validation.object_id("refund", request.refund, Prefix.REFUND, required=refunds)
    if refund_id and not refunds:
        raise invalid("refund", "only with operation refund")
    return ExecutedPayment(
        payment_order_id=order_id,
        payment_intent_id=intent_id,
        operations=_OPERATIONS[operation],
        refund_id=refund_id,
        amount=_stated_amount(request.amount),
        currency=validation.currency("currency", request.currency) if request.currency else "",
        payment_method_id=validation.object_id(
            "payment_method", request.payment_method, Prefix.PAYMENT_METHOD, required=False
        ),
    )


def _stated_amount(amount: int) -> int:
    if amount < 0:
        raise invalid("amount", "must be positive, or 0 for the execution's own")
    return amount
