"""Applies a finished verification to its SetupIntent, inside the executor's recording
transaction: the setup's status, the payment method saved (attached to the customer, its
usage and a wallet card's network token) and the event commit together. No money moved, so
nothing reaches the ledger."""

from __future__ import annotations

from dataclasses import dataclass

from paycore.errors import ApiError
from paycore.events import Recorder
from paycore.executor.models import Execution
from paycore.invariants import violated
from paycore.payment import events
from paycore.payment.completion import failure_of
from paycore.payment.models import NextAction, PaymentError, SetupIntent, SetupStatus
from paycore.payment.setup.flow import SetupCards
from paycore.payment.setup.repository import SetupRepository
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True, slots=True, eq=False)
class SetupCompletion:
    """The executor's completion of Operation.SETUP; answers the setup it settled (None when
    the setup no longer waits on this execution)."""

    _cards: SetupCards
    _events: Recorder[SetupIntent]

    async def __call__(self, connection: AsyncConnection, execution: Execution) -> object:
        setup_id = execution.metadata.get("setup_intent")
        if not setup_id:
            violated(f"verification {execution.id} names no setup intent")
        repository = SetupRepository(connection)
        setup = await repository.get(execution.merchant_id, setup_id, lock=True)
        if setup is None or setup.execution_id != execution.id:
            return None
        if setup.status is not SetupStatus.PROCESSING:
            return setup
        answer = execution.answer
        if execution.succeeded and answer is not None and answer.requires_action:
            # The buyer authenticates on the PSP's page; confirming again goes on with it.
            waiting = NextAction(
                answer.authentication,
                answer.authentication_url,
                execution.metadata.get("return_url", ""),
            )
            moved = await repository.move(
                setup, SetupStatus.REQUIRES_ACTION, next_action=waiting, last_setup_error=None
            )
            await self._events.record(connection, events.SETUP_REQUIRES_ACTION, moved)
            return moved
        failure = None if execution.succeeded else failure_of(execution, "setup_intent")
        if failure is None:
            try:
                await self._cards.save_for_setup(
                    connection,
                    setup.merchant_id,
                    execution.payment_method_id or "",
                    setup.customer_id,
                    setup.usage.value,
                    answer.network_token if answer is not None else "",
                )
            except ApiError as refused:
                # Detached, attached to another customer or the customer deleted since the
                # confirmation: refused before anything was written, so the PSP's answer is
                # still recorded, as a setup that failed.
                failure = PaymentError(refused.reason.name, message=refused.message)
        if failure is None:
            moved = await repository.move(setup, SetupStatus.SUCCEEDED)
            await self._events.record(connection, events.SETUP_SUCCEEDED, moved)
            return moved
        moved = await repository.move(
            setup, SetupStatus.REQUIRES_PAYMENT_METHOD, last_setup_error=failure
        )
        await self._events.record(connection, events.SETUP_FAILED, moved)
        return moved
