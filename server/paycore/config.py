"""Settings: read once from the environment into a frozen object, then passed explicitly.

Every name is listed in docs/configuration.md's table; docs/api.md fixes the first few.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from paycore.errors import ConfigurationError
from paycore.secret_strength import check_secrets

DEFAULT_LOGICAL_SHARD_COUNT = 64
DEFAULT_RATE_LIMITS_PER_SECOND: Mapping[str, int] = {
    "payments": 100,
    "subscriptions": 100,
    "other": 100,
}


@dataclass(frozen=True)
class Settings:
    """Everything a paycore process needs to know about its surroundings."""

    database_urls: tuple[str, ...] = ()
    """One URL per physical shard (PAYCORE_DATABASE_URLS, comma-separated). Empty means the
    embedded default, which only `paycore dev` starts."""

    redis_url: str = ""
    """PAYCORE_REDIS_URL. Rate limits, fraud counters and caches live there."""

    admin_token: str = field(default="", repr=False)
    """PAYCORE_ADMIN_TOKEN: authorizes CreateMerchant and the operator/internal methods."""

    internal_token: str = field(default="", repr=False)
    """PAYCORE_INTERNAL_TOKEN: the credential services use to call each other's internal
    methods. Empty means only the admin token is accepted there."""

    key_hash_secret: str = field(default="", repr=False)
    """PAYCORE_KEY_HASH_SECRET: the key of the HMAC under which API keys are stored."""

    vault_key: str = field(default="", repr=False)
    """PAYCORE_VAULT_KEY: the AES-256-GCM key(s) of the card vault, urlsafe base64 of 32 bytes.
    To rotate, give several as `<version>:<key>` separated by commas: the first encrypts, all
    decrypt (paycore.customer.vault)."""

    card_fingerprint_key: str = field(default="", repr=False)
    """PAYCORE_CARD_FINGERPRINT_KEY: the HMAC key of card fingerprints. Separate from the vault
    key so that rotating the vault keeps every fingerprint (fraud counts and blocklists)."""

    grpc_addr: str = "127.0.0.1:50051"
    """PAYCORE_GRPC_ADDR."""

    http_addr: str = "127.0.0.1:8080"
    """PAYCORE_HTTP_ADDR (the REST edge)."""

    checkout_url: str = ""
    """PAYCORE_CHECKOUT_URL: the REST edge as buyers reach it (e.g. https://pay.example.com),
    the start of every checkout session's `url` and of the 3-D Secure return the PSP sends
    buyers to (`/3ds/return`). Empty: http://<PAYCORE_HTTP_ADDR>."""

    @property
    def pages_url(self) -> str:
        """Where buyers reach the edge's hosted payment pages: PAYCORE_CHECKOUT_URL, else the
        edge's own address, with a wildcard host (0.0.0.0, ::, none) read as this machine's
        loopback, since http://0.0.0.0:8080 is the address of no host a browser can open. An
        edge behind a load balancer or an Ingress sets PAYCORE_CHECKOUT_URL (the manifests do)."""
        if self.checkout_url:
            return self.checkout_url
        host, _, port = self.http_addr.rpartition(":")
        if host.strip("[]") in ("", "0.0.0.0", "::"):
            return f"http://127.0.0.1:{port}"
        return f"http://{self.http_addr}"

    def check_pages_url(self) -> None:
        """Fails, naming PAYCORE_CHECKOUT_URL, when it is given and is no http(s) URL."""
        if self.checkout_url and not self.checkout_url.startswith(("http://", "https://")):
            raise ConfigurationError(
                "PAYCORE_CHECKOUT_URL must be an http or https URL (the edge as buyers"
                " reach it, e.g. https://pay.example.com)"
            )

    metrics_addr: str = "127.0.0.1:9464"
    """PAYCORE_METRICS_ADDR: Prometheus scrapes /metrics here."""

    psp_url: str = "http://127.0.0.1:8091"
    """PAYCORE_PSP_URL: the PSP simulator or a real PSP adapter's endpoint."""

    executor_lease_ms: int = 30_000
    """PAYCORE_EXECUTOR_LEASE_MS: how long a runner owns an execution it sent to the PSP; after
    it (the runner died) a worker resolves the outcome with a status query."""

    executor_max_attempts: int = 10
    """PAYCORE_EXECUTOR_MAX_ATTEMPTS: PSP requests per execution before it is dead-lettered:
    with the doubling backoff from PAYCORE_EXECUTOR_RETRY_BASE_MS, 10 outlast about 50 s of
    PSP failures (the breaker's pauses spend none), 5 only 1.5 s."""

    executor_retry_base_ms: int = 100
    """PAYCORE_EXECUTOR_RETRY_BASE_MS: the first retry's backoff; each next one doubles."""

    executor_inline_wait_ms: int = 1000
    """PAYCORE_EXECUTOR_INLINE_WAIT_MS: how long a request retries the PSP before leaving the
    execution to the worker (the payment then answers `processing`): wall-clock time from the
    first call, the calls' own time counted; the first attempt always runs, and no attempt or
    status query starts once it is spent (at most this plus one PSP timeout in all)."""

    executor_group_commit_max: int = 32
    """PAYCORE_EXECUTOR_GROUP_COMMIT_MAX: how many PSP answers that arrive together on a shard
    are recorded (and applied: intent, ledger, event, the request's answer) in one transaction
    (paycore.executor.grouping); 1 records each in its own."""

    psp_breaker_threshold: int = 5
    """PAYCORE_PSP_BREAKER_THRESHOLD: PSP failures in a row that open the circuit breaker (one
    per mode: a test merchant's failures open only the test one)."""

    psp_breaker_open_ms: int = 5000
    """PAYCORE_PSP_BREAKER_OPEN_MS: how long the open breaker fails calls fast before a trial."""

    psp_timeout_ms: int = 5000
    """PAYCORE_PSP_TIMEOUT_MS: how long a call to the PSP may take in all; past it the outcome
    is unknown and is resolved by looking the idempotency key up, never by charging again."""

    logical_shard_count: int = DEFAULT_LOGICAL_SHARD_COUNT
    """PAYCORE_LOGICAL_SHARDS. Fixed for the life of a deployment: ids carry their logical
    shard, so changing it re-routes nothing already created but must never shrink."""

    shard_map: tuple[int, ...] = ()
    """PAYCORE_SHARD_MAP: the physical shard of each logical shard, as ranges
    ("0-31=0,32-63=1"). Empty means logical shard l lives on physical shard l mod N."""

    rate_limits_per_second: Mapping[str, int] = field(
        default_factory=lambda: dict(DEFAULT_RATE_LIMITS_PER_SECOND)
    )
    """PAYCORE_RATE_LIMITS ("payments=100,subscriptions=100,other=100"): requests per second
    per API key and route class; a class left out keeps its default, 0 disables it."""

    rate_limit_merchant_factor: int = 4
    """PAYCORE_RATE_LIMIT_MERCHANT_FACTOR: a merchant's API keys together get at most this many
    times one key's rate per class (a merchant can create keys without end); 0 lifts it."""

    redis_key_prefix: str = "paycore:"
    """PAYCORE_REDIS_PREFIX: every Redis key starts with it, so deployments can share a Redis."""

    database_pool_size: int = 10
    """PAYCORE_DB_POOL_SIZE: connections per physical shard per process."""

    shard_map_refresh_ms: int = 500
    """PAYCORE_SHARD_MAP_REFRESH_MS: how often a process rereads the shard map (table
    shard_map on physical shard 0); a moved logical shard's writes pause about this long."""

    auth_cache_ttl_ms: int = 2000
    """PAYCORE_AUTH_CACHE_TTL_MS: how long a process trusts a verified API key before asking
    the database again; a revocation reaches other processes within this time."""

    shutdown_grace_seconds: float = 10.0
    """PAYCORE_SHUTDOWN_GRACE_SECONDS: on SIGTERM in-flight calls get this long to finish."""

    data_dir: Path = Path(".paycore")
    """PAYCORE_DATA_DIR: where the embedded default keeps PostgreSQL, Redis and dev secrets."""

    log_level: str = "INFO"
    """PAYCORE_LOG_LEVEL."""

    request_log_per_second: int = 20
    """PAYCORE_REQUEST_LOG_PER_SECOND: the INFO line per gRPC call is written for every call
    that fails, and for at most this many OK or rate-limited (RESOURCE_EXHAUSTED) calls per
    second and process; the calls past it are counted and the count rides on the next line
    written (`skipped=N`). 0 writes a line for every call. Metrics count every call either
    way."""

    idempotency_retention_hours: float = 24.0
    """PAYCORE_IDEMPOTENCY_RETENTION_HOURS: how long idempotency keys are kept (Stripe: 24);
    the worker's idempotency_key_pruner deletes older ones."""

    worker_metrics_addr: str = "127.0.0.1:9465"
    """PAYCORE_WORKER_METRICS_ADDR: where `paycore worker` serves its /metrics."""

    edge_metrics_addr: str = "127.0.0.1:9466"
    """PAYCORE_EDGE_METRICS_ADDR: where `paycore edge` serves its /metrics (its HTTP answers by
    route and status); `paycore dev` counts them in PAYCORE_METRICS_ADDR's."""
    fraud_model_path: Path | None = None
    """PAYCORE_FRAUD_MODEL: the fraud model artifact (JSON) the server scores with; unset
    means the one shipped in paycore/fraud/artifacts/model.json."""

    fraud_redis_timeout_ms: int = 50
    """PAYCORE_FRAUD_REDIS_TIMEOUT_MS: how long scoring waits for the velocity counters
    before it scores without them (docs/fraud.md, "Degradation")."""

    fraud_redis_retry_ms: int = 1000
    """PAYCORE_FRAUD_REDIS_RETRY_MS: after Redis failed, scoring does not try it again for
    this long (every payment meanwhile is scored degraded, at once)."""

    # -- pay-out (issue 13) ---------------------------------------------------------------------
    payout_instant_fee_bps: int = 100
    """PAYCORE_PAYOUT_INSTANT_FEE_BPS: an instant payout's fee, basis points of its amount
    (rounded half up)."""

    payout_instant_fee_minimum: int = 50
    """PAYCORE_PAYOUT_INSTANT_FEE_MINIMUM: the least an instant payout's fee is, minor units."""

    # -- currencies (issue 19, docs/currencies.md) -------------------------------------------
    currency_rules_psp: str = "default"
    """PAYCORE_CURRENCY_RULES_PSP: whose amount rules apply on top of ISO 4217
    (paycore.currency.rules.PSP_OVERRIDES: `default`, `full_precision`)."""

    fx_conversion_fee_bps: int = 100
    """PAYCORE_FX_CONVERSION_FEE_BPS: the conversion fee of a charge settled in another
    currency, basis points of the converted amount (rounded half up); its own fee line."""

    fx_rate_max_age_seconds: int = 86_400
    """PAYCORE_FX_RATE_MAX_AGE_SECONDS: an exchange rate older than this is stale: requests
    that would convert with it are refused (EXCHANGE_RATE_STALE). Unset: the provider's
    (FX_RATE_MAX_AGE_SECONDS_BY_PROVIDER: a day, six for the ECB's business-day file)."""

    fx_rates_provider: str = "simulator"
    """PAYCORE_FX_RATES_PROVIDER: where the rates job gets rates: `simulator` (the PSP
    simulator's /v1/fx/rates at PAYCORE_PSP_URL), `ecb_file` (PAYCORE_FX_RATES_FILE) or `none`."""

    fx_rates_file: str = ""
    """PAYCORE_FX_RATES_FILE: an ECB reference-rates CSV file (eurofxref.csv format) the rates
    job imports when the provider is `ecb_file`."""

    fx_rates_interval_seconds: float = 60.0
    """PAYCORE_FX_RATES_INTERVAL_SECONDS: how often the rates job asks the provider."""

    # -- disputes (issue 22) ----------------------------------------------------------------
    dispute_fee: int = 1500
    """PAYCORE_DISPUTE_FEE: minor units taken from the merchant's balance with a disputed amount
    (a chargeback; an inquiry takes nothing)."""

    dispute_fee_returned_on_win: bool = False
    """PAYCORE_DISPUTE_FEE_RETURNED_ON_WIN: a won dispute gives the fee back with the amount."""

    wallet_cryptogram_ttl_seconds: int = 900
    """PAYCORE_WALLET_CRYPTOGRAM_TTL_SECONDS: how long a wallet token's cryptogram waits (sealed,
    in Redis, never in the database) for the payment method's charge; a charge after that
    goes without it (merchant-initiated): the PSP accepts it only if an earlier charge of the
    token carried the cryptogram, and declines it otherwise."""

    dispute_evidence_chars_max: int = 150_000
    """PAYCORE_DISPUTE_EVIDENCE_CHARS_MAX: the most characters a dispute's evidence text fields
    hold together (DISPUTE_EVIDENCE_TOO_LONG above it)."""

    # -- webhooks (issue 15) ----------------------------------------------------------------
    webhook_allow_http: bool = False
    """PAYCORE_WEBHOOK_ALLOW_HTTP: endpoints may be plain http:// URLs (`paycore dev` turns it
    on, for a receiver on the developer's machine); otherwise only https://."""

    webhook_allow_private: bool = False
    """PAYCORE_WEBHOOK_ALLOW_PRIVATE: endpoints may resolve to loopback, private or link-local
    addresses (on in `paycore dev`); otherwise such URLs are refused when the endpoint is saved
    and such addresses are never connected to (checked again at each delivery's resolution)."""

    webhook_timeout_ms: int = 10_000
    """PAYCORE_WEBHOOK_TIMEOUT_MS: how long a delivery attempt waits for the endpoint's 2xx."""

    webhook_lease_ms: int = 60_000
    """PAYCORE_WEBHOOK_LEASE_MS: how long a worker owns a delivery it is attempting; after it
    (the worker died) another worker attempts it again. Must exceed the timeout."""

    webhook_endpoint_concurrency: int = 8
    """PAYCORE_WEBHOOK_ENDPOINT_CONCURRENCY: attempts in flight per endpoint per worker."""

    webhook_in_flight_max: int = 512
    """PAYCORE_WEBHOOK_IN_FLIGHT_MAX: attempts in flight per worker process, all endpoints."""

    webhook_retry_schedule_seconds: tuple[int, ...] = (0, 5, 300, 1_800, 7_200, 18_000, 36_000)
    """PAYCORE_WEBHOOK_RETRY_SCHEDULE_SECONDS: the waits after a delivery's 1st, 2nd, ...
    failed attempt in a row, comma-separated; the last repeats (Standard Webhooks' schedule)."""

    webhook_give_up_seconds: int = 259_200
    """PAYCORE_WEBHOOK_GIVE_UP_SECONDS: a delivery's last attempt comes this long after it was
    made; an endpoint failing every attempt this long is disabled (3 days)."""
    # Security (issue 23).
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")
    """PAYCORE_TRUSTED_PROXIES: peers (the REST edge), addresses or networks, whose
    `x-forwarded-for` names the client address that failed-authentication and publishable-key
    limits count against, and that fraud scoring counts for a publishable-key payment."""

    auth_failure_burst: int = 20
    """PAYCORE_AUTH_FAILURE_BURST: failed authentications a client address may make at once
    before its calls are refused (RESOURCE_EXHAUSTED) without looking at the credential; 0
    disables the throttle."""

    auth_failures_per_second: float = 1.0
    """PAYCORE_AUTH_FAILURES_PER_SECOND: how fast that allowance refills."""

    internal_grpc_addr: str = ""
    """PAYCORE_INTERNAL_GRPC_ADDR: where the internal services (ledger, executor,
    reconciliation) and full reflection listen. Empty: on the public port, where they answer
    only the admin and internal credentials."""

    database_connect_timeout_ms: int = 3000
    """PAYCORE_DB_CONNECT_TIMEOUT_MS: reaching a shard, and waiting for a pooled connection."""

    database_command_timeout_ms: int = 10_000
    """PAYCORE_DB_COMMAND_TIMEOUT_MS: the longest a statement's answer is awaited client side,
    for a shard that stopped answering (paycore's statements take milliseconds; the server's
    own statement_timeout, 30 s, is the backstop for the ones run outside these pools)."""

    database_lock_timeout_ms: int = 5000
    """PAYCORE_DB_LOCK_TIMEOUT_MS: the longest a statement waits for a row lock (ABORTED)."""

    edge_operator_routes: bool = False
    """PAYCORE_EDGE_OPERATOR_ROUTES: whether the REST edge serves the admin and internal
    methods' routes (off: they answer 404 on the public edge)."""

    edge_trusted_proxies: tuple[str, ...] = ()
    """PAYCORE_EDGE_TRUSTED_PROXIES: proxies in front of the REST edge (a load balancer),
    addresses or networks, whose `X-Forwarded-For` the edge believes; none by default: the edge
    forwards the HTTP peer's address, so a client cannot name another by sending the header."""
    # -- reconciliation (issue 14) --
    reconciliation_daily_at_minutes: int = 120
    """PAYCORE_RECONCILIATION_DAILY_AT ("HH:MM", UTC; default 02:00): from then on each day the
    worker reconciles the day before (once per source)."""

    reconciliation_timing_window_seconds: int = 3600
    """PAYCORE_RECONCILIATION_TIMING_WINDOW_SECONDS: an item paycore recorded this close to
    midnight that the day's report lacks is `timing` (expected in the next day's report), not
    `missing_at_psp`, when the next day's report cannot be read yet (when it can, it decides:
    docs/reconciliation.md, "Across the cut-off")."""

    reconciliation_psp_fee_basis_points: int = 290
    """PAYCORE_RECONCILIATION_PSP_FEE_BASIS_POINTS: the PSP's contracted fee on a capture
    (half up, integers); a reported fee that differs is a `fee_mismatch`."""

    reconciliation_lease_ms: int = 600_000
    """PAYCORE_RECONCILIATION_LEASE_MS: how long a worker owns a run; after it (the worker
    died) another worker runs it again from the start."""

    bank_url: str = ""
    """PAYCORE_BANK_URL: where the bank's daily payouts report is read; empty means the PSP's
    URL (the simulator plays both)."""

    # -- TLS (clients, issue 16): plaintext unless the files are given ------------------------
    grpc_tls_cert_file: str = ""
    """PAYCORE_GRPC_TLS_CERT_FILE and PAYCORE_GRPC_TLS_KEY_FILE: the gRPC port serves TLS."""
    grpc_tls_key_file: str = ""
    grpc_tls_client_ca_file: str = ""
    """PAYCORE_GRPC_TLS_CLIENT_CA_FILE: the port that serves the internal services requires
    client certificates this CA signed (mTLS): PAYCORE_INTERNAL_GRPC_ADDR when set (the public
    port then takes API keys only), else the one gRPC port."""
    http_tls_cert_file: str = ""
    """PAYCORE_HTTP_TLS_CERT_FILE and PAYCORE_HTTP_TLS_KEY_FILE: the REST edge serves HTTPS."""
    http_tls_key_file: str = ""
    grpc_tls_ca_file: str = ""
    """PAYCORE_GRPC_TLS_CA_FILE: callers of the gRPC port (the edge) speak TLS to it and trust
    this CA ("system" for the system's roots); unset means plaintext."""
    grpc_client_cert_file: str = ""
    """PAYCORE_GRPC_CLIENT_CERT_FILE and PAYCORE_GRPC_CLIENT_KEY_FILE: the certificate callers
    present to a gRPC port that requires one."""
    grpc_client_key_file: str = field(default="", repr=False)

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    def require_servers(self) -> None:
        """Fails early, naming the variable, when a server-side process lacks what it needs."""
        missing = [
            name
            for name, value in (
                ("PAYCORE_DATABASE_URLS", self.database_urls),
                ("PAYCORE_REDIS_URL", self.redis_url),
                ("PAYCORE_ADMIN_TOKEN", self.admin_token),
                ("PAYCORE_KEY_HASH_SECRET", self.key_hash_secret),
                ("PAYCORE_VAULT_KEY", self.vault_key),
                ("PAYCORE_CARD_FINGERPRINT_KEY", self.card_fingerprint_key),
            )
            if not value
        ]
        if missing:
            raise ConfigurationError(
                f"{', '.join(missing)} must be set (or use `paycore dev` for the embedded default)"
            )
        self.check_redis_url()
        check_secrets(self)
        self.check_pages_url()

    def check_redis_url(self) -> None:
        """Fails, naming PAYCORE_REDIS_URL, when it is no URL redis-py opens (its ValueError
        came out of the first connection as a traceback); the scheme alone is shown, not a
        password the URL may carry."""
        if not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            scheme = self.redis_url.partition("://")[0]
            raise ConfigurationError(
                "PAYCORE_REDIS_URL must be a redis://, rediss:// or unix:// URL, not"
                f" {scheme}://..."
            )


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    defaults = Settings()
    logical_shard_count = _int(env, "PAYCORE_LOGICAL_SHARDS", defaults.logical_shard_count)
    if not 1 <= logical_shard_count <= 4096:
        raise ConfigurationError("PAYCORE_LOGICAL_SHARDS must be between 1 and 4096")
    database_urls = tuple(
        url.strip() for url in env.get("PAYCORE_DATABASE_URLS", "").split(",") if url.strip()
    )
    fx_rates_provider = _choice(
        env, "PAYCORE_FX_RATES_PROVIDER", defaults.fx_rates_provider, FX_RATES_PROVIDERS
    )
    # The settings read other than by the type of their default (below).
    parsed_apart: dict[str, Any] = {
        "database_urls": database_urls,
        "logical_shard_count": logical_shard_count,
        "shard_map": parse_shard_map(
            env.get("PAYCORE_SHARD_MAP", ""), logical_shard_count, len(database_urls)
        ),
        "rate_limits_per_second": parse_rate_limits(env.get("PAYCORE_RATE_LIMITS", "")),
        "shutdown_grace_seconds": float(
            env.get("PAYCORE_SHUTDOWN_GRACE_SECONDS", defaults.shutdown_grace_seconds)
        ),
        "data_dir": Path(env.get("PAYCORE_DATA_DIR", str(defaults.data_dir))),
        "log_level": env.get("PAYCORE_LOG_LEVEL", defaults.log_level).upper(),
        "fraud_model_path": Path(env["PAYCORE_FRAUD_MODEL"])
        if env.get("PAYCORE_FRAUD_MODEL")
        else None,
        "currency_rules_psp": _choice(
            env, "PAYCORE_CURRENCY_RULES_PSP", defaults.currency_rules_psp, CURRENCY_RULES_PSPS
        ),
        "fx_rates_provider": fx_rates_provider,
        "fx_rate_max_age_seconds": _int(
            env,
            "PAYCORE_FX_RATE_MAX_AGE_SECONDS",
            FX_RATE_MAX_AGE_SECONDS_BY_PROVIDER[fx_rates_provider],
        ),
        "trusted_proxies": _proxies(
            env, "PAYCORE_TRUSTED_PROXIES", ",".join(defaults.trusted_proxies)
        ),
        "edge_trusted_proxies": _proxies(env, "PAYCORE_EDGE_TRUSTED_PROXIES", ""),
        "edge_operator_routes": env.get("PAYCORE_EDGE_OPERATOR_ROUTES", "") in ("1", "true"),
        "webhook_retry_schedule_seconds": _seconds_list(
            env,
            "PAYCORE_WEBHOOK_RETRY_SCHEDULE_SECONDS",
            defaults.webhook_retry_schedule_seconds,
        ),
        "reconciliation_daily_at_minutes": _minutes_of_day(
            env, "PAYCORE_RECONCILIATION_DAILY_AT", defaults.reconciliation_daily_at_minutes
        ),
    }
    by_type: dict[str, Any] = {
        setting.name: _parse(env, _env_name(setting.name), getattr(defaults, setting.name))
        for setting in fields(Settings)
        if setting.name not in parsed_apart
    }
    settings = Settings(**by_type, **parsed_apart)
    if settings.webhook_lease_ms <= settings.webhook_timeout_ms:
        raise ConfigurationError("PAYCORE_WEBHOOK_LEASE_MS must exceed PAYCORE_WEBHOOK_TIMEOUT_MS")
    if settings.webhook_give_up_seconds < 1:
        raise ConfigurationError("PAYCORE_WEBHOOK_GIVE_UP_SECONDS must be 1 or more")
    for name in ("grpc_addr", "http_addr", "metrics_addr", "worker_metrics_addr"):
        _check_address(_env_name(name), getattr(settings, name), getattr(defaults, name))
    if settings.internal_grpc_addr:
        _check_address("PAYCORE_INTERNAL_GRPC_ADDR", settings.internal_grpc_addr, "0.0.0.0:50052")
    return settings


def _check_address(name: str, address: str, example: str) -> None:
    """A listen address is host:port (the host may be empty or [v6]): without a port, every
    process that split it failed in int()'s ValueError traceback."""
    port = address.rpartition(":")[2]
    if not (port.isdigit() and int(port) <= 65535):
        raise ConfigurationError(f"{name} must be host:port (e.g. {example}), got {address!r}")


CURRENCY_RULES_PSPS = ("default", "full_precision")
FX_RATES_PROVIDERS = ("simulator", "ecb_file", "none")
FX_RATE_MAX_AGE_SECONDS_BY_PROVIDER = {
    "simulator": 86_400,
    # The ECB publishes its reference rates on TARGET business days (about 16:00 CET), each
    # valid from midnight UTC of its date: the longest gap is Easter's (Good Friday to Easter
    # Monday closed), Thursday's rates the newest until Tuesday afternoon, 5 days 15 hours.
    "ecb_file": 6 * 86_400,
    "none": 86_400,
}
"""PAYCORE_FX_RATE_MAX_AGE_SECONDS when unset: a day, or as long as the provider's
publications may be apart."""


# The settings whose variable is not PAYCORE_<NAME IN CAPITALS>.
_ENV_NAMES = {
    "redis_key_prefix": "PAYCORE_REDIS_PREFIX",
    "database_pool_size": "PAYCORE_DB_POOL_SIZE",
    "database_connect_timeout_ms": "PAYCORE_DB_CONNECT_TIMEOUT_MS",
    "database_command_timeout_ms": "PAYCORE_DB_COMMAND_TIMEOUT_MS",
    "database_lock_timeout_ms": "PAYCORE_DB_LOCK_TIMEOUT_MS",
    "logical_shard_count": "PAYCORE_LOGICAL_SHARDS",
    "rate_limits_per_second": "PAYCORE_RATE_LIMITS",
    "fraud_model_path": "PAYCORE_FRAUD_MODEL",
    "reconciliation_daily_at_minutes": "PAYCORE_RECONCILIATION_DAILY_AT",
}


def setting_variables() -> frozenset[str]:
    """Every PAYCORE_* variable `load_settings` reads: a deployment's file that sets another
    one sets nothing (a misspelt name is silently ignored)."""
    return frozenset(_env_name(setting.name) for setting in fields(Settings))


def _env_name(setting: str) -> str:
    return _ENV_NAMES.get(setting, f"PAYCORE_{setting.upper()}")


def _parse(env: Mapping[str, str], name: str, default: object) -> object:
    """The variable `name` read as the type of its setting's default (str, int, float, bool)."""
    if isinstance(default, bool):
        return _flag(env, name)
    if isinstance(default, int):
        return _int(env, name, default)
    if isinstance(default, float):
        return _positive_float(env, name, default)
    if isinstance(default, str):
        return env.get(name, default)
    raise TypeError(f"{name}: no parser for {type(default).__name__}")


def _seconds_list(env: Mapping[str, str], name: str, default: tuple[int, ...]) -> tuple[int, ...]:
    """A comma-separated list of one or more whole seconds, each 0 or more."""
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        values = tuple(int(entry) for entry in text.split(","))
    except ValueError:
        raise ConfigurationError(f"{name}: {text!r} is not a list of whole seconds") from None
    if any(value < 0 for value in values):
        raise ConfigurationError(f"{name}: {text!r} has a negative wait")
    return values


def _proxies(env: Mapping[str, str], name: str, default: str) -> tuple[str, ...]:
    """A comma-separated list of IP addresses and networks (`10.0.0.0/8`)."""
    entries = tuple(entry.strip() for entry in env.get(name, default).split(",") if entry.strip())
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ConfigurationError(f"{name}: {entry!r} is not an IP address or network") from None
    return entries


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env.get(name, "").strip() or default
    if value not in choices:
        raise ConfigurationError(f"{name} must be one of {', '.join(choices)}")
    return value


def _flag(env: Mapping[str, str], name: str) -> bool:
    value = env.get(name, "").strip().lower()
    if value in ("", "0", "false", "no"):
        return False
    if value in ("1", "true", "yes"):
        return True
    raise ConfigurationError(f"{name} must be true or false, got {value!r}")


def parse_shard_map(text: str, logical_shard_count: int, physical_count: int) -> tuple[int, ...]:
    """ "0-31=0,32-63=1" -> (0, 0, ..., 1, 1): every logical shard mapped exactly once."""
    if not text.strip():
        return ()
    mapping: dict[int, int] = {}
    for part in text.split(","):
        try:
            span, physical_text = part.split("=")
            first_text, _, last_text = span.partition("-")
            first, last = int(first_text), int(last_text or first_text)
            physical = int(physical_text)
        except ValueError:
            raise ConfigurationError(
                f"PAYCORE_SHARD_MAP: {part!r} is not <first>-<last>=<physical>"
            ) from None
        if physical_count and not 0 <= physical < physical_count:
            raise ConfigurationError(f"PAYCORE_SHARD_MAP: no physical shard {physical}")
        for logical in range(first, last + 1):
            if logical in mapping or not 0 <= logical < logical_shard_count:
                raise ConfigurationError(
                    f"PAYCORE_SHARD_MAP: logical shard {logical} is out of range or mapped twice"
                )
            mapping[logical] = physical
    if len(mapping) != logical_shard_count:
        raise ConfigurationError("PAYCORE_SHARD_MAP must map every logical shard")
    return tuple(mapping[logical] for logical in range(logical_shard_count))


def parse_rate_limits(text: str) -> dict[str, int]:
    limits = dict(DEFAULT_RATE_LIMITS_PER_SECOND)
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        name, _, value = part.partition("=")
        if name not in limits or not value.isdigit():
            raise ConfigurationError(
                f"PAYCORE_RATE_LIMITS: {part!r} is not <{'|'.join(limits)}>=<per second>"
            )
        limits[name] = int(value)
    return limits


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigurationError(f"{name} must be an integer, got {value!r}") from None


def _positive_float(env: Mapping[str, str], name: str, default: float) -> float:
    value = env.get(name)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not number > 0:
        raise ConfigurationError(f"{name} must be a positive number, got {value!r}")
    return number


def _minutes_of_day(env: Mapping[str, str], name: str, default: int) -> int:
    """ "HH:MM" (UTC) -> minutes after midnight."""
    value = env.get(name)
    if value is None or value == "":
        return default
    hours, separator, minutes = value.partition(":")
    if not (separator and hours.isdigit() and minutes.isdigit()):
        raise ConfigurationError(f"{name} must be HH:MM (UTC), not {value!r}")
    if not (int(hours) < 24 and int(minutes) < 60):
        raise ConfigurationError(f"{name} must be HH:MM (UTC), not {value!r}")
    return int(hours) * 60 + int(minutes)
