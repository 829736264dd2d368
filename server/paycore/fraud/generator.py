"""Labelled payments with the fraud patterns a payment platform meets (docs/fraud.md describes
each): legitimate customers and guests with daily and weekly seasonality and a sale day, card
testing, stolen cards, account takeover and refund abuse.

Deterministic: the same seed and sizes give the same payments, in time order. Standard library
only, so the server's tests and `paycore fraud evaluate` can run it anywhere.
"""

from __future__ import annotations

import datetime
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from paycore.fraud.features import DISPOSABLE_EMAIL_DOMAINS, FREE_EMAIL_DOMAINS, PaymentFacts
from paycore.fraud.timezones import ZONE_OF_COUNTRY

START_MS = 1_793_491_200_000
"""2026-11-01T00:00:00Z: the generated history starts here."""
DAY_MS = 86_400_000
MINUTE_MS = 60_000

LEGITIMATE = "legitimate"
CARD_TESTING = "card_testing"
BIN_ATTACK = "bin_attack"
STOLEN_CARD = "stolen_card"
ACCOUNT_TAKEOVER = "account_takeover"
REFUND_ABUSE = "refund_abuse"
PATTERNS = (LEGITIMATE, CARD_TESTING, BIN_ATTACK, STOLEN_CARD, ACCOUNT_TAKEOVER, REFUND_ABUSE)
SHARED_IP_GROUP = "shared_ip_group"
"""Campus, office and cafe networks: several buyers with their own cards behind one address at
one merchant within the hour (legitimate purchases)."""

# Home countries of buyers and merchants, weighted, with the currency merchants there charge.
COUNTRIES = {
    "US": (40, "usd"),
    "GB": (12, "gbp"),
    "DE": (10, "eur"),
    "FR": (8, "eur"),
    "CA": (6, "cad"),
    "JP": (5, "jpy"),
    "AU": (4, "aud"),
    "NL": (3, "eur"),
    "ES": (3, "eur"),
    "IT": (3, "eur"),
    "BR": (3, "brl"),
    "MX": (3, "mxn"),
}
# US cents per major unit, to express generated dollar amounts in the merchant's currency.
_CENTS_PER_MAJOR = {
    "usd": 100,
    "gbp": 127,
    "eur": 108,
    "cad": 73,
    "jpy": 0.67,
    "aud": 66,
    "brl": 18,
    "mxn": 5.8,
}
_EXPONENT = {"jpy": 0}
BRANDS = (("visa", 55), ("mastercard", 30), ("amex", 8), ("discover", 4), ("jcb", 3))
# Share of the day's legitimate traffic per hour of the buyer's local day: quiet nights,
# evening peak.
HOURLY = (2, 1, 1, 1, 1, 2, 3, 4, 5, 6, 6, 6, 7, 7, 7, 7, 7, 8, 9, 10, 10, 9, 6, 4)
NIGHT_HOURS = (0, 1, 2, 3, 4, 5, 23)


@dataclass(frozen=True)
class LabelledPayment:
    facts: PaymentFacts
    declined: bool
    """What the PSP answered (velocity counts declines)."""
    fraudulent: bool
    pattern: str


@dataclass(frozen=True)
class GeneratorConfig:
    seed: int = 42
    days: int = 12
    """Length of the history; the first `warmup_days` only fill the counters."""
    warmup_days: int = 2
    customers: int = 5000
    merchants: int = 12
    purchases_per_customer_day: float = 0.3
    guest_share: float = 0.15
    episodes_per_day: tuple[tuple[str, float], ...] = (
        (CARD_TESTING, 1.5),
        (STOLEN_CARD, 14.0),
        (ACCOUNT_TAKEOVER, 6.0),
        (REFUND_ABUSE, 3.0),
        (BIN_ATTACK, 0.5),
        (SHARED_IP_GROUP, 20.0),
    )
    """Mean episodes a day of each pattern but the legitimate customers' own purchases, in
    the order they are generated each day."""
    expat_share: float = 0.03
    """Customers living abroad: billing at home, IP and a local card where they live."""
    unknown_age_share: float = 0.1
    """Customers whose merchant does not send when the account was created."""
    sale_day: int = 8
    """A day with 2.5 times the legitimate traffic and larger baskets (Black Friday)."""


