"""Format detection and the single read_file entry point."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from imports.detect import UNKNOWN_MESSAGE, detect, detect_format, read_file
from imports.model import ImportFileError
from tests.helpers import SAMPLE_DATA

DATA = SAMPLE_DATA

DETECTED = {
    "oca_balance.csv": "csv (profile oca-balance-en)",
    "oca_debit_credit.csv": "csv (profile oca-dc-indicator-en)",
    "oca_debit_credit_amount.csv": "csv (profile oca-debit-credit-columns-en)",
    "oca_meta_data_separated_credit_debit.csv": "csv (profile oca-meta-data-fr)",
    "oca_meta_data_separated_credit_debit.xlsx": "xlsx (profile oca-meta-data-fr)",
    "oca_multi_currency.csv": "csv (profile oca-multi-currency-en)",
    "oca_original_currency.csv": "csv (profile oca-sample-en)",
    "oca_paypal_statement_en.csv": "csv (profile paypal-en)",
    "oca_paypal_statement_es.csv": "csv (profile paypal-es)",
    "oca_sample_statement_en.csv": "csv (profile oca-sample-en)",
    "oca_sample_statement_en.xlsx": "xlsx (profile oca-sample-en)",
    "oca_sample_statement_en_empty_values.xlsx": "xlsx (profile oca-empty-values-xlsx)",
    "oca_sample_statement_offsets.xlsx": "xlsx (profile oca-sample-en)",
}


@pytest.mark.parametrize("sample", sorted(DETECTED))
def test_each_spreadsheet_sample_is_recognised_by_its_header(sample: str) -> None:
    assert detect_format(DATA / "csv" / sample) == DETECTED[sample]


def test_auto_detection_reads_the_file_with_the_profile_it_found() -> None:
    result = read_file(DATA / "csv" / "oca_paypal_statement_es.csv")
    assert result.ok and result.line_count == 4
    assert result.statements[0].format == "csv"


def test_the_demo_layouts_are_recognised(tmp_path: Path) -> None:
    fr = tmp_path / "fr.csv"
    fr.write_text(
        "\ufeffDate;Date valeur;Libellé;Référence;Contrepartie;IBAN contrepartie;Débit;Crédit;Devise\n"
        "02/01/2025;02/01/2025;Cotisation;R1;SNES;FR76;;10,00;EUR\n",
        encoding="utf-8",
    )
    en = tmp_path / "en.csv"
    en.write_text(
        "Date,Value date,Description,Reference,Counterparty,Counterparty account,Amount,"
        "Currency,Transaction id\n2025-01-02,2025-01-03,Dues,R1,CTF,CA12,1234.56,CAD,T-1\n",
        encoding="utf-8",
    )
    assert detect_format(fr) == "csv (profile generic-semicolon-fr)"
    assert detect_format(en) == "csv (profile generic-en)"
    line = read_file(en).statements[0].lines[0]
    assert line.bank_transaction_id == "T-1" and line.amount.minor == 123456


def test_an_unknown_file_gets_one_clear_diagnostic(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("Dear treasurer,\nplease find attached...\n", encoding="utf-8")
    result = read_file(path)
    assert [str(d) for d in result.diagnostics] == [f"{path}: {UNKNOWN_MESSAGE}"]
    assert UNKNOWN_MESSAGE == (
        "cannot tell the format; pass --profile NAME (see `solidarity profiles list`)"
    )


def test_an_explicit_profile_forces_the_reader() -> None:
    path = DATA / "csv" / "oca_sample_statement_credit_card_inverse_sign_en.csv"
    auto = read_file(path)
    forced = read_file(path, "oca-credit-card-inverse-en")
    assert [ln.amount.minor for ln in auto.statements[0].lines] == [3350, -152500]
    assert [ln.amount.minor for ln in forced.statements[0].lines] == [-3350, 152500]


def test_a_profile_can_be_given_as_a_path(tmp_path: Path) -> None:
    prof = tmp_path / "mine.toml"
    prof.write_text(
        'name = "mine"\ncurrency = "SEK"\n[columns]\ndate = "D"\namount = "A"\n', encoding="utf-8"
    )
    data = tmp_path / "x.csv"
    data.write_text("D,A\n2025-03-01,100\n", encoding="utf-8")
    result = read_file(data, str(prof))
    assert result.ok and result.statements[0].currency == "SEK"


def test_an_empty_file_and_an_old_xls_are_explained(tmp_path: Path) -> None:
    empty = tmp_path / "e.csv"
    empty.write_bytes(b"")
    assert read_file(empty).diagnostics[0].message == "the file is empty"
    xls = tmp_path / "old.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    assert ".xlsx" in read_file(xls).diagnostics[0].message


def test_a_file_above_the_size_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOLIDARITY_MAX_IMPORT_BYTES", "10")
    path = tmp_path / "big.csv"
    path.write_text("Date,Amount\n2025-01-01,1\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match="above the limit"):
        read_file(path)
    with pytest.raises(ImportFileError, match="above the limit"):
        read_file(path, "generic-en")


def test_a_layout_two_user_profiles_claim_is_not_guessed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOLIDARITY_PROFILE_DIR", str(tmp_path))
    for name in ("bank-a", "bank-b"):
        (tmp_path / f"{name}.toml").write_text(
            f'name = "{name}"\ncurrency = "EUR"\n[columns]\ndate = "Booked"\namount = "Sum"\n',
            encoding="utf-8",
        )
    data = tmp_path / "x.csv"
    data.write_text("Booked,Sum\n2025-01-01,1\n", encoding="utf-8")
    assert detect(data).candidates == ("bank-a", "bank-b")
    [diag] = read_file(data).diagnostics
    assert "several profiles fit this file (bank-a, bank-b)" in diag.message


@pytest.mark.parametrize(
    ("module", "sample", "kind"),
    [
        ("imports.camt", "camt/oca_test-camt053.xml", "camt"),
        ("imports.mt940", "mt940/jejik_ing.sta", "mt940"),
        ("imports.ofx", "ofx/oca_test_ofx.ofx", "ofx"),
        ("imports.qif", "csv/oca_test_qif.qif", "qif"),
    ],
)
def test_structured_formats_go_to_their_own_readers(module: str, sample: str, kind: str) -> None:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not written yet")
    path = DATA / sample
    if not path.is_file():
        pytest.skip(f"no sample {sample}")
    assert detect(path).kind == kind
