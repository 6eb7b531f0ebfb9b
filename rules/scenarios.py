"""Scenario files: facts, check dates and the decisions expected of a rule set.

A scenario file sits beside its rule set (``rules/scenarios/*.toml``)::

    [scenario]
    name = "Eligible health mutual"
    ruleset = "../default.toml"      # relative to this file
    lang = "en"                       # optional

    [facts]
    registered = true                                   # holds since ever
    last_ordinary_ga_date = { value = 2026-04-20, as_of = 2026-04-20,
                              evidence = "Minutes of the GA", recorded_by = "network" }
    last_audited_year = [                               # a history
      { value = 2025, as_of = 2026-05-01 },
      { value = 2026, as_of = 2027-03-15 },
    ]

    [[check]]
    as_of = 2026-06-30
    outcome = "eligible"
    rules = { operating_expense_ratio = "pass" }        # only the rules listed are compared

``run_scenarios(path)`` runs one file or every ``*.toml`` of a folder and
returns one :class:`ScenarioResult` per check, for pytest and for
``solidarity rules test FILE``.  A malformed scenario is a RuleFileError with
``file:line: message``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from rules.engine import evaluate
from rules.errors import Diagnostic, FactValueError, RuleFileError
from rules.loader import (
    TextLines,
    coerce_fact_value,
    load_ruleset,
    parse_toml,
    read_limited,
)
from rules.model import LANGUAGES, OUTCOMES, STATUSES, Decision, Fact, RuleSet

__all__ = [
    "Check",
    "Scenario",
    "ScenarioResult",
    "load_scenario",
    "run_scenario",
    "run_scenarios",
    "scenario_files",
]

_SINCE_EVER = date(1900, 1, 1)
_SCENARIO_KEYS = {"name", "ruleset", "lang", "description"}
_FACT_KEYS = {"value", "as_of", "evidence", "recorded_by"}
_CHECK_KEYS = {"as_of", "outcome", "rules", "lang"}


@dataclass(frozen=True)
class Check:
    """One expected decision: a date, an outcome, and expected statuses of some rules."""

    as_of: date
    outcome: str
    rules: dict[str, str]
    lang: str
    line: int


@dataclass(frozen=True)
class Scenario:
    """A loaded scenario file: its rule set, its facts (with history) and its checks."""

    path: str
    name: str
    ruleset: RuleSet
    facts: dict[str, tuple[Fact, ...]]
    checks: tuple[Check, ...]
    description: str = ""


@dataclass(frozen=True)
class ScenarioResult:
    """The outcome of one check of a scenario: passed or the list of mismatches."""

    file: str
    line: int
    name: str
    as_of: date
    expected: str
    outcome: str
    mismatches: tuple[str, ...]
    decision: Decision

    @property
    def passed(self) -> bool:
        """True when the outcome and every listed rule status are as expected."""
        return not self.mismatches

    def __str__(self) -> str:
        head = f"{self.file}:{self.line}: {self.name} on {self.as_of.isoformat()}"
        if self.passed:
            return f"{head}: ok ({self.outcome})"
        return f"{head}: " + "; ".join(self.mismatches)


def scenario_files(path: str | Path) -> list[Path]:
    """The scenario files at ``path``: the file itself, or every ``*.toml`` of a folder, sorted."""
    target = Path(path)
    if target.is_dir():
        return sorted(target.glob("*.toml"))
    return [target]


def load_scenario(path: str | Path, ruleset: RuleSet | None = None) -> Scenario:
    """Load and check a scenario file (``ruleset`` overrides the file's own). Raises RuleFileError."""
    name = str(path)
    doc, text = parse_toml(read_limited(path), name)
    at = TextLines(text)
    errors: list[Diagnostic] = []

    def err(line: int | None, message: str) -> None:
        errors.append(Diagnostic(name, line or 1, message))

    for key in doc:
        if key not in ("scenario", "facts", "check"):
            err(1, f"unknown table {key!r} (expected scenario, facts, check)")
    head_line = at.table("scenario")
    head = doc.get("scenario")
    if not isinstance(head, dict):
        raise RuleFileError.at(name, 1, "missing [scenario] table (name, ruleset)")
    for key in head:
        if key not in _SCENARIO_KEYS:
            err(head_line, f"[scenario]: unknown key {key!r}")
    title = head.get("name")
    if not isinstance(title, str) or not title.strip():
        err(head_line, "[scenario]: name is required")
        title = Path(name).stem
    lang = head.get("lang", "en")
    if lang not in LANGUAGES:
        err(head_line, f"[scenario]: lang must be one of {', '.join(LANGUAGES)}")
        lang = "en"
    if ruleset is None:
        rel = head.get("ruleset")
        if not isinstance(rel, str) or not rel:
            raise RuleFileError.at(name, at.key(head_line, "ruleset") or head_line or 1,
                                   "[scenario]: ruleset = \"path/to/rules.toml\" is required")
        ruleset = load_ruleset(Path(name).parent / rel)

    facts = _facts(doc.get("facts", {}), ruleset, at, err)
    checks = _checks(doc.get("check"), ruleset, at, err, lang)
    if errors:
        raise RuleFileError(sorted(errors, key=lambda d: d.line))
    description = head.get("description", "")
    return Scenario(name, str(title), ruleset, facts, checks,
                    description if isinstance(description, str) else "")


def _facts(table: object, ruleset: RuleSet, at: TextLines, err: Any
           ) -> dict[str, tuple[Fact, ...]]:
    facts_line = at.table("facts")
    if not isinstance(table, dict):
        err(facts_line, "[facts] must be a table")
        return {}
    out: dict[str, tuple[Fact, ...]] = {}
    for fname, raw in table.items():
        line = at.key(facts_line, fname) or at.table(f"facts.{fname}") or facts_line
        definition = ruleset.facts.get(fname)
        if definition is None:
            err(line, f"unknown fact {fname!r} (not declared by rule set {ruleset.name})")
            continue
        items = raw if isinstance(raw, list) else [raw]
        history: list[Fact] = []
        for item in items:
            entry: Mapping[str, Any] = item if isinstance(item, dict) else {"value": item}
            extra = [k for k in entry if k not in _FACT_KEYS]
            if extra:
                err(line, f"fact {fname!r}: unknown key {extra[0]!r} "
                          "(expected value, as_of, evidence, recorded_by)")
                continue
            since = entry.get("as_of", _SINCE_EVER)
            if not isinstance(since, date):
                err(line, f"fact {fname!r}: as_of must be a date")
                continue
            try:
                value = coerce_fact_value(definition, entry.get("value"))
            except FactValueError as exc:
                err(line, str(exc))
                continue
            history.append(Fact(fname, value, since, str(entry.get("evidence", "")),  # type: ignore[arg-type]
                                str(entry.get("recorded_by", ""))))
        out[fname] = tuple(history)
    return out


def _checks(raw: object, ruleset: RuleSet, at: TextLines, err: Any, lang: str
            ) -> tuple[Check, ...]:
    if not isinstance(raw, list) or not raw:
        err(1, "no [[check]] in the scenario")
        return ()
    known = {r.id for r in ruleset.rules}
    out: list[Check] = []
    for index, item in enumerate(raw):
        line = at.table("check", index) or 1
        if not isinstance(item, dict):
            err(line, "a check must be a table")
            continue
        for key in item:
            if key not in _CHECK_KEYS:
                err(line, f"check: unknown key {key!r} (expected as_of, outcome, rules, lang)")
        as_of, outcome = item.get("as_of"), item.get("outcome")
        if not isinstance(as_of, date):
            err(line, "check: as_of must be a date")
            continue
        if outcome not in OUTCOMES:
            err(line, f"check: outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
            continue
        expected = item.get("rules", {})
        if not isinstance(expected, dict):
            err(line, "check: rules must be a table { rule_id = \"pass\" | \"fail\" | \"unknown\" }")
            continue
        for rid, status in expected.items():
            if rid not in known:
                err(line, f"check: unknown rule {rid!r}")
            elif status not in STATUSES:
                err(line, f"check: rule {rid!r} must be pass, fail or unknown, not {status!r}")
        check_lang = item.get("lang", lang)
        if check_lang not in LANGUAGES:
            err(line, f"check: lang must be one of {', '.join(LANGUAGES)}")
            check_lang = lang
        out.append(Check(as_of, str(outcome), dict(expected), str(check_lang), line))
    return tuple(out)


def run_scenario(scenario: Scenario) -> list[ScenarioResult]:
    """Evaluate every check of a loaded scenario."""
    results: list[ScenarioResult] = []
    for check in scenario.checks:
        decision = evaluate(scenario.ruleset, scenario.facts, check.as_of, check.lang,
                            organisation=scenario.name)
        mismatches: list[str] = []
        if decision.outcome != check.outcome:
            mismatches.append(f"outcome: expected {check.outcome}, got {decision.outcome}")
        statuses = decision.statuses()
        for rid, want in check.rules.items():
            got = statuses.get(rid)
            if got is None:
                mismatches.append(f"rule {rid}: expected {want}, but it is not in force")
            elif got != want:
                mismatches.append(f"rule {rid}: expected {want}, got {got}")
        results.append(ScenarioResult(scenario.path, check.line, scenario.name, check.as_of,
                                      check.outcome, decision.outcome, tuple(mismatches),
                                      decision))
    return results


def run_scenarios(path: str | Path, ruleset: RuleSet | None = None) -> list[ScenarioResult]:
    """Run a scenario file, or every ``*.toml`` scenario of a folder; one result per check.

    ``ruleset`` replaces the rule set each file names (to test a Network's own
    rule set against shipped scenarios).  Raises RuleFileError on a malformed file.
    """
    results: list[ScenarioResult] = []
    for file in scenario_files(path):
        results.extend(run_scenario(load_scenario(file, ruleset)))
    return results
