"""The idempotency-key store on its own: replay, reuse with another request, in flight,
stored errors, nothing stored for invalid input."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from paycore.app import Platform
from paycore.errors import ApiError, Reason, invalid, not_found
from paycore.ids import Prefix, new_id
from paycore.runtime.mutations import in_group
from paycore.storage import IdempotencyStore
from paycore.storage.idempotency import request_fingerprint
from paycore.v1 import account_pb2
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

OWNER = new_id(Prefix.ACCOUNT, 0)
Change = Callable[[AsyncConnection], Awaitable[account_pb2.SellerAccount]]


@pytest.fixture
def engine(platform: Platform) -> AsyncEngine:
    return platform.shards.engine_for_merchant(OWNER)


@pytest_asyncio.fixture(scope="module")
async def scratch_table(platform: Platform) -> AsyncIterator[str]:
    """A table for the changes under test, dropped again so the schema checks see none of it."""
    for engine in platform.shards.engines:
        async with engine.begin() as connection:
            await connection.execute(
                text("create table if not exists idempotency_scratch (owner text, note text)")
            )
    yield "idempotency_scratch"
    for engine in platform.shards.engines:
        async with engine.begin() as connection:
            await connection.execute(text("drop table idempotency_scratch"))


def _request(email: str) -> account_pb2.CreateSellerAccountRequest:
    return account_pb2.CreateSellerAccountRequest(email=email, country="US", default_currency="usd")


async def _count(engine: AsyncEngine, note: str) -> int:
    async with engine.connect() as connection:
        return int(
            (
                await connection.execute(
                    text("select count(*) from idempotency_scratch where note = :note"),
                    {"note": note},
                )
            ).scalar_one()
        )


def _inserting(note: str, response_id: str) -> Change:
    async def change(connection: AsyncConnection) -> account_pb2.SellerAccount:
        await connection.execute(
            text("insert into idempotency_scratch values (:owner, :note)"),
            {"owner": OWNER, "note": note},
        )
        return account_pb2.SellerAccount(id=response_id, email=note)

    return change


async def test_replay_returns_the_stored_response_and_changes_nothing(
    engine: AsyncEngine, scratch_table: str
) -> None:
    store = IdempotencyStore()
    fingerprint = request_fingerprint("/m", _request("a@x.test"))
    first_id = new_id(Prefix.ACCOUNT, 0)
    first = await store.answered(
        engine,
        OWNER,
        "replay",
        fingerprint,
        account_pb2.SellerAccount,
        _inserting("replay", first_id),
    )
    again = await store.answered(
        engine,
        OWNER,
        "replay",
        fingerprint,
        account_pb2.SellerAccount,
        _inserting("replay", "acct_other"),
    )
    assert first.response.id == again.response.id == first_id
    assert (first.replayed, again.replayed) == (False, True)
    assert await _count(engine, "replay") == 1


async def test_same_key_with_a_different_request_is_refused(
    engine: AsyncEngine, scratch_table: str
) -> None:
    store = IdempotencyStore()
    await store.answered(
        engine,
        OWNER,
        "reuse",
        request_fingerprint("/m", _request("a@x.test")),
        account_pb2.SellerAccount,
        _inserting("reuse", "acct_1"),
    )
    with pytest.raises(ApiError) as raised:
        await store.answered(
            engine,
            OWNER,
            "reuse",
            request_fingerprint("/m", _request("b@x.test")),
            account_pb2.SellerAccount,
            _inserting("reuse", "acct_2"),
        )
    assert raised.value.reason is Reason.IDEMPOTENCY_KEY_REUSED
    assert await _count(engine, "reuse") == 1


async def test_a_key_whose_first_request_is_running_answers_aborted(
    engine: AsyncEngine, scratch_table: str
) -> None:
    store = IdempotencyStore()
    fingerprint = request_fingerprint("/m", _request("slow@x.test"))
    release = asyncio.Event()
    entered = asyncio.Event()

    async def slow_change(connection: AsyncConnection) -> account_pb2.SellerAccount:
        entered.set()
        await release.wait()
        return await _inserting("inflight", "acct_slow")(connection)

    first = asyncio.create_task(
        store.answered(
            engine, OWNER, "inflight", fingerprint, account_pb2.SellerAccount, slow_change
        )
    )
    await entered.wait()
    with pytest.raises(ApiError) as raised:
        await store.answered(
            engine,
            OWNER,
            "inflight",
            fingerprint,
            account_pb2.SellerAccount,
            _inserting("inflight", "acct_dup"),
        )
    assert raised.value.reason is Reason.IDEMPOTENCY_KEY_IN_USE
    release.set()
    assert (await first).response.id == "acct_slow"
    replay = (
        await store.answered(
            engine,
            OWNER,
            "inflight",
            fingerprint,
            account_pb2.SellerAccount,
            _inserting("inflight", "acct_dup"),
        )
    ).response
    assert replay.id == "acct_slow"
    assert await _count(engine, "inflight") == 1


async def test_first_phases_in_one_group_commit_run_each_key_once(
    engine: AsyncEngine, scratch_table: str
) -> None:
    """Concurrent first phases share a transaction (runtime.mutations.in_group); one key sent
    twice at once records once, the second answering that the key is in use."""
    store = IdempotencyStore()
    transaction = in_group(8)
    keys = ["grouped-a", "grouped-b", "grouped-c", "grouped-a"]
    refused = asyncio.Event()

    async def completed(recorded: account_pb2.SellerAccount) -> account_pb2.SellerAccount:
        # The first with the repeated key keeps its lease until the other was refused: under
        # load the other may run after the first's whole request (it waited for a new pool
        # connection) and would then replay its answer. Both recording: 10 s, then the counts.
        if recorded.email == "grouped-a":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(refused.wait(), 10)
        return recorded

    async def first_phase(number: int) -> account_pb2.SellerAccount | ApiError:
        key = keys[number]
        try:
            return (
                await store.answered_phased(
                    engine,
                    OWNER,
                    key,
                    request_fingerprint("/m", _request(f"{key}@x.test")),
                    account_pb2.SellerAccount,
                    _inserting(key, f"acct_{number}"),
                    lambda recorded, opened: completed(recorded),
                    timedelta(seconds=30),
                    transaction,
                )
            ).response
        except ApiError as error:
            refused.set()
            return error

    outcomes = await asyncio.gather(*(first_phase(number) for number in range(len(keys))))

    assert [getattr(outcome, "id", None) for outcome in outcomes[1:3]] == ["acct_1", "acct_2"]
    # Either of the two with one key may come first; the other finds it in use.
    winner, loser = sorted(
        (outcomes[0], outcomes[3]), key=lambda outcome: isinstance(outcome, ApiError)
    )
    assert getattr(winner, "id", None) in ("acct_0", "acct_3")
    assert isinstance(loser, ApiError)
    assert loser.reason is Reason.IDEMPOTENCY_KEY_IN_USE
    for key in ("grouped-a", "grouped-b", "grouped-c"):
        assert await _count(engine, key) == 1


async def _completed(recorded: account_pb2.SellerAccount) -> account_pb2.SellerAccount:
    return recorded


Completion = Callable[[account_pb2.SellerAccount], Awaitable[account_pb2.SellerAccount]]


async def _first_phases_together(
    engine: AsyncEngine, phased: list[tuple[str, str, str]], complete: Completion = _completed
) -> list[account_pb2.SellerAccount | ApiError]:
    """`answered_phased` of each (key, the request's email, the id its first phase answers) at
    once: their first phases share group commits of up to 8, their keys claimed together."""
    store = IdempotencyStore()
    transaction = in_group(8)

    async def first_phase(key: str, email: str, recorded_id: str) -> Any:
        try:
            return (
                await store.answered_phased(
                    engine,
                    OWNER,
                    key,
                    request_fingerprint("/m", _request(email)),
                    account_pb2.SellerAccount,
                    _inserting(key, recorded_id),
                    lambda recorded, opened: complete(recorded),
                    timedelta(seconds=30),
                    transaction,
                )
            ).response
        except ApiError as error:
            return error

    return list(await asyncio.gather(*(first_phase(*each) for each in phased)))


def _reason(outcome: account_pb2.SellerAccount | ApiError) -> Reason | None:
    return outcome.reason if isinstance(outcome, ApiError) else None


async def test_a_group_with_a_key_held_elsewhere_refuses_that_key_only(
    engine: AsyncEngine, scratch_table: str
) -> None:
    """A key whose lock another transaction holds answers IDEMPOTENCY_KEY_IN_USE and records
    nothing, its group's other keys record once each; the key is free once the lock is gone."""
    free = [("held-free-a", "a@x.test", "acct_a"), ("held-free-b", "b@x.test", "acct_b")]
    held = ("held", "held@x.test", "acct_held")
    async with engine.begin() as holder:
        await holder.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:lock, 0))"),
            {"lock": f"{OWNER} held"},
        )
        outcomes = await _first_phases_together(engine, [free[0], held, free[1]])
    assert [getattr(outcome, "id", None) for outcome in outcomes] == ["acct_a", None, "acct_b"]
    assert _reason(outcomes[1]) is Reason.IDEMPOTENCY_KEY_IN_USE
    counts = [await _count(engine, key) for key in ("held-free-a", "held", "held-free-b")]
    assert counts == [1, 0, 1]
    again = await _first_phases_together(engine, [held, ("held-free-c", "c@x.test", "acct_c")])
    assert [getattr(outcome, "id", None) for outcome in again] == ["acct_held", "acct_c"]
    assert await _count(engine, "held") == 1


