"""deploy/prometheus: the rules load, and their unit tests (rules_test.yaml) pass."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import yaml

from tests.deploy.support import DEPLOY, binary
from tests.deploy.test_kubernetes import of_kind, rendered

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


def alert(name: str) -> dict[str, object]:
    rules = yaml.safe_load((RULES / "rules.yaml").read_text())
    return next(
        rule for group in rules["groups"] for rule in group["rules"] if rule.get("alert") == name
    )


def test_the_jobs_the_alerts_name_are_the_scraped_deployments() -> None:
    """prometheus.yaml names a target's job after its Deployment: the alerts on `up` must name
    Deployments it scrapes, at the port that serves their metrics."""
    (job,) = yaml.safe_load((RULES / "prometheus.yaml").read_text())["scrape_configs"]
    relabels = {step.get("target_label"): step for step in job["relabel_configs"]}
    assert relabels["job"]["source_labels"] == [
        "__meta_kubernetes_pod_label_app_kubernetes_io_name"
    ]
    scraped = {}
    for name, deployment in of_kind(rendered("production"), "Deployment").items():
        template = deployment["spec"]["template"]
        annotations = template["metadata"].get("annotations", {})
        if annotations.get("prometheus.io/scrape") == "true":
            assert template["metadata"]["labels"]["app.kubernetes.io/name"] == name
            ports = {port["containerPort"] for port in template["spec"]["containers"][0]["ports"]}
            assert int(annotations["prometheus.io/port"]) in ports, name
            scraped[name] = deployment
    assert {"paycore-serve", "paycore-worker", "paycore-edge"} <= set(scraped)
    named = set()
    for rule in ("PaycoreServeDown", "PaycoreTargetDown", "PaycoreWorkersMissing"):
        for jobs in re.findall(r'job=~?"([^"]+)"', str(alert(rule)["expr"])):
            named |= set(jobs.split("|"))
    assert named == {"paycore-serve", "paycore-worker", "paycore-edge"}


def test_the_workers_expected_are_the_workers_deployed() -> None:
    expr = str(alert("PaycoreWorkersMissing")["expr"])
    expected = int(re.search(r"< (\d+)$", expr.strip()).group(1))  # type: ignore[union-attr]
    deployment = of_kind(rendered("production"), "Deployment")["paycore-worker"]
    assert expected == deployment["spec"]["replicas"]
    assert f"{expected} replicas" in str(alert("PaycoreWorkersMissing")["annotations"])
