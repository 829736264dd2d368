"""Every ghz config in deploy/ghz runs against a server with zero errors, rendered from the
environment as deploy/README.md says (`envsubst`), by reflection or from protos/.

ghz is a Go binary no registry here has: the tests use the nearest `shared/tools/ghz` above the
repository (the machine's copy, ../shared/tools/ghz from the main checkout), `$PAYCORE_GHZ`, or
`ghz` on PATH, and skip without one; tests/runtime/test_reflection.py asks reflection exactly
what ghz asks, so the contract ghz needs is checked either way."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import google.api.annotations_pb2
import pytest
from paycore.tools.psp.cards import CARD_SUCCEEDS
from paycore.v1 import payment_pb2

from tests.payment.shop import PayIn, Shop

REPOSITORY = Path(__file__).resolve().parents[2]
CONFIGS = sorted((REPOSITORY / "deploy" / "ghz").glob("*.json"))
CALLS_PER_RUN = 60
_PLACEHOLDER = re.compile(r"\$\{([A-Z_]+)\}")


def ghz_binary() -> Path | None:
    chosen = os.environ.get("PAYCORE_GHZ") or shutil.which("ghz")
    if chosen:
        return Path(chosen)
    for folder in REPOSITORY.parents:
        candidate = folder / "shared" / "tools" / "ghz"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


GHZ = ghz_binary()
needs_ghz = pytest.mark.skipif(GHZ is None, reason="no ghz binary (../shared/tools/ghz)")


def envsubst(text: str, environment: dict[str, str]) -> str:
    """What `envsubst` does with the configs' ${NAME} placeholders."""
    return _PLACEHOLDER.sub(lambda match: environment[match.group(1)], text)


def rendered(config: Path, environment: dict[str, str], tmp_path: Path) -> Path:
    """The config as the README renders it, with a bounded number of calls instead of its
    duration (the machine is shared)."""
    settings: dict[str, Any] = json.loads(envsubst(config.read_text(), environment))
    settings.pop("duration", None)
    settings["total"] = CALLS_PER_RUN
    target = tmp_path / config.name
    target.write_text(json.dumps(settings))
    return target


async def run_ghz(config: Path) -> dict[str, Any]:
    assert GHZ is not None
    process = await asyncio.create_subprocess_exec(
        str(GHZ),
        "--config",
        str(config),
        "--format",
        "json",
        cwd=REPOSITORY,  # get_merchant_protos.json names protos/ relative to the repository
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, stderr.decode()
    report: dict[str, Any] = json.loads(stdout)
    return report


def test_every_config_uses_fresh_idempotency_keys_and_printable_templates() -> None:
    assert {config.name for config in CONFIGS} >= {
        "health.json",
        "get_merchant.json",
        "get_merchant_protos.json",
        "payments.json",
    }
    for config in CONFIGS:
        metadata = json.loads(config.read_text()).get("metadata", {})
        # {{.WorkerID}} renders characters the server's metadata checks refuse (NOTES.md).
        assert "WorkerID" not in json.dumps(metadata), config.name
        if "idempotency-key" in metadata:
            assert metadata["idempotency-key"] == "{{newUUID}}", config.name


@needs_ghz
@pytest.mark.parametrize("config", CONFIGS, ids=[config.stem for config in CONFIGS])
async def test_config_runs_with_zero_errors(
    config: Path, payin: PayIn, shop: Shop, tmp_path: Path
) -> None:
    environment = {
        "PAYCORE_GRPC_ADDR": payin.target,
        "PAYCORE_BENCH_API_KEY": shop.merchant.secret_key,
        "PAYCORE_BENCH_MERCHANT_ID": shop.id,
        "PAYCORE_BENCH_PAYMENT_METHOD": await shop.card(CARD_SUCCEEDS),
        "PAYCORE_GOOGLEAPIS_PROTOS": str(Path(google.api.annotations_pb2.__file__).parents[2]),
    }
    report = await run_ghz(rendered(config, environment, tmp_path))
    assert report["count"] == CALLS_PER_RUN
    assert report["statusCodeDistribution"] == {"OK": CALLS_PER_RUN}, report
    assert not report.get("errorDistribution"), report["errorDistribution"]
    if config.name == "payments.json":  # every call a new intent: the keys were fresh
        statuses = await settled_statuses(payin, shop)
        assert len(statuses) == CALLS_PER_RUN
        assert set(statuses) == {payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED}


async def settled_statuses(
    payin: PayIn, shop: Shop, timeout_seconds: float = 30
) -> list[payment_pb2.PaymentIntentStatus.ValueType]:
    """The statuses of the shop's intents once none is processing. Under load a PSP call can
    outlast the test's short PSP timeout: the intent answers `processing` and the worker's
    pass (here run in between, as `paycore worker` would) asks the PSP and finishes it
    (docs/payments.md); every one must still end succeeded."""
    deadline = asyncio.get_running_loop().time() + timeout_seconds
    while True:
        listed = await shop.client.payments.ListPaymentIntents(
            payment_pb2.ListPaymentIntentsRequest(limit=100)
        )
        statuses = [intent.status for intent in listed.data]
        processing = payment_pb2.PAYMENT_INTENT_STATUS_PROCESSING in statuses
        if not processing or asyncio.get_running_loop().time() > deadline:
            return statuses
        await payin.run_worker_once()
        await asyncio.sleep(0.2)
