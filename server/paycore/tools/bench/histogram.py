"""A latency histogram with fixed log-linear buckets (the HDR histogram's layout), so that the
histograms of several processes merge exactly by adding counts.

Values below 2**SUB_BUCKET_BITS nanoseconds get a bucket each; above, every power of two is cut
into 2**(SUB_BUCKET_BITS - 1) equal buckets, so a reported percentile is within 1/128 (0.8 %)
of the true sample whatever its magnitude, and memory is bounded by the range (a few thousand
buckets up to an hour), not by the number of samples.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

SUB_BUCKET_BITS = 8
_LINEAR_LIMIT = 1 << SUB_BUCKET_BITS  # 256 ns: one bucket per nanosecond below this
_HALF = _LINEAR_LIMIT >> 1  # buckets per power of two above it


def bucket_of(value_ns: int) -> int:
    if value_ns < _LINEAR_LIMIT:
        return max(value_ns, 0)
    shift = value_ns.bit_length() - SUB_BUCKET_BITS
    return _LINEAR_LIMIT + (shift - 1) * _HALF + (value_ns >> shift) - _HALF


def bucket_bounds(bucket: int) -> tuple[int, int]:
    """The lowest and highest value (ns) that fall in `bucket`."""
    if bucket < _LINEAR_LIMIT:
        return bucket, bucket
    shift, offset = divmod(bucket - _LINEAR_LIMIT, _HALF)
    shift += 1
    lowest = (offset + _HALF) << shift
    return lowest, lowest + (1 << shift) - 1


@dataclass
class LatencyHistogram:
    counts: dict[int, int] = field(default_factory=dict)
    """Samples per bucket (sparse: only buckets that were hit)."""

    count: int = 0
    total_ns: int = 0
    min_ns: int = 0
    max_ns: int = 0

    def record(self, value_ns: int) -> None:
        bucket = bucket_of(value_ns)
        self.counts[bucket] = self.counts.get(bucket, 0) + 1
        if not self.count or value_ns < self.min_ns:
            self.min_ns = value_ns
        self.max_ns = max(self.max_ns, value_ns)
        self.count += 1
        self.total_ns += value_ns

    def merge(self, other: LatencyHistogram) -> None:
        if not other.count:
            return
        for bucket, count in other.counts.items():
            self.counts[bucket] = self.counts.get(bucket, 0) + count
        self.min_ns = other.min_ns if not self.count else min(self.min_ns, other.min_ns)
        self.max_ns = max(self.max_ns, other.max_ns)
        self.count += other.count
        self.total_ns += other.total_ns

    def percentile_ns(self, percent: float) -> int | None:
        """The smallest recorded value such that `percent` % of the samples are at or below it,
        as the highest value of its bucket (never above the true maximum); None when empty."""
        if not self.count:
            return None
        rank = max(1, math.ceil(self.count * percent / 100))
        seen = 0
        for bucket, count in sorted(self.counts.items()):
            seen += count
            if seen >= rank:
                return min(bucket_bounds(bucket)[1], self.max_ns)
        return self.max_ns

    def mean_ns(self) -> float | None:
        return self.total_ns / self.count if self.count else None


def nearest_rank(ordered: Sequence[float], fraction: float) -> float:
    """The sample at `fraction` of `ordered` (sorted ascending) by nearest rank, 0.0 for no
    samples: the self-hosted benches keep their few thousand samples exact, no histogram."""
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]
