"""CSV and XLSX reading driven by profiles: values, line numbers, diagnostics."""

from __future__ import annotations

import tomllib
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from imports.model import ImportFileError, Severity
from imports.profile import Profile, load_profile, parse_profile
from imports.tabular import check_xlsx_archive, float_to_decimal, read_csv, read_tabular
from ledger.money import Money
from tests.helpers import SAMPLE_DATA

FR = load_profile("generic-semicolon-fr")
EN = load_profile("generic-en")
FR_HEADER = (
    "Date;Date valeur;Libellé;Référence;Contrepartie;IBAN contrepartie;Débit;Crédit;Devise\n"
)
EN_HEADER = (
    "Date,Value date,Description,Reference,Counterparty,Counterparty account,Amount,Currency,"
    "Transaction id\n"
)


def _write(tmp_path: Path, text: str, name: str = "s.csv", encoding: str = "utf-8") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def _profile(extra: str = "", columns: str = 'date = "Date"\namount = "Amount"\n') -> Profile:
    text = f'name = "t"\ncurrency = "EUR"\n{extra}\n[columns]\n{columns}'
    return parse_profile(tomllib.loads(text), "t.toml")


def test_a_french_bank_csv_reads_debits_credits_and_spaced_thousands(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "\ufeff"
        + FR_HEADER
        + "02/01/2025;03/01/2025;Cotisation SNES;REF-1;SNES-FSU;FR7630004000031234567890143;;1 234,56;EUR\n"
        + "05/01/2025;05/01/2025;Virement MUTEB;REF-2;MUTEB;BF1230000000000000000000;1\u202f000,00;;EUR\n",
    )
    result = read_csv(path, FR)
    assert result.ok
    [st] = result.statements
    a, b = st.lines
    assert a.amount == Money(123456, "EUR") and b.amount == Money(-100000, "EUR")
    assert (a.booking_date, a.value_date) == (date(2025, 1, 2), date(2025, 1, 3))
    assert (a.counterparty_name, a.reference, a.remittance) == (
        "SNES-FSU",
        "REF-1",
        "Cotisation SNES",
    )
    assert a.counterparty_account == "FR7630004000031234567890143"
    assert a.bank_transaction_id == ""  # no bank id in this layout: the importer fingerprints
    assert (a.origin.line, b.origin.line) == (2, 3)
    assert b.origin.raw.startswith("05/01/2025;05/01/2025;Virement MUTEB")


def test_every_bad_amount_and_date_is_reported_not_just_the_first(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        FR_HEADER
        + "02/01/2025;;A;;;;12,3x;;EUR\n"
        + "31/02/2025;;B;;;;;5,00;EUR\n"
        + "03/01/2025;;C;;;;1,00;;EUR\n",
    )
    result = read_csv(path, FR)
    assert not result.ok
    messages = [str(d) for d in result.errors]
    assert messages == [
        f"{path}:2: column 'Débit': cannot read '12,3x' as an amount (locale fr_FR)",
        f"{path}:3: column 'Date': cannot read '31/02/2025' as a date (expected %d/%m/%Y)",
    ]


def test_one_row_with_several_bad_cells_reports_each(tmp_path: Path) -> None:
    path = _write(tmp_path, EN_HEADER + "yesterday,,x,,,,ten,EUR,T1\n")
    messages = [d.message for d in read_csv(path, EN).errors]
    assert len(messages) == 2 and "'Date'" in messages[0] and "'Amount'" in messages[1]


def test_line_numbers_count_preamble_header_and_multi_line_fields(tmp_path: Path) -> None:
    profile = _profile(
        'header_match = ["Date", "Amount"]\n',
        'date = "Date"\namount = "Amount"\nremittance = "Text"\n',
    )
    path = _write(
        tmp_path,
        "Bank of Somewhere\nexported today\n\nDate,Text,Amount\n"
        '2025-01-01,"two\nlines",1.00\n\n2025-01-02,plain,2.00\n',
    )
    result = read_csv(path, profile)
    assert result.ok
    first, second = result.statements[0].lines
    assert (first.origin.line, second.origin.line) == (5, 8)
    assert first.remittance == "two\nlines"
    assert first.origin.raw == '2025-01-01,"two\nlines",1.00'


