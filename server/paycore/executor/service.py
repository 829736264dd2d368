"""Runs executions against the PSP (docs/design.md, "Payment flow").

One step of an execution is three moves, and only the middle one leaves the database:
  1. claim (a short transaction): lock the row (SKIP LOCKED), take a lease, record the attempt
     as in flight;
  2. call the PSP with the execution's own idempotency key (no transaction open);
  3. record (a short transaction): close the attempt, move the state, and for a final answer
     let the owner (the payment) apply it in the same transaction: its status, the ledger,
     the outbox event.
A crash between 1 and 3 leaves a running execution whose lease runs out; whoever takes it next
asks the PSP for the key's status first, so an unknown outcome is resolved by a status query
and never by a second charge. Transient failures are retried with backoff; an execution that
exhausts its attempts is dead-lettered for an operator to requeue. While the PSP keeps failing
the circuit breaker opens and executions fail fast without calling it: a breaker per mode
(paycore.executor.breaker), so test merchants' failure cards never pause live payments.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol
from urllib.parse import urlencode, urlsplit, urlunsplit

from paycore.customer.models import ChargeableCard
from paycore.errors import ApiError, Reason, not_found
from paycore.executor.breaker import Breakers, BreakerState, CircuitBreaker
from paycore.executor.grouping import GroupCommit, Lasts
from paycore.executor.machine import check_transition
from paycore.executor.models import (
    AttemptKind,
    AttemptOutcome,
    Execution,
    ExecutionFilter,
    ExecutionState,
    NewExecution,
    Operation,
    PspAnswer,
)
from paycore.executor.modes import MerchantModes
from paycore.executor.repository import (
    ExecutionRepository,
    OutcomeRecord,
    decode_execution,
    executions_query,
)
from paycore.executor.retry import RetryPolicy
from paycore.ids import Prefix, logical_shard_of, new_id
from paycore.psp.client import (
    CardDetails,
    PayoutDestination,
    PspClient,
    PspError,
    PspRejected,
    PspResult,
    PspTimeout,
    PspTransientError,
)
from paycore.storage import Shards
from paycore.storage.failures import refused_by_a_shard_move
from paycore.storage.reads import Cursor, Page, merged_page, newest_first
from paycore.storage.schema import executions
from paycore.storage.shards import MerchantRoute
from prometheus_client import CollectorRegistry, Counter, Gauge
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)
RESUME_BATCH_MAX = 100
# The states an execution's owner applies (its completion).
_APPLIED = (ExecutionState.SUCCEEDED, ExecutionState.FAILED)

Completion = Callable[[AsyncConnection, Execution], Awaitable[object]]
"""Applies a succeeded or failed execution to its owner, inside the recording transaction, and
returns the object it settled (None when it settled nothing), or that object as `Applied`
with what must run last in the transaction. A completion with a method `prepare(connection,
executions) -> Completion` is given, in a group commit, all the group's executions it will
apply first, and the completion it answers applies them (it reads them in one statement)."""


@dataclass(frozen=True)
class Applied:
    """A completion's answer when part of its work must come last in the transaction: `last`
    runs after the request's final answer is stored (`Settled`), right before the commit. Pay-in
    posts its money there: the merchant's ledger accounts are shared by all its payments, so
    their row locks, taken by the posting, are then held for the fewest round trips (issue
    17: at 32 payments in flight most of them queued on those locks)."""

    subject: object
    last: Callable[[AsyncConnection], Awaitable[None]]


Settled = Callable[[AsyncConnection, object], Awaitable[None]]

Returning = Callable[[str, str, str, str], str]
"""(merchant id, the merchant's return_url, "payment_intent" | "setup_intent", the object's id)
-> the return_url the PSP's authentication page sends the buyer to (`returning` by default:
the merchant's; pay-in's is paycore's own return, paycore.payment.authenticated)."""
"""What `run`'s caller does with the object a completion settled, in the same transaction (a
request stores its final answer there: paycore.runtime.mutations.FinalAnswer)."""


class CardSource(Protocol):
    async def card_for_charge(self, merchant_id: str, payment_method_id: str) -> ChargeableCard: ...


class PayoutDestinations(Protocol):
    async def destination_of(self, merchant_id: str, payout_id: str) -> PayoutDestination:
        """Where the payout goes, its number opened from the vault; an ApiError when it must
        not go (canceled meanwhile): the execution then fails without calling the bank."""


@dataclass(frozen=True)
class ExecutorSettings:
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    # How long a runner owns a running execution; after it the outcome counts as unknown.
    lease_seconds: float = 30.0
    # How long a request runs the execution in-line (wall clock, the PSP calls counted) before
    # leaving it to the worker: no step starts after it (Executor.run).
    inline_wait_ms: int = 1000
    # How many finished calls' recordings share one transaction (paycore.executor.grouping);
    # 1: each its own.
    group_commit_max: int = 32


