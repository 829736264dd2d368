"""The edge's HTTP connections: aiohttp's, but a request its HTTP parser refuses (a request line
or header longer than 8190 bytes, a control character in a header or the URL) is answered with
the edge's JSON error and logged as one WARNING line.

aiohttp refuses such a request before a Request exists, so no route or middleware sees it, and
handler_args cannot change what is sent: the connection's RequestHandler.handle_error answers
it (text/plain, echoing the offending line, which may hold a key) and logs it with
logger.exception, an ERROR with a traceback for a client's mistake. `EdgeRunner` serves the
application with connections of `_EdgeRequestHandler`, whose handle_error answers those
refusals itself and leaves every other error (a handler's 500, a 504) to aiohttp."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMethod, HttpProcessingError, LineTooLong
from aiohttp.web_protocol import RequestHandler
from paycore.edge.errors import error_response, invalid_request
from paycore.ids import random_base62

logger = logging.getLogger(__name__)


class _EdgeRequestHandler(RequestHandler):
    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if not isinstance(exc, HttpProcessingError) or status >= 500:
            return super().handle_error(request, status, exc, message)
        request_id = f"req_{random_base62(20)}"
        problem = invalid_request("request_malformed", _refusal(exc), status=status)
        # Not aiohttp's text, which quotes the line refused (an Authorization header's key).
        # A TLS handshake or other non-HTTP bytes at a connection's start is noise, as aiohttp
        # treats it.
        level = logging.DEBUG if isinstance(exc, BadHttpMethod) else logging.WARNING
        logger.log(
            level,
            "edge: refused a request HTTP could not parse from %s (request %s): %s",
            request.remote,
            request_id,
            problem.message,
        )
        response = error_response(problem, request_id)
        response.force_close()
        return response


def _refusal(exc: HttpProcessingError) -> str:
    """What was wrong, without the bytes refused."""
    if isinstance(exc, LineTooLong):
        return f"The request line (the URL) or a header is longer than {exc.args[1]} bytes"
    first_line = (exc.message or "").split("\n", 1)[0]
    if first_line.endswith(":"):  # llhttp's reason, the bytes quoted on the lines below
        return f"The request is not valid HTTP/1.1: {first_line[:-1].lower()}"
    return "The request is not valid HTTP/1.1"


class _EdgeServer(web.Server):
    def __call__(self) -> RequestHandler:
        return _EdgeRequestHandler(self, loop=self._loop, **self._kwargs)


class EdgeRunner(web.AppRunner):
    """web.AppRunner whose connections are `_EdgeRequestHandler`s."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        server.__class__ = _EdgeServer  # the application's own server, built by aiohttp
        return server
