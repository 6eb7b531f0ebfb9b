"""The scenario files beside the default rule set all hold; bad scenarios are refused or reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules.errors import RuleFileError
from rules.scenarios import load_scenario, run_scenarios, scenario_files

SCENARIOS = Path(__file__).resolve().parents[2] / "rules" / "scenarios"
FILES = scenario_files(SCENARIOS)


def test_the_default_rule_set_ships_with_scenarios() -> None:
    names = {f.stem for f in FILES}
    assert {"eligible_health_mutual", "missing_public_authorities_share",
            "unknown_fact_incomplete", "ceiling_change_2027", "warning_only"} <= names


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_every_check_of_the_scenario_holds(path: Path) -> None:
    results = run_scenarios(path)
    assert results
    failures = [str(r) for r in results if not r.passed]
    assert not failures, "\n".join(failures)


def test_the_scenarios_cover_every_outcome() -> None:
    outcomes = {r.outcome for r in run_scenarios(SCENARIOS)}
    assert outcomes == {"eligible", "eligible_with_warnings", "not_eligible", "incomplete"}


def test_the_2026_decision_is_the_same_before_and_after_the_2027_check() -> None:
    first, second, third = run_scenarios(SCENARIOS / "ceiling_change_2027.toml")
    assert (first.outcome, second.outcome, third.outcome) == (
        "eligible", "eligible_with_warnings", "eligible")
    assert first.decision.to_dict() == third.decision.to_dict()


SCENARIO_HEAD = """\
[scenario]
name = "bad"
ruleset = "{ruleset}"

[facts]
registered = true
"""


def scenario(tmp_path: Path, body: str) -> Path:
    ruleset = (SCENARIOS.parent / "default.toml").as_posix()
    path = tmp_path / "scenario.toml"
    path.write_text(SCENARIO_HEAD.replace("{ruleset}", ruleset) + body, encoding="utf-8")
    return path


def test_a_wrong_expectation_is_reported_with_its_line(tmp_path: Path) -> None:
    path = scenario(tmp_path, '\n[[check]]\nas_of = 2026-06-30\noutcome = "eligible"\n'
                              'rules = { registered = "fail" }\n')
    (result,) = run_scenarios(path)
    assert not result.passed
    assert result.line == 8
    assert "outcome: expected eligible, got incomplete" in result.mismatches
    assert "rule registered: expected fail, got pass" in result.mismatches
    assert str(result).startswith(f"{path}:8: bad on 2026-06-30: ")


def test_a_scenario_naming_an_unknown_fact_is_refused_with_its_line(tmp_path: Path) -> None:
    path = scenario(tmp_path, 'bank_acount = true\n\n[[check]]\nas_of = 2026-06-30\n'
                              'outcome = "incomplete"\n')
    with pytest.raises(RuleFileError) as info:
        load_scenario(path)
    assert info.value.line == 7
    assert "unknown fact 'bank_acount'" in info.value.message


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ('\n[[check]]\nas_of = 2026-06-30\noutcome = "fine"\n', "outcome must be one of"),
        ('\n[[check]]\nas_of = 2026-06-30\noutcome = "eligible"\nrules = { ghost = "pass" }\n',
         "unknown rule 'ghost'"),
        ('\n[[check]]\nas_of = 2026-06-30\noutcome = "eligible"\nrules = { registered = "ok" }\n',
         "must be pass, fail or unknown"),
        ("", "no [[check]]"),
        ('main_purpose = "housing"\n\n[[check]]\nas_of = 2026-06-30\noutcome = "eligible"\n',
         "not one of health, other"),
        ('operating_expenses = "a lot"\n\n[[check]]\nas_of = 2026-06-30\noutcome = "eligible"\n',
         "not a number"),
    ],
)
def test_malformed_scenarios_are_refused(tmp_path: Path, body: str, reason: str) -> None:
    with pytest.raises(RuleFileError, match=reason.replace("[", r"\[").replace("]", r"\]")):
        load_scenario(scenario(tmp_path, body))
