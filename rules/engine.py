"""Evaluate a rule set against an organisation's facts on a date.

Pure: ``evaluate(ruleset, facts, as_of)`` reads the facts in force on the date
(the latest value whose ``as_of`` is on or before it), the rule versions and
parameter periods in force on the date, and returns a :class:`Decision` with
one explained :class:`RuleResult` per rule.  A missing fact makes a rule
*unknown*, never *failed*.

Outcome: any blocking rule failed -> ``not_eligible``; else any blocking rule
unknown -> ``incomplete``; else any warning failed -> ``eligible_with_warnings``;
else ``eligible``.  With no rule in force on the date the outcome is
``incomplete`` (nothing was checked).

Rules are compiled once per (rule set, date, language) into closures -- the
*plan* -- so ``evaluate_many`` over thousands of organisations only picks
facts and runs closures.  Each closure returns a compact row; the
:class:`RuleResult` objects (and their messages) are built when first read.
"""

from __future__ import annotations

import calendar
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from rules.errors import FactValueError, LanguageError
from rules.expr import Expression, Undefined
from rules.loader import ruleset_hash
from rules.messages import template
from rules.model import (
    LANGUAGES,
    Decision,
    Fact,
    FactDef,
    Rule,
    RuleResult,
    RuleResults,
    RuleSet,
    ThresholdUsed,
)

__all__ = [
    "FactsInput",
    "decide_outcome",
    "evaluate",
    "evaluate_many",
    "facts_at",
    "ruleset_hash",
]

# Per fact name: its history (any order) or a single Fact.
FactsInput = Mapping[str, "Sequence[Fact] | Fact"]


# Values a test may compare against that come from the check itself, not the file.
_CHECK_VALUES: dict[str, Callable[[date], object]] = {
    "check_date": lambda day: day,
    "check_year": lambda day: day.year,
}

# A rule's result before it is dressed as a RuleResult (see model.RuleResults):
# (static, status, facts used, missing, value, threshold, note).
_Row = tuple[Any, str, tuple[Fact, ...], tuple[str, ...], object, object, str]
_Run = Callable[[dict[str, Fact], dict[str, str]], _Row]


# --------------------------------------------------------------------------- facts


def facts_at(
    ruleset: RuleSet, facts: FactsInput, as_of: date, names: Iterable[str] | None = None
) -> dict[str, Fact]:
    """The fact in force on ``as_of`` for each declared name (latest ``as_of`` on or before it).

    Ties on the same date go to the later item of the sequence (the later
    recording).  Undeclared names are ignored.  A value of the wrong type
    raises :class:`FactValueError`.
    """
    wanted = ruleset.facts if names is None else names
    return _pick(facts, as_of,
                 tuple(_checker(ruleset.facts[n]) for n in wanted if n in ruleset.facts))


_Checker = tuple[str, Callable[[object], bool], FactDef]


def _checker(definition: FactDef) -> _Checker:
    if definition.type == "enum":
        allowed = frozenset(definition.values)

        def is_enum(value: object) -> bool:
            return isinstance(value, str) and value in allowed

        return definition.name, is_enum, definition
    return definition.name, _TYPE_CHECKS[definition.type], definition


def _pick(facts: FactsInput, as_of: date, wanted: tuple[_Checker, ...]) -> dict[str, Fact]:
    out: dict[str, Fact] = {}
    get = facts.get
    for name, ok, definition in wanted:
        history = get(name)
        if history is None:
            continue
        best: Fact | None = None
        if isinstance(history, Fact):
            if history.as_of <= as_of:
                best = history
        else:
            for fact in history:
                if fact.as_of <= as_of and (best is None or fact.as_of >= best.as_of):
                    best = fact
        if best is not None:
            if not ok(best.value):
                _type_error(definition, best)
            out[name] = best
    return out


def _is_bool(value: object) -> bool:
    return isinstance(value, bool)


