"""Random sequences of transfers, holds, posts, voids and timeouts against the real ledger on
PostgreSQL, checked against an independent model written here: every result, every balance,
and a clean CheckIntegrity after each sequence.

Hypothesis drives the examples from a worker thread (it runs sync functions); each example's
ledger work runs on the session's event loop, where the platform's connection pools live.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paycore.app import Platform
from paycore.ids import Prefix, logical_shard_of, new_id
from paycore.ledger.models import AccountType, NewAccount, TransferRequest
from paycore.ledger.service import LedgerService

from tests.helpers import MerchantFixture

CURRENCIES = ("usd", "jpy")
ACCOUNTS_PER_CURRENCY = 3  # account 0 may not go below zero (debits <= credits)
_runs = itertools.count()


class Clock:
    def __init__(self) -> None:
        self.now = 1_900_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Hold:
    debit: int
    credit: int
    amount: int
    expires_at: float | None
    status: str = "pending"


@dataclass
class Model:
    """The ledger's rules, written again as plainly as possible."""

    now: float
    balances: dict[int, list[int]] = field(default_factory=dict)  # dp, cp, dpe, cpe
    holds: dict[int, Hold] = field(default_factory=dict)

    def expire(self) -> None:
        for hold in self.holds.values():
            due = hold.expires_at is not None and hold.expires_at <= self.now
            if hold.status == "pending" and due:
                self._release(hold)
                hold.status = "expired"

    def create(self, debit: int, credit: int, amount: int, pending: bool, timeout: int) -> str:
        d, c = self.balances[debit], self.balances[credit]
        if debit % ACCOUNTS_PER_CURRENCY == 0 and d[0] + d[2] + amount > d[1]:
            return "EXCEEDS_CREDITS"
        if pending:
            d[2] += amount
            c[3] += amount
        else:
            d[0] += amount
            c[1] += amount
        return "CREATED"

    def resolve(self, hold: Hold | None, post: bool, amount: int) -> str:
        if hold is None:
            return "PENDING_TRANSFER_NOT_FOUND"
        if amount > hold.amount:
            return "EXCEEDS_PENDING_AMOUNT"
        if hold.status != "pending":
            return {
                "posted": "PENDING_TRANSFER_ALREADY_POSTED",
                "voided": "PENDING_TRANSFER_ALREADY_VOIDED",
                "expired": "PENDING_TRANSFER_EXPIRED",
            }[hold.status]
        self._release(hold)
        if post:
            posted = amount or hold.amount
            self.balances[hold.debit][0] += posted
            self.balances[hold.credit][1] += posted
        hold.status = "posted" if post else "voided"
        return "CREATED"

    def _release(self, hold: Hold) -> None:
        self.balances[hold.debit][2] -= hold.amount
        self.balances[hold.credit][3] -= hold.amount


account_index = st.integers(0, ACCOUNTS_PER_CURRENCY - 1)
steps = st.lists(
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
            st.sampled_from([0, 0, 5, 30]),
        ),
        st.tuples(st.just("post"), st.integers(0, 10), st.integers(0, 600)),
        st.tuples(st.just("void"), st.integers(0, 10)),
        st.tuples(st.just("tick"), st.sampled_from([1, 10, 40])),
        st.tuples(st.just("sweep")),
    ),
    min_size=1,
    max_size=25,
)


