"""Account domain objects: what the service and repositories exchange (never proto messages)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from paycore.records import Stored
from paycore.secret import Secret


class SellerAccountType(Enum):
    """Stripe's `type` of a connected account; paycore treats every seller alike."""

    STANDARD = "standard"
    EXPRESS = "express"
    CUSTOM = "custom"


class ApiKeyType(Enum):
    SECRET = "secret"
    PUBLISHABLE = "publishable"
    RESTRICTED = "restricted"


@dataclass(frozen=True)
class NewMerchant:
    name: str
    email: str
    country: str
    default_currency: str
    livemode: bool
    metadata: dict[str, str]
    settlement_currencies: tuple[str, ...] = field(default=(), kw_only=True)
    """Currencies (issue 19): what its balance settles in, default first (none: no conversion);
    given at creation, stored by paycore.currency (not a column of merchants)."""


@dataclass(frozen=True)
class Merchant(NewMerchant):
    """A merchant as stored: what it was created with, its id and creation time."""

    id: str
    created: int


@dataclass(frozen=True)
class NewSellerAccount:
    email: str
    business_name: str
    country: str
    default_currency: str
    metadata: dict[str, str]
    settlement_currencies: tuple[str, ...] = field(default=(), kw_only=True)
    type: SellerAccountType = field(default=SellerAccountType.CUSTOM, kw_only=True)
    """Stripe's connected account type, stored and rendered (docs/connect.md)."""
    capabilities: dict[str, str] = field(default_factory=dict, kw_only=True)
    """Stripe's capabilities requested at creation, each "active" (docs/connect.md)."""


@dataclass(frozen=True)
class SellerAccount(NewSellerAccount, Stored):
    """A seller account as stored: what it was created with, whose it is, its id and creation
    time."""


@dataclass(frozen=True)
class ApiKey:
    id: str
    merchant_id: str
    type: ApiKeyType
    name: str
    scopes: tuple[str, ...]
    redacted: str
    created: int
    revoked: int | None
    expires: int | None = None
    """Unix seconds when a rolled key stops authenticating."""
    replaced_by: str | None = None
    """The key its roll issued (a key rolls once)."""

    def usable_at(self, unix_seconds: float) -> bool:
        return self.revoked is None and (self.expires is None or unix_seconds < self.expires)


@dataclass(frozen=True)
class IssuedKey:
    """A key as it is created: the only moment its secret exists outside the caller."""

    key: ApiKey
    secret: Secret


@dataclass(frozen=True)
class CreatedMerchant:
    merchant: Merchant
    secret_key: IssuedKey
    publishable_key: IssuedKey
