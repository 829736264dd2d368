"""The idempotency-key store every mutating RPC goes through (docs/design.md, "Idempotency").

One transaction on the owner's shard holds, in order:
  1. `pg_try_advisory_xact_lock(owner, key)`: taken -> we are the only request with this key;
     not taken -> the first request is still running: ABORTED (IDEMPOTENCY_KEY_IN_USE).
  2. the stored row, if any: same request hash -> replay its response (or its error);
     different hash -> FAILED_PRECONDITION (IDEMPOTENCY_KEY_REUSED).
  3. the change itself, then the row with the response, committed together.
The lock is released at commit, after the row became visible, so a waiting duplicate always
finds the row. First phases that share a group commit's transaction take steps 1 and 2 for all
their keys at once (`claim_together`: every lock in one statement, every row in the next), and
each then checks its row as alone. A change that fails with a final domain error (NOT_FOUND,
FAILED_PRECONDITION...) rolls back and its error is stored, so a replay gets the same answer;
invalid arguments and transient failures store nothing and the key stays free for a corrected
or retried request.

A stored answer given again says so: `answered` and `answered_phased` return it as an
`Answered` with `replayed` set (a replayed error is an `ApiError.replayed`, whose `replayed` is
set), so a caller can tell a replay from a fresh execution (the gRPC server's
`paycore-idempotent-replayed` metadata, the edge's `Idempotent-Replayed` header). The fact
travels with the answer: a group commit's transaction runs in a task of its own, where the
calling request's context is not.

A request that calls a PSP cannot be one transaction (no external call runs inside one), so it
runs in phases (`answered_phased`, after Brandur Leach's recovery points): the first transaction
makes the request's records and stores the key with `recovery_point` and a lease
(`locked_until`); the request then completes outside any transaction and stores its final
answer. A duplicate arriving while the lease runs answers ABORTED; one arriving after it (the
first request's process died) takes the lease and resumes the completion from the stored
first-phase answer, which never repeats the first phase. The completion is handed the
request's `OpenKey`: the transaction that settles the request may store the final answer with
`OpenKey.finish_in`, which saves the final answer's own transaction. The key's last write
(its answer, or its release when the completion failed) goes where the owner's rows are when
the completion ends (`MerchantRoute`): a move of the owner's logical shard may have switched
databases meanwhile, and a release refused by the move's fence is made on the new database once
the map says so, so that the client's retry finds the key free, not leased.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from itertools import chain
from typing import Any, Generic, TypeVar

from google.protobuf.message import Message
from paycore.errors import ApiError, Reason, Status
from paycore.storage.failures import refused_by_a_shard_move
from paycore.storage.raw import Joined, Parts, driver_of, write_later, writes_joined
from paycore.storage.schema import idempotency_keys
from paycore.storage.shards import MerchantRoute
from paycore.storage.statements import Insert, with_parts
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

ResponseT = TypeVar("ResponseT", bound=Message)
T = TypeVar("T")
R = TypeVar("R")
Transaction = Callable[[AsyncEngine, "KeyWork[Any]"], Awaitable[Any]]
"""Runs a key's first transaction on the engine: in one of its own (`alone`), or in a group
commit's, shared with other requests' (paycore.runtime.mutations)."""

# Errors that are the request's final answer: replaying the key must give them again.
FINAL_ERROR_STATUSES = frozenset(
    {
        Status.NOT_FOUND,
        Status.ALREADY_EXISTS,
        Status.FAILED_PRECONDITION,
        Status.OUT_OF_RANGE,
        Status.PERMISSION_DENIED,
    }
)


# Until operators' keys had an owner per merchant or logical shard (`operator_owner`), every
# call of an operator acting for no merchant owned its keys as this one owner, which no shard
# move took along. A retry of such a key still replays on the database that stored it
# (`IdempotencyStore.answered`'s `former_owner`), until the keys are pruned.
FORMER_OPERATOR_OWNER = "admin"


def operator_owner(account_id: str) -> str:
    """The owner of the idempotency keys of an operator's calls, acting for no merchant, that
    concern `account_id`: a merchant, or a logical shard (paycore.ids.shard_account_id) when
    the call names no merchant (CreateMerchant, whose key picks the logical shard; a call that
    names an object by its id). Migration 0022's paycore_logical_shard reads the account's
    logical shard out of "<account id>/admin", so a shard move takes the keys along
    (paycore.storage.moves), and a merchant's keys are apart from other merchants'."""
    return f"{account_id}/admin"


# The recovery point a phased request's key holds between its phases.
RECORDED = "recorded"

# Every request goes through these, so they are asyncpg statements (paycore.storage.raw).
_TRY_LOCK = "SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))"
_STORED_COLUMNS = """request_hash, response_status, response_body, recovery_point,
       coalesce(locked_until > now(), false) AS leased"""
_STORED = f"SELECT {_STORED_COLUMNS} FROM idempotency_keys WHERE merchant_id = $1 AND key = $2"
_EXISTS = "SELECT 1 FROM idempotency_keys WHERE merchant_id = $1 AND key = $2"


@cache
def _claims_of(count: int) -> tuple[str, str]:
    """The same two for the keys of a group commit's first transactions (`claim_together`),
    by the number of keys, a power of two (a few statements, each prepared once per
    connection): every key's lock (false when any is held elsewhere), then every key's row.
    Scalar parameters, not arrays: asyncpg encodes an array element by element, and unnest
    over arrays measured no cheaper for PostgreSQL (docs/benchmarks.md)."""
    numbers = range(1, count + 1)
    lock = "pg_try_advisory_xact_lock(hashtextextended(${}, 0))"
    locks = " AND ".join(lock.format(n) for n in numbers)
    keys = ", ".join(f"(${2 * n - 1}, ${2 * n})" for n in numbers)
    return (
        f"SELECT {locks}",
        f"SELECT merchant_id, key, {_STORED_COLUMNS} FROM idempotency_keys"
        f" WHERE (merchant_id, key) IN ({keys})",
    )


def _remember_from(start: int) -> str:
    """The key's insert, its parameters from $start."""
    insert = Insert(
        idempotency_keys,
        [
            "merchant_id",
            "key",
            "request_hash",
            "response_status",
            "response_body",
            "recovery_point",
            "locked_until",
        ],
        start,
        expressions={"locked_until": "now() + {}::float8 * interval '1 second'"},
    )
    return f"{insert.sql} ON CONFLICT DO NOTHING"


