"""deploy/prometheus: the rules load, and their unit tests (rules_test.yaml) pass."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import yaml

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


def slug(heading: str) -> str:
    """GitHub's anchor of a markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_every_runbook_link_reaches_a_section() -> None:
    rules = yaml.safe_load((RULES / "rules.yaml").read_text())
    runbooks = [
        rule["annotations"]["runbook"]
        for group in rules["groups"]
        for rule in group["rules"]
        if "runbook" in rule.get("annotations", {})
    ]
    assert runbooks
    for runbook in runbooks:
        document, anchor = re.match(r"([\w/.-]+\.md)#([\w-]+)", runbook).groups()  # type: ignore[union-attr]
        text = (DEPLOY.parent / document).read_text()
        anchors = {slug(line.lstrip("#")) for line in text.splitlines() if line.startswith("#")}
        assert anchor in anchors, runbook
    assert slug("More shards: moving a logical shard online") == (
        "more-shards-moving-a-logical-shard-online"
    )
