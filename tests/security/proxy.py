"""A TCP proxy the test controls, between paycore and a server it must not touch (the
machine's PostgreSQL and Redis, which other engineers use): `down` drops every connection and
refuses new ones at once; `frozen` holds every byte (connections open, nothing answers);
`up` relays again, delivering what was held."""

from __future__ import annotations

import asyncio
import contextlib
from enum import Enum


class Mode(Enum):
    UP = "up"
    DOWN = "down"
    FROZEN = "frozen"


class TcpProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self._upstream = (upstream_host, upstream_port)
        self._server: asyncio.Server | None = None
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._mode = Mode.UP
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    async def start(self) -> TcpProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def set(self, mode: Mode) -> None:
        self._mode = mode
        if mode is Mode.FROZEN:
            self._flowing.clear()
            return
        if mode is Mode.DOWN:
            for writer in list(self._writers):
                writer.transport.abort()
            self._writers.clear()
        self._flowing.set()

    async def close(self) -> None:
        self.set(Mode.DOWN)
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._mode is Mode.DOWN:
            writer.transport.abort()
            return
        await self._flowing.wait()
        if self._is_down():  # it went down while this connection waited
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}
        pumps = [
            asyncio.create_task(self._pump(reader, up_writer)),
            asyncio.create_task(self._pump(up_reader, writer)),
        ]
        self._tasks.update(pumps)
        await asyncio.gather(*pumps, return_exceptions=True)
        self._tasks.difference_update(pumps)
        for end in (writer, up_writer):
            self._writers.discard(end)
            end.transport.abort()

    def _is_down(self) -> bool:
        return self._mode is Mode.DOWN

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, ConnectionError):
            while data := await reader.read(65536):
                await self._flowing.wait()
                if writer.transport.is_closing():
                    return
                writer.write(data)
                await writer.drain()
        writer.transport.abort()
