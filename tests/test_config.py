from __future__ import annotations

import re
from pathlib import Path

import pytest
from paycore.config import load_settings, parse_rate_limits, parse_shard_map, setting_variables
from paycore.errors import ConfigurationError

CONFIGURATION_DOC = Path(__file__).parents[1] / "docs" / "configuration.md"


def test_defaults_follow_the_contract() -> None:
    settings = load_settings({})
    assert settings.grpc_addr == "127.0.0.1:50051"
    assert settings.http_addr == "127.0.0.1:8080"
    assert settings.metrics_addr == "127.0.0.1:9464"
    assert settings.rate_limits_per_second == {"payments": 100, "subscriptions": 100, "other": 100}
    assert settings.database_urls == ()


def test_environment_is_read_once_into_settings() -> None:
    settings = load_settings(
        {
            "PAYCORE_DATABASE_URLS": "postgresql://a/x, postgresql://b/y",
            "PAYCORE_ADMIN_TOKEN": "t0ken",
            "PAYCORE_LOGICAL_SHARDS": "4",
            "PAYCORE_SHARD_MAP": "0-2=0,3=1",
            "PAYCORE_RATE_LIMITS": "payments=5",
        }
    )
    assert settings.database_urls == ("postgresql://a/x", "postgresql://b/y")
    assert settings.shard_map == (0, 0, 0, 1)
    assert settings.rate_limits_per_second["payments"] == 5
    assert settings.rate_limits_per_second["subscriptions"] == 100
    assert "t0ken" not in repr(settings)


@pytest.mark.parametrize("text", ["0-2=0", "0-3=0,3=1", "0-3=2", "x=1", "0-4=0"])
def test_shard_map_must_map_every_logical_shard_once(text: str) -> None:
    with pytest.raises(ConfigurationError):
        parse_shard_map(text, 4, 2)


def test_rate_limits_refuse_unknown_classes() -> None:
    with pytest.raises(ConfigurationError):
        parse_rate_limits("refunds=3")
    with pytest.raises(ConfigurationError):
        load_settings({"PAYCORE_LOGICAL_SHARDS": "many"})


def test_server_processes_name_what_is_missing() -> None:
    with pytest.raises(ConfigurationError, match="PAYCORE_KEY_HASH_SECRET"):
        load_settings({"PAYCORE_DATABASE_URLS": "postgresql://a/x"}).require_servers()


def test_server_processes_need_the_card_keys() -> None:
    settings = load_settings(
        {
            "PAYCORE_DATABASE_URLS": "postgresql://a/x",
            "PAYCORE_REDIS_URL": "redis://r",
            "PAYCORE_ADMIN_TOKEN": "admin",
            "PAYCORE_KEY_HASH_SECRET": "hash",
            "PAYCORE_VAULT_KEY": "v" * 43,
        }
    )
    assert "v" * 43 not in repr(settings)
    with pytest.raises(ConfigurationError) as raised:
        settings.require_servers()
    assert str(raised.value).startswith("PAYCORE_CARD_FINGERPRINT_KEY must be set")


def test_the_configuration_table_has_a_row_for_every_setting() -> None:
    """docs/configuration.md says "A PAYCORE_* name not in this table is read by nothing": every
    variable load_settings reads has its row (PAYCORE_SHARD_MAP_REFRESH_MS had none), and every
    row names one it reads, or the simulator's control token, which `paycore psp` reads."""
    rows = [line for line in CONFIGURATION_DOC.read_text().splitlines() if line.startswith("| `")]
    tabled = {name for row in rows for name in re.findall(r"PAYCORE_[A-Z0-9_]+", row.split("|")[1])}
    assert setting_variables() - tabled == set()
    assert tabled - setting_variables() == {"PAYCORE_PSP_CONTROL_TOKEN"}


