"""The dashboard's balance chart (paycore.edge.dashboard.chart): the series read back from
balance transactions end at today's balance and start from what was there before them."""

from __future__ import annotations

from paycore.edge.dashboard.chart import balance_chart

NOW = 1_000_000


def transaction(net: int, created: int, available_on: int, status: str) -> dict[str, object]:
    return {
        "currency": "usd",
        "net": net,
        "created": created,
        "available_on": available_on,
        "status": status,
    }


def test_pending_and_available_are_read_back_from_the_transactions() -> None:
    moves = [
        transaction(1000, NOW - 500, NOW - 100, "available"),  # paid, then available
        transaction(700, NOW - 300, NOW + 86_400, "pending"),  # paid, still pending
        transaction(-200, NOW - 50, NOW - 50, "pending"),  # a refund, pending until settled
        transaction(999, NOW - 10, NOW, "pending") | {"currency": "eur"},  # another currency
    ]

    chart = balance_chart(moves, available_now=1000, pending_now=500, currency="usd", now=NOW)

    pending, available = chart.series
    assert (pending.name, pending.now, available.name, available.now) == (
        "pending",
        500,
        "available",
        1000,
    )
    assert chart.start == NOW - 500 and chart.end == NOW
    # Before anything moved, both were 0; at most 1700 was pending (1000 + 700).
    assert (chart.bottom_value, chart.top_value) == (0, 1700)
    assert pending.path.startswith("M80.0,")
    assert pending.path.count("H") == len({NOW - 500, NOW - 300, NOW - 100, NOW - 50, NOW}) - 1


def test_no_transactions_draw_flat_lines_over_the_last_day() -> None:
    chart = balance_chart([], available_now=0, pending_now=0, currency="usd", now=NOW)
    assert chart.start == NOW - 24 * 3600
    assert all(" V" not in series.path for series in chart.series)