async def _run(platform: Platform, merchant_id: str, sequence: list[tuple[object, ...]]) -> None:
    clock = Clock()
    ledger = LedgerService(platform.shards, clock)
    run = next(_runs)
    shard = logical_shard_of(merchant_id, Prefix.ACCOUNT)
    ids: dict[int, str] = {}
    model = Model(now=clock.now)
    async with platform.shards.transaction(merchant_id) as connection:
        for currency_index, currency in enumerate(CURRENCIES):
            for index in range(ACCOUNTS_PER_CURRENCY):
                number = currency_index * ACCOUNTS_PER_CURRENCY + index
                account = await ledger.create_account(
                    connection,
                    NewAccount(
                        merchant_id=merchant_id,
                        code=f"prop{run}_{index}",
                        type=AccountType.LIABILITY,
                        currency=currency,
                        debits_must_not_exceed_credits=index == 0,
                    ),
                )
                ids[number] = account.id
                model.balances[number] = [0, 0, 0, 0]
    # Account 0 of each currency starts funded, so that its flag has room to matter.
    funding = []
    for currency_index, currency in enumerate(CURRENCIES):
        base = currency_index * ACCOUNTS_PER_CURRENCY
        funding.append(
            TransferRequest(
                id=new_id(Prefix.LEDGER_TRANSFER, shard),
                debit_account_id=ids[base + 1],
                credit_account_id=ids[base],
                amount=1000,
                currency=currency,
                code="funding",
            )
        )
        model.create(base + 1, base, 1000, False, 0)
    await ledger.post([(funding, merchant_id)])
    holds: list[tuple[str, int]] = []
    for step in sequence:
        kind = step[0]
        if kind == "tick":
            clock.now += int(step[1])  # type: ignore[call-overload]
            model.now = clock.now
            continue
        if kind == "sweep":
            await ledger.expire_overdue()
            model.expire()
            continue
        model.expire()
        request, expected = _request(step, ids, holds, model, shard)
        outcome = (await ledger.post([([request], merchant_id)]))[0][0]
        assert outcome.result.name == expected, (step, outcome)
    await ledger.expire_overdue()
    model.expire()
    for number, account_id in ids.items():
        found = await ledger.get_account(merchant_id, account_id)
        stored = found.balances
        assert [
            stored.debits_posted,
            stored.credits_posted,
            stored.debits_pending,
            stored.credits_pending,
        ] == model.balances[number], number
        if number % ACCOUNTS_PER_CURRENCY == 0:
            assert stored.debits_posted + stored.debits_pending <= stored.credits_posted
    report = await ledger.check_integrity(merchant_id, "")
    assert report.mismatches == []


def _request(
    step: tuple[object, ...],
    ids: dict[int, str],
    holds: list[tuple[str, int]],
    model: Model,
    shard: int,
) -> tuple[TransferRequest, str]:
    transfer_id = new_id(Prefix.LEDGER_TRANSFER, shard)
    kind = step[0]
    if kind in ("transfer", "hold"):
        currency, debit, credit, amount = step[1], step[2], step[3], step[4]
        assert isinstance(currency, str) and isinstance(amount, int)
        assert isinstance(debit, int) and isinstance(credit, int)
        base = CURRENCIES.index(currency) * ACCOUNTS_PER_CURRENCY
        timeout = int(step[5]) if kind == "hold" else 0  # type: ignore[call-overload]
        request = TransferRequest(
            id=transfer_id,
            debit_account_id=ids[base + debit],
            credit_account_id=ids[base + credit],
            amount=amount,
            currency=currency,
            pending=kind == "hold",
            timeout_seconds=timeout,
            code="test",
        )
        if debit == credit:
            return request, "ACCOUNTS_MUST_DIFFER"
        expected = model.create(base + debit, base + credit, amount, kind == "hold", timeout)
        if expected == "CREATED" and kind == "hold":
            number = len(holds)
            holds.append((transfer_id, number))
            model.holds[number] = Hold(
                base + debit, base + credit, amount, model.now + timeout if timeout else None
            )
        return request, expected
    reference = step[1]
    assert isinstance(reference, int)
    pending_id, hold = (
        (holds[reference][0], model.holds[reference])
        if reference < len(holds)
        else (new_id(Prefix.LEDGER_TRANSFER, shard), None)
    )
    post = kind == "post"
    amount = int(step[2]) if post else 0  # type: ignore[call-overload]
    request = TransferRequest(
        id=transfer_id,
        amount=amount,
        post_pending_id=pending_id if post else "",
        void_pending_id="" if post else pending_id,
        code="test",
    )
    return request, model.resolve(hold, post, amount)


async def test_random_sequences_match_the_model(
    platform: Platform, merchant: MerchantFixture
) -> None:
    loop = asyncio.get_running_loop()
    merchant_id = merchant.merchant.id

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(steps)
    def check(sequence: list[tuple[object, ...]]) -> None:
        asyncio.run_coroutine_threadsafe(_run(platform, merchant_id, sequence), loop).result()

    await asyncio.to_thread(check)
