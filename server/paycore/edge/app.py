"""The REST edge: an aiohttp server that transcodes each annotated route onto its gRPC method
over one long-lived channel, with generic calls built from the descriptors."""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import itertools
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import grpc
from aiohttp import web
from aiohttp.typedefs import Handler
from aiohttp.web_protocol import RequestPayloadError
from google.protobuf.message import Message
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from paycore import contracts
from paycore.account.keys import API_KEY_PREFIXES
from paycore.client.tls import Tls
from paycore.edge.cross_origin import cross_origin
from paycore.edge.declines import declined, with_payment_method
from paycore.edge.errors import (
    JSON,
    EdgeError,
    error_response,
    from_rpc_error,
    internal_error,
    invalid_request,
    parameter_invalid,
    replay_headers,
)
from paycore.edge.expand import EXPAND_KEY, Expander, expand_paths
from paycore.edge.metrics import ROUTE_KEY, EdgeMetrics
from paycore.edge.openapi import openapi_document
from paycore.edge.params import PARAMETER_COUNT_MAX, parse_params
from paycore.edge.protocol import EdgeRunner
from paycore.edge.routes import HttpRoute, MethodNotAllowed, RouteNotFound, Router, compile_routes
from paycore.edge.site import add_site
from paycore.edge.stripe_defaults import with_stripe_defaults
from paycore.errors import ErrorType, Reason
from paycore.ids import random_base62
from paycore.runtime.addresses import TrustedProxies, forwarded_client
from paycore.runtime.interceptors.headers import FORWARDED_FOR_HEADER
from paycore.runtime.interceptors.request_log import REQUEST_ID_HEADER
from paycore.runtime.policy import internal_services, is_operator_method
from paycore.runtime.process import split_address
from paycore.runtime.tls import ServerTls
from paycore.stripe_json import stripe_json, with_livemode
from paycore.transcoding import (
    JsonRejected,
    checked,
    dumps,
    loads,
    message_class,
    to_message,
)
from paycore.validation import MAX_LIST_LIMIT
from prometheus_client import CollectorRegistry

logger = logging.getLogger(__name__)

BODY_SIZE_MAX = 1024 * 1024
"""Larger bodies answer 413. Stripe's largest requests are a few KiB."""
CALL_TIMEOUT_SECONDS = 30.0
"""The deadline of every gRPC call the edge makes."""
HEALTH_WAIT_SECONDS = 1.0
MESSAGE_LENGTH_MAX = 4 * 1024 * 1024
RECONNECT_BACKOFF_MAX_MS = 2000
UPSTREAM_CONNECTIONS = 4
"""Connections each edge keeps to serve, its API calls taken in turn: a connection reaches one
process of one serve pod (kube-proxy and SO_REUSEPORT pick at connect time), so over one every
call of an edge went to a single `serve --workers N` process."""
FORM = "application/x-www-form-urlencoded"
IDEMPOTENCY_KEY = "Idempotency-Key"
_PASSED_HEADERS = (
    ("Authorization", "authorization"),
    (IDEMPOTENCY_KEY, "idempotency-key"),
    ("Paycore-Merchant", "paycore-merchant"),
)
_HEADER_LENGTH_MAX = 4096
LIST_LIMIT = "limit"
_DECIMAL_INTEGER = re.compile(r"-?[0-9]+", re.ASCII)
STRIPE_ACCOUNT_HEADERS = ("Stripe-Account", "Stripe-Context")
"""The SDKs' `stripe_account` and `stripe_context` options: the account a call acts for."""
_STRIPE_ACCOUNT_REFUSED = (
    "paycore has no connected accounts to act as: a seller account (acct_) is the platform's,"
    " and the platform's key names it in the call: account=acct_... for its balance, balance"
    " transactions, payouts, bank accounts and payout schedule, transfer_data[destination]"
    " for a charge that pays it, destination for a transfer; another merchant is called with"
    " its own key (an operator names it in Paycore-Merchant)"
)
"""Why (docs/connect.md): a seller owns no API objects of its own (customers, intents,
webhooks are the platform's), so "run the call as the seller" has no meaning for most calls;
the calls that concern a seller take it as a parameter, checked to be the caller's seller."""

