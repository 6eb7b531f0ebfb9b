"""Eligibility storage: facts about organisations, stored decisions, overrides.

Owns the database side of the eligibility rules (tables ``org_fact``,
``eligibility_decision``, ``eligibility_override``, all append-only).  Must not
import ``rules``: the CLI (``ledger.cli_rules``) loads the rule set, passes a
:data:`FactCheck` that types and validates a raw value against it, and turns
the stored records into ``rules.model.Fact`` values for the engine.

Values are stored as JSON with their type (``{"type": "date", "value":
"2026-04-18"}``) so a fact reads back as the same Python value: ``bool``,
``date``, ``int``/``Decimal`` (never float) or ``str``.  A correction is a new
row for the same fact and date; the latest recording wins.

Facts derived from the ledger itself (:func:`derived_facts`):

- ``last_transfer_received_date``: the receive date of the latest *settled*
  transfer whose destination is the organisation, on or before the check date
  (evidence: the transfer's reference).

The operating-expense figures (``operating_expenses``, ``total_expenses``) are
*not* derived: the ledger records the fund's money, not the mutual's own
accounts, so they are recorded with ``facts set`` / ``facts import`` from the
approved accounts.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, insert, select

from ledger.errors import InvalidInputError, LedgerError
from ledger.journal import current_actor
from ledger.orgs import org_id
from ledger.tables import (
    EligibilityDecision,
    EligibilityOverride,
    Organisation,
    OrgFact,
    Transfer,
)

__all__ = [
    "SUBJECT_KINDS",
    "DecisionRecord",
    "FactCheck",
    "FactImportError",
    "FactImportResult",
    "FactRecord",
    "FactRow",
    "OverrideRecord",
    "SubjectOrg",
    "decode_value",
    "derived_facts",
    "encode_value",
    "facts_at",
    "get_decision",
    "history",
    "import_facts",
    "latest_decisions",
    "list_facts",
    "list_overrides",
    "org_kind",
    "read_fact_rows",
    "record_override",
    "set_fact",
    "store_decision",
    "subject_organisations",
]

#: Organisation kinds the eligibility rules apply to: those that redistribute
#: money in the South.  Unions and the Network move money inside the fund and
#: are never checked (so a union → Network hop is never blocked).
SUBJECT_KINDS: frozenset[str] = frozenset({"mutual", "other"})

#: ``check(fact, raw) -> typed value``; raises ValueError (with a readable
#: message) for an unknown fact or a value of the wrong type.  Built by the CLI
#: from the rule set.
FactCheck = Callable[[str, object], object]

MAX_IMPORT_BYTES = 20_000_000
MAX_IMPORT_ROWS = 100_000
_FACT_NAME_MAX = 100


# -- typed values as JSON --------------------------------------------------------

def encode_value(value: object) -> str:
    """JSON text of a typed fact value (bool, date, int, Decimal, str); floats are refused."""
    if isinstance(value, bool):
        doc: dict[str, object] = {"type": "bool", "value": value}
    elif isinstance(value, datetime):
        raise InvalidInputError("a fact value is a date, not a date-time")
    elif isinstance(value, date):
        doc = {"type": "date", "value": value.isoformat()}
    elif isinstance(value, int):
        doc = {"type": "number", "value": str(value)}
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise InvalidInputError(f"a fact value must be a finite number, not {value}")
        doc = {"type": "number", "value": str(value)}
    elif isinstance(value, str):
        doc = {"type": "text", "value": value}
    else:
        raise InvalidInputError(f"cannot store a fact value of type {type(value).__name__}")
    return json.dumps(doc, ensure_ascii=False, sort_keys=True)


def decode_value(text: str) -> bool | date | int | Decimal | str:
    """The typed value of :func:`encode_value`'s JSON text."""
    doc = json.loads(text)
    typ, raw = doc["type"], doc["value"]
    if typ == "bool":
        return bool(raw)
    if typ == "date":
        return date.fromisoformat(raw)
    if typ == "number":
        return int(raw) if raw.lstrip("-").isdigit() else Decimal(raw)
    return str(raw)


