"""The model's inputs: what a payment says about itself, plus its velocity counters.

Scoring and training build features with the same functions from the same `PaymentFacts`, so a
model never sees a feature computed differently from the one it was trained on. Every feature
is an integer (counts, US cents, 0/1 flags, small codes); docs/fraud.md lists them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from paycore.fraud.timezones import local_hour
from paycore.iso import CURRENCY_EXPONENTS

ENTITIES = ("card", "customer", "ip", "merchant")
"""What velocity is counted per, in this order, each within one merchant's own traffic: the
caller supplies these values, so one merchant's calls never move another's counters
(docs/fraud.md, "Velocity")."""

PLATFORM_ENTITIES = ("card", "ip")
"""What the platform observed itself and counts across merchants: the vault's fingerprint of
a card a payment is actually attempted with, and the client address as the edge saw it."""

WINDOWS = (("1m", 60_000), ("1h", 3_600_000), ("1d", 86_400_000))
"""Sliding windows: name and length in milliseconds."""

COUNTERS_OF_ENTITY: dict[str, tuple[str, ...]] = {
    "card": ("attempts", "declines"),
    "customer": ("attempts", "declines", "cards"),
    "ip": ("attempts", "declines", "cards"),
    "merchant": ("attempts", "declines"),
}
"""Distinct cards are counted where many cards behind one customer or IP mean something (a
merchant sees many cards by nature; a card is one card)."""

VELOCITY_FEATURES: tuple[str, ...] = tuple(
    f"{entity}_{counter}_{window}"
    for entity in ENTITIES
    for counter in COUNTERS_OF_ENTITY[entity]
    for window, _ in WINDOWS
)

PLATFORM_FEATURES: tuple[str, ...] = tuple(
    f"platform_{entity}_merchants_{window}" for entity in PLATFORM_ENTITIES for window, _ in WINDOWS
)
"""Distinct merchants that saw the platform-observed card or client address in the window: a
merchant counts once however often it calls, so no single merchant can raise them past 1."""

REQUEST_FEATURES: tuple[str, ...] = (
    "amount_usd",
    "card_brand",
    "email_kind",
    "guest",
    "customer_age_days",
    "country_mismatch",
    "card_country_mismatch",
    "card_billing_mismatch",
    "abroad_usd",
    "local_hour",
)

ABSENT_WHEN_ZERO: frozenset[str] = frozenset(
    {
        "guest",
        "country_mismatch",
        "card_country_mismatch",
        "card_billing_mismatch",
        "abroad_usd",
        "first_card_for_customer",
        "first_purchase",
    }
)
"""Features whose 0 says the payment does not have what they name (no mismatch, not a guest,
nothing abroad): the model's reasons never name one at 0, whatever its path through the
trees made of it (paycore.fraud.model)."""

DERIVED_FEATURES: tuple[str, ...] = (
    "first_card_for_customer",
    "first_purchase",
    "merchant_decline_pct_1m",
)

FEATURE_NAMES: tuple[str, ...] = (
    *REQUEST_FEATURES,
    *DERIVED_FEATURES,
    *VELOCITY_FEATURES,
    *PLATFORM_FEATURES,
)
"""Every feature: what rules may name."""

MODEL_FEATURES: tuple[str, ...] = tuple(
    name
    for name in FEATURE_NAMES
    if not name.startswith("merchant_") and not name.startswith("platform_")
)
"""The model's input vector, in order. A merchant's own volume says how big the merchant is,
not whether a payment is fraud (a new merchant would look like nothing the model has seen), so
merchant counters serve rules only; so do the platform's, which exist only where the platform
observed the card or address itself. An artifact names the features it was trained on and the
server refuses one that disagrees."""

CARD_BRANDS = ("visa", "mastercard", "amex", "discover", "jcb", "unionpay", "diners")
FREE_EMAIL_DOMAINS = frozenset(
    [
        "gmail.com",
        "yahoo.com",
        "hotmail.com",
        "outlook.com",
        "icloud.com",
        "aol.com",
        "gmx.de",
        "web.de",
        "mail.ru",
        "yandex.ru",
        "qq.com",
        "163.com",
        "proton.me",
        "protonmail.com",
        "live.com",
        "msn.com",
        "orange.fr",
    ]
)
DISPOSABLE_EMAIL_DOMAINS = frozenset(
    [
        "mailinator.com",
        "guerrillamail.com",
        "10minutemail.com",
        "tempmail.com",
        "yopmail.com",
        "trashmail.com",
        "sharklasers.com",
        "getnada.com",
        "dispostable.com",
        "throwawaymail.com",
        # added after the evaluation set (issue 18) met them
        "maildrop.cc",
        "temp-mail.org",
        "guerrillamail.net",
        "guerrillamailblock.com",
        "grr.la",
        "fakeinbox.com",
        "mailnesia.com",
        "mintemail.com",
        "spamgourmet.com",
        "emailondeck.com",
        "moakt.com",
        "burnermail.io",
    ]
)
EMAIL_NONE, EMAIL_OTHER, EMAIL_FREE, EMAIL_DISPOSABLE = 0, 1, 2, 3

# US cents per 1,000 major units of each currency: a fixed reference table for features only
# (the model needs amounts on one scale, not today's rate), listing every currency paycore
# takes (tests/fraud/test_amount_currencies.py); one not listed would count a major unit as a
# dollar. Integers: the conversion is exact arithmetic with one rounding.
USD_CENTS_PER_THOUSAND_UNITS: dict[str, int] = {
    "usd": 100_000,
    "eur": 108_000,
    "gbp": 127_000,
    "chf": 113_000,
    "cad": 73_000,
    "aud": 66_000,
    "nzd": 60_000,
    "jpy": 670,
    "cny": 14_000,
    "hkd": 12_800,
    "sgd": 74_000,
    "inr": 1_200,
    "brl": 18_000,
    "mxn": 5_800,
    "sek": 9_500,
    "nok": 9_300,
    "dkk": 14_500,
    "pln": 25_000,
    "krw": 73,
    "twd": 3_100,
    "thb": 2_800,
    "php": 1_700,
    "myr": 22_000,
    "idr": 6,
    "vnd": 4,
    "pkr": 360,
    "lkr": 330,
    "khr": 25,
    "mmk": 48,
    "lak": 5,
    "mnt": 29,
    "uzs": 8,
    "kzt": 200,
    "rub": 1_100,
    "uah": 2_400,
    "try": 2_900,
    "huf": 270,
    "czk": 4_300,
    "ron": 21_800,
    "isk": 720,
    "ils": 27_000,
    "aed": 27_200,
    "sar": 26_700,
    "qar": 27_500,
    "egp": 2_000,
    "ngn": 65,
    "kes": 770,
    "zar": 5_500,
    "ars": 100,
    "clp": 105,
    "cop": 25,
    "pen": 26_500,
    "pyg": 13,
    "irr": 2,
    "lbp": 1,
    "iqd": 76,
    "bif": 34,
    "djf": 560,
    "gnf": 12,
    "kmf": 220,
    "rwf": 72,
    "ugx": 27,
    "vuv": 840,
    "xaf": 165,
    "xof": 165,
    "xpf": 900,
    "kwd": 325_000,
    "bhd": 265_000,
    "jod": 141_000,
    "omr": 260_000,
    "lyd": 20_700,
    "tnd": 32_000,
    # the rest of the currencies paycore takes (paycore.iso), so none counts a major unit as
    # a dollar (TZS 50,000, about US$19, scored as US$50,000 and was held for review)
    "afn": 1_430,
    "all": 1_080,
    "amd": 257,
    "ang": 55_900,
    "aoa": 109,
    "awg": 55_900,
    "azn": 58_800,
    "bam": 55_200,
    "bbd": 50_000,
    "bdt": 830,
    "bgn": 55_200,
    "bmd": 100_000,
    "bnd": 74_000,
    "bob": 14_500,
    "bsd": 100_000,
    "btn": 1_200,
    "bwp": 7_400,
    "byn": 30_600,
    "bzd": 50_000,
    "cdf": 35,
    "crc": 196,
    "cup": 4_170,
    "cve": 980,
    "dop": 1_670,
    "dzd": 745,
    "ern": 6_670,
    "etb": 830,
    "fjd": 44_400,
    "fkp": 127_000,
    "gel": 36_800,
    "ghs": 6_670,
    "gip": 127_000,
    "gmd": 1_430,
    "gtq": 12_900,
    "gyd": 478,
    "hnl": 4_000,
    "htg": 763,
    "jmd": 637,
    "kgs": 1_160,
    "kpw": 111,
    "kyd": 120_000,
    "lrd": 526,
    "lsl": 5_500,
    "mad": 10_100,
    "mdl": 5_650,
    "mga": 22,
    "mkd": 1_760,
    "mop": 12_500,
    "mru": 2_520,
    "mur": 2_170,
    "mvr": 6_490,
    "mwk": 58,
    "mzn": 1_560,
    "nad": 5_500,
    "nio": 2_720,
    "npr": 741,
    "pab": 100_000,
    "pgk": 25_300,
    "rsd": 923,
    "sbd": 11_900,
    "scr": 7_140,
    "sdg": 167,
    "shp": 127_000,
    "sle": 4_410,
    "sos": 175,
    "srd": 2_860,
    "ssp": 77,
    "stn": 4_410,
    "svc": 11_400,
    "syp": 8,
    "szl": 5_500,
    "tjs": 9_170,
    "tmt": 28_600,
    "top": 42_600,
    "ttd": 14_700,
    "tzs": 38,
    "uyi": 15_000,
    "uyu": 2_500,
    "ves": 2_000,
    "wst": 37_000,
    "xcd": 37_000,
    "yer": 400,
    "zmw": 3_850,
    "zwg": 7_250,
}
DEFAULT_USD_CENTS_PER_THOUSAND_UNITS = 100_000


@dataclass(frozen=True)
class PaymentFacts:
    """One payment as fraud scoring sees it, checked and normalized (empty means unknown)."""

    merchant: str
    payment: str
    amount: int
    currency: str
    card_fingerprint: str
    card_brand: str
    card_country: str
    customer: str
    customer_created_s: int
    ip: str
    ip_country: str
    email: str
    country: str
    timestamp_ms: int
    card_observed: bool = False
    """The fingerprint is the vault's, of a card a payment is being attempted with (the payment
    flow), not one a caller supplied: only then is it counted across merchants."""
    client_ip: str = ""
    """The client address as paycore's edge saw it ("" unknown); counted across merchants,
    unlike `ip`, which the caller supplies."""
    card_wallet: str = ""
    """"apple_pay" | "google_pay" when the card came from a wallet token: recorded with the
    assessment's facts; the card (its fingerprint, the DPAN's) scores like any card."""
    test_card: str = ""
    """The payment flow's card is one of Stripe's fixed-outcome test cards: its name
    (`pm_card_visa`, paycore.customer.test_methods), whatever way it was given. At a test-mode
    merchant the platform's own signals do not decide it (paycore.fraud.decision)."""

    def as_dict(self) -> dict[str, object]:
        """Every fact by name, as `dataclasses.asdict` gives them (the values are strings,
        numbers and booleans, so there is nothing to copy deeply: asdict cost 50 us a payment)."""
        return {name: getattr(self, name) for name in _FACT_NAMES}


