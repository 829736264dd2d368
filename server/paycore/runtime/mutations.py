"""How every mutating RPC runs its change: in one transaction on the owner's shard, through
the idempotency-key store whenever the call carried an `idempotency-key`.

The servicer supplies the change, the domain operation, which returns a domain object (a
dataclass), and its converter to the response (`render`, a paycore.runtime.messages.Converter:
the response type, the render step and the form the idempotency store keeps):

    return await self._mutations.answer(merchant_id, request, payout_message, cancel, payout_id)

`answer` calls the domain operation as `(connection, merchant_id, *args)`; `answer_checked`
is that for the caller's merchant and what `check(request)` returns (a create is one line);
`for_merchant` runs any `change(connection)`. Change and render run inside the change's
transaction, so the stored answer is exactly what was returned. An operator acting for no
merchant has keys of its own per merchant or logical shard (`for_operator`, `for_object`),
stored where a shard move takes them along.

A change that reaches a PSP runs in two phases (`phased`): `record(connection)` commits the
request's records, then `complete(subject_id, answer)` runs outside any transaction and returns
the final domain result; `answer` (a `FinalAnswer`) lets the completion's last transaction store
the rendered final answer itself, which saves a transaction of its own. The key stays leased
to the call for the executor's lease (given when Mutations is built), after which a retry may
take the completion over. Nothing travels back through context variables: the store returns
whether its answer is a stored one given again (`Answered.replayed`, or a replayed error's
`ApiError.is_replay`), and Mutations marks the call with it in the call's own task
(`CallContext.replayed`), so its answer carries `paycore-idempotent-replayed: true`.

Mutations opens every mutating transaction; domain code receives the connection and never
begins or commits one itself (reads go through `paycore.storage.reads.Reads`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar

from google.protobuf.message import Message
from paycore.background import carried_on
from paycore.errors import ApiError, Reason
from paycore.executor.grouping import GroupCommit, Lasts, Work
from paycore.ids import shard_account_id
from paycore.invariants import invariant
from paycore.runtime.context import CallContext, CallerKind, current_call
from paycore.runtime.messages import Converter
from paycore.storage import IdempotencyStore, Shards
from paycore.storage.idempotency import (
    FORMER_OPERATOR_OWNER,
    Answered,
    KeyWork,
    OpenKey,
    claim_together,
    operator_owner,
    request_fingerprint,
)
from paycore.storage.shards import MerchantRoute
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

ResponseT = TypeVar("ResponseT", bound=Message)
ResultT = TypeVar("ResultT")
RequestT = TypeVar("RequestT", bound=Message)
CheckedT = TypeVar("CheckedT")
P = ParamSpec("P")
WorkT = TypeVar("WorkT")
Change = Callable[[AsyncConnection], Awaitable[ResultT]]
logger = logging.getLogger(__name__)


class FinalAnswer(Generic[ResultT]):
    """A phased request's final answer, handed to its completion: `store_in` stores the
    rendered result in the caller's transaction (the one that settles the request), so the
    idempotency store writes no answer afterwards. A call without a key stores nothing."""

    def __init__(self, key: OpenKey | None, render: Callable[[ResultT], Message]) -> None:
        self._key = key
        self._render = render

    async def store_in(self, connection: AsyncConnection, result: ResultT) -> None:
        if self._key is not None:
            await self._key.finish_in(connection, self._render(result))

    @staticmethod
    def unstored() -> FinalAnswer[Any]:
        """For a completion that runs outside any request (a review closed, a worker)."""
        return FinalAnswer(None, _no_message)


def _no_message(result: object) -> Message:
    raise AssertionError("an answer without a key is never rendered")  # pragma: no cover


Complete = Callable[[str, FinalAnswer[ResultT]], Awaitable[ResultT]]
"""A phased call's second phase: (the id of the object the first phase recorded, where the
final answer may be stored) -> the final result."""


@dataclass(frozen=True)
class Phases(Generic[ResultT]):
    """What a domain operation asks Mutations to run: `record` in the request's transaction,
    then `complete` outside it (None: the call is that one transaction)."""

    record: Change[ResultT]
    complete: Complete[ResultT] | None = None
    grouped: bool = False
    """`record` writes only rows it creates and reads none another request writes (a new
    intent with its charge): concurrent first phases on a shard may then share one transaction
    (a group commit, `Mutations`), each in it as alone."""


class Mutations:
    def __init__(
        self,
        shards: Shards,
        store: IdempotencyStore,
        lease: timedelta,
        first_phase_group_max: int = 1,
    ) -> None:
        """`lease`: how long a phased call's key stays in progress before another request may
        take its completion over (the executor's lease: every completion runs through it).
        `first_phase_group_max`: how many `grouped` first phases with keys that arrive together
        on a shard share one transaction (issue 17: one BEGIN, one round trip of writes and one
        commit for the group; 1, each its own)."""
        self._shards = shards
        self._store = store
        self._lease = lease
        self._in_group = in_group(first_phase_group_max)
        self._carried: set[asyncio.Task[Any]] = set()

    async def finished(self) -> None:
        """Returns once the phased calls whose callers left (`phased`) have ended (at
        shutdown, before the executor's group commits drain)."""
        while running := {task for task in self._carried if not task.done()}:
            await asyncio.wait(running)

    async def drained(self) -> None:
        """Returns once the first phases queued for a group commit have run (at shutdown)."""
        await self.finished()
        await self._in_group.groups.drained()

    async def _to_its_end(self, work: Coroutine[Any, Any, WorkT]) -> WorkT:
        """`work`, a phased call, run to its end even when its caller is cancelled (its
        client's deadline passed, or it hung up): cut between its phases, the charge the PSP
        is making would be left unrecorded and its key leased, a retry answered
        IDEMPOTENCY_KEY_IN_USE (or the intent `processing`) until the executor's lease ran
        out. Finished, its answer is stored for the retry, and the caller still ends at once."""
        task = carried_on(work, name="phased call")
        self._carried.add(task)
        task.add_done_callback(self._carried.discard)
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            task.add_done_callback(_ended_without_caller)
            raise

    async def for_merchant(
        self,
        merchant_id: str,
        request: Message,
        render: Converter[ResultT, ResponseT],
        change: Change[ResultT],
    ) -> ResponseT:
        """`change` in one transaction on the merchant's shard, with the merchant's keys."""
        engine = self._shards.engine_for_merchant(merchant_id)
        return await self.on_engine(engine, idempotency_owner(merchant_id), request, render, change)

    async def answer(
        self,
        merchant_id: str,
        request: Message,
        render: Converter[ResultT, ResponseT],
        change: Callable[Concatenate[AsyncConnection, str, P], Awaitable[ResultT]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> ResponseT:
        """`for_merchant` of `change(connection, merchant_id, *args, **kwargs)` (a domain
        operation, which takes the merchant first), its result rendered by `render`."""
        return await self.for_merchant(
            merchant_id,
            request,
            render,
            lambda connection: change(connection, merchant_id, *args, **kwargs),
        )

    async def answer_checked(
        self,
        request: RequestT,
        render: Converter[ResultT, ResponseT],
        change: Callable[[AsyncConnection, str, CheckedT], Awaitable[ResultT]],
        check: Callable[[RequestT], CheckedT],
    ) -> ResponseT:
        """A change the request alone describes (a create), for the caller's merchant: the
        merchant first (PERMISSION_DENIED naming `paycore-merchant`), then `check(request)`
        (its ApiErrors name the fields), then `answer` of `change(connection, merchant_id,
        checked)`."""
        merchant_id = current_call().require_merchant()
        return await self.answer(merchant_id, request, render, change, check(request))

    async def for_operator(
        self,
        account_id: str,
        request: Message,
        render: Converter[ResultT, ResponseT],
        change: Change[ResultT],
    ) -> ResponseT:
        """An operator's call acting for no merchant: `change` in one transaction on the shard
        of `account_id`, the merchant the call concerns or the logical shard it writes
        (paycore.ids.shard_account_id), with the operator's keys of that account
        (paycore.storage.idempotency.operator_owner), which a shard move takes along. A key
        stored before these owners (FORMER_OPERATOR_OWNER) is still this call's."""
        return await self.on_engine(
            self._shards.engine_for_merchant(account_id),
            operator_owner(account_id),
            request,
            render,
            change,
            former_owner=FORMER_OPERATOR_OWNER,
        )

    async def for_object(
        self,
        logical_shard: int,
        merchant_id: str | None,
        request: Message,
        render: Converter[ResultT, ResponseT],
        change: Change[ResultT],
    ) -> ResponseT:
        """A call that names its object by id rather than a merchant (a review, a blocklist
        item, ledger transfers): `change` on the object's logical shard, with the keys of the
        merchant the caller acts for, or an operator's keys of the logical shard when it acts
        for none (`for_operator`)."""
        if merchant_id is None:
            return await self.for_operator(shard_account_id(logical_shard), request, render, change)
        engine = self._shards.engine_for_logical(logical_shard)
        return await self.on_engine(engine, merchant_id, request, render, change)

    async def on_engine(
        self,
        engine: AsyncEngine,
        owner: str,
        request: Message,
        render: Converter[ResultT, ResponseT],
        change: Change[ResultT],
        *,
        former_owner: str | None = None,
    ) -> ResponseT:
        """`change` in one transaction on `engine`, with `owner`'s idempotency keys (and a key
        `former_owner` stored there before them: paycore.storage.idempotency)."""
        rendered = _rendered(change, render)
        call = current_call()
        if call.idempotency_key is None:
            async with engine.begin() as connection:
                return await rendered(connection)
        fingerprint = request_fingerprint(call.method, request)
        answer = await self._store.answered(
            engine,
            owner,
            call.idempotency_key,
            fingerprint,
            render.message_type,
            rendered,
            render.stored_form,
            former_owner,
        )
        return _given(call, answer)

    async def prepared(
        self,
        merchant_id: str,
        request: Message,
        render: Converter[ResultT, ResponseT],
        prepare: Callable[[], Awaitable[Phases[ResultT]]],
        resume: Complete[ResultT],
    ) -> ResponseT:
        """A call whose phases need work before its transaction: the checks that read what
        changes (a customer, an exchange rate's age, the intent's status), a fraud check, a
        card read. The key is looked up first: a key seen before resumes (`resume`: its stored
        answer replayed, or its completion taken over) without that work, so nothing that
        changed since its first attempt (a rate gone stale) can refuse its replay; otherwise
        `prepare` checks and makes the phases, which run as `phased` (or `for_merchant`
        without a completion), where the key is claimed. A refusal from `prepare` stores
        nothing (the key stays free), as one from the request's own checks before, unless the
        key was claimed meanwhile by a call of its own (a retry racing its first attempt), which
        is then resumed: the refusal was of that call's doing. The key's
        read and `prepare`'s reads take one pool checkout (issue 17); the connection is not held
        across the call."""
        async with self._shards.reads_held(merchant_id):  # one checkout for the reads before
            seen = await self.key_seen(merchant_id)
            try:
                phases = None if seen else await prepare()
            except ApiError:
                # A call of the same key (the client's first attempt) may have committed
                # between the key's lookup and `prepare`'s reads, and made the state refused
                # (a setup or intent no longer confirmable, a charge refunded): its answer,
                # not the refusal of what it did.
                if not await self.key_seen(merchant_id):
                    raise
                phases = None
        if phases is None:
            return await self.resume(merchant_id, request, render, resume)
        return await self.run(merchant_id, request, render, phases)

    async def resumable(
        self,
        merchant_id: str,
        request: Message,
        render: Converter[ResultT, ResponseT],
        phases: Phases[ResultT],
    ) -> ResponseT:
        """`phases`, except that a key seen before resumes its completion at once (without
        taking the key's lock for a first phase that will not run)."""
        if phases.complete is not None and await self.key_seen(merchant_id):
            return await self.resume(merchant_id, request, render, phases.complete)
        return await self.run(merchant_id, request, render, phases)

    async def run(
        self,
        merchant_id: str,
        request: Message,
        render: Converter[ResultT, ResponseT],
        phases: Phases[ResultT],
    ) -> ResponseT:
        """`phases` as one transaction (no completion) or as a phased call."""
        if phases.complete is None:
            return await self.for_merchant(merchant_id, request, render, phases.record)
        return await self.phased(
            merchant_id, request, render, phases.record, phases.complete, grouped=phases.grouped
        )

    async def key_seen(self, merchant_id: str) -> bool:
        """Whether this call's idempotency key was used before (its answer is stored or its
        request is under way): such a call replays or resumes and does nothing new."""
        key = current_call().idempotency_key
        if key is None:
            return False
        async with self._shards.read(merchant_id) as connection:
            return await self._store.exists(connection, idempotency_owner(merchant_id), key)

    async def phased(
        self,
        merchant_id: str,
        request: Message,
        render: Converter[ResultT, ResponseT],
        record: Change[ResultT],
        complete: Complete[ResultT],
        *,
        grouped: bool = False,
    ) -> ResponseT:
        """A change that reaches a PSP: `record` commits the request's records (its recovery
        point; its rendered result is the stored first-phase answer), then `complete` runs
        outside any transaction (paycore.storage.idempotency) and its rendered result is the
        final answer. `grouped`: as `Phases.grouped`."""
        invariant(render.stored_form is None, "a phased answer is stored as answered")
        route = MerchantRoute(self._shards, merchant_id)  # the key's last write asks again
        engine = route.engine()
        recorded_step = _rendered(record, render)

        async def completed(recorded: ResponseT, key: OpenKey | None) -> ResponseT:
            final = FinalAnswer(key, render)
            return render(await complete(_subject_of(recorded), final))

        call = current_call()
        if call.idempotency_key is None:

            async def unkeyed() -> ResponseT:
                async with engine.begin() as connection:
                    recorded = await recorded_step(connection)
                return await completed(recorded, None)

            return await self._to_its_end(unkeyed())
        fingerprint = request_fingerprint(call.method, request)
        answer = await self._to_its_end(
            self._store.answered_phased(
                engine,
                idempotency_owner(merchant_id),
                call.idempotency_key,
                fingerprint,
                render.message_type,
                recorded_step,
                completed,
                self._lease,
                self._in_group if grouped else None,
                route,
            )
        )
        return _given(call, answer)

    async def resume(
        self,
        merchant_id: str,
        request: Message,
        render: Converter[ResultT, ResponseT],
        complete: Complete[ResultT],
    ) -> ResponseT:
        """A phased call whose key is known (`key_seen`): its stored answer, or the resumption
        of its completion. Its first phase never runs again."""

        async def already_recorded(connection: AsyncConnection) -> ResultT:
            # Only reached if the key vanished in between (pruned): ask for a retry.
            raise ApiError(Reason.IDEMPOTENCY_KEY_IN_USE, param="idempotency-key")

        return await self.phased(merchant_id, request, render, already_recorded, complete)


def in_group(group_max: int) -> FirstPhaseGroups:
    """A key's first transaction in a group commit's of at most `group_max` (paycore.executor.
    grouping: a group that fails runs each again alone), the group's keys claimed together
    first (`claim_together`: two statements for the group); never two of one key in a group:
    the second must find the first's committed key (or its lock), not run beside it in the
    transaction that holds both locks (an advisory lock is re-entrant within a session)."""
    return FirstPhaseGroups(GroupCommit(group_max, _claim_keys))


@dataclass(frozen=True)
class FirstPhaseGroups:
    """`in_group`'s transaction (a `Transaction`), and the group commit it runs through."""

    groups: GroupCommit

    async def __call__(self, engine: AsyncEngine, first: KeyWork[Any]) -> Any:
        return await self.groups.run(engine, "", _InGroup(first), distinct=(first.owner, first.key))


@dataclass(frozen=True)
class _InGroup:
    """A key's first transaction as a group commit's work (it leaves nothing to run last)."""

    first: KeyWork[Any]

    async def __call__(self, connection: AsyncConnection, lasts: Lasts) -> Any:
        return await self.first(connection)


async def _claim_keys(connection: AsyncConnection, works: list[Work]) -> None:
    await claim_together(connection, [work.first for work in works if isinstance(work, _InGroup)])


def _rendered(change: Change[ResultT], render: Callable[[ResultT], ResponseT]) -> Change[ResponseT]:
    """`change` followed by its render step, as one step of the transaction (so the stored
    answer is exactly what was returned)."""

    async def change_then_render(connection: AsyncConnection) -> ResponseT:
        return render(await change(connection))

    return change_then_render


def _ended_without_caller(task: asyncio.Task[Any]) -> None:
    """A phased call finished after its caller left: its failure, which no caller will see,
    retrieved (an ApiError is an answer, stored for the retry) and an unexpected one logged."""
    if task.cancelled():
        return
    error = task.exception()
    if error is not None and not isinstance(error, ApiError):
        logger.error("a phased call failed after its caller left", exc_info=error)


def _given(call: CallContext, answer: Answered[ResponseT]) -> ResponseT:
    """The store's answer, back in the call's own task (a group commit ran it in another):
    a stored answer given again marks the call, whose answer then says so
    (paycore.runtime.interceptors.idempotency)."""
    if answer.replayed:
        call.replayed = True
    return answer.response


def _subject_of(recorded: Message) -> str:
    """The id of the object a phased call's first phase recorded (every such answer has one)."""
    invariant("id" in recorded.DESCRIPTOR.fields_by_name, "a phased answer names its object")
    return str(getattr(recorded, "id", ""))


def idempotency_owner(merchant_id: str) -> str:
    """The namespace of the call's idempotency keys: the merchant's, one per key class
    (issue 23, item 5): a key used with the public publishable key must never occupy, or
    replay into, the secret key's calls. Secret keys and operators acting for the merchant
    share the merchant's own namespace."""
    caller = current_call().caller
    if caller is None or caller.kind in (
        CallerKind.SECRET_KEY,
        CallerKind.ADMIN,
        CallerKind.INTERNAL,
    ):
        return merchant_id
    return f"{merchant_id}/{caller.kind.value}"
