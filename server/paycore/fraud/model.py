"""Scoring with a trained model from its JSON artifact: gradient-boosted trees walked in plain
Python (no training library on the request path). Each tree's path also says which features
moved the score (Saabas' attribution), which gives the assessment its top model features.

The trees are walked by one Python function generated from them when the model is first used
(`_walker`): the 120 trees of depth 3 cost about 200 us per payment walked as data (tuple
lookups in a loop, issue 17's profile: 4 % of the server's CPU per payment) and a tenth of that
as code. It does the same float operations in the same order as walking them as data, so
scores and attributions are the same to the last bit."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from paycore.errors import ConfigurationError
from paycore.fraud.features import ABSENT_WHEN_ZERO, MODEL_FEATURES

ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"
DEFAULT_ARTIFACT = ARTIFACTS_DIR / "model.json"
ARTIFACT_FORMAT = 1
TOP_FEATURES = 3
# A feature is named among the reasons only when it raised the log-odds by at least this much
# (and, for one of features.ABSENT_WHEN_ZERO, when the payment has what it names).
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
        log_odds, contributions = self._walk(vector, self.base_log_odds)
        ranked = sorted(
            (
                (contribution, name)
                for contribution, name, value in zip(
                    contributions, self.features, vector, strict=True
                )
                if contribution >= CONTRIBUTION_MIN
                and not (value == 0 and name in ABSENT_WHEN_ZERO)
            ),
            reverse=True,
        )
        return ModelScore(
            probability=1.0 / (1.0 + math.exp(-log_odds)),
            top_features=tuple(name for _, name in ranked[:TOP_FEATURES]),
        )

    @cached_property
    def _walk(self) -> Walk:
        return _walker(self.trees, len(self.features))


Walk = Callable[[Sequence[int], float], tuple[float, list[float]]]
"""(the feature vector, the base log-odds) -> (the log-odds after every tree, each feature's
contribution: the sum of the steps on it)."""


def _walker(trees: Sequence[Tree], feature_count: int) -> Walk:
    """Every tree as nested ifs in one function, features and contributions in local variables
    (`x3`, `c3`): at each inner node the step's change of value is added to its feature's
    contribution, at each leaf the leaf's value to the log-odds, tree after tree, as a walk of
    the data adds them."""
    features = range(feature_count)
    lines = [
        "def walk(vector, log_odds):",
        f"    {', '.join(f'x{i}' for i in features)}, = vector",
        f"    {' = '.join(f'c{i}' for i in features)} = 0.0",
    ]
    for tree in trees:
        _branch(tree, 0, 1, lines)
    lines.append(f"    return log_odds, [{', '.join(f'c{i}' for i in features)}]")
    namespace: dict[str, Any] = {}
    exec(compile("\n".join(lines), "<fraud model>", "exec"), namespace)
    walk: Walk = namespace["walk"]
    return walk


def _branch(tree: Tree, node: int, depth: int, lines: list[str]) -> None:
    indent = "    " * depth
    if tree.left[node] < 0:
        lines.append(f"{indent}log_odds += {_literal(tree.value[node])}")
        return
    index = tree.feature[node]
    lines.append(f"{indent}if x{index} <= {_literal(tree.threshold[node])}:")
    for condition, child in ((None, tree.left[node]), ("else:", tree.right[node])):
        if condition is not None:
            lines.append(f"{indent}{condition}")
        change = tree.value[child] - tree.value[node]
        lines.append(f"{indent}    c{index} += {_literal(change)}")
        _branch(tree, child, depth + 1, lines)


def _literal(number: float) -> str:
    """Python source for exactly this float (repr round-trips; inf and nan are no literals)."""
    text = repr(float(number))
    return text if math.isfinite(number) else f"float('{text}')"


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
    try:
        trees = _trees_of(document["trees"])
    except (TypeError, ValueError) as error:
        raise ConfigurationError(f"{source}: a tree holds other than numbers: {error}") from None
    return Model(
        version=str(document["version"]),
        generator_seed=int(document["generator_seed"]),
        features=features,
        base_log_odds=float(document["base_log_odds"]),
        trees=trees,
        evaluation=dict(document.get("evaluation", {})),
    )


def _trees_of(documents: list[dict[str, list[Any]]]) -> tuple[Tree, ...]:
    # int() and float(): the trees become Python source (`_walker`), so nothing but numbers may
    # reach it from the artifact.
    return tuple(
        Tree(
            left=tuple(int(node) for node in tree["left"]),
            right=tuple(int(node) for node in tree["right"]),
            feature=tuple(int(index) for index in tree["feature"]),
            threshold=tuple(float(number) for number in tree["threshold"]),
            value=tuple(float(number) for number in tree["value"]),
        )
        for tree in documents
    )