def _same(a: object, b: object) -> bool:
    # 2025 == Decimal("2025") but True == 1: compare types of booleans too.
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


# -- value types -------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class FactRecord:
    """A recorded (or derived) fact about an organisation.

    ``source`` is ``declared`` for a stored row, ``ledger`` for a fact the
    ledger computed (``id`` is then None).
    """

    id: int | None
    organisation: str
    fact: str
    value: bool | date | int | Decimal | str
    as_of: date
    evidence: str
    recorded_by: str
    recorded_at: datetime | None
    source: str = "declared"


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    """A stored decision: what was decided on which date, by which rule set, by whom."""

    id: int
    organisation: str
    as_of: date
    outcome: str
    ruleset_name: str
    ruleset_version: str
    ruleset_hash: str
    detail: dict[str, Any]
    decided_by: str
    decided_at: datetime


@dataclass(frozen=True, slots=True)
class OverrideRecord:
    """The Network proceeding despite a refusal: who, why, over which rules."""

    id: int
    organisation: str
    decision_id: int | None
    action: str
    failed_rules: str
    reason: str
    actor: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class FactRow:
    """One row of a questionnaire file, with where it came from."""

    file: str
    line: int
    organisation: str
    fact: str
    value: object
    as_of: object
    evidence: str


@dataclass(frozen=True, slots=True)
class FactImportResult:
    """What ``facts import`` did: rows read, facts added, facts already known."""

    file: str
    rows: int
    added: int
    known: int


class FactImportError(LedgerError):
    """A questionnaire file refused as a whole; ``diagnostics`` are ``file:line: message``."""

    def __init__(self, diagnostics: Sequence[str]) -> None:
        self.diagnostics = tuple(diagnostics)
        super().__init__("nothing was imported:\n" + "\n".join(self.diagnostics))


# -- facts -------------------------------------------------------------------------

def _check_value(check: FactCheck | None, fact: str, raw: object) -> object:
    name = fact.strip()
    if not name or len(name) > _FACT_NAME_MAX:
        raise InvalidInputError(f"a fact name has 1 to {_FACT_NAME_MAX} characters")
    if check is None:
        return raw
    try:
        return check(name, raw)
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from None


def set_fact(
    conn: Connection,
    org: str,
    fact: str,
    value: object,
    as_of: date,
    evidence: str = "",
    actor: str | None = None,
    check: FactCheck | None = None,
) -> tuple[int, bool]:
    """Record ``fact`` = ``value`` for ``org`` from ``as_of``; return ``(row id, created)``.

    ``check`` types and validates the raw value against the rule set (unknown
    fact or wrong type → InvalidInputError).  Recording the same value again
    for the same date adds nothing (``created`` False); a different value for
    the same date is a correction: a new row, which wins.
    """
    oid = org_id(conn, org)
    name = fact.strip()
    typed = _check_value(check, name, value)
    encoded = encode_value(typed)
    latest = conn.execute(
        select(OrgFact.id, OrgFact.value).where(
            OrgFact.organisation_id == oid, OrgFact.fact == name, OrgFact.as_of == as_of)
        .order_by(OrgFact.id.desc()).limit(1)
    ).first()
    if latest is not None and _same(decode_value(latest[1]), typed):
        return int(latest[0]), False
    new_id = conn.execute(insert(OrgFact).values(
        organisation_id=oid, fact=name, value=encoded, as_of=as_of,
        evidence=(evidence or "").strip()[:1000], recorded_by=current_actor(actor),
        recorded_at=datetime.now(UTC),
    ).returning(OrgFact.id)).scalar_one()
    return int(new_id), True


