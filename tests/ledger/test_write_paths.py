"""A batch's rows are written in one statement or, from COPY_ENTRIES_MIN entries on, by COPY:
both paths must leave the same ledger, and a batch that fails half-way through its writes must
leave nothing behind."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator, Sequence

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from paycore.app import Platform
from paycore.client import Paycore, idempotency_key
from paycore.ids import Prefix, logical_shard_of, new_id
from paycore.ledger import repository
from paycore.ledger.models import AccountType, NewAccount, TransferRequest
from paycore.ledger.posting import AccountState
from paycore.ledger.service import LedgerService
from paycore.v1 import ledger_pb2

from tests.helpers import MerchantFixture
from tests.ledger.support import ASSET, account, balances, integrity_ok, post, transfer_id
from tests.ledger.test_properties import (
    ACCOUNTS_PER_CURRENCY,
    CURRENCIES,
    Clock,
    Model,
    _request,
    account_index,
)

_runs = itertools.count()
ALWAYS_COPY = 0
NEVER_COPY = 10**9

batch_steps = st.lists(
    st.one_of(
        st.tuples(
            st.just("transfer"),
            st.sampled_from(CURRENCIES),
            account_index,
            account_index,
            st.integers(1, 500),
        ),
        st.tuples(
            st.just("hold"),
            st.sampled_from(CURRENCIES),
            account_index,
            account_index,
            st.integers(1, 500),
            st.sampled_from([0, 0, 5]),
        ),
        st.tuples(st.just("post"), st.integers(0, 10), st.integers(0, 600)),
        st.tuples(st.just("void"), st.integers(0, 10)),
    ),
    min_size=1,
    max_size=40,
)


@pytest.fixture
def copy_from() -> Iterator[None]:
    saved = repository.COPY_ENTRIES_MIN
    yield
    repository.COPY_ENTRIES_MIN = saved


async def _accounts(ledger: LedgerService, platform: Platform, merchant_id: str) -> list[str]:
    run = next(_runs)
    ids = []
    async with platform.shards.transaction(merchant_id) as connection:
        for currency in CURRENCIES:
            for index in range(ACCOUNTS_PER_CURRENCY):
                created = await ledger.create_account(
                    connection,
                    NewAccount(
                        merchant_id=merchant_id,
                        code=f"paths{run}_{index}",
                        type=AccountType.LIABILITY,
                        currency=currency,
                        debits_must_not_exceed_credits=index == 0,
                    ),
                )
                ids.append(created.id)
    return ids


async def _one_batch(
    platform: Platform, merchant_id: str, sequence: list[tuple[object, ...]]
) -> None:
    """The whole sequence (after funding) as ONE batch: results as the model applies the steps
    in order, then the balances, an expiry sweep over the batch's holds, and integrity."""
    clock = Clock()
    ledger = LedgerService(platform.shards, clock)
    shard = logical_shard_of(merchant_id, Prefix.ACCOUNT)
    ids = dict(enumerate(await _accounts(ledger, platform, merchant_id)))
    model = Model(now=clock.now)
    for number in ids:
        model.balances[number] = [0, 0, 0, 0]
    holds: list[tuple[str, int]] = []
    batch: list[TransferRequest] = []
    expected: list[str] = []
    # Account 0 of each currency (no overdraft) is funded first, in the same batch.
    funding = [("transfer", currency, 1, 0, 1000) for currency in CURRENCIES]
    for step in [*funding, *sequence]:
        request, result = _request(step, ids, holds, model, shard)
        batch.append(request)
        expected.append(result)
    outcomes = (await ledger.post([(batch, merchant_id)]))[0]
    assert [outcome.result.name for outcome in outcomes] == expected
    clock.now += 10
    model.now = clock.now
    await ledger.expire_overdue()
    model.expire()
    for number, account_id in ids.items():
        stored = (await ledger.get_account(merchant_id, account_id)).balances
        assert [
            stored.debits_posted,
            stored.credits_posted,
            stored.debits_pending,
            stored.credits_pending,
        ] == model.balances[number], number
    report = await ledger.check_integrity(merchant_id, "")
    assert report.mismatches == []


@pytest.mark.parametrize("entries_min", [ALWAYS_COPY, NEVER_COPY], ids=["copy", "statement"])
@pytest.mark.usefixtures("copy_from")
async def test_random_batches_match_the_model_on_both_write_paths(
    platform: Platform, merchant: MerchantFixture, entries_min: int
) -> None:
    repository.COPY_ENTRIES_MIN = entries_min
    loop = asyncio.get_running_loop()
    merchant_id = merchant.merchant.id

    sizes: list[int] = []

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(batch_steps)
    # Always one batch large enough to be copied, whatever the random draws.
    @example([("transfer", CURRENCIES[0], 0, 1, 1)] * 20)
    def check(sequence: list[tuple[object, ...]]) -> None:
        sizes.append(len(sequence))
        asyncio.run_coroutine_threadsafe(_one_batch(platform, merchant_id, sequence), loop).result()

    await asyncio.to_thread(check)
    assert len(sizes) >= 10 and max(sizes) >= 16, sizes  # batches large enough to be copied


