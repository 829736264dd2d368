"""API key strings: issuing, parsing and keyed hashing.

    sk_test_<22-char key id body><32-char secret>
    └┬┘└┬─┘ └── the key's id is key_<body>: it carries the merchant's logical shard,
     │  │       so authentication finds the row without knowing the merchant
     │  └ test | live
     └ sk (secret) | pk (publishable) | rk (restricted)

Only HMAC-SHA256(PAYCORE_KEY_HASH_SECRET, key) is stored: a leaked table reveals no key, and
without the server's secret the hashes cannot be brute-forced offline.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from paycore.account.models import ApiKeyType
from paycore.ids import BODY_LENGTH, MalformedId, Prefix, decode_base62, new_id, random_base62
from paycore.secret import Secret

SECRET_LENGTH = 32
_PREFIXES = {ApiKeyType.SECRET: "sk", ApiKeyType.PUBLISHABLE: "pk", ApiKeyType.RESTRICTED: "rk"}
_TYPES = {prefix: key_type for key_type, prefix in _PREFIXES.items()}
API_KEY_PREFIXES = tuple(f"{prefix}_" for prefix in _PREFIXES.values())
"""How a merchant's API key begins ("sk_", "pk_", "rk_"); an operator credential (the admin
token, the internal one) does not: the REST edge and its dashboard tell them apart by it."""


@dataclass(frozen=True)
class ParsedKey:
    type: ApiKeyType
    livemode: bool
    key_id: str


def issue_key(key_type: ApiKeyType, livemode: bool, logical_shard: int) -> tuple[str, Secret]:
    """A new key's id and the full key string (shown to the merchant once)."""
    key_id = new_id(Prefix.API_KEY, logical_shard)
    body = key_id.removeprefix(f"{Prefix.API_KEY}_")
    mode = "live" if livemode else "test"
    return key_id, Secret(f"{_PREFIXES[key_type]}_{mode}_{body}{random_base62(SECRET_LENGTH)}")


def parse_key(key: str) -> ParsedKey:
    parts = key.split("_")
    if len(parts) != 3 or parts[0] not in _TYPES or parts[1] not in ("test", "live"):
        raise MalformedId("not an API key")
    body = parts[2]
    if len(body) != BODY_LENGTH + SECRET_LENGTH:
        raise MalformedId("not an API key")
    decode_base62(body[:BODY_LENGTH], BODY_LENGTH)
    return ParsedKey(
        type=_TYPES[parts[0]],
        livemode=parts[1] == "live",
        key_id=f"{Prefix.API_KEY}_{body[:BODY_LENGTH]}",
    )


def redact(key: Secret) -> str:
    return key.masked()


class KeyHasher:
    def __init__(self, hash_secret: str) -> None:
        self._secret = hash_secret.encode()

    def __repr__(self) -> str:
        return "KeyHasher(***)"

    def digest(self, key: str) -> bytes:
        return hmac.new(self._secret, key.encode(), hashlib.sha256).digest()

    def matches(self, key: str, stored_digest: bytes) -> bool:
        return hmac.compare_digest(self.digest(key), stored_digest)
