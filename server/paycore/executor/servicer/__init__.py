"""ExecutorService over gRPC (internal: operators and services, never merchant keys)."""

from __future__ import annotations

from dataclasses import dataclass

from grpc import aio
from paycore import validation
from paycore.errors import ApiError, not_found
from paycore.executor.models import ExecutionFilter, ExecutionState
from paycore.executor.service import Executor
from paycore.executor.servicer.messages import execution_message
from paycore.executor.servicer.requests import ExecutedPayment, executed_payment
from paycore.ids import Prefix
from paycore.runtime.servicing import (
    Context,
    acting_merchant,
    add_servicer,
    cursor_of,
    page_response,
)
from paycore.storage.reads import Cursor
from paycore.v1 import executor_pb2, executor_pb2_grpc


def register(server: aio.Server, executor: Executor) -> str:
    """Adds ExecutorService to `server`; returns its full name."""
    add = executor_pb2_grpc.add_ExecutorServiceServicer_to_server
    return add_servicer(server, add, ExecutorServicer(executor))


@dataclass(frozen=True, slots=True)
class ExecutorServicer(executor_pb2_grpc.ExecutorServiceServicer):
    _executor: Executor

    async def ExecutePaymentOrder(
        self, request: executor_pb2.ExecutePaymentOrderRequest, context: Context
    ) -> executor_pb2.Execution:
        """Runs (or resumes) the execution of a payment order now: payment orders are created
        by PaymentService.CreatePayment, which enqueues their executions; this is the
        operator's handle on one of them."""
        wanted = executed_payment(request)
        merchant_id = _merchant(request.merchant) or None
        found = await self._executor.list(merchant_id, Cursor(1), wanted.executions)
        if not found.data:
            raise await self._why_none(merchant_id, wanted)
        execution = wanted.checked(found.data[0])
        execution = await self._executor.run(execution.merchant_id, execution.id)
        return execution_message(await self._executor.get(execution.merchant_id, execution.id))

    async def _why_none(self, merchant_id: str | None, wanted: ExecutedPayment) -> ApiError:
        """NOT_FOUND naming the payment when it has no execution at all, else the operation."""
        of_payment = ExecutionFilter(
            payment_order_id=wanted.payment_order_id, payment_intent_id=wanted.payment_intent_id
        )
        any_of_payment = await self._executor.list(merchant_id, Cursor(1), of_payment)
        if not any_of_payment.data:
            return not_found(wanted.param, wanted.payment_id, param=wanted.param)
        return not_found("execution", wanted.description, param="operation")

    async def GetExecution(
        self, request: executor_pb2.GetExecutionRequest, context: Context
    ) -> executor_pb2.Execution:
        execution_id = validation.object_id("id", request.id, Prefix.EXECUTION)
        return execution_message(await self._executor.get(None, execution_id))

    async def ListExecutions(
        self, request: executor_pb2.ListExecutionsRequest, context: Context
    ) -> executor_pb2.ListExecutionsResponse:
        cursor = cursor_of(request, Prefix.EXECUTION)
        wanted = ExecutionFilter(
            payment_order_id=validation.object_id(
                "payment_order", request.payment_order, Prefix.PAYMENT_ORDER, required=False
            ),
            payment_intent_id=validation.object_id(
                "payment_intent", request.payment_intent, Prefix.PAYMENT_INTENT, required=False
            ),
        )
        page = await self._executor.list(acting_merchant(), cursor, wanted)
        return page_response(executor_pb2.ListExecutionsResponse, page, execution_message)

    async def ListDeadLetters(
        self, request: executor_pb2.ListDeadLettersRequest, context: Context
    ) -> executor_pb2.ListDeadLettersResponse:
        merchant_id = _merchant(request.merchant) or None
        dead = ExecutionFilter(state=ExecutionState.DEAD_LETTERED)
        page = await self._executor.list(merchant_id, cursor_of(request, Prefix.EXECUTION), dead)
        return page_response(executor_pb2.ListDeadLettersResponse, page, execution_message)

    async def RequeueDeadLetter(
        self, request: executor_pb2.RequeueDeadLetterRequest, context: Context
    ) -> executor_pb2.Execution:
        execution_id = validation.object_id("id", request.id, Prefix.EXECUTION)
        execution = await self._executor.requeue(None, execution_id)
        return execution_message(await self._executor.get(execution.merchant_id, execution.id))


def _merchant(merchant_id: str) -> str:
    return validation.object_id("merchant", merchant_id, Prefix.ACCOUNT, required=False) or (
        acting_merchant() or ""
    )
