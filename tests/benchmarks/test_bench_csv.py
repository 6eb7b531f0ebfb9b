"""Reader benchmarks: CSV at 10^5 and 10^6 lines, XLSX at 10^5 rows.

The whole import (reader + database) targets 1.5 s for 100,000 lines and 15 s
for 1,000,000 with at most 1.5 GiB peak memory on a 2-core machine, so the
reader must stay well inside that.  Peak traced memory is recorded in
``extra_info``.
Run: .venv/bin/pytest tests/benchmarks/test_bench_csv.py --benchmark-only
"""

from __future__ import annotations

import random
import tracemalloc
from datetime import date, timedelta
from pathlib import Path

import pytest

from imports.model import ReadResult
from imports.profile import load_profile
from imports.tabular import read_csv, read_xlsx

HEADER = (
    "Date,Value date,Description,Reference,Counterparty,Counterparty account,Amount,Currency,"
    "Transaction id\n"
)


def _write_csv(path: Path, n: int, *, distinct_amounts: bool = True) -> Path:
    """A generic-en file: random amounts (worst case for the parse caches) or 1 € dues."""
    rnd = random.Random(7)
    start = date(2024, 1, 1)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(HEADER)
        for i in range(n):
            d = (start + timedelta(days=i % 366)).isoformat()
            cents = rnd.randint(-500_000, 500_000) if distinct_amounts else 100 * (1 + i % 3)
            sign = "-" if cents < 0 else ""
            fh.write(
                f"{d},{d},Member contribution {i % 1000},REF{i:08d},Union {i % 300},"
                f"FR763000400000{i % 300:010d},{sign}{abs(cents) // 100}.{abs(cents) % 100:02d},"
                f"EUR,TX{i:010d}\n"
            )
    return path


@pytest.fixture(scope="module")
def csv_100k(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write_csv(tmp_path_factory.mktemp("bench") / "100k.csv", 100_000)


@pytest.fixture(scope="module")
def csv_1m(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write_csv(tmp_path_factory.mktemp("bench") / "1m.csv", 1_000_000)


def _peak_mib(fn: object) -> float:
    tracemalloc.start()
    try:
        fn()  # type: ignore[operator]
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def _check(result: ReadResult, n: int) -> None:
    assert result.ok and result.line_count == n


def test_bench_read_csv_100k_lines(benchmark, csv_100k: Path) -> None:  # type: ignore[no-untyped-def]
    profile = load_profile("generic-en")
    result = benchmark.pedantic(read_csv, args=(csv_100k, profile), rounds=3, iterations=1)
    _check(result, 100_000)
    benchmark.extra_info["peak_mib"] = round(_peak_mib(lambda: read_csv(csv_100k, profile)), 1)


def test_bench_read_csv_100k_lines_of_one_euro_dues(benchmark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = _write_csv(tmp_path / "dues.csv", 100_000, distinct_amounts=False)
    profile = load_profile("generic-en")
    result = benchmark.pedantic(read_csv, args=(path, profile), rounds=3, iterations=1)
    _check(result, 100_000)


def test_bench_read_csv_1m_lines(benchmark, csv_1m: Path) -> None:  # type: ignore[no-untyped-def]
    profile = load_profile("generic-en")
    result = benchmark.pedantic(read_csv, args=(csv_1m, profile), rounds=1, iterations=1)
    _check(result, 1_000_000)
    del result
    benchmark.extra_info["peak_mib"] = round(_peak_mib(lambda: read_csv(csv_1m, profile)), 1)


@pytest.fixture(scope="module")
def xlsx_100k(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import openpyxl

    path = tmp_path_factory.mktemp("bench") / "100k.xlsx"
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("Sheet1")
    ws.append(
        ["Date", "Label", "Currency", "Amount", "Amount Currency", "Partner Name", "Bank Account"]
    )
    rnd = random.Random(1)
    start = date(2024, 1, 1)
    for i in range(100_000):
        ws.append(
            [
                start + timedelta(days=i % 365),
                f"Member dues {i}",
                "EUR",
                rnd.randint(-100_000, 100_000) / 100,
                0,
                f"Union {i % 500}",
                f"FR76{i:020d}",
            ]
        )
    wb.save(path)
    return path


@pytest.mark.parametrize("engine", ["calamine", "openpyxl"])
def test_bench_read_xlsx_100k_rows(
    benchmark, xlsx_100k: Path, engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SOLIDARITY_XLSX_ENGINE", engine)
    profile = load_profile("oca-sample-en")
    result = benchmark.pedantic(read_xlsx, args=(xlsx_100k, profile), rounds=1, iterations=1)
    _check(result, 100_000)
