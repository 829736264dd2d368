"""Stripe's `expand[]`: ids in an answer replaced by the objects they name, read through the
same gRPC GET methods a client would call (with the caller's own credentials).

    GET /v1/payment_intents/pi_...?expand[]=customer&expand[]=payment_method
    GET /v1/payment_intents?expand[]=data.customer          (each element of a list)
    GET /v1/disputes?expand[]=data.balance_transactions.source   (into each object of a list)
    POST /v1/subscriptions ... expand[]=latest_invoice.payment_intent

An id names its object by its prefix (`cus_` -> GET /v1/customers/{id}, `clock_` -> GET
/v1/test_helpers/test_clocks/{id}): the prefix comes from paycore.ids.Prefix by the route's
object name (a namespaced one's last part), so every resource with a GET-by-id route expands;
so does the PSP's `ch_` (paycore.stripe_json.PSP_KINDS: GET /v1/charges/{id}, a payment
intent's `expand[]=latest_charge`). A path that reaches no id answers 400 naming `expand`."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from google.protobuf.message import Message
from paycore.edge.errors import EdgeError, invalid_request
from paycore.edge.routes import HttpRoute
from paycore.ids import Prefix
from paycore.stripe_json import PSP_KINDS, object_name, stripe_json
from paycore.transcoding import to_message

EXPAND_KEY = re.compile(r"^expand(\[[0-9]*\])?$")
EXPANDED_BY_FIELD: dict[tuple[str, str, str], str] = {
    # A payout's card destination is the payee's external account, Stripe's `card`, not the
    # payment method it was registered from (which `pm_` reads everywhere else).
    ("payout", "destination", Prefix.PAYMENT_METHOD.value): "/v1/payout_cards/{id}",
}
"""(object, field, id prefix) -> the GET route an id there expands through, where the field
names another object than the prefix's own."""
EXPAND_PATHS_MAX = 10
EXPAND_DEPTH_MAX = 4  # Stripe's limit
NOT_FOUND = 404
Fetch = Callable[[HttpRoute, Message], Awaitable[Message]]


def by_prefix(routes: Iterable[HttpRoute]) -> dict[str, HttpRoute]:
    """Id prefix -> the GET route that reads that object by id: `/v1/<kind>s/{id}`, or a
    Stripe object of a namespace under it (`/v1/test_helpers/test_clocks/{id}` reads a
    `test_helpers.test_clock`, a `clock_`). When two routes read the same kind (merchants and
    seller accounts are both `account`), Stripe's plural path wins."""
    found: dict[str, HttpRoute] = {}
    for route in routes:
        segments = route.segments
        if (
            route.http_method != "GET"
            or route.path_fields != ("id",)
            or segments[-1].literal is not None
        ):
            continue
        name = object_name(route.output)
        namespace, _, kind = (name or "").rpartition(".")
        folders = [segment.literal for segment in segments[1:-1]]  # between /v1 and {id}
        if len(folders) != (2 if namespace else 1) or (namespace and folders[0] != namespace):
            continue
        kind = kind.upper()
        if name in PSP_KINDS:  # the PSP's charges (GET /v1/charges/{id}): `latest_charge`
            prefix = PSP_KINDS[name]
        elif kind in Prefix.__members__:
            prefix = Prefix[kind].value
        else:
            continue
        if prefix not in found or segments[1].literal == f"{name}s":
            found[prefix] = route
    return found


def expand_paths(values: Iterable[Any]) -> list[str]:
    paths = []
    for value in values:
        if not isinstance(value, str) or not value:
            raise invalid_request("parameter_invalid", "expand: each entry is a path", "expand")
        if value.count(".") >= EXPAND_DEPTH_MAX:
            message = f"expand: {value} is deeper than {EXPAND_DEPTH_MAX} levels"
            raise invalid_request("parameter_invalid", message, "expand")
        paths.append(value)
    if len(paths) > EXPAND_PATHS_MAX:
        message = f"expand: at most {EXPAND_PATHS_MAX} paths"
        raise invalid_request("parameter_invalid", message, "expand")
    return paths


