"""Hostile input never crashes the camt, MT940, OFX and QIF readers.

Random bytes, truncated files and mutated valid files must give a
``ReadResult`` (with diagnostics) or an ``ImportFileError`` — never any other
exception.
"""

from __future__ import annotations

import os
from types import ModuleType

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imports import camt, mt940, ofx, qif
from imports.model import ImportFileError, ReadResult
from imports.serialize import line_to_dict, statement_to_dict
from tests.helpers import SAMPLE_DATA, mutate

DATA = SAMPLE_DATA
READERS: dict[str, ModuleType] = {"camt": camt, "mt940": mt940, "ofx": ofx, "qif": qif}

CAMT = b"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
<Stmt><Id>S</Id><Acct><Id><IBAN>FR7630001007941234567890185</IBAN></Id><Ccy>EUR</Ccy></Acct>
<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">1.00</Amt>
<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2025-01-01</Dt></Dt></Bal>
<Ntry><Amt Ccy="EUR">2.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2025-01-02</Dt></BookgDt>
<NtryDtls><TxDtls><Amt Ccy="EUR">1.50</Amt></TxDtls><TxDtls><Amt Ccy="EUR">0.50</Amt>
<RltdPties><Dbtr><Nm>U</Nm></Dbtr></RltdPties><RmtInf><Ustrd>x</Ustrd></RmtInf></TxDtls>
</NtryDtls></Ntry></Stmt></BkToCstmrStmt></Document>
"""
MT940 = b""":20:REF
:25:NL81ASNB9999999999
:28C:1/1
:60F:C200101EUR444,29
:61:2001010101D65,00NOVBNONREF//B1
/OCMT/EUR65,/
:86:166?00GUTSCHRIFT?20EREF+X?21SVWZ+Y?32NAME
:61:2001010101RC1,00NTRFNONREF
:86:/EREF/E//NAME/N/REMI/R/
:62F:C200101EUR378,29
-
"""
OFX = b"""OFXHEADER:100
DATA:OFXSGML

<OFX><BANKMSGSRSV1><STMTTRNRS><STMTRS><CURDEF>EUR
<BANKACCTFROM><ACCTID>1</BANKACCTFROM><BANKTRANLIST>
<STMTTRN><TRNTYPE>CREDIT<DTPOSTED>20250101<TRNAMT>1.00<FITID>A<NAME>N &amp; M</STMTTRN>
</BANKTRANLIST><LEDGERBAL><BALAMT>1<DTASOF>20250101</LEDGERBAL>
</STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>
"""
QIF = b"""!Account
NChecking
TBank
^
!Type:Bank
D8/12'13
T-1,000.00
U-1,000.00
CX
N1042
PDelta PC
MMemo
LFood:Groceries
SFood
E-
$-1,000.00
^
D 3/ 4/2013
T20,28
^
"""
SEEDS: dict[str, list[bytes]] = {"camt": [CAMT], "mt940": [MT940], "ofx": [OFX], "qif": [QIF]}
for _folder in READERS:
    if (DATA / _folder).is_dir():
        SEEDS[_folder] += [p.read_bytes() for p in sorted((DATA / _folder).iterdir())]
if (DATA / "csv").is_dir():  # QIF samples sit beside the CSV ones
    SEEDS["qif"] += [p.read_bytes() for p in sorted((DATA / "csv").glob("*.qif"))]
#: QIF states no currency; the other readers take no hint.
HINTS: dict[str, dict[str, str]] = {"qif": {"currency_hint": "EUR"}}

FUZZ = settings(
    max_examples=int(os.environ.get("SOLIDARITY_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def survives(folder: str, data: bytes) -> None:
    """Read ``data``; only a ReadResult or ImportFileError is acceptable."""
    try:
        result = READERS[folder].read_bytes(data, "fuzz.dat", **HINTS.get(folder, {}))
    except ImportFileError:
        return
    assert isinstance(result, ReadResult)
    for d in result.diagnostics:
        assert str(d).startswith("fuzz.dat")
    for s in result.statements:
        statement_to_dict(s)
        for line in s.lines:
            line_to_dict(line)
            assert line.amount.currency


formats = st.sampled_from(sorted(READERS))


@FUZZ
@given(folder=formats, data=st.binary(max_size=3000))
def test_random_bytes_never_crash_a_reader(folder: str, data: bytes) -> None:
    survives(folder, data)


@FUZZ
@given(folder=formats, data=st.data())
def test_truncated_files_never_crash_a_reader(folder: str, data: st.DataObject) -> None:
    seed = data.draw(st.sampled_from(SEEDS[folder]))
    cut = data.draw(st.integers(0, len(seed)))
    survives(folder, seed[:cut])


@FUZZ
@given(folder=formats, data=st.data())
def test_mutated_files_never_crash_a_reader(folder: str, data: st.DataObject) -> None:
    interesting = b"<>/:?&;\n\r\x00\x07\xff0123456789,.-+CDRNEURXOF"
    survives(folder, mutate(data, data.draw(st.sampled_from(SEEDS[folder])), interesting, 8))


MT940_ALPHABET = st.sampled_from(
    [
        ":20:",
        ":25:",
        ":28C:",
        ":60F:",
        ":60M:",
        ":61:",
        ":86:",
        ":62F:",
        ":64:",
        "-",
        "{4:",
        "-}",
        "\n",
        "C",
        "D",
        "RC",
        "EUR",
        "XOF",
        "250101",
        "0101",
        "1231",
        "9",
        ",",
        "00",
        "N",
        "TRF",
        "NONREF",
        "//",
        "?20",
        "?32",
        "/EREF/",
        "/NAME/",
        " ",
        "x",
    ]
)


@FUZZ
@given(parts=st.lists(MT940_ALPHABET, max_size=80))
def test_mt940_made_of_real_tokens_never_crashes(parts: list[str]) -> None:
    survives("mt940", "".join(parts).encode())


OFX_ALPHABET = st.sampled_from(
    [
        "<OFX>",
        "</OFX>",
        "<STMTRS>",
        "</STMTRS>",
        "<CCSTMTRS>",
        "<CURDEF>",
        "EUR",
        "<STMTTRN>",
        "</STMTTRN>",
        "<TRNAMT>",
        "-1.5",
        "1,00",
        "<DTPOSTED>",
        "20250230",
        "20250101",
        "<FITID>",
        "<LEDGERBAL>",
        "<BALAMT>",
        "<DTASOF>",
        "</LEDGERBAL>",
        "&#x110000;",
        "&amp;",
        "<!--",
        "-->",
        "\n",
        "x",
        "<BANKTRANLIST>",
        "</BANKTRANLIST>",
    ]
)


@FUZZ
@given(parts=st.lists(OFX_ALPHABET, max_size=80))
def test_ofx_made_of_real_tokens_never_crashes(parts: list[str]) -> None:
    survives("ofx", ("OFXHEADER:100\n\n" + "".join(parts)).encode())