def test_amount_spellings_of_each_locale(tmp_path: Path) -> None:
    cases = {
        "en": ["1,234.56", "(12.00)", "12.00-", "-0.50", "+3"],
        "de_DE": ["1.234,56", "(12,00)", "12,00-", "-0,50", "+3"],
        "es_ES": ["1.234,56", "(12,00)", "12,00-", "-0,50", "+3"],
    }
    expected = [123456, -1200, -1200, -50, 300]
    for locale, texts in cases.items():
        profile = _profile(f'locale = "{locale}"\ndelimiter = ";"\n')
        body = "Date;Amount\n" + "".join(f"2025-01-01;{t}\n" for t in texts)
        result = read_csv(_write(tmp_path, body, f"{locale}.csv"), profile)
        assert result.ok, [str(d) for d in result.diagnostics]
        assert [ln.amount.minor for ln in result.statements[0].lines] == expected, locale


def test_more_decimals_than_the_currency_has_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "Date,Amount\n2025-01-01,1.234\n")
    [err] = read_csv(path, _profile()).errors
    assert err.line == 2 and "more than 2 decimal(s), the precision of EUR" in err.message


def test_zero_decimal_currencies_are_exact(tmp_path: Path) -> None:
    path = _write(tmp_path, "Date,Amount\n2025-01-01,655957\n")
    result = read_csv(path, _profile(), currency_hint="XOF")
    assert result.statements[0].lines[0].amount == Money(655957, "XOF")


def test_the_currency_hint_fills_in_a_missing_currency(tmp_path: Path) -> None:
    profile = parse_profile(
        tomllib.loads('name = "t"\n[columns]\ndate = "Date"\namount = "Amount"\n'), "t.toml"
    )
    path = _write(tmp_path, "Date,Amount\n2025-01-01,10\n")
    [err] = read_csv(path, profile).errors
    assert "no currency" in err.message and "--currency" in err.message
    assert read_csv(path, profile, currency_hint="cad").statements[0].currency == "CAD"


def test_empty_rows_are_skipped_and_rows_without_date_or_amount_warned(tmp_path: Path) -> None:
    path = _write(tmp_path, "Date,Amount\n\n2025-01-01,1\n,,\n,\n2025-01-02,2\n")
    result = read_csv(path, _profile())
    assert result.ok and result.line_count == 2


def test_a_row_with_text_but_no_date_and_no_amount_is_a_warning(tmp_path: Path) -> None:
    profile = _profile(columns='date = "Date"\namount = "Amount"\nremittance = "Text"\n')
    path = _write(tmp_path, "Date,Text,Amount\n2025-01-01,a,1\n,continued,\n")
    result = read_csv(path, profile)
    assert result.ok and result.line_count == 1
    [warning] = result.diagnostics
    assert warning.severity is Severity.WARNING and warning.line == 3


def test_a_missing_amount_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "Date,Amount\n2025-01-01,\n")
    [err] = read_csv(path, _profile()).errors
    assert err.message == "column 'Amount': the amount is empty"


def test_a_missing_column_is_reported_on_the_header_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "Date,Montant\n2025-01-01,1\n")
    [err] = read_csv(path, _profile()).errors
    assert err.line == 1 and "'Amount' (columns.amount) is not in the header row" in err.message


def test_a_dc_indicator_gives_the_direction(tmp_path: Path) -> None:
    profile = _profile(
        'debit_values = ["DR"]\ncredit_values = ["CR"]\n',
        'date = "Date"\namount = "Amount"\ndc_indicator = "DC"\n',
    )
    path = _write(tmp_path, "Date,Amount,DC\n2025-01-01,5,DR\n2025-01-01,-6,cr\n2025-01-01,7,X\n")
    result = read_csv(path, profile)
    assert [ln.amount.minor for ln in result.statements[0].lines] == [-500, 600]
    [err] = result.errors
    assert err.line == 4 and "'X' is neither a debit (DR) nor a credit (CR)" in err.message


