"""Real HTTP receivers on 127.0.0.1 for the webhook tests: aiohttp servers that record every
delivery and answer as the test says (verify a signature, fail a few times, never answer)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import stripe
from aiohttp import web
from paycore.client.webhooks import WebhookVerificationError, verify
from standardwebhooks.webhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError as StandardError


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


Answer = Callable[[Received], Awaitable[web.Response]]


@dataclass
class Receiver:
    answer: Answer
    received: list[Received] = field(default_factory=list)
    accepted: list[Received] = field(default_factory=list)
    url: str = ""
    _runner: web.AppRunner | None = None

    async def start(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/hooks", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/hooks"
        return self

    async def _handle(self, request: web.Request) -> web.Response:
        received = Received(dict(request.headers), await request.read())
        self.received.append(received)
        response = await self.answer(received)
        if 200 <= response.status < 300:
            self.accepted.append(received)
        return response

    def event_ids(self, accepted_only: bool = True) -> list[str]:
        return [item.event["id"] for item in (self.accepted if accepted_only else self.received)]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


async def ok(received: Received) -> web.Response:
    return web.Response(text="ok")


def verified_by_standardwebhooks(secrets: Callable[[], Iterable[str]]) -> Answer:
    """200 only when the `standardwebhooks` package verifies the delivery with every secret
    `secrets()` names (and paycore.client.webhooks agrees)."""

    async def answer(received: Received) -> web.Response:
        for secret in secrets():
            try:
                Webhook(secret).verify(received.body, received.headers)
                verify(received.body, received.headers, secret)
            except (StandardError, WebhookVerificationError) as error:
                return web.Response(status=400, text=f"standardwebhooks: {error}")
        return web.Response(text="verified")

    return answer


def verified_by_stripe(secrets: Callable[[], Iterable[str]]) -> Answer:
    """200 only when the Stripe SDK's Webhook.construct_event accepts Paycore-Signature with
    every secret (and paycore.client.webhooks agrees on that header alone)."""

    async def answer(received: Received) -> web.Response:
        header = received.headers.get("Paycore-Signature", "")
        for secret in secrets():
            try:
                stripe.Webhook.construct_event(received.body, header, secret)
                verify(received.body, {"Paycore-Signature": header}, secret)
            except (stripe.SignatureVerificationError, WebhookVerificationError) as error:
                return web.Response(status=400, text=f"stripe: {error}")
        return web.Response(text="verified")

    return answer


def statuses(answers: list[int], headers: dict[str, str] | None = None) -> Answer:
    """Answers with each status in turn, then 200."""
    remaining = list(answers)

    async def answer(received: Received) -> web.Response:
        status = remaining.pop(0) if remaining else 200
        return web.Response(status=status, text=f"answer {status}", headers=headers)

    return answer


def never_answering(release: asyncio.Event) -> Answer:
    async def answer(received: Received) -> web.Response:
        await release.wait()
        return web.Response(status=503)

    return answer
