"""The velocity counters in memory, with exactly the Redis script's semantics, for replaying a
generated history in time order when training and evaluating (no Redis needed)."""

from __future__ import annotations

from bisect import bisect_right

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
from paycore.fraud.velocity import CARD_MEMORY_MS, DAY_MS


class MemoryCounters:
    """Events must arrive in time order (timestamps never decrease)."""

    def __init__(self) -> None:
        self._attempts: dict[str, list[int]] = {}
        self._declines: dict[str, list[int]] = {}
        self._cards: dict[str, dict[str, int]] = {}
        self._merchants: dict[str, dict[str, int]] = {}
        """Platform-observed value -> merchant -> last seen."""

    def observe(self, facts: PaymentFacts) -> Velocity:
        now = facts.timestamp_ms
        values = entity_values(facts)
        counts = dict.fromkeys((*VELOCITY_FEATURES, *PLATFORM_FEATURES), 0)
        first = False
        for entity in ENTITIES:
            if not values[entity]:
                continue
            key = f"{facts.merchant}:{entity}:{values[entity]}"
            attempts = self._attempts.setdefault(key, [])
            attempts.append(now)
            declines = self._declines.get(key, [])
            for window, length in WINDOWS:
                counts[f"{entity}_attempts_{window}"] = _within(attempts, now - length)
                counts[f"{entity}_declines_{window}"] = _within(declines, now - length)
            if "cards" in COUNTERS_OF_ENTITY[entity]:
                first = self._observe_card(entity, key, facts, counts) or first
        observed = platform_values(facts)
        for entity in PLATFORM_ENTITIES:
            if not observed[entity]:
                continue
            merchants = self._merchants.setdefault(f"{entity}:{observed[entity]}", {})
            merchants[facts.merchant] = now
            for window, length in WINDOWS:
                counts[f"platform_{entity}_merchants_{window}"] = sum(
                    1 for last_seen in merchants.values() if last_seen > now - length
                )
        return Velocity(counts, first_card_for_customer=first)

    def _observe_card(
        self, entity: str, key: str, facts: PaymentFacts, counts: dict[str, int]
    ) -> bool:
        """Counts the distinct cards `key` saw per window into `counts`; whether this is the
        customer's first sight of the card (within CARD_MEMORY_MS)."""
        now = facts.timestamp_ms
        memory = CARD_MEMORY_MS if entity == "customer" else DAY_MS
        cards = self._cards.setdefault(key, {})
        card = facts.card_fingerprint
        first = False
        if card:
            seen = cards.get(card)
            first = entity == "customer" and (seen is None or seen <= now - memory)
            cards[card] = now
        for window, length in WINDOWS:
            counts[f"{entity}_cards_{window}"] = sum(
                1 for last_seen in cards.values() if last_seen > now - length
            )
        return first

    def record_decline(self, facts: PaymentFacts) -> None:
        values = entity_values(facts)
        for entity in ENTITIES:
            if values[entity]:
                key = f"{facts.merchant}:{entity}:{values[entity]}"
                self._declines.setdefault(key, []).append(facts.timestamp_ms)


def _within(timestamps: list[int], after: int) -> int:
    """How many of the sorted timestamps are strictly after `after`."""
    return len(timestamps) - bisect_right(timestamps, after)
