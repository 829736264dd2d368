"""The hosted page's table of words (paycore.edge.checkout_texts): every language says what
English says, with the same placeholders, and the page's language is chosen as Stripe's
Checkout chooses it."""

from __future__ import annotations

import re
import string

import pytest
from paycore.checkout.servicer.requests import LOCALES
from paycore.edge.checkout_texts import DECLINES, NUMBERS, PAGE, SCRIPT, page_language
from paycore.edge.web import money


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("table", [PAGE, SCRIPT], ids=["page", "script"])
def test_every_language_has_every_text_with_the_same_placeholders(
    table: dict[str, dict[str, str]],
) -> None:
    english = table["en"]
    for language, texts in table.items():
        assert texts.keys() == english.keys(), language
        for key, text in texts.items():
            assert text.strip(), (language, key)
            assert _fields(text) == _fields(english[key]), (language, key)
    assert table.keys() == NUMBERS.keys() == DECLINES.keys()


def test_every_language_of_the_table_is_a_locale_a_session_may_name() -> None:
    assert set(PAGE) <= LOCALES
    assert all(re.fullmatch(r"[a-z]{2}", language) for language in PAGE)


@pytest.mark.parametrize(
    ("locale", "accept_language", "lang", "key"),
    [
        ("fr", "de-DE,de;q=0.9", "fr", "fr"),
        ("fr-CA", "", "fr-CA", "fr"),
        ("es-419", "", "es-419", "es"),
        ("nl", "fr", "en", "en"),  # a locale without text: English, not the browser's
        ("auto", "nl-NL,ja;q=0.8,de;q=0.9", "de", "de"),  # the most wanted one the table has
        (None, "da, pt-BR;q=0.5", "pt", "pt"),
        ("", "ja;q=0, nl", "en", "en"),  # q=0: not wanted
        (None, "", "en", "en"),
        ("auto", "*", "en", "en"),
    ],
)
def test_the_language_is_the_sessions_else_the_browsers_else_english(
    locale: str | None, accept_language: str, lang: str, key: str
) -> None:
    chosen = page_language(locale, accept_language)
    assert (chosen.lang, chosen.key) == (lang, key)


def test_amounts_are_written_with_the_languages_marks() -> None:
    assert money(123456789, "usd") == "1,234,567.89 USD"
    assert money(123456789, "eur", NUMBERS["fr"]) == "1\u202f234\u202f567,89 EUR"
    assert money(-123456, "eur", NUMBERS["de"]) == "-1.234,56 EUR"
    assert money(1234567, "jpy", NUMBERS["de"]) == "1.234.567 JPY"
    assert money(1234567, "kwd", NUMBERS["es"]) == "1.234,567 KWD"