@dataclass(frozen=True)
class _Outcome:
    """What one PSP call came to."""

    state: ExecutionState
    attempt: AttemptOutcome
    answer: PspAnswer | None = None
    error_code: str = ""
    error_message: str = ""
    delay_seconds: float | None = None


class ExecutorMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.attempts = Counter(
            "paycore_executor_attempts",
            "PSP calls made by the executor, by operation, kind and outcome.",
            ["operation", "kind", "outcome"],
            registry=registry,
        )
        self.breaker_open = Gauge(
            "paycore_executor_breaker_open",
            "1 while the circuit breaker in front of the PSP is open or half-open, by the mode"
            " (test, live) of the merchants whose calls it stops.",
            ["mode"],
            registry=registry,
        )


class Executor:
    def __init__(
        self,
        shards: Shards,
        psp: PspClient,
        cards: CardSource,
        metrics: ExecutorMetrics,
        completions: Mapping[Operation, Completion],
        settings: ExecutorSettings = ExecutorSettings(),
        breakers: Breakers | None = None,
        payouts: PayoutDestinations | None = None,
        returns: Returning | None = None,
    ) -> None:
        """`completions`: for each operation, what applies a finished execution to the object
        that owns it (pay-in's intents and orders, payouts...), in the recording transaction.
        `breakers`: a circuit breaker per mode; an execution goes through its merchant's.
        `payouts`: where a payout execution's money goes (pay-out's bank accounts).
        `returns`: the return_url a charge or setup gives the PSP for its authentication page."""
        self._shards = shards
        self._psp = psp
        self._cards = cards
        self._metrics = metrics
        self._settings = settings
        self.breakers = breakers or Breakers()
        self._modes = MerchantModes(shards)
        self._show_breakers()  # both modes' series exist from the start
        self._completions = dict(completions)
        self._payouts = payouts
        self._returns = returns or _merchants_return
        self._groups = GroupCommit(settings.group_commit_max, self._prepare_group)

    async def drained(self) -> None:
        """Returns once the recordings queued for a group commit have run (at shutdown: the
        PSP's answers they hold must be kept)."""
        await self._groups.drained()

    # -- creating and reading -------------------------------------------------------------------

    async def enqueue(self, connection: AsyncConnection, new: NewExecution) -> str:
        """Adds an execution in the caller's transaction; the caller runs it after commit. The
        worker only takes it once a lease has passed, so the caller goes first."""
        execution_id = new_id(Prefix.EXECUTION, logical_shard_of(new.merchant_id, Prefix.ACCOUNT))
        # Without a key of its own, the execution's id is what the PSP deduplicates on.
        keyed = new if new.psp_key else replace(new, psp_key=execution_id)
        await ExecutionRepository(connection).insert(
            execution_id, keyed, due_in_seconds=self._settings.lease_seconds
        )
        return execution_id

    async def enqueue_claimed(self, connection: AsyncConnection, new: NewExecution) -> Execution:
        """`enqueue`, with the execution already claimed for its first PSP request (running,
        leased, attempt 1 in flight), which saves the claim's own transaction: the caller runs
        it after commit with `run(..., claimed=...)`. A crash before the PSP call is then a
        runner lost mid-call (its lease runs out, a status query resolves it), as after a claim.
        While the circuit breaker is not closed it is only enqueued (state queued)."""
        claimed = await self.claim_new(new, connection)
        if claimed is None:
            execution_id = await self.enqueue(connection, new)
            return _queued(execution_id, new)
        return await ExecutionRepository(connection).insert_claimed(
            claimed.id, claimed, lease_seconds=self._settings.lease_seconds
        )

    async def enqueue_claimed_many(
        self, connection: AsyncConnection, news: Sequence[NewExecution]
    ) -> list[Execution]:
        """`enqueue_claimed` for many, in one round trip (the payout scheduler's batch)."""
        claimed = [await self.claim_new(new, connection) for new in news]
        if any(one is None for one in claimed):  # the breaker is not closed: queue them all
            return [await self.enqueue_claimed(connection, new) for new in news]
        ready = [one for one in claimed if one is not None]
        await ExecutionRepository(connection).insert_claimed_many(
            [(one.id, one) for one in ready], lease_seconds=self._settings.lease_seconds
        )
        return ready

    async def claim_new(
        self, new: NewExecution, connection: AsyncConnection | None = None
    ) -> Execution | None:
        """A new execution as `enqueue_claimed` stores it (running, leased, attempt 1 in
        flight), for a caller that writes it in a statement of its own
        (paycore.payment.charging; the lease is `lease_seconds`); None while its merchant's
        mode's circuit breaker is not closed (then `enqueue` it). `connection`: the caller's
        transaction on the merchant's shard, which reads the merchant's mode the first time."""
        breaker = await self.breaker_of(new.merchant_id, connection)
        if breaker.state is not BreakerState.CLOSED:
            return None
        check_transition(ExecutionState.QUEUED, ExecutionState.RUNNING)
        execution_id = new_id(Prefix.EXECUTION, logical_shard_of(new.merchant_id, Prefix.ACCOUNT))
        return replace(
            _queued(execution_id, new),
            state=ExecutionState.RUNNING,
            attempt_count=1,
            lease_until=time.time() + self._settings.lease_seconds,
        )

    async def breaker_of(
        self, merchant_id: str, connection: AsyncConnection | None = None
    ) -> CircuitBreaker:
        """The circuit breaker of the merchant's mode (test, live)."""
        return self.breakers.of(await self._modes.of(merchant_id, connection))

    @property
    def lease_seconds(self) -> float:
        return self._settings.lease_seconds

    async def get(self, merchant_id: str | None, execution_id: str) -> Execution:
        """The execution (any merchant's when `merchant_id` is None: operators)."""
        engine = self._shards.engine_for_logical(logical_shard_of(execution_id, Prefix.EXECUTION))
        async with engine.connect() as connection:
            found = await ExecutionRepository(connection).get(merchant_id, execution_id)
        if found is None:
            raise not_found("execution", execution_id)
        return found

    async def list(
        self,
        merchant_id: str | None,
        cursor: Cursor,
        wanted: ExecutionFilter,
    ) -> Page[Execution]:
        """A merchant's executions, or (None) every merchant's on every shard, newest first."""
        engines = (
            [self._shards.engine_for_merchant(merchant_id)]
            if merchant_id
            else list(self._shards.engines)
        )
        query = executions_query(merchant_id, wanted)
        found: list[Execution] = []
        for engine in engines:  # each shard's limit + 1 newest: the merge's are among them
            async with engine.connect() as connection:
                rows = await connection.execute(newest_first(query, executions, cursor))
                decoded = [decode_execution(row) for row in rows.all()]
                found += await ExecutionRepository(connection).with_attempts(decoded)
        return merged_page(found, cursor, key=lambda execution: execution.id)

    # -- running --------------------------------------------------------------------------------

    async def run(
        self,
        merchant_id: str,
        execution_id: str,
        inline_wait_ms: int | None = None,
        *,
        claimed: Execution | None = None,
        card: ChargeableCard | None = None,
        settled: Settled | None = None,
    ) -> Execution:
        """Steps the execution until it is final, or until its next step (a retry, a status
        query) would start after the in-line budget (the worker takes it from there). Returns
        it as it then stands. The budget is wall-clock time from this call, the PSP calls'
        own time counted, not only the backoff's: the first step always runs, and another
        starts only while the budget lasts, so a call ends within the budget plus one PSP
        call (PAYCORE_PSP_TIMEOUT_MS) and its recording.
        `claimed`: what `enqueue_claimed` answered (a running one skips the first claim);
        `card`: the payment method's card when the caller has just read it; `settled`: called
        with what the completion settled, in the completion's transaction."""
        wait_ms = self._settings.inline_wait_ms if inline_wait_ms is None else inline_wait_ms
        deadline = time.monotonic() + wait_ms / 1000
        first = claimed if claimed is not None and claimed.state is ExecutionState.RUNNING else None
        while True:
            execution = await self._step(merchant_id, execution_id, first, card, settled)
            first = None
            delay = await self._next_step_in(execution)
            if delay is None or time.monotonic() + delay > deadline:
                return execution
            await asyncio.sleep(delay)

    async def _resume(self, merchant_id: str, execution_id: str) -> None:
        """The worker's step of a due execution, and the next at once when it is due at once
        (a status query found that the PSP never got the request: it is sent again). Nothing
        waits on the worker, so no budget; what is due later waits for a later pass."""
        execution = await self._step(merchant_id, execution_id)
        while await self._next_step_in(execution) == 0.0:
            execution = await self._step(merchant_id, execution_id)

    async def _next_step_in(self, execution: Execution) -> float | None:
        """Seconds until the execution's next step is due; None when it has none to run here
        (final, another runner's, or its mode's breaker is open)."""
        if execution.state.terminal or execution.state is ExecutionState.RUNNING:
            return None
        if (await self.breaker_of(execution.merchant_id)).state is BreakerState.OPEN:
            return None
        return max(0.0, (execution.next_attempt or 0.0) - time.time())

    async def run_batch(self, claimed: Sequence[Execution], concurrency: int) -> None:
        """The first attempts of executions `enqueue_claimed_many` stored (running, leased),
        all on one shard: the PSP calls go out `concurrency` at a time, and every outcome is
        recorded (and applied by its owner) in one transaction, one commit for the batch. An
        execution whose outcome is not final (a retry, an unknown outcome) goes on as `run`
        takes it; one that was only queued (the breaker was not closed) is run as it is. A
        crash before the commit leaves them all to their leases: a status query resolves each."""
        running = [one for one in claimed if one.state is ExecutionState.RUNNING]
        queued = [one for one in claimed if one.state is not ExecutionState.RUNNING]
        gate = asyncio.Semaphore(concurrency)

        async def call(execution: Execution) -> _Outcome:
            async with gate:
                breaker = await self.breaker_of(execution.merchant_id)
                if not breaker.allow():
                    return _Outcome(
                        ExecutionState.RETRY_SCHEDULED,
                        AttemptOutcome.RETRYABLE_ERROR,
                        error_code="circuit_open",
                        error_message="the PSP failed repeatedly; calls pause until a trial",
                        delay_seconds=breaker.seconds_until_trial(),
                    )
                outcome = await self._call(execution, AttemptKind.REQUEST, breaker)
                self._metrics.attempts.labels(
                    execution.operation.value, AttemptKind.REQUEST.value, outcome.attempt
                ).inc()
                return outcome

        outcomes = await asyncio.gather(*(call(one) for one in running))
        unfinished = []
        if running:
            engine = self._shards.engine_for_merchant(running[0].merchant_id)
            async with engine.begin() as connection:
                for execution, outcome in zip(running, outcomes, strict=True):
                    finished = await self._record_in(connection, execution, 1, outcome, None)
                    if not finished.state.terminal:
                        unfinished.append(finished)
        self._show_breakers()
        rest = [*queued, *unfinished]
        await asyncio.gather(*(self.run(one.merchant_id, one.id) for one in rest))

    async def resume_due(self, engine: AsyncEngine, limit: int = RESUME_BATCH_MAX) -> int:
        """The worker's job on one physical shard: runs what is due (retries, unknown outcomes,
        executions whose runner vanished). Returns how many it stepped. Those whose mode's
        breaker is open wait: they are moved to its trial, so that a backlog of one mode (a
        test integration failing on purpose) never holds the other's at the head of `due`."""
        if self.breakers.all_open():
            return 0
        async with engine.connect() as connection:
            due = await ExecutionRepository(connection).due(limit)
        runnable: list[tuple[str, str]] = []
        waiting: dict[CircuitBreaker, list[str]] = {}
        for merchant_id, execution_id in due:
            breaker = await self.breaker_of(merchant_id)
            if breaker.state is BreakerState.OPEN:
                waiting.setdefault(breaker, []).append(execution_id)
            else:
                runnable.append((merchant_id, execution_id))
        if waiting:
            async with engine.begin() as connection:
                repository = ExecutionRepository(connection)
                for breaker, execution_ids in waiting.items():
                    await repository.postpone(execution_ids, breaker.seconds_until_trial())
        await asyncio.gather(*(self._resume(merchant, found) for merchant, found in runnable))
        return len(runnable)

    async def withdraw(
        self, connection: AsyncConnection, merchant_id: str, execution_id: str
    ) -> bool:
        """In the owner's transaction: fails a queued execution that never made an attempt
        (failure_code "withdrawn"; its completion is not called: the owner is changing its
        object itself) and answers True; False when it has started (it may have reached the
        PSP). The row lock orders this against a runner's claim."""
        repository = ExecutionRepository(connection)
        execution = await repository.lock(merchant_id, execution_id, wait=True)
        if execution is None or execution.state is not ExecutionState.QUEUED:
            return False
        if execution.attempt_count:
            return False
        check_transition(execution.state, ExecutionState.FAILED)
        await repository.update_state(
            execution,
            ExecutionState.FAILED,
            failure_code="withdrawn",
            failure_message="withdrawn by its owner before it was sent",
        )
        return True

    async def requeue(self, merchant_id: str | None, execution_id: str) -> Execution:
        found = await self.get(merchant_id, execution_id)
        engine = self._shards.engine_for_merchant(found.merchant_id)
        async with engine.begin() as connection:
            repository = ExecutionRepository(connection)
            locked = await repository.lock(found.merchant_id, execution_id)
            if locked is None or locked.state is not ExecutionState.DEAD_LETTERED:
                raise ApiError(Reason.EXECUTION_NOT_DEAD_LETTERED, param="id", id=execution_id)
            check_transition(locked.state, ExecutionState.QUEUED)
            await repository.update_state(
                locked, ExecutionState.QUEUED, next_attempt_in=0.0, attempt_count=0
            )
        return await self.run(found.merchant_id, execution_id)

    async def _step(
        self,
        merchant_id: str,
        execution_id: str,
        first: Execution | None = None,
        card: ChargeableCard | None = None,
        settled: Settled | None = None,
    ) -> Execution:
        breaker = await self.breaker_of(merchant_id)
        if first is not None:  # claimed by enqueue_claimed: its first attempt is a request
            claimed: tuple[Execution, AttemptKind, int] | None = (first, AttemptKind.REQUEST, 1)
        elif breaker.state is BreakerState.OPEN:
            return await self.get(merchant_id, execution_id)
        else:
            claimed = await self._claim(merchant_id, execution_id)
        if claimed is None:
            return await self.get(merchant_id, execution_id)
        execution, kind, attempt = claimed
        if kind is AttemptKind.REQUEST and not breaker.allow():
            outcome = _Outcome(
                ExecutionState.RETRY_SCHEDULED,
                AttemptOutcome.RETRYABLE_ERROR,
                error_code="circuit_open",
                error_message="the PSP failed repeatedly; calls pause until a trial succeeds",
                delay_seconds=breaker.seconds_until_trial(),
            )
            return await self._record(execution, attempt, kind, outcome, settled, counted=False)
        outcome = await self._call(execution, kind, breaker, card)
        self._metrics.attempts.labels(execution.operation.value, kind.value, outcome.attempt).inc()
        self._show_breakers()
        return await self._record(execution, attempt, kind, outcome, settled)

    def _show_breakers(self) -> None:
        for mode, breaker in self.breakers.items():
            self._metrics.breaker_open.labels(mode.value).set(
                breaker.state is not BreakerState.CLOSED
            )

    async def _claim(
        self, merchant_id: str, execution_id: str
    ) -> tuple[Execution, AttemptKind, int] | None:
        """Takes the execution for one attempt; None when it is final or someone else has it."""
        engine = self._shards.engine_for_merchant(merchant_id)
        async with engine.begin() as connection:
            repository = ExecutionRepository(connection)
            execution = await repository.lock(merchant_id, execution_id)
            if execution is None or execution.state.terminal:
                return None
            if execution.state is ExecutionState.RUNNING:
                if (execution.lease_until or 0.0) > time.time():
                    return None
                # Its runner vanished mid-call: whether the PSP got the request is unknown.
                await repository.finish_attempt(
                    execution,
                    None,
                    AttemptOutcome.TIMEOUT,
                    "runner_lost",
                    "the runner's lease ran out",
                )
                check_transition(execution.state, ExecutionState.UNKNOWN_OUTCOME)
                execution = _with_state(execution, ExecutionState.UNKNOWN_OUTCOME)
            kind = (
                AttemptKind.STATUS_QUERY
                if execution.state is ExecutionState.UNKNOWN_OUTCOME
                else AttemptKind.REQUEST
            )
            check_transition(execution.state, ExecutionState.RUNNING)
            count = execution.attempt_count + (kind is AttemptKind.REQUEST)
            await repository.update_state(
                execution,
                ExecutionState.RUNNING,
                lease_seconds=self._settings.lease_seconds,
                attempt_count=count,
            )
            attempt = await repository.start_attempt(execution, kind)
        return _with_state(execution, ExecutionState.RUNNING, count), kind, attempt

    async def _call(
        self,
        execution: Execution,
        kind: AttemptKind,
        breaker: CircuitBreaker,
        card: ChargeableCard | None = None,
    ) -> _Outcome:
        """One PSP call, its success or failure counted by `breaker` (its merchant's mode's)."""
        retry = self._settings.retry
        exhausted = execution.attempt_count >= retry.max_attempts
        try:
            if kind is AttemptKind.STATUS_QUERY:
                result = await self._psp.lookup(execution.psp_key)
                breaker.record_success()
                if result is None:
                    # Never processed: sending the request again (same key) is safe.
                    state = (
                        ExecutionState.DEAD_LETTERED
                        if exhausted
                        else ExecutionState.RETRY_SCHEDULED
                    )
                    return _Outcome(state, AttemptOutcome.NOT_FOUND, delay_seconds=0.0)
            else:
                result = await self._request(execution, card)
                breaker.record_success()
        except PspTimeout as error:
            breaker.record_failure()
            return _Outcome(
                ExecutionState.UNKNOWN_OUTCOME,
                AttemptOutcome.TIMEOUT,
                error_code=error.code,
                error_message=error.message,
                delay_seconds=retry.delay(max(1, execution.attempt_count)),
            )
        except PspTransientError as error:
            breaker.record_failure()
            if kind is AttemptKind.STATUS_QUERY:
                state = ExecutionState.UNKNOWN_OUTCOME
            else:
                state = (
                    ExecutionState.DEAD_LETTERED if exhausted else ExecutionState.RETRY_SCHEDULED
                )
            return _Outcome(
                state,
                AttemptOutcome.RETRYABLE_ERROR,
                error_code=error.code,
                error_message=error.message,
                delay_seconds=retry.delay(max(1, execution.attempt_count)),
            )
        except PspRejected as error:
            breaker.record_success()
            return _Outcome(
                ExecutionState.FAILED,
                AttemptOutcome.DECLINED,
                error_code=error.code,
                error_message=error.message,
            )
        except ApiError as error:  # the payment method vanished before the charge
            return _Outcome(
                ExecutionState.FAILED,
                AttemptOutcome.DECLINED,
                error_code=error.reason.name.lower(),
                error_message=error.message,
            )
        return _answered(result)

    async def _request(self, execution: Execution, card: ChargeableCard | None = None) -> PspResult:
        psp, key = self._psp, execution.psp_key
        operation = execution.operation
        if operation in (Operation.CHARGE, Operation.AUTHORIZE):
            if execution.payment_method_id is None:
                raise PspRejected("payment_method_missing", "the execution names no payment method")
            if card is None or card.payment_method_id != execution.payment_method_id:
                card = await self._cards.card_for_charge(
                    execution.merchant_id, execution.payment_method_id
                )
            return await psp.charge(
                idempotency_key=key,
                merchant=execution.merchant_id,
                reference=execution.payment_order_id or execution.payment_intent_id or "",
                amount=execution.amount,
                currency=execution.currency,
                card=_details(card),
                capture=operation is Operation.CHARGE,
                off_session=execution.metadata.get("off_session") == "true",
                error_on_requires_action=execution.metadata.get("error_on_requires_action")
                == "true",
                setup_future_usage=execution.metadata.get("setup_future_usage", ""),
                authentication=execution.metadata.get("authentication", ""),
                return_url=self._returns(
                    execution.merchant_id,
                    execution.metadata.get("return_url", ""),
                    "payment_intent",
                    execution.payment_intent_id or "",
                ),
            )
        if operation is Operation.PAYOUT:
            return await self._payout(execution)
        if operation is Operation.SETUP:
            return await self._setup(execution, card)
        charge = execution.psp_charge or ""
        if operation is Operation.CAPTURE:
            return await psp.capture(idempotency_key=key, charge=charge, amount=execution.amount)
        if operation is Operation.VOID:
            return await psp.void(idempotency_key=key, charge=charge)
        return await psp.refund(idempotency_key=key, charge=charge, amount=execution.amount)

    async def _setup(self, execution: Execution, card: ChargeableCard | None) -> PspResult:
        """A SetupIntent's verification of its payment method (the setup's id in the
        execution's metadata is the PSP's reference)."""
        if execution.payment_method_id is None:
            raise PspRejected("payment_method_missing", "the execution names no payment method")
        if card is None or card.payment_method_id != execution.payment_method_id:
            card = await self._cards.card_for_charge(
                execution.merchant_id, execution.payment_method_id
            )
        return await self._psp.setup(
            idempotency_key=execution.psp_key,
            merchant=execution.merchant_id,
            reference=execution.metadata.get("setup_intent", execution.psp_key),
            card=_details(card),
            authentication=execution.metadata.get("authentication", ""),
            return_url=self._returns(
                execution.merchant_id,
                execution.metadata.get("return_url", ""),
                "setup_intent",
                execution.metadata.get("setup_intent", ""),
            ),
        )

    async def _payout(self, execution: Execution) -> PspResult:
        if self._payouts is None:
            raise PspRejected("payouts_unconfigured", "this executor sends no payouts")
        destination = await self._payouts.destination_of(execution.merchant_id, execution.psp_key)
        return await self._psp.payout(
            idempotency_key=execution.psp_key,
            merchant=execution.merchant_id,
            reference=execution.psp_key,
            amount=execution.amount,
            currency=execution.currency,
            method=execution.metadata.get("method", "standard"),
            destination=destination,
        )

    async def _record(
        self,
        claimed: Execution,
        attempt: int,
        kind: AttemptKind,
        outcome: _Outcome,
        settled: Settled | None,
        counted: bool = True,
    ) -> Execution:
        route = MerchantRoute(self._shards, claimed.merchant_id)
        engine = route.engine()
        try:
            finished: Execution = await self._groups.run(
                engine,
                claimed.merchant_id,
                _Recording(self, claimed, attempt, outcome, settled, counted),
            )
        except Exception as error:
            if not refused_by_a_shard_move(error):
                raise
            # The PSP answered while the merchant's shard switched databases: the answer is
            # recorded where the execution now is, not lost with a lease left to run out.
            finished = await self._groups.run(
                await route.engine_after_refusal(engine),
                claimed.merchant_id,
                _Recording(self, claimed, attempt, outcome, settled, counted),
            )
        if kind is AttemptKind.REQUEST and outcome.state is ExecutionState.DEAD_LETTERED:
            log.warning("execution %s dead-lettered: %s", finished.id, outcome.error_code)
        return finished

    async def _record_in(
        self,
        connection: AsyncConnection,
        claimed: Execution,
        attempt: int,
        outcome: _Outcome,
        settled: Settled | None,
        counted: bool = True,
        lasts: Lasts | None = None,
    ) -> Execution:
        """The outcome recorded (and a final one applied by its owner) in `connection`'s
        transaction; what the completion asks to run last is appended to `lasts` (the caller
        runs it before the commit), or run at once without it."""
        recording = _Recording(self, claimed, attempt, outcome, settled, counted)
        return await recording.run(connection, lasts)

    async def _prepare_group(self, connection: AsyncConnection, works: Sequence[object]) -> None:
        """A group commit's recordings (grouping.Prepare): their outcomes recorded in one
        statement, then each completion that can (`prepare`) reads what it will change for
        all of them at once."""
        recordings = [work for work in works if isinstance(work, _Recording)]
        seen: set[str] = set()
        unique = []
        for recording in recordings:  # an execution twice (two runners): the second alone
            if recording.claimed.id not in seen:
                seen.add(recording.claimed.id)
                unique.append(recording)
        if len(unique) < 2:
            return
        found = await ExecutionRepository(connection).record_outcomes(
            [recording.outcome_record() for recording in unique]
        )
        finished: dict[Completion, list[Execution]] = {}
        for recording, (current, recorded) in zip(unique, found, strict=True):
            recording.group = connection
            recording.recorded = (current, recorded)
            if current is not None and recorded and recording.outcome.state in _APPLIED:
                completion = self._completions[current.operation]
                finished.setdefault(completion, []).append(current)
        prepared: dict[Completion, Completion] = {}
        for completion, applying in finished.items():
            prepare = getattr(completion, "prepare", None)
            if prepare is not None:
                prepared[completion] = await prepare(connection, applying)
        for recording in unique:
            current, _recorded = recording.recorded or (None, False)
            if current is not None:
                completion = self._completions[current.operation]
                recording.completion = prepared.get(completion)

    async def _finish(
        self,
        connection: AsyncConnection,
        recording: _Recording,
        current: Execution | None,
        recorded: bool,
        lasts: Lasts | None,
    ) -> Execution:
        claimed, outcome, settled = recording.claimed, recording.outcome, recording.settled
        if current is None or not recorded:
            # Our lease ran out and another runner took over (it closed our attempt): its
            # answer is the same one (the PSP deduplicates on the key), and it records it.
            return current or claimed
        answer = outcome.answer
        delay = recording.delay
        counted = recording.counted
        attempt_count = current.attempt_count if counted else max(0, current.attempt_count - 1)
        finished = replace(
            current,
            state=outcome.state,
            attempt_count=attempt_count,
            next_attempt=None if delay is None else time.time() + delay,
            lease_until=None,
            psp_reference=answer.reference if answer else current.psp_reference,
            answer=answer or current.answer,
            failure_code=recording.failure_code,
            failure_message=recording.failure_message,
        )
        if finished.state in _APPLIED:
            completion = recording.completion or self._completions[finished.operation]
            applied = await completion(connection, finished)
            subject, last = (
                (applied.subject, applied.last) if isinstance(applied, Applied) else (applied, None)
            )
            if settled is not None and subject is not None:
                await settled(connection, subject)
            if last is not None and lasts is not None:
                lasts.append(last)
            elif last is not None:
                await last(connection)
        return finished


