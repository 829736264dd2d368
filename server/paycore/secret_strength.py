"""A strength check of every secret a server process is given, at start (issue 23, item 3).

A process refuses to start, naming the variable, when a secret is short, has little entropy
(`CHANGE-ME`, `aaaa...`, an all-zero vault key) or equals another secret (the admin token
doubling as the internal one). `paycore dev` and the test fixtures generate strong ones.

Entropy is estimated from the secret's own symbol frequencies (Shannon entropy per symbol times
its length): a generous upper bound for random strings, and low for words and repetitions.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections import Counter
from typing import Protocol

from paycore.errors import ConfigurationError

TOKEN_LENGTH_MIN = 32
"""Characters of the admin and internal tokens, the key-hash and fingerprint secrets."""
ENTROPY_BITS_MIN = 96
VAULT_KEY_BYTES = 32
PLACEHOLDERS = ("change-me", "changeme", "change_me", "password", "secret", "example", "xxxx")


class Secrets(Protocol):
    @property
    def admin_token(self) -> str: ...
    @property
    def internal_token(self) -> str: ...
    @property
    def key_hash_secret(self) -> str: ...
    @property
    def vault_key(self) -> str: ...
    @property
    def card_fingerprint_key(self) -> str: ...


def estimated_entropy_bits(symbols: bytes | str) -> float:
    if not symbols:
        return 0.0
    counts = Counter(symbols)
    total = len(symbols)
    per_symbol = -sum(count / total * math.log2(count / total) for count in counts.values())
    return per_symbol * total


def check_secrets(settings: Secrets) -> None:
    """ConfigurationError naming every weak secret (the values themselves are never shown)."""
    problems: list[str] = []
    tokens = {
        "PAYCORE_ADMIN_TOKEN": settings.admin_token,
        "PAYCORE_INTERNAL_TOKEN": settings.internal_token,
        "PAYCORE_KEY_HASH_SECRET": settings.key_hash_secret,
        "PAYCORE_CARD_FINGERPRINT_KEY": settings.card_fingerprint_key,
    }
    for name, value in tokens.items():
        if not value and name == "PAYCORE_INTERNAL_TOKEN":
            continue  # optional: without it only the admin token reaches internal methods
        problems.extend(_token_problems(name, value))
    vault_keys = _vault_keys(settings.vault_key)
    for position, key in enumerate(vault_keys, start=1):
        problems.extend(_vault_key_problems(position, key))
    given = [(name, value) for name, value in tokens.items() if value]
    given += [(f"PAYCORE_VAULT_KEY (key {n})", key.hex()) for n, key in enumerate(vault_keys, 1)]
    seen: dict[str, str] = {}
    for name, value in given:
        if value in seen:
            problems.append(f"{name} equals {seen[value]}: every secret must be distinct")
        seen.setdefault(value, name)
    if problems:
        raise ConfigurationError("weak secrets: " + "; ".join(problems))


def _token_problems(name: str, value: str) -> list[str]:
    if len(value) < TOKEN_LENGTH_MIN:
        return [f"{name} must be at least {TOKEN_LENGTH_MIN} characters"]
    lowered = value.lower()
    if (
        estimated_entropy_bits(value) < ENTROPY_BITS_MIN
        or any(word in lowered for word in PLACEHOLDERS)
        or _repeats(value)
    ):
        return [f"{name} is too predictable (use e.g. `openssl rand -base64 32`)"]
    return []


def _repeats(value: str) -> bool:
    """Whether `value` is a shorter string repeated ("abcabcabc...")."""
    return value in (value + value)[1:-1]


def _vault_key_problems(position: int, key: bytes) -> list[str]:
    if len(key) != VAULT_KEY_BYTES:
        return []  # the vault itself refuses keys of the wrong size, with its own message
    if estimated_entropy_bits(key) < ENTROPY_BITS_MIN:
        return [f"PAYCORE_VAULT_KEY key {position} is too predictable (not random bytes)"]
    return []


def _vault_keys(text: str) -> list[bytes]:
    """The raw keys of `[<version>:]<urlsafe base64>` entries; entries that do not decode are
    left to the vault's own parsing, which names them."""
    keys = []
    for entry in filter(None, (part.strip() for part in text.split(","))):
        encoded = entry.rpartition(":")[2]
        try:
            keys.append(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
        except (binascii.Error, ValueError):
            continue
    return keys
