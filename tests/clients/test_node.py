"""Node clients: stripe-node against the edge (tests/clients/node/stripe.test.mjs, and Stripe's
Node quickstarts as written in tests/clients/node/quickstarts.test.mjs) and a gRPC
service written with @grpc/grpc-js + @grpc/proto-loader over the protos the wheel ships
(tests/clients/node/grpc.test.mjs). Each runs under `node --test` while the servers run here.

The packages come from tests/clients/node/package.json and its package-lock.json: `make test`
runs `npm ci` there (the npm cache keeps later installs offline); run directly, pytest does it
once when node_modules is missing."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import google.api.annotations_pb2
import grpc_tools  # type: ignore[import-untyped]
import pytest
from paycore.client import connect
from paycore.config import Settings
from paycore.edge import start_edge
from paycore.runtime.server import GrpcServer
from paycore.v1 import account_pb2

from tests.clients.conftest import EdgeMerchant, Pki, StripeWorld, new_edge_merchant
from tests.helpers import serving
from tests.payment.shop import NO_LIMITS, PayIn, Shop

NODE_DIR = Path(__file__).parent / "node"
REPOSITORY = Path(__file__).resolve().parents[2]
NODE_RUN_SECONDS_MAX = 240
QUICKSTART_COUNT = 7  # the tests in quickstarts.test.mjs
AFTER_PAYMENT_COUNT = 2  # the tests in after_payment.test.mjs
INFO = "\N{INFORMATION SOURCE}"  # how node --test's spec reporter starts its summary lines

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or shutil.which("npm") is None, reason="Node and npm are needed"
)


@pytest.fixture(scope="session")
def node_modules() -> Path:
    installed = NODE_DIR / "node_modules"
    lock = NODE_DIR / "package-lock.json"
    if not installed.is_dir() or installed.stat().st_mtime < lock.stat().st_mtime:
        subprocess.run(
            ["npm", "ci", "--prefer-offline", "--no-audit", "--no-fund"],
            cwd=NODE_DIR,
            check=True,
            timeout=300,
        )
    return installed


async def run_node_tests(script: str, environment: dict[str, str]) -> str:
    process = await asyncio.create_subprocess_exec(
        "node",
        "--test",
        "--test-reporter=spec",
        script,
        cwd=NODE_DIR,
        env={**os.environ, **environment},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=NODE_RUN_SECONDS_MAX)
    text = output.decode()
    assert process.returncode == 0, text
    return text


async def test_stripe_node_against_the_edge(
    node_modules: Path,
    payin: PayIn,
    edge_merchant: EdgeMerchant,
    lossy_proxy: tuple[str, list[tuple[str, str]]],
    migrated: Settings,
) -> None:
    proxy_url, seen = lossy_proxy
    pager = await new_edge_merchant(payin, edge_merchant.url, name="Pager")
    lossy = await new_edge_merchant(payin, edge_merchant.url, name="Lossy")
    limits = {**NO_LIMITS, "other": 1}
    async with serving(migrated.with_overrides(rate_limits_per_second=limits)) as target:
        limited_edge = await start_edge(target, "127.0.0.1:0")
        try:
            limited = await new_edge_merchant(payin, edge_merchant.url, name="Limited")
            output = await run_node_tests(
                "stripe.test.mjs",
                {
                    "PAYCORE_EDGE_URL": edge_merchant.url,
                    "PAYCORE_SECRET_KEY": edge_merchant.secret_key,
                    "PAYCORE_PUBLISHABLE_KEY": edge_merchant.publishable_key,
                    "PAYCORE_PAGER_KEY": pager.secret_key,
                    "PAYCORE_LOSSY_URL": proxy_url,
                    "PAYCORE_LOSSY_KEY": lossy.secret_key,
                    "PAYCORE_LIMITED_URL": f"http://127.0.0.1:{limited_edge.port}",
                    "PAYCORE_LIMITED_KEY": limited.secret_key,
                },
            )
        finally:
            await limited_edge.close()
    assert f"{INFO} pass 10" in output and f"{INFO} fail 0" in output, output
    keys = {key for what, key in seen if what == "POST /v1/payment_intents"}
    assert len(seen) == 2 and len(keys) == 1 and keys != {""}  # stripe-node's own key, twice


async def test_stripe_node_quickstarts(
    node_modules: Path, payin: PayIn, edge_merchant: EdgeMerchant
) -> None:
    """Stripe's Node guides as written (tests/clients/node/quickstarts.test.mjs), each test with
    a merchant of its own, as in tests/clients/test_stripe_quickstarts.py."""
    merchants = [
        await new_edge_merchant(payin, edge_merchant.url, name=f"Quickstart {number}")
        for number in range(QUICKSTART_COUNT)
    ]
    output = await run_node_tests(
        "quickstarts.test.mjs",
        {
            "PAYCORE_EDGE_URL": edge_merchant.url,
            "PAYCORE_QUICKSTART_KEYS": ",".join(merchant.secret_key for merchant in merchants),
        },
    )
    assert f"{INFO} pass {QUICKSTART_COUNT}" in output and f"{INFO} fail 0" in output, output


async def test_stripe_node_after_payment(node_modules: Path, stripe_world: StripeWorld) -> None:
    """Webhooks verified with stripe.webhooks.constructEvent, refunds, the balance and the
    refusals of money-out (tests/clients/node/after_payment.test.mjs), a merchant per test, in
    the pay-out world whose worker delivers the webhooks."""
    url = stripe_world.merchant.url
    second = await new_edge_merchant(stripe_world.world, url, name="After payment")
    output = await run_node_tests(
        "after_payment.test.mjs",
        {
            "PAYCORE_EDGE_URL": url,
            "PAYCORE_AFTER_PAYMENT_KEYS": f"{stripe_world.merchant.secret_key},{second.secret_key}",
        },
    )
    assert f"{INFO} pass {AFTER_PAYMENT_COUNT}" in output and f"{INFO} fail 0" in output, output


@pytest.fixture(scope="session")
def wheel_protos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The .proto files of the wheel `pip wheel .` builds (paycore/protos/ inside it)."""
    built = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"),
            *("-w", str(built), str(REPOSITORY)),
        ],
        check=True,
        timeout=120,
    )
    (wheel,) = built.glob("paycore-*.whl")
    unpacked = built / "unpacked"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(unpacked, [n for n in archive.namelist() if n.endswith(".proto")])
    return unpacked / "paycore" / "protos"