def _records(conn: Connection, where: Iterable[Any]) -> list[FactRecord]:
    q = (select(OrgFact, Organisation.name.label("org_name"))
         .join(Organisation, Organisation.id == OrgFact.organisation_id)
         .where(*where).order_by(OrgFact.fact, OrgFact.as_of, OrgFact.id))
    return [
        FactRecord(r["id"], r["org_name"], r["fact"], decode_value(r["value"]), r["as_of"],
                   r["evidence"], r["recorded_by"], r["recorded_at"])
        for r in conn.execute(q).mappings()
    ]


def list_facts(conn: Connection, org: str, as_of: date | None = None) -> list[FactRecord]:
    """Every recorded fact of ``org`` (its history, by fact then date), plus the facts
    the ledger derives; only those holding from ``as_of`` or before when given."""
    oid = org_id(conn, org)
    return facts_at(conn, oid, as_of)


def facts_at(conn: Connection, organisation_id: int, as_of: date | None = None
             ) -> list[FactRecord]:
    """The facts of an organisation known on ``as_of`` (``as_of`` on or before it; all
    when None), in recording order per fact, plus :func:`derived_facts`.

    The engine picks, per fact, the latest ``as_of``; on a tie the later
    recording wins, which this order gives.
    """
    where: list[Any] = [OrgFact.organisation_id == organisation_id]
    if as_of is not None:
        where.append(OrgFact.as_of <= as_of)
    return _records(conn, where) + derived_facts(conn, organisation_id, as_of)


def derived_facts(conn: Connection, organisation_id: int, as_of: date | None = None
                  ) -> list[FactRecord]:
    """Facts the ledger computes (see the module docstring): today only
    ``last_transfer_received_date``."""
    q = (select(Transfer.receive_date, Transfer.reference, Organisation.name)
         .join(Organisation, Organisation.id == Transfer.destination_org_id)
         .where(Transfer.destination_org_id == organisation_id, Transfer.status == "settled",
                Transfer.receive_date.is_not(None))
         .order_by(Transfer.receive_date.desc(), Transfer.id.desc()).limit(1))
    if as_of is not None:
        q = q.where(Transfer.receive_date <= as_of)
    row = conn.execute(q).first()
    if row is None:
        return []
    received, reference, name = row
    return [FactRecord(None, name, "last_transfer_received_date", received, received,
                       f"transfer {reference}", "ledger", None, "ledger")]


# -- questionnaire import ----------------------------------------------------------

_HEADERS = {
    "organisation": "organisation", "organization": "organisation", "org": "organisation",
    "fact": "fact", "value": "value", "as_of": "as_of", "as of": "as_of", "date": "as_of",
    "evidence": "evidence",
}
_REQUIRED = ("organisation", "fact", "value", "as_of")


def _header_map(cells: Sequence[object], file: str, line: int) -> dict[str, int]:
    found: dict[str, int] = {}
    for i, cell in enumerate(cells):
        key = _HEADERS.get(str(cell or "").strip().lower().replace("-", "_"))
        if key is None:
            key = _HEADERS.get(str(cell or "").strip().lower())
        if key is not None and key not in found:
            found[key] = i
    missing = [k for k in _REQUIRED if k not in found]
    if missing:
        raise FactImportError([
            f"{file}:{line}: missing column(s) {', '.join(missing)} (expected: "
            + "organisation, fact, value, as_of, evidence)"])
    return found


def _cell(cells: Sequence[object], i: int | None) -> object:
    if i is None or i >= len(cells):
        return None
    value = cells[i]
    return value.strip() if isinstance(value, str) else value


def _rows_from(cells_iter: Iterable[tuple[int, Sequence[object]]], file: str) -> list[FactRow]:
    header: dict[str, int] | None = None
    rows: list[FactRow] = []
    for line, cells in cells_iter:
        if not any(c not in (None, "") and str(c).strip() for c in cells):
            continue
        if header is None:
            header = _header_map(cells, file, line)
            continue
        if len(rows) >= MAX_IMPORT_ROWS:
            raise FactImportError([f"{file}:{line}: more than {MAX_IMPORT_ROWS} rows"])
        rows.append(FactRow(file, line, str(_cell(cells, header["organisation"]) or ""),
                            str(_cell(cells, header["fact"]) or ""),
                            _cell(cells, header["value"]), _cell(cells, header["as_of"]),
                            str(_cell(cells, header.get("evidence")) or "")))
    if header is None:
        raise FactImportError([f"{file}:1: empty file (expected a header row: "
                               + "organisation, fact, value, as_of, evidence)"])
    return rows


