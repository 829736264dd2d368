"""An operator's idempotency keys (calls acting for no merchant) move with the logical shard
they concern (paycore.storage.idempotency.operator_owner): after a shard move, the operator's
retry replays its answer on the new database instead of running the call again there. They
were all owned by "admin", which no move took along: a retried CreateMerchant made a second
merchant, a retried fee plan undid a later one, a retried removal or review answered an error."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import grpc
import pytest
import pytest_asyncio
from paycore.app import Platform
from paycore.client import Paycore, connect, idempotency_key
from paycore.config import Settings
from paycore.ids import HOME_LOGICAL_SHARD, Prefix, logical_shard_of
from paycore.storage.idempotency import IdempotencyStore, request_fingerprint
from paycore.storage.moves import ShardMove
from paycore.storage.shards import Shards
from paycore.v1 import account_pb2, fraud_pb2, ledger_pb2
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.deploy.test_shard_move import fetch, rows_of
from tests.fraud.support import REVIEW_EVERYTHING, returning_customer
from tests.helpers import MerchantFixture, serving
from tests.ledger.support import ASSET, account, balances, transfer_id
from tests.storage.support import scratch_shards

GENERATED_KEY = re.compile(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}")
"""The key paycore.client gives a mutating call sent without one."""

CREATE = account_pb2.CreateMerchantRequest(
    name="Initech", email="ops@initech.test", country="US", default_currency="usd"
)
# Before the move, and a later plan the retry of the first must not undo: (basis points, fixed).
PLAN = (150, 10)
LATER_PLAN = (120, 5)


@dataclass(frozen=True)
class Moved:
    """The operator's calls made before the merchant's logical shard moved, and their answers."""

    admin: Paycore
    urls: tuple[str, ...]
    create_key: str
    merchant_id: str
    balance_account: str
    transfers: ledger_pb2.PostTransfersRequest
    posted: ledger_pb2.PostTransfersResponse
    plan: account_pb2.UpdateFeePlanRequest
    planned: account_pb2.FeePlan
    removal: fraud_pb2.RemoveBlocklistItemRequest
    removed: fraud_pb2.RemoveBlocklistItemResponse
    approval: fraud_pb2.ApproveReviewRequest
    approved: fraud_pb2.Review


@pytest_asyncio.fixture(scope="module")
async def moved(migrated: Settings) -> AsyncIterator[Moved]:
    """The calls on a server of two scratch databases, then the move by a mover of its own."""
    async with scratch_shards(migrated) as urls:
        settings = migrated.with_overrides(database_urls=urls, shard_map_refresh_ms=100)
        mover = Shards(settings)
        try:
            async with serving(settings) as target, connect(target, settings.admin_token) as admin:
                made = await operator_calls(admin, mover, target, settings, urls)
                logical = logical_shard_of(made.merchant_id, Prefix.ACCOUNT)
                # The server rereads the map while the mover waits before its cleanup.
                await ShardMove(mover, logical, 1, refresh_wait_seconds=0.5).run()
                yield made
        finally:
            await mover.dispose()


async def operator_calls(
    admin: Paycore, shards: Shards, target: str, settings: Settings, urls: tuple[str, ...]
) -> Moved:
    create_key = key_on_physical_0(shards)
    merchant_id = (
        await admin.accounts.CreateMerchant(CREATE, metadata=idempotency_key(create_key))
    ).id
    cash = await account(admin, merchant_id, "operator_cash", kind=ASSET)
    balance = await account(admin, merchant_id, "operator_balance")
    transfers = ledger_pb2.PostTransfersRequest(
        transfers=[
            ledger_pb2.LedgerTransfer(
                id=transfer_id(merchant_id),
                debit_account=cash,
                credit_account=balance,
                amount=500,
                currency="usd",
                code="top_up",
            )
        ]
    )
    posted = await admin.ledger.PostTransfers(
        transfers, metadata=idempotency_key("operator-transfers")
    )
    plan = plan_request(merchant_id, PLAN)
    planned = await admin.accounts.UpdateFeePlan(plan, metadata=idempotency_key("operator-plan"))
    later = plan_request(merchant_id, LATER_PLAN)
    await admin.accounts.UpdateFeePlan(later, metadata=idempotency_key("operator-later-plan"))
    item = await admin.fraud.AddBlocklistItem(
        fraud_pb2.AddBlocklistItemRequest(
            type=fraud_pb2.BLOCKLIST_ITEM_TYPE_IP, value="203.0.113.7", merchant=merchant_id
        )
    )
    removal = fraud_pb2.RemoveBlocklistItemRequest(id=item.id)
    removed = await admin.fraud.RemoveBlocklistItem(
        removal, metadata=idempotency_key("operator-removal")
    )
    approval = fraud_pb2.ApproveReviewRequest(id=await a_review(target, settings, merchant_id))
    approved = await admin.fraud.ApproveReview(
        approval, metadata=idempotency_key("operator-approval")
    )
    return Moved(
        admin,
        urls,
        create_key,
        merchant_id,
        balance,
        transfers,
        posted,
        plan,
        planned,
        removal,
        removed,
        approval,
        approved,
    )


def key_on_physical_0(shards: Shards) -> str:
    """A CreateMerchant key whose logical shard is on physical shard 0 and may move."""
    for number in range(1000):
        key = f"create-{number}"
        logical = shards.logical_shard_for_new_merchant(key)
        if logical != HOME_LOGICAL_SHARD and shards.physical_of_logical(logical) == 0:
            return key
    raise AssertionError("no key chose a logical shard the test can move")


def plan_request(merchant_id: str, plan: tuple[int, int]) -> account_pb2.UpdateFeePlanRequest:
    percent_basis_points, fixed_amount = plan
    return account_pb2.UpdateFeePlanRequest(
        merchant=merchant_id, percent_basis_points=percent_basis_points, fixed_amount=fixed_amount
    )


async def a_review(target: str, settings: Settings, merchant_id: str) -> str:
    """An open review of one of the merchant's payments."""
    async with connect(target, settings.admin_token, acting_for=merchant_id) as operator:
        await operator.fraud.UpdateRiskPolicy(REVIEW_EVERYTHING)
        assessment = await operator.fraud.ScorePayment(returning_customer(merchant_id))
    return assessment.review


