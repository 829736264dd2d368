"""deploy/compose.yaml, read (no Docker daemon runs where the tests do): what each service is
told agrees with what paycore reads."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

import yaml
from paycore.config import load_settings, setting_variables
from paycore.runtime.addresses import TrustedProxies

from tests.deploy.support import DEPLOY


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


def test_every_variable_compose_sets_is_one_paycore_reads() -> None:
    for name, service in compose()["services"].items():
        environment = service.get("environment") or {}
        unknown = {key for key in environment if key.startswith("PAYCORE_")} - setting_variables()
        assert not unknown, (name, unknown)


def test_serve_believes_the_client_address_the_edge_forwards() -> None:
    """The edge is a container of its own: serve must trust its x-forwarded-for, or every
    HTTP client counts as the edge's address (one client's bad keys throttle them all)."""
    services = compose()["services"]
    edge_address = services["edge"]["networks"]["paycore"]["ipv4_address"]
    (subnet,) = [pool["subnet"] for pool in compose()["networks"]["paycore"]["ipam"]["config"]]
    assert ipaddress.ip_address(edge_address) in ipaddress.ip_network(subnet)
    serve = load_settings(services["serve"]["environment"])
    assert edge_address in TrustedProxies(serve.trusted_proxies)


def test_each_long_running_container_has_a_health_check_that_can_pass() -> None:
    """The image's HEALTHCHECK asks gRPC on 127.0.0.1:50051, where only serve listens: the
    worker inherited it and was always unhealthy (deploy/README promises "the rest healthy")."""
    services = compose()["services"]
    for name, service in services.items():
        if service.get("image", "").startswith("paycore") and name not in ("serve", "migrate"):
            assert "healthcheck" in service, name
    worker = load_settings(services["worker"].get("environment") or {})
    port = worker.worker_metrics_addr.rpartition(":")[2]
    assert f"127.0.0.1:{port}/metrics" in " ".join(services["worker"]["healthcheck"]["test"])


def test_the_env_example_names_only_settings_and_parses() -> None:
    """deploy/paycore.env.example (systemd's EnvironmentFile, compose's env_file)."""
    lines = (DEPLOY / "paycore.env.example").read_text().splitlines()
    pairs = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
    assert set(pairs) <= setting_variables(), set(pairs) - setting_variables()
    settings = load_settings(pairs)
    assert settings.worker_metrics_addr != settings.metrics_addr  # serve and worker, one host


def test_checkout_urls_are_ones_a_buyer_can_open() -> None:
    """With compose.env copied from the env example (PAYCORE_HTTP_ADDR=0.0.0.0:8080), serve
    and the worker made every checkout session's url http://0.0.0.0:8080/c/pay/...: the url
    is the edge as published, 127.0.0.1:8080, unless PAYCORE_CHECKOUT_URL says otherwise."""
    lines = (DEPLOY / "paycore.env.example").read_text().splitlines()
    env_file = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
    services = compose()["services"]
    for name in ("serve", "worker"):
        # Compose's interpolation from an empty shell: ${NAME:-default} is the default.
        environment = {
            key: re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(value))
            for key, value in services[name]["environment"].items()
        }
        settings = load_settings({**env_file, **environment})
        settings.check_pages_url()
        assert settings.pages_url == "http://127.0.0.1:8080", name
    assert "127.0.0.1:8080:8080" in services["edge"]["ports"]


def test_a_named_volume_of_the_image_is_writable_by_its_user() -> None:
    """A new named volume takes the owner of the image's directory at its mount point, and root
    when the image has none there: the simulator (uid 10001) could not create its store in
    /var/lib/paycore-psp. The image must make each such directory, owned by its user."""
    dockerfile = (DEPLOY / "container" / "Dockerfile").read_text()
    run_stage = dockerfile.split(" AS run", 1)[1]
    (user,) = re.findall(r"^USER (\d+)", run_stage, re.MULTILINE)
    commands = " ".join(re.findall(r"^RUN (.*(?:\\\n.*)*)", run_stage, re.MULTILINE))
    services = compose()["services"]
    checked = 0
    for name, service in services.items():
        if not service.get("image", "").startswith("paycore"):
            continue
        for volume in service.get("volumes", []):
            source, _, target = volume.partition(":")
            if source in compose()["volumes"]:
                checked += 1
                made = rf"install -d -o {user} -g {user}(?: -m \d+)?(?: \S+)* {re.escape(target)}\b"
                assert re.search(made, commands), (name, target)
    assert checked  # the simulator's store


def test_no_container_can_take_the_edge_s_fixed_address() -> None:
    """Docker hands the other containers addresses from the network's ip_range (the whole
    subnet when unset): after a host's reboot or a recreation one of them could hold
    172.30.0.10 first, and the edge then failed to start, "Address already in use"
    (docker/compose#10926). The edge's address sits outside the range handed out."""
    services = compose()["services"]
    edge_address = ipaddress.ip_address(services["edge"]["networks"]["paycore"]["ipv4_address"])
    (pool,) = compose()["networks"]["paycore"]["ipam"]["config"]
    handed_out = ipaddress.ip_network(pool.get("ip_range", pool["subnet"]))
    assert handed_out.subnet_of(ipaddress.ip_network(pool["subnet"]))  # type: ignore[arg-type]
    assert edge_address not in handed_out
