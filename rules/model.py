"""Value types of the rules package: fact definitions and facts, dated
parameters, rules and rule sets, per-rule results and decisions.

Plain frozen dataclasses, no database and no I/O.  Numbers are ``Decimal`` or
``int``, never ``float``.  ``Decision.to_dict()`` is the JSON shape stored by
the database layer and printed by ``eligibility check --json``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, overload

if TYPE_CHECKING:
    from rules.expr import Expression

__all__ = [
    "FACT_SOURCES",
    "FACT_TYPES",
    "LANGUAGES",
    "OUTCOMES",
    "OUTCOME_LABELS",
    "SEVERITIES",
    "SEVERITY_LABELS",
    "STATUSES",
    "STATUS_LABELS",
    "Decision",
    "Fact",
    "FactDef",
    "FactValue",
    "Outcome",
    "Parameter",
    "ParameterValue",
    "Rule",
    "RuleResult",
    "RuleResults",
    "RuleSet",
    "Severity",
    "Source",
    "Status",
    "Test",
    "ThresholdUsed",
    "json_value",
]

Severity = Literal["blocking", "warning", "info"]
Status = Literal["pass", "fail", "unknown"]
Outcome = Literal["eligible", "eligible_with_warnings", "not_eligible", "incomplete"]
FactValue = bool | date | Decimal | int | str

LANGUAGES: tuple[str, ...] = ("en", "fr", "es")
SEVERITIES: tuple[str, ...] = ("blocking", "warning", "info")
STATUSES: tuple[str, ...] = ("pass", "fail", "unknown")
OUTCOMES: tuple[str, ...] = ("eligible", "eligible_with_warnings", "not_eligible", "incomplete")
FACT_TYPES: tuple[str, ...] = ("bool", "date", "number", "text", "enum")
# 'declared': answered by the organisation (questionnaire, documents);
# 'ledger': computed by the ledger itself (ratios, date of the last transfer).
FACT_SOURCES: tuple[str, ...] = ("declared", "ledger")

# Labels the CLI and reports print; kept here so the three languages stay together.
OUTCOME_LABELS: dict[str, dict[str, str]] = {
    "eligible": {"en": "eligible", "fr": "éligible", "es": "elegible"},
    "eligible_with_warnings": {
        "en": "eligible with warnings",
        "fr": "éligible avec avertissements",
        "es": "elegible con advertencias",
    },
    "not_eligible": {"en": "not eligible", "fr": "non éligible", "es": "no elegible"},
    "incomplete": {"en": "incomplete", "fr": "incomplet", "es": "incompleto"},
}
STATUS_LABELS: dict[str, dict[str, str]] = {
    "pass": {"en": "pass", "fr": "conforme", "es": "cumple"},
    "fail": {"en": "fail", "fr": "non conforme", "es": "no cumple"},
    "unknown": {"en": "unknown", "fr": "inconnu", "es": "desconocido"},
}
SEVERITY_LABELS: dict[str, dict[str, str]] = {
    "blocking": {"en": "blocking", "fr": "bloquant", "es": "bloqueante"},
    "warning": {"en": "warning", "fr": "avertissement", "es": "advertencia"},
    "info": {"en": "info", "fr": "information", "es": "información"},
}


def json_value(value: object) -> object:
    """Render a fact or parameter value for JSON: Decimal as exact text, dates ISO."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    return str(value)


@dataclass(frozen=True, slots=True)
class Source:
    """A statute, agreement or guideline that rules cite (``[sources.KEY]``)."""

    key: str
    title: str
    url: str = ""
    note: str = ""


@dataclass(frozen=True, slots=True)
class FactDef:
    """The declaration of a fact a rule set may read: its type and where it comes from."""

    name: str
    type: str
    source: str = "declared"
    description: str = ""
    unit: str = ""
    values: tuple[str, ...] = ()  # allowed values of an enum fact
    line: int = 0