@dataclass
class _Customer:
    id: str
    created_s: int
    country: str
    email: str
    ip: str
    cards: list[tuple[str, str, str]] = field(default_factory=list)
    """(fingerprint, brand, country)."""
    age_known: bool = True
    """False: the merchant sends no signup date (customer_created 0)."""
    lives_in: str = ""
    """Where the customer lives now when it is not `country` (an expat: billing at home, IP
    and a local card where it lives)."""


_GUEST = ("", 0)


@dataclass(frozen=True)
class _Buyer:
    """Who pays and from where, as a payment names them."""

    account: tuple[str, int]
    """The customer's id and when the account was created (unix seconds; 0 when the merchant
    does not send it); _GUEST for a guest."""
    ip: str
    ip_country: str
    email: str
    country: str
    """The billing address's."""


@dataclass(frozen=True)
class _Spree:
    """A fraud pattern's purchases by one buyer, one after another at random merchants."""

    purchases: tuple[int, ...]
    """How many: one of these, at random."""
    median_usd: float
    sigma: float
    decline_share: float
    gap_minutes: tuple[int, int]
    """Between two purchases: at random within."""


_SPREES = {
    STOLEN_CARD: _Spree((1, 1, 2, 3, 4), 350, 0.7, 0.25, (1, 40)),
    ACCOUNT_TAKEOVER: _Spree((1, 2, 2, 3, 4), 450, 0.6, 0.15, (2, 60)),
    REFUND_ABUSE: _Spree(tuple(range(4, 11)), 150, 0.5, 0.1, (10, 180)),
}


@dataclass(frozen=True)
class _Merchant:
    id: str
    country: str
    currency: str
    median_usd: float