class _Recording:
    """One PSP call's outcome to record (grouping.Work): alone, its statements one after
    another; in a group, its outcome and its completion's reads come from the group's
    statements (`Executor._prepare_group`)."""

    def __init__(
        self,
        executor: Executor,
        claimed: Execution,
        attempt: int,
        outcome: _Outcome,
        settled: Settled | None,
        counted: bool = True,
    ) -> None:
        # Recorded only over a running execution (lock, close the attempt, move: one statement).
        check_transition(ExecutionState.RUNNING, outcome.state)
        self.executor = executor
        self.claimed = claimed
        self.attempt = attempt
        self.outcome = outcome
        self.settled = settled
        self.counted = counted
        answer = outcome.answer
        succeeded = outcome.state is ExecutionState.SUCCEEDED
        self.failure_code = (
            "" if succeeded else outcome.error_code or (answer.decline_code if answer else "")
        )
        self.failure_message = outcome.error_message or (
            answer.message if answer and answer.declined else ""
        )
        self.delay = None if outcome.state.terminal else (outcome.delay_seconds or 0.0)
        self.group: AsyncConnection | None = None
        """The group's transaction, when its statements did part of this recording's work."""
        self.recorded: tuple[Execution | None, bool] | None = None
        """The execution as it was, and whether the outcome was recorded, when the group's
        statement recorded it."""
        self.completion: Completion | None = None
        """The completion prepared for this group, if its owner prepares."""

    def outcome_record(self) -> OutcomeRecord:
        outcome = self.outcome
        return OutcomeRecord(
            merchant_id=self.claimed.merchant_id,
            execution_id=self.claimed.id,
            attempt=self.attempt,
            outcome=outcome.attempt,
            error_code=outcome.error_code,
            error_message=outcome.error_message,
            state=outcome.state,
            next_attempt_in=self.delay,
            counted=self.counted,
            answer=outcome.answer,
            failure_code=self.failure_code,
            failure_message=self.failure_message,
        )

    async def __call__(self, connection: AsyncConnection, lasts: Lasts) -> Execution:
        return await self.run(connection, lasts)

    async def run(self, connection: AsyncConnection, lasts: Lasts | None) -> Execution:
        if self.recorded is None or self.group is not connection:
            # Alone, or again alone after its group failed (and rolled back).
            self.group, self.recorded, self.completion = None, None, None
            repository = ExecutionRepository(connection)
            current, recorded = await repository.record_outcome(self.outcome_record())
        else:
            current, recorded = self.recorded
        return await self.executor._finish(connection, self, current, recorded, lasts)