def test_the_inverse_sign_turns_a_credit_card_export_around(tmp_path: Path) -> None:
    profile = _profile(
        'sign = "inverse"\n', 'date = "Date"\namount = "Amount"\nbalance = "Balance"\n'
    )
    path = _write(tmp_path, "Date,Amount,Balance\n2025-01-01,30,30\n2025-01-02,-10,20\n")
    st = read_csv(path, profile).statements[0]
    assert [ln.amount.minor for ln in st.lines] == [-3000, 1000]
    assert st.opening is not None and st.closing is not None
    assert (st.opening.amount.minor, st.closing.amount.minor) == (0, -2000)


def test_a_running_balance_gives_opening_and_closing_in_either_order(tmp_path: Path) -> None:
    profile = _profile(columns='date = "Date"\namount = "Amount"\nbalance = "Balance"\n')
    oldest_first = "Date,Amount,Balance\n2025-01-01,10,110\n2025-01-02,-5,105\n"
    newest_first = "Date,Amount,Balance\n2025-01-02,-5,105\n2025-01-01,10,110\n"
    for name, text in (("old.csv", oldest_first), ("new.csv", newest_first)):
        st = read_csv(_write(tmp_path, text, name), profile).statements[0]
        assert st.opening is not None and st.closing is not None
        assert (st.opening.amount.minor, st.closing.amount.minor) == (10000, 10500), name
        assert (st.opening.date, st.closing.date) == (date(2025, 1, 1), date(2025, 1, 2))


def test_a_broken_running_balance_is_a_warning_and_gives_no_balances(tmp_path: Path) -> None:
    profile = _profile(columns='date = "Date"\namount = "Amount"\nbalance = "Balance"\n')
    path = _write(
        tmp_path, "Date,Amount,Balance\n2025-01-01,10,110\n2025-01-02,-5,100\n2025-01-03,1,101\n"
    )
    result = read_csv(path, profile)
    assert result.ok
    [warning] = result.diagnostics
    assert warning.line == 3 and "expected 105.00" in warning.message
    assert result.statements[0].opening is None


def test_stated_balances_that_do_not_add_up_are_a_warning() -> None:
    result = read_tabular(
        str(SAMPLE_DATA / "csv/oca_meta_data_separated_credit_debit.csv"),
        load_profile("oca-meta-data-fr"),
    )
    st = result.statements[0]
    assert st.account == "08088804068" and st.currency == "EUR"
    assert st.opening is not None and st.opening.amount == Money(3000077, "EUR")
    assert [d.severity for d in result.diagnostics] == [Severity.WARNING]
    assert "do not add up" in result.diagnostics[0].message


def test_paypal_lines_move_by_net_and_carry_the_fee() -> None:
    result = read_tabular(
        str(SAMPLE_DATA / "csv/oca_paypal_statement_en.csv"), load_profile("paypal-en")
    )
    _eur, usd = result.statements
    first = usd.lines[0]
    assert first.amount == Money(126104, "USD") and first.charges == Money(4876, "USD")
    assert first.bank_transaction_id == "TID9"
    assert usd.opening is not None and usd.opening.amount == Money(89, "USD")


def test_skip_footer_rows_and_stop_when_blank(tmp_path: Path) -> None:
    footer = _profile("skip_footer_rows = 2\n")
    path = _write(tmp_path, "Date,Amount\n2025-01-01,1\n2025-01-02,2\nTotal,3\nPrinted,today\n\n")
    result = read_csv(path, footer)
    assert result.ok and result.line_count == 2
    blank = _profile("stop_when_blank = true\n")
    path = _write(tmp_path, "Date,Amount\n2025-01-01,1\n\nSummary,whatever\n", "b.csv")
    result = read_csv(path, blank)
    assert result.ok and result.line_count == 1


def test_files_without_a_header_name_columns_by_number(tmp_path: Path) -> None:
    profile = _profile("header = false\nskip_rows = 1\n", "date = 2\namount = 1\n")
    path = _write(tmp_path, "junk\n5.00,2025-01-01\n")
    result = read_csv(path, profile)
    assert result.ok and result.statements[0].lines[0].origin.line == 2


