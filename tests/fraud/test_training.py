"""The generator, training and held-out evaluation (small sizes, so the suite stays fast), and
the committed artifact the server loads."""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from paycore.errors import ConfigurationError
from paycore.fraud import training
from paycore.fraud.features import MODEL_FEATURES
from paycore.fraud.generator import PATTERNS, GeneratorConfig, generate
from paycore.fraud.model import DEFAULT_ARTIFACT, load_model, model_from_document

SMALL = GeneratorConfig(seed=7, days=6, warmup_days=1, customers=1500)


def test_the_generator_is_deterministic_and_has_every_pattern() -> None:
    first, second = generate(SMALL), generate(SMALL)
    assert first == second
    assert generate(replace(SMALL, seed=8)) != first
    patterns = Counter(payment.pattern for payment in first)
    assert set(patterns) == set(PATTERNS)
    timestamps = [payment.facts.timestamp_ms for payment in first]
    assert timestamps == sorted(timestamps)
    assert all(payment.facts.amount > 0 for payment in first)


def test_a_small_model_reaches_the_auc_target_on_held_out_payments(tmp_path: Path) -> None:
    document = training.train(SMALL, trees=80)
    model = training.write_artifact(document, tmp_path / "model.json")
    assert model.generator_seed == 7 and len(model.trees) == 80
    evaluation = training.evaluate(model, training.held_out_config(SMALL))
    assert evaluation.fraud_rows > 100
    assert evaluation.roc_auc >= 0.95
    block, review = evaluation.at_thresholds["block"], evaluation.at_thresholds["review"]
    assert block["precision"] >= review["precision"] - 0.05
    assert review["recall"] >= block["recall"]
    assert evaluation.recall_by_pattern["card_testing"] > 0.9
    assert evaluation.recall_by_pattern["legitimate"] < 0.02


def test_the_committed_artifact_loads_and_records_its_seed() -> None:
    model = load_model()
    assert model.features == MODEL_FEATURES
    assert model.version.startswith("gbm-")
    assert model.generator_seed == GeneratorConfig().seed
    assert DEFAULT_ARTIFACT.stat().st_size < 200_000


def test_an_artifact_for_other_features_is_refused() -> None:
    document = json.loads(DEFAULT_ARTIFACT.read_text())
    document["features"] = document["features"][:-1]
    with pytest.raises(ConfigurationError, match="retrain"):
        model_from_document(document)


def test_an_artifact_whose_trees_hold_other_than_numbers_is_refused() -> None:
    """The trees become generated Python source: a string in them never reaches it."""
    document = json.loads(DEFAULT_ARTIFACT.read_text())
    document["trees"][0]["feature"][0] = "0 or __import__('os')"
    with pytest.raises(ConfigurationError, match="other than numbers"):
        model_from_document(document)


async def test_the_commands_train_and_evaluate(tmp_path: Path) -> None:
    artifact = tmp_path / "cli-model.json"
    small = ("--days", "4", "--customers", "800")
    train = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "paycore.cli", "fraud", "train", "--seed", "3", "--trees", "20"),
        *small,
        "--output",
        str(artifact),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(train.communicate(), timeout=60)
    assert train.returncode == 0, stderr.decode()
    assert "20 trees" in stdout.decode()
    evaluate = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "paycore.cli", "fraud", "evaluate", "--json"),
        *small,
        "--model",
        str(artifact),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(evaluate.communicate(), timeout=60)
    assert evaluate.returncode == 0, stderr.decode()
    figures = json.loads(stdout)
    assert figures["seed"] == 3 + training.HELD_OUT_SEED_OFFSET
    assert 0.5 < figures["roc_auc"] <= 1.0
    assert set(figures["at_thresholds"]) == {"review", "block"}
    evaluation_set = figures["evaluation_set"]
    assert evaluation_set["cases"] >= 60
    assert evaluation_set["passed"] == evaluation_set["cases"] - len(evaluation_set["failed"])


async def test_evaluate_prints_the_auc_beside_the_evaluation_set() -> None:
    evaluate = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "paycore.cli", "fraud", "evaluate", "--days", "4"),
        *("--customers", "800"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(evaluate.communicate(), timeout=120)
    assert evaluate.returncode == 0, stderr.decode()
    text = stdout.decode()
    assert "ROC AUC: " in text
    assert "evaluation set (hand-written, never trained on): " in text
    assert "meets the bar" in text


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        (("evaluate", "--days", "2"), "--days"),
        (("evaluate", "--customers", "0"), "--customers"),
        (("train", "--trees", "0"), "--trees"),
        (("train", "--depth", "-1"), "--depth"),
    ],
)
async def test_sizes_the_generator_cannot_use_are_refused_naming_the_option(
    arguments: tuple[str, ...], named: str
) -> None:
    """A history of only warm-up days (no payment to judge), no customers, no trees: a usage
    error that names the option (exit 2), not a scikit-learn traceback after the generation."""
    command = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "paycore.cli", "fraud", *arguments),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(command.communicate(), timeout=60)
    assert command.returncode == 2, stderr.decode()
    assert named in stderr.decode()
    assert "Traceback" not in stderr.decode()