def _answered(result: PspResult) -> _Outcome:
    answer = PspAnswer(
        reference=result.reference,
        status=result.status,
        amount=result.amount,
        decline_code=result.decline_code,
        message=result.message,
        bypass_pending=result.bypass_pending,
        network_token=result.network_token,
        authentication=result.authentication,
        authentication_url=result.authentication_url,
    )
    if result.declined:
        return _Outcome(
            ExecutionState.FAILED,
            AttemptOutcome.DECLINED,
            answer=answer,
            error_code="card_declined",
            error_message=result.message,
        )
    return _Outcome(ExecutionState.SUCCEEDED, AttemptOutcome.SUCCEEDED, answer=answer)


def _details(card: ChargeableCard) -> CardDetails:
    return CardDetails(
        card.number,
        card.exp_month,
        card.exp_year,
        wallet=card.wallet,
        cryptogram=card.cryptogram,
        network_token=card.network_token,
    )


def _queued(execution_id: str, new: NewExecution) -> Execution:
    """An execution as `enqueue` stored it (`run` claims it)."""
    return Execution(
        id=execution_id,
        merchant_id=new.merchant_id,
        operation=new.operation,
        payment_intent_id=new.payment_intent_id,
        payment_order_id=new.payment_order_id,
        refund_id=new.refund_id,
        amount=new.amount,
        currency=new.currency,
        payment_method_id=new.payment_method_id,
        psp_charge=new.psp_charge,
        psp_key=new.psp_key or execution_id,
        state=ExecutionState.QUEUED,
        attempt_count=0,
        next_attempt=None,
        lease_until=None,
        psp_reference="",
        answer=None,
        failure_code="",
        failure_message="",
        metadata=dict(new.metadata),
        created=int(time.time()),
    )


def _with_state(
    execution: Execution, state: ExecutionState, attempts: int | None = None
) -> Execution:
    return replace(
        execution,
        state=state,
        attempt_count=execution.attempt_count if attempts is None else attempts,
    )


__all__ = [
    "Applied",
    "CardSource",
    "Completion",
    "Executor",
    "ExecutorMetrics",
    "ExecutorSettings",
    "PayoutDestinations",
    "PspError",
    "Settled",
]


def _merchants_return(merchant_id: str, return_url: str, name: str, object_id: str) -> str:
    return returning(return_url, name, object_id)


def returning(return_url: str, name: str, object_id: str | None) -> str:
    """The return_url the PSP's authentication page sends the buyer to: the merchant's, with
    the object authenticated for added to its query as Stripe's redirect adds it
    (`payment_intent=pi_...`, `setup_intent=seti_...`), so that the merchant's return page knows
    what to confirm ("" stays "": the page then shows the outcome)."""
    if not return_url or not object_id:
        return return_url
    parts = urlsplit(return_url)
    added = urlencode({name: object_id})
    query = f"{parts.query}&{added}" if parts.query else added  # the merchant's query as given
    return urlunsplit(parts._replace(query=query))
