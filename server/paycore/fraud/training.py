"""`paycore fraud train` and `paycore fraud evaluate`: fit gradient-boosted trees on generated
payments (scikit-learn, a training-time dependency only) and write the JSON artifact the server
scores with; measure an artifact on a held-out history generated with another seed.

Features come from replaying the history in time order through counters with the Redis
script's semantics (paycore.fraud.replay), through the same functions scoring uses.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from paycore.fraud.features import MODEL_FEATURES, feature_vector
from paycore.fraud.generator import GeneratorConfig, LabelledPayment, generate, is_warmup
from paycore.fraud.labels import read_labelled
from paycore.fraud.model import ARTIFACT_FORMAT, Model, model_from_document
from paycore.fraud.replay import MemoryCounters

DEFAULT_TREES = 120
DEFAULT_DEPTH = 3
LEARNING_RATE = 0.1
HELD_OUT_SEED_OFFSET = 1_000_003
"""The held-out history's seed is the training seed plus this: other customers, other attacks."""


@dataclass(frozen=True)
class Rows:
    vectors: list[list[int]]
    labels: list[int]
    patterns: list[str]


def rows_of(history: list[LabelledPayment], config: GeneratorConfig) -> Rows:
    counters = MemoryCounters()
    rows = Rows([], [], [])
    for payment in history:
        velocity = counters.observe(payment.facts)
        if payment.declined:
            counters.record_decline(payment.facts)
        if is_warmup(payment, config):
            continue
        _, vector = feature_vector(payment.facts, velocity)
        rows.vectors.append(vector)
        rows.labels.append(int(payment.fraudulent))
        rows.patterns.append(payment.pattern)
    return rows


def train(
    config: GeneratorConfig,
    *,
    trees: int = DEFAULT_TREES,
    depth: int = DEFAULT_DEPTH,
    labelled: Sequence[Path] = (),
) -> dict[str, Any]:
    """The artifact document of a model fitted on the history `config` generates, plus the
    labelled assessments of real traffic in `labelled` (`paycore fraud export-labels`)."""
    import numpy as np
    from sklearn.ensemble import GradientBoostingClassifier

    rows = rows_of(generate(config), config)
    labelled_sources = []
    for path in labelled:
        vectors, labels = read_labelled(path)
        rows.vectors.extend(vectors)
        rows.labels.extend(labels)
        rows.patterns.extend("labelled" for _ in labels)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        labelled_sources.append({"file": path.name, "sha256": digest, "rows": len(labels)})
    classifier = GradientBoostingClassifier(
        n_estimators=trees,
        max_depth=depth,
        learning_rate=LEARNING_RATE,
        subsample=0.8,
        random_state=config.seed,
    )
    features = np.asarray(rows.vectors, dtype=np.float64)
    classifier.fit(features, np.asarray(rows.labels))
    exported = [_export_tree(estimator[0].tree_) for estimator in classifier.estimators_]
    # The constant the ensemble starts from (the prior log-odds), read through the public API.
    first = features[:1]
    leaves = sum(
        LEARNING_RATE * estimator[0].predict(first)[0] for estimator in classifier.estimators_
    )
    base_log_odds = float(classifier.decision_function(first)[0] - leaves)
    today = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d")
    return {
        "format": ARTIFACT_FORMAT,
        "version": f"gbm-{today}-s{config.seed}",
        "library": "scikit-learn GradientBoostingClassifier",
        "generator_seed": config.seed,
        "generator": asdict(config),
        "trained_rows": len(rows.labels),
        "trained_fraud_rows": sum(rows.labels),
        "labelled": labelled_sources,
        "features": list(MODEL_FEATURES),
        "base_log_odds": base_log_odds,
        "trees": exported,
    }


def _export_tree(tree: Any) -> dict[str, list[Any]]:
    return {
        "left": [int(node) for node in tree.children_left],
        "right": [int(node) for node in tree.children_right],
        "feature": [max(int(feature), 0) for feature in tree.feature],
        "threshold": [round(float(threshold), 6) for threshold in tree.threshold],
        "value": [round(LEARNING_RATE * float(value), 8) for value in tree.value[:, 0, 0]],
    }


@dataclass(frozen=True)
class Evaluation:
    rows: int
    fraud_rows: int
    roc_auc: float
    at_thresholds: dict[str, dict[str, float]]
    """"review" / "block" -> precision, recall (flagged = score above the threshold)."""
    recall_by_pattern: dict[str, float]
    """Share of each fraud pattern's payments scored above the review threshold."""


def evaluate(
    model: Model, config: GeneratorConfig, review_above: int = 500, block_above: int = 800
) -> Evaluation:
    from sklearn.metrics import roc_auc_score

    rows = rows_of(generate(config), config)
    scores = [round(model.score(vector).probability * 1000) for vector in rows.vectors]
    at_thresholds = {
        name: _precision_recall(scores, rows.labels, threshold)
        for name, threshold in (("review", review_above), ("block", block_above))
    }
    recall_by_pattern: dict[str, float] = {}
    for pattern in sorted(set(rows.patterns)):
        chosen = [
            score for score, kind in zip(scores, rows.patterns, strict=True) if kind == pattern
        ]
        recall_by_pattern[pattern] = round(
            sum(score > review_above for score in chosen) / len(chosen), 4
        )
    probabilities = [model.score(vector).probability for vector in rows.vectors]
    return Evaluation(
        rows=len(rows.labels),
        fraud_rows=sum(rows.labels),
        roc_auc=round(float(roc_auc_score(rows.labels, probabilities)), 4),
        at_thresholds=at_thresholds,
        recall_by_pattern=recall_by_pattern,
    )


def _precision_recall(scores: list[int], labels: list[int], threshold: int) -> dict[str, float]:
    flagged = [label for score, label in zip(scores, labels, strict=True) if score > threshold]
    true_positives = sum(flagged)
    return {
        "threshold": threshold,
        "precision": round(true_positives / len(flagged), 4) if flagged else 0.0,
        "recall": round(true_positives / max(sum(labels), 1), 4),
        "flagged": len(flagged),
    }


def held_out_config(config: GeneratorConfig) -> GeneratorConfig:
    from dataclasses import replace

    return replace(config, seed=config.seed + HELD_OUT_SEED_OFFSET)


def write_artifact(document: dict[str, Any], path: Path) -> Model:
    model = model_from_document(document, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, separators=(",", ":")) + "\n")
    return model
