"""Alembic environment: paycore runs migrations itself (paycore.storage.migrate), handing
Alembic an open connection to one physical shard at a time."""

from __future__ import annotations

from alembic import context
from paycore.storage.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