def test_a_wildcard_edge_address_gives_buyers_a_url_they_can_open() -> None:
    """A checkout session's `url` and the 3-D Secure return start with PAYCORE_CHECKOUT_URL,
    by default the edge's address: with the edge listening on 0.0.0.0 (the env example, the
    image, the Kubernetes base) every session's url was http://0.0.0.0:8080/c/pay/..., which
    no buyer can open. A wildcard host is read as the loopback; a given URL wins; a given
    URL that is not http(s) stops serve and the worker, naming the setting."""
    for address in ("0.0.0.0:8080", "[::]:8080", ":8080"):
        assert load_settings({"PAYCORE_HTTP_ADDR": address}).pages_url == "http://127.0.0.1:8080"
    given = {"PAYCORE_HTTP_ADDR": "0.0.0.0:8080", "PAYCORE_CHECKOUT_URL": "https://pay.test"}
    load_settings(given).check_pages_url()
    assert load_settings(given).pages_url == "https://pay.test"
    assert load_settings({"PAYCORE_HTTP_ADDR": "127.0.0.2:9000"}).pages_url == (
        "http://127.0.0.2:9000"
    )
    with pytest.raises(ConfigurationError, match="PAYCORE_CHECKOUT_URL"):
        load_settings({"PAYCORE_CHECKOUT_URL": "pay.test"}).check_pages_url()


def test_the_contracts_ports_name_the_variables_that_move_them() -> None:
    """docs/api.md's conventions list the default addresses, "each overridable by environment":
    each names its variable, one `load_settings` reads whose default is that address (the PSP
    simulator's named none, and its variable is a URL, PAYCORE_PSP_URL, where a reader guessed
    PAYCORE_PSP_ADDR)."""
    text = (Path(__file__).parents[1] / "docs" / "api.md").read_text()
    bullet = text.split("- Ports (each overridable by environment):", 1)[1].split("\n- ", 1)[0]
    named = re.findall(r"`(127\.0\.0\.1:\d+)(?:/\w+)?`\s+\(`(PAYCORE_[A-Z_]+)`", bullet)
    addresses = re.findall(r"`(127\.0\.0\.1:\d+)", bullet)
    assert [address for address, _ in named] == addresses, bullet
    defaults = {
        "PAYCORE_GRPC_ADDR": "127.0.0.1:50051",
        "PAYCORE_HTTP_ADDR": "127.0.0.1:8080",
        "PAYCORE_METRICS_ADDR": "127.0.0.1:9464",
        "PAYCORE_PSP_URL": "http://127.0.0.1:8091",
    }
    settings = load_settings({})
    for address, variable in named:
        assert variable in setting_variables()
        assert defaults[variable].removeprefix("http://") == address
    assert {variable for _, variable in named} == set(defaults)
    assert (settings.grpc_addr, settings.http_addr, settings.metrics_addr, settings.psp_url) == (
        tuple(defaults.values())
    )


def test_server_processes_name_a_redis_url_they_cannot_use() -> None:
    """`paycore worker` given PAYCORE_REDIS_URL=http://... ended in redis-py's ValueError
    traceback (exit 1): now one line naming the variable, without the URL's password."""
    settings = load_settings(
        {
            "PAYCORE_DATABASE_URLS": "postgresql://a/x",
            "PAYCORE_REDIS_URL": "http://user:s3cret@r:6379/0",
            "PAYCORE_ADMIN_TOKEN": "a" * 43,
            "PAYCORE_KEY_HASH_SECRET": "h" * 43,
            "PAYCORE_VAULT_KEY": "v" * 43,
            "PAYCORE_CARD_FINGERPRINT_KEY": "f" * 43,
        }
    )
    with pytest.raises(ConfigurationError) as raised:
        settings.require_servers()
    assert str(raised.value) == (
        "PAYCORE_REDIS_URL must be a redis://, rediss:// or unix:// URL, not http://..."
    )


@pytest.mark.parametrize("address", ["localhost", "localhost:abc", "127.0.0.1:70000"])
def test_a_listen_address_without_a_port_is_named(address: str) -> None:
    """`PAYCORE_GRPC_ADDR=localhost paycore health` (or serve) ended in int()'s ValueError
    traceback: now one line naming the variable and the form it takes."""
    with pytest.raises(ConfigurationError) as raised:
        load_settings({"PAYCORE_METRICS_ADDR": address})
    assert str(raised.value) == (
        f"PAYCORE_METRICS_ADDR must be host:port (e.g. 127.0.0.1:9464), got {address!r}"
    )


def test_listen_addresses_take_every_host_form() -> None:
    settings = load_settings(
        {
            "PAYCORE_GRPC_ADDR": "[::1]:50051",
            "PAYCORE_HTTP_ADDR": ":8080",
            "PAYCORE_INTERNAL_GRPC_ADDR": "0.0.0.0:0",
        }
    )
    assert settings.grpc_addr == "[::1]:50051"
