"""What the REST edge tells Prometheus: its HTTP answers by route, method and status, their
durations, and the requests in flight. serve counts the gRPC calls; these count what only the
edge sees: answers it gave without calling serve (unknown routes, unreadable bodies, a refused
operator credential), its own 5xx, and the time a request spent in the edge.

The route label is the template a request matched (`/v1/payment_intents/{id}`), the page's or
the edge's own path, or `unmatched`; never the raw path, so no id and no caller's garbage
becomes a label value. Methods outside HTTP's usual ones count as `other`, for the same
reason."""

from __future__ import annotations

import time

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from paycore.runtime.metrics import LATENCY_BUCKETS
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

ROUTE_KEY = web.RequestKey("paycore_route", str)
"""Where the edge's handler leaves the template of the route a request named (request[...])."""

UNMATCHED = "unmatched"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class EdgeMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "paycore_edge_requests_total",
            "HTTP requests the REST edge answered, by route template, method and status.",
            ("route", "method", "status"),
            registry=registry,
        )
        self.duration = Histogram(
            "paycore_edge_request_duration_seconds",
            "Seconds from a request's arrival at the edge to its answer, by route template.",
            ("route", "method"),
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.in_flight = Gauge(
            "paycore_edge_requests_in_flight",
            "HTTP requests the edge is answering now.",
            registry=registry,
        )

    def middleware(self) -> Middleware:
        @web.middleware
        async def counted(request: web.Request, handler: Handler) -> web.StreamResponse:
            started = time.perf_counter()
            status = 500  # an exception aiohttp turns into its own 500
            self.in_flight.inc()
            try:
                response = await handler(request)
                status = response.status
                return response
            except web.HTTPException as answer:
                status = answer.status
                raise
            finally:
                self.in_flight.dec()
                route = route_of(request)
                method = request.method if request.method in _METHODS else "other"
                self.requests.labels(route, method, str(status)).inc()
                self.duration.labels(route, method).observe(time.perf_counter() - started)

        return counted


def route_of(request: web.Request) -> str:
    """The template the edge's handler matched; else the path aiohttp registered (a page, the
    dashboard, /healthz); else `unmatched`."""
    matched = request.get(ROUTE_KEY)
    if matched is not None:
        return str(matched)
    resource = request.match_info.route.resource
    if resource is None or resource.canonical.startswith("/{tail"):
        return UNMATCHED
    return resource.canonical
