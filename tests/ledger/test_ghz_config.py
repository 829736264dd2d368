"""Issue 3, item 5: the ledger's ghz config (deploy/ghz/ledger/post_transfer.json) and what it
needs (paycore.tools.bench.ledger_ghz): every call posts a new transfer of the merchant's
shard, with ids ghz makes from a fixed prefix and random characters."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import google.api.annotations_pb2
from google.protobuf import json_format
from hypothesis import given
from hypothesis import strategies as st
from paycore.client import Paycore
from paycore.config import Settings
from paycore.ids import BASE62_ALPHABET, MAX_LOGICAL_SHARDS, Prefix, logical_shard_of, new_id
from paycore.tools.bench.ledger_ghz import (
    RANDOM_SUFFIX_LENGTH,
    ghz_environment,
    transfer_id_prefix,
)
from paycore.v1 import ledger_pb2

from tests.deploy.test_ghz import envsubst, needs_ghz, run_ghz
from tests.helpers import MerchantFixture
from tests.ledger.support import balances, integrity_ok, post

CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "ghz" / "ledger" / "post_transfer.json"
CALLS = 60
_SUFFIXES = st.text(
    alphabet=BASE62_ALPHABET, min_size=RANDOM_SUFFIX_LENGTH, max_size=RANDOM_SUFFIX_LENGTH
)


@given(
    shard=st.integers(0, MAX_LOGICAL_SHARDS - 1),
    now_ms=st.integers(1_600_000_000_000, 4_000_000_000_000),
    suffix=_SUFFIXES,
)
def test_any_suffix_keeps_the_merchants_shard(shard: int, now_ms: int, suffix: str) -> None:
    merchant_id = new_id(Prefix.ACCOUNT, shard)
    prefix = transfer_id_prefix(merchant_id, now_ms)
    for chosen in (suffix, "0" * RANDOM_SUFFIX_LENGTH, "z" * RANDOM_SUFFIX_LENGTH):
        assert logical_shard_of(prefix + chosen, Prefix.LEDGER_TRANSFER) == shard


def _rendered(environment: dict[str, str], suffix: str) -> dict[str, Any]:
    """The config after envsubst, with ghz's {{randomString 11}} made `suffix`."""
    text = envsubst(CONFIG.read_text(), environment)
    config: dict[str, Any] = json.loads(text.replace("{{randomString 11}}", suffix))
    return config


async def _environment(
    target: str, settings: Settings, merchant: MerchantFixture
) -> dict[str, str]:
    prepared = await ghz_environment(
        target, settings.admin_token, merchant.merchant.id, time.time_ns() // 1_000_000
    )
    return {
        **prepared,
        "PAYCORE_GRPC_ADDR": target,
        "PAYCORE_ADMIN_TOKEN": settings.admin_token,
        "PAYCORE_GOOGLEAPIS_PROTOS": str(Path(google.api.annotations_pb2.__file__).parents[2]),
    }


async def test_the_rendered_call_posts_a_transfer(
    target: str, settings: Settings, merchant: MerchantFixture, admin: Paycore
) -> None:
    environment = await _environment(target, settings, merchant)
    config = _rendered(environment, "Ghz0Call0Aa")
    request = json_format.ParseDict(config["data"], ledger_pb2.PostTransfersRequest())

    assert config["call"] == "paycore.v1.LedgerService.PostTransfers"
    assert await post(admin, *request.transfers) == ["CREATED"]
    assert await post(admin, *request.transfers) == ["EXISTS"]
    credit = environment["PAYCORE_BENCH_CREDIT_ACCOUNT"]
    assert await balances(admin, credit) == (0, 1, 0, 0)
    again = await _environment(target, settings, merchant)
    assert again["PAYCORE_BENCH_CREDIT_ACCOUNT"] == credit  # the same accounts, found again
    await integrity_ok(admin, merchant.merchant.id)


@needs_ghz
async def test_ghz_runs_the_config_with_a_new_transfer_per_call(
    target: str,
    settings: Settings,
    merchant: MerchantFixture,
    admin: Paycore,
    tmp_path: Path,
) -> None:
    environment = await _environment(target, settings, merchant)
    config: dict[str, Any] = json.loads(envsubst(CONFIG.read_text(), environment))
    config.pop("duration")
    config["total"] = CALLS
    rendered = tmp_path / CONFIG.name
    rendered.write_text(json.dumps(config))

    report = await run_ghz(rendered)

    assert report["statusCodeDistribution"] == {"OK": CALLS}, report
    credit = environment["PAYCORE_BENCH_CREDIT_ACCOUNT"]
    assert await balances(admin, credit) == (0, CALLS, 0, 0)
    await integrity_ok(admin, merchant.merchant.id)


def test_the_config_is_where_the_deploy_readme_says() -> None:
    readme = (CONFIG.parents[2] / "README.md").read_text()
    assert "ghz/ledger/post_transfer.json" in readme
    assert "paycore.tools.bench.ledger_ghz" in readme
