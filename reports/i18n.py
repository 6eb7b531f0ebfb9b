"""Translations and locale-aware formatting for reports (en, fr, es).

Owns: the gettext catalogs under ``reports/locale``, the mapping from a report
language to a babel locale, the ``N_`` extraction marker and the formatting
helpers (money, dates, decimals, percentages) every renderer uses.  Must not
import the database or any renderer.

Labels are *msgids*: report builders write ``N_("Deposits in transit")`` and the
renderer translates at render time for the chosen language, so one report value
can be rendered in English, French and Spanish.

Refreshing the catalogs after adding or changing a label (one command)::

    python -m reports.i18n --update

which runs babel's extract → update → compile workflow, equivalent to::

    pybabel extract -F reports/babel.cfg -k N_ -k Msg --no-location --sort-output \\
        -o reports/locale/messages.pot .
    pybabel update -i reports/locale/messages.pot -d reports/locale -D messages
    pybabel compile -d reports/locale -D messages --statistics

then translate the new entries in ``reports/locale/{fr,es}/LC_MESSAGES/messages.po``
(remove ``#, fuzzy`` flags once checked) and run ``python -m reports.i18n --compile``.
The compiled ``.mo`` files are committed so an install needs no build step; if
one is missing the loader compiles the ``.po`` in memory.
"""

from __future__ import annotations

import argparse
import gettext
import io
import re
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date as _babel_format_date
from babel.dates import format_datetime as _babel_format_datetime
from babel.dates import format_skeleton
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal as _babel_format_decimal
from babel.numbers import format_percent as _babel_format_percent

from ledger.money import Money

__all__ = [
    "DOMAIN",
    "LANGUAGES",
    "LOCALE_DIR",
    "N_",
    "I18nError",
    "LocaleChoice",
    "babel_locale",
    "format_date",
    "format_datetime",
    "format_decimal",
    "format_integer",
    "format_money",
    "format_month",
    "format_percent",
    "resolve",
    "translator",
]

DOMAIN = "messages"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
ROOT_DIR = Path(__file__).resolve().parent.parent
BABEL_CFG = Path(__file__).resolve().parent / "babel.cfg"
POT_FILE = LOCALE_DIR / f"{DOMAIN}.pot"

#: Report languages with a catalog, and the babel locale each one formats with.
LANGUAGES: dict[str, str] = {"en": "en", "fr": "fr_FR", "es": "es_ES"}

#: Keywords babel extracts besides the defaults (``_``, ``gettext``, …).
EXTRACT_KEYWORDS = ("N_", "Msg")


class I18nError(ValueError):
    """A report language or locale that is not supported."""


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it now (translated at render)."""
    return message


@dataclass(frozen=True, slots=True)
class LocaleChoice:
    """The catalog language (``fr``) and the formatting locale (``fr_CA``) of one render."""

    language: str
    locale: Locale

    @property
    def tag(self) -> str:
        """BCP 47 tag for the HTML ``lang`` attribute (``fr-CA``)."""
        return str(self.locale).replace("_", "-")


@lru_cache(maxsize=64)
def resolve(lang: str) -> LocaleChoice:
    """Resolve ``"fr"`` → (fr, fr_FR); a full locale ``"fr_CA"``/``"fr-CA"`` keeps its region."""
    if not isinstance(lang, str) or not lang.strip():
        raise I18nError("a report language is required (en, fr or es)")
    text = lang.strip().replace("-", "_")
    try:
        loc = Locale.parse(LANGUAGES.get(text.lower(), text))
    except (ValueError, UnknownLocaleError):
        raise I18nError(f"unknown locale {lang!r}; use en, fr or es") from None
    if loc.language not in LANGUAGES:
        raise I18nError(f"no report catalog for {lang!r}; use en, fr or es")
    if loc.territory is None and loc.language != "en":
        loc = Locale.parse(LANGUAGES[loc.language])
    return LocaleChoice(loc.language, loc)


def babel_locale(lang: str) -> Locale:
    """The babel locale used to format numbers and dates for ``lang``."""
    return resolve(lang).locale


def _compile_po(po_path: Path) -> gettext.GNUTranslations:
    # Fallback for a checkout whose .mo was not compiled: build it in memory.
    with po_path.open("rb") as fh:
        catalog = read_po(fh, locale=po_path.parent.parent.name, domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


@lru_cache(maxsize=8)
def _translator_for(language: str) -> gettext.GNUTranslations:
    folder = LOCALE_DIR / language / "LC_MESSAGES"
    mo_path = folder / f"{DOMAIN}.mo"
    po_path = folder / f"{DOMAIN}.po"
    if mo_path.is_file():
        with mo_path.open("rb") as fh:
            return gettext.GNUTranslations(fh)
    if po_path.is_file():
        return _compile_po(po_path)
    raise I18nError(f"no catalog for language {language!r} in {LOCALE_DIR}")


def translator(lang: str) -> gettext.GNUTranslations:
    """The gettext translations for ``lang`` (``en``, ``fr``, ``es`` or a full locale)."""
    return _translator_for(resolve(lang).language)


# -- formatting ----------------------------------------------------------------


def _loc(locale: str | Locale) -> Locale:
    return locale if isinstance(locale, Locale) else babel_locale(locale)


def format_money(money: Money, locale: str | Locale) -> str:
    """``Money`` with its currency's digits for ``locale`` (``1 234,50 €``, ``5 000 F CFA``)."""
    return money.format(_loc(locale))


