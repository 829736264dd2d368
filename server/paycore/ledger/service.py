"""The ledger's domain operations (never imports grpc).

PostTransfers: each caller's transfers form a segment; a segment is split into chains; chains
that fail on their own (malformed, left open, spanning merchants) are answered without the
database; the others are grouped by physical shard and applied there in one transaction per
shard: lock the named transfers and the overdue holds on the named accounts (sorted by id), lock
the accounts (sorted by id), decide in memory (paycore.ledger.posting), write set-based. Every
batch takes its locks in that one order (transfers, then accounts, each sorted), so concurrent
batches and the expiry sweep can wait on each other but never deadlock.

Expiry: a pending transfer whose timeout has passed is expired lazily by whatever locks it
first (a batch that names it or one of its accounts, a read of one of its accounts) and by
`expire_overdue`, the sweep a worker calls periodically.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import asyncpg
from paycore.account.repository import require_merchant
from paycore.errors import ApiError, Reason, not_found
from paycore.ids import BASE62_ALPHABET, Prefix, logical_shard_of, new_id
from paycore.invariants import invariant, violated
from paycore.ledger import codes, integrity
from paycore.ledger import repository as rows
from paycore.ledger.models import (
    Account,
    Entry,
    IntegrityReport,
    NewAccount,
    Outcome,
    Transfer,
    TransferRequest,
    TransferResult,
)
from paycore.ledger.posting import (
    AccountState,
    Posting,
    fail_chain,
    pending_id_of,
    shard_of,
    split_chains,
    static_result,
    with_resolution,
)
from paycore.storage import Shards
from paycore.storage.raw import Driver, driver_of, savepoint
from paycore.storage.reads import Cursor, Page, fetch_one, merged_page, newest_first
from paycore.storage.schema import ledger_accounts
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

BATCH_TRANSFERS_MAX = 1000
RETRY_COUNT_MAX = 5
EXPIRY_SWEEP_LIMIT = 1000
# A transaction that lost a race for a new transfer id (or, never expected, a deadlock) is
# retried from the start: it then sees the winner's row and answers EXISTS.
_RETRYABLE = (asyncpg.UniqueViolationError, asyncpg.DeadlockDetectedError)

Segment = tuple[Sequence[TransferRequest], str | None]
"""One caller's transfers and the merchant it acts for (None: an operator acting for none)."""


@dataclass(frozen=True)
class _Chain:
    segment: int
    indexes: list[int]
    requests: list[TransferRequest]
    merchant_id: str | None


