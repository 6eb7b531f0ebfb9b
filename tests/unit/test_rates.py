"""Reference rates: reading the ECB and simple files, looking a rate up as of a date."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from ledger.errors import LedgerError
from ledger.money import Money
from ledger.rates import (
    FIXED_PARITIES,
    Rate,
    RateError,
    RateMissingError,
    RateStaleError,
    RateTable,
    parse_ecb_csv,
    parse_ecb_xml,
    parse_simple_csv,
    read_rates_file,
)
from tests.helpers import SAMPLE_DATA

ECB_HIST = Path(str(SAMPLE_DATA / "rates/ecb_eurofxref-hist.csv"))

DAILY_CSV = (
    "Date, USD, JPY, BGN, CZK, DKK, GBP, HUF, PLN, RON, SEK, CHF, ISK, NOK, TRY, AUD, "
    "BRL, CAD, CNY, HKD, IDR, ILS, INR, KRW, MXN, MYR, NZD, PHP, SGD, THB, ZAR, \n"
    "09 May 2025, 1.1252, 163.36, 1.9558, 24.946, 7.4604, 0.8477, 404.90, 4.2393, 5.1181, "
    "10.9200, 0.9353, 146.90, 11.6725, 43.5999, 1.7572, 6.3647, 1.5658, 8.1470, 8.7519, "
    "18606.59, 3.9928, 96.0755, 1575.72, 21.9473, 4.8350, 1.9095, 62.413, 1.4600, 37.132, "
    "20.4835, \n"
)

DAILY_XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01"
    xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
\t<gesmes:subject>Reference rates</gesmes:subject>
\t<gesmes:Sender>
\t\t<gesmes:name>European Central Bank</gesmes:name>
\t</gesmes:Sender>
\t<Cube>
\t\t<Cube time='2025-05-09'>
\t\t\t<Cube currency='USD' rate='1.1252'/>
\t\t\t<Cube currency='JPY' rate='163.36'/>
\t\t\t<Cube currency='CAD' rate='1.5658'/>
\t\t</Cube>
\t</Cube>
</gesmes:Envelope>
"""

HIST_XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01"
    xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
