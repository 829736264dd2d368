"""Labelled assessments from real traffic, the feedback loop's last step: `paycore fraud
export-labels` writes every labelled assessment of every shard (its features and its label) as
JSON lines, and `paycore fraud train --labelled FILE` adds them to the generated rows."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from paycore.fraud.features import MODEL_FEATURES
from paycore.fraud.models import OutcomeLabel
from paycore.storage.schema import fraud_assessments
from paycore.storage.shards import asyncpg_url
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

BATCH_ROWS = 5000


async def export_labels(database_urls: Sequence[str], path: Path) -> int:
    """Writes one line per labelled assessment; returns how many."""
    query = (
        select(
            fraud_assessments.c.merchant_id,
            fraud_assessments.c.payment,
            fraud_assessments.c.label,
            fraud_assessments.c.model_version,
            fraud_assessments.c.features,
        )
        .where(fraud_assessments.c.label.is_not(None))
        .order_by(fraud_assessments.c.merchant_id, fraud_assessments.c.id)
    )
    written = 0
    with path.open("w") as output:
        for url in database_urls:
            engine = create_async_engine(asyncpg_url(url), poolclass=NullPool)
            try:
                async with engine.connect() as connection:
                    result = await connection.stream(query.execution_options(yield_per=BATCH_ROWS))
                    async for row in result:
                        line = {
                            "merchant": row.merchant_id,
                            "payment": row.payment,
                            "fraudulent": row.label == OutcomeLabel.FRAUDULENT.value,
                            "model_version": row.model_version,
                            "features": row.features,
                        }
                        output.write(json.dumps(line, separators=(",", ":")) + "\n")
                        written += 1
            finally:
                await engine.dispose()
    return written


def read_labelled(path: Path) -> tuple[list[list[int]], list[int]]:
    """The model's input vectors and labels of an export. An assessment scored before a
    feature existed (rules version 1 had `hour_utc`, not `local_hour`, and platform-wide
    counters) is left out: filling its gaps with a guess would teach the model a feature it
    never saw."""
    vectors: list[list[int]] = []
    labels: list[int] = []
    with path.open() as lines:
        for line in lines:
            if not line.strip():
                continue
            item = json.loads(line)
            features = item["features"]
            if any(name not in features for name in MODEL_FEATURES):
                continue
            vectors.append([int(features[name]) for name in MODEL_FEATURES])
            labels.append(int(bool(item["fraudulent"])))
    return vectors, labels
