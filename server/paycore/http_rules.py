"""The contract's `google.api.http` rules, read once for everyone who needs them: the REST
edge compiles its routes from them (paycore.edge.routes) and the method policies take the path
variables as the call's own targets (paycore.runtime.policy).

Templates follow google/api/http.proto, as far as paycore uses it: literal segments,
`{field}` / `{field.sub}` variables (one segment), `{field=*}` (one segment) and a trailing
`{field=**}` (the rest of the path). Anything else raises ConfigurationError naming the method,
so that no route is silently missing."""

from __future__ import annotations

from dataclasses import dataclass

from google.api import annotations_pb2, http_pb2
from google.protobuf.descriptor import MethodDescriptor
from paycore.errors import ConfigurationError

_REST = "**"


@dataclass(frozen=True)
class Segment:
    literal: str | None = None
    """The segment's text, or None for a variable."""
    variable: str = ""
    """The field path a variable binds, e.g. "id" or "card.id"."""
    rest: bool = False
    """A `**` variable: binds the remainder of the path."""


def http_bindings(method: MethodDescriptor) -> tuple[http_pb2.HttpRule, ...]:
    """`method`'s HTTP rule and its additional bindings; () without a rule."""
    options = method.GetOptions()
    if not options.HasExtension(annotations_pb2.http):
        return ()
    rule = options.Extensions[annotations_pb2.http]
    return (rule, *rule.additional_bindings)


def path_segments(template: str, rpc_method: str) -> tuple[Segment, ...]:
    """The segments of a path template; ConfigurationError for what paycore does not route."""
    if not template.startswith("/") or ":" in template.rsplit("/", 1)[-1].split("}")[-1]:
        raise ConfigurationError(f"{rpc_method}: path template {template!r} is not supported")
    segments = []
    parts = template[1:].split("/")
    for index, part in enumerate(parts):
        if part.startswith("{") and part.endswith("}"):
            variable, _, pattern = part[1:-1].partition("=")
            if pattern not in ("", "*", _REST) or (pattern == _REST and index != len(parts) - 1):
                raise ConfigurationError(f"{rpc_method}: path variable {part!r} is not supported")
            segments.append(Segment(variable=variable, rest=pattern == _REST))
        elif part and not any(character in part for character in "{}*"):
            segments.append(Segment(literal=part))
        else:
            raise ConfigurationError(f"{rpc_method}: path template {template!r} is not supported")
    return tuple(segments)