_REMEMBER = _remember_from(1)
# A first phase's last write (storage.raw.Joined) with the key's insert: one statement each.
_remember_joined: dict[Parts, str] = {}
_LEASE = """
UPDATE idempotency_keys SET locked_until = now() + $3::float8 * interval '1 second'
WHERE merchant_id = $1 AND key = $2
"""
_RELEASE = "UPDATE idempotency_keys SET locked_until = NULL WHERE merchant_id = $1 AND key = $2"
_FINISH = """
UPDATE idempotency_keys
SET response_status = $3, response_body = $4, recovery_point = NULL, locked_until = NULL
WHERE merchant_id = $1 AND key = $2
"""


@dataclass(frozen=True)
class StoredResponse:
    status: Status
    body: bytes


@dataclass(frozen=True)
class Answered(Generic[ResponseT]):
    """A keyed request's answer, and whether it is a stored one given again (a replay of a
    completed request) rather than this execution's."""

    response: ResponseT
    replayed: bool = False


@dataclass(frozen=True)
class _StoredKey:
    response: StoredResponse
    recovery_point: str | None
    leased: bool


@dataclass
class OpenKey:
    """A phased request's key while its completion runs, handed to the completion: the
    transaction that settles the request may store its final answer with `finish_in`, and the
    store then writes no answer of its own."""

    store: IdempotencyStore
    owner: str
    key: str
    answer: Message | None = None

    async def finish_in(self, connection: AsyncConnection, answer: Message) -> None:
        """Stores `answer` as the request's final answer, in the caller's transaction (which
        commits before the completion returns, or raises through it)."""
        response = StoredResponse(Status.OK, answer.SerializeToString())
        # Held back to the group's one round trip in a group commit (storage.raw.write_later).
        await write_later(
            connection, _FINISH, self.owner, self.key, int(response.status), response.body
        )
        self.answer = answer


def request_fingerprint(method: str, request: Message) -> bytes:
    """What "the same request" means: the method and the request's exact fields."""
    digest = hashlib.sha256(method.encode())
    digest.update(b"\0")
    digest.update(request.SerializeToString(deterministic=True))
    return digest.digest()


