"""High availability of a shard: a primary with a synchronous replica, the primary killed while
payments run, the replica promoted and the address repointed (what CloudNativePG does in
production). Nothing a client was told committed is lost, and payments succeed again within
10 seconds, without restarting paycore: its pools drop the dead connections, and the calls in
flight answer UNAVAILABLE and are retried with their idempotency keys."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import grpc
import pytest
from paycore.app import build_platform, start_server
from paycore.client import connect
from paycore.config import Settings
from paycore.storage.migrate import migrate_all
from paycore.v1 import ledger_pb2, payment_pb2
from prometheus_client import CollectorRegistry

from tests.deploy.ha import Proxy, owned_folder, primary_and_replica
from tests.deploy.load import Payer
from tests.helpers import PspSimulator
from tests.payment.shop import NO_LIMITS, PAYIN_TIMINGS, good_card, open_shop

pytestmark = pytest.mark.slow
RETRYABLE = frozenset(
    {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.ABORTED, grpc.StatusCode.DEADLINE_EXCEEDED}
)
RESUME_WITHIN_SECONDS = 10.0
LOAD_BEFORE_SECONDS = 3.0


async def test_a_shard_fails_over_and_nothing_committed_is_lost(
    settings: Settings, psp: PspSimulator
) -> None:
    with owned_folder() as folder:
        await failover_under_load(settings, psp, folder)


async def failover_under_load(settings: Settings, psp: PspSimulator, folder: Path) -> None:
    primary, replica = primary_and_replica(folder)
    proxy = Proxy(primary.port)
    await proxy.start()
    url = f"postgresql://postgres@127.0.0.1:{proxy.port}/postgres"
    ha = settings.with_overrides(
        database_urls=(url,), psp_url=psp.url, rate_limits_per_second=NO_LIMITS, **PAYIN_TIMINGS
    )
    await migrate_all(ha.database_urls)
    platform = build_platform(ha, CollectorRegistry())
    server = await start_server(platform, "127.0.0.1:0")
    target = f"127.0.0.1:{server.port}"
    admin = connect(target, ha.admin_token)
    shop = await open_shop(admin, target, ha.admin_token)
    payers: list[asyncio.Task[None]] = []
    try:
        load = [
            Payer(
                shop.client,
                await shop.card(good_card()),
                f"ha-{index}",
                RETRYABLE,
                amount=1500,
                call_timeout_seconds=5,
                retry_pause_seconds=0.2,
            )
            for index in range(4)
        ]
        stop = asyncio.Event()
        payers.extend(asyncio.create_task(payer.run(stop)) for payer in load)

        def confirmed() -> dict[str, str]:
            return {key: intent for payer in load for key, intent in payer.confirmed.items()}

        def resumed_at(primary_down: float) -> float | None:
            """The first answer to a payment sent once the primary was down (one sent before
            and answered after says nothing of the recovery)."""
            found = [payer.first_answer_sent_after(primary_down) for payer in load]
            return min((at for at in found if at is not None), default=None)

        # Three seconds of payments, and at least one confirmed, before the failover: on a
        # loaded machine the first payments (pools, caches) can take longer than those 3 s.
        loaded_at = time.monotonic()
        while time.monotonic() - loaded_at < LOAD_BEFORE_SECONDS or not confirmed():
            assert time.monotonic() - loaded_at < 60, "no payment succeeded before the failover"
            _raise_if_a_payer_failed(payers)
            await asyncio.sleep(0.05)
        before = len(confirmed())
        crash_began = time.monotonic()
        await asyncio.to_thread(primary.crash)
        primary_down = time.monotonic()
        await asyncio.to_thread(replica.promote)
        proxy.switch(replica.port)
        while (resumed := resumed_at(primary_down)) is None:
            assert time.monotonic() - crash_began < 30, "payments never resumed"
            _raise_if_a_payer_failed(payers)
            await asyncio.sleep(0.05)
        resumed_seconds = resumed - crash_began
        await asyncio.sleep(2)
        stop.set()
        await asyncio.gather(*payers)
        down_seconds = primary_down - crash_began
        print(
            f"failover: {before} payments before, primary down in {down_seconds:.2f} s,"
            f" resumed after {resumed_seconds:.2f} s"
        )
        assert resumed_seconds < RESUME_WITHIN_SECONDS

        for key, intent_id in confirmed().items():
            found = await shop.client.payments.GetPaymentIntent(
                payment_pb2.GetPaymentIntentRequest(id=intent_id)
            )
            assert found.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED, key
        report = await admin.ledger.CheckIntegrity(ledger_pb2.CheckIntegrityRequest())
        assert report.ok, list(report.mismatches)
    finally:
        for task in payers:
            task.cancel()
        await shop.close()
        await admin.close()
        await server.stop(1)
        await platform.close()
        await proxy.close()
        replica.stop()
        primary.stop()


def _raise_if_a_payer_failed(payers: list[asyncio.Task[None]]) -> None:
    for task in payers:
        if task.done():
            task.result()  # a payer's non-retryable answer fails the test here
