"""Golden files: every CSV/XLSX sample read with its shipped profile.

Each ``imports_tabular/<sample>.jsonl`` holds one ``line_to_dict`` per
statement line.  Regenerate after an intended change with
``SOLIDARITY_UPDATE_GOLDEN=1 .venv/bin/pytest tests/golden/test_golden_tabular.py``
and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from imports.detect import read_file
from imports.serialize import line_to_dict
from tests.helpers import SAMPLE_DATA

DATA = SAMPLE_DATA / "csv"
GOLDEN = Path(__file__).with_name("imports_tabular")

# sample -> profile it must be read with (the same one auto-detection picks,
# except the credit card file whose header is the sample layout's).
SAMPLES = {
    "oca_balance.csv": "oca-balance-en",
    "oca_debit_credit.csv": "oca-dc-indicator-en",
    "oca_debit_credit_amount.csv": "oca-debit-credit-columns-en",
    "oca_meta_data_separated_credit_debit.csv": "oca-meta-data-fr",
    "oca_meta_data_separated_credit_debit.xlsx": "oca-meta-data-fr",
    "oca_multi_currency.csv": "oca-multi-currency-en",
    "oca_original_currency.csv": "oca-sample-en",
    "oca_paypal_statement_en.csv": "paypal-en",
    "oca_paypal_statement_es.csv": "paypal-es",
    "oca_sample_statement_credit_card_inverse_sign_en.csv": "oca-credit-card-inverse-en",
    "oca_sample_statement_en.csv": "oca-sample-en",
    "oca_sample_statement_en.xlsx": "oca-sample-en",
    "oca_sample_statement_en_empty_values.xlsx": "oca-empty-values-xlsx",
    "oca_sample_statement_offsets.xlsx": "oca-sample-en",
}

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="sample data not available")


@pytest.mark.parametrize("sample", sorted(SAMPLES))
def test_sample_reads_as_its_golden_file_says(sample: str) -> None:
    result = read_file(DATA / sample, SAMPLES[sample])
    assert result.ok, [str(d) for d in result.errors]
    got = [
        json.dumps(line_to_dict(line), ensure_ascii=False, sort_keys=True)
        for st in result.statements
        for line in st.lines
    ]
    golden = GOLDEN / f"{sample}.jsonl"
    if os.environ.get("SOLIDARITY_UPDATE_GOLDEN") == "1":
        golden.write_text("".join(g + "\n" for g in got), encoding="utf-8")
    assert golden.is_file(), f"missing {golden}; run with SOLIDARITY_UPDATE_GOLDEN=1"
    assert got == golden.read_text(encoding="utf-8").splitlines()


def test_every_spreadsheet_sample_has_a_golden_file() -> None:
    samples = {p.name for p in DATA.iterdir() if p.suffix in (".csv", ".xlsx")}
    assert samples == set(SAMPLES)