class KeyWork(Generic[T]):
    """A key's first transaction: `await work(connection)` claims the key (its advisory lock,
    then its row) and runs the request's work, as a `Transaction` runs it. A group commit that
    runs several keys' first transactions in one of its own claims their keys beforehand, all
    together (`claim_together`: two statements for the group, not two for each key); each then
    finds its key's row here instead of claiming it again."""

    def __init__(
        self, owner: str, key: str, work: Callable[[AsyncConnection, KeyWork[T]], Awaitable[T]]
    ) -> None:
        self.owner = owner
        self.key = key
        self._work = work
        self.final_error: ApiError | None = None
        """A final error the request's own work raised (`step`): the request's answer."""
        self._claimed_on: AsyncConnection | None = None
        self.row: Any = None
        """The key's row (an asyncpg record, None for none) as `claim_together` read it."""

    async def __call__(self, connection: AsyncConnection) -> T:
        return await self._work(connection, self)

    async def step(self, work: Awaitable[R]) -> R:
        """The request's own work inside the key's transaction: a final error it raises (not
        one of the store's, such as IDEMPOTENCY_KEY_IN_USE) is the request's answer."""
        try:
            return await work
        except ApiError as error:
            self.final_error = error if error.status in FINAL_ERROR_STATUSES else None
            raise

    def claimed(self, connection: AsyncConnection, row: Any) -> None:
        """`claim_together` took the key's lock in `connection`'s transaction and read `row`."""
        self._claimed_on = connection
        self.row = row

    def claimed_in(self, connection: AsyncConnection) -> bool:
        """Whether the key was claimed in `connection`'s transaction: only there does `row`
        hold (a group that fails runs each first transaction alone, claiming its key anew)."""
        return self._claimed_on is connection

    @property
    def lock(self) -> str:
        return _lock_of(self.owner, self.key)


async def claim_together(connection: AsyncConnection, works: Sequence[KeyWork[Any]]) -> None:
    """The keys of first transactions that share `connection`'s transaction (a group commit's),
    claimed as each would claim its own, in two statements for them all: every key's advisory
    lock, IDEMPOTENCY_KEY_IN_USE when any is held elsewhere (the group fails and each runs
    again alone, meeting its own answer); then every key's row, read after the locks were taken
    (a later statement's snapshot: a first request that committed before its lock was released
    is seen). Each work then finds its row; the checks of the row are its own, as alone."""
    if not works:
        return
    count = 1 << (len(works) - 1).bit_length()
    # Padded with the last key: its lock is re-entrant within the session, its row read once.
    padded = [*works, *[works[-1]] * (count - len(works))]
    try_locks, stored = _claims_of(count)
    driver = await driver_of(connection)
    if not await driver.fetchval(try_locks, *[work.lock for work in padded]):
        raise ApiError(Reason.IDEMPOTENCY_KEY_IN_USE, param="idempotency-key")
    keys = chain.from_iterable((work.owner, work.key) for work in padded)
    rows = await driver.fetch(stored, *keys)
    found = {(row["merchant_id"], row["key"]): row for row in rows}
    for work in works:
        work.claimed(connection, found.get((work.owner, work.key)))


