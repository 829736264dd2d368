"""The hosted checkout page and the dashboard in a real browser: Debian's Chromium
(/usr/bin/chromium, `apt-get install chromium`) driven by Playwright, headless, never a
downloaded browser. Without Chromium (or the playwright package) every test here is skipped
with the reason.

A paycore of its own per test, like the pay-in tests' (tests/conftest.py `payin`): the gRPC
server on a PSP simulator, and the REST edge in front of it on a port reserved first, so that the
sessions' `url` (PAYCORE_CHECKOUT_URL) is the edge the browser opens. The merchant's own site
(success and cancel pages) is a small aiohttp app."""

from __future__ import annotations

import functools
import html
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp import web
from paycore.app import Platform, build_platform, start_server
from paycore.client import connect
from paycore.config import Settings
from paycore.edge import EdgeServer, start_edge
from paycore.runtime.server import GrpcServer
from paycore.worker.jobs import checkout_session_sweep
from prometheus_client import CollectorRegistry

from tests.helpers import PspSimulator, create_merchant, reserved_port
from tests.payment.shop import NO_LIMITS, PAYIN_TIMINGS, Shop, run_executor_once

CHROMIUM = Path(os.environ.get("PAYCORE_CHROMIUM", "/usr/bin/chromium"))
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# Where the pages' screenshots go: a scratch folder, so that a test run leaves the committed
# ones alone; `PAYCORE_SCREENSHOTS=docs` (or a folder) writes them where docs/checkout.md
# shows them.
_SCREENSHOTS_SETTING = os.environ.get("PAYCORE_SCREENSHOTS", "")
SCREENSHOTS = (
    DOCS_SCREENSHOTS
    if _SCREENSHOTS_SETTING == "docs"
    else Path(_SCREENSHOTS_SETTING or tempfile.mkdtemp(prefix="paycore-screenshots-"))
)

try:
    from playwright.async_api import Browser, async_playwright, expect
except ImportError:  # pragma: no cover - the dev extra installs it
    async_playwright = None  # type: ignore[assignment]
else:
    # What a page is expected to show, it may take up to 15 s to show (Playwright's default
    # is 5 s): on a loaded 2-core machine the browser, the edge and the server share the CPU
    # with the rest of the suite. A page that never shows it still fails.
    expect.set_options(timeout=15_000)


def chromium_path() -> str:
    """Debian's Chromium: /usr/bin/chromium (PAYCORE_CHROMIUM elsewhere), else on PATH."""
    return str(CHROMIUM) if CHROMIUM.exists() else shutil.which("chromium") or str(CHROMIUM)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    reason = ""
    if async_playwright is None:
        reason = "playwright is not installed (pip install -e '.[dev]')"
    elif not CHROMIUM.exists() and shutil.which("chromium") is None:
        reason = f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)"
    if not reason:
        return
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.skip(reason=reason))


@dataclass
class Storefront:
    """paycore (gRPC server + edge) for one test, a merchant on it, and the merchant's site."""

    platform: Platform
    server: GrpcServer
    edge: EdgeServer
    shop: Shop
    secret_key: str
    admin_token: str
    site_url: str

    @property
    def edge_url(self) -> str:
        return f"http://127.0.0.1:{self.edge.port}"

    async def sweep(self, now: float) -> int:
        """The worker's checkout_session_sweep, once over every shard, at `now`."""
        job = checkout_session_sweep(self.platform.checkout, clock=lambda: now)
        return sum([await job.run(engine) for engine in self.platform.shards.engines])


async def _merchant_site() -> tuple[web.AppRunner, str]:
    async def thanks(request: web.Request) -> web.Response:
        session = html.escape(request.query.get("session", ""))
        body = (
            "<!doctype html><title>Thank you</title><h1>Thank you for your order</h1>"
            f'<p id="session">{session}</p>'
        )
        return web.Response(text=body, content_type="text/html")

    async def cart(request: web.Request) -> web.Response:
        return web.Response(text="<h1>Your cart</h1>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/thanks", thanks)
    app.router.add_get("/cart", cart)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


@pytest_asyncio.fixture
async def storefront(migrated: Settings, psp: PspSimulator) -> AsyncIterator[Storefront]:
    # The edge's URL is in the settings the server is built on, before the edge can start: its
    # port is held (tests.helpers.reserved_port) until the edge listens on it.
    # The internal services (reconciliation among them) on a port of their own, as a deployment
    # keeps them off the public one (PAYCORE_INTERNAL_GRPC_ADDR): the dashboard's operator
    # pages must reach them there.
    with reserved_port() as edge_port, reserved_port() as internal_port:
        settings = migrated.with_overrides(
            internal_grpc_addr=f"127.0.0.1:{internal_port}",
            psp_url=psp.url,
            rate_limits_per_second=NO_LIMITS,
            checkout_url=f"http://127.0.0.1:{edge_port}",
            webhook_allow_http=True,  # the merchant's site below takes webhooks on 127.0.0.1
            webhook_allow_private=True,
            **PAYIN_TIMINGS,
        )
        platform = build_platform(settings, CollectorRegistry())
        server = await start_server(platform, "127.0.0.1:0")
        target = f"127.0.0.1:{server.port}"
        edge = await start_edge(
            target,
            f"127.0.0.1:{edge_port}",
            operator_routes=True,  # an operator signs in to the dashboard (test_dashboard.py)
            pages_token=settings.internal_token,
            internal_target=settings.internal_grpc_addr,
        )
    admin = connect(target, settings.admin_token)
    created = await create_merchant(admin, target, name="Paper Cranes")
    # The shop's operator client checks the ledger, an internal service: on the internal port.
    operator = connect(
        settings.internal_grpc_addr, settings.admin_token, acting_for=created.merchant.id
    )
    runner, site_url = await _merchant_site()
    shop = Shop(
        created.merchant, created.client, operator, functools.partial(run_executor_once, platform)
    )
    try:
        yield Storefront(
            platform,
            server,
            edge,
            shop,
            created.merchant.secret_key,
            settings.admin_token,
            site_url,
        )
    finally:
        await runner.cleanup()
        await shop.close()
        await admin.close()
        await edge.close()
        await server.stop(1)
        await platform.close()


@pytest_asyncio.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    assert async_playwright is not None
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=chromium_path(),
            headless=True,
            args=["--no-sandbox"] if os.geteuid() == 0 else [],
        )
        yield launched
        await launched.close()


def screenshot_path(name: str) -> str:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return str(SCREENSHOTS / f"{name}.png")