def _is_number(value: object) -> bool:
    if isinstance(value, Decimal):
        return value.is_finite()
    return isinstance(value, int) and not isinstance(value, bool)


def _is_date(value: object) -> bool:
    return isinstance(value, date) and not isinstance(value, datetime)


def _is_text(value: object) -> bool:
    return isinstance(value, str)


_TYPE_CHECKS: dict[str, Callable[[object], bool]] = {
    "bool": _is_bool,
    "number": _is_number,
    "date": _is_date,
    "text": _is_text,
}


def _type_error(definition: FactDef, fact: Fact) -> None:
    typ = definition.type
    raise FactValueError(
        f"fact {definition.name!r} (from {fact.as_of.isoformat()}): {fact.value!r} is not a "
        f"valid {typ}" + (f" ({', '.join(definition.values)})" if typ == "enum" else "")
    )


# --------------------------------------------------------------------------- compilation


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month0 = divmod(index, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


@dataclass(frozen=True)
class _Plan:
    as_of: date
    lang: str
    order: tuple[tuple[int, _Run], ...]  # (position in the output, closure), evaluation order
    size: int
    needed: tuple[_Checker, ...]  # facts the rules read, with their type checks


def _plan(ruleset: RuleSet, as_of: date, lang: str) -> _Plan:
    key = (as_of, lang)
    cached = ruleset._cache.get(key)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    rules = ruleset.rules_at(as_of)
    by_id = {r.id: r for r in rules}
    # Composite rules run after the rules they combine (the loader refused cycles).
    order: list[int] = []
    placed: set[str] = set()

    def place(rule: Rule) -> None:
        stack: list[tuple[Rule, bool]] = [(rule, False)]
        while stack:
            current, expanded = stack.pop()
            if current.id in placed:
                continue
            if expanded:
                placed.add(current.id)
                order.append(rules.index(current))
                continue
            stack.append((current, True))
            for ref in current.test.rules:
                if ref in by_id and ref not in placed:
                    stack.append((by_id[ref], False))

    for rule in rules:
        place(rule)
    needed: dict[str, None] = {}
    for rule in rules:
        needed.update(dict.fromkeys(rule.facts))
    plan = _Plan(
        as_of=as_of,
        lang=lang,
        order=tuple((i, _compile(rules[i], ruleset, as_of, lang, by_id)) for i in order),
        size=len(rules),
        needed=tuple(_checker(ruleset.facts[n]) for n in needed),
    )
    if len(ruleset._cache) > 64:  # many dates: keep memory bounded
        ruleset._cache.clear()
    ruleset._cache[key] = plan
    return plan


def _between(value: Any, bounds: Any) -> bool:
    return bool(bounds[0] <= value <= bounds[1])


def _not_in(value: Any, values: Any) -> bool:
    return value not in values


_CHECKS: dict[str, Callable[[Any, Any], bool]] = {
    "equals": operator.eq,
    "not_equals": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
    "between": _between,
    "in": lambda value, values: operator.contains(values, value),
    "not_in": _not_in,
}


class _Unknown(Exception):
    def __init__(self, missing: tuple[str, ...] = (), note: str = "") -> None:
        super().__init__(note)
        self.missing = missing
        self.note = note


def _compile(rule: Rule, ruleset: RuleSet, as_of: date, lang: str,
             in_force: Mapping[str, Rule]) -> _Run:
    test = rule.test
    op = test.op
    parts = template(rule.messages[lang])
    citation = rule.citation()
    rid, severity = rule.id, rule.severity

    # Parameters in force on the date, shared by every organisation.
    thresholds: list[ThresholdUsed] = []
    env_base: dict[str, Any] = {"check_year": as_of.year}
    param_missing: list[str] = []
    for pname in test.parameters():
        if pname in _CHECK_VALUES:
            builtin = _CHECK_VALUES[pname](as_of)
            env_base[pname] = builtin
            thresholds.append(ThresholdUsed(pname, builtin, "date of the check"))
            continue
        period = ruleset.parameters[pname].at(as_of)
        if period is None:
            param_missing.append(pname)
            continue
        env_base[pname] = period.value
        thresholds.append(ThresholdUsed(pname, period.value, period.reference,
                                        period.valid_from, period.valid_to))
    threshold_tuple = tuple(thresholds)

    static = (rid, severity, as_of, lang, parts, threshold_tuple, citation)

    def result(status: str, used: tuple[Fact, ...], left: object = None, right: object = None,
               missing: tuple[str, ...] = (), note: str = "") -> _Row:
        return (static, status, used, missing, left, right, note)

    if param_missing:
        note = "no value on this date for parameter " + ", ".join(param_missing)

        def run_no_param(facts: dict[str, Fact], statuses: dict[str, str]) -> _Row:
            return result("unknown", (), note=note)

        return run_no_param

    if op in ("all", "any", "not"):
        refs = test.rules
        absent = tuple(r for r in refs if r not in in_force)

        def run_composite(facts: dict[str, Fact], statuses: dict[str, str]) -> _Row:
            got = [statuses.get(r, "unknown") for r in refs]
            if op == "not":
                status = {"pass": "fail", "fail": "pass"}.get(got[0], "unknown")
            elif op == "all":
                status = "fail" if "fail" in got else "unknown" if "unknown" in got else "pass"
            else:
                status = "pass" if "pass" in got else "unknown" if "unknown" in got else "fail"
            note = ("not in force on this date: " + ", ".join(absent)) if absent else ""
            return result(status, (), note=note)

        return run_composite

    reads = rule.facts
    fact_name = test.fact

    def value_of(expr: Expression, facts: dict[str, Fact]) -> Decimal:
        missing = tuple(n for n in expr.facts if n not in facts)
        if missing:
            raise _Unknown(missing)
        env = env_base if not expr.facts else {**env_base,
                                               **{n: facts[n].value for n in expr.facts}}
        try:
            return expr.evaluate(env)
        except Undefined as exc:
            raise _Unknown((), f"{expr.text}: {exc}") from None

    # Left side.
    if fact_name is not None:
        def left_of(facts: dict[str, Fact]) -> object:
            fact = facts.get(fact_name)  # type: ignore[arg-type]
            if fact is None:
                raise _Unknown((fact_name,))  # type: ignore[arg-type]
            return fact.value
    else:
        left_expr = test.expr
        assert left_expr is not None

        def left_of(facts: dict[str, Fact]) -> object:
            return value_of(left_expr, facts)

    # Right side.
    right_const: object = test.value
    if test.params:
        pvalues = tuple(env_base[p] for p in test.params)
        right_const = pvalues[0] if len(pvalues) == 1 else pvalues
    right_expr = test.value_expr

    # The check itself.
    check: Callable[[Any, Any], bool] = _CHECKS.get(op, operator.eq)
    if op in ("within_days", "within_months"):
        count = int(right_const)  # type: ignore[call-overload]
        cutoff = (as_of - timedelta(days=count) if op == "within_days"
                  else _add_months(as_of, -count))

        def check(day: Any, _n: Any) -> bool:
            # Within the window ending on the check date: a future date does not count.
            return bool(cutoff <= day <= as_of)

    if fact_name is not None and right_expr is None and op != "present":
        # The common case -- one fact against a literal or a parameter -- kept
        # to a dict lookup, one comparison and the result.
        single: str = fact_name
        missing_single = (single,)

        def run_fact(facts: dict[str, Fact], statuses: dict[str, str]) -> _Row:
            fact = facts.get(single)
            if fact is None:
                return (static, "unknown", (), missing_single, None, right_const, "")
            value = fact.value
            return (static, "pass" if check(value, right_const) else "fail", (fact,), (), value,
                    right_const, "")

        return run_fact

    def run(facts: dict[str, Fact], statuses: dict[str, str]) -> _Row:
        used = tuple([facts[n] for n in reads if n in facts])
        if op == "present":
            present = fact_name in facts
            return result("pass" if present else "fail", used,
                          facts[fact_name].value if present else None)  # type: ignore[index]
        left: object = None
        right: object = right_const
        try:
            left = left_of(facts)
            if right_expr is not None:
                right = value_of(right_expr, facts)
        except _Unknown as unknown:
            missing = unknown.missing or tuple(n for n in reads if n not in facts)
            return result("unknown", used, left, None if right_expr else right, missing,
                          unknown.note)
        return result("pass" if check(left, right) else "fail", used, left, right)

    return run


# --------------------------------------------------------------------------- evaluation


def decide_outcome(results: Sequence[RuleResult]) -> str:
    """Combine per-rule statuses into eligible / eligible_with_warnings / not_eligible / incomplete."""
    return _outcome([(r.severity, r.status) for r in results])


def _outcome(pairs: Sequence[tuple[str, str]]) -> str:
    if not pairs:
        return "incomplete"
    blocking_unknown = warning_failed = False
    for severity, status in pairs:
        if severity == "blocking":
            if status == "fail":
                return "not_eligible"
            if status == "unknown":
                blocking_unknown = True
        elif severity == "warning" and status == "fail":
            warning_failed = True
    if blocking_unknown:
        return "incomplete"
    return "eligible_with_warnings" if warning_failed else "eligible"


def _materialise(row: _Row) -> RuleResult:
    rid, severity, as_of, lang, parts, thresholds, citation = row[0]
    _, status, used, missing, value, threshold, note = row
    return RuleResult(rid, severity, status, as_of, lang, parts, used, missing, thresholds,
                      value, threshold, citation, note)


def _run_plan(plan: _Plan, facts: dict[str, Fact]) -> tuple[RuleResults, str]:
    rows: list[Any] = [None] * plan.size
    statuses: dict[str, str] = {}
    pairs: list[tuple[str, str]] = []
    for position, run in plan.order:
        row = run(facts, statuses)
        static = row[0]
        statuses[static[0]] = row[1]
        pairs.append((static[1], row[1]))
        rows[position] = row
    return RuleResults(tuple(rows), _materialise), _outcome(pairs)


def _check_lang(lang: str) -> None:
    if lang not in LANGUAGES:
        raise LanguageError(f"language {lang!r} is not one of {', '.join(LANGUAGES)}")


def evaluate(
    ruleset: RuleSet,
    facts: FactsInput,
    as_of: date,
    lang: str = "en",
    organisation: str | None = None,
) -> Decision:
    """Check one organisation's facts against the rules in force on ``as_of``.

    ``facts`` maps a fact name to its history (a sequence of :class:`Fact`, any
    order) or to a single Fact.  Returns a :class:`Decision` carrying the
    rule-set version and hash, with messages in ``lang`` (en, fr, es).
    """
    _check_lang(lang)
    plan = _plan(ruleset, as_of, lang)
    results, outcome = _run_plan(plan, _pick(facts, as_of, plan.needed))
    return Decision(organisation, as_of, outcome, ruleset.name, ruleset.version, ruleset.sha256,
                    lang, results)


def evaluate_many(
    ruleset: RuleSet,
    facts_by_org: Mapping[str, FactsInput],
    as_of: date,
    lang: str = "en",
) -> dict[str, Decision]:
    """Evaluate many organisations on one date; the rules are compiled once for all of them."""
    _check_lang(lang)
    plan = _plan(ruleset, as_of, lang)
    needed = plan.needed
    name, version, sha = ruleset.name, ruleset.version, ruleset.sha256
    out: dict[str, Decision] = {}
    for org, facts in facts_by_org.items():
        results, outcome = _run_plan(plan, _pick(facts, as_of, needed))
        out[org] = Decision(org, as_of, outcome, name, version, sha, lang, results)
    return out