_FACT_NAMES = tuple(field.name for field in fields(PaymentFacts))


def amount_usd_cents(amount: int, currency: str) -> int:
    """`amount` minor units of `currency` in US cents, rounded half up, at least 1 for a
    positive amount."""
    rate = USD_CENTS_PER_THOUSAND_UNITS.get(currency, DEFAULT_USD_CENTS_PER_THOUSAND_UNITS)
    divisor = 1000 * 10 ** CURRENCY_EXPONENTS[currency]
    cents = (2 * amount * rate + divisor) // (2 * divisor)
    return max(cents, 1) if amount > 0 else 0


def email_kind(email: str) -> int:
    if not email:
        return EMAIL_NONE
    domain = email.rpartition("@")[2].lower()
    if domain in DISPOSABLE_EMAIL_DOMAINS:
        return EMAIL_DISPOSABLE
    if domain in FREE_EMAIL_DOMAINS:
        return EMAIL_FREE
    return EMAIL_OTHER


def card_brand_code(brand: str) -> int:
    """0 unknown, 1.. the brands above, len+1 any other."""
    if not brand:
        return 0
    try:
        return CARD_BRANDS.index(brand.lower()) + 1
    except ValueError:
        return len(CARD_BRANDS) + 1


def _differ(first: str, second: str) -> int:
    return int(bool(first) and bool(second) and first != second)


