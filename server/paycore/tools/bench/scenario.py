"""What a scenario is: a name, the method it exercises, and how to prepare its call."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from paycore.client import Paycore

Metadata = tuple[tuple[str, str], ...]

Call = Callable[[int], Awaitable[object]]
"""One request. The argument is the call's sequence number, unique within the bench process
(with `Session.run_id` and `Session.process_index` it makes idempotency keys unique). A non-OK
answer raises `grpc.aio.AioRpcError`, which the runner counts by code; anything else is a bug
and stops the bench."""


@dataclass(frozen=True)
class Session:
    """What one bench process gives a scenario."""

    client: Paycore
    """Stubs over one of the process's channels (one per `--connections`). The channel has no
    auth interceptor: calls pass `metadata` themselves, which costs the client less CPU on the
    same cores as the server."""

    metadata: Metadata
    """`authorization: Bearer <key>`; empty when the scenario does not need a merchant."""

    merchant_id: str
    """The merchant the API key belongs to; empty when the scenario does not need one."""

    timeout_seconds: float
    """The deadline of every call."""

    run_id: str
    """Random, the same in every process of one run."""

    process_index: int


@dataclass(frozen=True)
class GhzCall:
    """The same call for ghz (`paycore bench <scenario> --ghz PATH`): ghz's own templates
    (`{{newUUID}}`) make what must differ per call."""

    call: str
    """ghz's `--call`: "package.Service.Method" (resolved through the server's reflection)."""

    data: dict[str, Any]
    """The request as proto3 JSON."""

    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    name: str
    """The subcommand: `paycore bench <name>`."""

    summary: str
    """One line for `paycore bench --help`."""

    method: str
    """The gRPC method the calls exercise, for the report: "/package.Service/Method"."""

    needs_merchant: bool
    """True when the calls need an API key (and the merchant id it belongs to)."""

    prepare: Callable[[Session], Awaitable[Call]]
    """Runs once per connection of each bench process, before the clock starts (create
    fixtures, build requests)."""

    ghz: Callable[[Session], Awaitable[GhzCall]] | None = None
    """The call for ghz, prepared the same way (None: the scenario runs on the Python client
    only)."""
