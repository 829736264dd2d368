"""Checks of bank account details, each failure an INVALID_ARGUMENT naming its field:

- an IBAN (countries of the IBAN registry): its country's length and the mod-97 check (ISO
  13616: move the first four characters to the end, letters to 10..35, the number mod 97 is 1);
- a US routing number: nine digits with the ABA checksum (3, 7, 1 weights, sum mod 10 is 0);
- any other account number: 4 to 17 digits; other routing numbers: 3 to 12 digits or letters.
"""

from __future__ import annotations

from dataclasses import dataclass

from paycore.errors import invalid, missing
from paycore.secret import Secret

IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AT": 20, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29, "CH": 21,
    "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "ES": 24, "FI": 18,
    "FO": 18, "FR": 27, "GB": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28,
    "IE": 22, "IL": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LI": 21,
    "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31,
    "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24,
    "RS": 22, "SA": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "TN": 24, "TR": 26, "UA": 29,
    "VG": 24, "XK": 20,
}  # fmt: skip
"""The IBAN registry's lengths (SWIFT, release 2024)."""

INSTANT_COUNTRIES = frozenset({"US", "GB"}) | frozenset(IBAN_LENGTHS) - {"BR", "TR", "PK", "SA"}
"""Where the simulated bank rails take instant payouts (RTP/FedNow, Faster Payments, SEPA
Instant)."""

ABA_WEIGHTS = (3, 7, 1) * 3


@dataclass(frozen=True)
class CheckedNumber:
    """A validated account number (IBANs upper-cased, spaces removed) and routing number."""

    number: Secret
    routing_number: str


def uses_iban(country: str) -> bool:
    return country in IBAN_LENGTHS


def check_bank_details(country: str, routing_number: str, account_number: Secret) -> CheckedNumber:
    number = account_number.reveal().replace(" ", "")
    if not number:
        raise missing("account_number")
    if uses_iban(country):
        iban = number.upper()
        check_iban(iban, country)
        return CheckedNumber(Secret(iban), routing_number.strip().upper())
    if not number.isdigit() or not 4 <= len(number) <= 17:
        raise invalid("account_number", "an account number is 4 to 17 digits")
    routing = routing_number.strip()
    if not routing:
        raise missing("routing_number")
    if country == "US":
        check_aba(routing)
    elif not routing.replace("-", "").isalnum() or not 3 <= len(routing) <= 12:
        raise invalid("routing_number", "a routing number is 3 to 12 letters or digits")
    return CheckedNumber(Secret(number), routing)


def check_iban(iban: str, country: str) -> None:
    """Never echoes the number: the detail names the rule it breaks."""
    if not iban.isalnum() or not iban.isascii():
        raise invalid("account_number", "an IBAN has only letters and digits")
    if iban[:2] != country:
        raise invalid("account_number", f"the IBAN's country is not {country}")
    if len(iban) != IBAN_LENGTHS[country]:
        raise invalid(
            "account_number", f"an IBAN of {country} has {IBAN_LENGTHS[country]} characters"
        )
    if not iban[2:4].isdigit() or iban_remainder(iban) != 1:
        raise invalid("account_number", "the IBAN's check digits do not match (mod 97)")


def iban_remainder(iban: str) -> int:
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(character, 36)) for character in rearranged)) % 97


def iban_check_digits(country: str, bban: str) -> str:
    """The two check digits that make `country` + digits + `bban` a valid IBAN."""
    return f"{98 - iban_remainder(country + '00' + bban):02d}"


def check_aba(routing_number: str) -> None:
    if len(routing_number) != 9 or not routing_number.isdigit():
        raise invalid("routing_number", "a US routing number is 9 digits")
    total = sum(
        int(digit) * weight for digit, weight in zip(routing_number, ABA_WEIGHTS, strict=True)
    )
    if total % 10:
        raise invalid("routing_number", "the routing number's ABA checksum does not match")
