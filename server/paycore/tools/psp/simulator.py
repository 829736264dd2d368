"""The simulator's HTTP face: JSON over HTTP on aiohttp, faults, and the two misbehaving cards.

    POST /v1/charges                    charge (authorize, or authorize and capture)
    POST /v1/setups                     verify a card for later use, no money moved (a
                                        SetupIntent's; a wallet card's gives a network token)
    POST /v1/charges/{id}/capture       capture an authorization (all or part; the rest released)
    POST /v1/charges/{id}/void          void an uncaptured authorization
    POST /v1/refunds                    refund part or all of a captured charge
    GET  /v1/charges/{id}               a charge as it is now, with its refunds
    GET  /v1/operations/{key}           the stored answer of the operation with that key, or 404
    GET  /v1/settlements/{YYYY-MM-DD}   the day's settlement report, JSON lines
    GET  /v1/fx/rates                   exchange rates against USD, moving during the day
                                        (paycore.tools.psp.fx)
    POST /v1/bank/payouts               the bank: a payout to a bank account or debit card
    GET  /v1/bank/payouts/{key}         a payout as it stands now (paycore.tools.psp.bank)
    GET  /v1/bank/payouts_report/{YYYY-MM-DD}   the day's payouts report, JSON lines
    POST /v1/wallet_tokens              a test Apple Pay / Google Pay token
                                        (paycore.tools.psp.wallets)
    GET  /v1/dispute_events?after=N&limit=M     the disputes feed (paycore.tools.psp.disputes)
    GET  /v1/authentication_events?after=N&limit=M   the buyers' 3-D Secure answers, in order
    GET  /v1/early_fraud_warning_events?after=N&limit=M   the issuers' early fraud warnings
                                        (paycore.tools.psp.authentication)
    GET  /v1/disputes/{id}              a dispute as it is now
    POST /v1/disputes/{id}/evidence     the merchant's evidence, once (idempotency_key)
    POST /v1/disputes/{id}/close        the merchant accepts the dispute (idempotency_key)
    POST /_control/disputes/{id}        the test decides: {"outcome": "won" | "lost"}
                                        (the control token, as for faults)
    GET|POST /_control/faults           latency_ms, error_rate, down, dispute_delay_seconds,
                                        dispute_response_seconds,
                                        settlement, bank_payouts
                                        (report alterations: paycore.tools.psp.report_faults);
                                        POST needs `Authorization: Bearer <control token>`
    GET  /healthz

Answers: 200 with the object; 402 with the declined charge; 400/404/409 {"error": {"code",
"message", "param"}} for what will not succeed if retried; 500/503/504 for what may (nothing
was done). Bodies are never logged; the access log shows method, path and status only.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hmac
import json
import logging
import os
import random
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from paycore.runtime.process import split_address
from paycore.tools.psp import authentication as three_ds
from paycore.tools.psp.bank import Bank, account_outcome
from paycore.tools.psp.cards import (
    DISPUTE_DELAY_SECONDS_DEFAULT,
    DISPUTE_RESPONSE_SECONDS_DEFAULT,
    Outcome,
    outcome_of,
)
from paycore.tools.psp.disputes import FEED_LIMIT_MAX, Disputes
from paycore.tools.psp.fx import rates_at
from paycore.tools.psp.processing import Answer, Processor, dumps, failure_body
from paycore.tools.psp.report_faults import BANK_ACTIONS, Alteration, parse_alterations
from paycore.tools.psp.requests import (
    PspFailure,
    authentication_outcome,
    capture_request,
    charge_request,
    invalid,
    payout_request,
    refund_request,
    setup_request,
    void_request,
)
from paycore.tools.psp.settlement import parse_day, settlement_lines
from paycore.tools.psp.store import Store
from paycore.tools.psp.wallets import issue_token

logger = logging.getLogger(__name__)

BODY_SIZE_MAX = 64 * 1024
HANG_SECONDS_DEFAULT = 30.0
"""How long the time-out card's answer is held (unless the client gives up first)."""
LATENCY_MS_MAX = 60_000
LOSE_MAX = 100
DELAY_MAX = 90 * 86_400
JSON = "application/json"
ACCESS_LOG_FORMAT = '%a "%r" %s %Tfs'

