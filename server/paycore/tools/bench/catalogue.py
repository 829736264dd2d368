"""The one list of scenarios: `paycore bench <name>` offers each, in this order."""

from __future__ import annotations

from paycore.tools.bench import accounts, health, payments
from paycore.tools.bench.scenario import Scenario

SCENARIOS: tuple[Scenario, ...] = (
    accounts.SCENARIO,
    health.SCENARIO,
    payments.SCENARIO,
)


def scenario_named(name: str) -> Scenario:
    for scenario in SCENARIOS:
        if scenario.name == name:
            return scenario
    raise KeyError(name)
