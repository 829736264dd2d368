"""What every paycore process shares: the event loop, logging, listening addresses, the signals
that stop it, and free local ports for the children it starts."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import sys
from collections.abc import Coroutine
from typing import Any


def run_async(main: Coroutine[Any, Any, None]) -> None:
    """asyncio on uvloop where it is installed (Linux, macOS)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - Windows
        asyncio.run(main)
    else:
        uvloop.run(main)


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )


def split_address(address: str) -> tuple[str, int]:
    """`host:port` (or `[v6]:port`) -> (host, port); an empty host listens everywhere."""
    host, _, port = address.rpartition(":")
    return host.strip("[]") or "0.0.0.0", int(port)


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now, for a local child process to take (the kernel
    picks it; another process may take it first, which the tools accept)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def stop_on_signal() -> asyncio.Event:
    """An event that SIGTERM or SIGINT sets: how every long-running process learns to stop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    return stop