OWN_GET_PATHS = ("/healthz", "/openapi.json")
"""The edge's own paths (not transcoded routes): GET and HEAD only, another method 405."""
OWN_GET_METHODS = "GET, HEAD"

SEARCH = "search"
"""The last segment of Stripe's search routes (GET /v1/customers/search)."""

Call = Callable[..., Any]


class Edge:
    """The request handler: route, transcode, call, render."""

    def __init__(
        self,
        channel: aio.Channel,
        routes: list[HttpRoute],
        trusted_proxies: TrustedProxies | None = None,
        *,
        internal_channel: aio.Channel | None = None,
        internal_services: frozenset[str] = frozenset(),
        operators: bool = True,
        spread: Sequence[aio.Channel] = (),
    ) -> None:
        """`trusted_proxies`: the proxies in front of the edge whose X-Forwarded-For it
        believes (PAYCORE_EDGE_TRUSTED_PROXIES); none by default. `internal_channel`: to the
        port the `internal_services` are served on (PAYCORE_INTERNAL_GRPC_ADDR), when they
        have one; their methods are called there, every other on `channel`. `operators`: the
        edge takes operator credentials (it serves the operator routes); a public edge takes
        API keys only (`operator_credential_refused`). `spread`: more connections to where
        `channel` leads, the API calls to its services taken in turn over all of them."""
        self.channel = channel
        self.spread = tuple(spread)
        self.operators = operators
        self.internal_channel = internal_channel or channel
        self.router = Router(routes)
        self._searches = sorted(
            route.template for route in routes if route.template.endswith(f"/{SEARCH}")
        )
        self._trusted_proxies = trusted_proxies or TrustedProxies(())
        self._calls: dict[str, Call] = {}
        for route in routes:
            if route.rpc_method not in self._calls:
                service = route.rpc_method.split("/")[1]
                serving = (
                    [self.internal_channel]
                    if service in internal_services
                    else [channel, *self.spread]
                )
                self._calls[route.rpc_method] = _in_turn(
                    [
                        (
                            one,
                            one.unary_unary(
                                route.rpc_method,
                                request_serializer=_serialize,
                                response_deserializer=message_class(route.output).FromString,
                            ),
                        )
                        for one in serving
                    ]
                )
        self.openapi = dumps(openapi_document(routes, title="paycore", version="v1"))
        self._expander = Expander(routes)

    def client_address(self, request: web.Request) -> str:
        """The HTTP peer, or the client a proxy in front of the edge names in X-Forwarded-For
        (PAYCORE_EDGE_TRUSTED_PROXIES); "" when aiohttp knows no peer."""
        if not request.remote:
            return ""
        forwarded = request.headers.get("X-Forwarded-For")
        return forwarded_client(request.remote, forwarded, self._trusted_proxies)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        request_id = new_request_id()
        try:
            return await self._handle(request, request_id)
        except EdgeError as error:
            return error_response(error, request_id)
        except JsonRejected as rejected:
            answer = invalid_request(rejected.code, rejected.message, rejected.param)
            return error_response(answer, request_id)
        except RecursionError:
            nested = invalid_request("body_malformed", "The request is nested too deeply")
            return error_response(nested, request_id)
        except Exception:
            logger.exception("edge: unexpected error (request %s)", request_id)
            return error_response(internal_error(request_id), request_id)

    async def _handle(self, request: web.Request, request_id: str) -> web.StreamResponse:
        what = f"{request.method} {request.rel_url.raw_path}"
        route, variables = self._route(request)
        expand: list[Any] = []
        message = await _request_message(route, variables, request, expand)
        metadata = _metadata(request, request_id, self.client_address(request))
        if not self.operators:
            operator_credential_refused(metadata)
        call = self._calls[route.rpc_method](
            message, metadata=metadata, timeout=CALL_TIMEOUT_SECONDS
        )
        try:
            response = await call
        except aio.AioRpcError as error:
            raise from_rpc_error(error, what, variables) from None
        replayed = replay_headers(dict(await call.trailing_metadata() or ()))
        rendered = stripe_json(response, list_url=request.rel_url.path)
        if route.response_body:
            rendered = rendered[route.response_body]
        fetch = functools.partial(self._fetch, metadata)
        if expand:
            await self._expander.expand(rendered, expand_paths(expand), fetch)
        livemode = _livemode(metadata)
        problem = declined(route.rpc_method, rendered)
        if problem is not None:
            await with_payment_method(problem, self._expander, fetch)
            with_livemode(problem.extra, livemode)  # the intent and its payment method
            problem.headers.update(replayed)
            raise problem
        with_livemode(rendered, livemode)
        return web.Response(
            body=dumps(rendered), content_type=JSON, headers={"Request-Id": request_id, **replayed}
        )

    async def _fetch(
        self, metadata: tuple[tuple[str, str], ...], route: HttpRoute, message: Message
    ) -> Message:
        """A read for expand[], with the credentials of the request being answered."""
        try:
            response: Message = await self._calls[route.rpc_method](
                message, metadata=metadata, timeout=CALL_TIMEOUT_SECONDS
            )
        except aio.AioRpcError as error:
            raise from_rpc_error(error, f"{route.http_method} {route.template}") from None
        return response

    def _route(self, request: web.Request) -> tuple[HttpRoute, dict[str, str]]:
        path = request.rel_url.raw_path
        try:
            route, variables = self.router.match(request.method, path)
            request[ROUTE_KEY] = route.template
        except RouteNotFound:
            if path in OWN_GET_PATHS:
                raise _method_not_allowed(path, request.method, OWN_GET_METHODS) from None
            message = f"Unrecognized request URL ({request.method}: {path})"
            raise invalid_request("route_unknown", message, status=404) from None
        except MethodNotAllowed as error:
            request[ROUTE_KEY] = error.template
            raise _method_not_allowed(path, request.method, ", ".join(error.allowed)) from None
        except UnicodeDecodeError:
            raise invalid_request(
                "route_unknown", "The path is not valid UTF-8", status=404
            ) from None
        last = route.segments[-1] if route.segments else None
        if last is not None and last.variable and variables.get(last.variable) == SEARCH:
            # Stripe's search of a collection paycore does not search (subscriptions,
            # invoices, prices, products): no id is "search", so GET /v1/<kind>s/{id} must
            # not take it for one (its `query` answered parameter_unknown).
            message = (
                f"Unrecognized request URL ({request.method}: {path}): paycore's Search API"
                f" covers {', '.join(self._searches)} only; list with filters instead"
            )
            raise invalid_request("route_unknown", message, status=404)
        return route, variables

    async def health(self, request: web.Request) -> web.StreamResponse:
        """200 while serve answers SERVING over any of the edge's connections: one to a pod
        that went away reconnects on its own (to another pod) while the others carry the
        calls, and asking all would take every edge out of its Service while one serve pod
        drains or restarts."""
        connections = (self.channel, *self.spread)
        serving = await asyncio.gather(*(_serve_answers(one) for one in connections))
        if not any(serving):
            body = {"status": "unavailable", "serving": 0, "connections": len(connections)}
            return web.Response(body=dumps(body), status=503, content_type=JSON)
        return web.Response(body=dumps({"status": "ok"}), content_type=JSON)

    async def openapi_json(self, request: web.Request) -> web.StreamResponse:
        return web.Response(body=self.openapi, content_type=JSON)


