"""Moving a logical shard between two physical databases while payments run on it and on
another logical shard of the same database (`paycore shards move`, paycore.storage.moves):
no payment lost or doubled, the moved shard's pause measured and under 2 s, the other shard
never refused, CheckIntegrity clean on both databases, a publishable key's idempotency key
moved with its merchant."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import grpc
import pytest
from paycore.app import build_platform, start_server
from paycore.client import Paycore, connect, idempotency_key
from paycore.config import Settings
from paycore.ids import HOME_LOGICAL_SHARD, Prefix, logical_shard_of
from paycore.storage.moves import ShardMove, merchant_tables
from paycore.storage.shards import Shards
from paycore.v1 import customer_pb2, ledger_pb2, payment_pb2
from prometheus_client import CollectorRegistry

from tests.customer.support import card_request, new_card
from tests.deploy.load import Payer
from tests.helpers import MerchantFixture, PspSimulator, create_merchant
from tests.payment.shop import NO_LIMITS, PAYIN_TIMINGS, good_card
from tests.secrecy import random_card
from tests.storage.support import scratch_shards

pytestmark = pytest.mark.slow
RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.ABORTED})
PAUSE_TARGET_SECONDS = 2.0
INTENT_EVENTS = {
    "payment_intent.created",
    "payment_intent.processing",
    "payment_intent.succeeded",
}


async def merchant_on(
    admin: Paycore, target: str, shards: Shards, physical: int, avoid: int
) -> tuple[MerchantFixture, int]:
    """A new merchant whose logical shard lives on `physical` and is not `avoid`."""
    for _ in range(200):
        created = await create_merchant(admin, target)
        logical = logical_shard_of(created.merchant.id, Prefix.ACCOUNT)
        if shards.physical_of_logical(logical) == physical and logical != avoid:
            return created, logical
        await created.client.close()
    raise AssertionError("no merchant landed where the test needs one")


async def rows_of(url: str, merchant_id: str) -> dict[str, int]:
    """The merchant's rows in each table that has any."""
    connection = await asyncpg.connect(url)
    try:
        counts = {
            table.name: await connection.fetchval(
                f"SELECT count(*) FROM {table.name} WHERE merchant_id = $1", merchant_id
            )
            for table in merchant_tables()
        }
    finally:
        await connection.close()
    return {name: count for name, count in counts.items() if count}


async def fetch(url: str, query: str, merchant_id: str) -> list[asyncpg.Record]:
    """The rows `query` finds for the merchant (its $1)."""
    connection = await asyncpg.connect(url)
    try:
        rows: list[asyncpg.Record] = await connection.fetch(query, merchant_id)
    finally:
        await connection.close()
    return rows


async def test_a_logical_shard_moves_under_load(migrated: Settings, psp: PspSimulator) -> None:
    async with scratch_shards(migrated) as urls:
        settings = migrated.with_overrides(
            database_urls=urls,
            psp_url=psp.url,
            rate_limits_per_second=NO_LIMITS,
            shard_map_refresh_ms=200,
            **PAYIN_TIMINGS,
        )
        platform = build_platform(settings, CollectorRegistry())
        server = await start_server(platform, "127.0.0.1:0")
        target = f"127.0.0.1:{server.port}"
        admin = connect(target, settings.admin_token)
        try:
            await move_under_load(settings, platform.shards, admin, target, urls)
        finally:
            await admin.close()
            await server.stop(1)
            await platform.close()