def test_encoding_auto_reads_a_windows_1252_file(tmp_path: Path) -> None:
    profile = _profile(
        'encoding = "auto"\n', 'date = "Date"\namount = "Amount"\nremittance = "Libellé"\n'
    )
    path = _write(
        tmp_path, "Date,Libellé,Amount\n2025-01-01,Crédit mutuel €,1\n", encoding="cp1252"
    )
    result = read_csv(path, profile)
    assert result.ok and result.statements[0].lines[0].remittance == "Crédit mutuel €"


def test_undecodable_text_is_one_diagnostic_with_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "Date,Amount\n2025-01-01,1\n2025-01-02,2 \xe9\n", encoding="latin-1")
    [err] = read_csv(path, _profile()).errors
    assert err.line == 3 and "cannot decode" in err.message


def test_an_unknown_currency_in_the_file_is_an_error(tmp_path: Path) -> None:
    profile = _profile(columns='date = "Date"\namount = "Amount"\ncurrency = "Cur"\n')
    path = _write(tmp_path, "Date,Amount,Cur\n2025-01-01,1,ZZZ\n")
    [err] = read_csv(path, profile).errors
    assert err.message == "column 'Cur': unknown currency code 'ZZZ'"


# -- XLSX -------------------------------------------------------------------------


def _xlsx(tmp_path: Path, rows: list[list[object]], name: str = "s.xlsx") -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Relevé"
    for row in rows:
        ws.append(row)
    path = tmp_path / name
    wb.save(path)
    return path


@pytest.fixture(params=["calamine", "openpyxl"])
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SOLIDARITY_XLSX_ENGINE", request.param)
    return str(request.param)


def test_xlsx_numbers_dates_and_title_rows(tmp_path: Path, engine: str) -> None:
    profile = _profile('format = "xlsx"\nheader_match = ["Date", "Amount"]\n')
    path = _xlsx(
        tmp_path,
        [
            ["Solidarity fund, account 42"],
            [],
            ["Date", "Amount"],
            [date(2025, 1, 2), 1309.8],
            [date(2025, 1, 3), -0.1],
            ["04/01/2025", "12.5"],
            [date(2025, 1, 5), 7],
        ],
    )
    profile = _profile(
        'format = "xlsx"\nheader_match = ["Date", "Amount"]\ndate_format = ["%Y-%m-%d", "%d/%m/%Y"]\n'
    )
    result = read_tabular(path, profile)
    assert result.ok, [str(d) for d in result.diagnostics]
    lines = result.statements[0].lines
    assert [ln.amount.minor for ln in lines] == [130980, -10, 1250, 700]
    assert [ln.origin.line for ln in lines] == [4, 5, 6, 7]
    assert lines[0].origin.location == "Relevé!4"
    assert lines[2].booking_date == date(2025, 1, 4)


def test_a_formula_without_a_saved_value_is_not_evaluated(tmp_path: Path, engine: str) -> None:
    path = _xlsx(tmp_path, [["Date", "Amount"], [date(2025, 1, 2), "=1+1"]])
    result = read_tabular(path, _profile('format = "xlsx"\n'))
    [err] = result.errors
    assert err.line == 2 and "the amount is empty" in err.message
    assert err.location == "Relevé!B2"


def test_the_csv_and_xlsx_samples_agree_across_engines(engine: str) -> None:
    csv_lines = (
        read_tabular(
            str(SAMPLE_DATA / "csv/oca_meta_data_separated_credit_debit.csv"),
            load_profile("oca-meta-data-fr"),
        )
        .statements[0]
        .lines
    )
    xlsx_lines = (
        read_tabular(
            str(SAMPLE_DATA / "csv/oca_meta_data_separated_credit_debit.xlsx"),
            load_profile("oca-meta-data-fr"),
        )
        .statements[0]
        .lines
    )
    assert [(ln.booking_date, ln.amount) for ln in csv_lines] == [
        (ln.booking_date, ln.amount) for ln in xlsx_lines
    ]


def test_a_profile_for_csv_refuses_an_xlsx_file(tmp_path: Path) -> None:
    path = _xlsx(tmp_path, [["Date", "Amount"]])
    [err] = read_tabular(path, _profile()).errors
    assert "reads csv files; this file is xlsx" in err.message


