"""Load and validate rule-set files (TOML).

A rule-set file has five tables::

    [ruleset]        name, version, kind ("eligibility" or "transfer"), description
    [sources.KEY]    title, url, note           -- statutes, agreements, guidelines cited
    [facts.NAME]     type, source, description, unit, values (enum)
    [parameters.NAME] description, unit, and [[parameters.NAME.values]] periods:
                     from, to (optional, inclusive), value, reference
    [[rules]]        id, severity, valid_from, valid_to, source, article, facts,
                     test = {op, fact|expr, value|param|value_expr, rules},
                     messages = {en, fr, es}

Everything is checked at load: unknown keys, unknown facts, parameters and
sources, operator/type mismatches (a date compared with a number), expressions
(see :mod:`rules.expr`), message placeholders, overlapping rule versions and
parameter periods, cycles between ``all``/``any``/``not`` rules, file size and
nesting.  Every problem becomes a :class:`~rules.errors.Diagnostic`
``file:line: message``; ``load_ruleset`` raises them together as a
:class:`~rules.errors.RuleFileError`.  ``tomllib`` gives no positions for
valid TOML, so lines are found by scanning the text for the offending table or
key -- good enough to point a person at the right place.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import string
import tomllib
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from rules.errors import Diagnostic, FactValueError, RuleFileError
from rules.expr import Expression, ExpressionError, parse_expression
from rules.model import (
    FACT_SOURCES,
    FACT_TYPES,
    LANGUAGES,
    SEVERITIES,
    Fact,
    FactDef,
    Parameter,
    ParameterValue,
    Rule,
    RuleSet,
    Source,
    Test,
)

__all__ = [
    "BUILTIN_NAMES",
    "CHECK_NAMES",
    "DEFAULT_RULESET_PATH",
    "MAX_FILE_BYTES",
    "OPERATORS",
    "PLACEHOLDER_NAMES",
    "TextLines",
    "check_template",
    "coerce_fact_value",
    "load_ruleset",
    "loads_ruleset",
    "make_fact",
    "parse_toml",
    "read_limited",
    "ruleset_hash",
    "toml_error_line",
    "validate_ruleset",
]

DEFAULT_RULESET_PATH = Path(__file__).with_name("default.toml")
MAX_FILE_BYTES = 1_000_000
MAX_RULES = 2_000
MAX_FACTS = 1_000
MAX_PARAMETERS = 1_000
MAX_PERIODS = 200
MAX_MESSAGE_CHARS = 1_000
MAX_TEXT_CHARS = 2_000
MAX_LIST_ITEMS = 200
MAX_NESTING = 32

COMPARISONS = ("equals", "not_equals", "lt", "le", "gt", "ge")
OPERATORS = COMPARISONS + (
    "between",
    "in",
    "not_in",
    "present",
    "within_days",
    "within_months",
    "all",
    "any",
    "not",
)
# Names an expression may read without declaring them: figures of the check date.
BUILTIN_NAMES: dict[str, str] = {"check_year": "number"}
# Names a test's param may give besides declared parameters, with their type.
CHECK_NAMES: dict[str, str] = {"check_date": "date", "check_year": "number"}
# Placeholders every message may use besides the facts and parameters its rule reads.
PLACEHOLDER_NAMES = ("value", "threshold", "check_date")
_RESERVED = set(BUILTIN_NAMES) | set(CHECK_NAMES) | set(PLACEHOLDER_NAMES) | {"min", "max", "abs"}

_IDENT = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_RULE_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_SPEC = re.compile(r"^(\.[0-9])?[f%]?$")
_TOML_POS = re.compile(r"at line (\d+), column (\d+)")

_TOP_KEYS = {"ruleset", "sources", "facts", "parameters", "rules"}
_RULESET_KEYS = {"name", "version", "kind", "description"}
_SOURCE_KEYS = {"title", "url", "note"}
_FACT_KEYS = {"type", "source", "description", "unit", "values"}
_PARAM_KEYS = {"description", "unit", "values"}
_PERIOD_KEYS = {"from", "to", "value", "reference"}
_RULE_KEYS = {
    "id",
    "severity",
    "valid_from",
    "valid_to",
    "source",
    "article",
    "facts",
    "test",
    "messages",
    "description",
}
_TEST_KEYS = {"op", "fact", "expr", "value", "param", "value_expr", "rules"}


# --------------------------------------------------------------------------- helpers


def read_limited(path: str | Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """Read at most ``limit`` bytes of a file; raise RuleFileError if it is larger or unreadable."""
    name = str(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise RuleFileError.at(name, 1, f"cannot read the file: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise RuleFileError.at(name, 1, f"file larger than {limit} bytes")
    return data


def ruleset_hash(path: str | Path) -> str:
    """SHA-256 (hex) of the rule-set file's bytes, stored with every decision."""
    return hashlib.sha256(read_limited(path)).hexdigest()


