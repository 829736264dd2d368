"""SIGKILL in the middle of payments: the server process dies with charges in flight at the
PSP. After a restart, the worker and the clients' retries (same idempotency keys) finish them:
exactly one charge per payment at the PSP, every intent succeeded, the books balanced."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys

import pytest
from grpc import aio
from paycore.app import build_platform
from paycore.client import connect
from paycore.config import Settings
from paycore.payment.models import IntentStatus
from paycore.storage.reads import Cursor
from paycore.tools.psp.settlement import settlement_lines
from paycore.v1 import ledger_pb2, payment_pb2, wallet_pb2
from prometheus_client import CollectorRegistry

from tests.customer.support import new_card
from tests.helpers import (
    PspSimulator,
    create_merchant,
    free_port,
    server_environment,
    serving_process,
)
from tests.payment.shop import fee, good_card

pytestmark = pytest.mark.slow
PAYMENTS = 12
AMOUNT = 1000


async def test_sigkill_mid_payment_then_recovery_charges_each_payment_once(
    migrated: Settings, psp: PspSimulator
) -> None:
    await psp.set_faults(latency_ms=500)  # so that the kill lands while charges are in flight
    extra = {
        "PAYCORE_PSP_URL": psp.url,
        "PAYCORE_PSP_TIMEOUT_MS": "3000",
        "PAYCORE_EXECUTOR_LEASE_MS": "1500",
        "PAYCORE_RATE_LIMITS": "payments=0,subscriptions=0,other=0",
    }
    keys = [f"crash-{index}" for index in range(PAYMENTS)]
    async with serving_process(migrated, **extra) as (process, port, _):
        target = f"127.0.0.1:{port}"
        async with connect(target, migrated.admin_token) as admin:
            shop = await create_merchant(admin, target, name="Crashing shop")
        merchant_id, secret_key = shop.merchant.id, shop.merchant.secret_key
        methods = [(await new_card(shop.client, good_card())).id for _ in keys]
        requests = [
            payment_pb2.CreatePaymentIntentRequest(
                amount=AMOUNT, currency="usd", payment_method=method, confirm=True
            )
            for method in methods
        ]
        calls = [
            asyncio.ensure_future(
                shop.client.payments.CreatePaymentIntent(
                    request, metadata=(("idempotency-key", key),)
                )
            )
            for request, key in zip(requests, keys, strict=True)
        ]
        await _until_charges_are_in_flight(migrated, merchant_id)
        process.kill()
        outcomes = await asyncio.gather(*calls, return_exceptions=True)
        await shop.client.close()
    assert any(isinstance(outcome, aio.AioRpcError) for outcome in outcomes)

    await psp.set_faults(latency_ms=0)
    await asyncio.sleep(1.6)  # the dead runner's leases run out
    # Awaited, not subprocess.run: the simulator serves from this test's event loop, and a
    # blocked loop would leave the worker's PSP calls hanging until their timeout.
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "paycore.cli",
        "worker",
        "--once",
        env=server_environment(
            migrated,
            free_port(),
            free_port(),
            PAYCORE_WORKER_METRICS_ADDR=f"127.0.0.1:{free_port()}",
            **extra,
        ),
    )
    assert await asyncio.wait_for(worker.wait(), 60) == 0

    async with serving_process(migrated, **extra) as (_, port, _):
        target = f"127.0.0.1:{port}"
        async with connect(target, secret_key) as client:
            # The clients retry with their keys: a finished request answers as stored, an
            # abandoned one resumes, one that never got recorded runs now.
            retried = [
                await client.payments.CreatePaymentIntent(
                    request, metadata=(("idempotency-key", key),)
                )
                for request, key in zip(requests, keys, strict=True)
            ]
            listed = await client.payments.ListPaymentIntents(
                payment_pb2.ListPaymentIntentsRequest(limit=100)
            )
            pending = (await client.wallet.GetBalance(wallet_pb2.GetBalanceRequest())).pending
        async with connect(target, migrated.admin_token, acting_for=merchant_id) as operator:
            report = await operator.ledger.CheckIntegrity(
                ledger_pb2.CheckIntegrityRequest(merchant=merchant_id)
            )

    assert {intent.status for intent in retried} == {payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED}
    assert sorted(intent.id for intent in listed.data) == sorted(intent.id for intent in retried)
    charges = [
        line
        for chunk in settlement_lines(psp.data_dir, dt.datetime.now(dt.UTC).date())
        for text in chunk
        if (line := json.loads(text))["merchant"] == merchant_id and line["type"] == "charge"
    ]
    assert sorted(line["reference"] for line in charges) == sorted(
        intent.id for intent in retried
    )  # one charge per payment, none twice
    assert report.ok, list(report.mismatches)
    assert [(money.currency, money.amount) for money in pending] == [
        ("usd", PAYMENTS * (AMOUNT - fee(AMOUNT)))
    ]


async def _until_charges_are_in_flight(settings: Settings, merchant_id: str) -> None:
    """Waits until some intent has committed its first phase (processing, its charge at the
    PSP), so the kill lands mid-payment."""
    platform = build_platform(settings, CollectorRegistry())
    try:
        for _ in range(200):
            page = await platform.pay_in.intents.list(merchant_id, Cursor(100), "")
            if any(intent.status is IntentStatus.PROCESSING for intent in page.data):
                return
            await asyncio.sleep(0.01)
        raise AssertionError("no payment reached the PSP")
    finally:
        await platform.close()
