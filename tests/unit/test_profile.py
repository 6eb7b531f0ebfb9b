"""Profiles: loading, validation messages, search path and header matching."""

from __future__ import annotations

from pathlib import Path

import pytest

from imports.profile import (
    SHIPPED_DIR,
    ProfileError,
    find_profile_by_header,
    list_profiles,
    load_profile,
    parse_profile,
)

MINIMAL = """
name = "tiny"
date_format = "%d/%m/%Y"
currency = "EUR"

[columns]
date = "Date"
amount = "Amount"
"""


@pytest.fixture
def user_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "profiles"
    d.mkdir()
    monkeypatch.setenv("SOLIDARITY_PROFILE_DIR", str(d))
    return d


def _parse(text: str) -> object:
    import tomllib

    return parse_profile(tomllib.loads(text), "p.toml")


def test_every_shipped_profile_loads_and_names_are_unique() -> None:
    files = sorted(SHIPPED_DIR.glob("*.toml"))
    profiles = list_profiles()
    assert len(files) == len({p.name for p in profiles}) >= 12
    for f in files:  # the file name is the profile name, so users can find it
        assert load_profile(f).name == f.stem


def test_the_demo_profiles_are_shipped() -> None:
    fr = load_profile("generic-semicolon-fr")
    assert (fr.delimiter, fr.locale, fr.encoding) == (";", "fr_FR", "utf-8-sig")
    assert fr.columns.amount_out == "Débit" and fr.columns.amount_in == "Crédit"
    en = load_profile("generic-en")
    assert en.columns.bank_transaction_id == ("Transaction id",)


def test_a_minimal_profile_gets_sensible_defaults() -> None:
    p = _parse(MINIMAL)
    assert p.formats == ("csv",) and p.delimiter == "," and p.sign == "normal"
    assert p.signature == ("Date", "Amount")


def test_a_toml_syntax_error_is_reported_with_file_and_line(user_dir: Path) -> None:
    bad = user_dir / "broken.toml"
    bad.write_text('name = "broken"\n\n[columns\ndate = "Date"\n', encoding="utf-8")
    with pytest.raises(ProfileError, match=r"broken\.toml:3: "):
        load_profile(bad)


def test_an_unknown_key_is_named() -> None:
    with pytest.raises(ProfileError, match=r"p\.toml: key 'delimeter': unknown key"):
        _parse(MINIMAL.replace('name = "tiny"', 'name = "tiny"\ndelimeter = ";"'))


def test_a_profile_without_a_date_column_is_refused() -> None:
    with pytest.raises(ProfileError, match=r"key 'columns\.date'"):
        _parse(MINIMAL.replace('date = "Date"\n', ""))


def test_amount_and_debit_credit_columns_cannot_be_mixed() -> None:
    with pytest.raises(ProfileError, match=r"key 'columns\.amount'"):
        _parse(MINIMAL + 'debit = "Debit"\n')


def test_debit_and_credit_are_spellings_of_money_out_and_in() -> None:
    p = _parse(MINIMAL.replace('amount = "Amount"', 'debit = "D"\ncredit = "C"'))
    assert (p.columns.amount_out, p.columns.amount_in) == ("D", "C")


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ('encoding = "ebcdic"', "encoding"),
        ('locale = "xx_QQ_nope"', "locale"),
        ('sign = "upside-down"', "sign"),
        ('delimiter = ";;"', "delimiter"),
        ("skip_rows = -1", "skip_rows"),
        ('format = "pdf"', "format"),
    ],
)
def test_bad_values_name_their_key(line: str, key: str) -> None:
    with pytest.raises(ProfileError, match=rf"key '{key}'"):
        _parse(MINIMAL.replace('name = "tiny"', f'name = "tiny"\n{line}'))


def test_a_bad_currency_names_its_key() -> None:
    with pytest.raises(ProfileError, match="key 'currency'"):
        _parse(MINIMAL.replace('"EUR"', '"EURO"'))


def test_columns_are_numbers_when_the_file_has_no_header() -> None:
    text = MINIMAL.replace('name = "tiny"', 'name = "tiny"\nheader = false')
    with pytest.raises(ProfileError, match="name columns by number"):
        _parse(text)
    p = _parse(text.replace('date = "Date"', "date = 1").replace('amount = "Amount"', "amount = 2"))
    assert (p.columns.date, p.columns.amount) == (1, 2)


def test_a_user_profile_replaces_a_shipped_one_with_the_same_name(user_dir: Path) -> None:
    (user_dir / "mine.toml").write_text(
        MINIMAL.replace('"tiny"', '"paypal-en"').replace('"EUR"', '"SEK"'), encoding="utf-8"
    )
    assert load_profile("paypal-en").currency == "SEK"
    assert [p.name for p in list_profiles()].count("paypal-en") == 1


def test_a_broken_user_profile_does_not_hide_the_others(user_dir: Path) -> None:
    (user_dir / "bad.toml").write_text("name = \n[columns]\n", encoding="utf-8")
    errors: list[ProfileError] = []
    names = [p.name for p in list_profiles(errors=errors)]
    assert "paypal-en" in names and len(errors) == 1
    with pytest.raises(ProfileError, match=r"bad\.toml:1"):
        load_profile("bad")


def test_an_unknown_profile_name_lists_the_known_ones() -> None:
    with pytest.raises(ProfileError, match="no profile named 'nope'.*generic-en"):
        load_profile("nope")


def test_header_matching_prefers_the_most_specific_layout() -> None:
    balance = ["Date", "Label", "Amount", "Balance", "Partner Name", "Bank Account"]
    assert find_profile_by_header(balance).name == "oca-balance-en"  # type: ignore[union-attr]
    found = find_profile_by_header([*balance[:3], "D/C", *balance[3:]])
    assert found is not None and found.name == "oca-dc-indicator-en"


def test_header_matching_ignores_case_and_spacing() -> None:
    cells = [
        " date ",
        "VALUE  DATE",
        "Description",
        "Reference",
        "Counterparty",
        "Counterparty account",
        "Amount",
        "Currency",
        "Transaction ID",
    ]
    assert find_profile_by_header(cells).name == "generic-en"  # type: ignore[union-attr]


def test_two_layouts_fitting_equally_is_not_a_guess() -> None:
    a = _parse(MINIMAL)
    b = _parse(MINIMAL.replace('"tiny"', '"other"'))
    assert find_profile_by_header(["Date", "Amount"], [a, b]) is None
    assert find_profile_by_header(["Date", "Amount"], [a]) is a


def test_profiles_not_meant_for_auto_detection_are_never_picked() -> None:
    inverse = load_profile("oca-credit-card-inverse-en")
    assert not inverse.auto_detect
    assert find_profile_by_header(list(inverse.columns.named()), [inverse]) is None