def read_fact_rows(path: str | Path) -> list[FactRow]:
    """The rows of a questionnaire file (CSV or XLSX; header row first).

    CSV: UTF-8, ``,`` or ``;`` separated.  XLSX: the first sheet; number cells
    become exact decimals of their shortest text (never floats), date cells
    dates.  Raises FactImportError (``file:line: message``) on an unreadable file.
    """
    p = Path(path)
    name = str(path)
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise FactImportError([f"{name}:1: cannot read the file: {exc.strerror or exc}"]) from None
    if size > MAX_IMPORT_BYTES:
        raise FactImportError([f"{name}:1: file larger than {MAX_IMPORT_BYTES} bytes"])
    if p.suffix.lower() in (".xlsx", ".xlsm"):
        return _rows_from(_xlsx_cells(p, name), name)
    data = p.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FactImportError([f"{name}:{line}: the file is not UTF-8 text"]) from None
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        cells = [(reader.line_num, row) for row in reader]
    except csv.Error as exc:
        raise FactImportError([f"{name}:{reader.line_num}: not valid CSV: {exc}"]) from None
    return _rows_from(cells, name)


def _xlsx_cells(path: Path, name: str) -> list[tuple[int, Sequence[object]]]:
    import zipfile

    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        raise FactImportError([f"{name}:1: not a readable XLSX workbook: {exc}"]) from None
    try:
        ws = wb.worksheets[0]
        out: list[tuple[int, Sequence[object]]] = []
        for i, row in enumerate(ws.iter_rows(values_only=True), 1):
            if i > MAX_IMPORT_ROWS + 1:
                raise FactImportError([f"{name}:{i}: more than {MAX_IMPORT_ROWS} rows"])
            out.append((i, [_xlsx_value(v) for v in row]))
        return out
    finally:
        wb.close()


def _xlsx_value(value: object) -> object:
    if isinstance(value, float):
        # Spreadsheets store numbers as binary floats; their shortest text is what
        # the person typed.  Never let the float itself through.
        if not math.isfinite(value):
            return None
        return int(value) if value.is_integer() else Decimal(repr(value))
    if isinstance(value, datetime):
        return value.date()
    return value


def _as_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise InvalidInputError(f"as_of {value!r} is not a date (YYYY-MM-DD)") from None


