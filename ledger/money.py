"""Exact money: an integer number of minor units and an ISO 4217 currency code.

Every amount in the project is built here.  Floats are refused, excess precision
is an error (never a silent rounding), and two currencies never add up.  The
number of decimals of each currency is its ISO 4217 minor unit (EUR 2, XOF 0,
JPY 0, KWD 3, HUF 2), the unit banks state amounts in.  babel knows the codes
and formats the amounts, but not with its own (CLDR) digits: CLDR gives the
digits people write, and since babel 2.19 that is 0 for HUF, IDR, COP and a
dozen others whose banks still state two decimals.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

from babel import Locale
from babel.numbers import (
    NumberFormatError,
    NumberPattern,
    list_currencies,
    parse_decimal,
    parse_pattern,
)

__all__ = [
    "CurrencyError",
    "Money",
    "MoneyError",
    "PrecisionError",
    "check_currency",
    "currency_digits",
    "format_amount",
    "parse_amount",
    "to_decimal",
]


class MoneyError(ValueError):
    """An amount that cannot be represented exactly or combined as asked."""


class CurrencyError(MoneyError):
    """An unknown ISO 4217 code, or two currencies mixed in one operation."""


class PrecisionError(MoneyError):
    """More decimals than the currency has minor units for."""


@cache
def _known_currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def check_currency(code: object) -> str:
    """Return ``code`` upper-cased if it is a known ISO 4217 code, else raise."""
    if not isinstance(code, str):
        raise CurrencyError(f"currency code must be text, not {type(code).__name__}")
    norm = code.strip().upper()
    if len(norm) != 3 or norm not in _known_currencies():
        raise CurrencyError(f"unknown currency code {code!r}")
    return norm


#: ISO 4217 minor units other than 2: current codes (list one) and the withdrawn
#: codes of list three that had none.  Codes without a minor unit (gold, SDR, test
#: codes: "N.A." in the standard) are kept to 2 decimals, as CLDR does.
_ISO_4217_DIGITS = {
    **dict.fromkeys(["BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF",
                     "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"], 0),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
    "CLF": 4,
    "UYW": 4,
    **dict.fromkeys(["ADP", "BEF", "BYR", "ESP", "GRD", "ITL", "LUF", "MGF", "PTE", "TRL",
                     "XFU"], 0),
}


@cache
def currency_digits(code: str) -> int:
    """Number of decimals of the currency's ISO 4217 minor unit (EUR 2, XOF 0, KWD 3)."""
    return _ISO_4217_DIGITS.get(check_currency(code), 2)


@cache
def _pattern(locale: Locale, digits: int, symbol: bool) -> NumberPattern:
    pattern = copy.copy(locale.currency_formats["standard"] if symbol else parse_pattern("#,##0"))
    pattern.frac_prec = (digits, digits)
    return pattern


def format_amount(amount: Decimal, currency: str, locale: Locale, *, symbol: bool = True) -> str:
    """``amount`` of ``currency`` for ``locale`` (``1 234,50 €``; ``1 234,50`` without
    the symbol), with the currency's ISO 4217 decimals, never rounded to fewer."""
    digits = currency_digits(currency)
    return _pattern(locale, digits, symbol).apply(
        amount, locale, currency=currency, currency_digits=False, decimal_quantization=False
    )


def to_decimal(value: object) -> Decimal:
    """Convert text, int or Decimal to Decimal exactly; floats are refused."""
    if isinstance(value, bool):
        raise MoneyError("a boolean is not an amount")
    if isinstance(value, float):
        raise MoneyError("floats cannot hold money; pass a Decimal or text")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise MoneyError(f"not a number: {value!r}") from None
    else:
        raise MoneyError(f"cannot make an amount from {type(value).__name__}")
    if not result.is_finite():
        raise MoneyError(f"not a finite number: {value!r}")
    return result