<gesmes:subject>Reference rates</gesmes:subject>
<gesmes:Sender><gesmes:name>European Central Bank</gesmes:name></gesmes:Sender>
<Cube>
<Cube time="2025-05-09"><Cube currency="USD" rate="1.1252"/><Cube currency="CAD" rate="1.5658"/></Cube>
<Cube time="2025-05-08"><Cube currency="USD" rate="1.1297"/><Cube currency="CAD" rate="1.5694"/></Cube>
</Cube>
</gesmes:Envelope>
"""


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def table(*rows: tuple[str, str, str]) -> RateTable:
    return RateTable.from_rows((date.fromisoformat(d), c, Decimal(v)) for d, c, v in rows)


# -- fixed parities -------------------------------------------------------------


def test_the_cfa_francs_comorian_franc_and_escudo_have_their_treaty_parities() -> None:
    assert FIXED_PARITIES == {
        "XOF": Decimal("655.957"),
        "XAF": Decimal("655.957"),
        "KMF": Decimal("491.96775"),
        "CVE": Decimal("110.265"),
    }


def test_an_empty_table_still_knows_the_euro_and_the_fixed_parities_on_any_date() -> None:
    rates = RateTable()
    assert rates.per_eur("EUR", date(1999, 1, 1)) == Decimal(1)
    assert rates.per_eur("XOF", date(2031, 7, 14)) == Decimal("655.957")
    assert rates.per_eur("xaf", date(2026, 3, 2)) == Decimal("655.957")
    assert rates.per_eur("KMF", date(2026, 3, 2)) == Decimal("491.96775")
    assert rates.per_eur("CVE", date(2026, 3, 2)) == Decimal("110.265")


def test_a_rate_stored_for_a_fixed_parity_currency_never_wins() -> None:
    rates = table(("2026-03-02", "XOF", "650"), ("2026-03-02", "EUR", "2"))
    assert rates.per_eur("XOF", date(2026, 3, 2)) == Decimal("655.957")
    assert rates.per_eur("EUR", date(2026, 3, 2)) == Decimal(1)
    assert len(rates) == 0


# -- look-up ---------------------------------------------------------------------


def test_a_rate_is_the_latest_on_or_before_the_date() -> None:
    rates = table(
        ("2026-02-27", "CAD", "1.4800"),
        ("2026-03-02", "CAD", "1.4850"),
        ("2026-03-04", "CAD", "1.4870"),
    )
    assert rates.per_eur("CAD", date(2026, 3, 2)) == Decimal("1.4850")
    assert rates.per_eur("CAD", date(2026, 3, 3)) == Decimal("1.4850")
    assert rates.per_eur("CAD", date(2026, 3, 1)) == Decimal("1.4800")  # a Sunday
    found = rates.lookup("CAD", date(2026, 3, 9))
    assert (found.date, found.per_eur) == (date(2026, 3, 4), Decimal("1.4870"))


def test_a_currency_with_no_rate_is_a_clear_error_naming_currency_and_date() -> None:
    rates = table(("2026-03-02", "CAD", "1.4850"))
    with pytest.raises(RateMissingError) as err:
        rates.per_eur("MAD", date(2026, 3, 2))
    assert str(err.value) == "no reference rate for MAD on or before 2026-03-02"
    assert isinstance(err.value, RateError) and isinstance(err.value, LedgerError)


def test_a_date_before_the_first_rate_is_missing_not_guessed() -> None:
    rates = table(("2026-03-02", "CAD", "1.4850"))
    with pytest.raises(RateMissingError, match="CAD on or before 2026-03-01"):
        rates.per_eur("CAD", date(2026, 3, 1))


def test_a_stale_rate_is_refused_with_its_age() -> None:
    rates = table(("2026-02-01", "CAD", "1.4700"))
    with pytest.raises(RateStaleError) as err:
        rates.per_eur("CAD", date(2026, 3, 2))
    assert str(err.value) == (
        "the latest reference rate for CAD before 2026-03-02 is from 2026-02-01 "
        "(29 days old, the maximum is 7)"
    )
    assert (err.value.currency, err.value.age_days, err.value.max_age_days) == ("CAD", 29, 7)


def test_the_maximum_age_is_configurable() -> None:
    rates = table(("2026-02-01", "CAD", "1.4700"))
    assert rates.per_eur("CAD", date(2026, 3, 2), max_age_days=29) == Decimal("1.4700")
    assert rates.per_eur("CAD", date(2026, 3, 2), max_age_days=None) == Decimal("1.4700")
    with pytest.raises(RateStaleError):
        rates.per_eur("CAD", date(2026, 3, 2), max_age_days=28)


def test_a_later_row_for_the_same_day_replaces_an_earlier_one() -> None:
    rates = table(("2026-03-02", "MAD", "10.80"), ("2026-03-02", "MAD", "10.85"))
    assert rates.per_eur("MAD", date(2026, 3, 2)) == Decimal("10.85")
    assert len(rates) == 1


def test_a_table_refuses_a_float_rate() -> None:
    with pytest.raises(TypeError):
        RateTable.from_rows([(date(2026, 3, 2), "CAD", 1.485)])  # type: ignore[list-item]
    with pytest.raises(ValueError):
        Rate(date(2026, 3, 2), "CAD", 1.485)  # type: ignore[arg-type]


def test_a_table_accepts_rates_stored_as_text() -> None:
    rates = RateTable.from_rows([(date(2026, 3, 2), "CAD", "1.4850")])  # type: ignore[list-item]
    assert rates.per_eur("CAD", date(2026, 3, 2)) == Decimal("1.4850")


def test_a_lookup_tells_where_the_rate_came_from() -> None:
    rates = RateTable([Rate(date(2026, 3, 2), "CAD", Decimal("1.4850"), "ECB")])
    assert rates.lookup("CAD", date(2026, 3, 3)).source == "ECB"
    assert rates.lookup("XOF", date(2026, 3, 3)).source == "fixed parity"


# -- conversion ------------------------------------------------------------------


def test_euros_become_cfa_francs_at_the_parity_rounded_half_even_to_the_franc() -> None:
    rates = RateTable()
    converted = rates.convert(Money.of("6680.00", "EUR"), "XOF", date(2026, 3, 5))
    assert converted == Money(4_381_793, "XOF")  # 4,381,792.76


def test_cfa_francs_at_parity_come_back_to_the_same_euros() -> None:
    rates = RateTable()
    assert rates.to_eur(Money(655_957, "XOF"), date(2026, 3, 5)) == Money.of("1000.00", "EUR")


def test_a_conversion_rounds_a_tie_to_the_even_minor_unit() -> None:
    rates = table(("2026-03-02", "JPY", "150"))
    on = date(2026, 3, 2)
    assert rates.convert(Money.of("0.01", "EUR"), "JPY", on) == Money(2, "JPY")  # 1.5
    assert rates.convert(Money.of("0.03", "EUR"), "JPY", on) == Money(4, "JPY")  # 4.5


def test_two_non_euro_currencies_convert_through_the_euro_without_intermediate_rounding() -> None:
    rates = table(("2026-03-02", "CAD", "1.4850"), ("2026-03-02", "USD", "1.0800"))
    # 10,000 × 1.0800 / 1.4850 = 7,272.7272... USD
    assert rates.convert(Money.of("10000", "CAD"), "USD", date(2026, 3, 2)) == Money.of(
        "7272.73", "USD"
    )


def test_converting_to_the_same_currency_changes_nothing_and_needs_no_rate() -> None:
    money = Money.of("12.34", "MAD")
    assert RateTable().convert(money, "MAD", date(2026, 3, 2)) == money


def test_a_conversion_with_a_stale_rate_is_refused() -> None:
    rates = table(("2026-02-01", "CAD", "1.4700"))
    with pytest.raises(RateStaleError):
        rates.to_eur(Money.of("100", "CAD"), date(2026, 3, 2))


# -- the ECB's files ---------------------------------------------------------------


def test_the_whole_ecb_history_reads_without_a_single_error() -> None:
    result = read_rates_file(ECB_HIST)
    assert result.format == "ecb-csv"
    assert result.diagnostics == ()
    assert result.ok
    rates = RateTable(result.rates)
    assert rates.per_eur("USD", date(2025, 5, 9)) == Decimal("1.1252")
    assert rates.per_eur("CAD", date(2025, 5, 11)) == Decimal("1.5658")  # the Friday's rate
    assert rates.per_eur("USD", date(1999, 1, 4)) == Decimal("1.1789")
    assert rates.per_eur("CYP", date(1999, 1, 5)) == Decimal("0.5823")  # a currency gone since
    assert rates.per_eur("IDR", date(2025, 5, 9)) == Decimal("18606.59")
    with pytest.raises(RateMissingError):  # N/A in 1999: the ECB did not quote it yet
        rates.per_eur("BGN", date(1999, 1, 4))
    assert all(r.source == "ECB" for r in result.rates[:100])


def test_the_ecb_daily_csv_with_spaces_and_a_written_date_reads(tmp_path: Path) -> None:
    result = read_rates_file(write(tmp_path, "eurofxref.csv", DAILY_CSV))
    assert result.format == "ecb-csv"
    assert result.diagnostics == ()
    assert len(result.rates) == 30
    by_code = {r.currency: r for r in result.rates}
    assert by_code["CAD"] == Rate(date(2025, 5, 9), "CAD", Decimal("1.5658"), "ECB")
    assert by_code["HUF"].per_eur == Decimal("404.90")


def test_the_ecb_daily_xml_reads(tmp_path: Path) -> None:
    result = read_rates_file(write(tmp_path, "eurofxref-daily.xml", DAILY_XML))
    assert result.format == "ecb-xml"
    assert result.diagnostics == ()
    assert sorted((r.currency, r.per_eur) for r in result.rates) == [
        ("CAD", Decimal("1.5658")),
        ("JPY", Decimal("163.36")),
        ("USD", Decimal("1.1252")),
    ]
    assert {r.date for r in result.rates} == {date(2025, 5, 9)}


def test_the_ecb_historical_xml_reads_each_day_apart() -> None:
    rates, diagnostics = parse_ecb_xml(HIST_XML, "eurofxref-hist.xml")
    assert diagnostics == []
    table_ = RateTable(rates)
    assert table_.per_eur("CAD", date(2025, 5, 8)) == Decimal("1.5694")
    assert table_.per_eur("CAD", date(2025, 5, 9)) == Decimal("1.5658")
    assert len(rates) == 4


def test_xml_declaring_entities_is_refused_before_any_expansion() -> None:
    bomb = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
<gesmes:Envelope xmlns:gesmes="x"><Cube><Cube time="2025-05-09">
<Cube currency="USD" rate="&lol2;"/></Cube></Cube></gesmes:Envelope>"""
    rates, diagnostics = parse_ecb_xml(bomb, "bomb.xml")
    assert rates == []
    assert len(diagnostics) == 1
    assert str(diagnostics[0]) == (
        "bomb.xml: XML with a DTD, entities or external references is refused"
    )


