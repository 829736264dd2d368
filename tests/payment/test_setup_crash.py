"""SIGKILL of the server with SetupIntent verifications in flight at the PSP. After a restart,
the worker and the clients' retries (same idempotency keys) finish them: one verification per
setup at the PSP, every setup succeeded once (its event once), its card attached once."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import sys

import pytest
from grpc import aio
from paycore.app import build_platform
from paycore.client import Paycore, connect
from paycore.config import Settings
from paycore.tools.psp.store import DATABASE_FILE
from paycore.v1 import customer_pb2, event_pb2, ledger_pb2, payment_pb2
from prometheus_client import CollectorRegistry
from sqlalchemy import text

from tests.customer.support import new_card, new_customer
from tests.helpers import (
    PspSimulator,
    create_merchant,
    free_port,
    server_environment,
    serving_process,
)
from tests.payment.shop import good_card

pytestmark = pytest.mark.slow
SETUPS = 10
P = payment_pb2


async def test_sigkill_mid_setup_then_recovery_verifies_each_setup_once(
    migrated: Settings, psp: PspSimulator
) -> None:
    await psp.set_faults(latency_ms=500)
    extra = {
        "PAYCORE_PSP_URL": psp.url,
        "PAYCORE_PSP_TIMEOUT_MS": "3000",
        "PAYCORE_EXECUTOR_LEASE_MS": "1500",
        "PAYCORE_RATE_LIMITS": "payments=0,subscriptions=0,other=0",
    }
    keys = [f"seti-crash-{index}" for index in range(SETUPS)]
    async with serving_process(migrated, **extra) as (process, port, _):
        target = f"127.0.0.1:{port}"
        async with connect(target, migrated.admin_token) as admin:
            shop = await create_merchant(admin, target, name="Crashing setups")
        merchant_id, secret_key = shop.merchant.id, shop.merchant.secret_key
        customers = [(await new_customer(shop.client)).id for _ in keys]
        methods = [(await new_card(shop.client, good_card())).id for _ in keys]
        requests = [
            P.CreateSetupIntentRequest(customer=customer, payment_method=method, confirm=True)
            for customer, method in zip(customers, methods, strict=True)
        ]
        calls = [
            asyncio.ensure_future(
                shop.client.payments.CreateSetupIntent(r, metadata=(("idempotency-key", k),))
            )
            for r, k in zip(requests, keys, strict=True)
        ]
        await _until_processing(migrated, merchant_id)
        process.kill()
        outcomes = await asyncio.gather(*calls, return_exceptions=True)
        await shop.client.close()
    assert any(isinstance(outcome, aio.AioRpcError) for outcome in outcomes)

    await psp.set_faults(latency_ms=0)
    await asyncio.sleep(1.6)
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
            retried = [
                await client.payments.CreateSetupIntent(r, metadata=(("idempotency-key", k),))
                for r, k in zip(requests, keys, strict=True)
            ]
            events = {setup.id: await _types(client, setup.id) for setup in retried}
            attached = {method: await _types(client, method) for method in methods}
            found = [
                await client.customers.GetPaymentMethod(customer_pb2.GetPaymentMethodRequest(id=m))
                for m in methods
            ]
            setups_per_customer = [
                len(
                    (
                        await client.payments.ListSetupIntents(
                            P.ListSetupIntentsRequest(customer=customer)
                        )
                    ).data
                )
                for customer in customers
            ]
        async with connect(target, migrated.admin_token, acting_for=merchant_id) as operator:
            report = await operator.ledger.CheckIntegrity(
                ledger_pb2.CheckIntegrityRequest(merchant=merchant_id)
            )
    assert {s.status for s in retried} == {P.SETUP_INTENT_STATUS_SUCCEEDED}, retried
    assert setups_per_customer == [1] * SETUPS
    assert all(
        types == ["setup_intent.created", "setup_intent.succeeded"] for types in events.values()
    ), events
    assert all(types == ["payment_method.attached"] for types in attached.values()), attached
    assert [m.customer for m in found] == customers
    with contextlib.closing(sqlite3.connect(psp.data_dir / DATABASE_FILE)) as connection:
        bodies = [
            json.loads(row[0])
            for row in connection.execute("select body from operations where operation = 'setup'")
        ]
    references = sorted(body.get("reference", "") for body in bodies)
    assert references == sorted(s.id for s in retried), references
    assert report.ok, list(report.mismatches)


async def _types(client: Paycore, object_id: str) -> list[str]:
    listed = await client.events.ListEvents(
        event_pb2.ListEventsRequest(object_id=object_id, limit=100)
    )
    return sorted(event.type for event in listed.data)


async def _until_processing(settings: Settings, merchant_id: str) -> None:
    platform = build_platform(settings, CollectorRegistry())
    try:
        for _ in range(300):
            async with platform.shards.read(merchant_id) as connection:
                rows = await connection.execute(
                    text("select status from setup_intents where merchant_id = :m"),
                    {"m": merchant_id},
                )
                if any(row.status == "processing" for row in rows.all()):
                    return
            await asyncio.sleep(0.01)
        raise AssertionError("no setup reached the PSP")
    finally:
        await platform.close()