async def move_under_load(
    settings: Settings, shards: Shards, admin: Paycore, target: str, urls: tuple[str, ...]
) -> None:
    # Not the home logical shard: it never moves (paycore.storage.moves).
    moving, logical = await merchant_on(admin, target, shards, physical=0, avoid=HOME_LOGICAL_SHARD)
    staying, _ = await merchant_on(admin, target, shards, physical=0, avoid=logical)
    payers = [
        Payer(
            moving.client,
            (await new_card(moving.client, good_card())).id,
            f"moving-{index}",
            RETRYABLE,
        )
        for index in range(2)
    ] + [
        Payer(
            staying.client,
            (await new_card(staying.client, good_card())).id,
            f"staying-{index}",
            RETRYABLE,
        )
        for index in range(2)
    ]
    # A browser's card, tokenized with the publishable key: its idempotency key's owner is
    # "<merchant id>/publishable_key" (runtime.mutations.idempotency_owner).
    browser_card = card_request(random_card("4", 16))
    tokenized = await tokenize(target, moving, browser_card)
    stop = asyncio.Event()
    running = [asyncio.create_task(payer.run(stop)) for payer in payers]
    mover_shards = Shards(settings)  # the mover is a process of its own
    try:
        await asyncio.sleep(2)
        move_started = time.monotonic()
        report = await ShardMove(mover_shards, logical, 1, refresh_wait_seconds=1.0).run()
        move_ended = time.monotonic()
        await asyncio.sleep(1.5)
        stop.set()
        await asyncio.gather(*running)
    finally:
        stop.set()
        for task in running:
            task.cancel()
        await mover_shards.dispose()
        await moving.client.close()
        await staying.client.close()

    moved_payers, staying_payers = payers[:2], payers[2:]
    refused = sorted(at for payer in moved_payers for at in payer.refused_at)
    # The paused window: from the first refused write of the moved shard to the last one.
    paused = refused[-1] - refused[0] if refused else 0.0
    moved_gap = max(payer.longest_gap(move_started, move_ended) for payer in moved_payers)
    staying_gap = max(payer.longest_gap(move_started, move_ended) for payer in staying_payers)
    print(
        f"shard move: {report}; writes of the moved shard refused for {paused:.2f} s"
        f" ({len(refused)} refusals); longest gap between payments: moved shard"
        f" {moved_gap:.2f} s, other shard {staying_gap:.2f} s"
    )
    assert report.source == 0 and report.target == 1 and report.copied_rows > 0
    assert report.switch_ms < PAUSE_TARGET_SECONDS * 1000
    assert paused < PAUSE_TARGET_SECONDS
    assert all(not payer.refused_at for payer in staying_payers), "the other shard paused"
    assert shards.physical_of_logical(logical) == 1

    confirmed = {intent for payer in moved_payers for intent in payer.confirmed.values()}
    assert len(confirmed) == sum(len(payer.confirmed) for payer in moved_payers)
    assert await rows_of(urls[0], moving.merchant.id) == {}
    browser_keys = f"{moving.merchant.id}/publishable_key"
    assert await rows_of(urls[0], browser_keys) == {}
    assert await rows_of(urls[1], browser_keys) == {"idempotency_keys": 1}
    # The browser's retry after the move replays its answer, not a second payment method.
    assert await tokenize(target, moving, browser_card) == tokenized
    stored = [
        row["id"]
        for row in await fetch(
            urls[1], "SELECT id FROM payment_intents WHERE merchant_id = $1", moving.merchant.id
        )
    ]
    assert len(stored) == len(set(stored))
    assert confirmed <= set(stored), "a confirmed payment is missing after the move"
    # An event row is written once, with the change it reports: unlike the intent's row, which
    # its next change logs again, an event the move drops never comes back.
    events_of: dict[str, set[str]] = {}
    for row in await fetch(
        urls[1], "SELECT object_id, type FROM events WHERE merchant_id = $1", moving.merchant.id
    ):
        events_of.setdefault(row["object_id"], set()).add(row["type"])
    missing = {intent for intent in confirmed if INTENT_EVENTS - events_of.get(intent, set())}
    assert not missing, "a confirmed payment's events are missing after the move"
    for intent_id in confirmed:
        found = await moving_client_get(target, settings, moving.merchant.id, intent_id)
        assert found.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED
    report_ok = await admin.ledger.CheckIntegrity(ledger_pb2.CheckIntegrityRequest())
    assert report_ok.ok, list(report_ok.mismatches)


async def tokenize(
    target: str, merchant: MerchantFixture, card: customer_pb2.CreatePaymentMethodRequest
) -> str:
    """The payment method's id, made with the merchant's publishable key and one idempotency
    key."""
    async with connect(target, merchant.merchant.publishable_key) as browser:
        created = await browser.customers.CreatePaymentMethod(
            card, metadata=idempotency_key("browser-card")
        )
    return created.id


async def moving_client_get(
    target: str, settings: Settings, merchant_id: str, intent_id: str
) -> payment_pb2.PaymentIntent:
    async with connect(target, settings.admin_token, acting_for=merchant_id) as operator:
        return await operator.payments.GetPaymentIntent(
            payment_pb2.GetPaymentIntentRequest(id=intent_id)
        )