async def test_a_node_grpc_client_with_the_wheels_protos(
    node_modules: Path, wheel_protos: Path, payin: PayIn, shop: Shop
) -> None:
    includes = [
        Path(google.api.annotations_pb2.__file__).parents[2],  # google/api/*.proto
        Path(grpc_tools.__file__).parent / "_proto",  # google/protobuf/descriptor.proto
    ]
    output = await run_node_tests(
        "grpc.test.mjs",
        {
            "PAYCORE_GRPC_TARGET": payin.target,
            "PAYCORE_SECRET_KEY": shop.merchant.secret_key,
            "PAYCORE_PROTO_ROOT": str(wheel_protos),
            "PAYCORE_PROTO_INCLUDES": ":".join(str(path) for path in includes),
        },
    )
    assert f"{INFO} pass 1" in output and f"{INFO} fail 0" in output, output
    assert (wheel_protos / "paycore" / "v1" / "payment.proto").is_file()


async def test_a_node_grpc_client_over_mtls_reads_the_rich_errors(
    node_modules: Path, wheel_protos: Path, mtls_server: tuple[GrpcServer, Settings], pki: Pki
) -> None:
    """grpc_tls.test.mjs: the Node service over mutual TLS (an idempotent create; without its
    certificate refused at once) decoding a bad request's google.rpc.Status from
    grpc-status-details-bin with the googleapis protos, as docs/client.md's error_details does
    in Python."""
    server, settings = mtls_server
    async with connect(
        f"127.0.0.1:{server.port}", settings.admin_token, tls=pki.trust(pki.client)
    ) as admin:
        merchant = await admin.accounts.CreateMerchant(
            account_pb2.CreateMerchantRequest(
                name="Node TLS", email="n@acme.test", country="US", default_currency="usd"
            ),
            timeout=5,
        )
    includes = [
        Path(google.api.annotations_pb2.__file__).parents[2],  # google/api, google/rpc
        Path(grpc_tools.__file__).parent / "_proto",  # google/protobuf/descriptor.proto
    ]
    output = await run_node_tests(
        "grpc_tls.test.mjs",
        {
            "PAYCORE_GRPC_TARGET": f"localhost:{server.port}",
            "PAYCORE_SECRET_KEY": merchant.secret_key,
            "PAYCORE_PROTO_ROOT": str(wheel_protos),
            "PAYCORE_PROTO_INCLUDES": ":".join(str(path) for path in includes),
            "PAYCORE_GRPC_CA_FILE": str(pki.ca.cert_file),
            "PAYCORE_GRPC_CERT_FILE": str(pki.client.cert_file),
            "PAYCORE_GRPC_KEY_FILE": str(pki.client.key_file),
        },
    )
    assert f"{INFO} pass 2" in output and f"{INFO} fail 0" in output, output