class IdempotencyStore:
    """Runs a change at most once per (owner, key) and remembers its answer."""

    async def _first(
        self,
        engine: AsyncEngine,
        owner: str,
        key: str,
        fingerprint: bytes,
        work: Callable[[AsyncConnection, KeyWork[T]], Awaitable[T]],
        transaction: Transaction,
    ) -> T:
        """The key's transaction (`transaction`'s) running `work`: when the request's own work
        in it (`KeyWork.step`) fails with a final error, the transaction rolls back and the
        error is stored as the key's answer in a transaction of its own."""
        first = KeyWork(owner, key, work)
        try:
            return await transaction(engine, first)  # type: ignore[no-any-return]
        except ApiError as error:
            if error is first.final_error:
                async with engine.begin() as connection:
                    await self._remember(
                        connection, owner, key, fingerprint, _error_response(error)
                    )
            raise

    async def answered(
        self,
        engine: AsyncEngine,
        owner: str,
        key: str,
        fingerprint: bytes,
        response_type: type[ResponseT],
        change: Callable[[AsyncConnection], Awaitable[ResponseT]],
        stored_form: Callable[[ResponseT], ResponseT] | None = None,
        former_owner: str | None = None,
    ) -> Answered[ResponseT]:
        """`change` at most once for the key; the stored answer, `replayed`, once it is stored.
        `stored_form` strips what must not be stored (a new key's secret): a replay then
        answers without it, as secrets are shown once. `former_owner`: who owned these calls'
        keys before `owner` did; a key it holds on `engine` is this call's (replayed, reused
        or in use as before), and a new one is stored under `owner`."""

        async def once(
            connection: AsyncConnection, first: KeyWork[Answered[ResponseT]]
        ) -> Answered[ResponseT]:
            stored = await self._claim(connection, first, fingerprint)
            if stored is None and former_owner is not None:
                stored = await self._claim_key(connection, former_owner, key, fingerprint)
            if stored is not None:
                return Answered(_replay(stored.response, response_type), replayed=True)
            response = await first.step(change(connection))
            kept = stored_form(response) if stored_form else response
            ok = StoredResponse(Status.OK, kept.SerializeToString())
            await self._remember(connection, owner, key, fingerprint, ok)
            return Answered(response)

        return await self._first(engine, owner, key, fingerprint, once, alone)

    async def answered_phased(
        self,
        engine: AsyncEngine,
        owner: str,
        key: str,
        fingerprint: bytes,
        response_type: type[ResponseT],
        record: Callable[[AsyncConnection], Awaitable[ResponseT]],
        complete: Callable[[ResponseT, OpenKey], Awaitable[ResponseT]],
        lease: timedelta,
        transaction: Transaction | None = None,
        route: MerchantRoute | None = None,
    ) -> Answered[ResponseT]:
        """`record` runs in the first transaction; `complete` gets its answer and the open key,
        runs outside any transaction (it may call a PSP) and must be safe to run again from the
        same answer. `transaction`: how the first transaction runs (`alone` when None; a group
        commit's for records that write only rows they create, paycore.runtime.mutations).
        `route`: where the owner's rows are when the completion ends (None: on `engine`).
        The final answer stored before is `replayed`; a completion taken over is not (it runs
        now)."""

        async def first_phase(
            connection: AsyncConnection, first: KeyWork[tuple[ResponseT, bool]]
        ) -> tuple[ResponseT, bool]:
            """The recorded answer, and whether it is the final one (a replay)."""
            stored = await self._claim(connection, first, fingerprint)
            if stored is not None and stored.recovery_point is None:
                return _replay(stored.response, response_type), True
            if stored is not None and stored.leased:
                raise ApiError(Reason.IDEMPOTENCY_KEY_IN_USE, param="idempotency-key")
            if stored is not None:
                await self._lease(connection, owner, key, lease)
                return _replay(stored.response, response_type), False
            with writes_joined(Joined()) as joined:  # the record's last write, held
                recorded = await first.step(record(connection))
            body = StoredResponse(Status.OK, recorded.SerializeToString())
            await self._remember(
                connection,
                owner,
                key,
                fingerprint,
                body,
                RECORDED,
                leased_for=lease,
                joined=joined.take(),
                later=True,
            )
            return recorded, False

        recorded, final = await self._first(
            engine, owner, key, fingerprint, first_phase, transaction or alone
        )
        if final:
            return Answered(recorded, replayed=True)
        opened = OpenKey(self, owner, key)
        try:
            response = await complete(recorded, opened)
        except ApiError as error:
            if error.status in FINAL_ERROR_STATUSES:
                failed = _error_response(error)
                await _last_write(
                    engine, route, _FINISH, owner, key, int(failed.status), failed.body
                )
            else:
                await _last_write(engine, route, _RELEASE, owner, key)
            raise
        except BaseException:
            await _last_write(engine, route, _RELEASE, owner, key)
            raise
        if opened.answer is not None and opened.answer == response:
            return Answered(response)  # stored by the completion's last transaction
        await _last_write(
            engine, route, _FINISH, owner, key, int(Status.OK), response.SerializeToString()
        )
        return Answered(response)

    async def exists(self, connection: AsyncConnection, owner: str, key: str) -> bool:
        driver = await driver_of(connection)
        return await driver.fetchval(_EXISTS, owner, key) is not None

    async def _lease(
        self, connection: AsyncConnection, owner: str, key: str, lease: timedelta
    ) -> None:
        driver = await driver_of(connection)
        await driver.execute(_LEASE, owner, key, lease.total_seconds())

    async def _claim(
        self, connection: AsyncConnection, first: KeyWork[Any], fingerprint: bytes
    ) -> _StoredKey | None:
        if first.claimed_in(connection):  # with its group's other keys (`claim_together`)
            return _stored_key(first.row, fingerprint)
        return await self._claim_key(connection, first.owner, first.key, fingerprint)

    async def _claim_key(
        self, connection: AsyncConnection, owner: str, key: str, fingerprint: bytes
    ) -> _StoredKey | None:
        driver = await driver_of(connection)
        # Two statements, not one: the row is read after the lock is taken, so a snapshot taken
        # before a first request's commit released the lock cannot hide its row.
        if not await driver.fetchval(_TRY_LOCK, _lock_of(owner, key)):
            raise ApiError(Reason.IDEMPOTENCY_KEY_IN_USE, param="idempotency-key")
        return _stored_key(await driver.fetchrow(_STORED, owner, key), fingerprint)

    async def _remember(
        self,
        connection: AsyncConnection,
        owner: str,
        key: str,
        fingerprint: bytes,
        response: StoredResponse,
        recovery_point: str | None = None,
        *,
        leased_for: timedelta | None = None,
        joined: tuple[Parts, tuple[Any, ...]] | None = None,
        later: bool = False,
    ) -> None:
        """`joined`: a write held back to run in the same statement (one round trip). `later`:
        in a group commit, held back to the group's one round trip (storage.raw.write_later;
        nothing in the group reads the key: two requests with one key never share a group)."""
        arguments: tuple[Any, ...] = (
            owner,
            key,
            fingerprint,
            int(response.status),
            response.body,
            recovery_point,
            None if leased_for is None else leased_for.total_seconds(),
        )
        statement = _REMEMBER
        if joined is not None:
            write, written = joined
            statement = _remember_joined.get(write, "")
            if not statement:
                key_part = f"key AS (\n  {_remember_from(write.next)}\n)"
                statement = with_parts([*write.parts, key_part], "SELECT 1")
                _remember_joined[write] = statement
            arguments = (*written, *arguments)
        if later:
            await write_later(connection, statement, *arguments)
            return
        driver = await driver_of(connection)
        await driver.execute(statement, *arguments)


