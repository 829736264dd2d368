"""Endpoint secrets at rest: sealed by the platform's vault (AES-256-GCM, PAYCORE_VAULT_KEY and
its rotation), bound to the endpoint's id so that a sealed secret copied to another row does
not open. They must be readable (not hashed) because every delivery is signed with them."""

from __future__ import annotations

from dataclasses import dataclass

from paycore.customer.vault import Vault
from paycore.secret import Secret

# Kept apart from card numbers sealed for payment methods with the same key.
_PURPOSE = "webhook_endpoint:"


@dataclass(frozen=True, slots=True)
class SecretBox:
    _vault: Vault

    def seal(self, secret: Secret, merchant_id: str, endpoint_id: str) -> bytes:
        return self._vault.seal(secret, merchant_id, _PURPOSE + endpoint_id)

    def open(self, sealed: bytes, merchant_id: str, endpoint_id: str) -> Secret:
        return self._vault.open(sealed, merchant_id, _PURPOSE + endpoint_id)
