"""The camt reader gives the same result whether lxml or ElementTree built the tree,
and whether the entries were parsed with the tree or a slice at a time.

``camt.read_bytes`` asks :mod:`imports.xmlsafe` for an lxml tree (faster) without
its entries when their tags allow it (parsed a slice at a time, detached), and
falls back on the whole tree, then on ElementTree for whatever libxml2 refuses.
Every statement, line (with its raw XML), diagnostic and refusal must be the
same every way: on the samples, on hand-made edge cases and on mutated files.
"""

from __future__ import annotations

import os
import re
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imports import camt, xmlsafe
from imports.model import ImportFileError
from imports.serialize import balance_to_dict, line_to_dict, statement_to_dict
from ledger.lines import COLUMNS
from tests.helpers import SAMPLE_DATA, mutate

pytestmark = pytest.mark.skipif(not xmlsafe.have_lxml(), reason="lxml not installed")

DATA = SAMPLE_DATA / "camt"
SAMPLES = sorted(p for p in DATA.iterdir() if p.is_file()) if DATA.is_dir() else []
NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"

BATCH = f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="{NS}"><BkToCstmrStmt>
<Stmt><Id>S</Id><Acct><Id><IBAN>FR7630001007941234567890185</IBAN></Id><Ccy>EUR</Ccy></Acct>
<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">1.00</Amt>
<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2025-01-01</Dt></Dt></Bal>
<!-- a comment <Ntry> with a start tag in it -->
<Ntry><Amt Ccy="EUR">2.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2025-01-02</Dt></BookgDt>
<BkTxCd><Prtry><Cd>X<!-- c -->Y</Cd></Prtry></BkTxCd>
<NtryDtls><TxDtls><Amt Ccy="EUR">1.50</Amt><Chrgs><Rcrd><Amt Ccy="EUR">0.10</Amt></Rcrd></Chrgs>
</TxDtls><TxDtls><Amt Ccy="EUR">0.50</Amt>
<RltdPties><Dbtr><Pty><Nm>U &amp; <![CDATA[V]]></Nm></Pty></Dbtr>
<DbtrAcct><Id><Othr><Id>X-1</Id></Othr></Id></DbtrAcct></RltdPties>
<RmtInf><Ustrd>x</Ustrd><Ustrd> y </Ustrd></RmtInf></TxDtls>
</NtryDtls></Ntry>
<Ntry><Amt Ccy="EUR">-1</Amt><CdtDbtInd>DBIT</CdtDbtInd><BookgDt><DtTm>2025-01-03T10:00:00</DtTm>
</BookgDt><AmtDtls><InstdAmt><Amt Ccy="USD">1.1</Amt></InstdAmt><TxAmt><CcyXchg><SrcCcy>usd</SrcCcy>
<XchgRate>0.9</XchgRate></CcyXchg></TxAmt></AmtDtls></Ntry>
<Ntry><Amt Ccy="EUR">1.005</Amt><CdtDbtInd>CRDT</CdtDbtInd></Ntry>
<Ntry><Amt Ccy="JPY">100</Amt><CdtDbtInd>CRDT</CdtDbtInd><ValDt><Dt>2025-02-30</Dt></ValDt></Ntry>
</Stmt></BkToCstmrStmt></Document>
"""
#: Blank text and comments where the reader reads text (lxml drops blank text nodes).
BLANKS = f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="{NS}"><BkToCstmrStmt><Stmt>
  <Acct> <Id> <IBAN> FR76 3000 </IBAN> </Id> </Acct>
  <Ntry>
    <Amt Ccy="EUR"> 2.00 </Amt>
    <CdtDbtInd> CRDT <!-- c --> </CdtDbtInd>
    <Sts>
      <!-- no code -->
    </Sts>
    <BookgDt> <Dt> <!-- c -->2025-01-02</Dt> </BookgDt>
    <AcctSvcrRef>  </AcctSvcrRef>
    <NtryDtls> <TxDtls>
      <Refs> <EndToEndId> <!-- c --> </EndToEndId> </Refs>
      <RltdPties> <Dbtr> <Nm>  <!-- c -->  </Nm> <Pty> <Nm> A  <!--x-->  B </Nm> </Pty> </Dbtr>
      </RltdPties>
      <RmtInf> <Ustrd>   </Ustrd> <Ustrd> <!-- c --> </Ustrd>
        <Strd> <CdtrRefInf> <Ref> R </Ref> </CdtrRefInf> <AddtlRmtInf>
        </AddtlRmtInf> </Strd> </RmtInf>
      <BkTxCd>
      </BkTxCd>
    </TxDtls> </NtryDtls>
    <BkTxCd> <Domn> <Cd> </Cd> <Fmly> <Cd>  </Cd> </Fmly> </Domn> <Prtry> <Cd> P </Cd> </Prtry>
    </BkTxCd>
  </Ntry>
  <Ntry><Amt Ccy="EUR">1.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts> PDNG <Cd/></Sts></Ntry>
  <Ntry><Amt Ccy="EUR">1.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><ValDt>
    <DtTm> 2025-01-03T10:00:00 </DtTm></ValDt><AddtlNtryInf> a
    b </AddtlNtryInf></Ntry>
</Stmt></BkToCstmrStmt></Document>
"""
NO_NAMESPACE = BATCH.replace(f' xmlns="{NS}"', "").replace(
    "<Ntry><Amt", '<Ntry><Amt xmlns="urn:other" Ccy="EUR">9.99</Amt><Amt', 1
)
PREFIXED = (
    f'<c:Document xmlns:c="{NS}"><c:BkToCstmrStmt><c:Stmt><c:Id>S</c:Id>'
    '<c:Acct><c:Id><c:IBAN>X</c:IBAN></c:Id></c:Acct>\n<c:Ntry><c:Amt Ccy="EUR">1.00</c:Amt>'
    "<c:CdtDbtInd>DBIT</c:CdtDbtInd><c:BookgDt><c:Dt>2025-01-02</c:Dt></c:BookgDt>"
    "</c:Ntry></c:Stmt></c:BkToCstmrStmt></c:Document>"
)
#: libxml2 refuses these and ElementTree reads them: the fallback must give its reading.
DEEP = BATCH.replace("<RmtInf>", "<RmtInf>" + "<X>" * 300 + "</X>" * 300, 1)
VERSION_2 = BATCH.replace('version="1.0"', 'version="2.0"', 1)
LATIN_1 = BATCH.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"').replace("U &amp;", "Ü &amp;")
CASES = {
    "batch": BATCH.encode(),
    "blank text": BLANKS.encode(),
    "no namespace": NO_NAMESPACE.encode(),
    "prefixed": PREFIXED.encode(),
    "deeper than libxml2 allows": DEEP.encode(),
    "version 2.0": VERSION_2.encode(),
    "latin-1": LATIN_1.encode("latin-1"),
    "utf-16": BATCH.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16"),
    "broken": BATCH.replace("</Ntry>", "</Ntri>", 1).encode(),
    # the byte scan counts one <Ntry> too many: no lines, raw text serialised instead
    "foreign entry": BATCH.replace(
        "</Stmt>", '<Ntry xmlns="urn:other"><Amt Ccy="EUR">1</Amt></Ntry></Stmt>'
    ).encode(),
    "undefined entity": BATCH.replace("<Id>S</Id>", "<Id>&secret;</Id>").encode(),
}