def format_date(value: date, locale: str | Locale, fmt: str = "medium") -> str:
    """A date for ``locale`` (``5 Jan 2024``/``5 janv. 2024``); ``fmt`` is a babel width or pattern."""
    if isinstance(value, datetime):
        value = value.date()
    return _babel_format_date(value, fmt, locale=_loc(locale))


def format_datetime(value: datetime, locale: str | Locale, fmt: str = "medium") -> str:
    """A timestamp for ``locale``; an aware timestamp is shown in its own zone, with the zone."""
    loc = _loc(locale)
    if value.tzinfo is None:
        return _babel_format_datetime(value, fmt, locale=loc)
    text = _babel_format_datetime(value.replace(tzinfo=None), fmt, locale=loc)
    offset = value.utcoffset()
    if value.tzinfo is UTC or offset is not None and not offset:
        return f"{text} UTC"
    return f"{text} {value.strftime('%z')}"


def format_month(value: date, locale: str | Locale) -> str:
    """A month for ``locale`` (``Jan 2024``, ``janv. 2024``, ``ene 2024``)."""
    return format_skeleton("yMMM", value, locale=_loc(locale))


def format_decimal(value: Decimal | int, locale: str | Locale, digits: int | None = None) -> str:
    """A decimal for ``locale``; ``digits`` fixes the decimals, ``None`` keeps them all."""
    loc = _loc(locale)
    if digits is None:
        return _babel_format_decimal(value, locale=loc, decimal_quantization=False)
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return _babel_format_decimal(value, format=pattern, locale=loc)


def format_integer(value: int, locale: str | Locale) -> str:
    """An integer with the locale's grouping (``100 000`` in fr)."""
    return _babel_format_decimal(value, format="#,##0", locale=_loc(locale))


def format_percent(value: Decimal | int, locale: str | Locale, digits: int = 1) -> str:
    """A fraction as a percentage (``Decimal("0.125")`` → ``12.5%``/``12,5 %``)."""
    loc = _loc(locale)
    pattern = loc.percent_formats[None].pattern
    if digits:
        # Keep the locale's layout (space before %, sign) and only widen the decimals.
        pattern = re.sub(r"0(?![0-9.])", "0." + "0" * digits, pattern, count=1)
    return _babel_format_percent(value, format=pattern, locale=loc)


# -- catalog maintenance ----------------------------------------------------------


def _project_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("solidarity-ledger")
    except PackageNotFoundError:  # an uninstalled checkout still gets a catalog
        return "0"


def _pybabel(*args: str) -> None:
    from babel.messages.frontend import CommandLineInterface

    CommandLineInterface().run(["pybabel", "-q", *args])


def extract() -> None:
    """Extract every marked label of ledger/ imports/ rules/ reports/ into messages.pot."""
    keywords: list[str] = []
    for kw in EXTRACT_KEYWORDS:
        keywords += ["-k", kw]
    _pybabel(
        "extract", "-F", str(BABEL_CFG), *keywords, "--no-location", "--sort-output",
        "--project", "solidarity-ledger", "--version", _project_version(),
        "--copyright-holder", "solidarity-ledger contributors",
        "-o", str(POT_FILE), str(ROOT_DIR),
    )


def update() -> None:
    """Merge messages.pot into each language's .po (creating missing catalogs)."""
    for language in LANGUAGES:
        po = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
        if po.is_file():
            _pybabel("update", "-i", str(POT_FILE), "-d", str(LOCALE_DIR), "-D", DOMAIN,
                     "-l", language, "--no-wrap")
        else:
            _pybabel("init", "-i", str(POT_FILE), "-d", str(LOCALE_DIR), "-D", DOMAIN,
                     "-l", language, "--no-wrap")


def compile_catalogs() -> None:
    """Compile every .po into the .mo committed next to it."""
    _pybabel("compile", "-d", str(LOCALE_DIR), "-D", DOMAIN, "--statistics")
    _translator_for.cache_clear()


def main(argv: list[str] | None = None) -> int:
    """``python -m reports.i18n --update`` (extract+update+compile) or ``--compile``."""
    parser = argparse.ArgumentParser(prog="python -m reports.i18n", description=__doc__.split("\n")[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--update", action="store_true", help="extract, update and compile catalogs")
    group.add_argument("--compile", action="store_true", help="compile .po into .mo only")
    args = parser.parse_args(argv)
    if args.update:
        extract()
        update()
    compile_catalogs()
    return 0


if __name__ == "__main__":
    sys.exit(main())
