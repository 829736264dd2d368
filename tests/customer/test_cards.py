"""Card checks, the vault and fingerprints, without a server."""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime

import pytest
from paycore.customer.cards import brand_of, check_card, luhn_valid
from paycore.customer.models import CardBrand, CardFunding, CardInput
from paycore.customer.vault import Fingerprinter, Vault, VaultError, new_vault_key
from paycore.errors import ApiError, ConfigurationError, Reason
from paycore.secret import Secret

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
# Unicode digits that str.isdigit() accepts: a card number is ASCII digits only.
FULL_WIDTH_VISA = "".join(chr(0xFF10 + int(digit)) for digit in "4242424242424242")
FULL_WIDTH_CVC = "\uff11\uff12\uff13"


def card(number: str, exp_month: int = 12, exp_year: int = 2030, cvc: str = "123") -> CardInput:
    return CardInput(Secret(number), exp_month, exp_year, Secret(cvc))


def refused(card_input: CardInput, now: datetime = NOW) -> ApiError:
    with pytest.raises(ApiError) as raised:
        check_card(card_input, now)
    return raised.value


@pytest.mark.parametrize(
    ("number", "brand"),
    [
        ("4242424242424242", CardBrand.VISA),
        ("4222222222222", CardBrand.VISA),  # 13 digits
        ("5555555555554444", CardBrand.MASTERCARD),
        ("2223003122003222", CardBrand.MASTERCARD),  # the 2221-2720 range
        ("2720990000000007", CardBrand.MASTERCARD),
        ("378282246310005", CardBrand.AMEX),
        ("341111111111111", CardBrand.AMEX),
        ("6011111111111117", CardBrand.DISCOVER),
        ("6500000000000002", CardBrand.DISCOVER),
        ("3056930009020004", CardBrand.DINERS),
        ("36227206271667", CardBrand.DINERS),  # 14 digits
        ("3566002020360505", CardBrand.JCB),
        ("6200000000000005", CardBrand.UNIONPAY),
        ("9999999999999995", CardBrand.UNKNOWN),
        ("2220990000000002", CardBrand.UNKNOWN),  # just below mastercard's 2221
        ("2721000000000004", CardBrand.UNKNOWN),  # just above its 2720
    ],
)
def test_the_brand_follows_the_issuer_range(number: str, brand: CardBrand) -> None:
    assert luhn_valid(number)
    assert brand_of(number) is brand
    checked = check_card(card(number, cvc="1234" if brand is CardBrand.AMEX else "123"), NOW)
    assert checked.brand is brand
    assert checked.last4 == number[-4:]


def test_spaces_are_stripped_and_the_issuer_table_gives_country_and_funding() -> None:
    checked = check_card(card("4000 0566 5566 5556"), NOW)
    assert checked.number.reveal() == "4000056655665556"
    assert (checked.country, checked.funding) == ("US", CardFunding.DEBIT)
    assert check_card(card("4000000760000002"), NOW).country == "BR"
    assert check_card(card("5105105105105100"), NOW).funding is CardFunding.PREPAID
    unlisted = check_card(card("4111111111111111"), NOW)
    assert (unlisted.country, unlisted.funding) == ("", CardFunding.UNKNOWN)


@pytest.mark.parametrize(
    ("number", "reason", "detail"),
    [
        ("", Reason.PARAMETER_MISSING, "required"),
        ("4242-4242-4242-4242", Reason.INVALID_NUMBER, "digits only"),
        (FULL_WIDTH_VISA, Reason.INVALID_NUMBER, "digits only"),
        ("42424242424", Reason.INVALID_NUMBER, "12 to 19 digits"),
        ("42424242424242424242", Reason.INVALID_NUMBER, "12 to 19 digits"),
        ("4242424242424241", Reason.INVALID_NUMBER, "Luhn"),
        ("424242424242428", Reason.INVALID_NUMBER, "visa number has 13, 16, 19 digits"),
        ("37828224631000", Reason.INVALID_NUMBER, "amex number has 15 digits"),
        ("55555555555544444", Reason.INVALID_NUMBER, "mastercard number has 16 digits"),
    ],
)
def test_a_bad_number_names_the_field_and_never_echoes_it(
    number: str, reason: Reason, detail: str
) -> None:
    error = refused(card(number))
    assert (error.reason, error.param) == (reason, "card.number")
    assert detail in error.message
    digits = number.replace(" ", "").replace("-", "")
    if digits:
        assert digits not in error.message and digits[:8] not in error.message
        assert digits not in repr(error)


def test_expiry_month_and_year_are_checked() -> None:
    assert refused(card("4242424242424242", exp_month=0)).param == "card.exp_month"
    for month in (13, -1):
        error = refused(card("4242424242424242", exp_month=month))
        assert (error.reason, error.param) == (Reason.INVALID_EXPIRY_MONTH, "card.exp_month")
    assert refused(card("4242424242424242", exp_year=0)).reason is Reason.PARAMETER_MISSING
    for year in (30, 2077, 99999):
        error = refused(card("4242424242424242", exp_year=year))
        assert (error.reason, error.param) == (Reason.INVALID_EXPIRY_YEAR, "card.exp_year")