def toml_error_line(message: str) -> int:
    """Line number from a ``tomllib.TOMLDecodeError`` message (1 when absent)."""
    m = _TOML_POS.search(message)
    return int(m.group(1)) if m else 1


def _deep_line(text: str) -> int:
    # Where brackets first nest too deeply (strings ignored roughly): used to
    # place a RecursionError from tomllib.
    depth = 0
    for lineno, line in enumerate(text.splitlines(), 1):
        for ch in line:
            if ch in "[{":
                depth += 1
                if depth > MAX_NESTING:
                    return lineno
            elif ch in "]}":
                depth = max(0, depth - 1)
            elif ch == "#":
                break
    return 1


def parse_toml(data: bytes, name: str) -> tuple[dict[str, Any], str]:
    """Decode and parse TOML with Decimal floats; errors become RuleFileError at their line."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise RuleFileError.at(name, line, "the file is not UTF-8 text") from None
    try:
        doc = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        raise RuleFileError.at(name, toml_error_line(msg), f"not valid TOML: {msg}") from None
    except RecursionError:
        raise RuleFileError.at(
            name, _deep_line(text), f"nesting deeper than {MAX_NESTING} levels"
        ) from None
    return doc, text


class TextLines:
    """Finds the line of a table or key in TOML text (tomllib gives no positions)."""

    _HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.headers: list[tuple[int, str]] = []
        for i, line in enumerate(self.lines, 1):
            m = self._HEADER.match(line)
            if m:
                norm = re.sub(r"[\s\"']", "", m.group(1))
                self.headers.append((i, norm))

    def table(self, dotted: str, nth: int = 0) -> int | None:
        """Line of the ``nth`` header ``[dotted]`` or ``[[dotted]]``."""
        hits = [line for line, name in self.headers if name == dotted]
        return hits[nth] if nth < len(hits) else None

    def key(self, start: int | None, key: str) -> int | None:
        """Line of ``key = `` in the table whose header (or first key) is at line ``start``."""
        if start is None or start < 1:
            return None
        pattern = re.compile(r"^\s*[\"']?" + re.escape(key) + r"[\"']?\s*[.=]")
        if pattern.match(self.lines[start - 1]):
            return start
        for index in range(start, len(self.lines)):
            line = self.lines[index]
            if self._HEADER.match(line):
                break
            if pattern.match(line):
                return index + 1
        return None

    def inline(self, start: int | None, key: str, nth: int) -> int | None:
        """Line of the ``nth`` ``key =`` inside inline tables after ``start``, before the next header."""
        if start is None or start < 1:
            return None
        pattern = re.compile(r"[{,]\s*[\"']?" + re.escape(key) + r"[\"']?\s*=")
        seen = 0
        for index in range(start, len(self.lines)):
            line = self.lines[index]
            if self._HEADER.match(line):
                break
            for _ in pattern.finditer(line):
                if seen == nth:
                    return index + 1
                seen += 1
        return None

    def search(self, pattern: str, nth: int = 0) -> int | None:
        """Line of the ``nth`` match of a regular expression."""
        rx = re.compile(pattern)
        seen = 0
        for i, line in enumerate(self.lines, 1):
            if rx.search(line):
                if seen == nth:
                    return i
                seen += 1
        return None


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, Decimal)):
        return f"the number {value}"
    if isinstance(value, datetime):
        return "a date-time"
    if isinstance(value, date):
        return f"the date {value.isoformat()}"
    if isinstance(value, time):
        return "a time"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def _is_date(value: object) -> bool:
    return isinstance(value, date) and not isinstance(value, datetime)


def _is_number(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, Decimal) and value.is_finite()


def coerce_fact_value(fact: FactDef, raw: object) -> object:
    """Convert a raw value (TOML value, or text typed at the CLI) to the fact's type.

    bool accepts true/false/yes/no/oui/non/sí; number accepts int, Decimal or
    decimal text (never float); date accepts a date or ISO text; enum checks the
    allowed values.  Raises FactValueError (a ValueError) with a readable message.
    """
    typ = fact.type
    if typ == "bool":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str):
            low = raw.strip().lower()
            if low in {"true", "yes", "oui", "si", "sí", "1"}:
                return True
            if low in {"false", "no", "non", "0"}:
                return False
        raise FactValueError(f"{fact.name}: {_kind(raw)} is not true/false")
    if typ == "number":
        if isinstance(raw, float):
            raise FactValueError(f"{fact.name}: floats are refused; give the number as text")
        if isinstance(raw, str):
            try:
                raw = Decimal(raw.strip())
            except ArithmeticError:
                raise FactValueError(f"{fact.name}: {raw!r} is not a number") from None
        if _is_number(raw):
            return raw
        raise FactValueError(f"{fact.name}: {_kind(raw)} is not a number")
    if typ == "date":
        if isinstance(raw, str):
            try:
                raw = date.fromisoformat(raw.strip())
            except ValueError:
                raise FactValueError(f"{fact.name}: {raw!r} is not a date (YYYY-MM-DD)") from None
        if _is_date(raw):
            return raw
        raise FactValueError(f"{fact.name}: {_kind(raw)} is not a date")
    if not isinstance(raw, str):
        raise FactValueError(f"{fact.name}: {_kind(raw)} is not text")
    if typ == "enum" and raw not in fact.values:
        allowed = ", ".join(fact.values)
        raise FactValueError(f"{fact.name}: {raw!r} is not one of {allowed}")
    return raw


def make_fact(
    ruleset: RuleSet,
    name: str,
    raw: object,
    as_of: date,
    evidence: str = "",
    recorded_by: str = "",
) -> Fact:
    """Build a :class:`Fact` after checking the name is declared and coercing the value."""
    definition = ruleset.facts.get(name)
    if definition is None:
        raise FactValueError(f"unknown fact {name!r} for rule set {ruleset.name}")
    return Fact(name, coerce_fact_value(definition, raw), as_of, evidence, recorded_by)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- the loader


class _Loader:
    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.at = TextLines(text)
        self.errors: list[Diagnostic] = []

    def err(self, line: int | None, message: str) -> None:
        self.errors.append(Diagnostic(self.name, line or 1, message))

    # --- small checks -------------------------------------------------------

    def _unknown_keys(self, table: Mapping[str, Any], allowed: set[str], line: int | None,
                      where: str) -> None:
        for key in table:
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                self.err(line, f"{where}: unknown key {key!r} (expected one of: {known})")

    def _text(self, table: Mapping[str, Any], key: str, line: int | None, where: str,
              required: bool = False, limit: int = MAX_TEXT_CHARS) -> str:
        value = table.get(key)
        if value is None:
            if required:
                self.err(line, f"{where}: {key} is required")
            return ""
        if not isinstance(value, str):
            self.err(line, f"{where}: {key} must be text, not {_kind(value)}")
            return ""
        if required and not value.strip():
            self.err(line, f"{where}: {key} must not be empty")
        if len(value) > limit:
            self.err(line, f"{where}: {key} is longer than {limit} characters")
            return value[:limit]
        return value

    def _table(self, doc: Mapping[str, Any], key: str, line: int | None) -> dict[str, Any]:
        value = doc.get(key, {})
        if not isinstance(value, dict):
            self.err(line, f"[{key}] must be a table, not {_kind(value)}")
            return {}
        return value

    # --- sections -----------------------------------------------------------

    def load(self, doc: dict[str, Any], path: str, sha: str) -> RuleSet | None:
        self._unknown_keys(doc, _TOP_KEYS, 1, "top level")
        head_line = self.at.table("ruleset")
        head = self._table(doc, "ruleset", head_line)
        if "ruleset" not in doc:
            self.err(1, "missing [ruleset] table (name, version)")
        self._unknown_keys(head, _RULESET_KEYS, head_line, "[ruleset]")
        name = self._text(head, "name", head_line, "[ruleset]", required="ruleset" in doc)
        version = self._text(head, "version", head_line, "[ruleset]", required="ruleset" in doc)
        description = self._text(head, "description", head_line, "[ruleset]")
        kind = head.get("kind", "eligibility")
        if kind not in ("eligibility", "transfer"):
            self.err(head_line, f"[ruleset]: kind must be 'eligibility' or 'transfer', not {kind!r}")

        sources = self._sources(self._table(doc, "sources", self.at.table("sources")))
        facts = self._facts(self._table(doc, "facts", self.at.table("facts")))
        params = self._parameters(
            self._table(doc, "parameters", self.at.table("parameters")), facts
        )
        rules = self._rules(doc.get("rules"), sources, facts, params)
        if self.errors:
            return None
        return RuleSet(
            name=name,
            version=version,
            kind=str(kind),
            path=path,
            sha256=sha,
            facts=facts,
            parameters=params,
            sources=sources,
            rules=tuple(rules),
            description=description,
        )

    def _sources(self, table: dict[str, Any]) -> dict[str, Source]:
        out: dict[str, Source] = {}
        for key, body in table.items():
            line = self.at.table(f"sources.{key}") or self.at.key(self.at.table("sources"), key)
            where = f"source {key!r}"
            if not _IDENT.match(key):
                self.err(line, f"{where}: a key is lower-case letters, digits and _")
            if not isinstance(body, dict):
                self.err(line, f"{where} must be a table with a title")
                continue
            self._unknown_keys(body, _SOURCE_KEYS, line, where)
            out[key] = Source(
                key=key,
                title=self._text(body, "title", line, where, required=True),
                url=self._text(body, "url", line, where),
                note=self._text(body, "note", line, where),
            )
        return out

    def _facts(self, table: dict[str, Any]) -> dict[str, FactDef]:
        out: dict[str, FactDef] = {}
        if len(table) > MAX_FACTS:
            self.err(self.at.table("facts"), f"more than {MAX_FACTS} facts")
            return out
        for fname, body in table.items():
            line = self.at.table(f"facts.{fname}") or self.at.key(self.at.table("facts"), fname)
            where = f"fact {fname!r}"
            if not _IDENT.match(fname) or fname in _RESERVED:
                self.err(line, f"{where}: a fact name is lower-case letters, digits and _, "
                               f"and not one of {', '.join(sorted(_RESERVED))}")
                continue
            if not isinstance(body, dict):
                self.err(line, f"{where} must be a table with a type")
                continue
            self._unknown_keys(body, _FACT_KEYS, line, where)
            typ = body.get("type")
            if typ not in FACT_TYPES:
                self.err(line, f"{where}: type must be one of {', '.join(FACT_TYPES)}, "
                               f"not {typ!r}")
                continue
            source = body.get("source", "declared")
            if source not in FACT_SOURCES:
                self.err(line, f"{where}: source must be 'declared' or 'ledger', not {source!r}")
            values: tuple[str, ...] = ()
            if typ == "enum":
                raw = body.get("values")
                if (not isinstance(raw, list) or not raw or len(raw) > MAX_LIST_ITEMS
                        or not all(isinstance(v, str) and v for v in raw)):
                    self.err(line, f"{where}: an enum needs values = [\"a\", \"b\", ...]")
                else:
                    values = tuple(raw)
            elif "values" in body:
                self.err(line, f"{where}: only an enum fact has values")
            out[fname] = FactDef(
                name=fname,
                type=typ,
                source=str(source),
                description=self._text(body, "description", line, where),
                unit=self._text(body, "unit", line, where),
                values=values,
                line=line or 0,
            )
        return out

    def _parameters(self, table: dict[str, Any], facts: Mapping[str, FactDef]
                    ) -> dict[str, Parameter]:
        out: dict[str, Parameter] = {}
        if len(table) > MAX_PARAMETERS:
            self.err(self.at.table("parameters"), f"more than {MAX_PARAMETERS} parameters")
            return out
        for pname, body in table.items():
            line = (self.at.table(f"parameters.{pname}")
                    or self.at.table(f"parameters.{pname}.values")
                    or self.at.key(self.at.table("parameters"), pname))
            where = f"parameter {pname!r}"
            if not _IDENT.match(pname) or pname in _RESERVED:
                self.err(line, f"{where}: a parameter name is lower-case letters, digits and _, "
                               f"and not one of {', '.join(sorted(_RESERVED))}")
                continue
            if pname in facts:
                self.err(line, f"{where}: a fact has the same name")
                continue
            if not isinstance(body, dict):
                self.err(line, f"{where} must be a table with dated values")
                continue
            self._unknown_keys(body, _PARAM_KEYS, line, where)
            periods = body.get("values")
            if not isinstance(periods, list) or not periods:
                self.err(line, f"{where}: needs values = [{{from = ..., value = ..., "
                               f"reference = \"...\"}}, ...]")
                continue
            if len(periods) > MAX_PERIODS:
                self.err(line, f"{where}: more than {MAX_PERIODS} periods")
                continue
            raw: list[tuple[date, date | None, Decimal, str, int]] = []
            for k, period in enumerate(periods):
                pline = (self.at.table(f"parameters.{pname}.values", k)
                         or self.at.inline(line, "from", k) or line)
                pwhere = f"{where}, period {k + 1}"
                if not isinstance(period, dict):
                    self.err(pline, f"{pwhere}: must be a table")
                    continue
                self._unknown_keys(period, _PERIOD_KEYS, pline, pwhere)
                start, end, value = period.get("from"), period.get("to"), period.get("value")
                ok = True
                if not _is_date(start):
                    self.err(pline, f"{pwhere}: from must be a date (YYYY-MM-DD), "
                                    f"not {_kind(start)}")
                    ok = False
                if end is not None and not _is_date(end):
                    self.err(pline, f"{pwhere}: to must be a date, not {_kind(end)}")
                    ok = False
                if not _is_number(value):
                    self.err(pline, f"{pwhere}: value must be a number, not {_kind(value)}")
                    ok = False
                reference = self._text(period, "reference", pline, pwhere, required=True)
                if ok and end is not None and end < start:
                    self.err(pline, f"{pwhere}: to ({end}) is before from ({start})")
                    ok = False
                if ok and isinstance(start, date) and (end is None or isinstance(end, date)):
                    raw.append((start, end, Decimal(value), reference, pline or 0))  # type: ignore[arg-type]
            raw.sort(key=lambda p: p[0])
            built: list[ParameterValue] = []
            for i, (start, end, value, reference, pline) in enumerate(raw):
                nxt = raw[i + 1] if i + 1 < len(raw) else None
                if nxt is not None:
                    if nxt[0] == start or (end is not None and end >= nxt[0]):
                        self.err(nxt[4], f"{where}: periods overlap (line {pline} and line "
                                         f"{nxt[4]} both cover {nxt[0].isoformat()})")
                    elif end is None:
                        end = nxt[0] - timedelta(days=1)
                built.append(ParameterValue(start, end, value, reference, pline))
            out[pname] = Parameter(
                name=pname,
                values=tuple(built),
                description=self._text(body, "description", line, where),
                unit=self._text(body, "unit", line, where),
                line=line or 0,
            )
        return out

    # --- rules --------------------------------------------------------------

    def _rule_line(self, index: int, rule: object, count: int, seen: dict[str, int]) -> int:
        headers = [line for line, name in self.at.headers if name == "rules"]
        rid = rule.get("id") if isinstance(rule, dict) else None
        nth = seen.get(rid, 0) if isinstance(rid, str) else 0
        if isinstance(rid, str):
            seen[rid] = nth + 1
        if len(headers) == count:
            return headers[index]
        if isinstance(rid, str):
            found = self.at.search(r"\bid\s*=\s*[\"']" + re.escape(rid) + r"[\"']", nth)
            if found:
                return found
        return self.at.search(r"^\s*rules\s*=") or 1

    def _key_line(self, rule_line: int, key: str) -> int:
        found = self.at.key(rule_line, key)
        if found:
            return found
        for line, name in self.at.headers:
            if line > rule_line and name == f"rules.{key}":
                return line
            if line > rule_line and name == "rules":
                break
        return rule_line

    def _rules(self, raw: object, sources: Mapping[str, Source], facts: Mapping[str, FactDef],
               params: Mapping[str, Parameter]) -> list[Rule]:
        if raw is None:
            self.err(1, "no [[rules]] in the file")
            return []
        if not isinstance(raw, list):
            self.err(self.at.search(r"^\s*rules\s*=") or 1, "rules must be an array of tables")
            return []
        if len(raw) > MAX_RULES:
            self.err(1, f"more than {MAX_RULES} rules")
            return []
        names: dict[str, tuple[str, str]] = {n: ("fact", f.type) for n, f in facts.items()}
        names.update({n: ("parameter", "number") for n in params})
        names.update({n: ("builtin", t) for n, t in BUILTIN_NAMES.items()})
        out: list[Rule] = []
        seen: dict[str, int] = {}
        for index, body in enumerate(raw):
            line = self._rule_line(index, body, len(raw), seen)
            rule = self._rule(body, line, sources, facts, params, names)
            if rule is not None:
                out.append(rule)
        self._check_versions(out)
        self._check_references(out)
        return out

    def _rule(self, body: object, line: int, sources: Mapping[str, Source],
              facts: Mapping[str, FactDef], params: Mapping[str, Parameter],
              names: Mapping[str, tuple[str, str]]) -> Rule | None:
        if not isinstance(body, dict):
            self.err(line, "a rule must be a table")
            return None
        rid = body.get("id")
        if not isinstance(rid, str) or not _RULE_ID.match(rid):
            self.err(line, f"rule id must be lower-case letters, digits, '_', '.', '-' "
                           f"(got {rid!r})")
            return None
        where = f"rule {rid!r}"
        before = len(self.errors)
        self._unknown_keys(body, _RULE_KEYS, line, where)
        severity = body.get("severity")
        if severity not in SEVERITIES:
            self.err(self._key_line(line, "severity"),
                     f"{where}: severity must be one of {', '.join(SEVERITIES)}, not {severity!r}")
        valid_from, valid_to = body.get("valid_from"), body.get("valid_to")
        if not _is_date(valid_from):
            self.err(self._key_line(line, "valid_from"),
                     f"{where}: valid_from must be a date (YYYY-MM-DD), not {_kind(valid_from)}")
        if valid_to is not None and not _is_date(valid_to):
            self.err(self._key_line(line, "valid_to"),
                     f"{where}: valid_to must be a date, not {_kind(valid_to)}")
        elif _is_date(valid_from) and valid_to is not None and valid_to < valid_from:
            self.err(self._key_line(line, "valid_to"),
                     f"{where}: valid_to ({valid_to}) is before valid_from ({valid_from})")
        source_key = body.get("source")
        source = sources.get(source_key) if isinstance(source_key, str) else None
        if source is None:
            self.err(self._key_line(line, "source"),
                     f"{where}: source must name a [sources.KEY] table, not {source_key!r}")
        article = self._text(body, "article", line, where)
        self._text(body, "description", line, where)
        test = self._test(body.get("test"), self._key_line(line, "test"), where, facts, params,
                          names)
        declared = body.get("facts")
        if test is not None and declared is not None:
            if (not isinstance(declared, list) or not all(isinstance(d, str) for d in declared)):
                self.err(self._key_line(line, "facts"), f"{where}: facts must be a list of names")
            elif set(declared) != set(test.reads()):
                self.err(self._key_line(line, "facts"),
                         f"{where}: facts lists {sorted(declared)} but the test reads "
                         f"{sorted(test.reads())}")
        messages = self._messages(body.get("messages"), self._key_line(line, "messages"), where,
                                  test)
        if (len(self.errors) != before or test is None or source is None
                or not isinstance(valid_from, date)):
            return None
        return Rule(
            id=rid,
            severity=str(severity),
            valid_from=valid_from,
            valid_to=valid_to,
            source=source,
            test=test,
            messages=messages,
            article=article,
            facts=test.reads(),
            line=line,
        )

    def _expression(self, text: object, line: int, where: str,
                    names: Mapping[str, tuple[str, str]]) -> Expression | None:
        if not isinstance(text, str):
            self.err(line, f"{where}: an expression must be text, not {_kind(text)}")
            return None
        try:
            return parse_expression(text, names)
        except ExpressionError as exc:
            self.err(line, f"{where}: {exc}")
            return None

    def _literal(self, value: object, typ: str, enum: tuple[str, ...], line: int,
                 where: str, left: str) -> object:
        ok = {
            "bool": lambda v: isinstance(v, bool),
            "number": _is_number,
            "date": _is_date,
            "text": lambda v: isinstance(v, str),
            "enum": lambda v: isinstance(v, str),
        }[typ]
        if not ok(value):
            self.err(line, f"{where}: cannot compare {left} ({typ}) with {_kind(value)}")
            return None
        if typ == "enum" and value not in enum:
            self.err(line, f"{where}: {value!r} is not a value of {left} "
                           f"({', '.join(enum)})")
            return None
        if typ == "number":
            return Decimal(value)  # type: ignore[arg-type]
        return value

    def _param_names(self, raw: object, count: int, line: int, where: str,
                     params: Mapping[str, Parameter], typ: str = "number"
                     ) -> tuple[str, ...] | None:
        items = [raw] if count == 1 and isinstance(raw, str) else raw
        if not isinstance(items, list) or len(items) != count:
            shape = "a parameter name" if count == 1 else f"a list of {count} parameter names"
            self.err(line, f"{where}: param must be {shape}")
            return None
        for item in items:
            if isinstance(item, str) and item in CHECK_NAMES:
                if CHECK_NAMES[item] != typ:
                    self.err(line, f"{where}: cannot compare a {typ} with {item} "
                                   f"(a {CHECK_NAMES[item]})")
                    return None
                continue
            if not isinstance(item, str) or item not in params:
                self.err(line, f"{where}: unknown parameter {item!r} (declare it in [parameters])")
                return None
            if typ != "number":
                self.err(line, f"{where}: cannot compare a {typ} with parameter {item!r} "
                               "(a number)")
                return None
        return tuple(items)

    def _test(self, raw: object, line: int, where: str, facts: Mapping[str, FactDef],
              params: Mapping[str, Parameter], names: Mapping[str, tuple[str, str]]
              ) -> Test | None:
        if not isinstance(raw, dict):
            self.err(line, f"{where}: test must be a table such as "
                           "{ fact = \"x\", op = \"equals\", value = true }")
            return None
        before = len(self.errors)
        self._unknown_keys(raw, _TEST_KEYS, line, f"{where}, test")
        op = raw.get("op")
        if op not in OPERATORS:
            self.err(line, f"{where}: unknown operator {op!r} (known: {', '.join(OPERATORS)})")
            return None
        if op in ("all", "any", "not"):
            extra = sorted(k for k in raw if k not in ("op", "rules"))
            if extra:
                self.err(line, f"{where}: {op} takes only rules = [...], not {', '.join(extra)}")
            ids = raw.get("rules")
            if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
                self.err(line, f"{where}: {op} needs rules = [\"rule-id\", ...]")
                return None
            if op == "not" and len(ids) != 1:
                self.err(line, f"{where}: not takes exactly one rule")
                return None
            if len(self.errors) != before:
                return None
            return Test(op=op, rules=tuple(ids))

        # Left side: a declared fact, or an expression (a number).
        if ("fact" in raw) == ("expr" in raw):
            self.err(line, f"{where}: give exactly one of fact = \"name\" or expr = \"...\"")
            return None
        fact_name: str | None = None
        expr: Expression | None = None
        enum: tuple[str, ...] = ()
        if "fact" in raw:
            fact_name = raw["fact"]
            definition = facts.get(fact_name) if isinstance(fact_name, str) else None
            if definition is None:
                self.err(line, f"{where}: unknown fact {fact_name!r} (declare it in [facts])")
                return None
            typ, enum, left = definition.type, definition.values, f"fact {fact_name!r}"
        else:
            expr = self._expression(raw["expr"], line, where, names)
            if expr is None:
                return None
            typ, left = "number", f"expression {expr.text!r}"

        rights = [k for k in ("value", "param", "value_expr") if k in raw]
        if op == "present":
            if expr is not None or rights:
                self.err(line, f"{where}: present takes only a fact")
                return None
            return Test(op=op, fact=fact_name)
        if len(rights) != 1:
            self.err(line, f"{where}: {op} needs exactly one of value, param or value_expr")
            return None
        right = rights[0]
        value: object = None
        param_names: tuple[str, ...] = ()
        value_expr: Expression | None = None

        if op in ("within_days", "within_months"):
            if typ != "date":
                self.err(line, f"{where}: {op} needs a date fact; {left} is a {typ}")
                return None
            if right == "value":
                n = raw["value"]
                if isinstance(n, bool) or not isinstance(n, int) or n < 0:
                    self.err(line, f"{where}: {op} needs a whole number >= 0, not {_kind(n)}")
                    return None
                value = n
            elif right == "param":
                param_names = self._param_names(raw["param"], 1, line, where, params) or ()
                if not param_names:
                    return None
                if param_names[0] in CHECK_NAMES:
                    self.err(line, f"{where}: {op} needs a declared parameter, "
                                   f"not {param_names[0]}")
                    return None
                for period in params[param_names[0]].values:
                    v = period.value
                    if v < 0 or v != v.to_integral_value():
                        self.err(line, f"{where}: parameter {param_names[0]!r} must be a whole "
                                       f"number >= 0 for {op} (it is {v} from {period.valid_from})")
                        return None
            else:
                self.err(line, f"{where}: {op} takes value or param, not value_expr")
                return None
        elif op in ("in", "not_in"):
            if typ not in ("text", "enum", "number"):
                self.err(line, f"{where}: {op} needs a text, enum or number; {left} is a {typ}")
                return None
            if right != "value" or not isinstance(raw["value"], list) or not raw["value"]:
                self.err(line, f"{where}: {op} needs value = [a list of values]")
                return None
            if len(raw["value"]) > MAX_LIST_ITEMS:
                self.err(line, f"{where}: more than {MAX_LIST_ITEMS} values")
                return None
            value = frozenset(self._literal(v, typ, enum, line, where, left) for v in raw["value"])
        elif op == "between":
            if typ not in ("number", "date"):
                self.err(line, f"{where}: between needs a number or a date; {left} is a {typ}")
                return None
            if right == "value":
                pair = raw["value"]
                if not isinstance(pair, list) or len(pair) != 2:
                    self.err(line, f"{where}: between needs value = [low, high]")
                    return None
                lo = self._literal(pair[0], typ, enum, line, where, left)
                hi = self._literal(pair[1], typ, enum, line, where, left)
                if lo is not None and hi is not None and lo > hi:  # type: ignore[operator]
                    self.err(line, f"{where}: between low {pair[0]} is above high {pair[1]}")
                value = (lo, hi)
            elif right == "param" and typ == "number":
                param_names = self._param_names(raw["param"], 2, line, where, params) or ()
                if not param_names:
                    return None
            else:
                self.err(line, f"{where}: between on {left} needs value = [low, high]"
                               + (" or param = [\"low\", \"high\"]" if typ == "number" else ""))
                return None
        else:  # equals, not_equals, lt, le, gt, ge
            if op not in ("equals", "not_equals") and typ not in ("number", "date"):
                self.err(line, f"{where}: {op} needs a number or a date; {left} is a {typ}")
                return None
            if right == "value":
                value = self._literal(raw["value"], typ, enum, line, where, left)
            elif right == "param" and typ in ("number", "date"):
                param_names = self._param_names(raw["param"], 1, line, where, params, typ) or ()
            elif typ != "number":
                what = "a parameter" if right == "param" else "an expression"
                self.err(line, f"{where}: cannot compare {left} ({typ}) with {what} (a number)")
                return None
            else:
                value_expr = self._expression(raw["value_expr"], line, where, names)
        if len(self.errors) != before:
            return None
        return Test(op=op, fact=fact_name, expr=expr, value=value, params=param_names,
                    value_expr=value_expr)

    def _messages(self, raw: object, line: int, where: str, test: Test | None) -> dict[str, str]:
        if not isinstance(raw, dict):
            self.err(line, f"{where}: messages must be a table {{ en = \"...\", fr = \"...\", "
                           "es = \"...\" }")
            return {}
        out: dict[str, str] = {}
        for lang in raw:
            if lang not in LANGUAGES:
                self.err(line, f"{where}: message language {lang!r} is not one of en, fr, es")
        allowed = set(PLACEHOLDER_NAMES)
        if test is not None:
            allowed |= set(test.reads()) | set(test.parameters())
        for lang in LANGUAGES:
            text = raw.get(lang)
            if not isinstance(text, str) or not text.strip():
                self.err(line, f"{where}: messages.{lang} is missing")
                continue
            if len(text) > MAX_MESSAGE_CHARS:
                self.err(line, f"{where}: messages.{lang} is longer than {MAX_MESSAGE_CHARS} "
                               "characters")
                continue
            problem = check_template(text, allowed if test is not None else None)
            if problem:
                self.err(line, f"{where}: messages.{lang}: {problem}")
                continue
            out[lang] = text
        return out

    # --- whole-file checks ---------------------------------------------------

    def _check_versions(self, rules: list[Rule]) -> None:
        by_id: dict[str, list[Rule]] = {}
        for rule in rules:
            by_id.setdefault(rule.id, []).append(rule)
        for rid, versions in by_id.items():
            versions.sort(key=lambda r: r.valid_from)
            for a, b in itertools.pairwise(versions):
                if a.valid_to is None or a.valid_to >= b.valid_from:
                    self.err(b.line, f"rule {rid!r} has overlapping versions: line {a.line} and "
                                     f"line {b.line} are both in force on "
                                     f"{b.valid_from.isoformat()}")

    def _check_references(self, rules: list[Rule]) -> None:
        ids = {r.id for r in rules}
        graph: dict[str, set[str]] = {}
        lines: dict[str, int] = {}
        for rule in rules:
            for ref in rule.test.rules:
                if ref not in ids:
                    self.err(rule.line, f"rule {rule.id!r}: {rule.test.op} names unknown rule "
                                        f"{ref!r}")
            graph.setdefault(rule.id, set()).update(rule.test.rules)
            lines.setdefault(rule.id, rule.line)
        # Iterative colouring: a cycle would make evaluation order impossible.
        state: dict[str, int] = {}
        for start in graph:
            if state.get(start):
                continue
            stack: list[tuple[str, list[str]]] = [(start, sorted(graph.get(start, ())))]
            state[start] = 1
            while stack:
                node, todo = stack[-1]
                if not todo:
                    state[node] = 2
                    stack.pop()
                    continue
                nxt = todo.pop()
                if state.get(nxt) == 1:
                    self.err(lines.get(node), f"rule {node!r}: rules refer to each other in a "
                                              f"cycle through {nxt!r}")
                    return
                if not state.get(nxt) and nxt in graph:
                    state[nxt] = 1
                    stack.append((nxt, sorted(graph[nxt])))


def check_template(text: str, allowed: set[str] | None) -> str:
    """Return a problem with a message template, or '' when it is safe.

    Fields must be plain names (no ``.attr`` or ``[index]``), without
    conversion, with at most a short numeric format (``.1%``, ``.2f``), and --
    when ``allowed`` is given -- among the allowed names.
    """
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as exc:
        return f"bad placeholder: {exc}"
    for _literal, field, spec, conversion in parts:
        if field is None:
            continue
        if not _IDENT.match(field):
            return f"placeholder {{{field}}} must be a plain name (no '.', '[', or position)"
        if conversion:
            return f"placeholder {{{field}!{conversion}}}: conversions are not allowed"
        if spec and not _SPEC.match(spec):
            return f"placeholder {{{field}:{spec}}}: only formats like .1% or .2f are allowed"
        if allowed is not None and field not in allowed:
            return (f"placeholder {{{field}}} is not a value this rule reads "
                    f"(allowed: {', '.join(sorted(allowed))})")
    return ""


def loads_ruleset(data: bytes | str, name: str = "<string>") -> RuleSet:
    """Load a rule set from bytes or text (``name`` is used in messages). Raises RuleFileError."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > MAX_FILE_BYTES:
        raise RuleFileError.at(name, 1, f"file larger than {MAX_FILE_BYTES} bytes")
    doc, text = parse_toml(raw, name)
    loader = _Loader(name, text)
    ruleset = loader.load(doc, name, hashlib.sha256(raw).hexdigest())
    if ruleset is None:
        raise RuleFileError(sorted(loader.errors, key=lambda d: d.line))
    return ruleset


def load_ruleset(path: str | Path | None = None) -> RuleSet:
    """Load and validate a rule-set file (the shipped ``rules/default.toml`` when None).

    Raises RuleFileError listing every problem as ``file:line: message``.
    """
    target = DEFAULT_RULESET_PATH if path is None else path
    return loads_ruleset(read_limited(target), str(target))


def validate_ruleset(path: str | Path) -> list[Diagnostic]:
    """Every problem of a rule-set file as ``file:line: message`` diagnostics ([] when valid)."""
    try:
        load_ruleset(path)
    except RuleFileError as exc:
        return list(exc.diagnostics)
    return []