@dataclass(frozen=True, slots=True)
class Fact:
    """One recorded value of a fact about an organisation (or a transfer).

    ``as_of`` is the date the value holds from; ``evidence`` names the document
    (name and number) it comes from; ``recorded_by`` who entered it.
    """

    name: str
    value: FactValue
    as_of: date
    evidence: str = ""
    recorded_by: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.value, float):
            raise TypeError(f"fact {self.name}: floats are refused; use Decimal or text")
        if isinstance(self.as_of, datetime) or not isinstance(self.as_of, date):
            raise TypeError(f"fact {self.name}: as_of must be a date")

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form: value (Decimal as text, date ISO), as_of, evidence, recorded_by."""
        return {
            "name": self.name,
            "value": json_value(self.value),
            "as_of": self.as_of.isoformat(),
            "evidence": self.evidence,
            "recorded_by": self.recorded_by,
        }


@dataclass(frozen=True, slots=True)
class ParameterValue:
    """A parameter's value over one period (``valid_to`` inclusive, None = open), with its source."""

    valid_from: date
    valid_to: date | None
    value: Decimal
    reference: str
    line: int = 0

    def holds_on(self, day: date) -> bool:
        """True when ``day`` falls in this period."""
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True, slots=True)
class Parameter:
    """A threshold dated by period, as OpenFisca does: each period has its value and reference."""

    name: str
    values: tuple[ParameterValue, ...]
    description: str = ""
    unit: str = ""
    line: int = 0

    def at(self, day: date) -> ParameterValue | None:
        """The value in force on ``day``, or None when no period covers it."""
        for period in self.values:
            if period.holds_on(day):
                return period
        return None


@dataclass(frozen=True, slots=True)
class Test:
    """What a rule checks: an operator, a left side (fact or expression) and a right side.

    The right side is a literal ``value``, one or two parameters (``params``), or
    an expression (``value_expr``); ``rules`` names the rules combined by
    ``all``/``any``/``not``.
    """

    op: str
    fact: str | None = None
    expr: Expression | None = None
    value: Any = None
    params: tuple[str, ...] = ()
    value_expr: Expression | None = None
    rules: tuple[str, ...] = ()

    def reads(self) -> tuple[str, ...]:
        """Names of the facts this test reads, in order, without repeats."""
        names: list[str] = []
        if self.fact is not None:
            names.append(self.fact)
        for ex in (self.expr, self.value_expr):
            if ex is not None:
                names.extend(n for n in ex.facts if n not in names)
        return tuple(names)

    def parameters(self) -> tuple[str, ...]:
        """Names of the parameters this test compares against or computes with."""
        names = list(self.params)
        for ex in (self.expr, self.value_expr):
            if ex is not None:
                names.extend(n for n in ex.parameters if n not in names)
        return tuple(names)


@dataclass(frozen=True, slots=True)
class Rule:
    """One version of a rule, in force from ``valid_from`` to ``valid_to`` (inclusive, None = open)."""

    id: str
    severity: str
    valid_from: date
    valid_to: date | None
    source: Source
    test: Test
    messages: dict[str, str]
    article: str = ""
    facts: tuple[str, ...] = ()  # facts the test reads (fact definitions among them)
    line: int = 0

    def in_force(self, day: date) -> bool:
        """True when this version applies on ``day``."""
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    def citation(self) -> str:
        """The source title followed by the article, for explanations."""
        return f"{self.source.title}, {self.article}" if self.article else self.source.title


@dataclass(frozen=True)
class RuleSet:
    """A loaded, validated rule set: its facts, parameters, sources and rule versions."""

    name: str
    version: str
    kind: str
    path: str
    sha256: str
    facts: dict[str, FactDef]
    parameters: dict[str, Parameter]
    sources: dict[str, Source]
    rules: tuple[Rule, ...]
    description: str = ""
    # Precompiled evaluation plans, keyed by rule tuple; filled by the engine.
    _cache: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    def rules_at(self, day: date) -> tuple[Rule, ...]:
        """The rule versions in force on ``day``, in file order."""
        return tuple(r for r in self.rules if r.in_force(day))

    def to_dict(self) -> dict[str, object]:
        """Identity of the rule set for stored decisions and JSON output."""
        return {"name": self.name, "version": self.version, "sha256": self.sha256}


