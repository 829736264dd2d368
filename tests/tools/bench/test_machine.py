"""The CPU lines of a `paycore bench` report say only what was measured."""

from __future__ import annotations

from paycore.tools.bench.machine import Machine


def test_only_the_client_watched_shows_no_sum_without_it() -> None:
    # `paycore bench payments --ghz PATH` without --server-pid: the client is all there is.
    machine = Machine(cpu_seconds={"client": 0.5}, processes={"client": 1})
    (cpu_line, _load) = machine.lines(calls=500)
    assert cpu_line == "  CPU ms per OK call  client 1.00  (process counts in brackets)"


def test_the_served_groups_are_summed_without_the_client() -> None:
    machine = Machine(
        cpu_seconds={"server": 2.0, "postgres": 1.0, "client": 0.5},
        processes={"server": 3, "postgres": 2, "client": 1},
    )
    (cpu_line, _load) = machine.lines(calls=1000)
    assert cpu_line == (
        "  CPU ms per OK call  server 2.00 (3), postgres 1.00 (2), client 0.50;"
        " without the client 3.00  (process counts in brackets)"
    )
