"""The feedback loop: labelled assessments exported from every shard feed the next training."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from paycore.client import Paycore
from paycore.config import Settings
from paycore.fraud import training
from paycore.fraud.features import MODEL_FEATURES
from paycore.fraud.generator import GeneratorConfig
from paycore.fraud.labels import export_labels, read_labelled
from paycore.v1 import fraud_pb2

from tests.fraud.support import returning_customer
from tests.helpers import MerchantFixture


async def test_labelled_assessments_are_exported_and_trained_on(
    merchant: MerchantFixture,
    admin_client_for: Callable[[str | None], Paycore],
    migrated: Settings,
    tmp_path: Path,
) -> None:
    merchant_id = merchant.merchant.id
    operator = admin_client_for(merchant_id)
    requests = [returning_customer(merchant_id) for _ in range(3)]
    for request, label in zip(
        requests,
        (fraud_pb2.OUTCOME_LABEL_FRAUDULENT, fraud_pb2.OUTCOME_LABEL_LEGITIMATE, None),
        strict=True,
    ):
        await merchant.client.fraud.ScorePayment(request)
        if label is not None:
            await operator.fraud.ReportOutcome(
                fraud_pb2.ReportOutcomeRequest(payment=request.payment, label=label)
            )
    export = tmp_path / "labels.jsonl"
    written = await export_labels(migrated.database_urls, export)
    lines = [json.loads(line) for line in export.read_text().splitlines()]
    assert len(lines) == written
    mine = {line["payment"]: line for line in lines if line["merchant"] == merchant_id}
    assert set(mine) == {requests[0].payment, requests[1].payment}
    assert mine[requests[0].payment]["fraudulent"] is True
    assert mine[requests[1].payment]["fraudulent"] is False
    assert mine[requests[0].payment]["features"]["amount_usd"] == requests[0].amount
    vectors, labels = read_labelled(export)
    assert len(vectors) == written and all(len(v) == len(MODEL_FEATURES) for v in vectors)
    assert labels.count(1) == sum(line["fraudulent"] for line in lines)
    # An assessment from before local_hour existed (rules version 1) is not a training row.
    old = {"merchant": merchant_id, "payment": "pay_old", "fraudulent": True}
    old |= {"model_version": "rules-1+gbm-20261123-s42", "features": {"hour_utc": 3}}
    with_old = tmp_path / "with-old.jsonl"
    with_old.write_text(export.read_text() + json.dumps(old) + "\n")
    assert read_labelled(with_old) == (vectors, labels)

    small = GeneratorConfig(seed=4, days=3, warmup_days=1, customers=400)
    plain = training.train(small, trees=5)
    fed = training.train(small, trees=5, labelled=[export])
    assert fed["trained_rows"] == plain["trained_rows"] + written
    assert fed["labelled"] == [
        {"file": "labels.jsonl", "sha256": fed["labelled"][0]["sha256"], "rows": written}
    ]