_ROUTE_ERROR_CODES = {404: "route_unknown", 405: "method_not_allowed", 413: "body_too_large"}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Faults:
    latency_ms: int = 0
    """Added before every /v1 request is processed."""
    error_rate: float = 0.0
    """The fraction of mutating requests answered 503 psp_unavailable, unprocessed."""
    down: bool = False
    """Every /v1 request answers 503 psp_unavailable at once."""
    settlement: list[Alteration] = field(default_factory=list)
    """Alterations of the daily settlement reports (paycore.tools.psp.report_faults)."""
    dispute_delay_seconds: int = DISPUTE_DELAY_SECONDS_DEFAULT
    """How long after its capture a dispute card's charge is disputed."""
    dispute_response_seconds: int = DISPUTE_RESPONSE_SECONDS_DEFAULT
    """How long after it opens a dispute's evidence is due (7 days; shorter for a test that
    must reach the deadline)."""
    bank_payouts: list[Alteration] = field(default_factory=list)
    """Alterations of the bank's daily payouts reports (the same module)."""
    lose_answers: int = 0
    """The next this many charges and setups are processed and recorded, then their answers
    dropped with the connection (as the CARD_ANSWER_LOST card's, for any card: an
    authenticated charge's lost answer, 3-D Secure)."""

    def answer_lost(self) -> bool:
        """Whether this answer is one of the `lose_answers` to drop (counted down)."""
        if self.lose_answers <= 0:
            return False
        self.lose_answers -= 1
        return True

    def as_json(self) -> str:
        return json.dumps(
            {
                "latency_ms": self.latency_ms,
                "error_rate": self.error_rate,
                "down": self.down,
                "dispute_delay_seconds": self.dispute_delay_seconds,
                "dispute_response_seconds": self.dispute_response_seconds,
                "settlement": [alteration.as_json() for alteration in self.settlement],
                "bank_payouts": [alteration.as_json() for alteration in self.bank_payouts],
                "lose_answers": self.lose_answers,
            }
        )

    def update(self, body: dict[str, Any]) -> None:
        """Checks every given field before changing any."""
        settlement = (
            parse_alterations(body["settlement"]) if "settlement" in body else self.settlement
        )
        bank_payouts = (
            parse_alterations(body["bank_payouts"], "bank_payouts", BANK_ACTIONS)
            if "bank_payouts" in body
            else self.bank_payouts
        )
        latency_ms = body.get("latency_ms", self.latency_ms)
        error_rate = body.get("error_rate", self.error_rate)
        down = body.get("down", self.down)
        delay = body.get("dispute_delay_seconds", self.dispute_delay_seconds)
        if isinstance(delay, bool) or not isinstance(delay, int) or not 0 <= delay <= DELAY_MAX:
            raise invalid("dispute_delay_seconds", f"an integer from 0 to {DELAY_MAX}")
        response = body.get("dispute_response_seconds", self.dispute_response_seconds)
        if isinstance(response, bool) or not isinstance(response, int):
            raise invalid("dispute_response_seconds", f"an integer from 1 to {DELAY_MAX}")
        if not 1 <= response <= DELAY_MAX:
            raise invalid("dispute_response_seconds", f"an integer from 1 to {DELAY_MAX}")
        if isinstance(latency_ms, bool) or not isinstance(latency_ms, int):
            raise invalid("latency_ms", "latency_ms must be an integer")
        if not 0 <= latency_ms <= LATENCY_MS_MAX:
            raise invalid("latency_ms", f"latency_ms must be from 0 to {LATENCY_MS_MAX}")
        if isinstance(error_rate, bool) or not isinstance(error_rate, int | float):
            raise invalid("error_rate", "error_rate must be a number")
        if not 0.0 <= error_rate <= 1.0:
            raise invalid("error_rate", "error_rate must be from 0 to 1")
        if not isinstance(down, bool):
            raise invalid("down", "down must be true or false")
        lose = body.get("lose_answers", self.lose_answers)
        if isinstance(lose, bool) or not isinstance(lose, int) or not 0 <= lose <= LOSE_MAX:
            raise invalid("lose_answers", f"lose_answers must be an integer from 0 to {LOSE_MAX}")
        self.lose_answers = lose
        self.latency_ms, self.error_rate, self.down = latency_ms, float(error_rate), down
        self.dispute_delay_seconds = delay
        self.dispute_response_seconds = response
        self.settlement = settlement
        self.bank_payouts = bank_payouts