async def test_a_group_replays_a_finished_key_without_recording_it_again(
    engine: AsyncEngine, scratch_table: str
) -> None:
    finished = [("finished-a", "fa@x.test", "acct_fa"), ("finished-b", "fb@x.test", "acct_fb")]
    await _first_phases_together(engine, finished)
    outcomes = await _first_phases_together(
        engine,
        [
            ("finished-new", "new@x.test", "acct_new"),
            ("finished-b", "fb@x.test", "acct_fb_again"),
            ("finished-a", "fa@x.test", "acct_fa_again"),
        ],
    )
    assert [getattr(outcome, "id", None) for outcome in outcomes] == [
        "acct_new",
        "acct_fb",
        "acct_fa",
    ]
    assert [await _count(engine, key) for key in ("finished-a", "finished-b")] == [1, 1]
    assert await _count(engine, "finished-new") == 1


async def test_a_group_refuses_a_key_sent_with_another_request(
    engine: AsyncEngine, scratch_table: str
) -> None:
    await _first_phases_together(engine, [("reused-in-group", "first@x.test", "acct_first")])
    outcomes = await _first_phases_together(
        engine,
        [
            ("reused-neighbour", "n@x.test", "acct_n"),
            ("reused-in-group", "second@x.test", "acct_second"),
        ],
    )
    assert getattr(outcomes[0], "id", None) == "acct_n"
    assert _reason(outcomes[1]) is Reason.IDEMPOTENCY_KEY_REUSED
    assert await _count(engine, "reused-in-group") == 1