def test_an_xlsx_zip_bomb_is_refused_before_parsing(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", b"\0" * (30 * 1024 * 1024))
    with pytest.raises(ImportFileError, match="compression ratio"):
        read_tabular(bomb, _profile('format = "xlsx"\n'))
    with pytest.raises(ImportFileError, match="above the limit"):
        check_xlsx_archive(bomb, max_unpacked=1024)


def test_a_damaged_xlsx_is_a_diagnostic(tmp_path: Path) -> None:
    path = tmp_path / "bad.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"garbage" * 10)
    [err] = read_tabular(path, _profile('format = "xlsx"\n')).errors
    assert "not a readable XLSX" in err.message


def test_a_truncated_xlsx_is_a_diagnostic(tmp_path: Path, engine: str) -> None:
    good = _xlsx(tmp_path, [["Date", "Amount"], [date(2025, 1, 2), 1.5]])
    data = good.read_bytes()
    for cut in (len(data) // 3, len(data) // 2, len(data) - 30):
        path = tmp_path / f"cut{cut}.xlsx"
        path.write_bytes(data[:cut])
        result = read_tabular(path, _profile('format = "xlsx"\n'))
        assert result.errors and not result.statements


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1309.8, "1309.8"),
        (0.1 + 0.2, "0.3"),
        (-33.5, "-33.5"),
        (99999999999.99, "99999999999.99"),
        (1e-2, "0.01"),
    ],
)
def test_spreadsheet_floats_become_the_decimal_the_cell_showed(value: float, text: str) -> None:
    assert float_to_decimal(value) == Decimal(text)


# -- files bigger than a batch and a block -----------------------------------------------


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of 2 rows and blocks of 3: the paths of million-line files on a few lines."""
    from imports import tabular

    monkeypatch.setattr(tabular, "BATCH_ROWS", 2)
    monkeypatch.setattr(tabular, "BLOCK_ROWS", 3)


def test_problems_of_every_block_are_reported_in_file_order(
    tmp_path: Path, small_blocks: None
) -> None:
    body = "".join(f"2025-01-{d:02d},{d}\n" for d in range(1, 11))
    body = body.replace("2025-01-02,2", "2025-13-02,x").replace("2025-01-09,9", "2025-01-09,9.999")
    path = _write(tmp_path, "Date,Amount\n" + body + ",\n2025-01-11,\n")
    result = read_csv(path, _profile())
    assert [(d.line, d.message) for d in result.errors] == [
        (3, "column 'Date': cannot read '2025-13-02' as a date (expected %Y-%m-%d)"),
        (3, "column 'Amount': cannot read 'x' as an amount"),
        (10, "column 'Amount': 9.999 has more than 2 decimal(s), the precision of EUR"),
        (13, "column 'Amount': the amount is empty"),
    ]
    assert [ln.origin.line for ln in result.statements[0].lines] == [2, 4, 5, 6, 7, 8, 9, 11]


def test_stop_when_blank_keeps_the_balance_rows_after_the_table_across_batches(
    tmp_path: Path, small_blocks: None
) -> None:
    profile = _profile('stop_when_blank = true\n[balances]\nclosing_label = "Closing balance"\n')
    rows = "".join(f"2025-01-0{d},{d}\n" for d in range(1, 6))
    # Line 7 is blank and line 8 the balance: both in the same batch of two.
    path = _write(tmp_path, f"Date,Amount\n{rows}\nClosing balance,15\nNote,x\n")
    result = read_csv(path, profile)
    assert result.ok and result.line_count == 5
    st = result.statements[0]
    assert st.closing is not None and st.closing.amount == Money(1500, "EUR")


def test_an_undecodable_line_after_several_batches_is_named(
    tmp_path: Path, small_blocks: None
) -> None:
    rows = "".join(f"2025-01-0{d},{d}\n" for d in range(1, 8))
    path = _write(tmp_path, f"Date,Amount\n{rows}2025-01-08,8 \xe9\n", encoding="latin-1")
    [err] = read_csv(path, _profile()).errors
    assert err.line == 9 and "cannot decode" in err.message
