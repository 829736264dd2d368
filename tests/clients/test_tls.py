"""TLS on the gRPC port and the edge, mTLS with a configured client CA, and the typed client's
TLS options, with certificates made in the test (tests/clients/certificates.py)."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import ssl
import sys
from pathlib import Path
from typing import Any

import google.api.annotations_pb2
import grpc
import pytest
import stripe
from aiohttp import ClientSession, TCPConnector
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from paycore.client import Tls, connect
from paycore.config import Settings, load_settings
from paycore.edge import start_edge
from paycore.errors import ConfigurationError
from paycore.runtime.server import GrpcServer
from paycore.runtime.tls import grpc_caller_tls, grpc_server_tls, http_server_tls
from paycore.v1 import account_pb2

from tests.clients.conftest import Pki, tls_serving
from tests.deploy.test_ghz import GHZ, REPOSITORY, envsubst, run_ghz

SERVING = health_pb2.HealthCheckResponse.SERVING
PAYCORE = str(Path(sys.executable).with_name("paycore"))


async def _merchant_name(target: str, settings: Settings, tls: Tls | None) -> str:
    async with connect(target, settings.admin_token, tls=tls, retries=False) as admin:
        created = await admin.accounts.CreateMerchant(
            account_pb2.CreateMerchantRequest(
                name="Over TLS", email="tls@acme.test", country="US", default_currency="usd"
            ),
            timeout=5,
        )
    return created.name


async def _health(target: str, tls: Tls, service: str) -> int:
    async with connect(target, "unused", tls=tls) as client:
        stub: Any = health_pb2_grpc.HealthStub(client.channel)
        answer = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
    return int(answer.status)


async def test_grpc_serves_tls_to_a_client_that_trusts_its_ca(
    tls_server: tuple[GrpcServer, Settings], pki: Pki
) -> None:
    server, settings = tls_server
    target = f"127.0.0.1:{server.port}"
    assert await _merchant_name(target, settings, pki.trust()) == "Over TLS"
    # by name too: the certificate is for localhost and 127.0.0.1
    assert await _merchant_name(f"localhost:{server.port}", settings, pki.trust()) == "Over TLS"
    with pytest.raises(aio.AioRpcError) as plaintext:
        await _merchant_name(target, settings, None)
    assert plaintext.value.code() == grpc.StatusCode.UNAVAILABLE
    untrusted = Tls(root_certificates=pki.stranger.cert)  # not a CA of this server
    with pytest.raises(aio.AioRpcError) as unknown_ca:
        await _merchant_name(target, settings, untrusted)
    assert unknown_ca.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_the_internal_port_requires_a_client_certificate_from_its_ca(
    mtls_server: tuple[GrpcServer, Settings], pki: Pki
) -> None:
    server, settings = mtls_server
    target = f"127.0.0.1:{server.port}"
    assert await _merchant_name(target, settings, pki.trust(pki.client)) == "Over TLS"
    for refused in (pki.trust(), pki.trust(pki.stranger)):  # no certificate; another CA's
        with pytest.raises(aio.AioRpcError) as raised:
            await _merchant_name(target, settings, refused)
        assert raised.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_with_an_internal_port_only_it_requires_client_certificates(
    migrated: Settings, pki: Pki
) -> None:
    settings = migrated.with_overrides(
        grpc_tls_cert_file=str(pki.server.cert_file),
        grpc_tls_key_file=str(pki.server.key_file),
        grpc_tls_client_ca_file=str(pki.ca.cert_file),
        internal_grpc_addr="127.0.0.1:0",
    )
    async for server, _ in tls_serving(settings):
        assert server.internal is not None
        public = f"127.0.0.1:{server.port}"
        internal = f"127.0.0.1:{server.internal.port}"
        assert await _merchant_name(public, settings, pki.trust()) == "Over TLS"
        ledger = "paycore.v1.LedgerService"  # served on the internal port only
        assert await _health(internal, pki.trust(pki.client), ledger) == SERVING
        with pytest.raises(aio.AioRpcError) as refused:
            await _health(internal, pki.trust(), ledger)
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_the_edge_serves_https_and_speaks_mtls_to_grpc(
    mtls_server: tuple[GrpcServer, Settings], pki: Pki
) -> None:
    server, settings = mtls_server
    edge_settings = settings.with_overrides(
        http_tls_cert_file=str(pki.server.cert_file),
        http_tls_key_file=str(pki.server.key_file),
        grpc_tls_ca_file=str(pki.ca.cert_file),
        grpc_client_cert_file=str(pki.client.cert_file),
        grpc_client_key_file=str(pki.client.key_file),
    )
    edge = await start_edge(
        f"127.0.0.1:{server.port}",
        "127.0.0.1:0",
        operator_routes=True,  # CreateMerchant below, with the admin token
        tls=http_server_tls(edge_settings),
        upstream_tls=grpc_caller_tls(edge_settings),
    )
    trusted = ssl.create_default_context(cafile=str(pki.ca.cert_file))
    try:
        async with ClientSession(connector=TCPConnector(ssl=trusted)) as https:
            url = f"https://127.0.0.1:{edge.port}"
            async with https.get(f"{url}/healthz") as health:
                assert (health.status, await health.json()) == (200, {"status": "ok"})
            async with https.post(
                f"{url}/v1/merchants",
                headers={"Authorization": f"Bearer {settings.admin_token}"},
                data={
                    "name": "Edge TLS",
                    "email": "e@acme.test",
                    "country": "US",
                    "default_currency": "usd",
                },
            ) as created:
                body = await created.json()
                assert (created.status, body["object"], body["name"]) == (
                    200,
                    "account",
                    "Edge TLS",
                )
        async with ClientSession() as plain:
            with pytest.raises(Exception, match=r"(?i)ssl|certificate|disconnect"):
                async with plain.get(f"http://127.0.0.1:{edge.port}/healthz") as answer:
                    await answer.read()
    finally:
        await edge.close()


async def test_the_stripe_sdk_reaches_an_https_edge_trusting_its_ca(
    tls_server: tuple[GrpcServer, Settings], pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    """stripe-python trusts its own CA bundle, not the system's nor REQUESTS_CA_BUNDLE: against
    an edge whose certificate a private CA signed it needs `stripe.ca_bundle_path` (the way
    docs/security.md gives), else every call is APIConnectionError."""
    server, settings = tls_server
    edge_settings = settings.with_overrides(
        http_tls_cert_file=str(pki.server.cert_file),
        http_tls_key_file=str(pki.server.key_file),
        grpc_tls_ca_file=str(pki.ca.cert_file),
    )
    edge = await start_edge(
        f"127.0.0.1:{server.port}",
        "127.0.0.1:0",
        tls=http_server_tls(edge_settings),
        upstream_tls=grpc_caller_tls(edge_settings),
    )
    try:
        async with connect(
            f"127.0.0.1:{server.port}", settings.admin_token, tls=pki.trust()
        ) as admin:
            merchant = await admin.accounts.CreateMerchant(
                account_pb2.CreateMerchantRequest(
                    name="SDK over TLS", email="sdk@acme.test", country="US", default_currency="usd"
                )
            )
        sdk = stripe.StripeClient(
            merchant.secret_key,
            base_addresses={"api": f"https://127.0.0.1:{edge.port}"},
            max_network_retries=0,
        )
        with pytest.raises(stripe.APIConnectionError):
            await asyncio.to_thread(sdk.v1.customers.list)
        monkeypatch.setattr(stripe, "ca_bundle_path", str(pki.ca.cert_file))
        sdk = stripe.StripeClient(
            merchant.secret_key,
            base_addresses={"api": f"https://127.0.0.1:{edge.port}"},
            max_network_retries=0,
        )
        customer = await asyncio.to_thread(
            sdk.v1.customers.create, params={"email": "tls@buyer.test"}
        )
        assert customer.email == "tls@buyer.test"
    finally:
        await edge.close()


def test_settings_read_tls_from_the_environment(pki: Pki) -> None:
    environment = {
        "PAYCORE_GRPC_TLS_CERT_FILE": str(pki.server.cert_file),
        "PAYCORE_GRPC_TLS_KEY_FILE": str(pki.server.key_file),
        "PAYCORE_GRPC_TLS_CLIENT_CA_FILE": str(pki.ca.cert_file),
        "PAYCORE_HTTP_TLS_CERT_FILE": str(pki.server.cert_file),
        "PAYCORE_HTTP_TLS_KEY_FILE": str(pki.server.key_file),
        "PAYCORE_GRPC_TLS_CA_FILE": str(pki.ca.cert_file),
        "PAYCORE_GRPC_CLIENT_CERT_FILE": str(pki.client.cert_file),
        "PAYCORE_GRPC_CLIENT_KEY_FILE": str(pki.client.key_file),
    }
    settings = load_settings(environment)
    served = grpc_server_tls(settings, internal_port=True)
    assert served is not None and served.client_ca_file == pki.ca.cert_file
    public = grpc_server_tls(settings, internal_port=False)  # API keys there, no certificates
    assert public is not None and public.client_ca_file is None
    assert http_server_tls(settings) is not None
    caller = grpc_caller_tls(settings)
    assert caller is not None and caller.certificate_chain == pki.client.cert
    assert "PRIVATE KEY" not in repr(caller) and "PRIVATE KEY" not in repr(settings)
    plain = load_settings({})
    assert (grpc_server_tls(plain, internal_port=True), http_server_tls(plain)) == (None, None)
    assert grpc_caller_tls(plain) is None
    with pytest.raises(ConfigurationError, match="PAYCORE_GRPC_TLS_CERT_FILE"):
        grpc_server_tls(
            load_settings({"PAYCORE_GRPC_TLS_CERT_FILE": str(pki.server.cert_file)}),
            internal_port=False,
        )
    with pytest.raises(ConfigurationError, match="no file"):
        grpc_server_tls(
            load_settings(
                {"PAYCORE_GRPC_TLS_CERT_FILE": "/nope.pem", "PAYCORE_GRPC_TLS_KEY_FILE": "/k"}
            ),
            internal_port=False,
        )


async def test_paycore_health_asks_a_tls_port_with_the_callers_settings(
    mtls_server: tuple[GrpcServer, Settings], pki: Pki
) -> None:
    """`paycore health` (the image's HEALTHCHECK, production's probes) reaches a port that
    serves mTLS with the settings paycore's callers use (PAYCORE_GRPC_TLS_CA_FILE and the
    client certificate); it spoke plaintext only, so such a server was never SERVING."""
    server, _ = mtls_server
    environment = {
        **os.environ,
        "PAYCORE_GRPC_TLS_CA_FILE": str(pki.ca.cert_file),
        "PAYCORE_GRPC_CLIENT_CERT_FILE": str(pki.client.cert_file),
        "PAYCORE_GRPC_CLIENT_KEY_FILE": str(pki.client.key_file),
    }
    command = [PAYCORE, "health", "--target", f"127.0.0.1:{server.port}"]
    asked = await _run(*command, "--server-name", "localhost", environment=environment)
    assert asked == (0, "SERVING"), asked
    without_certificate = {**environment, "PAYCORE_GRPC_CLIENT_CERT_FILE": ""}
    without_certificate["PAYCORE_GRPC_CLIENT_KEY_FILE"] = ""
    # The handshake refused, no status was read: unreachable (8b243f46), exit 1 as before.
    refused, said = await _run(*command, environment=without_certificate)
    assert (refused, said.split(":")[0]) == (1, "UNREACHABLE"), said


async def _run(*command: str, environment: dict[str, str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *command, env=environment, stdout=asyncio.subprocess.PIPE
    )
    output, _ = await process.communicate()
    return process.returncode or 0, output.decode().strip()


async def test_the_ledgers_ghz_setup_and_config_reach_an_mtls_port(
    mtls_server: tuple[GrpcServer, Settings], pki: Pki, tmp_path: Path
) -> None:
    """deploy/README.md's ledger ghz run against a deployment whose gRPC port serves mTLS (the
    production overlay's): `paycore.tools.bench.ledger_ghz` speaks TLS with the callers'
    settings, as `paycore health` does (it spoke plaintext only: a traceback, UNAVAILABLE), and
    the rendered config, its `insecure` swapped for the certificates as the README says, posts."""
    server, settings = mtls_server
    target = f"127.0.0.1:{server.port}"
    async with connect(target, settings.admin_token, tls=pki.trust(pki.client)) as admin:
        merchant = await admin.accounts.CreateMerchant(
            account_pb2.CreateMerchantRequest(
                name="Ledger TLS", email="l@acme.test", country="US", default_currency="usd"
            ),
            timeout=5,
        )
    environment = {
        **os.environ,
        "PAYCORE_GRPC_TLS_CA_FILE": str(pki.ca.cert_file),
        "PAYCORE_GRPC_CLIENT_CERT_FILE": str(pki.client.cert_file),
        "PAYCORE_GRPC_CLIENT_KEY_FILE": str(pki.client.key_file),
    }
    command = [sys.executable, "-m", "paycore.tools.bench.ledger_ghz", "--target", target]
    command += [f"--admin-token={settings.admin_token}", "--merchant", merchant.id]
    code, printed = await _run(*command, environment=environment)
    assert code == 0, printed
    exported = dict(line.removeprefix("export ").split("=", 1) for line in printed.splitlines())
    assert exported["PAYCORE_BENCH_DEBIT_ACCOUNT"].startswith("la_"), exported

    if GHZ is None:
        return
    values = {
        **{name: shlex.split(value)[0] for name, value in exported.items()},
        "PAYCORE_GRPC_ADDR": target,
        "PAYCORE_ADMIN_TOKEN": settings.admin_token,
        "PAYCORE_GOOGLEAPIS_PROTOS": str(Path(google.api.annotations_pb2.__file__).parents[2]),
    }
    ledger_config = REPOSITORY / "deploy" / "ghz" / "ledger" / "post_transfer.json"
    config: dict[str, Any] = json.loads(envsubst(ledger_config.read_text(), values))
    assert config.pop("insecure") is True  # ghz's --cacert on the command line does not undo it
    config.update(
        cacert=str(pki.ca.cert_file), cert=str(pki.client.cert_file), key=str(pki.client.key_file)
    )
    config.pop("duration")
    config["total"] = 20
    rendered = tmp_path / "post_transfer.json"
    rendered.write_text(json.dumps(config))
    report = await run_ghz(rendered)
    assert report["statusCodeDistribution"] == {"OK": 20}, report


def test_a_client_certificate_without_its_key_is_refused_before_any_call(pki: Pki) -> None:
    """Half a client identity reached gRPC's C core, which aborts the whole process at the first
    call (`Check failed: private_key != nullptr`, SIGABRT): the edge, `paycore health` or a
    service on the typed client died with no word of which setting was wrong. A file that holds
    no PEM failed later as an opaque "Failed to create security handshaker"."""
    with pytest.raises(ValueError, match="key_file"):
        Tls.from_files(ca_file=str(pki.ca.cert_file), cert_file=str(pki.client.cert_file))
    with pytest.raises(ValueError, match="cert_file"):
        Tls.from_files(ca_file=str(pki.ca.cert_file), key_file=str(pki.client.key_file))
    with pytest.raises(ValueError, match="ca_file"):
        Tls.from_files(ca_file=str(pki.client.key_file))  # a key, not a certificate
    with pytest.raises(ValueError, match="key_file"):
        Tls.from_files(cert_file=str(pki.client.cert_file), key_file=str(pki.client.cert_file))
    ca = str(pki.ca.cert_file)
    halves = (
        ({"PAYCORE_GRPC_CLIENT_CERT_FILE": str(pki.client.cert_file)}, "_KEY_FILE"),
        ({"PAYCORE_GRPC_CLIENT_KEY_FILE": str(pki.client.key_file)}, "_CERT_FILE"),
    )
    for half, missing in halves:
        with pytest.raises(ConfigurationError, match=f"PAYCORE_GRPC_CLIENT{missing}"):
            grpc_caller_tls(load_settings({"PAYCORE_GRPC_TLS_CA_FILE": ca, **half}))
    with pytest.raises(ConfigurationError, match=r"PAYCORE_GRPC_TLS_CA_FILE: no file /nope\.pem"):
        grpc_caller_tls(load_settings({"PAYCORE_GRPC_TLS_CA_FILE": "/nope.pem"}))
    with pytest.raises(ConfigurationError, match="PAYCORE_GRPC_CLIENT_KEY_FILE"):
        grpc_caller_tls(
            load_settings(
                {
                    "PAYCORE_GRPC_TLS_CA_FILE": ca,
                    "PAYCORE_GRPC_CLIENT_CERT_FILE": str(pki.client.cert_file),
                    "PAYCORE_GRPC_CLIENT_KEY_FILE": str(pki.client.cert_file),  # not a key
                }
            )
        )


async def test_paycore_health_names_a_client_certificate_without_its_key(pki: Pki) -> None:
    environment = {
        **os.environ,
        "PAYCORE_GRPC_TLS_CA_FILE": str(pki.ca.cert_file),
        "PAYCORE_GRPC_CLIENT_CERT_FILE": str(pki.client.cert_file),
        "PAYCORE_GRPC_CLIENT_KEY_FILE": "",
    }
    process = await asyncio.create_subprocess_exec(
        PAYCORE,
        "health",
        "--target",
        "127.0.0.1:9",
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, said = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode is not None and process.returncode > 0, said  # not a signal
    assert b"PAYCORE_GRPC_CLIENT_KEY_FILE" in said, said


def test_a_key_that_is_not_the_certificates_is_refused_naming_the_settings(
    pki: Pki, tmp_path: Path
) -> None:
    """`paycore serve` given a key of another certificate, or a file holding no PEM, stopped with
    `RuntimeError: Failed to bind to address 127.0.0.1:50051` (gRPC's word for any credential it
    cannot load): an operator went looking for the process holding the port."""
    not_pem = tmp_path / "notes.txt"
    not_pem.write_text("not a certificate\n")
    cert, key = str(pki.server.cert_file), str(pki.server.key_file)
    refused = (
        ({"CERT_FILE": cert, "KEY_FILE": str(pki.client.key_file)}, "PAYCORE_GRPC_TLS_KEY_FILE"),
        ({"CERT_FILE": str(not_pem), "KEY_FILE": key}, "PAYCORE_GRPC_TLS_CERT_FILE"),
        (
            {"CERT_FILE": cert, "KEY_FILE": key, "CLIENT_CA_FILE": str(not_pem)},
            "PAYCORE_GRPC_TLS_CLIENT_CA_FILE",
        ),
    )
    for files, named in refused:
        settings = load_settings({f"PAYCORE_GRPC_TLS_{name}": path for name, path in files.items()})
        with pytest.raises(ConfigurationError, match=named):
            grpc_server_tls(settings, internal_port=True)
    with pytest.raises(ConfigurationError, match="PAYCORE_HTTP_TLS_KEY_FILE"):
        http_server_tls(
            load_settings(
                {
                    "PAYCORE_HTTP_TLS_CERT_FILE": cert,
                    "PAYCORE_HTTP_TLS_KEY_FILE": str(pki.client.key_file),
                }
            )
        )


SECURITY_DOCS = REPOSITORY / "docs" / "security.md"


def _documented_openssl_lines() -> str:
    """The sh block of docs/security.md's "Trying TLS on one machine"."""
    text = SECURITY_DOCS.read_text()
    after = text.split("**Trying TLS on one machine.**", 1)[1]
    return after.split("```sh\n", 1)[1].split("```", 1)[0]


async def test_the_documented_openssl_lines_make_a_certificate_grpc_accepts(
    migrated: Settings, tmp_path: Path
) -> None:
    """The docs' lines, run as printed in an empty folder, make a CA and a server certificate
    that paycore serves and the typed client trusts, by 127.0.0.1 and by localhost. Before,
    the docs named the variables only: a newcomer's usual `openssl req -x509 -subj /CN=...`
    certificate has no subjectAltName, and gRPC refuses it for every name."""
    process = await asyncio.create_subprocess_exec(
        "bash",
        "-euo",
        "pipefail",
        "-c",
        _documented_openssl_lines(),
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode == 0, output.decode()
    settings = migrated.with_overrides(
        grpc_tls_cert_file=str(tmp_path / "server.pem"),
        grpc_tls_key_file=str(tmp_path / "server.key"),
    )
    trust = Tls.from_files(ca_file=str(tmp_path / "ca.pem"))
    async for server, served in tls_serving(settings):
        for host in ("127.0.0.1", "localhost"):
            assert await _merchant_name(f"{host}:{server.port}", served, trust) == "Over TLS"
