"""What every stored object of a merchant has, whatever its service: the base of the services'
models (`<service>/models.py`) for the fields that are one concept everywhere."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from paycore.errors import invalid
from paycore.validation import METADATA_KEYS_MAX


@dataclass(frozen=True, kw_only=True)
class Stored:
    """What storing adds to a merchant's object: its id, the merchant whose it is and its
    creation time (unix seconds). Keyword-only, so a model's own fields keep their positions
    and every construction names these."""

    id: str
    merchant_id: str
    created: int


@dataclass(frozen=True)
class MetadataChange:
    """An update's metadata, by Stripe's rule for every object: `values` are merged into the
    stored keys, a key given an empty value is removed, and `clear` (Stripe's `metadata=`,
    gRPC's `clear_metadata`) removes every stored key first."""

    values: Mapping[str, str] = field(default_factory=dict)
    clear: bool = False

    def __bool__(self) -> bool:
        """Whether the update touches the metadata at all."""
        return self.clear or bool(self.values)

    def applied_to(self, stored: Mapping[str, str]) -> dict[str, str]:
        """The metadata after the change; INVALID naming `metadata` beyond the key limit."""
        merged = {**({} if self.clear else stored), **self.values}
        metadata = {key: value for key, value in merged.items() if value}
        if len(metadata) > METADATA_KEYS_MAX:
            raise invalid("metadata", f"at most {METADATA_KEYS_MAX} keys")
        return metadata