async def _last_write(
    engine: AsyncEngine, route: MerchantRoute | None, statement: str, *arguments: Any
) -> None:
    """A phased key's answer (_FINISH) or release (_RELEASE: the request stopped without an
    answer, a retry may resume at once), in a transaction of its own where the key is now: by
    the map (no round trip), and, when a shard move refused it, on the database the map
    switches to."""
    if route is not None:
        engine = route.engine()
    try:
        async with engine.begin() as connection:
            await (await driver_of(connection)).execute(statement, *arguments)
    except Exception as error:
        if route is None or not refused_by_a_shard_move(error):
            raise
        async with (await route.engine_after_refusal(engine)).begin() as connection:
            await (await driver_of(connection)).execute(statement, *arguments)


async def alone(engine: AsyncEngine, work: KeyWork[T]) -> T:
    """A key's first transaction of its own."""
    async with engine.begin() as connection:
        return await work(connection)


def _lock_of(owner: str, key: str) -> str:
    """The name of the key's advisory lock (hashed by `hashtextextended`)."""
    return f"{owner} {key}"  # keys hold no spaces


def _stored_key(row: Any, fingerprint: bytes) -> _StoredKey | None:
    """The key's row as the request may use it: None for none; IDEMPOTENCY_KEY_REUSED when it
    was stored for another request."""
    if row is None:
        return None
    if row["request_hash"] != fingerprint:
        raise ApiError(Reason.IDEMPOTENCY_KEY_REUSED, param="idempotency-key")
    return _StoredKey(
        StoredResponse(Status(row["response_status"]), bytes(row["response_body"])),
        row["recovery_point"],
        row["leased"],
    )


def _error_response(error: ApiError) -> StoredResponse:
    body = {
        "reason": error.reason.name,
        "param": error.param,
        "message": error.message,
        "metadata": error.metadata,
    }
    return StoredResponse(error.status, json.dumps(body).encode())


def _replay(stored: StoredResponse, response_type: type[ResponseT]) -> ResponseT:
    if stored.status == Status.OK:
        return response_type.FromString(stored.body)
    body = json.loads(stored.body)
    raise ApiError.replayed(
        Reason[body["reason"]],
        param=body["param"],
        message=body["message"],
        metadata=body["metadata"],
    )