def test_broken_xml_is_reported_at_its_line() -> None:
    broken = DAILY_XML.replace(b"<Cube currency='JPY' rate='163.36'/>", b"<Cube currency='JPY'")
    _, diagnostics = parse_ecb_xml(broken, "daily.xml")
    assert diagnostics and diagnostics[0].is_error
    assert str(diagnostics[0]).startswith("daily.xml:12: not well-formed XML")  # expat sees it here


def test_xml_that_is_not_an_ecb_file_is_refused() -> None:
    rates, diagnostics = parse_ecb_xml(b"<Document><Stmt/></Document>", "camt.xml")
    assert rates == []
    assert [str(d) for d in diagnostics] == [
        "camt.xml:1: expected the ECB gesmes:Envelope, found <Document>"
    ]


def test_a_bad_rate_in_the_ecb_xml_names_its_line() -> None:
    bad = DAILY_XML.replace(b"rate='163.36'", b"rate='-1'")
    _, diagnostics = parse_ecb_xml(bad, "daily.xml")
    assert [str(d) for d in diagnostics] == ["daily.xml:11: JPY: not a positive rate: '-1'"]


def test_a_bad_cell_in_the_ecb_csv_names_its_line_and_currency() -> None:
    text = "Date,USD,CAD,\n2025-05-09,1.1252,1.56x8,\n2025-05-08,1.1297,1.5694,\n"
    rates, diagnostics = parse_ecb_csv(text, "hist.csv")
    assert [str(d) for d in diagnostics] == ["hist.csv:2: CAD: not a positive rate: '1.56x8'"]
    assert len(rates) == 3


