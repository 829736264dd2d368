"""deploy/prometheus: the rules load, and their unit tests (rules_test.yaml) pass."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.deploy.support import DEPLOY, binary

RULES = DEPLOY / "prometheus"


def promtool(*arguments: str, folder: Path = RULES) -> subprocess.CompletedProcess[str]:
    tool = binary("promtool", "apt-get install prometheus")
    return subprocess.run(
        [tool, *arguments], cwd=folder, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_rules_are_valid() -> None:
    checked = promtool("check", "rules", "rules.yaml")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_rules_unit_tests_pass() -> None:
    tested = promtool("test", "rules", "rules_test.yaml")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout


def test_a_wrong_expectation_fails(tmp_path: Path) -> None:
    shutil.copy(RULES / "rules.yaml", tmp_path)
    broken = (RULES / "rules_test.yaml").read_text().replace("value: 0.1", "value: 0.2", 1)
    (tmp_path / "rules_test.yaml").write_text(broken)
    tested = promtool("test", "rules", "rules_test.yaml", folder=tmp_path)
    assert tested.returncode != 0
