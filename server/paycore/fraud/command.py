"""`paycore fraud train` and `paycore fraud evaluate` (scikit-learn: the `train` or `dev` extra)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

from paycore.errors import ConfigurationError
from paycore.fraud.evaluation.cases import PASS_SHARE, SetResult, run_cases
from paycore.fraud.generator import GeneratorConfig
from paycore.fraud.model import DEFAULT_ARTIFACT, load_model

Handler = Callable[[argparse.Namespace], None]


def add_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], handler: Handler
) -> None:
    fraud = commands.add_parser("fraud", help="train and evaluate the fraud model")
    actions = fraud.add_subparsers(dest="fraud_command", required=True, metavar="ACTION")
    train = actions.add_parser(
        "train", help="generate labelled payments, fit the model, write its artifact"
    )
    _generator_options(train)
    train.add_argument("--trees", type=_at_least(1), default=120, help="boosting rounds (120)")
    train.add_argument("--depth", type=_at_least(1), default=3, help="depth of each tree (3)")
    train.add_argument(
        "--output", type=Path, default=DEFAULT_ARTIFACT, help=f"(default {DEFAULT_ARTIFACT})"
    )
    train.add_argument(
        "--labelled",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="labelled assessments from `paycore fraud export-labels`, added to the rows"
        " (repeatable)",
    )
    train.set_defaults(handler=handler)
    export = actions.add_parser(
        "export-labels",
        help="write every labelled assessment of every shard (features, label) as JSON lines",
    )
    export.add_argument("--output", type=Path, required=True)
    export.set_defaults(handler=handler)
    evaluate = actions.add_parser(
        "evaluate",
        help="ROC AUC and precision/recall at the review and block thresholds, on held-out"
        " payments generated with another seed; then the hand-written evaluation set: the"
        " share decided as expected and the ordinary purchases blocked",
    )
    evaluate.add_argument(
        "--model", type=Path, default=DEFAULT_ARTIFACT, help=f"(default {DEFAULT_ARTIFACT})"
    )
    _generator_options(evaluate)
    evaluate.add_argument("--json", action="store_true", help="print the figures as JSON")
    evaluate.set_defaults(handler=handler)


def _generator_options(parser: argparse.ArgumentParser) -> None:
    defaults = GeneratorConfig()
    parser.add_argument(
        "--seed",
        type=int,
        help=f"the generator's seed (train: {defaults.seed}; evaluate: the model's seed"
        " plus 1000003, so the held-out payments are new)",
    )
    parser.add_argument(
        "--days",
        type=_at_least(defaults.warmup_days + 1),
        default=defaults.days,
        help=f"(%(default)s; the first {defaults.warmup_days} only fill the velocity counters)",
    )
    parser.add_argument(
        "--customers", type=_at_least(1), default=defaults.customers, help="(%(default)s)"
    )


def _at_least(least: int) -> Callable[[str], int]:
    """An argparse type: an integer of at least `least`, else a usage error naming the option
    (rather than a traceback from the generator or scikit-learn once the work has started)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"must be at least {least}, not {value}")
        return value

    return parse


def run_fraud(arguments: argparse.Namespace) -> None:
    if arguments.fraud_command == "export-labels":
        _export(arguments.output)
        return
    try:
        import sklearn  # noqa: F401
    except ImportError:
        raise ConfigurationError(
            "training and evaluation need scikit-learn: pip install 'paycore[train]'"
        ) from None
    from paycore.fraud import training

    config = replace(GeneratorConfig(), days=arguments.days, customers=arguments.customers)
    if arguments.fraud_command == "train":
        config = replace(
            config, seed=GeneratorConfig().seed if arguments.seed is None else arguments.seed
        )
        document = training.train(
            config, trees=arguments.trees, depth=arguments.depth, labelled=arguments.labelled
        )
        model = training.write_artifact(document, arguments.output)
        print(
            f"trained {model.version} on {document['trained_rows']} payments"
            f" ({document['trained_fraud_rows']} fraudulent), {len(model.trees)} trees:"
            f" {arguments.output}"
        )
        return
    model = load_model(arguments.model)
    seed = model.generator_seed + training.HELD_OUT_SEED_OFFSET
    config = replace(config, seed=seed if arguments.seed is None else arguments.seed)
    evaluation = training.evaluate(model, config)
    cases = run_cases(model)
    if arguments.json:
        print(
            json.dumps(
                {
                    "model": model.version,
                    "seed": config.seed,
                    **asdict(evaluation),
                    "evaluation_set": _set_document(cases),
                },
                indent=2,
            )
        )
        return
    print(f"model {model.version} on held-out payments (generator seed {config.seed})")
    print(f"payments: {evaluation.rows} ({evaluation.fraud_rows} fraudulent)")
    print(f"ROC AUC: {evaluation.roc_auc:.4f}")
    for name, figures in evaluation.at_thresholds.items():
        print(
            f"{name} (score > {figures['threshold']}): precision {figures['precision']:.4f},"
            f" recall {figures['recall']:.4f}, {figures['flagged']} flagged"
        )
    for pattern, share in evaluation.recall_by_pattern.items():
        print(f"  above review, {pattern}: {share:.2%}")
    _print_set(cases)


def _print_set(cases: SetResult) -> None:
    print(
        f"evaluation set (hand-written, never trained on): {cases.passed}/{len(cases.outcomes)}"
        f" decided as expected ({cases.share:.1%}), {len(cases.ordinary_blocked)} ordinary"
        f" purchases blocked: {'meets' if cases.meets_bar else 'FAILS'} the bar"
        f" ({PASS_SHARE:.0%}, none blocked)"
    )
    for outcome in cases.outcomes:
        if not outcome.passed:
            print(
                f"  {outcome.case.id}: expected {outcome.case.expect.code}, got"
                f" {outcome.decision.code} (score {outcome.score};"
                f" {', '.join(outcome.reasons) or 'no reasons'})"
            )


def _set_document(cases: SetResult) -> dict[str, object]:
    return {
        "cases": len(cases.outcomes),
        "passed": cases.passed,
        "share": round(cases.share, 4),
        "ordinary_blocked": [outcome.case.id for outcome in cases.ordinary_blocked],
        "meets_bar": cases.meets_bar,
        "failed": [
            {
                "id": outcome.case.id,
                "expected": outcome.case.expect.code,
                "decision": outcome.decision.code,
                "score": outcome.score,
                "reasons": list(outcome.reasons),
            }
            for outcome in cases.outcomes
            if not outcome.passed
        ],
    }


def _export(output: Path) -> None:
    from paycore.config import load_settings
    from paycore.fraud.labels import export_labels
    from paycore.runtime.process import run_async

    settings = load_settings()
    if not settings.database_urls:
        raise ConfigurationError("PAYCORE_DATABASE_URLS must be set")
    written: list[int] = []

    async def main() -> None:
        written.append(await export_labels(settings.database_urls, output))

    run_async(main())
    print(f"exported {written[0]} labelled assessments: {output}")
