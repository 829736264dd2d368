"""Rate limits per API key and route class, kept in Redis so every process shares them; a
merchant's keys together are bounded too (`merchant_factor` times one key's rate), since a
merchant can mint restricted keys without end.

The generic cell rate algorithm (GCRA): one Redis key per (principal, class) holds the
"theoretical arrival time" of the next request; a request is allowed when it is not earlier
than that time minus the burst tolerance. It is exact, needs one key and one round trip, and
Redis' own clock is the only clock, so processes with drifting clocks agree.

A limit of N per second allows bursts of N and N per second sustained. When Redis cannot be
reached, requests are allowed: an outage of the limiter must not stop payments. After a failure
Redis is not asked again for OUTAGE_PAUSE_SECONDS (a frozen Redis would otherwise cost every
request its socket timeout), and the outage is logged once when it starts and once when Redis
answers again, not on every request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from paycore.runtime.policy import RateClass
from redis.asyncio import Redis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

OUTAGE_PAUSE_SECONDS = 1.0

# Every key given (the API key's bucket, then its merchant's) must allow the request, each with
# its own (interval, tolerance) in ARGV; only then is each charged, so a refused request uses
# no bucket's allowance. The wait is the longest of the refusing buckets'.
_GCRA = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local wait = 0
local tats = {}
for i, key in ipairs(KEYS) do
  local tolerance = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', key) or now)
  if tat < now then tat = now end
  tats[i] = tat
  local allow_at = tat - tolerance
  if now < allow_at and allow_at - now > wait then wait = allow_at - now end
end
if wait > 0 then
  return {0, wait}
end
for i, key in ipairs(KEYS) do
  local new_tat = tats[i] + tonumber(ARGV[2 * i - 1])
  redis.call('SET', key, new_tat, 'PX', math.ceil((new_tat - now) / 1000) + 1)
end
return {1, 0}
"""


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    retry_after_ms: int = 0


class RateLimiter:
    def __init__(
        self,
        redis: Redis,
        limits_per_second: Mapping[str, int],
        key_prefix: str,
        *,
        merchant_factor: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`merchant_factor`: a merchant's keys together get at most this many times one
        key's rate per class (0: no such bound)."""
        self._limits = dict(limits_per_second)
        self._key_prefix = key_prefix
        self._merchant_factor = merchant_factor
        self._script = redis.register_script(_GCRA)
        self._clock = clock
        self._paused_until = 0.0
        self._unavailable = False

    async def check(
        self, principal: str, rate_class: RateClass, merchant_id: str | None = None
    ) -> RateDecision:
        """`principal`'s request of `rate_class`; with `merchant_id`, it also counts against
        that merchant's bucket (`merchant_factor`), so minting keys multiplies nothing."""
        limit = self._limits.get(rate_class.value, 0)
        if limit <= 0 or self._clock() < self._paused_until:
            return RateDecision(allowed=True)
        keys = [f"{self._key_prefix}ratelimit:{rate_class.value}:{principal}"]
        args = _gcra_args(limit)
        if merchant_id is not None and self._merchant_factor > 0:
            keys.append(f"{self._key_prefix}ratelimit:{rate_class.value}:merchant:{merchant_id}")
            args += _gcra_args(limit * self._merchant_factor)
        try:
            allowed, wait_us = await self._script(keys=keys, args=args)
        except RedisError as error:
            self._paused_until = self._clock() + OUTAGE_PAUSE_SECONDS
            if not self._unavailable:
                self._unavailable = True
                logger.warning(
                    "rate limiter unavailable, allowing requests unlimited until Redis answers"
                    " (asked again every %.0f s): %s",
                    OUTAGE_PAUSE_SECONDS,
                    error,
                )
            return RateDecision(allowed=True)
        if self._unavailable:
            self._unavailable = False
            logger.info("rate limiter reachable again: limiting requests")
        if allowed:
            return RateDecision(allowed=True)
        return RateDecision(allowed=False, retry_after_ms=max(1, -(-int(wait_us) // 1000)))


def _gcra_args(limit_per_second: int) -> list[int]:
    """A bucket's (interval, burst tolerance) in microseconds: bursts of the limit."""
    interval_us = 1_000_000 // limit_per_second
    return [interval_us, interval_us * (limit_per_second - 1)]
