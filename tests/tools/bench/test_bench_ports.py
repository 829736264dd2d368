"""The self-hosted benches' own servers (simulator, webhook receiver, worker metrics) listen on
ports the user chooses (`--ports FIRST-LAST`, or PAYCORE_BENCH_PORTS), by default outside the
kernel's ephemeral range (32768-60999), which the OS hands to any connection and `:0` bind:
before, they took OS-assigned ports there, colliding with other work."""

from __future__ import annotations

import argparse
import socket

import pytest
from paycore.tools.bench import payouts, reconciliation, webhooks
from paycore.tools.bench.self_hosted import (
    BENCH_PORTS,
    Ports,
    default_ports,
    ephemeral_range,
    ports_argument,
)


def _parsed(module: object, *argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    module.add_arguments(parser, "postgresql://unused", "redis://unused")  # type: ignore[attr-defined]
    return parser.parse_args(list(argv))


def test_the_default_ports_are_outside_the_ephemeral_range(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(BENCH_PORTS, raising=False)
    low, high = ephemeral_range()
    for module in (payouts, webhooks, reconciliation):
        ports = _parsed(module).ports
        assert isinstance(ports, Ports)
        assert ports.last < low or ports.first > high
    assert default_ports() == _parsed(payouts).ports


def test_the_flag_and_the_environment_choose_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BENCH_PORTS, "24100-24109")
    assert (_parsed(webhooks).ports.first, _parsed(webhooks).ports.last) == (24100, 24109)
    chosen = _parsed(reconciliation, "--ports", "24200").ports
    assert (chosen.first, chosen.last) == (24200, 24299)  # FIRST alone: a hundred ports


@pytest.mark.parametrize("text", ["40000-40010", "abc", "24100-24000", "80"])
def test_ephemeral_or_malformed_ports_are_refused_naming_the_flag(
    text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        _parsed(payouts, "--ports", text)
    assert "--ports" in capsys.readouterr().err
    with pytest.raises(argparse.ArgumentTypeError):
        ports_argument(text)


def test_a_port_in_use_is_skipped_and_each_given_once() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 24150))
        ports = Ports(24150, 24153)
        assert [ports.take(), ports.take(), ports.take()] == [24151, 24152, 24153]
        with pytest.raises(RuntimeError, match="--ports"):
            ports.take()
