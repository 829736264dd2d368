"""The servicer's half of every List RPC: the request's `limit` and `starting_after` checked
into a `Cursor`, and a domain `Page` rendered into the `XResponse(data, has_more)` message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from google.protobuf.message import Message
from paycore import validation
from paycore.ids import Prefix
from paycore.storage.reads import Cursor, Page

T = TypeVar("T")
ResponseT = TypeVar("ResponseT", bound=Message)


class ListRequest(Protocol):
    @property
    def limit(self) -> int: ...
    @property
    def starting_after(self) -> str: ...


def cursor_of(request: ListRequest, prefix: Prefix) -> Cursor:
    """INVALID_ARGUMENT naming `limit` (1..100, 0 means 10) or `starting_after` (an id of
    the listed kind)."""
    return Cursor(
        validation.list_limit(request.limit),
        validation.object_id("starting_after", request.starting_after, prefix, required=False),
    )


def page_response(
    response_type: type[ResponseT], page: Page[T], render: Callable[[T], Any]
) -> ResponseT:
    response = response_type(has_more=page.has_more)  # type: ignore[call-arg]
    response.data.extend(render(item) for item in page.data)  # type: ignore[attr-defined]
    return response
