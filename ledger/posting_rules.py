"""Posting rules: the treasurer's TOML file that books the bank lines nobody recorded.

Stage 4 of reconciliation.  A line still unmatched after the matching engine
(a bank fee, interest, a card charge) is compared with the rules in file order;
the first rule whose conditions all hold proposes a journal entry: the bank
account against the rule's ``counter_account``, with a description made from
the line.  The reconciliation service turns each proposal into an entry *and*
its match in one transaction.  This module is pure: no database, no I/O other
than reading the rules file.

File format::

    [[rule]]
    id = "bank-fees"                  # unique, required
    counterparty = "(?i)^ma banque"   # regular expressions, searched in the field
    reference = "FEE-\\d+"
    text = "(?i)frais|fee|commission"
    amount_min = "0.01"               # decimal strings, compared with the
    amount_max = "50.00"              #   absolute amount in major units
    sign = "debit"                    # debit: money out (amount < 0); credit: money in
    currency = "EUR"
    counter_account = "Expenses:Bank fees"      # required
    description = "Bank fee {reference}"        # optional; {counterparty} {reference}
                                                # {text} {date} {amount} {currency}

At least one condition is required.  Regular expressions come from the
treasurer's own file but are still bounded: patterns longer than
:data:`MAX_PATTERN_LENGTH` are refused, and only the first
:data:`MAX_FIELD_LENGTH` characters of a field are searched.  Errors carry
``file:line``.
"""

from __future__ import annotations

import math
import re
import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from ledger.money import Money, MoneyError, check_currency, to_decimal

__all__ = [
    "MAX_FIELD_LENGTH",
    "MAX_PATTERN_LENGTH",
    "MAX_RULES_FILE_BYTES",
    "PostingRule",
    "PostingRulesError",
    "ProposedEntry",
    "apply_posting_rules",
    "load_posting_rules",
    "parse_posting_rules",
]

#: Longest regular expression accepted in a rule.
MAX_PATTERN_LENGTH = 500
#: Only this many characters of a line's field are searched.
MAX_FIELD_LENGTH = 2_000
#: Largest rules file read.
MAX_RULES_FILE_BYTES = 1_000_000
#: Placeholders a description may use.
TEMPLATE_FIELDS = frozenset({"counterparty", "reference", "text", "date", "amount", "currency"})

_PATTERN_KEYS = ("counterparty", "reference", "text")
_KNOWN_KEYS = frozenset(
    {"id", "counter_account", "description", "amount_min", "amount_max", "sign", "currency",
     *_PATTERN_KEYS}
)
_TOML_LINE = re.compile(r"at line (\d+)")
_TOML_WHERE = re.compile(r"\s*\((at line \d+, column \d+|at end of document)\)\s*$")


class PostingRulesError(ValueError):
    """A posting-rules file that cannot be used; ``diagnostics`` lists every ``file:line: message``."""

    def __init__(self, diagnostics: list[str]) -> None:
        super().__init__("\n".join(diagnostics))
        self.diagnostics = diagnostics


@dataclass(frozen=True, slots=True)
class PostingRule:
    """One rule: conditions on a statement line, and the entry it proposes."""

    id: str
    counter_account: str
    description: str
    counterparty: re.Pattern[str] | None = None
    reference: re.Pattern[str] | None = None
    text: re.Pattern[str] | None = None
    amount_min: Decimal | None = None  # absolute amount, major units
    amount_max: Decimal | None = None
    sign: str | None = None  # "debit" | "credit"
    currency: str | None = None
    line: int = 0  # where the rule starts in its file

    def matches(self, line: Mapping[str, Any]) -> bool:
        """True when every condition of this rule holds for ``line``.

        ``line`` has ``amount_minor`` (int, credit > 0), ``currency`` and the
        text fields ``counterparty``, ``reference``, ``text``.
        """
        currency = str(line["currency"]).strip().upper()
        if self.currency is not None and currency != self.currency:
            return False
        minor = int(line["amount_minor"])
        if self.sign == "debit" and minor >= 0:
            return False
        if self.sign == "credit" and minor <= 0:
            return False
        if self.amount_min is not None or self.amount_max is not None:
            try:
                amount = abs(Money(minor, currency).amount)
            except MoneyError:
                return False
            if self.amount_min is not None and amount < self.amount_min:
                return False
            if self.amount_max is not None and amount > self.amount_max:
                return False
        for key in _PATTERN_KEYS:
            pattern = getattr(self, key)
            if pattern is not None and not pattern.search(_field(line, key)):
                return False
        return True


@dataclass(frozen=True, slots=True)
class ProposedEntry:
    """An entry a rule proposes for one statement line: bank account against ``counter_account``.

    ``amount_minor`` is the line's signed amount as the bank sees it (the bank
    account's posting); the counter posting is its negation.
    """

    line_id: int
    counter_account: str
    description: str
    amount_minor: int
    currency: str
    rule_id: str