def request_features(facts: PaymentFacts) -> dict[str, int]:
    """The features the payment carries itself (no counters)."""
    now_s = facts.timestamp_ms // 1000
    guest = not facts.customer
    amount_usd = amount_usd_cents(facts.amount, facts.currency)
    age_days = -1
    if not guest and facts.customer_created_s > 0:
        age_days = max(now_s - facts.customer_created_s, 0) // 86_400
    return {
        "amount_usd": amount_usd,
        "card_brand": card_brand_code(facts.card_brand),
        "email_kind": email_kind(facts.email),
        "guest": int(guest),
        "customer_age_days": age_days,
        "country_mismatch": _differ(facts.country, facts.ip_country),
        "card_country_mismatch": _differ(facts.card_country, facts.ip_country),
        "card_billing_mismatch": _differ(facts.card_country, facts.country),
        "abroad_usd": amount_usd if _abroad(facts) else 0,
        "local_hour": local_hour(facts.ip_country, now_s),
    }


def _abroad(facts: PaymentFacts) -> bool:
    """The buyer's IP is in another country than the card's or the billing address's."""
    return bool(_differ(facts.card_country, facts.ip_country)) or bool(
        _differ(facts.country, facts.ip_country)
    )


def entity_values(facts: PaymentFacts) -> dict[str, str]:
    """The value each entity is counted under within the merchant ("" when the payment does
    not name it)."""
    return {
        "card": facts.card_fingerprint,
        "customer": facts.customer,
        "ip": facts.ip,
        "merchant": facts.merchant,
    }


