"""Failed authentications per client address, counted in process memory: once an address has
failed too often, its calls are refused before any credential is compared or looked up, so
guessing the admin token or flooding forged keys costs the server almost nothing.

A token bucket per address: `burst` failures at once, then `per_second` sustained. Memory is
bounded (least recently failing addresses are forgotten first). Successful calls never count.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

ADDRESSES_MAX = 100_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


class FailureThrottle:
    def __init__(
        self, burst: int, per_second: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._burst = burst
        self._per_second = per_second
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def retry_after_ms(self, address: str) -> int:
        """0 when `address` may try; otherwise how long until it may."""
        if self._burst <= 0:
            return 0
        bucket = self._buckets.get(address)
        if bucket is None:
            return 0
        tokens = self._refilled(bucket)
        if tokens >= 1:
            return 0
        return max(1, math.ceil((1 - tokens) / self._per_second * 1000))

    def record_failure(self, address: str) -> None:
        if self._burst <= 0:
            return
        bucket = self._buckets.get(address)
        if bucket is None:
            bucket = _Bucket(float(self._burst), self._clock())
            self._buckets[address] = bucket
        bucket.tokens = self._refilled(bucket) - 1
        bucket.updated = self._clock()
        self._buckets.move_to_end(address)
        while len(self._buckets) > ADDRESSES_MAX:
            self._buckets.popitem(last=False)

    def _refilled(self, bucket: _Bucket) -> float:
        elapsed = max(0.0, self._clock() - bucket.updated)
        return min(float(self._burst), bucket.tokens + elapsed * self._per_second)
