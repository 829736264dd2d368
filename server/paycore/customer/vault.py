"""The card vault: card numbers encrypted at rest, and the keyed fingerprint of a number.

A sealed number is

    version (1 byte) | nonce (12 bytes, fresh per encryption) | AES-256-GCM ciphertext + tag

with associated data binding it to its row: the version, the merchant id and the payment
method id. A ciphertext copied onto another row (or another merchant's) fails to open. The
version names the key, so keys rotate: PAYCORE_VAULT_KEY lists `<version>:<key>` pairs, the
first one seals, every listed one opens (a bare key is version 1).

The fingerprint is HMAC-SHA256 under PAYCORE_CARD_FINGERPRINT_KEY, a key of its own: a vault
key rotation must not change fingerprints, which fraud velocity and blocklists count by.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from paycore.errors import ConfigurationError
from paycore.ids import encode_base62
from paycore.secret import Secret

KEY_BYTES = 32
NONCE_BYTES = 12
VERSION_MAX = 255
FINGERPRINT_LENGTH = 16
_ASSOCIATED_DATA_LABEL = b"paycore.vault.card-number"


class VaultError(Exception):
    """A sealed number that does not open: wrong row, unknown key version, or damage."""


class Vault:
    def __init__(self, keys: dict[int, bytes], sealing_version: int) -> None:
        if sealing_version not in keys:
            raise ConfigurationError("PAYCORE_VAULT_KEY: the sealing key is not in the key list")
        self._ciphers = {version: AESGCM(key) for version, key in keys.items()}
        self._sealing_version = sealing_version

    @classmethod
    def from_setting(cls, text: str) -> Vault:
        """`<key>` or `<version>:<key>,<version>:<key>,...` (the first seals)."""
        keys: dict[int, bytes] = {}
        for position, part in enumerate(piece.strip() for piece in text.split(",")):
            version_text, separator, key_text = part.rpartition(":")
            version = _version(version_text) if separator else 1
            if version in keys:
                raise ConfigurationError(f"PAYCORE_VAULT_KEY: version {version} is listed twice")
            keys[version] = _key(key_text, position)
        if not keys:
            raise ConfigurationError("PAYCORE_VAULT_KEY is empty")
        return cls(keys, next(iter(keys)))

    def seal(self, number: Secret, merchant_id: str, payment_method_id: str) -> bytes:
        version = self._sealing_version
        nonce = os.urandom(NONCE_BYTES)
        associated = _associated_data(version, merchant_id, payment_method_id)
        sealed = self._ciphers[version].encrypt(nonce, number.reveal().encode(), associated)
        return bytes([version]) + nonce + sealed

    def open(self, sealed: bytes, merchant_id: str, payment_method_id: str) -> Secret:
        if len(sealed) < 1 + NONCE_BYTES:
            raise VaultError("the sealed number is truncated")
        version, nonce, ciphertext = (
            sealed[0],
            sealed[1 : 1 + NONCE_BYTES],
            sealed[1 + NONCE_BYTES :],
        )
        cipher = self._ciphers.get(version)
        if cipher is None:
            raise VaultError(f"no vault key of version {version} is configured")
        associated = _associated_data(version, merchant_id, payment_method_id)
        try:
            return Secret(cipher.decrypt(nonce, ciphertext, associated).decode())
        except InvalidTag:
            raise VaultError("the sealed number does not open for this row") from None


class Fingerprinter:
    def __init__(self, key: str) -> None:
        if not key:
            raise ConfigurationError("PAYCORE_CARD_FINGERPRINT_KEY is empty")
        self._key = key.encode()

    def fingerprint(self, number: Secret) -> str:
        """16 base62 characters (95 bits) of HMAC-SHA256(key, digits): the same number has the
        same fingerprint for every merchant; without the key it cannot be brute-forced."""
        digest = hmac.new(self._key, number.reveal().encode(), hashlib.sha256).digest()
        return encode_base62(
            int.from_bytes(digest, "big") % 62**FINGERPRINT_LENGTH, FINGERPRINT_LENGTH
        )

    def for_merchant(self, merchant_id: str, fingerprint: str) -> str:
        """A fingerprint of the same length scoped to one merchant (HMAC of the platform one)."""
        message = b"merchant\0" + merchant_id.encode() + b"\0" + fingerprint.encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return encode_base62(
            int.from_bytes(digest, "big") % 62**FINGERPRINT_LENGTH, FINGERPRINT_LENGTH
        )

    def keyed(self, label: str, value: Secret) -> str:
        """A keyed digest of a secret for request hashing (hex), never the secret itself."""
        message = label.encode() + b"\0" + value.reveal().encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()


def new_vault_key() -> str:
    """A fresh key in the form PAYCORE_VAULT_KEY takes."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode()


def _associated_data(version: int, merchant_id: str, payment_method_id: str) -> bytes:
    return b"\0".join(
        [_ASSOCIATED_DATA_LABEL, bytes([version]), merchant_id.encode(), payment_method_id.encode()]
    )


def _version(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= VERSION_MAX:
        raise ConfigurationError(f"PAYCORE_VAULT_KEY: a key version is 0..{VERSION_MAX}")
    return int(text)


def _key(text: str, position: int) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        # Never echo the text: it is (part of) a key.
        raise ConfigurationError(
            f"PAYCORE_VAULT_KEY: key {position + 1} is not urlsafe base64 of {KEY_BYTES} bytes"
        )
    return key
