"""The camt.052/053/054 reader on small hand-written documents and the tricky samples."""

from __future__ import annotations

import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from imports import camt
from imports.model import ImportFileError, Severity
from ledger.money import Money
from tests.helpers import SAMPLE_DATA

DATA = SAMPLE_DATA / "camt"
needs_samples = pytest.mark.skipif(not DATA.is_dir(), reason="sample data not available")

NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"


def bal(
    code: str, amount: str, day: str = "2025-01-01", ccy: str = "EUR", ind: str = "CRDT"
) -> str:
    return (
        f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>"
        f'<Amt Ccy="{ccy}">{amount}</Amt><CdtDbtInd>{ind}</CdtDbtInd>'
        f"<Dt><Dt>{day}</Dt></Dt></Bal>"
    )


def entry(
    amount: str = "10.00",
    ind: str = "CRDT",
    inner: str = "",
    ccy: str = "EUR",
    extra: str = "",
) -> str:
    return (
        f'<Ntry>\n<Amt Ccy="{ccy}">{amount}</Amt>\n<CdtDbtInd>{ind}</CdtDbtInd>\n{extra}'
        "<Sts><Cd>BOOK</Cd></Sts>\n<BookgDt><Dt>2025-01-15</Dt></BookgDt>\n"
        "<ValDt><Dt>2025-01-16</Dt></ValDt>\n<AcctSvcrRef>BANKREF1</AcctSvcrRef>\n"
        f"{inner}</Ntry>\n"
    )


def document(entries: str, balances: str = "", ns: str = NS, stmt: str = "Stmt") -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<Document xmlns="{ns}">\n<BkToCstmrStmt>\n'
        "<GrpHdr><MsgId>M1</MsgId><CreDtTm>2025-01-31T10:00:00</CreDtTm></GrpHdr>\n"
        f"<{stmt}>\n<Id>S1</Id>\n<CreDtTm>2025-01-31T10:00:00</CreDtTm>\n"
        "<Acct><Id><IBAN>FR7630001007941234567890185</IBAN></Id><Ccy>EUR</Ccy></Acct>\n"
        f"{balances}{entries}</{stmt}>\n</BkToCstmrStmt>\n</Document>\n"
    )