def _method_not_allowed(path: str, method: str, allowed: str) -> EdgeError:
    message = f"{path} does not answer {method}; it answers {allowed}"
    problem = invalid_request("method_not_allowed", message, status=405)
    problem.headers["Allow"] = allowed
    return problem


def new_request_id() -> str:
    return f"req_{random_base62(20)}"


@web.middleware
async def _request_ids(request: web.Request, handler: Handler) -> web.StreamResponse:
    """`Request-Id` on every answer, the edge's own paths, pages and static files included
    (an API answer has the one its gRPC call carried)."""
    try:
        response = await handler(request)
    except web.HTTPException as answer:
        answer.headers.setdefault("Request-Id", new_request_id())
        raise
    response.headers.setdefault("Request-Id", new_request_id())
    return response


def _serialize(message: Message) -> bytes:
    return message.SerializeToString()


async def _request_message(
    route: HttpRoute, variables: dict[str, str], request: web.Request, expand: list[Any]
) -> Message:
    """The request message; Stripe's `expand` parameters (body or query) go to `expand`."""
    fields = await _body_fields(route, request, expand)
    query = _query_fields(route, request, expand)
    for name, value in query.items():
        if name in fields:
            raise invalid_request("parameter_invalid", f"{name} is given twice", name)
        fields[name] = value
    if variables:
        _merge(fields, checked(route.input, _nested(variables), from_text=True), "")
    with_stripe_defaults(route.rpc_method, fields)
    return to_message(route.input, fields)