class _Generator:
    def __init__(self, config: GeneratorConfig) -> None:
        self.config = config
        self.random = random.Random(config.seed)
        self.sequence = 0
        self.payments: list[LabelledPayment] = []
        self.merchants = [self._merchant(index) for index in range(config.merchants)]
        self.customers = [self._customer(index) for index in range(config.customers)]

    # -- building blocks ------------------------------------------------------------------

    def _country(self) -> str:
        names = list(COUNTRIES)
        return self.random.choices(names, weights=[COUNTRIES[name][0] for name in names])[0]

    def _other_country(self, country: str) -> str:
        while True:
            other = self._country() if self.random.random() < 0.6 else self._any_country()
            if other != country:
                return other

    def _any_country(self) -> str:
        return self.random.choice(("RU", "NG", "VN", "ID", "PH", "UA", "RO", "IN", "CN", "TR"))

    def _token(self, length: int = 16) -> str:
        return f"{self.random.getrandbits(4 * length):0{length}x}"

    def _ip(self) -> str:
        return ".".join(str(self.random.randint(1, 254)) for _ in range(4))

    def _card(self, country: str) -> tuple[str, str, str]:
        brand = self.random.choices([b for b, _ in BRANDS], weights=[w for _, w in BRANDS])[0]
        return (self._token(), brand, country)

    def _email(self, free: float, disposable: float) -> str:
        user = self._token(8)
        draw = self.random.random()
        if draw < disposable:
            return f"{user}@{self.random.choice(sorted(DISPOSABLE_EMAIL_DOMAINS))}"
        if draw < disposable + free:
            return f"{user}@{self.random.choice(sorted(FREE_EMAIL_DOMAINS))}"
        return f"{user}@example-{self.random.randint(1, 400)}.com"

    def _merchant(self, index: int) -> _Merchant:
        # Baskets from a coffee to a laptop or a flight (400, 800): legitimate large first
        # purchases exist, so size alone is not what fraud looks like.
        country = self._country()
        return _Merchant(
            id=f"acct_gen{index:03d}",
            country=country,
            currency=COUNTRIES[country][1],
            median_usd=self.random.choice((15, 30, 45, 60, 90, 150, 400, 800)),
        )

    def _customer(self, index: int) -> _Customer:
        country = self._country()
        new = self.random.random() < 0.08
        age_days = self.random.uniform(0, self.config.days) if new else self.random.uniform(5, 1500)
        created_ms = START_MS + (self.config.days * DAY_MS if new else 0) - age_days * DAY_MS
        customer = _Customer(
            id=f"cus_gen{index:06d}",
            created_s=int(created_ms // 1000),
            country=country,
            email=self._email(free=0.6, disposable=0.01),
            ip=self._ip(),
            age_known=self.random.random() >= self.config.unknown_age_share,
        )
        for _ in range(self.random.choice((1, 1, 1, 2, 2, 3))):
            card_country = country if self.random.random() < 0.96 else self._other_country(country)
            customer.cards.append(self._card(card_country))
        if self.random.random() < self.config.expat_share:
            customer.lives_in = self._other_country(country)
            customer.cards.append(self._card(customer.lives_in))
        return customer

    def _amount(self, merchant: _Merchant, usd: float) -> tuple[int, str]:
        currency = merchant.currency
        minor = round(usd * 100 / _CENTS_PER_MAJOR[currency] * 10 ** _EXPONENT.get(currency, 2))
        return max(minor, 1), currency

    def _lognormal_usd(self, median: float, sigma: float = 0.8) -> float:
        return max(median * math.exp(self.random.gauss(0, sigma)), 0.5)

    def _emit(
        self,
        timestamp_ms: int,
        merchant: _Merchant,
        usd: float,
        card: tuple[str, str, str],
        buyer: _Buyer,
        pattern: str,
        decline_share: float,
    ) -> None:
        """A payment the PSP declines with `decline_share` probability (no draw at 0, so a
        seed gives the same history)."""
        declined = self.random.random() < decline_share if decline_share else False
        self.sequence += 1
        amount, currency = self._amount(merchant, usd)
        facts = PaymentFacts(
            merchant=merchant.id,
            payment=f"pay_gen{self.config.seed}_{self.sequence:07d}",
            amount=amount,
            currency=currency,
            card_fingerprint=card[0],
            card_brand=card[1],
            card_country=card[2],
            card_observed=True,
            customer=buyer.account[0],
            customer_created_s=buyer.account[1] if buyer.account[0] else 0,
            ip=buyer.ip,
            ip_country=buyer.ip_country,
            email=buyer.email,
            country=buyer.country,
            timestamp_ms=int(timestamp_ms),
        )
        self.payments.append(LabelledPayment(facts, declined, pattern != LEGITIMATE, pattern))

    def _spree(
        self, moment: int, buyer: _Buyer, card: Callable[[], tuple[str, str, str]], pattern: str
    ) -> None:
        spree = _SPREES[pattern]
        for _ in range(self.random.choice(spree.purchases)):
            merchant = self.random.choice(self.merchants)
            usd = self._lognormal_usd(spree.median_usd, spree.sigma)
            self._emit(moment, merchant, usd, card(), buyer, pattern, spree.decline_share)
            moment += self.random.randint(*spree.gap_minutes) * MINUTE_MS

    def _moment(self, day: int, hours: tuple[int, ...] | None = None, country: str = "") -> int:
        """A moment of `day` at one of `hours` (by default the legitimate hourly curve) of
        `country`'s local day (UTC without a country)."""
        if hours is None:
            hour = self.random.choices(range(24), weights=HOURLY)[0]
        else:
            hour = self.random.choice(hours)
        local_ms = START_MS + day * DAY_MS + hour * 3_600_000 + self.random.randrange(3_600_000)
        return local_ms - _utc_offset_ms(country, local_ms)

    def _poisson(self, mean: float) -> int:
        if mean > 50:  # the normal approximation; Knuth's product would underflow
            return max(round(self.random.gauss(mean, math.sqrt(mean))), 0)
        limit, count, product = math.exp(-mean), 0, self.random.random()
        while product > limit:
            count += 1
            product *= self.random.random()
        return count

    # -- patterns -------------------------------------------------------------------------

    def legitimate_day(self, day: int) -> None:
        config = self.config
        weekend = day % 7 in (5, 6)
        rate = config.purchases_per_customer_day * (1.3 if weekend else 1.0)
        basket = 1.0
        if day == config.sale_day:
            rate, basket = rate * 2.5, 1.5
        purchases = self._poisson(rate * len(self.customers) * (1 + config.guest_share))
        for _ in range(purchases):
            merchant = self.random.choice(self.merchants)
            usd = self._lognormal_usd(merchant.median_usd * basket)
            if self.random.random() < config.guest_share:
                self._legitimate_guest(day, merchant, usd)
            else:
                self._legitimate_customer(day, merchant, usd)

    def _legitimate_customer(self, day: int, merchant: _Merchant, usd: float) -> None:
        customer = self.random.choice(self.customers)
        moment = self._moment(day, country=customer.country)
        if customer.created_s * 1000 > moment:
            return  # not signed up yet
        new_account = moment - customer.created_s * 1000 < 3 * DAY_MS
        # Tourists and expats: a new account abroad is common, and so is a big first basket.
        travelling = self.random.random() < (0.25 if new_account else 0.05)
        if travelling and new_account and self.random.random() < 0.5:
            usd = self._lognormal_usd(400, 0.8)
            customer.cards.append(self._card(customer.country))
        home = customer.lives_in or customer.country
        ip_country = self._other_country(home) if travelling else home
        ip = self._ip() if travelling or self.random.random() < 0.15 else customer.ip
        if self.random.random() < 0.04:
            customer.cards.append(self._card(customer.country))
        card = self.random.choice(customer.cards)
        created_s = customer.created_s if customer.age_known else 0
        buyer = _Buyer((customer.id, created_s), ip, ip_country, customer.email, customer.country)
        usd *= 3 if travelling and self.random.random() < 0.3 else 1
        self._emit(moment, merchant, usd, card, buyer, LEGITIMATE, 0.04)
        if self.random.random() < 0.05:  # a second purchase soon after
            moment += self.random.randrange(30 * MINUTE_MS)
            usd = self._lognormal_usd(merchant.median_usd)
            self._emit(moment, merchant, usd, card, buyer, LEGITIMATE, 0)

    def _legitimate_guest(self, day: int, merchant: _Merchant, usd: float) -> None:
        country = self._country() if self.random.random() < 0.7 else merchant.country
        travelling = self.random.random() < 0.06
        card_country = country if self.random.random() < 0.96 else self._other_country(country)
        moment = self._moment(day, country=country)
        card = self._card(card_country)
        ip = self._ip()
        ip_country = self._other_country(country) if travelling else country
        email = self._email(free=0.6, disposable=0.03)
        buyer = _Buyer(_GUEST, ip, ip_country, email, country)
        self._emit(moment, merchant, usd, card, buyer, LEGITIMATE, 0.06)

    def card_testing(self, day: int) -> None:
        """A burst of small authorizations across many cards from one IP."""
        merchant = self.random.choice(self.merchants)
        ip_country = self._any_country() if self.random.random() < 0.6 else self._country()
        ip = self._ip()
        start = self._moment(day, tuple(range(24)))
        attempts = self.random.randint(12, 100)
        span_ms = self.random.randint(2, 20) * MINUTE_MS
        account = _GUEST
        if self.random.random() < 0.2:
            account = (f"cus_ct{self._token(10)}", start // 1000 - self.random.randint(60, 3600))
        email = self._email(free=0.4, disposable=0.6)
        for index in range(attempts):
            country = self._country() if self.random.random() < 0.7 else self._any_country()
            usd = self.random.uniform(0.5, 3.0)
            card = self._card(country)
            address = email if account[0] else self._email(free=0.4, disposable=0.6)
            billing = country if self.random.random() < 0.5 else ip_country
            buyer = _Buyer(account, ip, ip_country, address, billing)
            moment = start + span_ms * index // attempts
            self._emit(moment, merchant, usd, card, buyer, CARD_TESTING, 0.75)

    def bin_attack(self, day: int) -> None:
        """Card numbers of one issuer range tried through a botnet: each attempt from another
        address, tiny amounts, guests, mostly declined."""
        merchant = self.random.choice(self.merchants)
        start = self._moment(day, tuple(range(24)))
        attempts = self.random.randint(20, 80)
        span_ms = self.random.randint(2, 15) * MINUTE_MS
        card_country = self._country()
        for index in range(attempts):
            ip_country = self._any_country() if self.random.random() < 0.5 else self._country()
            usd = self.random.uniform(0.5, 2.0)
            card = self._card(card_country)
            ip = self._ip()
            email = self._email(free=0.5, disposable=0.4) if self.random.random() < 0.7 else ""
            buyer = _Buyer(_GUEST, ip, ip_country, email, card_country)
            moment = start + span_ms * index // attempts
            self._emit(moment, merchant, usd, card, buyer, BIN_ATTACK, 0.8)

    def shared_ip_group(self, day: int) -> None:
        """Legitimate buyers behind one address (a campus, an office, a cafe): several cards
        from one IP at one merchant within the hour, small amounts, few declines."""
        merchant = self.random.choice(self.merchants)
        country = merchant.country if self.random.random() < 0.8 else self._country()
        ip = self._ip()
        moment = self._moment(day, country=country)
        for _ in range(self.random.randint(3, 8)):
            usd = self._lognormal_usd(8, 0.6)
            card = self._card(country)
            buyer = _Buyer(_GUEST, ip, country, self._email(free=0.6, disposable=0.02), country)
            self._emit(moment, merchant, usd, card, buyer, LEGITIMATE, 0.04)
            moment += self.random.randint(1, 10) * MINUTE_MS

    def stolen_card(self, day: int) -> None:
        """A stolen card, used from a new device in another country for large amounts."""
        victim_country = self._country()
        card = self._card(victim_country)
        ip_country = (
            self._other_country(victim_country) if self.random.random() < 0.8 else victim_country
        )
        ip = self._ip()
        hours = NIGHT_HOURS if self.random.random() < 0.5 else None
        moment = self._moment(day, hours, country=ip_country)
        account = _GUEST
        if self.random.random() < 0.4:
            account = (f"cus_sc{self._token(10)}", moment // 1000 - self.random.randint(60, 86_400))
        email = self._email(free=0.6, disposable=0.3)
        billing = victim_country if self.random.random() < 0.6 else ip_country
        buyer = _Buyer(account, ip, ip_country, email, billing)
        self._spree(moment, buyer, lambda: card, STOLEN_CARD)

    def account_takeover(self, day: int) -> None:
        """Someone else logs into an old account: new IP abroad, often a new card, big baskets."""
        customer = self.random.choice(self.customers)
        moment = self._moment(day, tuple(range(24)))
        if customer.created_s * 1000 > moment:
            return
        ip_country = self._other_country(customer.country)
        ip = self._ip()
        if self.random.random() < 0.6:
            card = self._card(self._other_country(customer.country))
        else:
            card = self.random.choice(customer.cards)
        buyer = _Buyer(
            (customer.id, customer.created_s), ip, ip_country, customer.email, customer.country
        )
        self._spree(moment, buyer, lambda: card, ACCOUNT_TAKEOVER)

    def refund_abuse(self, day: int) -> None:
        """A young account buying again and again with several cards, to claim refunds later."""
        country = self._country()
        moment = self._moment(day, country=country)
        created_s = moment // 1000 - self.random.randint(2, 60) * 86_400
        customer = f"cus_ra{self._token(10)}"
        ip = self._ip()
        email = self._email(free=0.7, disposable=0.1)
        cards = [self._card(country) for _ in range(self.random.randint(2, 4))]
        buyer = _Buyer((customer, created_s), ip, country, email, country)
        self._spree(moment, buyer, lambda: self.random.choice(cards), REFUND_ABUSE)

    def run(self) -> list[LabelledPayment]:
        config = self.config
        episodes = {
            CARD_TESTING: self.card_testing,
            STOLEN_CARD: self.stolen_card,
            ACCOUNT_TAKEOVER: self.account_takeover,
            REFUND_ABUSE: self.refund_abuse,
            BIN_ATTACK: self.bin_attack,
            SHARED_IP_GROUP: self.shared_ip_group,
        }
        for day in range(config.days):
            self.legitimate_day(day)
            for pattern, per_day in config.episodes_per_day:
                for _ in range(self._poisson(per_day)):
                    episodes[pattern](day)
        end_ms = START_MS + config.days * DAY_MS
        kept = [payment for payment in self.payments if payment.facts.timestamp_ms < end_ms]
        return sorted(kept, key=lambda payment: payment.facts.timestamp_ms)


def generate(config: GeneratorConfig) -> list[LabelledPayment]:
    """The history, in time order (warm-up days included: see `is_warmup`)."""
    return _Generator(config).run()


def is_warmup(payment: LabelledPayment, config: GeneratorConfig) -> bool:
    return payment.facts.timestamp_ms < START_MS + config.warmup_days * DAY_MS


def _utc_offset_ms(country: str, utc_ms: int) -> int:
    """The country's offset from UTC at about that moment (0 without a listed country)."""
    name = ZONE_OF_COUNTRY.get(country)
    if name is None:
        return 0
    moment = datetime.datetime.fromtimestamp(utc_ms / 1000, ZoneInfo(name))
    offset = moment.utcoffset()
    return 0 if offset is None else int(offset.total_seconds() * 1000)