def write(tmp_path: Path, text: str, name: str = "st.xml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_credit_reads_with_its_debtor_as_counterparty(tmp_path: Path) -> None:
    inner = (
        "<NtryDtls><TxDtls><Refs><EndToEndId>E2E-1</EndToEndId></Refs>"
        "<RltdPties><Dbtr><Pty><Nm>SNES-FSU</Nm></Pty></Dbtr>"
        "<DbtrAcct><Id><IBAN>FR7612345678901234567890123</IBAN></Id></DbtrAcct>"
        "<Cdtr><Pty><Nm>Fund</Nm></Pty></Cdtr></RltdPties>"
        "<RmtInf><Ustrd>Pledge 2025</Ustrd><Ustrd>  1 EUR per member</Ustrd></RmtInf>"
        "</TxDtls></NtryDtls>"
    )
    path = write(tmp_path, document(entry("1234.00", inner=inner)))
    result = camt.read(path)
    assert result.ok, [str(d) for d in result.errors]
    (line,) = result.statements[0].lines
    assert line.amount == Money.of("1234.00", "EUR")
    assert line.counterparty_name == "SNES-FSU"
    assert line.counterparty_account == "FR7612345678901234567890123"
    assert line.reference == "E2E-1"
    assert line.remittance == "Pledge 2025 1 EUR per member"
    assert line.bank_transaction_id == "BANKREF1"
    assert line.booking_date == date(2025, 1, 15) and line.value_date == date(2025, 1, 16)
    assert line.origin.file == str(path)
    assert line.origin.line == 9  # the <Ntry> start tag
    assert line.origin.location == "Stmt[1]/Ntry[1]"
    assert line.origin.raw.startswith("<Ntry>") and line.origin.raw.endswith("</Ntry>")
    assert result.statements[0].format == "camt.053.001.08"


def test_a_debit_reads_with_its_creditor_and_a_negative_amount(tmp_path: Path) -> None:
    inner = (
        "<NtryDtls><TxDtls><RltdPties><Dbtr><Nm>Fund</Nm></Dbtr>"
        "<Cdtr><Nm>MUTEB Burkina</Nm></Cdtr>"
        "<CdtrAcct><Id><Othr><Id>BF-123</Id></Othr></Id></CdtrAcct></RltdPties>"
        "</TxDtls></NtryDtls>"
    )
    result = camt.read(write(tmp_path, document(entry("500.00", "DBIT", inner))))
    (line,) = result.statements[0].lines
    assert line.amount == Money.of("-500.00", "EUR")
    assert (line.counterparty_name, line.counterparty_account) == ("MUTEB Burkina", "BF-123")


def test_a_batch_booking_is_split_into_one_line_per_transaction_detail(tmp_path: Path) -> None:
    details = "".join(
        f'<TxDtls><Refs><EndToEndId>E{i}</EndToEndId></Refs><Amt Ccy="EUR">{a}</Amt>'
        f"<RltdPties><Dbtr><Nm>Union {i}</Nm></Dbtr></RltdPties></TxDtls>\n"
        for i, a in ((1, "3.00"), (2, "7.00"))
    )
    text = document(entry("10.00", inner=f"<NtryDtls>\n{details}</NtryDtls>\n"))
    result = camt.read(write(tmp_path, text))
    assert result.ok, [str(d) for d in result.errors]
    lines = result.statements[0].lines
    assert [ln.amount.minor for ln in lines] == [300, 700]
    assert [ln.counterparty_name for ln in lines] == ["Union 1", "Union 2"]
    assert [ln.bank_transaction_id for ln in lines] == ["BANKREF1/1", "BANKREF1/2"]
    assert [ln.origin.location for ln in lines] == [
        "Stmt[1]/Ntry[1]/NtryDtls/TxDtls[1]",
        "Stmt[1]/Ntry[1]/NtryDtls/TxDtls[2]",
    ]
    assert [ln.origin.line for ln in lines] == [17, 18]
    assert lines[1].origin.raw.startswith("<TxDtls>") and "Union 2" in lines[1].origin.raw


def test_a_batch_whose_details_do_not_add_up_is_an_error(tmp_path: Path) -> None:
    details = "".join(
        f'<TxDtls><AmtDtls><TxAmt><Amt Ccy="EUR">{a}</Amt></TxAmt></AmtDtls></TxDtls>'
        for a in ("3.00", "6.00")
    )
    result = camt.read(
        write(tmp_path, document(entry("10.00", inner=f"<NtryDtls>{details}</NtryDtls>")))
    )
    (error,) = result.errors
    assert "10.00 EUR" in error.message and "9.00 EUR" in error.message
    assert error.line == 9


@needs_samples
def test_the_batch_sample_splits_into_its_two_payments() -> None:
    result = camt.read(DATA / "oca_test-camt053-txdtls.xml")
    assert result.ok
    lines = result.statements[0].lines
    assert [ln.amount.to_decimal_string() for ln in lines] == ["2187.00", "1296.00"]
    assert [ln.counterparty_account for ln in lines] == [
        "CH2222000000123456789",
        "CH3333000000123456789",
    ]
    assert [ln.reference for ln in lines] == [
        "302388292000011111111111111",
        "302388292000022222222222222",
    ]


def test_a_reversal_is_flagged_and_keeps_the_booked_direction(tmp_path: Path) -> None:
    inner = (
        "<NtryDtls><TxDtls><RltdPties><Dbtr><Nm>Owner</Nm></Dbtr>"
        "<Cdtr><Nm>Collector</Nm></Cdtr></RltdPties></TxDtls></NtryDtls>"
    )
    text = document(entry("25.00", "CRDT", inner, extra="<RvslInd>true</RvslInd>\n"))
    (line,) = camt.read(write(tmp_path, text)).statements[0].lines
    assert line.reversal is True
    assert line.amount == Money.of("25.00", "EUR")
    # money came back from the creditor of the original direct debit
    assert line.counterparty_name == "Collector"


@needs_samples
def test_the_reversal_sample_is_read_as_a_reversal() -> None:
    lines = camt.read(DATA / "oca_test-camt053.xml", strict_balances=False).statements[0].lines
    assert [ln.reversal for ln in lines] == [False, True, True, False]


def test_charges_are_kept_on_the_line(tmp_path: Path) -> None:
    inner = (
        "<NtryDtls><TxDtls><Chrgs>"
        '<Rcrd><Amt Ccy="EUR">1.50</Amt><CdtDbtInd>DBIT</CdtDbtInd></Rcrd>'
        '<Rcrd><Amt Ccy="EUR">0.25</Amt><CdtDbtInd>DBIT</CdtDbtInd></Rcrd>'
        "</Chrgs></TxDtls></NtryDtls>"
    )
    (line,) = (
        camt.read(write(tmp_path, document(entry("98.25", "DBIT", inner)))).statements[0].lines
    )
    assert line.charges == Money.of("1.75", "EUR")


def test_a_total_of_charges_wins_over_the_records(tmp_path: Path) -> None:
    inner = (
        '<Chrgs><TtlChrgsAndTaxAmt Ccy="CHF">5.00</TtlChrgsAndTaxAmt>'
        '<Rcrd><Amt Ccy="CHF">4.00</Amt></Rcrd></Chrgs>'
    )
    (line,) = camt.read(write(tmp_path, document(entry(inner=inner)))).statements[0].lines
    assert line.charges == Money.of("5.00", "CHF")


@needs_samples
def test_the_multi_currency_sample_keeps_instructed_amount_and_rate() -> None:
    result = camt.read(DATA / "oca_test-camt053-multi-currency.xml")
    assert result.ok
    first = result.statements[0].lines[0]
    assert first.amount == Money.of("-579.21", "CHF")
    assert first.instructed_amount == Money.of("-522.39", "EUR")
    assert first.exchange_rate == Decimal("1.1087693103")
    assert (first.source_currency, first.target_currency) == ("EUR", "CHF")
    assert first.counterparty_name == "Batelier"
    assert first.bank_code == "PMNT/ICDT/ESCT"


def test_more_decimals_than_the_currency_has_are_refused(tmp_path: Path) -> None:
    result = camt.read(write(tmp_path, document(entry("8.851"))))
    (error,) = result.errors
    assert "8.851 EUR" in error.message and "refused" in error.message
    assert error.line == 9
    assert result.line_count == 0


def test_trailing_zeros_beyond_the_currency_digits_are_exact(tmp_path: Path) -> None:
    result = camt.read(write(tmp_path, document(entry("8.85000"))))
    assert result.ok
    assert result.statements[0].lines[0].amount.minor == 885


@needs_samples
def test_an_entry_without_amount_is_reported_with_its_line() -> None:
    path = DATA / "oca_test-camt053-wrong-amount.xml"
    result = camt.read(path)
    (error,) = result.errors
    assert str(error).startswith(f"{path}:93: entry has no amount")


@needs_samples
def test_a_message_without_statement_is_refused() -> None:
    (error,) = camt.read(DATA / "genkgo_camt053.v2.wrong.xml").errors
    assert error.line == 3 and "no statement" in error.message


def test_a_statement_without_entries_is_valid(tmp_path: Path) -> None:
    text = document("", bal("OPBD", "100.00") + bal("CLBD", "100.00", "2025-01-31"))
    result = camt.read(write(tmp_path, text))
    assert result.ok and result.line_count == 0
    st = result.statements[0]
    assert st.opening.amount == st.closing.amount == Money.of("100", "EUR")


def test_balances_that_do_not_add_up_are_refused_unless_told_otherwise(tmp_path: Path) -> None:
    text = document(entry("10.00"), bal("OPBD", "100.00") + bal("CLBD", "120.00", "2025-01-31"))
    path = write(tmp_path, text)
    (error,) = camt.read(path).errors
    assert "110.00 EUR" in error.message and "120.00 EUR" in error.message
    lenient = camt.read(path, strict_balances=False)
    assert lenient.ok and lenient.diagnostics[0].severity is Severity.WARNING


def test_previous_closing_balance_opens_when_there_is_no_opening(tmp_path: Path) -> None:
    text = document(entry("10.00"), bal("PRCD", "90.00") + bal("CLBD", "100.00", "2025-01-31"))
    st = camt.read(write(tmp_path, text)).statements[0]
    assert st.opening is not None and st.opening.kind == "PRCD"
    assert st.closing is not None and st.closing.kind == "CLBD"


def test_other_balance_types_are_kept(tmp_path: Path) -> None:
    text = document("", bal("OPBD", "1") + bal("CLAV", "2") + bal("ITBD", "3"))
    st = camt.read(write(tmp_path, text)).statements[0]
    assert [b.kind for b in st.other_balances] == ["CLAV", "ITBD"]


def test_notprovided_end_to_end_id_falls_back_on_the_creditor_reference(tmp_path: Path) -> None:
    inner = (
        "<NtryDtls><TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>"
        "<RmtInf><Strd><CdtrRefInf><Ref>RF18539007547034</Ref></CdtrRefInf></Strd></RmtInf>"
        "</TxDtls></NtryDtls>"
    )
    (line,) = camt.read(write(tmp_path, document(entry(inner=inner)))).statements[0].lines
    assert line.reference == "RF18539007547034"
    assert line.remittance == "RF18539007547034"


def test_a_booking_date_given_as_date_time_keeps_its_date(tmp_path: Path) -> None:
    text = document(entry()).replace(
        "<BookgDt><Dt>2025-01-15</Dt></BookgDt>",
        "<BookgDt><DtTm>2025-01-14T23:30:00+01:00</DtTm></BookgDt>",
    )
    (line,) = camt.read(write(tmp_path, text)).statements[0].lines
    assert line.booking_date == date(2025, 1, 14)


def test_a_pending_entry_is_skipped_with_a_warning(tmp_path: Path) -> None:
    text = document(entry().replace("<Cd>BOOK</Cd>", "<Cd>PDNG</Cd>"))
    result = camt.read(write(tmp_path, text))
    assert result.ok and result.line_count == 0
    assert "PDNG" in result.diagnostics[0].message


def test_reports_and_notifications_are_read(tmp_path: Path) -> None:
    for message, container, stmt in (
        ("camt.052.001.08", "BkToCstmrAcctRpt", "Rpt"),
        ("camt.054.001.13", "BkToCstmrDbtCdtNtfctn", "Ntfctn"),
    ):
        text = document(entry(), ns=f"urn:iso:std:iso:20022:tech:xsd:{message}", stmt=stmt)
        text = text.replace("BkToCstmrStmt", container)
        result = camt.read(write(tmp_path, text, f"{stmt}.xml"))
        assert result.ok and result.line_count == 1
        assert result.statements[0].format == message
        assert result.statements[0].lines[0].origin.location == f"{stmt}[1]/Ntry[1]"


def test_comments_do_not_shift_line_numbers(tmp_path: Path) -> None:
    text = document("<!-- <Ntry> a commented entry\n</Ntry> -->\n" + entry())
    (line,) = camt.read(write(tmp_path, text)).statements[0].lines
    assert line.origin.line == 11


def test_a_prefixed_namespace_is_read(tmp_path: Path) -> None:
    text = (
        f'<c:Document xmlns:c="{NS}"><c:BkToCstmrStmt><c:Stmt><c:Id>S</c:Id>'
        '<c:Acct><c:Id><c:IBAN>X</c:IBAN></c:Id></c:Acct>\n<c:Ntry><c:Amt Ccy="EUR">1.00</c:Amt>'
        "<c:CdtDbtInd>DBIT</c:CdtDbtInd><c:BookgDt><c:Dt>2025-01-02</c:Dt></c:BookgDt>"
        "</c:Ntry></c:Stmt></c:BkToCstmrStmt></c:Document>"
    )
    (line,) = camt.read(write(tmp_path, text)).statements[0].lines
    assert line.amount.minor == -100 and line.origin.line == 2
    assert line.origin.raw.startswith("<c:Ntry>") and line.origin.raw.endswith("</c:Ntry>")


def test_broken_xml_is_a_diagnostic_with_its_line(tmp_path: Path) -> None:
    text = document(entry()).replace("</Ntry>", "</Ntri>")
    (error,) = camt.read(write(tmp_path, text)).errors
    assert error.line == 16 and "not well-formed" in error.message


def test_a_document_of_another_kind_is_refused(tmp_path: Path) -> None:
    text = '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"><X/></Document>'
    (error,) = camt.read(write(tmp_path, text)).errors
    assert "not a camt" in error.message


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
<Stmt><Id>&lol9;</Id></Stmt></BkToCstmrStmt></Document>
"""


def test_a_billion_laughs_file_is_refused_quickly(tmp_path: Path) -> None:
    path = write(tmp_path, BILLION_LAUGHS)
    started = time.perf_counter()
    with pytest.raises(ImportFileError, match=r"st\.xml:2: .*DOCTYPE"):
        camt.read(path)
    assert time.perf_counter() - started < 1.0


def test_an_external_entity_is_refused(tmp_path: Path) -> None:
    text = (
        '<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
        f'<Document xmlns="{NS}"><BkToCstmrStmt><Stmt><Id>&x;</Id></Stmt></BkToCstmrStmt></Document>'
    )
    with pytest.raises(ImportFileError):
        camt.read(write(tmp_path, text))


def test_an_undeclared_entity_is_a_syntax_error_not_a_lookup(tmp_path: Path) -> None:
    text = document(entry()).replace("<Id>S1</Id>", "<Id>&secret;</Id>")
    (error,) = camt.read(write(tmp_path, text)).errors
    assert "undefined entity" in error.message


def test_sniff_recognises_camt_and_nothing_else() -> None:
    assert camt.sniff(document("").encode()[:4096])
    assert not camt.sniff(b"<OFX><SIGNONMSGSRSV1>")
    assert not camt.sniff(b":20:STARTUMS\n:25:123\n")
