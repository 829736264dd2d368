"""Database and Redis trouble as answers a client can act on (issue 23, item 6), instead of
INTERNAL with a traceback:

- the server cannot reach, or stopped hearing from, PostgreSQL or Redis (refused, reset,
  shut down, a connect/command timeout, an exhausted pool, a shard's database closed to new
  sessions or renamed away): UNAVAILABLE, retryable;
- the database refused this transaction because of a concurrent one (serialization failure,
  deadlock, lock timeout, a unique key another request took first): ABORTED, retryable;
- the database refused a value validation let through (class 22, data exceptions):
  INVALID_ARGUMENT.

Both carry google.rpc.RetryInfo. The failed transaction did not commit (a lost COMMIT answer
is the idempotency key's business, as for any timeout), but the call may have committed one
before it: a phased call's first phase (the payout sent to the bank, the refund made at the
PSP), so the answer never says that nothing changed, and tells to retry with the same key
(tests/payout/test_database_outage.py).
"""

from __future__ import annotations

import asyncio

import asyncpg.exceptions as pg
from paycore.errors import ApiError, Reason, invalid
from redis import exceptions as redis_errors
from sqlalchemy import exc as sa_errors

UNAVAILABLE_RETRY_MS = 1000
CONFLICT_RETRY_MS = 50
SHARD_MOVING_SQLSTATE = "PCM01"  # the shard move's fence and moved-away triggers (0016, 0021)
SHARD_MOVING_RETRY_MS = 200
_UNREACHABLE = (
    pg.PostgresConnectionError,  # refused, reset, cannot connect now, too many connections
    pg.AdminShutdownError,
    pg.CrashShutdownError,
    pg.CannotConnectNowError,
    pg.InsufficientResourcesError,  # too many connections, out of memory, disk full
    pg.InterfaceError,  # the connection closed under the call
    pg.QueryCanceledError,  # statement_timeout: the server is too slow to answer in time
    pg.IdleInTransactionSessionTimeoutError,
    sa_errors.TimeoutError,  # no pooled connection came free in time
    ConnectionError,
    OSError,
    TimeoutError,  # asyncpg's connect and command timeouts
    asyncio.TimeoutError,
)
_NOT_ACCEPTING_CONNECTIONS = "not currently accepting connections"
"""SQLSTATE 55000's text when a database refuses new sessions (ALLOW_CONNECTIONS false: a shard
closed for maintenance or a failover); the same state from a statement is a bug, not an outage."""
_CONFLICTS = (
    pg.SerializationError,
    pg.DeadlockDetectedError,
    pg.LockNotAvailableError,  # lock_timeout
    pg.UniqueViolationError,
)
_REDIS_DOWN = (redis_errors.ConnectionError, redis_errors.TimeoutError)


def refused_by_a_shard_move(error: BaseException) -> bool:
    """Whether the database refused the write because its logical shard is moving away or has
    moved away (SQLSTATE PCM01)."""
    return any(getattr(cause, "sqlstate", None) == SHARD_MOVING_SQLSTATE for cause in _chain(error))


def as_api_error(error: BaseException) -> ApiError | None:
    """The answer for an infrastructure failure anywhere in `error`'s chain; None for any
    other error (a bug, which stays INTERNAL)."""
    if refused_by_a_shard_move(error):
        # The rows' logical shard is switching databases (paycore.storage.moves): the retry
        # lands on the new one once this process has reread the shard map.
        return _unavailable("shard_moving", SHARD_MOVING_RETRY_MS)
    for cause in _chain(error):
        if isinstance(cause, pg.DataError):
            # A value PostgreSQL cannot store or compare (class 22: a NUL, a number out of
            # range) that validation let through: the input's fault, not the server's.
            return invalid("request", "holds a value the database cannot store")
        if isinstance(cause, _CONFLICTS):
            return ApiError(
                Reason.DATABASE_CONFLICT,
                metadata={"retry_after_ms": str(CONFLICT_RETRY_MS)},
                detail=type(cause).__name__,
                retry_after_ms=CONFLICT_RETRY_MS,
            )
        if isinstance(cause, _REDIS_DOWN):
            return _unavailable("redis")
        if (
            isinstance(cause, _UNREACHABLE)
            or _refused_connection(cause)
            or _broken_connection(cause)
        ):
            return _unavailable("postgresql")
    return None


