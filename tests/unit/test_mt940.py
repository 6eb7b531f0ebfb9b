"""The MT940 reader on small hand-written statements and the tricky samples."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from imports import mt940
from imports.model import Severity
from ledger.money import Money
from tests.helpers import SAMPLE_DATA

DATA = SAMPLE_DATA / "mt940"
needs_samples = pytest.mark.skipif(not DATA.is_dir(), reason="sample data not available")


def statement(body: str, opening: str = "C250101EUR100,00", closing: str | None = None) -> str:
    text = f":20:REF1\n:25:FR7630001007941234567890185\n:28C:1/1\n:60F:{opening}\n{body}"
    if closing:
        text += f":62F:{closing}\n"
    return text + "-\n"


def read(tmp_path: Path, text: str, name: str = "st.sta", **kwargs: object) -> mt940.ReadResult:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return mt940.read(path, **kwargs)  # type: ignore[arg-type]


def test_a_credit_line_reads_with_its_dates_amount_and_references(tmp_path: Path) -> None:
    body = ":61:2501150116C1234,56NTRFPLEDGE-2025//BANK0001\n:86:Cotisation janvier\n"
    result = read(tmp_path, statement(body, closing="C250116EUR1334,56"))
    assert result.ok, [str(d) for d in result.errors]
    (line,) = result.statements[0].lines
    assert line.amount == Money.of("1234.56", "EUR")
    assert line.value_date == date(2025, 1, 15) and line.booking_date == date(2025, 1, 16)
    assert line.reference == "PLEDGE-2025"
    assert line.bank_transaction_id == "BANK0001"
    assert line.bank_code == "NTRF"
    assert line.remittance == "Cotisation janvier"
    assert line.origin.line == 5 and line.origin.location == ":61:"
    assert (
        line.origin.raw == ":61:2501150116C1234,56NTRFPLEDGE-2025//BANK0001\n:86:Cotisation janvier"
    )
    st = result.statements[0]
    assert st.account == "FR7630001007941234567890185" and st.currency == "EUR"
    assert st.statement_id == "REF1/1/1"
    assert st.opening.amount == Money.of("100", "EUR") and st.closing.kind == "CLBD"


@pytest.mark.parametrize(
    ("field", "value_date", "booking_date"),
    [
        ("1112310102", date(2011, 12, 31), date(2012, 1, 2)),  # booked in the new year
        ("1201021230", date(2012, 1, 2), date(2011, 12, 30)),  # booked before new year
        ("1206150614", date(2012, 6, 15), date(2012, 6, 14)),
    ],
)
def test_the_entry_date_takes_the_right_year_around_new_year(
    tmp_path: Path, field: str, value_date: date, booking_date: date
) -> None:
    (line,) = read(tmp_path, statement(f":61:{field}D1,00NMSCNONREF\n")).statements[0].lines
    assert (line.value_date, line.booking_date) == (value_date, booking_date)


@pytest.mark.parametrize(
    ("mark", "amount", "reversal"),
    [("C", "5.00", False), ("D", "-5.00", False), ("RC", "-5.00", True), ("RD", "5.00", True)],
)
def test_the_debit_credit_mark_sets_sign_and_reversal(
    tmp_path: Path, mark: str, amount: str, reversal: bool
) -> None:
    (line,) = read(tmp_path, statement(f":61:250102{mark}5,NTRFNONREF\n")).statements[0].lines
    assert line.amount == Money.of(amount, "EUR") and line.reversal is reversal
    assert line.reference == ""


def test_a_funds_code_letter_after_the_mark_is_skipped(tmp_path: Path) -> None:
    (line,) = read(tmp_path, statement(":61:2501020102DR12,50N024NONREF\n")).statements[0].lines
    assert line.amount == Money.of("-12.50", "EUR") and line.bank_code == "N024"


def test_german_subfields_give_name_account_and_sepa_references(tmp_path: Path) -> None:
    body = (
        ":61:2501020102CR10,00NTRFNONREF//0724710333343453\n"
        ":86:166?00GUTSCHRIFT?100399?20EREF+E2E-42?21SVWZ+Beitrag Janu\n"
        "ar 2025?30COBADEFFXXX?31DE89370400440532013000?32SNES Sektion Mu\n"
        "?33enchen\n"
    )
    (line,) = read(tmp_path, statement(body)).statements[0].lines
    assert line.reference == "E2E-42"
    assert line.remittance == "Beitrag Januar 2025"
    assert line.counterparty_name == "SNES Sektion Muenchen"
    assert line.counterparty_account == "DE89370400440532013000"
    assert line.bank_code == "NTRF/166"


def test_the_dutch_slash_style_is_understood(tmp_path: Path) -> None:
    body = (
        ":61:250102D25,00N102EREF\n"
        ":86:/EREF/E2E-7//CNTP/NL91ABNA0417164300/ABNANL2A/Mutuelle Sud/DAKAR//REMI/USTD/\n"
        "/Virement solidarite 2025//\n"
    )
    (line,) = read(tmp_path, statement(body)).statements[0].lines
    assert line.reference == "E2E-7"
    assert line.counterparty_account == "NL91ABNA0417164300"
    assert line.counterparty_name == "Mutuelle Sud"
    assert line.remittance == "Virement solidarite 2025"


def test_slash_style_with_name_iban_and_remittance_keys() -> None:
    details = mt940.parse_details(
        ["/EREF/NOTPROVIDED/ORDP//NAME/Teachers Union/ADDR/Ottawa/", "/REMI/Pledge 2025/IBAN/CA12"]
    )
    assert details["reference"] == ""
    assert details["counterparty_name"] == "Teachers Union"
    assert details["remittance"] == "Pledge 2025"
    assert details["counterparty_account"] == "CA12"


def test_triodos_angle_bracket_subfields() -> None:
    details = mt940.parse_details(
        ["000>100987654321", ">20HUUR>21 KANTOOR - FEB 2010>310390123456"]
    )
    assert details["remittance"] == "HUUR KANTOOR - FEB 2010"
    assert details["counterparty_account"] == "0390123456"


def test_free_text_details_are_joined_with_spaces(tmp_path: Path) -> None:
    body = ":61:250102D9,N192NONREF\n:86:GIRO   428428 KPN\nBETREFT FACTUUR\n"
    (line,) = read(tmp_path, statement(body)).statements[0].lines
    assert line.remittance == "GIRO 428428 KPN BETREFT FACTUUR"


def test_original_amount_and_charges_are_kept(tmp_path: Path) -> None:
    body = ":61:250102D5,NTRFREF//B1\n/OCMT/EUR4,5//\n:86:020?20Transfer?25/CHGS/EUR0,5/\n"
    (line,) = read(tmp_path, statement(body)).statements[0].lines
    assert line.instructed_amount == Money.of("-4.50", "EUR")
    assert line.charges == Money.of("0.50", "EUR")


def test_a_swift_envelope_with_several_statements_is_read(tmp_path: Path) -> None:
    one = "{1:F01ASNBNL21XXXX0000000000}{2:O940ASNBNL21XXXXN}{3:}{4:\n"
    text = (
        one + ":20:A\n:25:NL81ASNB9999999999\n:28C:1/1\n:60F:C200101EUR444,29\n"
        ":61:2001010101D65,00NOVBNONREF\n:86:first\n:62F:C200101EUR379,29\n-}{5:}\n"
        + one
        + ":20:B\n:25:NL81ASNB9999999999\n:28C:2/1\n:60F:C200102EUR379,29\n"
        ":62F:C200102EUR379,29\n-}{5:}\n"
    )
    result = read(tmp_path, text)
    assert result.ok, [str(d) for d in result.errors]
    assert [len(s.lines) for s in result.statements] == [1, 0]
    assert result.statements[0].lines[0].origin.line == 6


def test_balances_that_do_not_add_up_are_an_error_with_dates_and_amounts(tmp_path: Path) -> None:
    text = statement(":61:250102D10,00NMSCNONREF\n", closing="C250102EUR95,00")
    (error,) = read(tmp_path, text).errors
    assert error.line == 6
    for part in ("100.00 EUR", "2025-01-01", "-10.00 EUR", "90.00 EUR", "95.00 EUR", "2025-01-02"):
        assert part in error.message
    lenient = read(tmp_path, text, strict_balances=False)
    assert lenient.ok and lenient.diagnostics[0].severity is Severity.WARNING


def test_an_account_tag_among_the_transactions_is_refused(tmp_path: Path) -> None:
    body = ":61:250102C1,NTRFNONREF\n:25:166?00GUTSCHRIFT\n"
    (error,) = read(tmp_path, statement(body)).errors
    assert error.line == 6 and ":25:" in error.message


def test_february_30_is_read_as_the_last_day_of_february_with_a_warning(tmp_path: Path) -> None:
    result = read(tmp_path, statement(":61:1602300301DR6,00N024NONREF\n", opening="C160229EUR1,00"))
    assert result.ok
    (line,) = result.statements[0].lines
    assert line.value_date == date(2016, 2, 29) and line.booking_date == date(2016, 3, 1)
    (warning,) = result.diagnostics
    assert warning.severity is Severity.WARNING and "160230" in warning.message


def test_a_control_character_is_replaced_with_a_warning(tmp_path: Path) -> None:
    result = read(tmp_path, statement(":61:250102C1,NTRFNONREF\n:86:Caf\x07e\n"))
    assert result.ok
    assert result.statements[0].lines[0].remittance == "Caf e"
    (warning,) = result.diagnostics
    assert warning.line == 6 and "U+0007" in warning.message


def test_transmission_framing_characters_are_dropped_silently(tmp_path: Path) -> None:
    result = read(tmp_path, "\x01\n" + statement(":61:250102C1,NTRFNONREF\n") + "\x03")
    assert result.ok and not result.diagnostics and result.line_count == 1


def test_windows_1252_text_is_read_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "cp.sta"
    path.write_bytes(statement(":61:250102C1,NTRFNONREF\n:86:Crédit Société\n").encode("cp1252"))
    result = mt940.read(path)
    assert result.ok
    assert result.statements[0].lines[0].remittance == "Crédit Société"
    assert "Windows-1252" in result.diagnostics[0].message
    forced = mt940.read(path, encoding="latin-1")
    assert not forced.diagnostics


def test_a_line_before_any_opening_balance_is_refused(tmp_path: Path) -> None:
    text = ":20:X\n:25:1\n:61:250102C1,NTRFNONREF\n-\n"
    (error,) = read(tmp_path, text).errors
    assert error.line == 3 and "currency" in error.message


def test_a_garbled_transaction_line_is_refused_with_its_line(tmp_path: Path) -> None:
    (error,) = read(tmp_path, statement(":61:hello\n")).errors
    assert error.line == 5 and ":61:" in error.message


def test_a_bank_reference_repeated_in_an_account_is_not_used_as_id(tmp_path: Path) -> None:
    body = ":61:250102C1,NTRFNONREF//SAME\n:61:250102C2,NTRFNONREF//SAME\n"
    result = read(tmp_path, statement(body))
    assert [ln.bank_transaction_id for ln in result.statements[0].lines] == ["", ""]
    assert "SAME" in result.diagnostics[0].message


def test_text_that_is_not_mt940_is_refused_at_line_1(tmp_path: Path) -> None:
    (error,) = read(tmp_path, "1\n2\n3\n").errors
    assert error.line == 1 and "not an MT940" in error.message


@needs_samples
def test_the_february_30_sample_is_accepted_with_a_warning() -> None:
    result = mt940.read(DATA / "self-provided_february_30.sta")
    assert result.ok and result.line_count == 1
    assert result.diagnostics[0].line == 6


@needs_samples
def test_the_broken_snippet_is_refused_at_the_misplaced_tag() -> None:
    path = DATA / "betterplace_sepa_snippet_broken.sta"
    (error,) = mt940.read(path).errors
    assert str(error).startswith(f"{path}:6: :25:")


@needs_samples
def test_the_non_ascii_sample_reads_its_umlauts() -> None:
    result = mt940.read(DATA / "betterplace_with_binary_character.sta")
    assert result.ok and not result.diagnostics
    assert result.statements[0].statement_id.startswith("STAR1ÜTßUMS")


def test_sniff_recognises_mt940_and_nothing_else() -> None:
    assert mt940.sniff(statement("").encode())
    assert mt940.sniff(b"{1:F01ASNB}{2:O940}{3:}{4:\r\n:20:0000\r\n:25:NL81\r\n")
    assert not mt940.sniff(b"1\n2\n3\n")
    assert not mt940.sniff(b"OFXHEADER:100\n<OFX>")