def _plain(data: bytes) -> bytes:
    """``data`` without comments and CDATA sections: its entries can be detached."""
    data = re.sub(rb"<!--.*?-->", b"", data, flags=re.DOTALL)
    return re.sub(rb"<!\[CDATA\[(.*?)\]\]>", rb"\1", data, flags=re.DOTALL)


#: Cases whose entries are read a slice at a time (``_plain``), and must read the same.
DETACHABLE = ["batch", "blank text", "no namespace", "latin-1"]
CASES |= {f"{name}, detached": _plain(CASES[name]) for name in [*DETACHABLE, "foreign entry"]}


#: How the tree is built: entries detached (the default), whole lxml tree, ElementTree.
DETACHED, LXML, ELEMENTTREE = "detached", "lxml", "elementtree"


def outcome(data: bytes, *, lxml: bool = True, engine: str | None = None) -> Any:
    """Everything a reading gives: refusal, statements, lines with raw text, diagnostics,
    and the trees built ((is lxml, entries detached) per parse)."""
    engine = engine or (DETACHED if lxml else ELEMENTTREE)

    def parse(
        data: bytes, file: str, *, prefer_lxml: bool = False, detach: xmlsafe.Detach | None = None
    ) -> xmlsafe.XmlDocument:
        assert prefer_lxml and detach is not None  # what the reader asks for
        if engine == LXML:
            detach = detach._replace(cut=False)
        doc = xmlsafe.parse_bytes(data, file, prefer_lxml=engine != ELEMENTTREE, detach=detach)
        engines.append((doc.is_lxml, doc.detached_reads) if engine == DETACHED else doc.is_lxml)
        return doc

    engines: list[Any] = []
    with mock.patch.object(camt, "parse_bytes", parse):
        try:
            result = camt.read_bytes(data, "t.xml")
        except ImportFileError as exc:
            return ("refused", str(exc))
    statements = [
        (statement_to_dict(s), [balance_to_dict(b) for b in s.other_balances])
        for s in result.statements
    ]
    lines = [
        (line_to_dict(ln), ln.origin.raw, ln.origin.file)
        for s in result.statements
        for ln in s.lines
    ]
    return statements, lines, [str(d) for d in result.diagnostics], engines