async def test_a_group_resumes_a_released_key_under_a_new_lease(
    engine: AsyncEngine, scratch_table: str
) -> None:
    """A key whose completion stopped (released, its first phase's answer stored) resumes from
    that answer in a group: its first phase does not run again and its lease is taken."""

    async def lost(recorded: account_pb2.SellerAccount) -> account_pb2.SellerAccount:
        raise ApiError(Reason.UNAVAILABLE, detail="the PSP is unreachable")

    stopped = ("resumed", "resumed@x.test", "acct_resumed")
    assert _reason((await _first_phases_together(engine, [stopped], lost))[0]) is (
        Reason.UNAVAILABLE
    )
    leased_while_completing: list[bool] = []

    async def completing(recorded: account_pb2.SellerAccount) -> account_pb2.SellerAccount:
        if recorded.id == "acct_resumed":
            async with engine.connect() as connection:
                leased = await connection.execute(
                    text(
                        "select locked_until > now() from idempotency_keys"
                        " where merchant_id = :owner and key = 'resumed'"
                    ),
                    {"owner": OWNER},
                )
                leased_while_completing.append(bool(leased.scalar_one()))
        return recorded

    outcomes = await _first_phases_together(
        engine,
        [("resumed-neighbour", "rn@x.test", "acct_rn"), (*stopped[:2], "acct_resumed_again")],
        completing,
    )
    assert [getattr(outcome, "id", None) for outcome in outcomes] == ["acct_rn", "acct_resumed"]
    assert leased_while_completing == [True]
    assert await _count(engine, "resumed") == 1


async def test_final_errors_are_stored_and_replayed_without_running_again(
    engine: AsyncEngine, scratch_table: str
) -> None:
    store = IdempotencyStore()
    fingerprint = request_fingerprint("/m", _request("nf@x.test"))
    runs = 0

    async def failing(connection: AsyncConnection) -> account_pb2.SellerAccount:
        nonlocal runs
        runs += 1
        await _inserting("final-error", "acct_x")(connection)
        raise not_found("customer", "cus_missing", param="customer")

    for _ in range(2):
        with pytest.raises(ApiError) as raised:
            await store.answered(
                engine, OWNER, "final", fingerprint, account_pb2.SellerAccount, failing
            )
        assert raised.value.reason is Reason.RESOURCE_MISSING
        assert raised.value.param == "customer"
        assert "cus_missing" in raised.value.message
    assert runs == 1
    assert await _count(engine, "final-error") == 0  # the failed change was rolled back


async def test_invalid_arguments_store_nothing(engine: AsyncEngine, scratch_table: str) -> None:
    store = IdempotencyStore()
    fingerprint = request_fingerprint("/m", _request("bad@x.test"))

    async def rejecting(connection: AsyncConnection) -> account_pb2.SellerAccount:
        raise invalid("amount", "must be positive")

    with pytest.raises(ApiError):
        await store.answered(
            engine, OWNER, "invalid", fingerprint, account_pb2.SellerAccount, rejecting
        )
    async with engine.connect() as connection:
        stored = (
            await connection.execute(
                select(func.count())
                .select_from(text("idempotency_keys"))
                .where(text("merchant_id = :owner and key = 'invalid'")),
                {"owner": OWNER},
            )
        ).scalar_one()
    assert stored == 0


def test_fingerprint_covers_method_and_every_field() -> None:
    base = request_fingerprint("/a", _request("x@x.test"))
    assert base == request_fingerprint("/a", _request("x@x.test"))
    assert base != request_fingerprint("/b", _request("x@x.test"))
    assert base != request_fingerprint("/a", _request("y@x.test"))
