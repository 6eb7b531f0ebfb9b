"""Loading rule-set files: the shipped ones load; bad and hostile ones are refused with file:line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rules.errors import RuleFileError
from rules.loader import (
    MAX_FILE_BYTES,
    TextLines,
    load_ruleset,
    loads_ruleset,
    ruleset_hash,
    validate_ruleset,
)
from rules.model import LANGUAGES

RULES_DIR = Path(__file__).resolve().parents[2] / "rules"

HEADER = """\
[ruleset]
name = "test rules"
version = "t.1"

[sources.agreement]
title = "Network solidarity-fund agreement, conditions of eligibility"

[facts.registered]
type = "bool"

[facts.ga_date]
type = "date"

[facts.opex]
type = "number"

[facts.total]
type = "number"

[facts.purpose]
type = "enum"
values = ["health", "other"]

[parameters.ceiling]
values = [
  { from = 2026-01-01, value = 0.15, reference = "agreement 2026" },
]
"""


def rule(test: str, *, rid: str = "r1", severity: str = "blocking",
         valid_from: str = "2026-01-01", valid_to: str | None = None,
         en: str = "message", extra: str = "") -> str:
    to = f"valid_to = {valid_to}\n" if valid_to else ""
    return (
        "\n[[rules]]\n"
        f'id = "{rid}"\n'
        f'severity = "{severity}"\n'
        f"valid_from = {valid_from}\n"
        f"{to}"
        'source = "agreement"\n'
        f"test = {test}\n"
        f'messages = {{ en = "{en}", fr = "message", es = "mensaje" }}\n'
        f"{extra}"
    )


def write(tmp_path: Path, text: str, name: str = "rules.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def refused(tmp_path: Path, text: str) -> RuleFileError:
    path = write(tmp_path, text)
    with pytest.raises(RuleFileError) as info:
        load_ruleset(path)
    err = info.value
    # Always file:line: message.
    assert re.match(rf"^{re.escape(str(path))}:\d+: .+", str(err)), str(err)
    assert err.file == str(path)
    return err


def line_of(text: str, needle: str) -> int:
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(needle)


# --------------------------------------------------------------------------- shipped files


@pytest.mark.parametrize("name", ["default.toml", "transfer.toml"])
def test_the_shipped_rule_sets_load_without_problems(name: str) -> None:
    assert validate_ruleset(RULES_DIR / name) == []


def test_the_default_rule_set_is_version_2026_1_and_every_rule_cites_a_source() -> None:
    ruleset = load_ruleset(RULES_DIR / "default.toml")
    assert ruleset.version == "2026.1"
    assert ruleset.kind == "eligibility"
    for r in ruleset.rules:
        assert r.source.title
        assert r.article
        assert set(r.messages) == set(LANGUAGES)


def test_the_default_rule_set_cites_uemoa_morocco_and_the_network_agreement() -> None:
    ruleset = load_ruleset(RULES_DIR / "default.toml")
    titles = " ".join(s.title for s in ruleset.sources.values())
    assert "07/2009/CM/UEMOA" in titles
    assert "1-57-187" in titles
    assert "Network solidarity-fund agreement, conditions of eligibility" in titles


def test_the_operating_expense_ceiling_is_dated_by_period_with_references() -> None:
    ruleset = load_ruleset(RULES_DIR / "default.toml")
    ceiling = ruleset.parameters["operating_expense_ratio_ceiling"]
    from datetime import date
    from decimal import Decimal

    p2026 = ceiling.at(date(2026, 12, 31))
    p2027 = ceiling.at(date(2027, 1, 1))
    assert p2026 is not None and p2026.value == Decimal("0.15") and p2026.reference
    assert p2027 is not None and p2027.value == Decimal("0.12") and p2027.reference
    assert p2026.valid_to == date(2026, 12, 31)
    assert ceiling.at(date(2025, 12, 31)) is None


def test_ratios_are_warnings_or_information_in_the_default_set() -> None:
    ruleset = load_ruleset(RULES_DIR / "default.toml")
    severity = {r.id: r.severity for r in ruleset.rules}
    assert severity["operating_expense_ratio"] == "warning"
    assert severity["membership_renewal_rate"] == "warning"
    assert severity["claims_ratio"] == "info"


def test_the_hash_is_the_sha256_of_the_file_bytes() -> None:
    import hashlib

    path = RULES_DIR / "default.toml"
    assert ruleset_hash(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    assert load_ruleset(path).sha256 == ruleset_hash(path)


def test_without_a_path_the_shipped_default_is_loaded() -> None:
    assert load_ruleset().path == str(RULES_DIR / "default.toml")


def test_a_valid_small_file_loads(tmp_path: Path) -> None:
    text = HEADER + rule('{ expr = "opex / total", op = "le", param = "ceiling" }',
                         en="ratio {value:.1%} ceiling {ceiling:.0%}")
    ruleset = load_ruleset(write(tmp_path, text))
    assert [r.id for r in ruleset.rules] == ["r1"]
    assert ruleset.rules[0].facts == ("opex", "total")


# --------------------------------------------------------------------------- hostile files


@pytest.mark.parametrize(
    "expr",
    [
        "__import__('os').system('echo pwned')",
        "().__class__.__bases__[0].__subclasses__()",
        "opex.__class__",
        "opex.real",
        "9**9**9",
        "opex ** 2",
        "[x for x in ()]",
        "getattr(opex, 'x')",
    ],
)
def test_an_expression_that_tries_to_run_code_is_refused_at_its_line(tmp_path: Path,
                                                                      expr: str) -> None:
    escaped = expr.replace("\\", "\\\\").replace('"', '\\"')
    text = HEADER + rule(f'{{ expr = "{escaped}", op = "le", value = 1 }}')
    err = refused(tmp_path, text)
    assert err.line == line_of(text, "test =")
    assert "rule 'r1'" in err.message


def test_a_ten_thousand_deep_expression_is_refused(tmp_path: Path) -> None:
    deep = "(" * 10_000 + "1" + ")" * 10_000
    err = refused(tmp_path, HEADER + rule(f'{{ expr = "{deep}", op = "le", value = 1 }}'))
    assert "longer than" in err.message


def test_ten_thousand_nested_toml_arrays_are_refused_without_a_crash(tmp_path: Path) -> None:
    text = HEADER + "junk = " + "[" * 10_000 + "]" * 10_000 + "\n"
    err = refused(tmp_path, text)
    assert "nesting" in err.message or "not valid TOML" in err.message
    assert err.line == line_of(text, "junk =")


def test_a_huge_file_is_refused_before_parsing(tmp_path: Path) -> None:
    text = HEADER + "# " + "x" * (MAX_FILE_BYTES + 10) + "\n"
    err = refused(tmp_path, text)
    assert "larger than" in err.message and err.line == 1


def test_a_message_placeholder_with_attribute_access_is_refused(tmp_path: Path) -> None:
    text = HEADER + rule('{ fact = "opex", op = "le", value = 1 }', en="{opex.__class__}")
    err = refused(tmp_path, text)
    assert "plain name" in err.message
    assert err.line == line_of(text, "messages =")


@pytest.mark.parametrize("template", ["{opex[0]}", "{0}", "{}", "{opex!r}", "{opex:>999999999}",
                                      "{opex:{opex}}", "{unread}"])
def test_unsafe_or_unknown_placeholders_are_refused(tmp_path: Path, template: str) -> None:
    refused(tmp_path, HEADER + rule('{ fact = "opex", op = "le", value = 1 }', en=template))


# --------------------------------------------------------------------------- semantic errors


def test_an_unknown_fact_is_refused_at_the_rules_test_line(tmp_path: Path) -> None:
    text = HEADER + rule('{ fact = "bank_acount", op = "equals", value = true }')
    err = refused(tmp_path, text)
    assert "unknown fact 'bank_acount'" in err.message
    assert err.line == line_of(text, "test =")


def test_an_unknown_name_in_an_expression_is_refused(tmp_path: Path) -> None:
    err = refused(tmp_path, HEADER + rule('{ expr = "opex / totl", op = "le", value = 1 }'))
    assert "unknown name 'totl'" in err.message


def test_overlapping_versions_of_a_rule_are_refused_at_the_later_version(tmp_path: Path) -> None:
    text = (HEADER
            + rule('{ fact = "registered", op = "equals", value = true }', valid_to="2026-12-31")
            + rule('{ fact = "registered", op = "equals", value = true }',
                   valid_from="2026-06-01"))
    err = refused(tmp_path, text)
    assert "overlapping versions" in err.message
    second_rule_line = [i for i, line in enumerate(text.splitlines(), 1) if line == "[[rules]]"][1]
    assert err.line == second_rule_line


def test_successive_versions_of_a_rule_are_accepted(tmp_path: Path) -> None:
    text = (HEADER
            + rule('{ fact = "registered", op = "equals", value = true }', valid_to="2026-12-31")
            + rule('{ fact = "registered", op = "equals", value = true }',
                   valid_from="2027-01-01", severity="warning"))
    ruleset = load_ruleset(write(tmp_path, text))
    assert len(ruleset.rules) == 2


def test_an_open_ended_version_followed_by_another_overlaps(tmp_path: Path) -> None:
    text = (HEADER + rule('{ fact = "registered", op = "equals", value = true }')
            + rule('{ fact = "registered", op = "equals", value = true }',
                   valid_from="2027-01-01"))
    assert "overlapping" in refused(tmp_path, text).message


def test_overlapping_parameter_periods_are_refused(tmp_path: Path) -> None:
    text = HEADER.replace(
        '  { from = 2026-01-01, value = 0.15, reference = "agreement 2026" },\n',
        '  { from = 2026-01-01, to = 2027-06-30, value = 0.15, reference = "a" },\n'
        '  { from = 2027-01-01, value = 0.12, reference = "b" },\n',
    ) + rule('{ fact = "registered", op = "equals", value = true }')
    err = refused(tmp_path, text)
    assert "periods overlap" in err.message
    assert err.line == line_of(text, "from = 2027-01-01")


def test_a_parameter_period_without_a_reference_is_refused(tmp_path: Path) -> None:
    text = HEADER.replace(', reference = "agreement 2026"', "") + rule(
        '{ fact = "registered", op = "equals", value = true }')
    assert "reference is required" in refused(tmp_path, text).message


def test_text_added_to_a_number_is_a_mistyped_expression(tmp_path: Path) -> None:
    text = HEADER + rule("{ expr = \"opex + 'a'\", op = \"le\", value = 1 }")
    err = refused(tmp_path, text)
    assert "cannot be used in arithmetic" in err.message
    assert err.line == line_of(text, "test =")


def test_comparing_a_date_with_a_number_is_refused(tmp_path: Path) -> None:
    err = refused(tmp_path, HEADER + rule('{ fact = "ga_date", op = "gt", value = 5 }'))
    assert "cannot compare fact 'ga_date' (date) with the number 5" in err.message


def test_comparing_a_date_with_a_parameter_is_refused(tmp_path: Path) -> None:
    err = refused(tmp_path, HEADER + rule('{ fact = "ga_date", op = "le", param = "ceiling" }'))
    assert "cannot compare" in err.message


def test_a_date_fact_in_arithmetic_is_refused(tmp_path: Path) -> None:
    err = refused(tmp_path, HEADER + rule('{ expr = "ga_date - 1", op = "le", value = 1 }'))
    assert "date fact" in err.message


def test_an_enum_value_outside_the_declared_values_is_refused(tmp_path: Path) -> None:
    err = refused(tmp_path, HEADER + rule('{ fact = "purpose", op = "equals", value = "helth" }'))
    assert "'helth' is not a value of fact 'purpose'" in err.message


def test_within_months_needs_a_date_fact(tmp_path: Path) -> None:
    err = refused(tmp_path, HEADER + rule('{ fact = "opex", op = "within_months", value = 12 }'))
    assert "needs a date fact" in err.message


def test_within_months_refuses_a_parameter_that_is_not_a_whole_number(tmp_path: Path) -> None:
    err = refused(tmp_path,
                  HEADER + rule('{ fact = "ga_date", op = "within_months", param = "ceiling" }'))
    assert "whole number" in err.message


@pytest.mark.parametrize(
    ("test", "reason"),
    [
        ('{ fact = "opex", op = "approx", value = 1 }', "unknown operator"),
        ('{ fact = "opex", op = "le" }', "exactly one of value, param or value_expr"),
        ('{ fact = "opex", expr = "opex", op = "le", value = 1 }', "exactly one of fact"),
        ('{ fact = "opex", op = "le", param = "nope" }', "unknown parameter"),
        ('{ fact = "opex", op = "between", value = [5, 1] }', "above high"),
        ('{ fact = "registered", op = "lt", value = true }', "needs a number or a date"),
        ('{ fact = "ga_date", op = "within_months", param = "check_year" }',
         "needs a declared parameter"),
        ('{ fact = "ga_date", op = "le", param = "check_year" }', "cannot compare a date"),
        ('{ fact = "opex", op = "le", param = "check_date" }', "cannot compare a number"),
        ('{ fact = "opex", op = "in", value = 3 }', "a list of values"),
        ('{ fact = "opex", op = "present", value = 3 }', "present takes only a fact"),
        ('{ op = "all", rules = [] }', "needs rules"),
        ('{ op = "not", rules = ["a", "b"] }', "exactly one rule"),
        ('{ op = "all", rules = ["ghost"] }', "unknown rule 'ghost'"),
        ('{ fact = "opex", op = "le", value = 1, vaule = 2 }', "unknown key 'vaule'"),
        ('"registered"', "test must be a table"),
    ],
)
def test_malformed_tests_are_refused(tmp_path: Path, test: str, reason: str) -> None:
    assert reason in str(refused(tmp_path, HEADER + rule(test)))


def test_rules_that_refer_to_each_other_in_a_cycle_are_refused(tmp_path: Path) -> None:
    text = (HEADER + rule('{ op = "all", rules = ["b"] }', rid="a")
            + rule('{ op = "not", rules = ["a"] }', rid="b"))
    assert "cycle" in refused(tmp_path, text).message


def test_a_rule_without_all_three_languages_is_refused(tmp_path: Path) -> None:
    text = HEADER + rule('{ fact = "registered", op = "equals", value = true }').replace(
        ', es = "mensaje"', "")
    assert "messages.es is missing" in refused(tmp_path, text).message


def test_a_misspelt_key_is_refused(tmp_path: Path) -> None:
    text = HEADER + rule('{ fact = "registered", op = "equals", value = true }',
                         extra="valid_form = 2026-01-01\n")
    assert "unknown key 'valid_form'" in refused(tmp_path, text).message


def test_a_bad_severity_and_an_unknown_source_are_both_reported(tmp_path: Path) -> None:
    text = HEADER + rule('{ fact = "registered", op = "equals", value = true }',
                         severity="fatal").replace('source = "agreement"', 'source = "nowhere"')
    err = refused(tmp_path, text)
    messages = [d.message for d in err.diagnostics]
    assert any("severity must be one of" in m for m in messages)
    assert any("source must name" in m for m in messages)
    assert err.diagnostics[0].line == line_of(text, "severity =")


def test_a_toml_syntax_error_gives_its_line(tmp_path: Path) -> None:
    text = HEADER + "\n[[rules]]\nid = \"x\nseverity = 1\n"
    err = refused(tmp_path, text)
    assert err.line == line_of(text, 'id = "x')
    assert "not valid TOML" in err.message


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(HEADER.encode() + b"\n# caf\xe9\n")
    with pytest.raises(RuleFileError, match="not UTF-8"):
        load_ruleset(path)


def test_a_missing_file_is_refused_with_its_name(tmp_path: Path) -> None:
    with pytest.raises(RuleFileError, match="cannot read"):
        load_ruleset(tmp_path / "absent.toml")


def test_a_file_without_rules_is_refused() -> None:
    with pytest.raises(RuleFileError, match="no \\[\\[rules\\]\\]"):
        loads_ruleset(HEADER, "inline.toml")


def test_a_fact_may_not_shadow_a_builtin_name() -> None:
    text = HEADER + "\n[facts.check_year]\ntype = \"number\"\n" + rule(
        '{ fact = "registered", op = "equals", value = true }')
    with pytest.raises(RuleFileError, match="fact 'check_year'"):
        loads_ruleset(text, "inline.toml")


def test_validate_lists_every_problem(tmp_path: Path) -> None:
    text = (HEADER + rule('{ fact = "nope", op = "equals", value = true }', rid="a")
            + rule('{ fact = "ga_date", op = "gt", value = 5 }', rid="b"))
    problems = validate_ruleset(write(tmp_path, text))
    assert len(problems) == 2
    assert all(str(p).startswith(str(tmp_path)) for p in problems)


def test_text_lines_find_keys_in_dotted_and_inline_forms() -> None:
    lines = TextLines("[a]\nx = 1\n[[rules]]\nid = \"r\"\nmessages.en = \"m\"\n")
    assert lines.table("a") == 1
    assert lines.key(1, "x") == 2
    assert lines.key(3, "messages") == 5
    assert lines.key(1, "messages") is None