async def _body_fields(route: HttpRoute, request: web.Request, expand: list[Any]) -> dict[str, Any]:
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        message = f"The body is larger than {BODY_SIZE_MAX} bytes"
        raise invalid_request("body_too_large", message, status=413) from None
    except RequestPayloadError as error:
        raise unreadable_body(request, error) from None
    if not route.body:
        if raw.strip():
            message = f"{route.http_method} {route.template} takes no body: use the query string"
            raise invalid_request("body_unexpected", message)
        return {}
    if not raw.strip():
        return {}
    content_type = request.content_type
    if request.charset and request.charset.lower() not in ("utf-8", "utf8"):
        raise _unsupported_media_type(f"charset {request.charset} (only utf-8 is)")
    if content_type == JSON:
        return _json_body(route, raw, expand)
    if content_type == FORM:
        return _form_body(route, raw, expand)
    raise _unsupported_media_type(content_type or "no Content-Type")


def unreadable_body(request: web.BaseRequest, error: RequestPayloadError) -> EdgeError:
    """The answer to a body that cannot be read: a Content-Encoding (gzip, deflate) its bytes
    are not in (aiohttp says which), or cut short. The caller's fault: 400, and the connection
    ends, since aiohttp must not try to drain the unreadable rest after the answer (it logged
    that as an unhandled exception)."""
    request.content.feed_eof()
    reason = getattr(error.__cause__, "message", "") or "it is cut short"
    problem = invalid_request("body_malformed", f"The body cannot be read: {reason}")
    problem.close_connection = True
    return problem


@web.middleware
async def _unreadable_bodies(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The same answer on the edge's own pages (the dashboard's forms), which read their
    bodies themselves."""
    try:
        return await handler(request)
    except RequestPayloadError as error:
        return error_response(unreadable_body(request, error), new_request_id())


def _json_body(route: HttpRoute, raw: bytes, expand: list[Any]) -> dict[str, Any]:
    value = loads(raw)
    if isinstance(value, dict) and route.body == "*" and "expand" in value:
        listed = value.pop("expand")
        expand.extend(listed if isinstance(listed, list) else [listed])
    if route.body == "*":
        return checked(route.input, value, from_text=False)
    return checked(route.input, {route.body: value}, from_text=False)


def _form_body(route: HttpRoute, raw: bytes, expand: list[Any]) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise invalid_request("body_malformed", "The body is not valid UTF-8") from None
    pairs = _without_expand(_form_pairs(text, "body"), expand)
    if route.body == "*":
        return checked(route.input, parse_params(pairs, route.input), from_text=True)
    field = route.input.fields_by_name[route.body]
    if field.message_type is None or field.is_repeated:
        raise _unsupported_media_type(f"{FORM} for a body that is not an object")
    body = parse_params(pairs, field.message_type)
    return checked(route.input, {route.body: body}, from_text=True)


def _unsupported_media_type(what: str) -> EdgeError:
    message = f"Unsupported {what}: send {JSON} or {FORM}"
    return invalid_request("content_type_unsupported", message, status=415)


def _query_fields(route: HttpRoute, request: web.Request, expand: list[Any]) -> dict[str, Any]:
    raw_query = request.rel_url.raw_query_string
    if not raw_query:
        return {}
    pairs = _without_expand(_form_pairs(raw_query, "query string"), expand)
    if not pairs:
        return {}
    if route.body == "*":
        message = f"{route.http_method} {route.template} takes its parameters in the body only"
        raise invalid_request("parameter_unknown", message)
    params = parse_params(pairs, route.input)
    _check_list_limit(route, params)
    for name in (*route.path_fields, route.body):
        if name and name.split(".")[0] in params:
            message = f"{name} is given by the {'path' if name != route.body else 'body'}"
            raise invalid_request("parameter_invalid", message, name)
    return checked(route.input, params, from_text=True)


def _check_list_limit(route: HttpRoute, params: dict[str, Any]) -> None:
    """A list's `limit`, when given, is 1 to 100 as Stripe's. gRPC reads 0 as unset (proto3
    cannot tell them apart) and the default 10; the query string can, so `limit=0` is refused
    here, and a number beyond int32 with the list's range rather than int32's."""
    value = params.get(LIST_LIMIT)
    if LIST_LIMIT not in route.input.fields_by_name or not isinstance(value, str):
        return
    if _DECIMAL_INTEGER.fullmatch(value) and not 1 <= int(value) <= MAX_LIST_LIMIT:
        raise parameter_invalid(LIST_LIMIT, f"must be between 1 and {MAX_LIST_LIMIT}")


def _form_pairs(text: str, where: str) -> list[tuple[str, str]]:
    try:
        return parse_qsl(
            text,
            keep_blank_values=True,
            strict_parsing=False,
            errors="strict",
            max_num_fields=PARAMETER_COUNT_MAX,
        )
    except UnicodeDecodeError:
        raise invalid_request("body_malformed", f"The {where} is not valid UTF-8") from None
    except ValueError:
        message = f"The {where} has more than {PARAMETER_COUNT_MAX} parameters"
        raise invalid_request("body_malformed", message) from None


def _without_expand(pairs: list[tuple[str, str]], expand: list[Any]) -> list[tuple[str, str]]:
    """`pairs` without Stripe's expand[] / expand[N] / expand, whose values go to `expand`."""
    kept = []
    for key, value in pairs:
        if EXPAND_KEY.match(key):
            expand.append(value)
        else:
            kept.append((key, value))
    return kept


