"""The edge counts its HTTP answers for Prometheus: by route template (never a raw path, so an
id never becomes a label value), method and status, with their durations. Before, the edge
exported nothing: a 5xx from the edge itself, or a slow route that never reached serve, was
invisible to the alerts."""

from __future__ import annotations

import asyncio
import os
import sys
import time

from aiohttp import ClientSession
from paycore.edge import start_edge
from prometheus_client import CollectorRegistry

from tests.edge.helpers import bearer
from tests.helpers import MerchantFixture, free_port


def requests(registry: CollectorRegistry, route: str, method: str, status: str) -> float:
    labels = {"route": route, "method": method, "status": status}
    return registry.get_sample_value("paycore_edge_requests_total", labels) or 0.0


async def test_answers_are_counted_by_route_template_method_and_status(
    target: str, merchant: MerchantFixture
) -> None:
    registry = CollectorRegistry()
    edge = await start_edge(target, "127.0.0.1:0", registry=registry)
    key = merchant.merchant.secret_key
    own = f"/v1/merchants/{merchant.merchant.id}"
    try:
        async with ClientSession(base_url=f"http://127.0.0.1:{edge.port}") as http:
            for _ in range(2):
                async with http.get(own, headers=bearer(key)) as answer:
                    assert answer.status == 200
            async with http.get(own) as answer:
                assert answer.status == 401
            async with http.get("/v1/no_such_things/x1", headers=bearer(key)) as answer:
                assert answer.status == 404
            async with http.get("/healthz") as answer:
                assert answer.status == 200
            async with http.put(own, headers=bearer(key)) as answer:
                assert answer.status == 405
            async with http.request("TRACE", own, headers=bearer(key)) as answer:
                assert answer.status >= 400
    finally:
        await edge.close()

    template = "/v1/merchants/{id}"
    assert requests(registry, template, "GET", "200") == 2
    assert requests(registry, template, "GET", "401") == 1
    assert requests(registry, "unmatched", "GET", "404") == 1
    assert requests(registry, "/healthz", "GET", "200") == 1
    assert requests(registry, template, "PUT", "405") == 1
    brewed = [
        sample
        for metric in registry.collect()
        for sample in metric.samples
        if sample.name == "paycore_edge_requests_total" and sample.labels["method"] == "other"
    ]
    assert [sample.value for sample in brewed] == [1.0]
    exported = "\n".join(
        sample.labels.get("route", "") for metric in registry.collect() for sample in metric.samples
    )
    assert merchant.merchant.id not in exported and "no_such_things" not in exported
    count = registry.get_sample_value(
        "paycore_edge_request_duration_seconds_count", {"route": template, "method": "GET"}
    )
    assert count == 3
    assert registry.get_sample_value("paycore_edge_requests_in_flight") == 0


async def test_paycore_edge_serves_its_metrics_at_the_configured_address(
    target: str, merchant: MerchantFixture
) -> None:
    """`paycore edge`, run as an operator runs it, serves /metrics at
    PAYCORE_EDGE_METRICS_ADDR."""
    http_port, metrics_port = free_port(), free_port()
    env = {
        **os.environ,
        "PAYCORE_HTTP_ADDR": f"127.0.0.1:{http_port}",
        "PAYCORE_EDGE_METRICS_ADDR": f"127.0.0.1:{metrics_port}",
    }
    edge = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "paycore.cli", "edge", "--grpc-target", target, env=env
    )
    own = f"http://127.0.0.1:{http_port}/v1/merchants/{merchant.merchant.id}"
    try:
        async with ClientSession() as http:
            waited_until = time.monotonic() + 60  # imports take seconds on a loaded machine
            while True:
                try:
                    async with http.get(
                        own, headers=bearer(merchant.merchant.secret_key)
                    ) as answer:
                        assert answer.status == 200
                        break
                except OSError:
                    assert edge.returncode is None, "paycore edge exited"
                    assert time.monotonic() < waited_until, "paycore edge did not listen"
                    await asyncio.sleep(0.1)
            async with http.get(f"http://127.0.0.1:{metrics_port}/metrics") as scraped:
                text = await scraped.text()
    finally:
        edge.terminate()
        assert await asyncio.wait_for(edge.wait(), 20) == 0
    line = 'paycore_edge_requests_total{method="GET",route="/v1/merchants/{id}",status="200"}'
    assert f"{line} 1.0" in text
