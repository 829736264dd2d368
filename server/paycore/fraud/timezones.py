"""The buyer's local hour, from the IP country's time zone: a purchase at 03:00 UTC is an
evening in California and a night in London, so the UTC hour says little about a buyer.

One zone per country (the most populous one where a country spans several): an hour off in
the far west of a wide country is still the right part of the day. Countries not listed give
no hour (-1), as does a payment without an IP country.
"""

from __future__ import annotations

import datetime
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

NO_HOUR = -1

ZONE_OF_COUNTRY: dict[str, str] = {
    "AE": "Asia/Dubai",
    "AR": "America/Argentina/Buenos_Aires",
    "AT": "Europe/Vienna",
    "AU": "Australia/Sydney",
    "BD": "Asia/Dhaka",
    "BE": "Europe/Brussels",
    "BG": "Europe/Sofia",
    "BR": "America/Sao_Paulo",
    "CA": "America/Toronto",
    "CH": "Europe/Zurich",
    "CL": "America/Santiago",
    "CN": "Asia/Shanghai",
    "CO": "America/Bogota",
    "CZ": "Europe/Prague",
    "DE": "Europe/Berlin",
    "DK": "Europe/Copenhagen",
    "EG": "Africa/Cairo",
    "ES": "Europe/Madrid",
    "FI": "Europe/Helsinki",
    "FR": "Europe/Paris",
    "GB": "Europe/London",
    "GR": "Europe/Athens",
    "HK": "Asia/Hong_Kong",
    "HU": "Europe/Budapest",
    "ID": "Asia/Jakarta",
    "IE": "Europe/Dublin",
    "IL": "Asia/Jerusalem",
    "IN": "Asia/Kolkata",
    "IT": "Europe/Rome",
    "JP": "Asia/Tokyo",
    "KE": "Africa/Nairobi",
    "KR": "Asia/Seoul",
    "KZ": "Asia/Almaty",
    "MA": "Africa/Casablanca",
    "MX": "America/Mexico_City",
    "MY": "Asia/Kuala_Lumpur",
    "NG": "Africa/Lagos",
    "NL": "Europe/Amsterdam",
    "NO": "Europe/Oslo",
    "NZ": "Pacific/Auckland",
    "PE": "America/Lima",
    "PH": "Asia/Manila",
    "PK": "Asia/Karachi",
    "PL": "Europe/Warsaw",
    "PT": "Europe/Lisbon",
    "RO": "Europe/Bucharest",
    "RU": "Europe/Moscow",
    "SA": "Asia/Riyadh",
    "SE": "Europe/Stockholm",
    "SG": "Asia/Singapore",
    "TH": "Asia/Bangkok",
    "TR": "Europe/Istanbul",
    "TW": "Asia/Taipei",
    "UA": "Europe/Kyiv",
    "US": "America/New_York",
    "VN": "Asia/Ho_Chi_Minh",
    "ZA": "Africa/Johannesburg",
}


@cache
def _zone(country: str) -> ZoneInfo | None:
    name = ZONE_OF_COUNTRY.get(country)
    if name is None:
        return None
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError:  # a system without the time zone database
        return None


def local_hour(country: str, unix_seconds: int) -> int:
    """0..23 in the country's time zone, or -1 when the country is unknown or unlisted."""
    zone = _zone(country) if country else None
    if zone is None:
        return NO_HOUR
    return datetime.datetime.fromtimestamp(unix_seconds, zone).hour
