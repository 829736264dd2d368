"""The simulator's exchange-rate provider: rates against USD that move during the day.

    GET /v1/fx/rates   {"object": "fx_rates", "source": "simulator", "base": "usd",
                        "as_of": <unix seconds, the minute>, "rates": {"eur": "0.921034", ...}}

Each rate is its reference (REFERENCE_RATES, about the rates of late 2026) times
1 + 2 % x sin(2 pi x the fraction of the UTC day gone), at the simulator's clock, rounded to
six significant digits and fixed for the minute: the same minute always gives the same rates,
and a rate an hour later is a little different (a test moves the clock to move the rates).
"""

from __future__ import annotations

import math
from decimal import Context, Decimal
from typing import Any

DAY_SECONDS = 86_400
AMPLITUDE = 0.02
SIGNIFICANT_DIGITS = 6
REFERENCE_RATES = {
    "eur": "0.92",
    "gbp": "0.79",
    "jpy": "150.0",
    "chf": "0.88",
    "cad": "1.36",
    "aud": "1.52",
    "kwd": "0.307",
    "bhd": "0.376",
    "isk": "138.0",
    "huf": "355.0",
    "twd": "32.0",
    "krw": "1350.0",
    "sek": "10.5",
}
_ROUNDING = Context(prec=SIGNIFICANT_DIGITS)


def rates_at(unix_seconds: float) -> dict[str, Any]:
    minute = int(unix_seconds) // 60 * 60
    factor = 1 + AMPLITUDE * math.sin(2 * math.pi * (minute % DAY_SECONDS) / DAY_SECONDS)
    moved = Decimal(repr(factor))
    return {
        "object": "fx_rates",
        "source": "simulator",
        "base": "usd",
        "as_of": minute,
        "rates": {
            code: format(_ROUNDING.multiply(Decimal(rate), moved).normalize(), "f")
            for code, rate in REFERENCE_RATES.items()
        },
    }