async def test_a_batch_of_a_thousand_is_copied_and_balances(
    admin: Paycore, merchant: MerchantFixture
) -> None:
    merchant_id = merchant.merchant.id
    accounts = [await account(admin, merchant_id, f"big_{index}", kind=ASSET) for index in range(4)]
    transfers = [
        ledger_pb2.LedgerTransfer(
            id=transfer_id(merchant_id),
            debit_account=accounts[index % 4],
            credit_account=accounts[(index + 1) % 4],
            amount=index + 1,
            currency="usd",
            code="big",
            pending=index % 10 == 0,
            metadata={"n": str(index)} if index % 100 == 0 else {},
        )
        for index in range(1000)
    ]
    assert 2 * len(transfers) >= repository.COPY_ENTRIES_MIN
    assert await post(admin, *transfers) == ["CREATED"] * 1000
    # Account k is debited by transfers k, k+4, ... and credited by k-1, k+3, ...
    for number, account_id in enumerate(accounts):
        debited = [index for index in range(1000) if index % 4 == number]
        credited = [index for index in range(1000) if (index + 1) % 4 == number]

        def posted(indexes: list[int]) -> int:
            return sum(index + 1 for index in indexes if index % 10)

        def pending(indexes: list[int]) -> int:
            return sum(index + 1 for index in indexes if index % 10 == 0)

        assert await balances(admin, account_id) == (
            posted(debited),
            posted(credited),
            pending(debited),
            pending(credited),
        )
    held = await admin.ledger.GetTransfer(ledger_pb2.GetTransferRequest(id=transfers[100].id))
    assert (held.pending, dict(held.metadata)) == (True, {"n": "100"})
    assert held.status == ledger_pb2.LEDGER_TRANSFER_STATUS_PENDING
    settled = await admin.ledger.GetTransfer(ledger_pb2.GetTransferRequest(id=transfers[101].id))
    assert (settled.pending, dict(settled.metadata)) == (False, {})
    assert settled.status == ledger_pb2.LEDGER_TRANSFER_STATUS_POSTED
    await integrity_ok(admin, merchant_id)


@pytest.mark.parametrize("entries_min", [ALWAYS_COPY, NEVER_COPY], ids=["copy", "statement"])
@pytest.mark.usefixtures("copy_from")
async def test_a_batch_failing_half_way_through_its_writes_leaves_nothing(
    platform: Platform,
    merchant: MerchantFixture,
    monkeypatch: pytest.MonkeyPatch,
    entries_min: int,
) -> None:
    """The first attempt reads one account's entry count one short, so its entries collide
    with a stored entry: with COPY, the new transfers are already written when the entries
    fail. The transaction is retried whole, and the retry's results and balances show that
    nothing of the first attempt stayed."""
    repository.COPY_ENTRIES_MIN = entries_min
    merchant_id = merchant.merchant.id
    ledger = LedgerService(platform.shards)
    shard = logical_shard_of(merchant_id, Prefix.ACCOUNT)
    ids = await _accounts(ledger, platform, merchant_id)
    source, target = ids[1], ids[2]

    def transfer(amount: int) -> TransferRequest:
        return TransferRequest(
            id=new_id(Prefix.LEDGER_TRANSFER, shard),
            debit_account_id=source,
            credit_account_id=target,
            amount=amount,
            currency="usd",
            code="retry",
        )

    first = [transfer(7)]
    assert [o.result.name for o in (await ledger.post([(first, merchant_id)]))[0]] == ["CREATED"]

    real_lock = repository.lock_accounts
    attempts: list[int] = []

    async def stale_lock(
        driver: repository.Driver, account_ids: Sequence[str]
    ) -> dict[str, AccountState]:
        locked = await real_lock(driver, account_ids)
        attempts.append(len(attempts))
        if len(attempts) == 1:
            locked[source].entry_count -= 1
        return locked

    monkeypatch.setattr(repository, "lock_accounts", stale_lock)
    batch = [*first, *(transfer(amount) for amount in range(1, 21))]
    outcomes = (await ledger.post([(batch, merchant_id)]))[0]
    assert len(attempts) == 2
    assert [outcome.result.name for outcome in outcomes] == ["EXISTS"] + ["CREATED"] * 20
    monkeypatch.undo()
    found = (await ledger.get_account(merchant_id, source)).balances
    assert found.debits_posted == 7 + sum(range(1, 21))
    report = await ledger.check_integrity(merchant_id, "")
    assert report.mismatches == []


async def test_a_copied_batch_under_an_idempotency_key_is_written_once_and_replayed(
    admin: Paycore, merchant: MerchantFixture
) -> None:
    """The idempotency-key path posts inside the key's transaction, from a savepoint: the
    COPYs run there too."""
    merchant_id = merchant.merchant.id
    source = await account(admin, merchant_id, "keyed_cash", kind=ASSET)
    target = await account(admin, merchant_id, "keyed_balance")
    request = ledger_pb2.PostTransfersRequest(
        transfers=[
            ledger_pb2.LedgerTransfer(
                id=transfer_id(merchant_id),
                debit_account=source,
                credit_account=target,
                amount=amount,
                currency="usd",
                code="keyed",
            )
            for amount in range(1, 31)
        ]
    )
    assert 2 * len(request.transfers) >= repository.COPY_ENTRIES_MIN
    key = idempotency_key(f"keyed-copy-{merchant_id}")
    first = await admin.ledger.PostTransfers(request, metadata=key)
    again = await admin.ledger.PostTransfers(request, metadata=key)
    assert first == again
    assert {result.result for result in first.results} == {
        ledger_pb2.LEDGER_TRANSFER_RESULT_CREATED
    }
    assert await balances(admin, target) == (0, sum(range(1, 31)), 0, 0)
    await integrity_ok(admin, merchant_id)
