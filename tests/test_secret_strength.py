"""Issue 23, item 3: a server refuses to start with weak or shared secrets."""

from __future__ import annotations

import base64
import secrets

import pytest
from paycore.config import Settings
from paycore.customer.vault import new_vault_key
from paycore.errors import ConfigurationError
from paycore.secret_strength import check_secrets
from paycore.tools.embedded import load_or_create_dev_secrets


def _strong() -> Settings:
    return Settings(
        database_urls=("postgresql://127.0.0.1/paycore",),
        redis_url="redis://127.0.0.1:6379/0",
        admin_token=secrets.token_urlsafe(32),
        internal_token=secrets.token_urlsafe(32),
        key_hash_secret=secrets.token_urlsafe(32),
        vault_key=new_vault_key(),
        card_fingerprint_key=secrets.token_urlsafe(32),
    )


def test_strong_distinct_secrets_start() -> None:
    _strong().require_servers()
    _strong().with_overrides(internal_token="").require_servers()  # the internal one is optional


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"admin_token": "CHANGE-ME"}, "PAYCORE_ADMIN_TOKEN must be at least 32"),
        ({"admin_token": "CHANGE-ME" * 5}, "PAYCORE_ADMIN_TOKEN is too predictable"),
        ({"admin_token": "ab" * 20}, "PAYCORE_ADMIN_TOKEN is too predictable"),
        ({"key_hash_secret": "x"}, "PAYCORE_KEY_HASH_SECRET must be at least 32"),
        ({"card_fingerprint_key": "a" * 64}, "PAYCORE_CARD_FINGERPRINT_KEY is too predictable"),
        ({"internal_token": "0123456789" * 4}, "PAYCORE_INTERNAL_TOKEN is too predictable"),
        (
            {"vault_key": base64.urlsafe_b64encode(bytes(32)).decode()},
            "PAYCORE_VAULT_KEY key 1 is too predictable",
        ),
    ],
)
def test_weak_secrets_are_refused_by_name(change: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigurationError, match=named) as refused:
        _strong().with_overrides(**change).require_servers()
    for value in change.values():
        assert value not in str(refused.value)  # the message never shows a secret


def test_the_admin_token_cannot_double_as_the_internal_one() -> None:
    settings = _strong()
    shared = settings.with_overrides(internal_token=settings.admin_token)
    with pytest.raises(ConfigurationError, match="PAYCORE_INTERNAL_TOKEN equals PAYCORE_ADMIN"):
        check_secrets(shared)


def test_dev_and_the_fixtures_generate_strong_secrets(tmp_path: object, settings: Settings) -> None:
    check_secrets(settings)
    dev = load_or_create_dev_secrets(tmp_path)  # type: ignore[arg-type]
    check_secrets(
        _strong().with_overrides(
            admin_token=dev.admin_token,
            key_hash_secret=dev.key_hash_secret,
            vault_key=dev.vault_key,
            card_fingerprint_key=dev.card_fingerprint_key,
        )
    )