def parse_amount(text: str, locale: str | Locale | None = None) -> Decimal:
    """Parse ``text`` as a decimal written for ``locale`` (``None``: plain ``1234.56``).

    Accepts the locale's decimal and grouping marks (``1 234,56`` in fr_FR),
    a leading or trailing minus and accounting parentheses ``(12.00)``.
    """
    if not isinstance(text, str):
        raise MoneyError(f"amount text expected, got {type(text).__name__}")
    s = text.strip().replace("\u2212", "-")
    if not s:
        raise MoneyError("empty amount")
    negative = False
    if s.startswith("(") and s.endswith(")"):
        negative, s = True, s[1:-1].strip()
    if s.endswith("-"):
        negative, s = not negative, s[:-1].strip()
    elif s.startswith("-"):
        negative, s = not negative, s[1:].strip()
    elif s.startswith("+"):
        s = s[1:].strip()
    if not s or s[0] in "+-":
        raise MoneyError(f"not an amount: {text!r}")
    if locale is None:
        value = to_decimal(s)
    else:
        # babel's grouping symbol for fr is a narrow no-break space; banks write
        # plain spaces and no-break spaces too.
        loc = Locale.parse(locale)
        group = loc.number_symbols.get("latn", loc.number_symbols).get("group", ",")
        if group.isspace():
            s = s.replace(" ", group).replace("\u00a0", group).replace("\u202f", group)
        try:
            value = parse_decimal(s, locale=loc, strict=True)
        except NumberFormatError as exc:
            raise MoneyError(f"not an amount for locale {loc}: {text!r} ({exc})") from None
    return -value if negative else value


@dataclass(frozen=True, slots=True, order=False)
class Money:
    """An exact amount: ``minor`` units of ``currency`` (``Money(1050, "EUR")`` is 10.50 €)."""

    minor: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.minor, bool) or not isinstance(self.minor, int):
            raise MoneyError(
                f"minor units must be an int, not {type(self.minor).__name__}"
            )
        object.__setattr__(self, "currency", check_currency(self.currency))

    # -- construction -------------------------------------------------------
    @classmethod
    def of(cls, amount: Decimal | str | int, currency: str) -> Money:
        """Build from a major-unit amount (``Money.of("10.50", "EUR")``), exactly."""
        code = check_currency(currency)
        value = to_decimal(amount)
        digits = currency_digits(code)
        scaled = value.scaleb(digits)
        if scaled != scaled.to_integral_value():
            raise PrecisionError(
                f"{value} has more than {digits} decimal(s), the precision of {code}"
            )
        return cls(int(scaled), code)

    @classmethod
    def parse(cls, text: str, currency: str, locale: str | Locale | None = None) -> Money:
        """Parse text written for ``locale`` (see :func:`parse_amount`) into money."""
        return cls.of(parse_amount(text, locale), currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Zero in ``currency``."""
        return cls(0, currency)

    # -- views --------------------------------------------------------------
    @property
    def digits(self) -> int:
        """Decimals of this currency."""
        return currency_digits(self.currency)

    @property
    def amount(self) -> Decimal:
        """The amount in major units, as an exact Decimal with the currency's digits."""
        return Decimal(self.minor).scaleb(-self.digits)

    def to_decimal_string(self) -> str:
        """Plain text with the currency's digits, e.g. ``"-1234.50"`` (for JSON/CSV)."""
        return format(self.amount, "f")

    def format(self, locale: str | Locale = "en", *, currency_symbol: bool = True) -> str:
        """Format for ``locale`` through babel (``1 234,56 €`` in fr_FR)."""
        loc = locale if isinstance(locale, Locale) else Locale.parse(locale)
        return format_amount(self.amount, self.currency, loc, symbol=currency_symbol)

    def __str__(self) -> str:
        return f"{self.to_decimal_string()} {self.currency}"

    def __repr__(self) -> str:
        return f"Money({self.to_decimal_string()!r}, {self.currency!r})"

    # -- arithmetic ---------------------------------------------------------
    def _same(self, other: Any) -> Money:
        if not isinstance(other, Money):
            raise MoneyError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyError(f"cannot combine {self.currency} with {other.currency}")
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.minor + self._same(other).minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.minor - self._same(other).minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __abs__(self) -> Money:
        return Money(abs(self.minor), self.currency)

    def __bool__(self) -> bool:
        return self.minor != 0

    def __lt__(self, other: Money) -> bool:
        return self.minor < self._same(other).minor

    def __le__(self, other: Money) -> bool:
        return self.minor <= self._same(other).minor

    def __gt__(self, other: Money) -> bool:
        return self.minor > self._same(other).minor

    def __ge__(self, other: Money) -> bool:
        return self.minor >= self._same(other).minor

    def __mul__(self, factor: int) -> Money:
        if isinstance(factor, bool) or not isinstance(factor, int):
            raise MoneyError("money multiplies only by an integer; convert with a rate explicitly")
        return Money(self.minor * factor, self.currency)

    __rmul__ = __mul__
