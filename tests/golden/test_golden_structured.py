"""Golden files: every camt, MT940, OFX and QIF sample read by its reader.

For each sample ``<name>`` in the shared data folders, ``imports/`` holds:

* ``<name>.statements.json`` — the statement headers (``statement_to_dict``
  plus the other balances);
* ``<name>.jsonl`` — one ``line_to_dict`` per statement line;
* ``<name>.errors.txt`` — every diagnostic, when there is any, as
  ``name:line: message`` (errors and warnings).

QIF samples sit beside the CSV ones and state no currency: they are read in
``QIF_CURRENCY``.

Regenerate after an intended change with
``SOLIDARITY_UPDATE_GOLDEN=1 .venv/bin/pytest tests/golden/test_golden_structured.py``
and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from imports import camt, mt940, ofx, qif
from imports.model import ReadResult
from imports.serialize import balance_to_dict, line_to_dict, statement_to_dict
from tests.helpers import SAMPLE_DATA

DATA = SAMPLE_DATA
GOLDEN = Path(__file__).with_name("imports")
READERS: dict[str, ModuleType] = {"camt": camt, "mt940": mt940, "ofx": ofx}
#: The currency the QIF samples (US Quicken exports) are read in.
QIF_CURRENCY = "USD"

#: Marked malformed in PROVENANCE.md: must be refused with a located error.
MALFORMED = {
    "genkgo_camt053.v2.wrong.xml",
    "oca_test-camt053-wrong-amount.xml",
    "self-provided_invalid_statement.sta",
    "betterplace_sepa_snippet_broken.sta",
    "oca_test_ofx_wrong.ofx",
}

#: Anonymised samples whose stated balances their own lines do not reach; the
#: readers refuse them by default ("balances do not add up") and read them
#: cleanly with ``strict_balances=False``.
UNBALANCED = {
    "genkgo_camt053.v2.all-balance-types.xml",
    "genkgo_camt053.v2.five.decimals.xml",
    "oca_test-camt053.xml",
    "jejik_abnamro.sta",
    "jejik_ing.sta",
    "jejik_postfinance.sta",
    "jejik_triodos.sta",
    "self-provided_malformed_details.sta",
    "self-provided_raiffeisen-cmi.sta",
}

SAMPLES = sorted(
    (folder, p.name)
    for folder in READERS
    if (DATA / folder).is_dir()
    for p in (DATA / folder).iterdir()
    if p.is_file()
) + sorted(("csv", p.name) for p in (DATA / "csv").glob("*.qif"))

pytestmark = pytest.mark.skipif(not SAMPLES, reason="sample data not available")


def _statement(st: Any) -> dict[str, Any]:
    d = statement_to_dict(st)
    d["other_balances"] = [balance_to_dict(b) for b in st.other_balances]
    return d


def _read(folder: str, sample: str, **kwargs: Any) -> ReadResult:
    path = DATA / folder / sample
    if path.suffix == ".qif":
        return qif.read(path, currency_hint=QIF_CURRENCY)
    result: ReadResult = READERS[folder].read(path, **kwargs)
    return result


def _diagnostics(result: ReadResult, folder: Path) -> list[str]:
    prefix = str(folder) + os.sep
    return [str(d).replace(prefix, "") for d in result.diagnostics]


def _compare(path: Path, got: str) -> None:
    if os.environ.get("SOLIDARITY_UPDATE_GOLDEN") == "1":
        if got:
            path.write_text(got, encoding="utf-8")
        elif path.exists():
            path.unlink()
    if not got:
        assert not path.exists(), f"{path.name} expects diagnostics the reader no longer gives"
        return
    assert path.is_file(), f"missing {path}; run with SOLIDARITY_UPDATE_GOLDEN=1"
    assert got == path.read_text(encoding="utf-8")


@pytest.mark.parametrize(("folder", "sample"), SAMPLES, ids=[s for _, s in SAMPLES])
def test_sample_reads_as_its_golden_files_say(folder: str, sample: str) -> None:
    result = _read(folder, sample)
    statements = json.dumps(
        [_statement(st) for st in result.statements], ensure_ascii=False, indent=1, sort_keys=True
    )
    lines = "".join(
        json.dumps(line_to_dict(line), ensure_ascii=False, sort_keys=True) + "\n"
        for st in result.statements
        for line in st.lines
    )
    diagnostics = "".join(d + "\n" for d in _diagnostics(result, DATA / folder))
    _compare(GOLDEN / f"{sample}.statements.json", statements + "\n")
    _compare(GOLDEN / f"{sample}.jsonl", lines)
    _compare(GOLDEN / f"{sample}.errors.txt", diagnostics)


@pytest.mark.parametrize(("folder", "sample"), SAMPLES, ids=[s for _, s in SAMPLES])
def test_only_malformed_samples_are_refused(folder: str, sample: str) -> None:
    result = _read(folder, sample)
    if sample in MALFORMED:
        assert result.errors, "a malformed sample must be refused"
        assert all(d.line is not None for d in result.errors), "errors must say file:line"
        return
    if sample in UNBALANCED:
        assert result.errors
        assert all("balances do not add up" in d.message for d in result.errors)
        result = _read(folder, sample, strict_balances=False)
    assert result.ok, [str(d) for d in result.errors]
    for st in result.statements:
        for line in st.lines:
            assert line.origin.file == str(DATA / folder / sample)
            assert line.origin.line is not None and line.origin.line >= 1
            assert line.origin.location and line.origin.raw


def test_every_sample_has_golden_files() -> None:
    names = {s for _, s in SAMPLES}
    assert MALFORMED <= names and UNBALANCED <= names
    for name in names:
        assert (GOLDEN / f"{name}.statements.json").is_file(), name
