"""The edge's HTML (issue 21): the hosted checkout pages and the merchant dashboard, with their
static files, added to the edge's aiohttp application before its catch-all JSON routes."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from grpc import aio
from paycore.edge.dashboard import Dashboard
from paycore.edge.pages import BARE_PAGE_ROUTE, PAGE_ROUTE, CheckoutPages, PageCalls
from paycore.edge.returns import RETURN_ROUTE, AuthenticationReturns
from paycore.edge.web import add_static, templates


def add_site(
    app: web.Application,
    channel: aio.Channel,
    internal_channel: aio.Channel,
    client_address: Callable[[web.Request], str],
    pages_token: str,
    secure: bool,
    *,
    operators: bool = True,
) -> None:
    """`internal_channel`: to the internal services (the same as `channel` without an internal
    port). `client_address`: a request's visitor, as the edge reads it (behind its trusted
    proxies), which the hosted pages are rate-limited by. `pages_token`: the operator
    credential the edge reads hosted pages with (the internal token, else the admin token);
    without one, /c/pay/ (and /3ds/return, paycore.edge.returns) answers 404 (as it does
    without the page's secret). `secure`: the edge serves HTTPS (the dashboard's cookie is
    then Secure). `operators`: the admin token signs in to the dashboard (an edge serving the
    operator routes), else API keys only."""
    environment = templates()
    calls = PageCalls(pages_token, environment, client_address)
    pages = CheckoutPages(channel, calls)
    app.router.add_get(PAGE_ROUTE, pages.show)
    app.router.add_post(PAGE_ROUTE, pages.apply_code)
    app.router.add_get(BARE_PAGE_ROUTE, pages.show)
    returns = AuthenticationReturns(channel, calls)
    app.router.add_get(RETURN_ROUTE, returns.back)
    Dashboard(channel, internal_channel, environment, secure, operators=operators).add_routes(app)
    add_static(app)
