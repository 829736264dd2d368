"""Route compilation: every `google.api.http` rule of the contract becomes an HttpRoute, and a
Router matches an HTTP method and path to one (literal segments before variables).

The templates' grammar is paycore.http_rules': anything else in a template stops the edge at
start, naming the method, so that no route is silently missing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote

from google.api import http_pb2
from google.protobuf.descriptor import Descriptor, FileDescriptor, MethodDescriptor
from paycore.errors import ConfigurationError
from paycore.http_rules import Segment, http_bindings, path_segments
from paycore.runtime.policy import MethodPolicy

HTTP_METHODS = ("get", "put", "post", "delete", "patch")
HEAD = "HEAD"


@dataclass(frozen=True)
class HttpRoute:
    http_method: str
    """Uppercase: GET, POST, ..."""
    template: str
    segments: tuple[Segment, ...]
    rpc_method: str
    """The full gRPC method name: "/paycore.v1.AccountService/GetMerchant"."""
    method: MethodDescriptor
    body: str
    """"" (no body), "*" (the whole request) or the name of the request field it fills."""
    response_body: str
    """"" (the whole response) or the response field rendered alone."""
    mutating: bool

    @property
    def input(self) -> Descriptor:
        return self.method.input_type

    @property
    def output(self) -> Descriptor:
        return self.method.output_type

    @property
    def path_fields(self) -> tuple[str, ...]:
        return tuple(segment.variable for segment in self.segments if segment.literal is None)


def compile_routes(
    files: Iterable[FileDescriptor], policies: Mapping[str, MethodPolicy]
) -> list[HttpRoute]:
    """Every annotated method's routes (its rule and additional bindings), in contract order."""
    routes: list[HttpRoute] = []
    for file in files:
        for service in file.services_by_name.values():
            for method in service.methods:
                rpc_method = f"/{service.full_name}/{method.name}"
                policy = policies.get(rpc_method)
                mutating = policy.mutating if policy is not None else False
                for binding in http_bindings(method):
                    routes.append(_route(binding, method, rpc_method, mutating))
    return routes


def _route(
    rule: http_pb2.HttpRule, method: MethodDescriptor, rpc_method: str, mutating: bool
) -> HttpRoute:
    pattern = rule.WhichOneof("pattern")
    if pattern not in HTTP_METHODS:
        raise ConfigurationError(f"{rpc_method}: http rule {pattern!r} is not supported")
    template = getattr(rule, pattern)
    route = HttpRoute(
        http_method=pattern.upper(),
        template=template,
        segments=path_segments(template, rpc_method),
        rpc_method=rpc_method,
        method=method,
        body=rule.body,
        response_body=rule.response_body,
        mutating=mutating,
    )
    for name in (*route.path_fields, *([rule.body] if rule.body not in ("", "*") else [])):
        if _field_path_missing(method.input_type, name):
            raise ConfigurationError(f"{rpc_method}: {template} names no request field {name!r}")
    if rule.response_body and rule.response_body not in method.output_type.fields_by_name:
        raise ConfigurationError(f"{rpc_method}: no response field {rule.response_body!r}")
    return route


def _field_path_missing(message: Descriptor, path: str) -> bool:
    current: Descriptor | None = message
    for name in path.split("."):
        found = current.fields_by_name.get(name) if current is not None else None
        if found is None:
            return True
        current = found.message_type
    return False


@dataclass
class _Node:
    literals: dict[str, _Node] = field(default_factory=dict)
    variable: _Node | None = None
    rest: dict[str, HttpRoute] = field(default_factory=dict)
    """Routes whose `**` variable starts at this node, by HTTP method."""
    routes: dict[str, HttpRoute] = field(default_factory=dict)
    """Routes ending at this node, by HTTP method."""


class RouteNotFound(Exception):
    pass


class MethodNotAllowed(Exception):
    def __init__(self, allowed: list[str], template: str) -> None:
        """`template`: the path's route template (the metrics' label of the refusal)."""
        super().__init__(", ".join(allowed))
        self.allowed = allowed
        self.template = template


class Router:
    """A trie over path segments. Matching prefers a literal segment to a variable one and
    backtracks, so `/v1/things/search` and `/v1/things/{id}` can coexist."""

    def __init__(self, routes: Iterable[HttpRoute]) -> None:
        self._root = _Node()
        self.routes = list(routes)
        for route in self.routes:
            self._add(route)

    def _add(self, route: HttpRoute) -> None:
        node = self._root
        for segment in route.segments:
            if segment.rest:
                table = node.rest
                break
            if segment.literal is not None:
                node = node.literals.setdefault(segment.literal, _Node())
            else:
                node.variable = node.variable or _Node()
                node = node.variable
        else:
            table = node.routes
        if route.http_method in table:
            other = table[route.http_method]
            raise ConfigurationError(
                f"{route.http_method} {route.template} is bound twice: "
                f"{other.rpc_method} and {route.rpc_method}"
            )
        table[route.http_method] = route

    def match(self, http_method: str, raw_path: str) -> tuple[HttpRoute, dict[str, str]]:
        """The route and its path variables (percent-decoded), or RouteNotFound /
        MethodNotAllowed (with the methods the path does answer). HEAD is answered wherever
        GET is (RFC 9110 9.3.2), by the GET route: aiohttp sends its headers without the body."""
        if not raw_path.startswith("/"):
            raise RouteNotFound
        parts = raw_path[1:].split("/")
        candidates = self._candidates(self._root, parts, 0, [])
        allowed: list[str] = []
        template = ""
        for routes, values in candidates:
            route = routes.get("GET" if http_method == HEAD else http_method)
            if route is not None:
                return route, _bind(route, values)
            answered = [*routes, *([HEAD] if "GET" in routes else [])]
            allowed.extend(method for method in answered if method not in allowed)
            template = template or next(iter(routes.values())).template
        if allowed:
            raise MethodNotAllowed(sorted(allowed), template)
        raise RouteNotFound

    def _candidates(
        self, node: _Node, parts: list[str], index: int, values: list[str]
    ) -> list[tuple[dict[str, HttpRoute], list[str]]]:
        found: list[tuple[dict[str, HttpRoute], list[str]]] = []
        if index == len(parts):
            if node.routes:
                found.append((node.routes, values))
            return found
        part = parts[index]
        child = node.literals.get(part)
        if child is not None:
            found += self._candidates(child, parts, index + 1, values)
        if node.variable is not None and part:
            found += self._candidates(node.variable, parts, index + 1, [*values, part])
        if node.rest:
            found.append((node.rest, [*values, "/".join(parts[index:])]))
        return found


def _bind(route: HttpRoute, values: list[str]) -> dict[str, str]:
    return {
        variable: unquote(value, errors="strict")
        for variable, value in zip(route.path_fields, values, strict=True)
    }
