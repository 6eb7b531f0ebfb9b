"""A big CSV read by two processes gives exactly what one process gives.

``SPLIT_BYTES`` is lowered so that files of a few lines are cut in two; every
case is read once with the forked child and once with it turned off, and the
statements, lines and problems must be identical.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from imports import forked, tabular
from imports.model import ReadResult
from imports.profile import Profile
from ledger.lines import LineColumns
from tests.unit.test_tabular import EN, _profile
from tests.unit.test_tabular import EN_HEADER as HEADER


@pytest.fixture(autouse=True)
def split_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tabular, "SPLIT_BYTES", 1)
    monkeypatch.setattr(tabular, "BATCH_ROWS", 2)
    monkeypatch.setattr(tabular, "BLOCK_ROWS", 3)
    monkeypatch.setattr(forked, "_SAMPLE", 4)  # text columns of 4 rows travel joined


def _snapshot(result: ReadResult) -> tuple[list[Any], list[Any]]:
    statements = [(st.account, st.currency, st.opening, st.closing, st.period_start,
                   st.period_end, LineColumns.of(st.lines).columns) for st in result.statements]
    problems = [(d.file, d.line, d.message, d.severity, d.location) for d in result.diagnostics]
    return statements, problems


def _both(path: Path, profile: Profile, monkeypatch: pytest.MonkeyPatch) -> ReadResult:
    """Read ``path`` split and unsplit; they must agree; return the split reading."""
    split = tabular.read_csv(path, profile, currency_hint="EUR")
    with monkeypatch.context() as m:
        m.setenv(forked.WORKERS_ENV, "1")
        whole = tabular.read_csv(path, profile, currency_hint="EUR")
    assert _snapshot(split) == _snapshot(whole)
    return split


def _rows(n: int, start: int = 0) -> str:
    cur = ("EUR", "EUR", "USD")
    return "".join(
        f"2026-01-{1 + i % 28:02d},2026-01-{1 + i % 28:02d},Contribution {i},E2E{i},Union {i % 7},"
        f",{(i * 37) % 1000}.{i % 100:02d},{cur[i % 3]},TX{i}\n" for i in range(start, start + n))


@pytest.mark.skipif(not forked.can_fork(), reason="no fork here (or one CPU)")
def test_a_big_file_is_really_read_by_two_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "child"
    real = tabular._read_tail

    def spy(*args: Any) -> Any:
        with marker.open("a") as fh:
            fh.write(f"{os.getpid()}\n")
        return real(*args)

    monkeypatch.setattr(tabular, "_read_tail", spy)
    path = tmp_path / "big.csv"
    path.write_text(HEADER + _rows(40))
    result = _both(path, EN, monkeypatch)
    assert [int(pid) for pid in marker.read_text().split()] != [os.getpid()]
    assert result.line_count == 40 and [st.currency for st in result.statements] == ["EUR", "USD"]


def test_problems_in_both_halves_come_back_in_file_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = _rows(30).splitlines(keepends=True)
    body[3] = body[3].replace("2026-01-04,", "2026-13-04,", 1)
    body[25] = body[25].replace(",EUR,", ",EURO,")
    body[27] = ",,Note only,,,,,,\n"
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "".join(body))
    result = _both(path, EN, monkeypatch)
    assert [d.line for d in result.diagnostics] == [5, 27, 29]


def test_quoted_fields_over_several_lines_and_stray_quotes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = []
    for i in range(40):
        text = f'"Note {i}\nsecond line, with a comma\nand ""quotes"""' if i % 3 else f'Pipe {i}" wide'
        rows.append(f"2026-02-{1 + i % 28:02d},,{text},R{i},U,,{i}.00,EUR,\n")
    path = tmp_path / "quoted.csv"
    path.write_text(HEADER + "".join(rows))
    result = _both(path, EN, monkeypatch)
    assert result.ok and result.line_count == 40


def test_a_cut_inside_a_quoted_field_falls_back_to_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One stray quote early makes every later quoted field look open at its newlines.
    long_note = '"' + "\n".join(f"line {k}" for k in range(200)) + '"'
    rows = ['2026-03-01,,Pipe 3" wide,R0,U,,1.00,EUR,\n']
    rows += [f"2026-03-02,,{long_note},R{i},U,,{i}.00,EUR,\n" for i in range(1, 6)]
    path = tmp_path / "odd.csv"
    path.write_text(HEADER + "".join(rows))
    engines = []
    real = tabular._Engine.__init__

    def counted(self: tabular._Engine, *args: Any) -> None:
        engines.append(self)
        real(self, *args)

    with monkeypatch.context() as m:
        m.setattr(tabular._Engine, "__init__", counted)
        result = _both(path, EN, monkeypatch)
    assert result.line_count == 6
    if forked.can_fork():  # the split reading noticed the bad cut and read it all again
        assert len(engines) == 3


def test_running_balances_and_a_preamble_above_the_header(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile = _profile('header_match = ["Date", "Amount"]\n',
                       'date = "Date"\namount = "Amount"\nbalance = "Balance"\n')
    balance, rows = 10_000, []
    for i in range(50):
        balance += i * 1000
        rows.append(f"2026-04-{1 + i % 28:02d},{i * 10}.00,{balance // 100}.{balance % 100:02d}\n")
    path = tmp_path / "balance.csv"
    path.write_text("Bank export\nAccount: 123\nDate,Amount,Balance\n" + "".join(rows))
    result = _both(path, profile, monkeypatch)
    [st] = result.statements
    assert st.opening is not None and st.closing is not None
    assert st.closing.amount.minor - st.opening.amount.minor == sum(i * 10 * 100 for i in range(50))


def test_files_without_a_header_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    profile = _profile("header = false\nskip_rows = 1\n", "date = 1\namount = 2\n")
    path = tmp_path / "plain.csv"
    path.write_text("exported 2026-05-31\n" + "".join(f"2026-05-{1 + i % 28:02d},{i}\n"
                                                       for i in range(30)))
    result = _both(path, profile, monkeypatch)
    assert result.ok and result.line_count == 30


@pytest.mark.parametrize("where", [3, 30])
def test_an_undecodable_line_in_either_half(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: int
) -> None:
    body = _rows(40).encode().splitlines(keepends=True)
    body[where] = body[where].replace(b"Contribution", b"Contribuci\xf3n")
    path = tmp_path / "latin.csv"
    path.write_bytes(HEADER.encode() + b"".join(body))
    result = _both(path, EN, monkeypatch)
    assert any("cannot decode" in d.message for d in result.errors)


def test_a_byte_order_mark_and_windows_line_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (HEADER + _rows(30)).replace("\n", "\r\n").encode())
    result = _both(path, EN, monkeypatch)
    assert result.ok and result.line_count == 30
    assert result.statements[1].lines[-1].origin.raw.endswith("TX29")
    assert not any("\r" in line.origin.raw for st in result.statements for line in st.lines)


def test_where_a_file_is_cut(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "cut.csv"
    path.write_text(HEADER + _rows(40))
    offset, line = tabular._split_point(path, EN, "utf-8-sig") or (0, 0)
    data = path.read_bytes()
    assert data[offset - 1 : offset] == b"\n" and data[:offset].count(b"\n") + 1 == line
    assert offset >= len(data) * tabular._PARENT_SHARE
    # Not cut: codecs whose bytes cannot be split on newlines, and small files.
    assert tabular._split_point(path, EN, "utf-16") is None
    monkeypatch.setattr(tabular, "SPLIT_BYTES", len(data) + 1)
    assert tabular._split_point(path, EN, "utf-8-sig") is None
