"""A big camt statement read by two processes gives exactly what one process gives.

``SPLIT_ENTRIES`` is lowered so that statements of a few entries are split (and
read three entries at a time); every document is read with the forked child and
without it, and statements, lines (with raw XML), balances and problems must be
identical.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imports import camt, forked
from tests.helpers import mutate
from tests.unit.test_camt_engines import CASES, NS, SAMPLES, SEEDS, outcome

needs_fork = pytest.mark.skipif(not forked.can_fork(), reason="no fork here (or one CPU)")


@pytest.fixture(autouse=True)
def split_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(camt, "SPLIT_ENTRIES", 2)
    monkeypatch.setattr(camt, "_EXTRACT_CHUNK", 3)  # each process reads several slices
    monkeypatch.setattr(forked, "_SAMPLE", 4)  # text columns of 4 lines travel joined


def _both(data: bytes, monkeypatch: pytest.MonkeyPatch) -> Any:
    split = outcome(data, lxml=True)
    with monkeypatch.context() as m:
        m.setenv(forked.WORKERS_ENV, "1")
        whole = outcome(data, lxml=True)
    assert split == whole
    return split


def _entry(k: int, ref: str, amount: str = "1.00", extra: str = "") -> str:
    return (f"<Ntry><Amt Ccy=\"EUR\">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd>"
            f"<BookgDt><Dt>2025-01-{1 + k % 28:02d}</Dt></BookgDt>"
            f"<AcctSvcrRef>{ref}</AcctSvcrRef>{extra}</Ntry>\n")


def _document(entries: list[str]) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{NS}"><BkToCstmrStmt>\n'
            "<Stmt><Id>S</Id><Acct><Id><IBAN>FR7630001007941234567890185</IBAN></Id>"
            "<Ccy>EUR</Ccy></Acct>\n" + "".join(entries)
            + "</Stmt></BkToCstmrStmt></Document>\n").encode()


@pytest.mark.parametrize("sample", SAMPLES, ids=[p.name for p in SAMPLES])
def test_every_sample_reads_the_same_split(sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _both(sample.read_bytes(), monkeypatch)


@pytest.mark.parametrize("name", sorted(CASES))
def test_edge_cases_read_the_same_split(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _both(CASES[name], monkeypatch)


@needs_fork
def test_problems_of_both_halves_and_a_repeated_id_across_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "pids"
    real = camt._Reader.entry

    def spy(self: camt._Reader, *args: Any) -> Any:
        with marker.open("a") as fh:
            fh.write(f"{os.getpid()}\n")
        return real(self, *args)

    monkeypatch.setattr(camt._Reader, "entry", spy)
    entries = [_entry(k, f"TX{k}") for k in range(10)]
    entries[1] = _entry(1, "TX1", amount="1.005")  # refused: too many decimals
    entries[7] = _entry(7, "TX2")  # the id of entry 3, in the other half
    entries[8] = _entry(8, "TX8", extra="<Sts>PDNG</Sts>")  # not booked: skipped
    _, lines, diagnostics, _ = _both(_document(entries), monkeypatch)
    assert len(lines) == 8
    assert diagnostics == [
        ("t.xml:5: amount 1.005 EUR has more decimals than EUR allows (2); refused rather than "
         "rounded [Stmt[1]/Ntry[2]/Amt]"),
        "t.xml:12: warning: entry not booked (status PDNG): skipped [Stmt[1]/Ntry[9]]",
        # on the entry that repeats the id, after the entries' own problems
        ("t.xml:11: warning: bank transaction id 'TX2' appears twice in this statement "
         "[Stmt[1]/Ntry[8]]"),
    ]
    assert len({int(p) for p in marker.read_text().split()}) == 2  # this process and the child


@settings(max_examples=int(os.environ.get("SOLIDARITY_FUZZ_EXAMPLES", "60")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_files_read_the_same_split(data: st.DataObject,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    interesting = b"<>/:!&;#-\n 0123456789.CDNtryEURAcctSvcrRef"
    _both(mutate(data, data.draw(st.sampled_from(SEEDS)), interesting, 4), monkeypatch)