async def test_a_create_merchant_retried_after_the_move_answers_its_merchant(
    moved: Moved,
) -> None:
    again = await moved.admin.accounts.CreateMerchant(
        CREATE, metadata=idempotency_key(moved.create_key)
    )
    assert again.id == moved.merchant_id
    merchants = await fetch(
        moved.urls[1], "SELECT name FROM merchants WHERE name = $1", CREATE.name
    )
    assert len(merchants) == 1


async def test_an_operators_transfers_retried_after_the_move_replay(moved: Moved) -> None:
    again = await moved.admin.ledger.PostTransfers(
        moved.transfers, metadata=idempotency_key("operator-transfers")
    )
    assert again == moved.posted  # CREATED, not the EXISTS of a second run
    assert again.results[0].result == ledger_pb2.LEDGER_TRANSFER_RESULT_CREATED
    assert await balances(moved.admin, moved.balance_account) == (0, 500, 0, 0)


async def test_a_fee_plan_retried_after_the_move_does_not_undo_a_later_one(moved: Moved) -> None:
    again = await moved.admin.accounts.UpdateFeePlan(
        moved.plan, metadata=idempotency_key("operator-plan")
    )
    assert again == moved.planned
    plan = await moved.admin.accounts.GetFeePlan(
        account_pb2.GetFeePlanRequest(merchant=moved.merchant_id)
    )
    assert (plan.percent_basis_points, plan.fixed_amount) == LATER_PLAN


async def test_a_blocklist_removal_retried_after_the_move_replays(moved: Moved) -> None:
    removed = await moved.admin.fraud.RemoveBlocklistItem(
        moved.removal, metadata=idempotency_key("operator-removal")
    )
    assert removed == moved.removed  # not NOT_FOUND: the item is gone


async def test_a_review_approval_retried_after_the_move_replays(moved: Moved) -> None:
    approved = await moved.admin.fraud.ApproveReview(
        moved.approval, metadata=idempotency_key("operator-approval")
    )
    assert approved == moved.approved  # not REVIEW_CLOSED


async def test_no_operator_key_stays_on_the_old_database(moved: Moved) -> None:
    """Every key made in this module is an operator's of the moved shard: none stays behind
    (those the client generated for the calls sent without one, UUIDs, moved with them)."""
    old, new = [await keys_on(url) for url in moved.urls]
    assert old == set()
    assert {key for key in new if not GENERATED_KEY.fullmatch(key)} == {
        moved.create_key,
        "operator-transfers",
        "operator-plan",
        "operator-later-plan",
        "operator-removal",
        "operator-approval",
    }
    assert await rows_of(moved.urls[0], moved.merchant_id) == {}


async def keys_on(url: str) -> set[str]:
    connection = await asyncpg.connect(url)
    try:
        return {row["key"] for row in await connection.fetch("SELECT key FROM idempotency_keys")}
    finally:
        await connection.close()


async def test_a_key_stored_under_admin_before_the_change_still_replays(
    admin: Paycore, merchant: MerchantFixture, platform: Platform
) -> None:
    """A key an operator's call stored before this release, owned by "admin", in flight across
    the deploy: its retry replays the stored answer, as it did, and changes nothing."""
    merchant_id = merchant.merchant.id
    plan = plan_request(merchant_id, PLAN)
    fingerprint = request_fingerprint("/paycore.v1.AccountService/UpdateFeePlan", plan)
    stored = account_pb2.FeePlan(merchant=merchant_id, percent_basis_points=150, fixed_amount=10)

    async def answered_before(connection: AsyncConnection) -> account_pb2.FeePlan:
        return stored

    engine = platform.shards.engine_for_merchant(merchant_id)
    key = f"before-the-deploy-{merchant_id}"
    await IdempotencyStore().answered(
        engine, "admin", key, fingerprint, account_pb2.FeePlan, answered_before
    )
    assert await admin.accounts.UpdateFeePlan(plan, metadata=idempotency_key(key)) == stored
    current = await admin.accounts.GetFeePlan(account_pb2.GetFeePlanRequest(merchant=merchant_id))
    assert current.default  # the stored answer, not a second run
    other = plan_request(merchant_id, LATER_PLAN)
    with pytest.raises(grpc.aio.AioRpcError) as reused:
        await admin.accounts.UpdateFeePlan(other, metadata=idempotency_key(key))
    assert reused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
