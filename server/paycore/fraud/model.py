"""Scoring with a trained model from its JSON artifact: gradient-boosted trees walked in plain
Python (no training library on the request path; about a hundred shallow trees take tens of
microseconds). Each tree's path also says which features moved the score (Saabas' attribution),
which gives the assessment its top model features."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paycore.errors import ConfigurationError
from paycore.fraud.features import MODEL_FEATURES

ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"
DEFAULT_ARTIFACT = ARTIFACTS_DIR / "model.json"
ARTIFACT_FORMAT = 1
TOP_FEATURES = 3
# A feature is named among the reasons only when it raised the log-odds by at least this much.
CONTRIBUTION_MIN = 0.25


@dataclass(frozen=True)
class Tree:
    left: tuple[int, ...]
    right: tuple[int, ...]
    feature: tuple[int, ...]
    threshold: tuple[float, ...]
    value: tuple[float, ...]
    """Every node's value (leaves and inner nodes), already multiplied by the learning rate."""


@dataclass(frozen=True)
class ModelScore:
    probability: float
    top_features: tuple[str, ...]


@dataclass(frozen=True)
class Model:
    version: str
    generator_seed: int
    features: tuple[str, ...]
    base_log_odds: float
    trees: tuple[Tree, ...]
    evaluation: dict[str, Any]

    def score(self, vector: list[int]) -> ModelScore:
        log_odds = self.base_log_odds
        contributions = [0.0] * len(self.features)
        for tree in self.trees:
            left, right, feature, threshold, value = (
                tree.left,
                tree.right,
                tree.feature,
                tree.threshold,
                tree.value,
            )
            node = 0
            while left[node] >= 0:
                index = feature[node]
                child = left[node] if vector[index] <= threshold[node] else right[node]
                contributions[index] += value[child] - value[node]
                node = child
            log_odds += value[node]
        ranked = sorted(
            (
                (contribution, name)
                for contribution, name in zip(contributions, self.features, strict=True)
                if contribution >= CONTRIBUTION_MIN
            ),
            reverse=True,
        )
        return ModelScore(
            probability=1.0 / (1.0 + math.exp(-log_odds)),
            top_features=tuple(name for _, name in ranked[:TOP_FEATURES]),
        )


def load_model(path: Path | None = None) -> Model:
    """Reads an artifact and checks that it was trained on the features this code computes."""
    source = path or DEFAULT_ARTIFACT
    try:
        document = json.loads(source.read_text())
    except (OSError, ValueError) as error:
        raise ConfigurationError(f"cannot read the fraud model {source}: {error}") from None
    return model_from_document(document, source)


def model_from_document(document: dict[str, Any], source: object = "document") -> Model:
    if document.get("format") != ARTIFACT_FORMAT:
        raise ConfigurationError(f"{source}: not a format {ARTIFACT_FORMAT} fraud model")
    features = tuple(document["features"])
    if features != MODEL_FEATURES:
        raise ConfigurationError(
            f"{source}: trained on other features than this code computes; retrain it"
        )
    trees = tuple(
        Tree(
            left=tuple(tree["left"]),
            right=tuple(tree["right"]),
            feature=tuple(tree["feature"]),
            threshold=tuple(tree["threshold"]),
            value=tuple(tree["value"]),
        )
        for tree in document["trees"]
    )
    return Model(
        version=str(document["version"]),
        generator_seed=int(document["generator_seed"]),
        features=features,
        base_log_odds=float(document["base_log_odds"]),
        trees=trees,
        evaluation=dict(document.get("evaluation", {})),
    )