def _field(line: Mapping[str, Any], key: str) -> str:
    value = line.get(key, "")
    if value is None or (isinstance(value, float) and math.isnan(value)):  # NaN from pandas
        return ""
    return str(value)[:MAX_FIELD_LENGTH]


# --------------------------------------------------------------------------
# loading


def load_posting_rules(path: str | Path) -> list[PostingRule]:
    """Read and check a posting-rules TOML file.

    Raises :class:`PostingRulesError` listing every problem as ``file:line: message``.
    """
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_RULES_FILE_BYTES:
            raise PostingRulesError([f"{p}: file too large ({size} bytes)"])
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise PostingRulesError([f"{p}: cannot read: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError:
        raise PostingRulesError([f"{p}: not UTF-8 text"]) from None
    return parse_posting_rules(text, str(p))


def parse_posting_rules(text: str, source: str = "<rules>") -> list[PostingRule]:
    """Parse posting rules from TOML ``text``; ``source`` names it in messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        lineno = getattr(exc, "lineno", None)
        if lineno is None:  # Python < 3.14 only says it in the message
            found = _TOML_LINE.search(str(exc))
            if found:
                lineno = int(found.group(1))
            elif "end of document" in str(exc):
                lineno = max(1, len(text.splitlines()))
        place = f"{source}:{lineno}" if lineno else source
        message = getattr(exc, "msg", None) or _TOML_WHERE.sub("", str(exc))
        raise PostingRulesError([f"{place}: invalid TOML: {message}"]) from None

    errors: list[str] = []
    text_lines = text.splitlines()
    headers = [n for n, ln in enumerate(text_lines, 1) if ln.strip().startswith("[[rule]]")]
    for key in data:
        if key != "rule":
            errors.append(f"{source}:{_key_line(text_lines, 1, len(text_lines), key)}: "
                          f"unknown setting {key!r} (expected [[rule]] tables)")
    raw_rules = data.get("rule", [])
    if not isinstance(raw_rules, list):
        raise PostingRulesError([f"{source}:1: 'rule' must be a list of [[rule]] tables"])

    rules: list[PostingRule] = []
    seen: dict[str, int] = {}
    for n, raw in enumerate(raw_rules):
        start = headers[n] if n < len(headers) else 1
        end = headers[n + 1] - 1 if n + 1 < len(headers) else len(text_lines)

        def where(key: str | None = None, _s: int = start, _e: int = end) -> str:
            return f"{source}:{_key_line(text_lines, _s, _e, key) if key else _s}"

        rule = _build_rule(raw, where, errors)
        if rule is None:
            continue
        if rule.id in seen:
            errors.append(f"{where('id')}: rule id {rule.id!r} already used at line {seen[rule.id]}")
            continue
        seen[rule.id] = start
        rules.append(rule)
    if errors:
        raise PostingRulesError(sorted(errors, key=_line_of))
    return rules


def _line_of(diagnostic: str) -> int:
    found = re.match(r"^.*?:(\d+): ", diagnostic)
    return int(found.group(1)) if found else 0


def _key_line(text_lines: list[str], start: int, end: int, key: str) -> int:
    """Line number of ``key = ...`` between ``start`` and ``end`` (1-based), else ``start``."""
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
    for n in range(start, min(end, len(text_lines)) + 1):
        if pattern.match(text_lines[n - 1]):
            return n
    return start


def _build_rule(raw: Any, where: Any, errors: list[str]) -> PostingRule | None:
    if not isinstance(raw, dict):
        errors.append(f"{where()}: a rule must be a table")
        return None
    before = len(errors)
    for key in raw:
        if key not in _KNOWN_KEYS:
            errors.append(f"{where(key)}: unknown rule setting {key!r}")

    rule_id = raw.get("id")
    if not isinstance(rule_id, str) or not rule_id.strip():
        errors.append(f"{where('id')}: a rule needs an 'id' (text)")
        rule_id = ""
    account = raw.get("counter_account")
    if not isinstance(account, str) or not _valid_account(account):
        errors.append(f"{where('counter_account')}: 'counter_account' must be an account name "
                      "such as 'Expenses:Bank fees'")
        account = ""
    description = raw.get("description", "{text}")
    if not isinstance(description, str):
        errors.append(f"{where('description')}: 'description' must be text")
        description = ""
    else:
        problem = _template_problem(description)
        if problem:
            errors.append(f"{where('description')}: {problem}")

    patterns: dict[str, re.Pattern[str] | None] = {}
    for key in _PATTERN_KEYS:
        value = raw.get(key)
        patterns[key] = None
        if value is None:
            continue
        if not isinstance(value, str) or not value:
            errors.append(f"{where(key)}: {key!r} must be a non-empty regular expression")
            continue
        if len(value) > MAX_PATTERN_LENGTH:
            errors.append(f"{where(key)}: {key!r} pattern longer than {MAX_PATTERN_LENGTH} characters")
            continue
        try:
            patterns[key] = re.compile(value)
        except re.error as exc:
            errors.append(f"{where(key)}: {key!r} is not a valid regular expression: {exc}")

    currency = raw.get("currency")
    if currency is not None:
        try:
            currency = check_currency(currency)
        except MoneyError as exc:
            errors.append(f"{where('currency')}: {exc}")
            currency = None
    bounds: dict[str, Decimal | None] = {}
    for key in ("amount_min", "amount_max"):
        value = raw.get(key)
        bounds[key] = None
        if value is None:
            continue
        if isinstance(value, float) or not isinstance(value, str | int) or isinstance(value, bool):
            # TOML floats are binary: '0.1' must be written as the text "0.1"
            errors.append(f"{where(key)}: {key!r} must be a decimal written as text, e.g. \"12.50\"")
            continue
        try:
            amount = to_decimal(value)
        except MoneyError as exc:
            errors.append(f"{where(key)}: {key!r}: {exc}")
            continue
        if amount < 0:
            errors.append(f"{where(key)}: {key!r} is compared with the absolute amount; "
                          "use 'sign' for the direction")
            continue
        if currency is not None:
            try:
                Money.of(amount, currency)
            except MoneyError as exc:
                errors.append(f"{where(key)}: {key!r}: {exc}")
                continue
        bounds[key] = amount
    lo, hi = bounds["amount_min"], bounds["amount_max"]
    if lo is not None and hi is not None and lo > hi:
        errors.append(f"{where('amount_min')}: 'amount_min' is larger than 'amount_max'")
    sign = raw.get("sign")
    if sign is not None and sign not in ("debit", "credit"):
        errors.append(f"{where('sign')}: 'sign' must be \"debit\" or \"credit\"")
        sign = None

    conditions = [patterns[k] for k in _PATTERN_KEYS] + [lo, hi, sign, currency]
    if all(c is None for c in conditions) and len(errors) == before:
        errors.append(f"{where()}: rule {rule_id!r} has no condition and would match every line")
    if len(errors) != before:
        return None
    return PostingRule(
        id=rule_id.strip(),
        counter_account=account.strip(),
        description=description,
        counterparty=patterns["counterparty"],
        reference=patterns["reference"],
        text=patterns["text"],
        amount_min=lo,
        amount_max=hi,
        sign=sign,
        currency=currency,
        line=int(where().rsplit(":", 1)[1]),
    )


def _valid_account(name: str) -> bool:
    parts = name.strip().split(":")
    return bool(name.strip()) and len(name) <= 200 and all(p.strip() for p in parts)


def _template_problem(template: str) -> str | None:
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        return f"'description' is not a valid template: {exc}"
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in TEMPLATE_FIELDS:
            allowed = ", ".join("{" + f + "}" for f in sorted(TEMPLATE_FIELDS))
            return f"'description' may only use {allowed}, not {{{name}}}"
        if spec or conversion:
            return f"'description' placeholder {{{name}}} takes no format or conversion"
    return None


# --------------------------------------------------------------------------
# applying


def apply_posting_rules(rules: list[PostingRule], lines: pd.DataFrame) -> list[ProposedEntry]:
    """Propose an entry for each line that a rule matches (first matching rule wins).

    ``lines`` follows :data:`ledger.matching.LINE_COLUMNS` (only ``line_id``,
    ``date``, ``amount_minor``, ``currency``, ``counterparty``, ``reference`` and
    ``text`` are read).  Lines no rule matches get no proposal.
    """
    proposals: list[ProposedEntry] = []
    if not rules or lines.empty:
        return proposals
    columns = ["line_id", "amount_minor", "currency", "counterparty", "reference", "text"]
    missing = [c for c in columns if c not in lines.columns]
    if missing:
        raise ValueError(f"lines: missing column(s) {', '.join(missing)}")
    if not pd.api.types.is_integer_dtype(lines["amount_minor"].dtype):
        raise ValueError("lines: column 'amount_minor' must be integers (minor units)")
    has_date = "date" in lines.columns
    for record in lines.to_dict("records"):
        for rule in rules:
            if rule.matches(record):
                proposals.append(_propose(rule, record, has_date))
                break
    return proposals


def _propose(rule: PostingRule, line: Mapping[str, Any], has_date: bool) -> ProposedEntry:
    currency = str(line["currency"]).strip().upper()
    minor = int(line["amount_minor"])
    try:
        amount = Money(minor, currency).to_decimal_string()
    except MoneyError:
        amount = str(minor)
    when = ""
    if has_date and line.get("date") is not None and not pd.isna(line["date"]):
        when = pd.Timestamp(line["date"]).date().isoformat()
    values = {
        "counterparty": _field(line, "counterparty").strip(),
        "reference": _field(line, "reference").strip(),
        "text": _field(line, "text").strip(),
        "date": when,
        "amount": amount,
        "currency": currency,
    }
    description = " ".join(rule.description.format_map(values).split()) or rule.counter_account
    return ProposedEntry(
        line_id=int(line["line_id"]),
        counter_account=rule.counter_account,
        description=description,
        amount_minor=minor,
        currency=currency,
        rule_id=rule.id,
    )
