"""Money: exact, refuses floats and excess precision, never mixes currencies."""

from decimal import Decimal

import pytest

from ledger.money import (
    CurrencyError,
    Money,
    MoneyError,
    PrecisionError,
    currency_digits,
    parse_amount,
)


@pytest.mark.parametrize(
    ("code", "digits"),
    [("EUR", 2), ("XOF", 0), ("JPY", 0), ("KWD", 3), ("CAD", 2), ("CLF", 4), ("eur", 2),
     # ISO 4217 says two, babel 2.19 (CLDR) says none: banks state two
     ("HUF", 2), ("IDR", 2), ("COP", 2), ("MGA", 2), ("IQD", 3), ("ESP", 0)],
)
def test_each_currency_has_its_iso_4217_digits(code: str, digits: int) -> None:
    assert currency_digits(code) == digits


def test_digits_of_an_unknown_code_are_refused() -> None:
    with pytest.raises(CurrencyError):
        currency_digits("ZZZ")


def test_money_is_built_exactly_from_text_and_decimal() -> None:
    assert Money.of("10.50", "EUR") == Money(1050, "EUR")
    assert Money.of(Decimal(655957), "XOF") == Money(655957, "XOF")
    assert Money.of("1.234", "KWD").minor == 1234
    assert Money.of("10.5", "EUR").to_decimal_string() == "10.50"


def test_floats_are_refused_everywhere() -> None:
    with pytest.raises(MoneyError, match="float"):
        Money.of(10.5, "EUR")  # type: ignore[arg-type]
    with pytest.raises(MoneyError):
        Money(10.0, "EUR")  # type: ignore[arg-type]
    with pytest.raises(MoneyError):
        Money(1, "EUR") * 1.5  # type: ignore[operator]


def test_excess_precision_is_an_error_not_a_rounding() -> None:
    with pytest.raises(PrecisionError, match="XOF"):
        Money.of("1000.5", "XOF")
    with pytest.raises(PrecisionError):
        Money.of("0.001", "EUR")


def test_adding_two_currencies_is_an_error() -> None:
    with pytest.raises(CurrencyError):
        Money(1, "EUR") + Money(1, "XOF")
    with pytest.raises(CurrencyError):
        _ = Money(1, "EUR") < Money(1, "CAD")


def test_unknown_currency_is_refused() -> None:
    with pytest.raises(CurrencyError):
        Money(1, "EUX")
    with pytest.raises(CurrencyError):
        Money.of("1", "euro")


def test_arithmetic_stays_in_minor_units() -> None:
    a = Money.of("0.10", "EUR")
    assert a + a + a == Money.of("0.30", "EUR")
    assert -a == Money(-10, "EUR")
    assert abs(Money(-5, "EUR")) == Money(5, "EUR")
    assert 3 * a == Money(30, "EUR")
    assert not Money.zero("EUR")


@pytest.mark.parametrize(
    ("text", "locale", "expected"),
    [
        ("1 234,56", "fr_FR", "1234.56"),
        ("1\u202f234,56", "fr_FR", "1234.56"),
        ("1.234,56", "es_ES", "1234.56"),
        ("1,234.56", "en_US", "1234.56"),
        ("(12.00)", "en_US", "-12.00"),
        ("12,00-", "de_DE", "-12.00"),
        ("-7", None, "-7"),
    ],
)
def test_amounts_are_parsed_for_the_locale(text: str, locale: str | None, expected: str) -> None:
    assert parse_amount(text, locale) == Decimal(expected)


@pytest.mark.parametrize("bad", ["", "abc", "1,2,3x", "--5", "NaN", "Infinity"])
def test_garbage_is_not_an_amount(bad: str) -> None:
    with pytest.raises(MoneyError):
        Money.parse(bad, "EUR", "en_US")


@pytest.mark.parametrize(
    ("locale", "text"),
    [
        ("fr_FR", "1\u202f234,56\u00a0€"),
        ("es_ES", "1.234,56\u00a0€"),
        ("en_AU", "EUR1,234.56"),
        ("fr_CA", "1\u00a0234,56\u00a0€"),
    ],
)
def test_formatting_goes_through_babel(locale: str, text: str) -> None:
    assert Money.of("1234.56", "EUR").format(locale) == text


@pytest.mark.parametrize(
    ("locale", "text"),
    [("en", "HUF627,311.30"), ("fr_FR", "627\u202f311,30\u00a0HUF"), ("es_ES", "627.311,30\u00a0HUF")],
)
def test_amounts_keep_their_iso_decimals_where_cldr_writes_none(locale: str, text: str) -> None:
    # babel's own currency digits would print HUF627,311: 30 fillér gone from a report
    assert Money.of("627311.30", "HUF").format(locale) == text
    assert Money.of("627311.30", "HUF").format(locale, currency_symbol=False) == text.replace(
        "HUF", "").strip("\u00a0")


def test_xof_formats_without_decimals() -> None:
    assert Money.of("655957", "XOF").format("fr_BF") == "655\u202f957\u00a0F\u202fCFA"