@dataclass(frozen=True, slots=True)
class ThresholdUsed:
    """A threshold a rule compared against: a parameter (with its period and reference) or a figure."""

    name: str
    value: object
    reference: str = ""
    valid_from: date | None = None
    valid_to: date | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "value": json_value(self.value),
            "reference": self.reference,
            "valid_from": self.valid_from.isoformat() if self.valid_from else None,
            "valid_to": self.valid_to.isoformat() if self.valid_to else None,
        }


MessageParts = tuple[tuple[str, "str | None", str], ...]


@dataclass(frozen=True, slots=True)
class RuleResult:
    """The explained outcome of one rule: status, values used with evidence, threshold, message.

    The message is rendered on demand from the rule's template (``parts``) and
    the values in the result, in ``lang``: evaluating thousands of
    organisations does not pay for text nobody reads.
    """

    rule_id: str
    severity: str
    status: str
    as_of: date
    lang: str
    parts: MessageParts = field(repr=False)
    facts: tuple[Fact, ...] = ()
    missing: tuple[str, ...] = ()
    thresholds: tuple[ThresholdUsed, ...] = ()
    value: object = None
    threshold: object = None
    source: str = ""
    note: str = ""

    @property
    def message(self) -> str:
        """The rule's message in ``lang`` with the values of this result filled in."""
        from rules.messages import render  # local: messages imports model

        values: dict[str, object] = {t.name: t.value for t in self.thresholds}
        values.update((f.name, f.value) for f in self.facts)
        values["value"] = self.value
        values["threshold"] = self.threshold
        values["check_date"] = self.as_of
        return render(self.parts, values, self.lang)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form of the result."""
        return {
            "rule": self.rule_id,
            "severity": self.severity,
            "status": self.status,
            "message": self.message,
            "facts": [f.to_dict() for f in self.facts],
            "missing": list(self.missing),
            "value": json_value(self.value),
            "threshold": json_value(self.threshold),
            "thresholds": [t.to_dict() for t in self.thresholds],
            "source": self.source,
            "note": self.note,
        }


class RuleResults(Sequence[RuleResult]):
    """The per-rule results of a decision: an immutable sequence built on first access.

    The engine hands over compact rows and a function that dresses one row as
    a :class:`RuleResult`; a batch of ten thousand decisions only pays for the
    results somebody reads.  Compares equal to a tuple of the same results.
    """

    __slots__ = ("_items", "_make", "_rows")

    def __init__(self, rows: tuple[Any, ...], make: Callable[[Any], RuleResult]) -> None:
        self._rows = rows
        self._make = make
        self._items: tuple[RuleResult, ...] | None = None

    def _all(self) -> tuple[RuleResult, ...]:
        if self._items is None:
            self._items = tuple(self._make(row) for row in self._rows)
        return self._items

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> RuleResult: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[RuleResult, ...]: ...
    def __getitem__(self, index: int | slice) -> RuleResult | tuple[RuleResult, ...]:
        return self._all()[index]

    def __iter__(self) -> Iterator[RuleResult]:
        return iter(self._all())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (RuleResults, tuple, list)):
            return self._all() == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._all())

    def __repr__(self) -> str:
        return f"RuleResults({self._all()!r})"


@dataclass(frozen=True, slots=True)
class Decision:
    """The result of checking one organisation against a rule set on a date."""

    organisation: str | None
    as_of: date
    outcome: str
    ruleset_name: str
    ruleset_version: str
    ruleset_sha256: str
    lang: str
    results: Sequence[RuleResult]

    def result(self, rule_id: str) -> RuleResult:
        """The result of the rule ``rule_id`` (KeyError when it was not in force)."""
        for r in self.results:
            if r.rule_id == rule_id:
                return r
        raise KeyError(rule_id)

    def statuses(self) -> dict[str, str]:
        """rule id -> pass/fail/unknown."""
        return {r.rule_id: r.status for r in self.results}

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (what the database stores and ``--json`` prints)."""
        return {
            "organisation": self.organisation,
            "as_of": self.as_of.isoformat(),
            "outcome": self.outcome,
            "ruleset": {
                "name": self.ruleset_name,
                "version": self.ruleset_version,
                "sha256": self.ruleset_sha256,
            },
            "lang": self.lang,
            "results": [r.to_dict() for r in self.results],
        }