def test_a_card_is_valid_through_the_end_of_its_expiry_month_in_utc() -> None:
    last_moment = datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC)
    assert check_card(card("4242424242424242", 11, 2026), last_moment).exp_month == 11
    next_month = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    error = refused(card("4242424242424242", 11, 2026), next_month)
    assert (error.reason, error.param) == (Reason.EXPIRED_CARD, "card.exp_month")
    assert "11/2026" in error.message
    error = refused(card("4242424242424242", 12, 2025), next_month)
    assert (error.reason, error.param) == (Reason.EXPIRED_CARD, "card.exp_year")


def test_cvc_is_three_digits_or_four_for_amex_and_may_be_left_out() -> None:
    assert check_card(card("4242424242424242", cvc=""), NOW).brand is CardBrand.VISA
    for bad in ("12", "1234", "12a", FULL_WIDTH_CVC):
        error = refused(card("4242424242424242", cvc=bad))
        assert (error.reason, error.param) == (Reason.INVALID_CVC, "card.cvc")
        assert bad not in error.message
    assert refused(card("378282246310005", cvc="123")).message.startswith("card.cvc must be 4")
    assert check_card(card("378282246310005", cvc="1234"), NOW).brand is CardBrand.AMEX


def test_the_checked_card_keeps_no_cvc_and_masks_the_number() -> None:
    checked = check_card(card("4242424242424242", cvc="987"), NOW)
    assert "cvc" not in {name for name in vars(checked)}
    assert "4242424242424242" not in repr(checked)
    assert "987" not in repr(checked)
    assert "4242424242424242" not in repr(card("4242424242424242"))


def test_the_vault_seals_with_a_fresh_nonce_and_binds_the_row() -> None:
    vault = Vault.from_setting(new_vault_key())
    number = Secret("4242424242424242")
    first = vault.seal(number, "acct_a", "pm_1")
    second = vault.seal(number, "acct_a", "pm_1")
    assert first != second and first[1:13] != second[1:13]
    assert first[0] == 1  # the key version
    assert b"4242" not in first and len(first) == 1 + 12 + 16 + 16
    assert vault.open(first, "acct_a", "pm_1") == number
    for merchant_id, payment_method_id in (("acct_b", "pm_1"), ("acct_a", "pm_2")):
        with pytest.raises(VaultError):
            vault.open(first, merchant_id, payment_method_id)
    tampered = first[:-1] + bytes([first[-1] ^ 1])
    with pytest.raises(VaultError):
        vault.open(tampered, "acct_a", "pm_1")
    with pytest.raises(VaultError):
        Vault.from_setting(new_vault_key()).open(first, "acct_a", "pm_1")


def test_vault_keys_rotate_by_version() -> None:
    old_key, new_key = new_vault_key(), new_vault_key()
    old = Vault.from_setting(old_key)
    sealed_before = old.seal(Secret("4242424242424242"), "acct_a", "pm_1")
    rotated = Vault.from_setting(f"2:{new_key},1:{old_key}")
    sealed_after = rotated.seal(Secret("5555555555554444"), "acct_a", "pm_2")
    assert sealed_after[0] == 2
    assert rotated.open(sealed_before, "acct_a", "pm_1").reveal() == "4242424242424242"
    assert rotated.open(sealed_after, "acct_a", "pm_2").reveal() == "5555555555554444"
    with pytest.raises(VaultError, match="version 2"):
        old.open(sealed_after, "acct_a", "pm_2")


@pytest.mark.parametrize(
    "setting",
    [
        "",
        "not-base64!",
        base64.urlsafe_b64encode(os.urandom(16)).decode(),  # 128 bits: too short
        "x:" + new_vault_key(),
        "1:{0},1:{0}".format(new_vault_key()),
    ],
    # Names, not the random keys: pytest-xdist's processes must collect the same tests.
    ids=["empty", "not-base64", "too-short", "bad-version", "a-version-twice"],
)
def test_a_bad_vault_key_stops_the_process_without_echoing_it(setting: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        Vault.from_setting(setting)
    key_text = setting.rpartition(":")[2]
    if len(key_text) > 8:
        assert key_text not in str(raised.value)


def test_fingerprints_are_keyed_stable_and_short() -> None:
    fingerprinter = Fingerprinter("fingerprint-key")
    number = Secret("4242424242424242")
    fingerprint = fingerprinter.fingerprint(number)
    assert len(fingerprint) == 16 and fingerprint.isalnum()
    assert fingerprinter.fingerprint(Secret("4242424242424242")) == fingerprint
    assert fingerprinter.fingerprint(Secret("5555555555554444")) != fingerprint
    assert Fingerprinter("another-key").fingerprint(number) != fingerprint
    with pytest.raises(ConfigurationError):
        Fingerprinter("")
