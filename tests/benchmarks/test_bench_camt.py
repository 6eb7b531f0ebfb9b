"""How long a 100,000-entry camt.053 takes to read.

Run with ``.venv/bin/pytest tests/benchmarks/test_bench_camt.py --benchmark-only``.
The file is generated once per session: one statement, 100,000 booked
entries (every tenth a debit with charges), each with its transaction details,
parties and remittance, about 70 MB of XML.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from imports import camt
from imports.xmlsafe import parse_bytes

ENTRIES = 100_000


def _entry(i: int) -> str:
    debit = i % 10 == 0
    amount = "3.00" if debit else "1.00"
    charges = (
        '<Chrgs><Rcrd><Amt Ccy="EUR">0.10</Amt><CdtDbtInd>DBIT</CdtDbtInd></Rcrd></Chrgs>'
        if debit
        else ""
    )
    role, other = ("Cdtr", "Dbtr") if debit else ("Dbtr", "Cdtr")
    return f"""<Ntry>
  <NtryRef>{i}</NtryRef>
  <Amt Ccy="EUR">{amount}</Amt>
  <CdtDbtInd>{"DBIT" if debit else "CRDT"}</CdtDbtInd>
  <Sts><Cd>BOOK</Cd></Sts>
  <BookgDt><Dt>2025-01-{1 + i % 28:02d}</Dt></BookgDt>
  <ValDt><Dt>2025-01-{1 + i % 28:02d}</Dt></ValDt>
  <AcctSvcrRef>REF{i:08d}</AcctSvcrRef>
  <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>
  <NtryDtls><TxDtls>
    <Refs><EndToEndId>E2E-{i}</EndToEndId></Refs>
    <Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>{"DBIT" if debit else "CRDT"}</CdtDbtInd>{charges}
    <RltdPties><{role}><Pty><Nm>Member union {i % 500}</Nm></Pty></{role}>
      <{role}Acct><Id><IBAN>SE4550000000058398257466</IBAN></Id></{role}Acct>
      <{other}><Pty><Nm>Solidarity fund</Nm></Pty></{other}></RltdPties>
    <RmtInf><Ustrd>Solidarity pledge 2025 member {i}</Ustrd></RmtInf>
  </TxDtls></NtryDtls>
</Ntry>
"""


def write_statement(path: Path, entries: int = ENTRIES) -> None:
    """Write a camt.053.001.08 statement of ``entries`` entries whose balances add up."""
    debits = sum(1 for i in range(entries) if i % 10 == 0)
    closing_minor = (entries - debits) * 100 - debits * 300
    sign = "CRDT" if closing_minor >= 0 else "DBIT"
    closing = f"{abs(closing_minor) // 100}.{abs(closing_minor) % 100:02d}"
    with path.open("w", encoding="utf-8") as out:
        out.write(
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">\n'
            "<BkToCstmrStmt><GrpHdr><MsgId>BENCH</MsgId>"
            "<CreDtTm>2025-01-31T10:00:00</CreDtTm></GrpHdr>\n"
            "<Stmt><Id>BENCH-1</Id><CreDtTm>2025-01-31T10:00:00</CreDtTm>\n"
            "<Acct><Id><IBAN>FR7630001007941234567890185</IBAN></Id><Ccy>EUR</Ccy></Acct>\n"
            '<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">0.00</Amt>'
            "<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2024-12-31</Dt></Dt></Bal>\n"
            "<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp>"
            f'<Amt Ccy="EUR">{closing}</Amt><CdtDbtInd>{sign}</CdtDbtInd>'
            "<Dt><Dt>2025-01-31</Dt></Dt></Bal>\n"
        )
        for start in range(0, entries, 1000):
            out.write("".join(_entry(i) for i in range(start, min(start + 1000, entries))))
        out.write("</Stmt></BkToCstmrStmt></Document>\n")


@pytest.fixture(scope="module")
def big_statement(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("camt") / "camt053-100k.xml"
    write_statement(path)
    return path


def test_bench_reading_a_100k_entry_camt053(benchmark, big_statement: Path) -> None:  # type: ignore[no-untyped-def]
    result = benchmark.pedantic(camt.read, args=(big_statement,), rounds=3, iterations=1)
    assert result.ok, [str(d) for d in result.errors[:5]]
    assert result.line_count == ENTRIES
    assert result.statements[0].lines[-1].origin.line is not None


def test_bench_building_the_xml_tree_of_a_100k_entry_camt053(
    benchmark, big_statement: Path
) -> None:  # type: ignore[no-untyped-def]
    data = big_statement.read_bytes()
    doc = benchmark.pedantic(parse_bytes, args=(data, str(big_statement)),
                             kwargs={"prefer_lxml": True}, rounds=3, iterations=1)
    assert doc.namespace.endswith("camt.053.001.08")