def platform_values(facts: PaymentFacts) -> dict[str, str]:
    """What the platform observed itself ("" when it did not): counted across merchants."""
    return {
        "card": facts.card_fingerprint if facts.card_observed else "",
        "ip": facts.client_ip,
    }


@dataclass(frozen=True)
class Velocity:
    """Counter values after counting the payment being scored."""

    counts: dict[str, int]
    """VELOCITY_FEATURES and PLATFORM_FEATURES -> count (0 for an entity the payment does not
    name)."""

    first_card_for_customer: bool
    """The customer had not paid with this card before (within the counters' memory)."""


NO_VELOCITY = Velocity(
    {name: 0 for name in (*VELOCITY_FEATURES, *PLATFORM_FEATURES)}, first_card_for_customer=False
)
"""What scoring uses when the counters cannot be read (Redis down)."""


def feature_vector(facts: PaymentFacts, velocity: Velocity) -> tuple[dict[str, int], list[int]]:
    """All features by name, and the model's input vector in MODEL_FEATURES order."""
    named = request_features(facts)
    named["first_card_for_customer"] = int(velocity.first_card_for_customer)
    # A guest is a first purchase as much as an account's new card is (issue 18).
    named["first_purchase"] = int(named["guest"] == 1 or velocity.first_card_for_customer)
    attempts = velocity.counts["merchant_attempts_1m"]
    named["merchant_decline_pct_1m"] = (
        100 * velocity.counts["merchant_declines_1m"] // attempts if attempts else 0
    )
    named.update(velocity.counts)
    return named, [named[name] for name in MODEL_FEATURES]
