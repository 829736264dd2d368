"""What the edge's HTML pages share (the hosted checkout page, paycore.edge.pages, and the
dashboard, paycore.edge.dashboard): Jinja2 templates with autoescaping, the security headers
every page carries, formatting of money and times, and the static files.

Every page is served with a Content-Security-Policy that allows nothing but this origin's own
stylesheet and script files (no inline script or style, no third-party origin, no framing), so
an injected tag cannot run or send a card number elsewhere."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from paycore.iso import CURRENCY_EXPONENTS, currency_exponent

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
STATIC_PATH = "/static/"
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
HTML = "text/html"


def money(amount: Any, currency: str, marks: tuple[str, str] = (".", ",")) -> str:
    """Minor units as the currency writes them: 1234 usd -> "12.34 USD"; `marks`, the decimal
    and grouping marks of the page's language (a French page's "1 234,56 USD")."""
    value = int(amount or 0)
    code = (currency or "").lower()
    exponent = currency_exponent(code) if code in CURRENCY_EXPONENTS else 2
    sign = "-" if value < 0 else ""
    whole, fraction = divmod(abs(value), 10**exponent)
    decimal, grouping = marks
    grouped = f"{whole:,}".replace(",", grouping)
    shown = grouped if exponent == 0 else f"{grouped}{decimal}{fraction:0{exponent}d}"
    return f"{sign}{shown} {code.upper()}"


def moment(seconds: Any) -> str:
    if not seconds:
        return ""
    return datetime.fromtimestamp(int(seconds), UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def label(value: Any) -> str:
    """A lowercase code as words: "requires_payment_method" -> "requires payment method"
    (a nested filter's "customer_details[email]" -> "customer details email")."""
    return str(value or "").replace("_", " ").replace("[", " ").replace("]", "")


def templates() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        enable_async=False,
    )
    environment.filters.update(money=money, moment=moment, label=label)
    environment.globals["static"] = STATIC_PATH
    return environment


def page(
    environment: Environment, template: str, status: int = 200, **context: Any
) -> web.Response:
    body = environment.get_template(template).render(**context)
    return web.Response(
        text=body, status=status, content_type=HTML, charset="utf-8", headers=SECURITY_HEADERS
    )


def add_static(app: web.Application) -> None:
    """The pages' own CSS and JS, from the package (no CDN)."""
    app.router.add_static(STATIC_PATH, STATIC_DIR, append_version=False)
