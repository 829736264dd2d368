"""Velocity counters in Redis: attempts, declines and distinct cards per card fingerprint,
customer, IP and merchant over sliding windows (1 minute, 1 hour, 1 day), each kept within one
merchant's traffic (the caller supplies those values, so no merchant's calls can move another's
counters); and, across merchants, the distinct merchants that saw a card or client address the
platform observed itself (a merchant counts once however often it calls).

Each counter is a sorted set scored by time in milliseconds (attempts and declines keyed by
payment, so scoring a payment twice counts it once; cards keyed by fingerprint, so the set holds
the last time each card was seen and a window's count is the number of distinct cards). One
Lua script counts the payment and reads every window: one round trip per scoring, its answer
one comma-separated string.

When Redis does not answer, `observe` returns None (the caller degrades) and the circuit stays
open for `retry_after_ms`: while it is open no call waits on Redis at all.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from paycore.fraud.features import (
    COUNTERS_OF_ENTITY,
    ENTITIES,
    PLATFORM_ENTITIES,
    PLATFORM_FEATURES,
    VELOCITY_FEATURES,
    WINDOWS,
    PaymentFacts,
    Velocity,
    entity_values,
    platform_values,
)
from redis.asyncio import Redis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

DAY_MS = 86_400_000
CARD_MEMORY_MS = 90 * DAY_MS
"""How long a customer's cards are remembered for `first_card_for_customer`."""

MODE_NO_CARDS, MODE_CARDS, MODE_CARDS_AND_FIRST_USE = "0", "1", "2"

_OBSERVE = """
local now = tonumber(ARGV[1])
local member = ARGV[2]
local card = ARGV[3]
local day = tonumber(ARGV[4])
local card_memory = tonumber(ARGV[5])
local windows = {tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])}
local groups = tonumber(ARGV[9])
local merchant = ARGV[10]
local out = {}
local first = 0
local function counts(key)
  for i = 1, 3 do out[#out + 1] = redis.call('ZCOUNT', key, '(' .. (now - windows[i]), '+inf') end
end
for group = 1, groups do
  local attempts, declines, cards = KEYS[group * 3 - 2], KEYS[group * 3 - 1], KEYS[group * 3]
  local mode = ARGV[10 + group]
  redis.call('ZREMRANGEBYSCORE', attempts, '-inf', now - day)
  redis.call('ZADD', attempts, now, member)
  redis.call('PEXPIRE', attempts, day)
  redis.call('ZREMRANGEBYSCORE', declines, '-inf', now - day)
  counts(attempts)
  counts(declines)
  if mode ~= '0' then
    local memory = day
    if mode == '2' then memory = card_memory end
    redis.call('ZREMRANGEBYSCORE', cards, '-inf', now - memory)
    if card ~= '' then
      if mode == '2' and not redis.call('ZSCORE', cards, card) then first = 1 end
      redis.call('ZADD', cards, now, card)
      redis.call('PEXPIRE', cards, memory)
    end
    counts(cards)
  end
end
for index = groups * 3 + 1, #KEYS do
  local merchants = KEYS[index]
  redis.call('ZREMRANGEBYSCORE', merchants, '-inf', now - day)
  redis.call('ZADD', merchants, now, merchant)
  redis.call('PEXPIRE', merchants, day)
  counts(merchants)
end
out[#out + 1] = first
return table.concat(out, ',')
"""


def _mode(entity: str) -> str:
    if "cards" not in COUNTERS_OF_ENTITY[entity]:
        return MODE_NO_CARDS
    return MODE_CARDS_AND_FIRST_USE if entity == "customer" else MODE_CARDS


class VelocityCounters:
    def __init__(self, redis: Redis, key_prefix: str, retry_after_ms: int) -> None:
        self._redis = redis
        self._prefix = f"{key_prefix}fraud:"
        self._retry_after_ms = retry_after_ms
        self._open_until_ms = 0
        self._observe: Any = redis.register_script(_OBSERVE)

    @property
    def available(self) -> bool:
        """False while the circuit is open after a failure."""
        return _now_ms() >= self._open_until_ms

    async def observe(self, facts: PaymentFacts, member: str) -> Velocity | None:
        """Counts the payment and returns every window's value, or None without Redis."""
        if not self.available:
            return None
        values = entity_values(facts)
        present = [entity for entity in ENTITIES if values[entity]]
        keys: list[str] = []
        for entity in present:
            base = self._merchant_key(facts.merchant, entity, values[entity])
            keys += [base + "attempts", base + "declines", base + "cards"]
        observed = platform_values(facts)
        platform = [entity for entity in PLATFORM_ENTITIES if observed[entity]]
        keys += [f"{self._prefix}p:{entity}:{observed[entity]}:merchants" for entity in platform]
        arguments = [
            facts.timestamp_ms,
            member,
            facts.card_fingerprint,
            DAY_MS,
            CARD_MEMORY_MS,
            *(length for _, length in WINDOWS),
            len(present),
            facts.merchant,
            *(_mode(entity) for entity in present),
        ]
        try:
            answer = await self._observe(keys=keys, args=arguments)
        except (RedisError, OSError) as error:
            self._open_circuit(error)
            return None
        # One bulk string ("3,1,0,...") parses far faster than an array of integers.
        return _velocity(present, platform, [int(value) for value in answer.split(b",")])

    async def record_decline(self, facts: PaymentFacts, member: str) -> bool:
        """Counts a declined (or confirmed fraudulent) payment; False without Redis."""
        return await self._declines(facts, member, counted=True)

    async def withdraw_decline(self, facts: PaymentFacts, member: str) -> bool:
        """Takes back the decline `record_decline` counted as `member` (a fraud label
        corrected to legitimate); nothing when it was never counted. False without Redis."""
        return await self._declines(facts, member, counted=False)

    async def _declines(self, facts: PaymentFacts, member: str, *, counted: bool) -> bool:
        if not self.available:
            return False
        values = entity_values(facts)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for entity in ENTITIES:
                    if values[entity]:
                        key = self._merchant_key(facts.merchant, entity, values[entity])
                        key += "declines"
                        if counted:
                            pipe.zadd(key, {member: facts.timestamp_ms})
                            pipe.pexpire(key, DAY_MS)
                        else:
                            pipe.zrem(key, member)
                await pipe.execute()
        except (RedisError, OSError) as error:
            self._open_circuit(error)
            return False
        return True

    def _merchant_key(self, merchant_id: str, entity: str, value: str) -> str:
        """The merchant's own counters of a value (the merchant's id is checked; the value is
        the last part, so no value can reach into another merchant's keys)."""
        return f"{self._prefix}m:{merchant_id}:{entity}:{value}:"

    def _open_circuit(self, error: BaseException) -> None:
        self._open_until_ms = _now_ms() + self._retry_after_ms
        logger.warning(
            "fraud velocity counters unavailable for %d ms: %r", self._retry_after_ms, error
        )


def _velocity(present: list[str], platform: list[str], answer: list[int]) -> Velocity:
    counts = dict.fromkeys((*VELOCITY_FEATURES, *PLATFORM_FEATURES), 0)
    position = 0
    for entity in present:
        for counter in COUNTERS_OF_ENTITY[entity]:
            for window, _ in WINDOWS:
                counts[f"{entity}_{counter}_{window}"] = answer[position]
                position += 1
    for entity in platform:
        for window, _ in WINDOWS:
            counts[f"platform_{entity}_merchants_{window}"] = answer[position]
            position += 1
    return Velocity(counts, first_card_for_customer=bool(answer[position]))


def _now_ms() -> int:
    return time.monotonic_ns() // 1_000_000
