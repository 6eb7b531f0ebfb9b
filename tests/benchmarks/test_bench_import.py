"""Whole-import benchmarks (read + store in one transaction), issue 3 targets:
100,000-line CSV ≤ 1.5 s; 100,000-entry camt.053 ≤ 3 s; re-import of the 100k
file (all already known) ≤ 1 s; 1,000,000-line CSV ≤ 15 s with ≤ 1.5 GiB peak.

Run: pytest tests/benchmarks/test_bench_import.py --benchmark-only
(the 10^6 case also runs as a script to measure peak memory in a fresh process:
``python tests/benchmarks/test_bench_import.py 1000000``).
"""

from __future__ import annotations

import itertools
import os
import resource
import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ledger import orgs, statements
from ledger.bankfiles import BankLineSpec, write_camt053, write_csv_generic_en
from ledger.cli_imports import run_import
from ledger.db import make_engine, unit_of_work, upgrade
from ledger.money import Money

ACCOUNT = "Assets:Bank:Network:EUR"
IBAN = "FR7630006000011234567890189"
_n = itertools.count()


def iter_specs(n: int, with_ids: bool = True) -> Iterator[BankLineSpec]:
    """n synthetic contribution lines (generated lazily: the file, not memory, holds them)."""
    start = date(2026, 1, 1)
    for i in range(n):
        yield BankLineSpec(start + timedelta(days=i % 365), Money(100 + (i * 7919) % 1_000_000, "EUR"),
                           f"Union {i % 200}", "", f"E2E{i:08d}", f"Member contribution {i}",
                           f"TX{i:09d}" if with_ids else "")


def specs(n: int, with_ids: bool = True) -> list[BankLineSpec]:
    return list(iter_specs(n, with_ids))


def fresh(tmp: Path) -> Engine:
    eng = make_engine(str(tmp / f"imp{next(_n)}.db"))
    upgrade(eng)
    with unit_of_work(eng) as conn:
        orgs.add_account(conn, ACCOUNT, "asset", "EUR", iban=IBAN)
    return eng


def import_file(eng: Engine, path: Path) -> statements.FileOutcome:
    """The import command's own path: hash, read, store in one transaction."""
    return run_import(eng, [path], ACCOUNT, currency="EUR", allow_gap=True).files[0]


def dispose(eng: Engine, path: Path) -> None:
    """After a round: close the round's database, as the command's process ends.

    Left to the garbage collector, each round's SQLite connection kept its page
    cache (up to 64 MiB) into the next rounds, which grew slower: 3.1, 3.7, 4.3 s
    for the camt import in one process, against 3.1, 3.1, 3.3 s when closed."""
    eng.dispose()


@pytest.fixture(scope="module")
def csv_100k(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("csv") / "100k.csv"
    write_csv_generic_en(p, specs(100_000))
    os.sync()  # on disk before the clock starts (see main)
    return p


@pytest.fixture(scope="module")
def camt_100k(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("camt") / "100k.xml"
    write_camt053(p, IBAN, "EUR", Money(0, "EUR"), date(2026, 1, 1), specs(100_000),
                  date(2026, 12, 31), "BENCH")
    os.sync()
    return p


def test_import_csv_100k(benchmark, csv_100k: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = benchmark.pedantic(import_file, setup=lambda: ((fresh(tmp_path), csv_100k), {}),
                             teardown=dispose, rounds=3, iterations=1)
    assert out.new == 100_000


def test_import_camt_100k(benchmark, camt_100k: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = benchmark.pedantic(import_file, setup=lambda: ((fresh(tmp_path), camt_100k), {}),
                             teardown=dispose, rounds=3, iterations=1)
    assert out.new == 100_000


def test_reimport_csv_100k_all_known(benchmark, csv_100k: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    eng = fresh(tmp_path)
    import_file(eng, csv_100k)
    out = benchmark.pedantic(import_file, args=(eng, csv_100k), rounds=3, iterations=1)
    assert out.new == 0 and out.already_known == 100_000


def main(n: int) -> None:
    """Import an n-line CSV in a fresh process; print seconds and peak RSS."""
    import tempfile

    tmp = Path(tempfile.mkdtemp())
    p = tmp / "big.csv"
    write_csv_generic_en(p, iter_specs(n))
    # The file is on disk before the clock starts, as a bank's export is: otherwise
    # the kernel writes its 95 MB back during the import, against SQLite's own writes.
    os.sync()
    eng = fresh(tmp)
    t = time.perf_counter()
    out = import_file(eng, p)
    took = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"{n} lines: {took:.2f} s, {out.new} new, peak RSS {peak:.0f} MiB "
          f"(the reading child's: {child:.0f} MiB)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
