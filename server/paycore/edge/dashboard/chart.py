"""The balance page's chart: pending and available over time, drawn server-side as inline SVG
(no script, no chart library, nothing the page's CSP would have to allow).

The series are read back from the balance transactions the page fetched, anchored at the
balance as it is now: going back in time, a transaction still pending that was created later
leaves pending, and one available now that became available later (available_on) leaves
available and returns to pending. Transactions older than those fetched are not
seen, so the chart spans from the oldest fetched one to now."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

WIDTH = 640
HEIGHT = 240
LEFT = 80
RIGHT = 16
TOP = 16
BOTTOM = 32
PENDING = "pending"


@dataclass(frozen=True)
class Series:
    name: str
    path: str
    """SVG path data of the step line."""
    now: int
    """The value at the right edge (the balance now), minor units."""


@dataclass(frozen=True)
class Chart:
    currency: str
    series: tuple[Series, ...]
    start: int
    end: int
    top_value: int
    bottom_value: int
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right_edge: int = WIDTH - RIGHT
    top: int = TOP
    baseline: int = HEIGHT - BOTTOM


def balance_chart(
    transactions: Sequence[dict[str, Any]],
    available_now: int,
    pending_now: int,
    currency: str,
    now: int,
) -> Chart:
    """`transactions`: balance transactions as the edge renders them (stripe_json), any order;
    those of other currencies are ignored."""
    moves = [t for t in transactions if t["currency"] == currency]
    start = min([t["created"] for t in moves], default=now - 24 * 3600)
    start = min(start, now - 60)
    times = sorted({start, now, *_changes(moves, start, now)})
    pending = [(t, _pending_at(moves, pending_now, t)) for t in times]
    available = [(t, _available_at(moves, available_now, t)) for t in times]
    values = [value for _, value in pending + available]
    top_value, bottom_value = max([*values, 1]), min([*values, 0])
    scale = _Scale(start, now, bottom_value, top_value)
    return Chart(
        currency=currency,
        series=(
            Series("pending", scale.step_path(pending), pending_now),
            Series("available", scale.step_path(available), available_now),
        ),
        start=start,
        end=now,
        top_value=top_value,
        bottom_value=bottom_value,
    )


def _changes(moves: Sequence[dict[str, Any]], start: int, now: int) -> list[int]:
    moments = [t["created"] for t in moves] + [t["available_on"] for t in moves]
    return [moment for moment in moments if start <= moment <= now]


def _pending_at(moves: Sequence[dict[str, Any]], pending_now: int, at: int) -> int:
    value = pending_now
    for t in moves:
        if t["status"] == PENDING and t["created"] > at:
            value -= t["net"]  # pending now, created after `at`
        elif t["status"] != PENDING and t["created"] <= at < t["available_on"]:
            value += t["net"]  # pending at `at`, available since
    return value


def _available_at(moves: Sequence[dict[str, Any]], available_now: int, at: int) -> int:
    later = [int(t["net"]) for t in moves if t["status"] != PENDING and t["available_on"] > at]
    return available_now - sum(later)


@dataclass(frozen=True)
class _Scale:
    start: int
    end: int
    bottom_value: int
    top_value: int

    def x(self, moment: int) -> float:
        span = max(self.end - self.start, 1)
        return LEFT + (WIDTH - RIGHT - LEFT) * (moment - self.start) / span

    def y(self, value: int) -> float:
        span = max(self.top_value - self.bottom_value, 1)
        return HEIGHT - BOTTOM - (HEIGHT - BOTTOM - TOP) * (value - self.bottom_value) / span

    def step_path(self, points: Sequence[tuple[int, int]]) -> str:
        first_time, first_value = points[0]
        parts = [f"M{self.x(first_time):.1f},{self.y(first_value):.1f}"]
        for moment, value in points[1:]:
            parts.append(f"H{self.x(moment):.1f}V{self.y(value):.1f}")
        return " ".join(parts)
