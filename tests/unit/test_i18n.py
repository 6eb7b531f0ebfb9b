"""Report catalogs (en/fr/es) are complete, compiled and in step with the code."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from ledger.money import Money
from reports import i18n
from reports.i18n import I18nError

LOCALE_DIR = i18n.LOCALE_DIR
TRANSLATED = ("fr", "es")


def catalog(lang: str):
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=lang)


def template():
    with i18n.POT_FILE.open("rb") as fh:
        return read_po(fh)


def msgids(cat) -> set[str]:
    return {m.id for m in cat if m.id}


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_msgid_has_a_checked_translation(lang: str) -> None:
    cat = catalog(lang)
    untranslated = [m.id for m in cat if m.id and (not m.string or m.fuzzy)]
    assert untranslated == []
    missing = msgids(template()) - msgids(cat)
    assert missing == set(), "run `python -m reports.i18n --update` and translate"


@pytest.mark.parametrize("lang", ("en", *TRANSLATED))
def test_no_catalog_keeps_obsolete_or_unknown_messages(lang: str) -> None:
    cat = catalog(lang)
    assert msgids(cat) == msgids(template())
    assert not cat.obsolete


@pytest.mark.parametrize("lang", TRANSLATED)
def test_translations_keep_their_placeholders(lang: str) -> None:
    for m in catalog(lang):
        if m.id:
            assert set(re.findall(r"{\w+}", m.id)) == set(re.findall(r"{\w+}", m.string)), m.id


@pytest.mark.parametrize("lang", ("en", *TRANSLATED))
def test_compiled_catalog_is_up_to_date_with_its_po(lang: str) -> None:
    folder = LOCALE_DIR / lang / "LC_MESSAGES"
    with (folder / "messages.mo").open("rb") as fh:
        compiled = {m.id: m.string for m in read_mo(fh) if m.id}
    source = {m.id: m.string for m in catalog(lang) if m.id and m.string and not m.fuzzy}
    assert compiled == source, "run `python -m reports.i18n --compile`"


def test_template_lists_every_label_marked_in_the_code() -> None:
    method_map, options_map = parse_mapping_cfg(i18n.BABEL_CFG.open())
    keywords = dict(DEFAULT_KEYWORDS)
    for kw in i18n.EXTRACT_KEYWORDS:
        keywords[kw] = None
    found = {
        msg[2] if isinstance(msg[2], str) else msg[2][0]
        for msg in extract_from_dir(str(i18n.ROOT_DIR), method_map, options_map,
                                    keywords=keywords)
    }
    assert found - msgids(template()) == set(), "run `python -m reports.i18n --update`"


def test_translator_translates_for_each_language() -> None:
    assert i18n.translator("fr").gettext("Deposits in transit") == "Dépôts en transit"
    assert i18n.translator("es").gettext("Bank reconciliation") == "Conciliación bancaria"
    assert i18n.translator("en").gettext("Bank reconciliation") == "Bank reconciliation"
    assert i18n.translator("fr_CA").gettext("Difference") == "Écart"


def test_a_missing_mo_is_compiled_from_the_po_in_memory(tmp_path: Path, monkeypatch) -> None:
    copy = tmp_path / "locale"
    shutil.copytree(LOCALE_DIR, copy)
    for mo in copy.rglob("*.mo"):
        mo.unlink()
    monkeypatch.setattr(i18n, "LOCALE_DIR", copy)
    i18n._translator_for.cache_clear()
    try:
        assert i18n.translator("es").gettext("Difference") == "Diferencia"
    finally:
        i18n._translator_for.cache_clear()


def test_languages_resolve_to_babel_locales() -> None:
    assert str(i18n.babel_locale("en")) == "en"
    assert str(i18n.babel_locale("fr")) == "fr_FR"
    assert str(i18n.babel_locale("es")) == "es_ES"
    assert str(i18n.babel_locale("fr-CA")) == "fr_CA"
    assert i18n.resolve("es_MX").language == "es"
    assert i18n.resolve("fr_CA").tag == "fr-CA"


@pytest.mark.parametrize("lang", ["de", "xx", "", "en_ZZZ"])
def test_unsupported_languages_are_refused(lang: str) -> None:
    with pytest.raises(I18nError):
        i18n.resolve(lang)


def test_money_is_formatted_with_each_currencys_digits_for_the_locale() -> None:
    assert i18n.format_money(Money.of("1234.5", "EUR"), "en") == "€1,234.50"
    assert i18n.format_money(Money.of("1234.5", "EUR"), "fr") == "1\u202f234,50\u00a0€"
    assert i18n.format_money(Money(5000, "XOF"), "fr") == "5\u202f000\u00a0F\u202fCFA"
    assert i18n.format_money(Money(1234567, "KWD"), "en").endswith("1,234.567")
    assert i18n.format_money(Money.of("-1234.5", "EUR"), "es") == "-1.234,50\u00a0€"


def test_numbers_dates_and_percentages_follow_the_locale() -> None:
    assert i18n.format_date(date(2024, 1, 5), "fr") == "5 janv. 2024"
    assert i18n.format_date(date(2024, 1, 5), "es") == "5 ene 2024"
    assert i18n.format_month(date(2024, 3, 1), "en") == "Mar 2024"
    assert i18n.format_percent(Decimal("0.125"), "en") == "12.5%"
    assert i18n.format_percent(Decimal("0.125"), "fr") == "12,5\u00a0%"
    assert i18n.format_percent(Decimal("0.5"), "es", 0) == "50\u00a0%"
    assert i18n.format_decimal(Decimal("655.957"), "fr") == "655,957"
    assert i18n.format_decimal(Decimal("1.5"), "en", 2) == "1.50"
    assert i18n.format_integer(100000, "fr") == "100\u202f000"
    stamp = datetime(2024, 2, 1, 9, 30, tzinfo=UTC)
    assert i18n.format_datetime(stamp, "en").endswith("UTC")
