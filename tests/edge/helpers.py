"""Calling the edge from tests: one answer, read whole."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import stripe
from aiohttp import ClientSession
from paycore.edge import start_edge
from paycore.v1 import account_pb2

from tests.payment.shop import WorkerPass, until_settled


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: dict[str, str]

    @property
    def error(self) -> dict[str, str]:
        error: dict[str, str] = self.body["error"]
        return error


def bearer(key: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **headers}


async def call(
    http: ClientSession,
    method: str,
    path: str,
    *,
    key: str = "",
    headers: dict[str, str] | None = None,
    json_body: Any = None,
    form: str | None = None,
    data: bytes | None = None,
) -> Answer:
    sent = dict(headers or {})
    if key:
        sent["Authorization"] = f"Bearer {key}"
    body: bytes | None = data
    if json_body is not None:
        body, sent["Content-Type"] = json.dumps(json_body).encode(), "application/json"
    if form is not None:
        body, sent["Content-Type"] = form.encode(), "application/x-www-form-urlencoded"
    payload = io.BytesIO(body) if body is not None else None  # aiohttp warns on large bytes
    async with http.request(method, path, data=payload, headers=sent) as response:
        raw = await response.read()
        assert response.content_type == "application/json", raw
        return Answer(response.status, json.loads(raw), dict(response.headers))


MERCHANT = {"name": "Acme", "email": "ops@acme.test", "country": "US", "default_currency": "usd"}


async def new_merchant(http: ClientSession, admin_token: str, **fields: Any) -> dict[str, Any]:
    """A merchant created over HTTP with the admin token: its id and (once) its secret key."""
    created = await call(
        http, "POST", "/v1/merchants", key=admin_token, json_body={**MERCHANT, **fields}
    )
    assert created.status == 200, created.body
    merchant: dict[str, Any] = created.body
    return merchant


async def seller_account(http: ClientSession, key: str) -> str:
    """A seller account (acct_...) of the key's merchant, made over HTTP with a form body."""
    form = "email=seller%40shop.test&country=US&default_currency=usd"
    created = await call(http, "POST", "/v1/accounts", key=key, form=form)
    assert created.status == 200, created.body
    return str(created.body["id"])


async def card_method(http: ClientSession, key: str, number: str) -> str:
    """A card payment method (pm_...) of the key's merchant, made over HTTP."""
    form = f"type=card&card[number]={number}&card[exp_month]=12&card[exp_year]=2034"
    created = await call(http, "POST", "/v1/payment_methods", key=key, form=form)
    assert created.status == 200, created.body
    return str(created.body["id"])


async def charge(
    http: ClientSession, key: str, amount: int, number: str, worker_pass: WorkerPass
) -> str:
    """A card payment method with `number`, then an intent confirmed with it, succeeded once it
    has left `processing` (running `worker_pass`, the server's executor pass, meanwhile): its
    pi_ id."""
    method = await card_method(http, key, number)
    intent = await call(
        http,
        "POST",
        "/v1/payment_intents",
        key=key,
        form=f"amount={amount}&currency=usd&confirm=true&payment_method={method}",
    )
    assert intent.status == 200, intent.body
    found = await settled_intent(http, key, intent.body, worker_pass)
    assert found["status"] == "succeeded", found
    return str(found["id"])


async def settled_intent(
    http: ClientSession, key: str, intent: dict[str, Any], worker_pass: WorkerPass
) -> dict[str, Any]:
    """A payment intent as the edge renders it, once it has left `processing`
    (tests.payment.shop.until_settled)."""

    async def read() -> dict[str, Any]:
        found: dict[str, Any] = (
            await call(http, "GET", f"/v1/payment_intents/{intent['id']}", key=key)
        ).body
        return found

    return await until_settled(intent, read, _in_flight, worker_pass)


def _in_flight(intent: dict[str, Any]) -> bool:
    return intent["status"] == "processing" and not intent.get("review")


@asynccontextmanager
async def stripe_client(payin: Any, name: str, email: str) -> AsyncIterator[stripe.StripeClient]:
    """stripe-python's client for a new US merchant named `name`, against an edge of its own
    on `payin`'s server (no retries: a test sees every answer)."""
    server = await start_edge(payin.target, "127.0.0.1:0")
    merchant = await payin.admin.accounts.CreateMerchant(
        account_pb2.CreateMerchantRequest(
            name=name, email=email, country="US", default_currency="usd"
        )
    )
    try:
        yield stripe.StripeClient(
            merchant.secret_key,
            base_addresses={"api": f"http://127.0.0.1:{server.port}"},
            max_network_retries=0,
        )
    finally:
        await server.close()