def import_facts(
    conn: Connection,
    rows: Sequence[FactRow],
    check: FactCheck | None = None,
    actor: str | None = None,
) -> FactImportResult:
    """Record the facts of a questionnaire, all or nothing.

    Every bad row (unknown organisation or fact, wrong value type, bad date,
    two different values for the same organisation, fact and date) is
    reported as ``file:line: message`` in one FactImportError and nothing is
    written.  A row whose organisation, fact, date and value are already stored
    (or repeated in the file) is counted as known: re-importing adds nothing.
    """
    file = rows[0].file if rows else ""
    names = {r.organisation for r in rows}
    ids = {n: int(i) for n, i in conn.execute(
        select(Organisation.name, Organisation.id).where(Organisation.name.in_(names)))}
    errors: list[str] = []
    typed: list[tuple[FactRow, int, str, object, date]] = []
    for r in rows:
        problems: list[str] = []
        oid = ids.get(r.organisation)
        if not r.organisation:
            problems.append("organisation is empty")
        elif oid is None:
            problems.append(f"unknown organisation {r.organisation!r}")
        value: object = None
        try:
            value = _check_value(check, r.fact, r.value if r.value is not None else "")
        except InvalidInputError as exc:
            problems.append(str(exc))
        try:
            as_of = _as_date(r.as_of)
        except InvalidInputError as exc:
            problems.append(str(exc))
        if problems:
            errors.extend(f"{r.file}:{r.line}: {p}" for p in problems)
            continue
        assert oid is not None
        typed.append((r, oid, r.fact.strip(), value, as_of))
    # Same organisation, fact and date twice in one file: same value is a repeat,
    # another value is ambiguous.
    first: dict[tuple[int, str, date], tuple[FactRow, object]] = {}
    unique: list[tuple[FactRow, int, str, object, date]] = []
    for item in typed:
        r, oid, name, value, as_of = item
        key = (oid, name, as_of)
        seen = first.get(key)
        if seen is None:
            first[key] = (r, value)
            unique.append(item)
        elif not _same(seen[1], value):
            errors.append(f"{r.file}:{r.line}: {r.organisation} {name} on {as_of.isoformat()} "
                          f"is {value!r} here but {seen[1]!r} on line {seen[0].line}")
    if errors:
        raise FactImportError(errors)
    stored: dict[tuple[int, str, date], object] = {}
    if unique:
        q = (select(OrgFact.organisation_id, OrgFact.fact, OrgFact.as_of, OrgFact.value)
             .where(OrgFact.organisation_id.in_({i for _, i, _, _, _ in unique}),
                    OrgFact.fact.in_({n for _, _, n, _, _ in unique}))
             .order_by(OrgFact.id))
        for oid, name, as_of, value in conn.execute(q):
            stored[(oid, name, as_of)] = decode_value(value)  # later rows win
    now, who = datetime.now(UTC), current_actor(actor)
    new_rows: list[dict[str, object]] = []
    for r, oid, name, value, as_of in unique:
        key = (oid, name, as_of)
        if key in stored and _same(stored[key], value):
            continue
        new_rows.append({"organisation_id": oid, "fact": name, "value": encode_value(value),
                         "as_of": as_of, "evidence": r.evidence[:1000], "recorded_by": who,
                         "recorded_at": now})
    if new_rows:
        conn.execute(insert(OrgFact), new_rows)
    return FactImportResult(file, len(rows), len(new_rows), len(rows) - len(new_rows))


# -- decisions and overrides -------------------------------------------------------

def store_decision(
    conn: Connection,
    organisation_id: int,
    as_of: date,
    outcome: str,
    ruleset_name: str,
    ruleset_version: str,
    ruleset_hash: str,
    detail: dict[str, Any],
    actor: str | None = None,
) -> int:
    """Store a decision (append-only) with the rule set it used; return its id.

    ``detail`` is the engine's ``Decision.to_dict()`` (per-rule results, facts
    with evidence, thresholds with references).
    """
    new_id = conn.execute(insert(EligibilityDecision).values(
        organisation_id=organisation_id, as_of=as_of, outcome=outcome,
        ruleset_name=ruleset_name[:200], ruleset_version=ruleset_version[:50],
        ruleset_hash=ruleset_hash[:64],
        detail=json.dumps(detail, ensure_ascii=False, sort_keys=True),
        decided_by=current_actor(actor), decided_at=datetime.now(UTC),
    ).returning(EligibilityDecision.id)).scalar_one()
    return int(new_id)


def _decisions(conn: Connection, where: Iterable[Any]) -> list[DecisionRecord]:
    q = (select(EligibilityDecision, Organisation.name.label("org_name"))
         .join(Organisation, Organisation.id == EligibilityDecision.organisation_id)
         .where(*where).order_by(EligibilityDecision.id))
    return [
        DecisionRecord(r["id"], r["org_name"], r["as_of"], r["outcome"], r["ruleset_name"],
                       r["ruleset_version"], r["ruleset_hash"], json.loads(r["detail"]),
                       r["decided_by"], r["decided_at"])
        for r in conn.execute(q).mappings()
    ]


def history(conn: Connection, org: str) -> list[DecisionRecord]:
    """Every stored decision about ``org``, oldest first."""
    return _decisions(conn, [EligibilityDecision.organisation_id == org_id(conn, org)])