def test_the_same_day_twice_in_the_ecb_csv_with_different_rates_is_an_error() -> None:
    text = "Date,USD,\n2025-05-09,1.1252,\n2025-05-09,1.1300,\n"
    _, diagnostics = parse_ecb_csv(text, "hist.csv")
    assert [str(d) for d in diagnostics] == [
        "hist.csv:3: two different rates for USD on 2025-05-09: 1.1252 (line 2) and 1.1300"
    ]


def test_the_same_day_twice_with_the_same_rates_is_harmless() -> None:
    text = "Date,USD,\n2025-05-09,1.1252,\n2025-05-09,1.1252,\n"
    rates, diagnostics = parse_ecb_csv(text, "hist.csv")
    assert (len(rates), diagnostics) == (1, [])


def test_a_bad_date_in_the_ecb_csv_is_reported() -> None:
    _, diagnostics = parse_ecb_csv("Date,USD,\n2025-02-30,1.1,\n", "hist.csv")
    assert [str(d) for d in diagnostics] == [
        "hist.csv:2: not a date: '2025-02-30' (expected 2025-05-09 or 09 May 2025)"
    ]


# -- the simple CSV ---------------------------------------------------------------


def test_a_simple_csv_gives_rates_for_currencies_the_ecb_does_not_publish(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        "rates-mad-cdf.csv",
        "date,currency,rate_per_eur\n2026-03-02,MAD,10.8123\n2026-03-02,cdf,3105.5\n",
    )
    result = read_rates_file(path)
    assert result.format == "simple-csv"
    assert result.diagnostics == ()
    assert result.rates == (
        Rate(date(2026, 3, 2), "MAD", Decimal("10.8123"), "file rates-mad-cdf.csv"),
        Rate(date(2026, 3, 2), "CDF", Decimal("3105.5"), "file rates-mad-cdf.csv"),
    )


def test_a_simple_csv_may_order_its_columns_freely_and_carry_others() -> None:
    text = "currency,note,rate_per_eur,date\nMAD,central bank,10.81,2026-03-02\n"
    rates, diagnostics = parse_simple_csv(text, "r.csv", source="BAM")
    assert diagnostics == []
    assert rates == [Rate(date(2026, 3, 2), "MAD", Decimal("10.81"), "BAM")]


def test_every_bad_line_of_a_simple_csv_is_reported_with_file_and_line() -> None:
    text = (
        "date,currency,rate_per_eur\n"
        "2026-03-02,MAD,10.81\n"
        "2026-03-02,ZZZ,1\n"
        "2026-03-02,CDF,0\n"
        "02/03/2026,CDF,3100\n"
        "2026-03-03,MAD\n"
        "2026-03-03,MAD,1.2e400x\n"
    )
    rates, diagnostics = parse_simple_csv(text, "rates.csv")
    assert [str(d) for d in diagnostics] == [
        "rates.csv:3: unknown currency code 'ZZZ'",
        "rates.csv:4: not a positive rate: '0'",
        "rates.csv:5: not a date: '02/03/2026' (expected YYYY-MM-DD)",
        "rates.csv:6: 2 columns, expected at least 3",
        "rates.csv:7: not a positive rate: '1.2e400x'",
    ]
    assert len(rates) == 1