_STUCK_ON_AN_ERROR = "another operation (2) is in progress"
"""asyncpg's InternalClientError when a statement starts on a connection still consuming an
error that arrived outside any statement (state 2, PROTOCOL_ERROR_CONSUME): its backend's FATAL
read while the connection sat idle in the pool (pg_terminate_backend, a failover, a shutdown),
before the end of the stream marked it closed. The connection is dead (asyncpg closes it with
this error, and the pool's checkout check then discards it); the statement never reached the
server."""


def _broken_connection(cause: BaseException) -> bool:
    """Whether `cause` is a statement on a connection whose backend already went away."""
    return isinstance(cause, pg.InternalClientError) and _STUCK_ON_AN_ERROR in str(cause)


def _refused_connection(cause: BaseException) -> bool:
    """Whether the shard's server refused a new session to its database: the database is gone
    (renamed or dropped under the running server, 3D000, which no statement of paycore's
    raises) or closed to new sessions. Either is the shard unreachable, retryable once it is
    back, not a bug: UNAVAILABLE rather than INTERNAL."""
    if isinstance(cause, pg.InvalidCatalogNameError):
        return True
    return isinstance(cause, pg.ObjectNotInPrerequisiteStateError) and (
        _NOT_ACCEPTING_CONNECTIONS in str(cause)
    )


def _unavailable(what: str, retry_after_ms: int = UNAVAILABLE_RETRY_MS) -> ApiError:
    return ApiError(
        Reason.DATABASE_UNAVAILABLE,
        metadata={"retry_after_ms": str(retry_after_ms)},
        detail=what,
        retry_after_ms=retry_after_ms,
    )


def _chain(error: BaseException) -> list[BaseException]:
    """The error, what it wraps (SQLAlchemy's `.orig`), and its causes, each once."""
    found: list[BaseException] = []
    pending: list[BaseException | None] = [error]
    while pending and len(found) < 16:
        current = pending.pop()
        if current is None or any(current is seen for seen in found):
            continue
        found.append(current)
        original = getattr(current, "orig", None)
        pending += [current.__context__, current.__cause__]
        if isinstance(original, BaseException):
            pending.append(original)
    return found


def violated_unique_key(error: BaseException) -> str | None:
    """The name of the unique index a concurrent insert took first, if that is what `error`
    is (the loser of a race, which should answer as if it had come second)."""
    for cause in _chain(error):
        if isinstance(cause, pg.UniqueViolationError):
            return str(cause.constraint_name or "")
    return None


def database_conflict(error: BaseException) -> bool:
    """Whether the database ended this transaction for a concurrent one's sake (a deadlock, a
    lock timeout, a serialization failure, a unique key taken first): run again, it may pass."""
    return any(isinstance(cause, _CONFLICTS) for cause in _chain(error))


def failure_reason(error: BaseException) -> str:
    """What went wrong talking to a database, in one line for a log or an operator: the
    driver's message (`database "x" does not exist`, `[Errno 111] Connect call failed`), not
    SQLAlchemy's wrapper around it, or the exception's class when it has no text."""
    cause = error.orig if isinstance(error, sa_errors.DBAPIError) and error.orig else error
    return " ".join(str(cause).split()) or type(cause).__name__


_CANNOT_CONNECT = (
    *_UNREACHABLE,
    pg.InvalidCatalogNameError,  # the database is not there (yet)
    pg.InvalidAuthorizationSpecificationError,  # the role or its password is refused
)


def database_unreachable(error: BaseException) -> bool:
    """Whether `error` says a database cannot be reached or used now (down, frozen, refused,
    not there, closed to new sessions, the login refused): trouble of the shard's, not a bug
    of the code that met it."""
    return any(
        isinstance(cause, _CANNOT_CONNECT)
        or _refused_connection(cause)
        or _broken_connection(cause)
        for cause in _chain(error)
    )
