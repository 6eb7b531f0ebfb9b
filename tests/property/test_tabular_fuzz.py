"""Hostile CSV input never crashes the reader: it yields lines or diagnostics, nothing else."""

from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from imports.detect import read_file
from imports.model import ReadResult
from imports.profile import load_profile
from imports.tabular import float_to_decimal, read_csv
from tests.helpers import SAMPLE_DATA

PROFILES = [
    load_profile(n) for n in ("generic-semicolon-fr", "generic-en", "paypal-es", "oca-meta-data-fr")
]
SAMPLE = Path(str(SAMPLE_DATA / "csv/oca_paypal_statement_es.csv"))
GOOD_FR = (
    "Date;Date valeur;Libellé;Référence;Contrepartie;IBAN contrepartie;Débit;Crédit;Devise\n"
    "02/01/2025;03/01/2025;Cotisation;REF-1;SNES;FR76;;1 234,56;EUR\n"
    '05/01/2025;05/01/2025;"Virement\nMUTEB";REF-2;MUTEB;BF12;1 000,00;;XOF\n'
).encode()

SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _read_bytes(data: bytes, profile_index: int) -> ReadResult:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "f.csv"
        path.write_bytes(data)
        result = read_csv(path, PROFILES[profile_index % len(PROFILES)])
        auto = read_file(path)
    for r in (result, auto):
        assert isinstance(r, ReadResult)
        for diag in r.diagnostics:
            assert diag.message and str(diag).startswith(str(path))
    return result


@SETTINGS
@given(st.binary(max_size=2000), st.integers(0, 3))
def test_random_bytes_give_diagnostics_not_exceptions(data: bytes, which: int) -> None:
    _read_bytes(data, which)


@SETTINGS
@given(st.integers(0, len(GOOD_FR)), st.integers(0, 3))
def test_a_truncated_file_gives_diagnostics_not_exceptions(cut: int, which: int) -> None:
    _read_bytes(GOOD_FR[:cut], which)


@SETTINGS
@given(
    st.lists(
        st.tuples(st.integers(0, len(GOOD_FR) - 1), st.binary(min_size=1, max_size=3)), max_size=6
    ),
    st.integers(0, 3),
)
def test_a_mutated_file_gives_diagnostics_not_exceptions(
    edits: list[tuple[int, bytes]], which: int
) -> None:
    data = bytearray(GOOD_FR)
    for pos, chunk in edits:
        data[pos : pos + len(chunk)] = chunk
    _read_bytes(bytes(data), which)


CELL = st.text(alphabet=st.sampled_from(list("0123456789.,;- ()'\"\n€$+eE/x")), max_size=12)


@SETTINGS
@given(st.lists(st.lists(CELL, min_size=0, max_size=10), max_size=8), st.integers(0, 3))
# A quoted field running to the end puts a newline in an amount cell (found by CI).
@example([["", "", "", "", "0;", '"']], 0)
def test_rows_of_odd_cells_give_diagnostics_not_exceptions(
    rows: list[list[str]], which: int
) -> None:
    header = GOOD_FR.split(b"\n", 1)[0].decode("utf-8")
    body = "\n".join(";".join(r) for r in rows)
    _read_bytes(f"{header}\n{body}\n".encode(), which)


@SETTINGS
@given(st.integers(-(10**13) + 1, 10**13 - 1))
def test_every_two_decimal_amount_survives_a_spreadsheet_float(cents: int) -> None:
    exact = Decimal(cents).scaleb(-2)
    assert float_to_decimal(float(exact)) == exact


def test_the_spanish_sample_survives_every_truncation() -> None:
    data = SAMPLE.read_bytes()
    for cut in range(0, len(data), 7):
        _read_bytes(data[:cut], 2)
