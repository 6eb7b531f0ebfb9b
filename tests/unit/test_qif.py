"""The QIF reader on the shared sample and on small hand-written files."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imports import qif
from imports.detect import detect, read_file
from imports.model import ImportFileError, ReadResult, Severity
from ledger.money import Money
from tests.helpers import SAMPLE_DATA

SAMPLE = SAMPLE_DATA / "csv" / "oca_test_qif.qif"
needs_sample = pytest.mark.skipif(not SAMPLE.is_file(), reason="sample data not available")


def read(tmp_path: Path, text: str, currency: str | None = "EUR", **kwargs: object) -> ReadResult:
    path = tmp_path / "st.qif"
    path.write_text(text, encoding="utf-8")
    return qif.read(path, currency_hint=currency, **kwargs)  # type: ignore[arg-type]


def lines_of(result: ReadResult) -> list[qif.StatementLine]:
    return [ln for s in result.statements for ln in s.lines]


def messages(result: ReadResult, severity: Severity) -> list[str]:
    return [d.message for d in result.diagnostics if d.severity is severity]


@needs_sample
def test_the_shared_sample_reads_five_lines_with_dates_amounts_and_payees() -> None:
    result = qif.read(SAMPLE, currency_hint="USD")
    assert result.diagnostics == []
    (statement,) = result.statements
    assert statement.format == "qif" and statement.currency == "USD"
    assert statement.opening is None and statement.closing is None
    assert (statement.period_start, statement.period_end) == (date(2013, 3, 3), date(2013, 8, 15))
    lines = list(statement.lines)
    assert [ln.amount.to_decimal_string() for ln in lines] == [
        "-1000.00", "-75.46", "-379.00", "-20.28", "-421.35"
    ]
    assert [ln.booking_date for ln in lines] == [
        date(2013, 8, 12), date(2013, 8, 15), date(2013, 3, 3), date(2013, 3, 4), date(2013, 3, 3)
    ]
    assert [ln.counterparty_name for ln in lines] == [
        "Delta PC", "Walts Drugs", "Epic Technologies", "YOUR LOCAL SUPERMARKET",
        "SPRINGFIELD WATER UTILITY",
    ]
    first = lines[0]
    assert first.origin.file == str(SAMPLE)
    assert (first.origin.line, first.origin.location) == (2, "record 1")
    assert first.origin.raw == "D8/12/13\nT-1,000.00\nPDelta PC"
    assert first.bank_transaction_id == "" and first.value_date is None


@needs_sample
def test_the_sample_is_detected_and_read_file_passes_the_currency_hint() -> None:
    assert detect(SAMPLE).kind == "qif"
    assert read_file(SAMPLE, currency_hint="usd").statements[0].currency == "USD"
    without = read_file(SAMPLE)
    assert [str(d) for d in without.errors] == [f"{SAMPLE}: {qif.NO_CURRENCY_MESSAGE}"]


def test_memo_number_and_category_fields_land_where_the_docstring_says(tmp_path: Path) -> None:
    text = (
        "!Type:Bank\nD2025-01-02\nT1,234.50\nU1,234.50\nCX\nN1042\nPCSQ Montreal\n"
        "MCotisation\nMjanvier\nLIncome:Dues\nA12 rue X\nA75000 Paris\n^\n"
    )
    result = read(tmp_path, text)
    assert result.diagnostics == []
    (line,) = lines_of(result)
    assert line.amount == Money.of("1234.50", "EUR")
    assert line.reference == "1042" and line.counterparty_name == "CSQ Montreal"
    assert line.remittance == "Cotisation janvier"
    assert line.bank_code == ""  # the category is the user's, not the bank's


def test_dates_with_a_first_number_above_twelve_make_the_whole_file_day_first(
    tmp_path: Path,
) -> None:
    text = "!Type:Bank\nD03/04/2025\nT1.00\n^\nD25/04/2025\nT2.00\n^\n"
    result = read(tmp_path, text)
    assert result.diagnostics == []
    assert [ln.booking_date for ln in lines_of(result)] == [date(2025, 4, 3), date(2025, 4, 25)]


def test_dates_that_cannot_tell_their_order_are_month_first_with_one_warning(
    tmp_path: Path,
) -> None:
    text = "!Type:Bank\nD03/04/2025\nT1.00\n^\nD05/06/2025\nT2.00\n^\n"
    result = read(tmp_path, text)
    assert [ln.booking_date for ln in lines_of(result)] == [date(2025, 3, 4), date(2025, 5, 6)]
    (warning,) = result.diagnostics
    assert warning.severity is Severity.WARNING and warning.line == 2
    assert "read as month/day" in warning.message


def test_dates_written_both_ways_in_one_file_are_an_error(tmp_path: Path) -> None:
    text = "!Type:Bank\nD25/04/2025\nT1.00\n^\nD04/25/2025\nT2.00\n^\n"
    result = read(tmp_path, text)
    assert [d.line for d in result.errors][:1] == [5]
    assert "cannot tell the order" in result.errors[0].message


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("8/12'13", date(2013, 8, 12)),
        (" 8/ 2'13", date(2013, 8, 2)),
        ("12/31'99", date(2099, 12, 31)),  # the apostrophe means 20YY
        ("12/31/99", date(1999, 12, 31)),
        ("1/2/69", date(2069, 1, 2)),
        ("1/2/70", date(1970, 1, 2)),
        ("2013-08-12", date(2013, 8, 12)),
    ],
)
def test_quicken_apostrophe_years_and_two_digit_years_follow_the_documented_pivot(
    tmp_path: Path, written: str, expected: date
) -> None:
    (line,) = lines_of(read(tmp_path, f"!Type:Bank\nD{written}\nT-5.00\n^\n"))
    assert line.booking_date == expected


def test_an_impossible_date_is_an_error_on_its_line(tmp_path: Path) -> None:
    result = read(tmp_path, "!Type:Bank\nD2/30/2025\nT1.00\n^\n")
    assert [(d.line, d.location) for d in result.errors] == [(2, "record 1")]
    assert "is not a date" in result.errors[0].message


@pytest.mark.parametrize(
    ("amounts", "expected"),
    [
        (["1.000,00", "75,46"], ["1000.00", "75.46"]),
        (["1 234,5"], ["1234.50"]),
        (["1.000", "2,50"], ["1000.00", "2.50"]),  # a file with decimal commas groups by dots
        (["1.000"], ["1.00"]),  # ... a file without reads a lone dot as the decimal mark
        (["-1,000.00", "+3"], ["-1000.00", "3.00"]),
        (["1,234,567.8"], ["1234567.80"]),
    ],
)
def test_amounts_with_decimal_commas_and_thousands_separators_read_exactly(
    tmp_path: Path, amounts: list[str], expected: list[str]
) -> None:
    body = "".join(f"D2025-01-0{k}\nT{a}\n^\n" for k, a in enumerate(amounts, start=1))
    result = read(tmp_path, "!Type:Bank\n" + body)
    assert result.ok, [str(d) for d in result.errors]
    assert [ln.amount.to_decimal_string() for ln in lines_of(result)] == expected


@pytest.mark.parametrize("amount", ["12.345", "1,2,3", "12a", "--5", ""])
def test_an_amount_with_excess_precision_or_garbage_is_refused_on_its_line(
    tmp_path: Path, amount: str
) -> None:
    result = read(tmp_path, f"!Type:Bank\nD2025-01-01\nT{amount}\n^\n")
    assert [d.line for d in result.errors] == [3] and not lines_of(result)


def test_a_currency_without_decimals_refuses_cents(tmp_path: Path) -> None:
    result = read(tmp_path, "!Type:Bank\nD2025-01-01\nT5000.50\n^\n", currency="XOF")
    assert "more decimals than XOF allows (0)" in result.errors[0].message


def test_without_a_currency_the_file_is_refused_with_one_clear_error(tmp_path: Path) -> None:
    result = read(tmp_path, "!Type:Bank\nD2025-01-01\nT5.00\n^\n", currency=None)
    assert [str(d) for d in result.errors] == [
        f"{tmp_path / 'st.qif'}: QIF files carry no currency; pass --currency CODE"
    ]
    assert result.statements == []


def test_an_unknown_currency_code_is_an_error(tmp_path: Path) -> None:
    result = read(tmp_path, "!Type:Bank\nD2025-01-01\nT5.00\n^\n", currency="ZZZ")
    assert "'ZZZ' is not an ISO 4217 code" in result.errors[0].message


def test_a_record_without_an_amount_is_an_error_naming_its_first_line(tmp_path: Path) -> None:
    text = "!Type:Bank\nD2025-01-01\nT5.00\n^\nPNobody\nD2025-01-02\nMno amount\n^\n"
    result = read(tmp_path, text)
    (error,) = result.errors
    assert (error.line, error.location) == (5, "record 2")
    assert "record 2 has no amount (T)" in error.message


def test_a_record_without_date_and_amount_says_both(tmp_path: Path) -> None:
    result = read(tmp_path, "!Type:Bank\nPSomeone\n^\n")
    assert result.errors[0].message == "record 1 has no date (D) and no amount (T); it cannot be read"


def test_a_u_amount_stands_in_for_a_missing_t_and_t_wins_when_they_differ(
    tmp_path: Path,
) -> None:
    text = "!Type:Bank\nD2025-01-01\nU-7.00\n^\nD2025-01-02\nT-8.00\nU-9.00\n^\n"
    result = read(tmp_path, text)
    assert [ln.amount.to_decimal_string() for ln in lines_of(result)] == ["-7.00", "-8.00"]
    assert [(d.line, d.severity) for d in result.diagnostics] == [(7, Severity.WARNING)]


def test_split_lines_are_ignored_and_the_record_total_stands(tmp_path: Path) -> None:
    text = (
        "!Type:CCard\nD2025-01-10\nT-150.00\nPAmazon\nL[CreditCard]\n"
        "SFood\nEdinner\n$-80.00\nSBooks\n$-70.00\n%50\n^\n"
    )
    result = read(tmp_path, text)
    assert result.diagnostics == []
    (line,) = lines_of(result)
    assert line.amount == Money.of("-150.00", "EUR")
    assert line.origin.raw.count("\n") == 9  # ten lines, the ^ not included


def test_an_unknown_field_letter_is_a_warning_on_its_line(tmp_path: Path) -> None:
    result = read(tmp_path, "!Type:Bank\nD2025-01-01\nZmystery\nT5.00\n^\n")
    assert result.ok and len(lines_of(result)) == 1
    (warning,) = result.diagnostics
    assert (warning.line, warning.severity, warning.location) == (3, Severity.WARNING, "record 1")
    assert "unknown field 'Z'" in warning.message


def test_two_dates_in_one_record_point_at_a_missing_caret(tmp_path: Path) -> None:
    result = read(tmp_path, "!Type:Bank\nD2025-01-01\nT5.00\nD2025-01-02\nT6.00\n^\n")
    assert [d.line for d in result.errors] == [4, 5]
    assert "is a ^ missing before this line?" in result.errors[0].message


def test_text_after_the_last_caret_is_read_as_a_final_record_with_a_warning(
    tmp_path: Path,
) -> None:
    result = read(tmp_path, "!Type:Bank\nD2025-01-01\nT5.00\n^\nD2025-01-02\nT6.00")
    assert len(lines_of(result)) == 2
    (warning,) = result.diagnostics
    assert warning.line == 5 and "has no closing ^" in warning.message


def test_a_windows_1252_file_is_read_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "cp.qif"
    path.write_bytes("!Type:Bank\nD2025-01-01\nT5.00\nPSociété Générale\n^\n".encode("cp1252"))
    result = qif.read(path, currency_hint="EUR")
    assert lines_of(result)[0].counterparty_name == "Société Générale"
    assert "read as Windows-1252" in result.diagnostics[0].message


def test_a_utf8_bom_and_crlf_line_ends_are_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "bom.qif"
    path.write_bytes(b"\xef\xbb\xbf!Type:Bank\r\nD2025-01-01\r\nT5.00\r\nP\xc3\xa9t\xc3\xa9\r\n^\r\n")
    assert qif.sniff(path.read_bytes())
    result = qif.read(path, currency_hint="EUR")
    assert result.diagnostics == [] and lines_of(result)[0].counterparty_name == "été"


def test_an_account_block_names_the_account_of_the_sections_after_it(tmp_path: Path) -> None:
    text = (
        "!Option:AutoSwitch\n!Account\nNChecking\nTBank\n^\nNVisa\nTCCard\n^\n"
        "!Clear:AutoSwitch\n"
        "!Account\nNChecking\nTBank\nDMain account\n^\n!Type:Bank\nD2025-01-01\nT5.00\n^\n"
        "!Account\nNVisa\nTCCard\n^\n!Type:CCard\nD2025-01-02\nT-6.00\n^\n"
    )
    result = read(tmp_path, text)
    assert result.ok
    assert [(s.account, len(s.lines)) for s in result.statements] == [("Checking", 1), ("Visa", 1)]
    assert lines_of(result)[1].account == "Visa"
    assert [d.severity for d in result.diagnostics] == [Severity.WARNING]  # two accounts


def test_investment_records_are_skipped_with_a_warning(tmp_path: Path) -> None:
    text = (
        "!Type:Invst\nD2025-01-01\nNBuy\nYACME\nI10.00\nQ5\nT50.00\n^\n"
        "!Type:Bank\nD2025-01-01\nT5.00\n^\n"
    )
    result = read(tmp_path, text)
    assert result.ok and len(lines_of(result)) == 1
    (warning,) = result.diagnostics
    assert warning.line == 1 and "investment records are not read" in warning.message


def test_category_lists_are_skipped_silently(tmp_path: Path) -> None:
    text = "!Type:Cat\nNFood\nDGroceries\nE\n^\n!Type:Bank\nD2025-01-01\nT5.00\n^\n"
    result = read(tmp_path, text)
    assert result.diagnostics == [] and len(lines_of(result)) == 1


def test_quickens_opening_balance_record_is_read_but_pointed_out(tmp_path: Path) -> None:
    text = "!Type:Bank\nD2025-01-01\nT100.00\nCX\nPOpening Balance\nL[Checking]\n^\n"
    result = read(tmp_path, text)
    assert len(lines_of(result)) == 1
    assert "looks like Quicken's opening balance" in result.diagnostics[0].message


def test_a_file_without_a_header_is_not_qif(tmp_path: Path) -> None:
    result = read(tmp_path, "D2025-01-01\nT5.00\n^\n")
    assert [(d.line, d.message) for d in result.errors] == [
        (1, "not a QIF file: no !Type: or !Account header before the first record")
    ]
    assert not qif.sniff(b"D2025-01-01\nT5.00\n^\n") and not qif.sniff(b"Date,Amount\n")


def test_a_forced_unknown_encoding_refuses_the_file(tmp_path: Path) -> None:
    path = tmp_path / "x.qif"
    path.write_bytes(b"!Type:Bank\n")
    with pytest.raises(ImportFileError, match="cannot decode"):
        qif.read(path, currency_hint="EUR", encoding="no-such-codec")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    parts=st.lists(
        st.sampled_from(
            ["!Type:Bank", "!Type:Invst", "!Account", "!Type:Cat", "!Option:AutoSwitch",
             "D", "T", "U", "P", "M", "N", "L", "S", "$", "^", "Z", "8/12'13", "31/12/2025",
             "2025-02-30", "-1,000.00", "1.000,5", "12.345", "x", " ", "\n", "\r\n", "\x00"]
        ),
        max_size=80,
    ),
    currency=st.sampled_from(["EUR", "XOF", None, "ZZZ"]),
)
def test_qif_made_of_real_tokens_never_crashes(parts: list[str], currency: str | None) -> None:
    result = qif.read_bytes("".join(parts).encode(), "fuzz.qif", currency_hint=currency)
    for d in result.diagnostics:
        assert str(d).startswith("fuzz.qif")
    for s in result.statements:
        assert s.currency and all(ln.origin.line and ln.origin.raw for ln in s.lines)