def deleted_templates(routes: Iterable[HttpRoute]) -> frozenset[str]:
    """The templates of objects that can be deleted: a DELETE route answering `deleted`."""
    return frozenset(
        route.template
        for route in routes
        if route.http_method == "DELETE" and "deleted" in route.output.fields_by_name
    )


class Expander:
    def __init__(self, routes: Iterable[HttpRoute]) -> None:
        routes = list(routes)
        self._routes = by_prefix(routes)
        self._deletable = deleted_templates(routes)
        gets = {route.template: route for route in routes if route.http_method == "GET"}
        self._by_field = {  # those of the routes served (an edge may serve none)
            where: gets[template]
            for where, template in EXPANDED_BY_FIELD.items()
            if template in gets
        }

    async def expand(self, rendered: dict[str, Any], paths: list[str], fetch: Fetch) -> None:
        """Replaces, in place, the id at each path with its object, read by `fetch` (with the
        caller's credentials), each object once however often the answer names it."""
        read: dict[tuple[str, str], Any] = {}

        async def fetch_once(route: HttpRoute, request: Message) -> Message:
            # by route too: a pm_ is a payment method, or a payout's card (EXPANDED_BY_FIELD)
            key = (route.template, getattr(request, "id", ""))
            if key not in read:
                read[key] = await fetch(route, request)
            found: Message = read[key]
            return found

        for path in paths:
            if not await self._expand(rendered, path.split("."), fetch_once):
                message = f"This property cannot be expanded ({path})"
                raise invalid_request("parameter_invalid", message, "expand")

    async def _expand(self, node: Any, parts: list[str], fetch: Fetch) -> bool:
        if not isinstance(node, dict) or parts[0] not in node:
            return False
        value = node[parts[0]]
        if value is None:
            return True  # nothing to expand: Stripe leaves a null as it is
        if isinstance(value, str):
            where = (str(node.get("object")), parts[0], value.partition("_")[0])
            by_field = self._by_field.get(where)
            value = node[parts[0]] = await self._object(value, fetch, by_field)
            if value is None:
                return False
        elif _is_id_list(value):  # a repeated id field: each id, in place
            value = [await self._object(object_id, fetch) for object_id in value]
            if any(found is None for found in value):
                return False
            node[parts[0]] = value
            if len(parts) == 1:
                return True
        if len(parts) == 1:
            # Objects already (a dispute's balance_transactions, which Stripe always renders
            # expanded): nothing left to do, as for an expanded id.
            return isinstance(value, dict) or _is_object_list(value)
        targets = value if isinstance(value, list) else [value]
        results = [await self._expand(target, parts[1:], fetch) for target in targets]
        return all(results)

    async def _object(self, object_id: str, fetch: Fetch, route: HttpRoute | None = None) -> Any:
        """The object `object_id` names, read through `route` (else its prefix's GET route)."""
        route = route or self._routes.get(object_id.partition("_")[0])
        if route is None:
            return None
        request = to_message(route.input, {"id": object_id})
        try:
            return stripe_json(await fetch(route, request))
        except EdgeError as error:
            # An object that names one deleted since (a payment intent its customer): Stripe's
            # deleted stub, as its expand answers.
            if error.status != NOT_FOUND or route.template not in self._deletable:
                raise
            return {"id": object_id, "object": object_name(route.output), "deleted": True}


def _is_object_list(value: Any) -> bool:
    """A repeated field of objects (a non-empty list of dicts)."""
    return isinstance(value, list) and bool(value) and all(isinstance(i, dict) for i in value)


def _is_id_list(value: Any) -> bool:
    """A repeated id field (a list of non-empty strings, or none): expanded item by item."""
    return isinstance(value, list) and all(isinstance(item, str) and item for item in value)