class Simulator:
    def __init__(
        self,
        processor: Processor,
        faults: Faults,
        *,
        hang_seconds: float = HANG_SECONDS_DEFAULT,
        control_token: str = "",
    ) -> None:
        self.processor = processor
        self.bank = Bank(processor, processor.clock)
        self.disputes = Disputes(
            processor,
            lambda: self.faults.dispute_delay_seconds,
            lambda: self.faults.dispute_response_seconds,
        )
        self.faults = faults
        self.control_token = control_token
        self.hang_seconds = hang_seconds
        self._closing = asyncio.Event()
        self._random = random.Random()

    def stop_hanging(self) -> None:
        """Ends every held answer (on shutdown, so that it need not wait for them)."""
        self._closing.set()

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            if request.path.startswith("/v1/"):
                await self._apply_faults(request)
            return await handler(request)
        except PspFailure as failure:
            return _json(failure.http_status, failure_body(failure))
        except web.HTTPException as error:
            if error.status < 400:
                raise
            # Not "not_found": a client must never read a wrong URL as "never processed".
            code = _ROUTE_ERROR_CODES.get(error.status, "request_invalid")
            route_failure = PspFailure(error.status, code, error.reason)
            return _json(error.status, failure_body(route_failure))

    async def _apply_faults(self, request: web.Request) -> None:
        if self.faults.down:
            raise PspFailure(503, "psp_unavailable", "The PSP is down")
        if self.faults.latency_ms:
            await asyncio.sleep(self.faults.latency_ms / 1000)
        if (
            request.method == "POST"
            and self.faults.error_rate
            and self._random.random() < self.faults.error_rate
        ):
            raise PspFailure(503, "psp_unavailable", "The PSP is unavailable; retry later")

    async def charge(self, request: web.Request) -> web.StreamResponse:
        charge = charge_request(await _body(request))
        return await self._over_the_network(
            request, charge.card.number, lambda: self.processor.charge(charge, _page_base(request))
        )

    async def setup(self, request: web.Request) -> web.StreamResponse:
        setup = setup_request(await _body(request))
        return await self._over_the_network(
            request, setup.card.number, lambda: self.processor.setup(setup, _page_base(request))
        )

    async def _over_the_network(
        self, request: web.Request, card_number: str, process: Callable[[], Answer]
    ) -> web.StreamResponse:
        """A charge's or setup's trip to the card network: the timing-out card never comes
        back; the answer-lost card (or the answer_lost fault) is processed and its answer
        dropped, unless it is a replay of the key's stored one."""
        outcome = outcome_of(card_number)
        if outcome is Outcome.TIMES_OUT:
            await self._hang()
            raise PspFailure(504, "timeout", "The card network did not answer in time")
        answer = process()
        if not answer.replayed and (outcome is Outcome.ANSWER_LOST or self.faults.answer_lost()):
            return await self._lose(request)
        return _answer(answer)

    async def get_authentication(self, request: web.Request) -> web.StreamResponse:
        found = self.processor.store.authentication(request.match_info["id"])
        if found is None:
            raise PspFailure(404, "not_found", "No such authentication", param="id")
        return _json(200, three_ds.as_json(found, _page_base(request)))

    async def answer_authentication(self, request: web.Request) -> web.StreamResponse:
        """The buyer's answer as JSON (tests): {"outcome": "complete" | "fail"}."""
        completed = authentication_outcome(await _body(request))
        answered = three_ds.answer(
            self.processor.store, request.match_info["id"], completed, self._now_ms()
        )
        return _json(200, three_ds.as_json(answered, _page_base(request)))

    async def authentication_page(self, request: web.Request) -> web.StreamResponse:
        found = self.processor.store.authentication(request.match_info["id"])
        if found is None:
            raise web.HTTPNotFound(reason="No such authentication")
        return web.Response(text=three_ds.page(found), content_type="text/html")

    async def authentication_form(self, request: web.Request) -> web.StreamResponse:
        """The page's buttons: the answer, then back to the operation's return_url with
        `redirect_status` (succeeded or failed, as Stripe's redirect) added to its query (or the
        page again, showing the outcome, when it named none)."""
        form = await request.post()
        completed = authentication_outcome({"outcome": str(form.get("outcome") or "")})
        answered = three_ds.answer(
            self.processor.store, request.match_info["id"], completed, self._now_ms()
        )
        if not answered.return_url:
            raise web.HTTPSeeOther(three_ds.PAGE_PATH + answered.id)
        raise web.HTTPSeeOther(three_ds.with_outcome(answered))

    async def capture(self, request: web.Request) -> web.StreamResponse:
        body = await _body(request)
        return _answer(self.processor.capture(capture_request(request.match_info["id"], body)))

    async def void(self, request: web.Request) -> web.StreamResponse:
        body = await _body(request)
        return _answer(self.processor.void(void_request(request.match_info["id"], body)))

    async def refund(self, request: web.Request) -> web.StreamResponse:
        return _answer(self.processor.refund(refund_request(await _body(request))))

    async def get_charge(self, request: web.Request) -> web.StreamResponse:
        return _json(200, self.processor.charge_json(request.match_info["id"]))

    async def get_operation(self, request: web.Request) -> web.StreamResponse:
        key = request.match_info["key"]
        found = self.processor.operation(key)
        if found is None:
            raise PspFailure(404, "not_found", "No operation has this idempotency key")
        return _json(200, found)

    async def fx_rates(self, request: web.Request) -> web.StreamResponse:
        return _json(200, json.dumps(rates_at(self.processor.clock())))

    async def settlement(self, request: web.Request) -> web.StreamResponse:
        try:
            day = parse_day(request.match_info["day"])
        except ValueError:
            raise invalid("day", "the day must be YYYY-MM-DD") from None
        response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await response.prepare(request)
        data_dir = self.processor.store.data_dir
        for lines in settlement_lines(data_dir, day, self.faults.settlement):
            await response.write(("\n".join(lines) + "\n").encode())
        await response.write_eof()
        return response

    async def payout(self, request: web.Request) -> web.StreamResponse:
        payout = payout_request(await _body(request))
        outcome = account_outcome(payout)
        answer = self.bank.payout(payout)
        if answer.replayed:
            return _answer(answer)
        if outcome.answer_lost:
            return await self._lose(request)
        if outcome.times_out:
            await self._hang()
        return _answer(answer)

    async def get_payout(self, request: web.Request) -> web.StreamResponse:
        return _json(200, self.bank.payout_now(request.match_info["key"]))

    async def payouts_report(self, request: web.Request) -> web.StreamResponse:
        try:
            day = parse_day(request.match_info["day"])
        except ValueError:
            raise invalid("day", "the day must be YYYY-MM-DD") from None
        lines = self.bank.report_lines(day, self.faults.bank_payouts)
        body = "".join(line + "\n" for line in lines)
        return web.Response(status=200, body=body.encode(), content_type="application/x-ndjson")

    async def wallet_token(self, request: web.Request) -> web.StreamResponse:
        year = dt.datetime.fromtimestamp(self.processor.clock(), dt.UTC).year
        token = issue_token(self.processor.store.key, await _body(request), year)
        return _json(200, json.dumps(token))

    async def dispute_events(self, request: web.Request) -> web.StreamResponse:
        after = _query_integer(request, "after", 0, 0, 2**62)
        limit = _query_integer(request, "limit", 100, 1, FEED_LIMIT_MAX)
        return _json(200, self.disputes.feed(after, limit))

    async def early_fraud_warning_events(self, request: web.Request) -> web.StreamResponse:
        after = _query_integer(request, "after", 0, 0, 2**62)
        limit = _query_integer(request, "limit", 100, 1, FEED_LIMIT_MAX)
        found = self.processor.store.early_fraud_warnings(after, limit + 1)
        return _json(200, dumps({"data": found[:limit], "has_more": len(found) > limit}))

    async def authentication_events(self, request: web.Request) -> web.StreamResponse:
        after = _query_integer(request, "after", 0, 0, 2**62)
        limit = _query_integer(request, "limit", 100, 1, FEED_LIMIT_MAX)
        store = self.processor.store
        return _json(200, three_ds.feed(store, after, limit, _page_base(request)))

    def _now_ms(self) -> int:
        return int(self.processor.clock() * 1000)

    async def get_dispute(self, request: web.Request) -> web.StreamResponse:
        return _json(200, self.disputes.dispute_json(request.match_info["id"]))

    async def dispute_evidence(self, request: web.Request) -> web.StreamResponse:
        body = await _body(request)
        return _answer(self.disputes.submit(request.match_info["id"], body))

    async def close_dispute(self, request: web.Request) -> web.StreamResponse:
        body = await _body(request)
        return _answer(self.disputes.close(request.match_info["id"], body))

    async def decide_dispute(self, request: web.Request) -> web.StreamResponse:
        self._require_control_token(request)
        body = await _body(request)
        return _json(200, self.disputes.decide(request.match_info["id"], body))

    async def get_faults(self, request: web.Request) -> web.StreamResponse:
        return _json(200, self.faults.as_json())

    async def set_faults(self, request: web.Request) -> web.StreamResponse:
        # Anyone who can reach the simulator could otherwise take the "PSP" down (issue 23,
        # item 7): switching faults needs the control token.
        self._require_control_token(request)
        self.faults.update(await _body(request))
        return await self.get_faults(request)

    def _require_control_token(self, request: web.Request) -> None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            token.strip().encode(), self.control_token.encode()
        ):
            raise PspFailure(401, "unauthorized", f"{request.path} needs the control token")

    async def health(self, request: web.Request) -> web.StreamResponse:
        # The pid lets whoever started this process tell it from another one on the port.
        return _json(200, json.dumps({"status": "ok", "pid": os.getpid()}))

    async def _hang(self) -> None:
        """Holds the answer until the client gives up (aiohttp then cancels this handler),
        the hang ends, or the server stops; other requests go on meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), self.hang_seconds)

    async def _lose(self, request: web.Request) -> web.StreamResponse:
        """The charge is recorded; its answer is not sent: the connection is dropped."""
        if request.transport is not None:
            request.transport.abort()
        raise asyncio.CancelledError


def build_app(simulator: Simulator) -> web.Application:
    app = web.Application(client_max_size=BODY_SIZE_MAX, middlewares=[simulator.middleware])
    app.router.add_post("/v1/charges", simulator.charge)
    app.router.add_get("/v1/charges/{id}", simulator.get_charge)
    app.router.add_post("/v1/setups", simulator.setup)
    app.router.add_get("/v1/authentications/{id}", simulator.get_authentication)
    app.router.add_post("/v1/authentications/{id}", simulator.answer_authentication)
    app.router.add_get(three_ds.PAGE_PATH + "{id}", simulator.authentication_page)
    app.router.add_post(three_ds.PAGE_PATH + "{id}", simulator.authentication_form)
    app.router.add_post("/v1/charges/{id}/capture", simulator.capture)
    app.router.add_post("/v1/charges/{id}/void", simulator.void)
    app.router.add_post("/v1/refunds", simulator.refund)
    app.router.add_get("/v1/operations/{key}", simulator.get_operation)
    app.router.add_get("/v1/settlements/{day}", simulator.settlement)
    app.router.add_get("/v1/fx/rates", simulator.fx_rates)
    app.router.add_post("/v1/bank/payouts", simulator.payout)
    app.router.add_get("/v1/bank/payouts/{key}", simulator.get_payout)
    app.router.add_get("/v1/bank/payouts_report/{day}", simulator.payouts_report)
    app.router.add_post("/v1/wallet_tokens", simulator.wallet_token)
    app.router.add_get("/v1/dispute_events", simulator.dispute_events)
    app.router.add_get("/v1/authentication_events", simulator.authentication_events)
    app.router.add_get("/v1/early_fraud_warning_events", simulator.early_fraud_warning_events)
    app.router.add_get("/v1/disputes/{id}", simulator.get_dispute)
    app.router.add_post("/v1/disputes/{id}/evidence", simulator.dispute_evidence)
    app.router.add_post("/v1/disputes/{id}/close", simulator.close_dispute)
    app.router.add_post("/_control/disputes/{id}", simulator.decide_dispute)
    app.router.add_get("/_control/faults", simulator.get_faults)
    app.router.add_post("/_control/faults", simulator.set_faults)
    app.router.add_get("/healthz", simulator.health)
    return app


@dataclass
class SimulatorServer:
    simulator: Simulator
    store: Store
    runner: web.AppRunner
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def control_token(self) -> str:
        return self.simulator.control_token

    async def close(self) -> None:
        self.simulator.stop_hanging()
        await self.runner.cleanup()
        self.store.close()


async def start_simulator(
    address: str,
    data_dir: Path,
    *,
    faults: Faults | None = None,
    hang_seconds: float = HANG_SECONDS_DEFAULT,
    clock: Callable[[], float] = time.time,
    access_log: bool = True,
    control_token: str = "",
) -> SimulatorServer:
    """Serves the simulator on `address` ("host:port", port 0 for any) over `data_dir`. Faults
    switch with `control_token` (PAYCORE_PSP_CONTROL_TOKEN); without one, the token in
    `<data_dir>/control_token`, made on first use and readable by its owner only."""
    store = Store(data_dir)
    simulator = Simulator(
        Processor(store, clock),
        faults or Faults(),
        hang_seconds=hang_seconds,
        control_token=control_token or stored_control_token(data_dir),
    )
    runner = web.AppRunner(
        build_app(simulator),
        handle_signals=False,
        handler_cancellation=True,
        access_log=logging.getLogger("paycore.psp.access") if access_log else None,
        access_log_format=ACCESS_LOG_FORMAT,
    )
    await runner.setup()
    host, port = split_address(address)
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError:
        await runner.cleanup()
        store.close()
        raise
    bound = runner.addresses[0]
    return SimulatorServer(simulator, store, runner, host, int(bound[1]))


def _page_base(request: web.Request) -> str:
    """The simulator's address as this caller reached it: where the buyer's browser finds an
    authentication's page."""
    return f"{request.scheme}://{request.host}"


def _answer(answer: Answer) -> web.StreamResponse:
    return _json(answer.http_status, answer.body)


def _json(status: int, body: str) -> web.Response:
    return web.Response(status=status, body=body.encode(), content_type=JSON)


def _query_integer(
    request: web.Request, name: str, default: int, minimum: int, maximum: int
) -> int:
    text = request.query.get(name, "")
    if not text:
        return default
    if not text.isdigit() or not minimum <= int(text) <= maximum:
        raise invalid(name, f"{name} must be an integer from {minimum} to {maximum}")
    return int(text)


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        raise PspFailure(400, "body_malformed", "The body is not JSON") from None
    if not isinstance(body, dict):
        raise PspFailure(400, "body_malformed", "The body must be a JSON object")
    return body


CONTROL_TOKEN_FILE = "control_token"


def stored_control_token(data_dir: Path) -> str:
    """The token in `<data_dir>/control_token`, created (mode 0600) when there is none."""
    path = data_dir / CONTROL_TOKEN_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as created:
            created.write(secrets.token_urlsafe(32))
    return path.read_text().strip()