def get_decision(conn: Connection, decision_id: int) -> DecisionRecord:
    """One stored decision by id."""
    found = _decisions(conn, [EligibilityDecision.id == decision_id])
    if not found:
        from ledger.errors import NotFoundError

        raise NotFoundError(f"no eligibility decision #{decision_id}")
    return found[0]


def latest_decisions(conn: Connection) -> dict[str, DecisionRecord]:
    """The latest stored decision of each organisation (by name)."""
    last = (select(func.max(EligibilityDecision.id))
            .group_by(EligibilityDecision.organisation_id).scalar_subquery())
    return {d.organisation: d for d in _decisions(conn, [EligibilityDecision.id.in_(last)])}


def record_override(
    conn: Connection,
    org: str,
    decision_id: int | None,
    action: str,
    failed_rules: Sequence[str],
    reason: str,
    actor: str | None = None,
) -> int:
    """Record that the Network proceeds with ``action`` despite a refusal; return its id.

    ``reason`` is required.  (``ledger.transfers.send_transfer`` records its own
    override; this is for other actions, e.g. a redistribution posted by hand.)
    """
    why = (reason or "").strip()
    if not why:
        raise InvalidInputError("an override needs a reason (--reason TEXT)")
    if not action.strip():
        raise InvalidInputError("an override names the action it allows")
    new_id = conn.execute(insert(EligibilityOverride).values(
        organisation_id=org_id(conn, org), decision_id=decision_id, action=action.strip()[:200],
        failed_rules=", ".join(failed_rules)[:2000], reason=why[:2000],
        actor=current_actor(actor), created_at=datetime.now(UTC),
    ).returning(EligibilityOverride.id)).scalar_one()
    return int(new_id)


def list_overrides(conn: Connection, org: str | None = None) -> list[OverrideRecord]:
    """Overrides, oldest first; only those of ``org`` when given."""
    q = (select(EligibilityOverride, Organisation.name.label("org_name"))
         .join(Organisation, Organisation.id == EligibilityOverride.organisation_id)
         .order_by(EligibilityOverride.id))
    if org is not None:
        q = q.where(EligibilityOverride.organisation_id == org_id(conn, org))
    return [
        OverrideRecord(r["id"], r["org_name"], r["decision_id"], r["action"], r["failed_rules"],
                       r["reason"], r["actor"], r["created_at"])
        for r in conn.execute(q).mappings()
    ]


@dataclass(frozen=True, slots=True)
class SubjectOrg:
    """An organisation the eligibility rules apply to."""

    id: int
    name: str
    kind: str
    country: str
    currency: str


def subject_organisations(conn: Connection, org: str | None = None) -> list[SubjectOrg]:
    """The organisations checked for eligibility (kinds in :data:`SUBJECT_KINDS`), by name;
    only ``org`` when given (refused if it is a union or the Network)."""
    q = (select(Organisation.id, Organisation.name, Organisation.kind, Organisation.country,
                Organisation.currency).order_by(Organisation.name))
    if org is not None:
        q = q.where(Organisation.id == org_id(conn, org))
    rows = [SubjectOrg(int(r[0]), r[1], r[2], r[3], r[4]) for r in conn.execute(q)]
    if org is not None and rows and rows[0].kind not in SUBJECT_KINDS:
        raise InvalidInputError(
            f"{rows[0].name} is a {rows[0].kind}: the eligibility rules apply to the "
            "organisations that redistribute (kind mutual or other)")
    return [r for r in rows if r.kind in SUBJECT_KINDS]


def org_kind(conn: Connection, organisation_id: int) -> tuple[str, str]:
    """``(name, kind)`` of an organisation by id."""
    row = conn.execute(select(Organisation.name, Organisation.kind)
                       .where(Organisation.id == organisation_id)).first()
    if row is None:
        from ledger.errors import NotFoundError

        raise NotFoundError(f"no organisation #{organisation_id}")
    return row[0], row[1]