def assert_same_reading(data: bytes) -> None:
    reference = outcome(data, engine=ELEMENTTREE)
    for engine in (DETACHED, LXML):
        fast = outcome(data, engine=engine)
        if fast[0] == "refused" or reference[0] == "refused":
            assert fast == reference
        else:
            assert fast[:3] == reference[:3], engine


@pytest.mark.parametrize("sample", SAMPLES, ids=[p.name for p in SAMPLES])
def test_every_camt_sample_reads_the_same_with_lxml(sample: Any) -> None:
    data = sample.read_bytes()
    assert_same_reading(data)
    assert outcome(data, engine=LXML)[3] in ([True], [])  # lxml did build the tree


@pytest.mark.parametrize("name", sorted(CASES))
def test_edge_cases_read_the_same_with_lxml(name: str) -> None:
    assert_same_reading(CASES[name])


def test_camt_rows_carry_exactly_the_columns_storage_reads() -> None:
    assert set(camt._Line._fields) == set(COLUMNS)


def test_documents_libxml2_refuses_are_read_by_elementtree() -> None:
    for name in ("deeper than libxml2 allows", "version 2.0", "utf-16"):
        _, lines, _, engines = outcome(CASES[name], lxml=True)
        assert engines == [(False, False)], name
        assert lines, name


@pytest.mark.parametrize("name", DETACHABLE)
def test_plain_cases_are_read_with_their_entries_detached(name: str) -> None:
    assert outcome(CASES[f"{name}, detached"], engine=DETACHED)[3] == [(True, True)]


def test_a_syntax_error_is_worded_by_elementtree() -> None:
    *_, diagnostics, engines = outcome(CASES["undefined entity"], lxml=True)
    assert engines == []
    assert diagnostics == ["t.xml:3: not well-formed XML: undefined entity"]


SEEDS = [BATCH.encode(), BLANKS.encode(), PREFIXED.encode(), _plain(BATCH.encode()),
         _plain(BLANKS.encode())] + [p.read_bytes() for p in SAMPLES]


@settings(
    max_examples=int(os.environ.get("SOLIDARITY_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_mutated_files_read_the_same_with_lxml(data: st.DataObject) -> None:
    interesting = b"<>/:?!&;#[]-\n\r\t \x00\x07\x85\xc3\xa9\xff0123456789.-+CDNtryEURxmlns="
    assert_same_reading(mutate(data, data.draw(st.sampled_from(SEEDS)), interesting, 6))


@pytest.mark.parametrize("chunk", [1, 3])
def test_entries_read_a_few_at_a_time_read_the_same(chunk: int) -> None:
    # several slices per statement: lines, raw text and problems do not depend on them
    for data in [*CASES.values(), *(p.read_bytes() for p in SAMPLES)]:
        expected = outcome(data, engine=DETACHED)
        with mock.patch.object(camt, "_EXTRACT_CHUNK", chunk):
            assert outcome(data, engine=DETACHED) == expected
            assert outcome(data, engine=LXML)[:3] == expected[:3]
