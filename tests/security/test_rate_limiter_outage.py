"""Issue 23, Redis down: the rate limiter lets requests through (an outage of the limiter must
not stop payments), says so once with the reason and once when Redis answers again, and does
not ask Redis again for a second after a failure. It logged a WARNING for every request, a
thousand lines a second under load, and a frozen Redis cost every request its 1 s timeout."""

from __future__ import annotations

import logging
import os
from urllib.parse import urlsplit, urlunsplit

import pytest
from paycore.config import Settings
from paycore.ratelimit import RateLimiter
from paycore.runtime.policy import RateClass
from redis.asyncio import Redis

from tests.security.proxy import Mode, TcpProxy

LIMITER = "paycore.ratelimit"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_redis_outage_is_two_log_lines_and_requests_pass(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    upstream = urlsplit(settings.redis_url)
    if not (upstream.hostname and upstream.port):
        pytest.skip("needs Redis over TCP (PAYCORE_REDIS_URL), to put a proxy in front of it")
    proxy = await TcpProxy(upstream.hostname, upstream.port).start()
    url = urlunsplit(upstream._replace(netloc=f"127.0.0.1:{proxy.port}"))
    redis = Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
    clock = Clock()
    prefix = f"{settings.redis_key_prefix}{os.urandom(4).hex()}:"
    limiter = RateLimiter(redis, {"other": 2}, prefix, clock=clock)
    caplog.set_level(logging.INFO, logger=LIMITER)
    try:
        assert (await limiter.check("key_a", RateClass.OTHER)).allowed
        proxy.set(Mode.DOWN)
        for _ in range(50):
            assert (await limiter.check("key_b", RateClass.OTHER)).allowed
        said = [record for record in caplog.records if record.name == LIMITER]
        assert [record.levelno for record in said] == [logging.WARNING], said
        assert "unavailable" in said[0].getMessage()

        clock.now += 5  # past the pause: Redis is asked again, still down: nothing more said
        assert (await limiter.check("key_b", RateClass.OTHER)).allowed
        assert len([record for record in caplog.records if record.name == LIMITER]) == 1

        proxy.set(Mode.UP)
        clock.now += 5
        caplog.clear()
        decisions = [(await limiter.check("key_c", RateClass.OTHER)).allowed for _ in range(3)]
        assert decisions == [True, True, False]  # limiting again: 2 per second
        said = [record for record in caplog.records if record.name == LIMITER]
        assert [(record.levelno, record.getMessage()) for record in said] == [
            (logging.INFO, "rate limiter reachable again: limiting requests")
        ]
    finally:
        await redis.aclose()
        await proxy.close()
