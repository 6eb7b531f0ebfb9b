"""The OFX reader: version 1 SGML with unclosed tags, version 2 XML, and the samples."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from imports import ofx
from imports.model import ImportFileError, ReadResult
from ledger.money import Money
from tests.helpers import SAMPLE_DATA

DATA = SAMPLE_DATA / "ofx"
needs_samples = pytest.mark.skipif(not DATA.is_dir(), reason="sample data not available")

SGML = """OFXHEADER:100
DATA:OFXSGML
VERSION:102
SECURITY:NONE
ENCODING:USASCII
CHARSET:1252
COMPRESSION:NONE
OLDFILEUID:NONE
NEWFILEUID:NONE

<OFX>
<SIGNONMSGSRSV1><SONRS><STATUS><CODE>0<SEVERITY>INFO</STATUS>
<DTSERVER>20250131120000[-5:EST]<LANGUAGE>ENG</SONRS></SIGNONMSGSRSV1>
<BANKMSGSRSV1><STMTTRNRS><TRNUID>1<STATUS><CODE>0<SEVERITY>INFO</STATUS>
<STMTRS>
<CURDEF>CAD
<BANKACCTFROM><BANKID>000<ACCTID>CA 1234 5678<ACCTTYPE>CHECKING</BANKACCTFROM>
<BANKTRANLIST><DTSTART>20250101<DTEND>20250131
<STMTTRN>
<TRNTYPE>CREDIT
<DTPOSTED>20250115120000.000[-5:EST]
<DTUSER>20250114
<TRNAMT>1500.00
<FITID>F-1
<NAME>Federation &amp; Unions
<MEMO>Pledge   January
<CHECKNUM>77
</STMTTRN>
<STMTTRN>
<TRNTYPE>DEBIT
<DTPOSTED>20250120
<TRNAMT>-1450,50
<FITID>F-2
<PAYEE><NAME>Network<ADDR1>Street</PAYEE>
<BANKACCTTO><BANKID>1<ACCTID>FR7630001007941234567890185<ACCTTYPE>CHECKING</BANKACCTTO>
<REFNUM>R-2
</STMTTRN>
</BANKTRANLIST>
<LEDGERBAL><BALAMT>49.50<DTASOF>20250131</LEDGERBAL>
<AVAILBAL><BALAMT>40.00<DTASOF>20250131</AVAILBAL>
</STMTRS></STMTTRNRS></BANKMSGSRSV1>
</OFX>
"""


def read(tmp_path: Path, text: str, name: str = "st.ofx") -> ReadResult:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return ofx.read(path)


def test_sgml_with_unclosed_leaf_tags_is_read(tmp_path: Path) -> None:
    result = read(tmp_path, SGML)
    assert result.ok, [str(d) for d in result.errors]
    (st,) = result.statements
    assert st.format == "ofx1" and st.currency == "CAD" and st.account == "CA 1234 5678"
    assert (st.period_start, st.period_end) == (date(2025, 1, 1), date(2025, 1, 31))
    assert st.closing.amount == Money.of("49.50", "CAD") and st.closing.kind == "CLBD"
    assert [b.kind for b in st.other_balances] == ["CLAV"]
    first, second = st.lines
    assert first.amount == Money.of("1500", "CAD")
    assert first.booking_date == date(2025, 1, 15) and first.value_date == date(2025, 1, 14)
    assert first.counterparty_name == "Federation & Unions"
    assert first.remittance == "Pledge January"
    assert first.reference == "77" and first.bank_transaction_id == "F-1"
    assert first.bank_code == "CREDIT"
    assert first.origin.line == 19 and first.origin.location == "STMTRS[1]/STMTTRN[1]"
    assert first.origin.raw.startswith("<STMTTRN>") and first.origin.raw.endswith("</STMTTRN>")
    assert second.amount == Money.of("-1450.50", "CAD")  # comma decimal mark
    assert second.counterparty_name == "Network"
    assert second.counterparty_account == "FR7630001007941234567890185"
    assert second.reference == "R-2"


def test_sgml_with_an_unclosed_transaction_list_still_finds_the_balance(tmp_path: Path) -> None:
    result = read(tmp_path, SGML.replace("</BANKTRANLIST>\n", ""))
    assert result.ok
    assert result.statements[0].closing.amount == Money.of("49.50", "CAD")
    assert len(result.statements[0].lines) == 2


def test_a_truncated_sgml_file_is_refused(tmp_path: Path) -> None:
    text = SGML[: SGML.index("<TRNAMT>-1450")]
    result = read(tmp_path, text)
    assert not result.ok
    assert any("truncated" in d.message for d in result.errors)


def test_an_iban_account_id_is_normalised(tmp_path: Path) -> None:
    text = SGML.replace("CA 1234 5678", "fr76 3000 1007 9412 3456 7890 185")
    assert read(tmp_path, text).statements[0].account == "FR7630001007941234567890185"


def test_a_credit_card_statement_is_read(tmp_path: Path) -> None:
    text = (
        SGML.replace("<STMTRS>", "<CCSTMTRS>")
        .replace("</STMTRS>", "</CCSTMTRS>")
        .replace("BANKACCTFROM><BANKID>000<", "CCACCTFROM><")
        .replace("</BANKACCTFROM>", "</CCACCTFROM>")
    )
    result = read(tmp_path, text)
    assert result.ok
    assert result.statements[0].lines[0].origin.location == "CCSTMTRS[1]/STMTTRN[1]"


def test_more_decimals_than_the_currency_has_are_refused(tmp_path: Path) -> None:
    (error,) = read(tmp_path, SGML.replace("1500.00", "1500.001")).errors
    assert "1500.001 CAD" in error.message and error.line == 19


def test_a_missing_amount_is_an_error_at_the_transaction(tmp_path: Path) -> None:
    (error,) = read(tmp_path, SGML.replace("<TRNAMT>1500.00\n", "")).errors
    assert error.line == 19 and "TRNAMT" in error.message


def test_an_error_status_from_the_bank_is_reported(tmp_path: Path) -> None:
    text = SGML.replace(
        "<TRNUID>1<STATUS><CODE>0<SEVERITY>INFO",
        "<TRNUID>1<STATUS><CODE>2000<SEVERITY>ERROR<MESSAGE>General error",
    )
    assert any("2000" in d.message for d in read(tmp_path, text).errors)


def test_original_currency_gives_the_rate(tmp_path: Path) -> None:
    text = SGML.replace(
        "<CHECKNUM>77", "<CHECKNUM>77\n<ORIGCURRENCY><CURRATE>1.4567<CURSYM>EUR</ORIGCURRENCY>"
    )
    first = read(tmp_path, text).statements[0].lines[0]
    assert first.exchange_rate == Decimal("1.4567")
    assert (first.source_currency, first.target_currency) == ("EUR", "CAD")


XML = """<?xml version="1.0" encoding="UTF-8"?>
<?OFX OFXHEADER="200" VERSION="220" SECURITY="NONE" OLDFILEUID="NONE" NEWFILEUID="NONE"?>
<OFX><BANKMSGSRSV1><STMTTRNRS><TRNUID>1</TRNUID>
<STMTRS><CURDEF>XOF</CURDEF>
<BANKACCTFROM><BANKID>1</BANKID><ACCTID>SN08SN0100152000048500003035</ACCTID></BANKACCTFROM>
<BANKTRANLIST><DTSTART>20250101</DTSTART><DTEND>20250131</DTEND>
<STMTTRN><TRNTYPE>CREDIT</TRNTYPE><DTPOSTED>20250110</DTPOSTED><TRNAMT>655957</TRNAMT>
<FITID>X1</FITID><NAME>Reseau</NAME></STMTTRN>
</BANKTRANLIST>
<LEDGERBAL><BALAMT>655957</BALAMT><DTASOF>20250131</DTASOF></LEDGERBAL>
</STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>
"""


def test_ofx2_xml_is_read_with_line_numbers(tmp_path: Path) -> None:
    result = read(tmp_path, XML)
    assert result.ok
    (line,) = result.statements[0].lines
    assert line.amount == Money(655957, "XOF")
    assert line.origin.line == 7 and line.origin.raw.startswith("<STMTTRN>")
    assert result.statements[0].format == "ofx2"


def test_ofx2_with_a_doctype_is_refused(tmp_path: Path) -> None:
    text = XML.replace(
        "<OFX>", '<!DOCTYPE OFX [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>\n<OFX>', 1
    )
    with pytest.raises(ImportFileError, match="DOCTYPE"):
        read(tmp_path, text)


def test_a_file_that_is_not_ofx_is_refused(tmp_path: Path) -> None:
    (error,) = read(tmp_path, "hello\n").errors
    assert error.line == 1 and "not an OFX" in error.message


@needs_samples
def test_the_euro_sample_with_comma_decimals_reads_like_the_dot_one() -> None:
    dot = ofx.read(DATA / "ofxtools_stmtrs.ofx")
    comma = ofx.read(DATA / "ofxtools_stmtrs_euro.ofx")
    assert dot.ok and comma.ok
    assert [ln.amount for ln in dot.statements[0].lines] == [
        ln.amount for ln in comma.statements[0].lines
    ]


@needs_samples
def test_the_malformed_sample_is_refused_with_located_errors() -> None:
    path = DATA / "oca_test_ofx_wrong.ofx"
    errors = [str(d) for d in ofx.read(path).errors]
    assert f"{path}:21: statement has no currency (CURDEF) [STMTRS[1]]" in errors
    assert any(e.startswith(f"{path}:42: transaction has no amount") for e in errors)


@needs_samples
def test_the_brazilian_credit_card_sample_reads_in_brl() -> None:
    result = ofx.read(DATA / "ofxtools_br_nubank_cc.ofx")
    assert result.ok
    (st,) = result.statements
    assert st.currency == "BRL" and len(st.lines) == 6
    assert st.closing.amount == Money.of("-1280.91", "BRL")


def test_sniff_recognises_both_versions() -> None:
    assert ofx.sniff(SGML.encode()[:4096])
    assert ofx.sniff(XML.encode()[:4096])
    assert not ofx.sniff(b":20:X\n:25:Y\n")