def test_a_simple_csv_without_its_header_is_refused() -> None:
    rates, diagnostics = parse_simple_csv("2026-03-02,MAD,10.81\n", "rates.csv")
    assert rates == []
    assert [str(d) for d in diagnostics] == [
        (
            "rates.csv:1: expected the header date,currency,rate_per_eur "
            "(missing: date, currency, rate_per_eur)"
        )
    ]


def test_rates_given_for_a_fixed_parity_are_ignored_with_one_warning() -> None:
    text = "date,currency,rate_per_eur\n2026-03-02,XOF,650\n2026-03-03,XOF,651\n"
    rates, diagnostics = parse_simple_csv(text, "rates.csv")
    assert rates == []
    assert [str(d) for d in diagnostics] == [
        (
            "rates.csv:2: warning: rates for XOF are ignored: "
            "its fixed parity of 655.957 per EUR always applies"
        )
    ]
    assert not diagnostics[0].is_error


def test_a_warning_alone_does_not_refuse_a_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "r.csv",
        "date,currency,rate_per_eur\n2026-03-02,XAF,650\n2026-03-02,MAD,10.81\n",
    )
    result = read_rates_file(path)
    assert result.ok
    assert len(result.warnings) == 1 and result.errors == ()
    assert [r.currency for r in result.rates] == ["MAD"]


# -- files refused as a whole ---------------------------------------------------


def test_a_file_that_is_no_rate_file_is_refused_in_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, "statement.csv", "Booking date;Amount\n2026-03-02;12,00\n")
    result = read_rates_file(path)
    assert (result.format, result.rates, result.ok) == ("unknown", (), False)
    assert str(result.errors[0]) == (
        f"{path}: not a reference-rate file: expected an ECB eurofxref CSV or XML file, "
        "or a CSV with the header date,currency,rate_per_eur"
    )


def test_a_file_above_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    path = write(tmp_path, "big.csv", DAILY_CSV)
    result = read_rates_file(path, max_bytes=100)
    assert result.rates == ()
    assert "above the limit of 100 bytes" in str(result.errors[0])


def test_a_missing_file_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    result = read_rates_file(tmp_path / "nope.csv")
    assert not result.ok
    assert str(result.errors[0]).startswith(f"{tmp_path / 'nope.csv'}: cannot read")


def test_a_file_that_is_not_utf8_is_refused_at_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", b"date,currency,rate_per_eur\n2026-03-02,MAD,10\xe9\n")
    result = read_rates_file(path)
    assert [str(d) for d in result.errors] == [f"{path}:2: not UTF-8 text"]


def test_a_byte_order_mark_does_not_hide_the_header(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", "\ufeffdate,currency,rate_per_eur\n2026-03-02,MAD,10.81\n")
    result = read_rates_file(path)
    assert result.ok and result.format == "simple-csv" and len(result.rates) == 1


def test_the_same_currency_twice_on_one_day_of_the_ecb_xml_with_different_rates_is_an_error() -> (
    None
):
    xml = b"""<gesmes:Envelope xmlns:gesmes="g"><Cube>
<Cube time="2025-05-09"><Cube currency="USD" rate="1.1"/>
<Cube currency="USD" rate="1.2"/></Cube>
<Cube time="2025-05-09"><Cube currency="USD" rate="1.1"/><Cube currency="CAD" rate="1.5"/></Cube>
</Cube></gesmes:Envelope>"""
    rates, diagnostics = parse_ecb_xml(xml, "d.xml")
    assert [str(d) for d in diagnostics] == [
        "d.xml:3: two different rates for USD on 2025-05-09: 1.1 (line 2) and 1.2"
    ]
    assert sorted(r.currency for r in rates) == ["CAD", "USD"]


def test_a_rate_outside_a_day_of_the_ecb_xml_is_an_error() -> None:
    xml = b'<gesmes:Envelope xmlns:gesmes="g"><Cube><Cube currency="USD" rate="1.1"/></Cube>\n</gesmes:Envelope>'
    rates, diagnostics = parse_ecb_xml(xml, "d.xml")
    assert rates == []
    assert [str(d) for d in diagnostics] == ["d.xml:1: a rate outside a <Cube time=...> element"]


def test_a_currency_twice_in_the_ecb_csv_header_is_an_error() -> None:
    _, diagnostics = parse_ecb_csv("Date,USD,USD,\n2025-05-09,1.1,1.2,\n", "h.csv")
    assert [str(d) for d in diagnostics] == ["h.csv:1: column 3: USD appears twice in the header"]
