"""Every metric the alerting rules and the Grafana dashboard name is one the platform exports:
checked against a scrape of a running server, worker and edge (their registries' exposition), so a
renamed metric cannot leave a silent panel or an alert that never fires."""

from __future__ import annotations

import json
import re

import yaml
from paycore.app import build_jobs, build_platform, start_server
from paycore.config import Settings
from paycore.edge import start_edge
from paycore.worker import Worker
from paycore.worker.backlog import BacklogMetrics
from paycore.worker.metrics import WorkerMetrics
from prometheus_client import CollectorRegistry, generate_latest

from tests.deploy.support import DEPLOY
from tests.helpers import health_status

# Series names inside PromQL: paycore's own and the gRPC server's (recording rules, which
# contain a colon, and functions are not series).
_SERIES = re.compile(r"(?<![:\w])((?:paycore|grpc_server)_[a-z0-9_]+)\b(?!:)")
_SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "gauge": ("",),
    "summary": ("", "_sum", "_count", "_created"),
}


def exported_names(exposition: str) -> set[str]:
    """Every series name the exposition has or would have once observed (a labelled metric
    nobody has used yet shows only its TYPE line)."""
    names: set[str] = set()
    for line in exposition.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            if kind == "counter":
                name = name.removesuffix("_total")
            names.update(name + suffix for suffix in _SUFFIXES.get(kind, ("",)))
        elif line and not line.startswith("#"):
            names.add(line.split("{")[0].split(" ")[0])
    return names


def names_in(expressions: list[str]) -> set[str]:
    return {name for expression in expressions for name in _SERIES.findall(expression)}


def rule_expressions() -> list[str]:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "rules.yaml").read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def dashboard_expressions() -> list[str]:
    dashboard = json.loads((DEPLOY / "grafana" / "paycore.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


async def scrape(settings: Settings) -> set[str]:
    registry = CollectorRegistry()
    platform = build_platform(settings, registry)
    server = await start_server(platform, "127.0.0.1:0")
    try:
        await health_status(f"127.0.0.1:{server.port}", "")
        worker = Worker(build_jobs(platform), platform.shards.engines, WorkerMetrics(registry))
        assert await worker.run_once()
        edge = await start_edge(f"127.0.0.1:{server.port}", "127.0.0.1:0", registry=registry)
        await edge.close()
    finally:
        await server.stop(1)
        await platform.close()
    return exported_names(generate_latest(registry).decode())


async def test_rules_and_dashboard_name_only_exported_metrics(migrated: Settings) -> None:
    exported = await scrape(migrated)
    assert "paycore_db_pool_connections" in exported
    assert "paycore_ledger_integrity_mismatches" in exported
    assert "paycore_edge_requests_total" in exported
    for source, expressions in (
        ("deploy/prometheus/rules.yaml", rule_expressions()),
        ("deploy/grafana/paycore.json", dashboard_expressions()),
    ):
        named = names_in(expressions)
        assert len(named) >= 8, source
        assert named - exported == set(), source


def test_the_name_check_would_catch_a_renamed_metric() -> None:
    exposition = "# TYPE paycore_executor_attempts counter\n# TYPE paycore_a gauge\n"
    exported = exported_names(exposition)
    assert names_in(["rate(paycore_executor_attempts_total[5m])"]) <= exported
    assert names_in(["rate(paycore_executor_attempt_total[5m])"]) - exported


def test_worker_backlog_gauges_are_never_summed_over_workers() -> None:
    """Every worker replica reads the same shard's backlog from the database (production runs
    two): a sum over them doubled the dead letters, mismatches and backlogs the alerts and the
    dashboard showed. They take the largest report (max), as the reconciliation gauge does."""
    registry = CollectorRegistry()
    BacklogMetrics(registry)
    gauges = {metric.name for metric in registry.collect()}
    assert "paycore_executor_dead_letters" in gauges
    for expression in rule_expressions() + dashboard_expressions():
        for gauge in gauges:
            summed = rf"\bsum\s*(?:by\s*\([^)]*\)\s*)?\(\s*{gauge}\b"
            assert not re.search(summed, expression), expression
