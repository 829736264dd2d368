"""What every stored object of a merchant has, whatever its service: the base of the services'
models (`<service>/models.py`) for the fields that are one concept everywhere."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Stored:
    """What storing adds to a merchant's object: its id, the merchant whose it is and its
    creation time (unix seconds). Keyword-only, so a model's own fields keep their positions
    and every construction names these."""

    id: str
    merchant_id: str
    created: int
