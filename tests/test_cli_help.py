"""`paycore <command> --help` names the settings the command reads, as an operator looks there
first: `paycore dev --help` said only "usage: paycore dev [-h]", and which PAYCORE_* variables
move its five listening addresses and its storage was in docs/configuration.md alone."""

from __future__ import annotations

import re

import pytest
from paycore.cli import parser
from paycore.config import setting_variables

NAMED = {
    "dev": {
        "PAYCORE_DATABASE_URLS",
        "PAYCORE_REDIS_URL",
        "PAYCORE_DATA_DIR",
        "PAYCORE_GRPC_ADDR",
        "PAYCORE_INTERNAL_GRPC_ADDR",
        "PAYCORE_HTTP_ADDR",
        "PAYCORE_METRICS_ADDR",
        "PAYCORE_PSP_URL",
    },
    "serve": {"PAYCORE_DATABASE_URLS", "PAYCORE_GRPC_ADDR", "PAYCORE_METRICS_ADDR"},
    "edge": {"PAYCORE_HTTP_ADDR", "PAYCORE_GRPC_ADDR", "PAYCORE_EDGE_METRICS_ADDR"},
    "worker": {"PAYCORE_DATABASE_URLS", "PAYCORE_WORKER_METRICS_ADDR"},
    "migrate": {"PAYCORE_DATABASE_URLS"},
}


@pytest.mark.parametrize("command", sorted(NAMED))
def test_help_names_the_settings_the_command_reads(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        parser().parse_args([command, "--help"])
    text = capsys.readouterr().out
    named = set(re.findall(r"PAYCORE_[A-Z_]+", text))
    assert NAMED[command] <= named, NAMED[command] - named
    assert named <= setting_variables(), named - setting_variables()
    assert "docs/configuration.md" in text