def _nested(variables: dict[str, str]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for path, value in variables.items():
        *parents, leaf = path.split(".")
        target = result
        for name in parents:
            target = target.setdefault(name, {})
        target[leaf] = value
    return result


def _merge(fields: dict[str, Any], path_fields: dict[str, Any], prefix: str) -> None:
    """Adds the path's fields; the body or query may repeat one only with the same value."""
    for name, value in path_fields.items():
        param = f"{prefix}{name}"
        if name not in fields:
            fields[name] = value
        elif isinstance(value, dict) and isinstance(fields[name], dict):
            _merge(fields[name], value, f"{param}.")
        elif fields[name] != value:
            message = f"{param} differs from the one in the path"
            raise invalid_request("parameter_invalid", message, param)


def _metadata(request: web.Request, request_id: str, client: str) -> tuple[tuple[str, str], ...]:
    for header in STRIPE_ACCOUNT_HEADERS:
        if header in request.headers:
            # Ignored, the call would act on the caller's own account, not the one named.
            raise invalid_request("header_unsupported", _STRIPE_ACCOUNT_REFUSED, header)
    metadata = [(REQUEST_ID_HEADER, request_id)]
    if client:
        # The server counts failed authentications and publishable-key calls per client
        # address, and fraud scores a publishable-key payment with it (the buyer's browser);
        # it trusts this header from the edge's address (PAYCORE_TRUSTED_PROXIES).
        metadata.append((FORWARDED_FOR_HEADER, client))
    for header, key in _PASSED_HEADERS:
        # Every value, in order: the server refuses one of these given twice, naming it (a
        # proxy appending its own after the client's must not have the first one win).
        for value in request.headers.getall(header, ()):
            if len(value) > _HEADER_LENGTH_MAX or not value.isascii() or not value.isprintable():
                if header == IDEMPOTENCY_KEY:
                    raise _idempotency_key_invalid()
                message = (
                    f"{header} must be printable ASCII, at most {_HEADER_LENGTH_MAX} characters"
                )
                raise invalid_request("header_invalid", message, header)
            metadata.append((key, _bearer_of_basic(value) if key == "authorization" else value))
    return tuple(metadata)


def _idempotency_key_invalid() -> EdgeError:
    """The server's answer to a key it refuses (its limit is the one to tell, not the edge's
    header limit): a key no gRPC metadata can carry is refused here the same way."""
    reason = Reason.IDEMPOTENCY_KEY_INVALID
    param = IDEMPOTENCY_KEY.lower()
    return EdgeError(400, reason.error_type, reason.name.lower(), reason.template, param)


_OPERATOR_CREDENTIAL_REFUSED = (
    "This edge takes API keys only (sk_..., rk_..., pk_...): the admin token and the internal"
    " credential are taken only where the operator routes are served"
    " (PAYCORE_EDGE_OPERATOR_ROUTES)"
)


def operator_credential_refused(metadata: tuple[tuple[str, str], ...]) -> None:
    """401 naming `authorization` for a credential that is not an API key, before paycore is
    called: on a public edge (no operator routes) the operators' credentials would act for any
    merchant (`Paycore-Merchant`) from wherever the edge is reachable (docs/security.md). A
    call without a credential goes on, for the server's own answer."""
    for key, value in metadata:
        if key == "authorization":
            scheme, _, token = value.partition(" ")
            if scheme.lower() != "bearer" or not token.strip().startswith(API_KEY_PREFIXES):
                raise EdgeError(
                    401,
                    ErrorType.AUTHENTICATION,
                    "api_key_invalid",
                    _OPERATOR_CREDENTIAL_REFUSED,
                    "authorization",
                )


def _livemode(metadata: tuple[tuple[str, str], ...]) -> bool:
    """The mode of the caller's API key (`sk_live_...`), which is its merchant's; false for
    an operator's credential."""
    for key, value in metadata:
        if key == "authorization":
            return value.partition(" ")[2].strip().startswith(_LIVE_KEY_PREFIXES)
    return False


_LIVE_KEY_PREFIXES = tuple(f"{prefix}live_" for prefix in API_KEY_PREFIXES)


def _bearer_of_basic(authorization: str) -> str:
    """`Basic base64(key:)`, what curl's `-u sk_test_...:` sends (Stripe's docs use it), as
    `Bearer key`; anything else unchanged (the server judges it)."""
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() != "basic":
        return authorization
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        return authorization
    key = decoded.partition(":")[0]
    return f"Bearer {key}" if key.isprintable() and key else authorization


def build_app(
    edge: Edge,
    pages_token: str = "",
    secure: bool = False,
    metrics: EdgeMetrics | None = None,
) -> web.Application:
    """The aiohttp application serving `edge`, /healthz and /openapi.json, the hosted checkout
    pages and the dashboard (paycore.edge.site); every answer counted in `metrics`."""
    counted = [metrics.middleware()] if metrics is not None else []
    app = web.Application(
        client_max_size=BODY_SIZE_MAX,
        middlewares=[*counted, _request_ids, cross_origin, _unreadable_bodies],
    )
    health, openapi = OWN_GET_PATHS
    app.router.add_get(health, edge.health)
    app.router.add_get(openapi, edge.openapi_json)
    add_site(
        app,
        edge.channel,
        edge.internal_channel,
        edge.client_address,
        pages_token,
        secure,
        operators=edge.operators,
    )
    # Every other path, newlines included (aiohttp matches the decoded path, and `.` stops at
    # %0A: its own text/plain 404 would answer instead of ours).
    app.router.add_route("*", r"/{tail:[\s\S]*}", edge.handle)
    return app


@dataclass
class EdgeServer:
    edge: Edge
    runner: web.AppRunner
    port: int

    async def close(self) -> None:
        await self.runner.cleanup()
        await self.edge.channel.close()
        for channel in self.edge.spread:
            await channel.close()
        if self.edge.internal_channel is not self.edge.channel:
            await self.edge.internal_channel.close()


async def start_edge(
    grpc_target: str,
    address: str,
    operator_routes: bool = False,
    *,
    tls: ServerTls | None = None,
    upstream_tls: Tls | None = None,
    pages_token: str = "",
    trusted_proxies: tuple[str, ...] = (),
    internal_target: str = "",
    registry: CollectorRegistry | None = None,
) -> EdgeServer:
    """Serves the edge on `address` ("host:port", port 0 for any) in front of `grpc_target`.
    The admin and internal methods' routes are served only with `operator_routes`
    (PAYCORE_EDGE_OPERATOR_ROUTES): on a public edge they answer 404 (issue 23, item 7).
    HTTPS with `tls`, and TLS (mTLS with a client certificate) to gRPC with `upstream_tls`.
    `pages_token`: the credential the hosted checkout pages are read with (paycore.edge.site).
    `trusted_proxies`: PAYCORE_EDGE_TRUSTED_PROXIES (paycore.runtime.addresses).
    `internal_target`: where the internal services listen (PAYCORE_INTERNAL_GRPC_ADDR), when
    not on `grpc_target`: the operator routes and the dashboard's operator pages call them
    there. `registry`: where its HTTP answers are counted (paycore.edge.metrics)."""
    options: list[tuple[str, Any]] = [
        ("grpc.max_receive_message_length", MESSAGE_LENGTH_MAX),
        ("grpc.max_send_message_length", MESSAGE_LENGTH_MAX),
        # A restarted gRPC server is found again within 2 s, not grpc's 120 s backoff cap.
        ("grpc.max_reconnect_backoff_ms", RECONNECT_BACKOFF_MAX_MS),
    ]
    # Channels with the same arguments share one connection: each has an index of its own.
    channel, *spread = (
        _upstream_channel(grpc_target, [*options, ("paycore.upstream", index)], upstream_tls)
        for index in range(UPSTREAM_CONNECTIONS)
    )
    internal_channel = (
        _upstream_channel(internal_target, options, upstream_tls) if internal_target else None
    )
    policies = contracts.method_policies()
    routes = compile_routes(contracts.proto_files(), policies)
    if not operator_routes:
        routes = [route for route in routes if not is_operator_method(policies[route.rpc_method])]
    edge = Edge(
        channel,
        routes,
        TrustedProxies(trusted_proxies),
        internal_channel=internal_channel,
        internal_services=internal_services(policies),
        operators=operator_routes,
        spread=spread,
    )
    # No access log: the gRPC server logs every call with the request id the edge passes on.
    metrics = EdgeMetrics(registry) if registry is not None else None
    app = build_app(edge, pages_token, secure=tls is not None, metrics=metrics)
    runner = EdgeRunner(app, access_log=None, handle_signals=False)
    server = EdgeServer(edge, runner, 0)
    try:
        await runner.setup()
        host, port = split_address(address)
        site = web.TCPSite(runner, host, port, ssl_context=tls.ssl_context() if tls else None)
        await site.start()
    except BaseException:
        await server.close()  # an address it cannot listen on leaves no runner nor channel
        raise
    server.port = int(runner.addresses[0][1])
    return server


async def _serve_answers(channel: aio.Channel) -> bool:
    """Whether the server behind `channel` reports SERVING (NOT_SERVING while none of its
    databases answers, and while it drains) within HEALTH_WAIT_SECONDS."""
    stub: Any = health_pb2_grpc.HealthStub(channel)  # the stubs are untyped
    try:
        answer = await stub.Check(
            health_pb2.HealthCheckRequest(), timeout=HEALTH_WAIT_SECONDS, wait_for_ready=True
        )
    except grpc.RpcError:
        return False
    return bool(answer.status == health_pb2.HealthCheckResponse.SERVING)


def _in_turn(serving: list[tuple[aio.Channel, Call]]) -> Call:
    """One call, made over each connection in turn; a connection failing to connect
    (TRANSIENT_FAILURE: its serve pod or process went away, and calls over it fail at once
    until it has reconnected) is passed over while another is not."""
    if len(serving) == 1:
        return serving[0][1]
    turns = itertools.cycle(serving)

    def call(*arguments: Any, **keywords: Any) -> Any:
        for _ in range(len(serving)):
            channel, chosen = next(turns)
            if channel.get_state() != grpc.ChannelConnectivity.TRANSIENT_FAILURE:
                break
        return chosen(*arguments, **keywords)

    return call


def _upstream_channel(target: str, options: list[tuple[str, Any]], tls: Tls | None) -> aio.Channel:
    if tls is None:
        return aio.insecure_channel(target, options=options)
    return aio.secure_channel(target, tls.credentials(), options=[*options, *tls.channel_options()])
