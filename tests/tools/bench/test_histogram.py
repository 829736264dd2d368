"""The latency histogram: bounded error, exact merges, percentiles as HDR reports them."""

from __future__ import annotations

import random

from paycore.tools.bench.histogram import LatencyHistogram, bucket_bounds, bucket_of


def test_every_value_falls_in_a_bucket_within_one_part_in_128() -> None:
    values = [*range(0, 1000), *(int(1.07**power) for power in range(100, 420))]
    for value in values:
        lowest, highest = bucket_bounds(bucket_of(value))
        assert lowest <= value <= highest
        assert highest - lowest <= max(1, lowest // 128)


def test_buckets_ascend_with_values() -> None:
    buckets = [bucket_of(value) for value in range(0, 200_000, 7)]
    assert buckets == sorted(buckets)


def test_percentiles_of_a_known_distribution() -> None:
    histogram = LatencyHistogram()
    for value_ms in range(1, 101):  # 1 ms .. 100 ms, once each
        histogram.record(value_ms * 1_000_000)
    p50, p99 = histogram.percentile_ns(50), histogram.percentile_ns(99)
    assert p50 is not None and p99 is not None
    assert abs(p50 - 50_000_000) <= 50_000_000 / 128
    assert abs(p99 - 99_000_000) <= 99_000_000 / 128
    assert histogram.percentile_ns(100) == histogram.max_ns == 100_000_000
    assert histogram.min_ns == 1_000_000
    assert histogram.mean_ns() == 50_500_000


def test_merging_equals_recording_everything_in_one() -> None:
    generator = random.Random(7)
    samples = [int(generator.lognormvariate(14, 1)) for _ in range(5000)]
    whole, first, second = LatencyHistogram(), LatencyHistogram(), LatencyHistogram()
    for index, sample in enumerate(samples):
        whole.record(sample)
        (first if index % 3 else second).record(sample)
    first.merge(second)
    first.merge(LatencyHistogram())
    assert first == whole


def test_an_empty_histogram_has_no_percentiles() -> None:
    assert LatencyHistogram().percentile_ns(50) is None
    assert LatencyHistogram().mean_ns() is None