@dataclass(frozen=True, slots=True)
class LedgerService:
    _shards: Shards
    _clock: Callable[[], float] = time.time

    # -- accounts -------------------------------------------------------------------------------

    async def create_account(self, connection: AsyncConnection, new: NewAccount) -> Account:
        await require_merchant(connection, new.merchant_id)
        account_id = new_id(
            Prefix.LEDGER_ACCOUNT, logical_shard_of(new.merchant_id, Prefix.ACCOUNT)
        )
        account = await rows.AccountRepository(connection).insert_if_absent(account_id, new)
        if (
            account.type is not new.type
            or account.debits_must_not_exceed_credits != new.debits_must_not_exceed_credits
            or account.credits_must_not_exceed_debits != new.credits_must_not_exceed_debits
        ):
            raise ApiError(
                Reason.LEDGER_ACCOUNT_EXISTS,
                param="code",
                code=new.code,
                currency=new.currency,
                id=account.id,
            )
        return account

    async def merchant_accounts(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        currency: str,
        specs: Sequence[codes.AccountCode] = codes.MERCHANT_ACCOUNTS,
    ) -> dict[str, Account]:
        """The platform's accounts of `merchant_id` in `currency` (paycore.ledger.codes; or
        those `specs`, e.g. a seller's), by code, created on first use."""
        repository = rows.AccountRepository(connection)
        found = await repository.by_codes(merchant_id, currency, [spec.code for spec in specs])
        shard = logical_shard_of(merchant_id, Prefix.ACCOUNT)
        for spec in specs:
            if spec.code not in found:
                found[spec.code] = await repository.insert_if_absent(
                    new_id(Prefix.LEDGER_ACCOUNT, shard),
                    NewAccount(
                        merchant_id=merchant_id,
                        code=spec.code,
                        type=spec.type,
                        currency=currency,
                        debits_must_not_exceed_credits=spec.debits_must_not_exceed_credits,
                        credits_must_not_exceed_debits=spec.credits_must_not_exceed_debits,
                    ),
                )
        return found

    async def merchant_account_ids(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        currency: str,
        specs: Sequence[codes.AccountCode] = codes.MERCHANT_ACCOUNTS,
    ) -> dict[str, str]:
        """`merchant_accounts`' ids by code: what a transfer names."""
        found = await self.merchant_accounts(connection, merchant_id, currency, specs)
        return {code: account.id for code, account in found.items()}

    async def get_account(
        self, merchant_id: str | None, account_id: str, param: str = "id"
    ) -> Account:
        """The account (overdue holds on it released first); an operator acting for no
        merchant (`merchant_id` None) reads any. NOT_FOUND names `param`, the request's field."""
        self._logical_shard_of(account_id, Prefix.LEDGER_ACCOUNT, param)
        await self.expire_for_accounts([account_id])
        query = rows.accounts_query(merchant_id, account_id=account_id)
        async with self._reader_of(account_id, Prefix.LEDGER_ACCOUNT) as connection:
            return await fetch_one(
                connection, query, rows.account_of, "ledger_account", account_id, param
            )

    async def list_accounts(
        self, merchant_id: str, code: str, currency: str, cursor: Cursor
    ) -> Page[Account]:
        """One merchant's accounts, or (operators) every merchant's, newest first."""
        logical_shards = (
            [logical_shard_of(merchant_id, Prefix.ACCOUNT)]
            if merchant_id
            else self._one_logical_shard_per_database()
        )
        # Each shard gives up to limit + 1 of its newest: more than `limit` in all whenever
        # any shard has more, so the merged page tells `has_more` as one shard's would.
        query = newest_first(
            rows.accounts_query(merchant_id, code=code, currency=currency), ledger_accounts, cursor
        )
        found: list[Account] = []
        for logical_shard in logical_shards:
            async with self._shards.read_logical(logical_shard) as connection:
                if merchant_id:
                    await require_merchant(connection, merchant_id)
                found += [rows.account_of(row) for row in await connection.execute(query)]
        return merged_page(found, cursor, key=lambda account: account.id)

    # -- transfers ------------------------------------------------------------------------------

    async def get_transfer(self, merchant_id: str | None, transfer_id: str) -> Transfer:
        query = rows.transfer_query(merchant_id, transfer_id)
        async with self._reader_of(transfer_id, Prefix.LEDGER_TRANSFER) as connection:
            return await fetch_one(
                connection, query, rows.transfer_of, "ledger_transfer", transfer_id
            )

    async def list_entries(
        self, merchant_id: str | None, account_id: str, cursor: Cursor
    ) -> Page[Entry]:
        account = await self.get_account(merchant_id, account_id, param="account")
        async with self._reader_of(account_id, Prefix.LEDGER_ACCOUNT) as connection:
            return await rows.list_entries(connection, account, cursor)

    async def post(self, segments: Sequence[Segment]) -> list[list[Outcome]]:
        """Applies every segment's transfers, each shard in its own transaction."""
        answers, jobs = self._plan(segments)
        applied = await asyncio.gather(
            *(self._post_on_engine(engine, chains) for engine, chains in jobs.items())
        )
        for chains, outcomes in zip(jobs.values(), applied, strict=True):
            self._answer(answers, chains, outcomes)
        return [
            [answers[(segment_index, index)] for index in range(len(segment))]
            for segment_index, (segment, _) in enumerate(segments)
        ]

    async def post_in(
        self,
        connection: AsyncConnection,
        merchant_id: str | None,
        segment: Sequence[TransferRequest],
    ) -> list[Outcome]:
        """One caller's transfers inside the caller's transaction (the idempotency-key path):
        they must all live on `connection`'s shard. A lost race is retried from a savepoint."""
        answers, jobs = self._plan([(segment, merchant_id)])
        for chains in jobs.values():
            for attempt in range(RETRY_COUNT_MAX):
                try:
                    async with savepoint(connection):
                        outcomes = await self._apply(connection, chains)
                    break
                except _RETRYABLE:
                    if attempt == RETRY_COUNT_MAX - 1:
                        raise
            self._answer(answers, chains, outcomes)
        return [answers[(0, index)] for index in range(len(segment))]

    def engine_for_transfers(self, segment: Sequence[TransferRequest]) -> AsyncEngine | None:
        """The one shard a caller's transfers live on, None when they name several (or none
        can be routed)."""
        found = {self._shards.engine_for_logical(shard) for shard in self._logical_shards(segment)}
        return found.pop() if len(found) == 1 else None

    def logical_shard_of_transfers(self, segment: Sequence[TransferRequest]) -> int | None:
        """The one logical shard a caller's transfers live on (one merchant's ledger), None
        when they name several (or none can be routed)."""
        found = self._logical_shards(segment)
        return found.pop() if len(found) == 1 else None

    def writes_nothing(self, segment: Sequence[TransferRequest]) -> bool:
        """Every transfer is refused on its own terms: posting them reads and writes nothing,
        and answers the same results again."""
        return all(self._routable(request) is None for request in segment)

    def _logical_shards(self, segment: Sequence[TransferRequest]) -> set[int]:
        return {
            logical_shard
            for request in segment
            if (logical_shard := self._routable(request)) is not None
        }

    def _routable(self, request: TransferRequest) -> int | None:
        """The logical shard a transfer is posted on; None when it is refused on its own terms,
        among them an id naming a logical shard beyond this deployment's (ID_INVALID, answered
        by `_chain_failure`: it fails alone, not the caller's whole batch)."""
        if static_result(request) is not None:
            return None
        logical_shard = shard_of(request.id, Prefix.LEDGER_TRANSFER)
        return logical_shard if logical_shard < self._shards.logical_shard_count else None

    async def expire_overdue(self, limit: int = EXPIRY_SWEEP_LIMIT) -> int:
        """The sweep: releases up to `limit` overdue holds per shard; returns how many."""
        expired = 0
        for engine in self._shards.engines:
            expired += await self.expire_overdue_on(engine, limit)
        return expired

    async def expire_overdue_on(self, engine: AsyncEngine, limit: int = EXPIRY_SWEEP_LIMIT) -> int:
        """The sweep on one physical shard (the worker's ledger_hold_expiry job)."""
        now = int(self._clock())
        async with engine.begin() as connection:
            driver = await driver_of(connection)
            overdue = await rows.overdue_transfers(driver, now, limit)
            return await self._expire(driver, overdue, now) if overdue else 0

    async def expire_for_accounts(self, account_ids: Sequence[str]) -> bool:
        """Lazy expiry before a read of these accounts (one merchant's): releases their overdue
        holds, if any, and says whether there were. Looking costs one autocommit read; only a
        find takes locks."""
        if not account_ids:
            return False
        now = int(self._clock())
        async with self._reader_of(account_ids[0], Prefix.LEDGER_ACCOUNT) as connection:
            driver = await driver_of(connection)
            due = await driver.fetchval(
                "SELECT count(*) FROM ledger_transfers WHERE status = 'pending'"
                " AND expires_at <= $1 AND (debit_account_id = ANY($2::text[])"
                " OR credit_account_id = ANY($2::text[]))",
                now,
                list(account_ids),
            )
        if due:
            engine = self._engine_of(account_ids[0], Prefix.LEDGER_ACCOUNT)
            async with engine.begin() as connection:
                driver = await driver_of(connection)
                await self._lock_and_apply(driver, [], list(account_ids), [], now)
        return bool(due)

    async def check_integrity(self, merchant_id: str, currency: str) -> IntegrityReport:
        """Every shard's books, or one merchant's (NOT_FOUND naming `merchant` when there is no
        such merchant: a clean report of no account would pass a mistyped id as checked)."""
        if merchant_id:
            async with self._shards.read(merchant_id) as connection:
                await require_merchant(connection, merchant_id)
        engines = (
            [self._shards.engine_for_merchant(merchant_id)]
            if merchant_id
            else list(self._shards.engines)
        )
        return await integrity.check_engines(engines, int(self._clock()), merchant_id, currency)

    # -- internals ------------------------------------------------------------------------------

    def _plan(
        self, segments: Sequence[Segment]
    ) -> tuple[dict[tuple[int, int], Outcome], dict[AsyncEngine, list[_Chain]]]:
        answers: dict[tuple[int, int], Outcome] = {}
        jobs: dict[AsyncEngine, list[_Chain]] = {}
        for segment_index, (segment, merchant_id) in enumerate(segments):
            chains, open_chain = split_chains(segment)
            for index, outcome in open_chain.items():
                answers[(segment_index, index)] = outcome
            for indexes in chains:
                requests = [segment[index] for index in indexes]
                failure = self._chain_failure(requests)
                if failure is not None:
                    for index, outcome in zip(indexes, failure, strict=True):
                        answers[(segment_index, index)] = outcome
                    continue
                engine = self._engine_of(requests[0].id, Prefix.LEDGER_TRANSFER)
                jobs.setdefault(engine, []).append(
                    _Chain(segment_index, indexes, requests, merchant_id)
                )
        return answers, jobs

    def _chain_failure(self, requests: list[TransferRequest]) -> list[Outcome] | None:
        for position, request in enumerate(requests):
            outcome = static_result(request)
            if outcome is not None:
                return fail_chain(requests, position, outcome) if len(requests) > 1 else [outcome]
        first_shard = shard_of(requests[0].id, Prefix.LEDGER_TRANSFER)
        for position, request in enumerate(requests):
            logical_shard = shard_of(request.id, Prefix.LEDGER_TRANSFER)
            if logical_shard >= self._shards.logical_shard_count:
                failure = Outcome(request.id, TransferResult.ID_INVALID, "no such logical shard")
            elif logical_shard != first_shard:
                failure = Outcome(request.id, TransferResult.ACCOUNTS_MUST_HAVE_SAME_MERCHANT)
            else:
                continue
            return fail_chain(requests, position, failure) if len(requests) > 1 else [failure]
        return None

    def _answer(
        self,
        answers: dict[tuple[int, int], Outcome],
        chains: list[_Chain],
        outcomes: list[list[Outcome]],
    ) -> None:
        for chain, chain_outcomes in zip(chains, outcomes, strict=True):
            for index, outcome in zip(chain.indexes, chain_outcomes, strict=True):
                answers[(chain.segment, index)] = outcome

    async def _post_on_engine(
        self, engine: AsyncEngine, chains: list[_Chain]
    ) -> list[list[Outcome]]:
        for attempt in range(RETRY_COUNT_MAX):
            try:
                async with engine.begin() as connection:
                    return await self._apply(connection, chains)
            except _RETRYABLE:
                if attempt == RETRY_COUNT_MAX - 1:
                    raise
        violated("the retry loop returns or raises")

    async def _apply(
        self, connection: AsyncConnection, chains: list[_Chain]
    ) -> list[list[Outcome]]:
        driver = await driver_of(connection)
        requests = [request for chain in chains for request in chain.requests]
        transfer_ids = {request.id for request in requests}
        transfer_ids |= {pending_id_of(request) for request in requests} - {""}
        account_ids = {
            account
            for request in requests
            for account in (request.debit_account_id, request.credit_account_id)
            if account
        }
        return await self._lock_and_apply(
            driver, sorted(transfer_ids), sorted(account_ids), chains, self._clock()
        )

    async def _lock_and_apply(
        self,
        driver: Driver,
        transfer_ids: list[str],
        account_ids: list[str],
        chains: list[_Chain],
        clock: float,
    ) -> list[list[Outcome]]:
        now = int(clock)
        known = await rows.lock_transfers(driver, transfer_ids, account_ids, now)
        held = {
            account
            for transfer in known.values()
            for account in (transfer.debit_account_id, transfer.credit_account_id)
        }
        accounts = await rows.lock_accounts(driver, {*account_ids, *held})
        posting = Posting(
            accounts,
            known,
            now=now,
            new_entry_id=_entry_ids(accounts),
            timeouts_from=math.ceil(clock),
        )
        posting.expire_overdue()
        outcomes = [posting.apply_chain(chain.requests, chain.merchant_id) for chain in chains]
        created = [
            with_resolution(transfer, posting.resolutions.get(transfer.id))
            for transfer in posting.new_transfers
        ]
        created_ids = {transfer.id for transfer in created}
        resolutions = [
            (known[pending_id].merchant_id, pending_id, status, resolved_by)
            for pending_id, (status, resolved_by) in posting.resolutions.items()
            if pending_id not in created_ids
        ]
        if posting.entries or resolutions:
            await rows.write_batch(
                driver,
                created,
                posting.entries,
                [accounts[account_id] for account_id in sorted(posting.touched)],
                resolutions,
            )
        return outcomes

    async def _expire(self, driver: Driver, overdue: list[tuple[str, str, str]], now: int) -> int:
        transfer_ids = sorted(transfer_id for transfer_id, _, _ in overdue)
        account_ids = sorted(
            {account for _, debit, credit in overdue for account in (debit, credit)}
        )
        await self._lock_and_apply(driver, transfer_ids, account_ids, [], now)
        return len(transfer_ids)

    def _engine_of(self, object_id: str, prefix: Prefix) -> AsyncEngine:
        return self._shards.engine_for_logical(self._logical_shard_of(object_id, prefix))

    def _reader_of(
        self, object_id: str, prefix: Prefix
    ) -> contextlib.AbstractAsyncContextManager[AsyncConnection]:
        """An autocommit connection for single-statement reads of the object's shard."""
        return self._shards.read_logical(self._logical_shard_of(object_id, prefix))

    def _logical_shard_of(self, object_id: str, prefix: Prefix, param: str = "id") -> int:
        """An id naming a logical shard beyond the deployment's is missing, as any unknown id
        of its kind (its object's name, the request's field)."""
        logical_shard = shard_of(object_id, prefix)
        if logical_shard >= self._shards.logical_shard_count:
            raise not_found(_OBJECT_NAMES[prefix], object_id, param=param)
        return logical_shard

    def _one_logical_shard_per_database(self) -> list[int]:
        first: dict[AsyncEngine, int] = {}
        for logical_shard in range(self._shards.logical_shard_count):
            first.setdefault(self._shards.engine_for_logical(logical_shard), logical_shard)
        return list(first.values())


_OBJECT_NAMES = {
    Prefix.LEDGER_ACCOUNT: "ledger_account",
    Prefix.LEDGER_TRANSFER: "ledger_transfer",
    Prefix.LEDGER_ENTRY: "ledger_entry",
}
_PAIRS = [first + second for first in BASE62_ALPHABET for second in BASE62_ALPHABET]
_ENTRIES_PER_HEAD = len(_PAIRS) ** 2


def _entry_ids(accounts: dict[str, AccountState]) -> Callable[[], str]:
    """Entry ids for one batch: a fresh id's first 18 digits (time, shard, 44 random bits) and
    a 4-digit counter, so that a thousand entries cost one random id, not a thousand. Entry ids
    are never routed (entries are read through their account), so any shard would do."""
    shard = logical_shard_of(min(accounts), Prefix.LEDGER_ACCOUNT) if accounts else 0
    head = new_id(Prefix.LEDGER_ENTRY, shard)[:-4]
    counter = itertools.count()

    def next_id() -> str:
        number = next(counter)
        invariant(number < _ENTRIES_PER_HEAD, "a batch makes at most 14 million entries")
        high, low = divmod(number, len(_PAIRS))
        return head + _PAIRS[high] + _PAIRS[low]

    return next_id
