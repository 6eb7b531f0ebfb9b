"""The eligibility report: one or all organisations, rule by rule, with overrides.

Built from stored decisions (``rules.model.Decision.to_dict()`` shape, messages
already in the report's language) and the overrides the Network recorded.
Layout: a summary (one line per organisation: outcome, rules not met, decision
number, overrides), one section per organisation (every rule: severity,
result, message, the facts used with their evidence and dates, the threshold
with its reference, the source), then the overrides.  Must not import the
database or the rules engine: the caller hands over plain data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ledger.eligibility import OverrideRecord
from reports import labels as L
from reports.i18n import N_
from reports.model import (
    Column,
    KeyValues,
    Msg,
    Paragraph,
    Report,
    Section,
    Table,
    Verbatim,
)

__all__ = ["OUTCOME_MSGIDS", "OrgDecision", "build_eligibility_report"]

BLOCKING = N_("Blocking")
CHECK_DATE = N_("Check date")
AS_OF = N_("As of {date}")
RULES_NOT_MET = N_("Rules not met")
OVERRIDES = N_("Overrides")
REASON = N_("Reason")
ACTION = N_("Action")
OVERRIDDEN_BY = N_("Overridden by")
SUMMARY = N_("Summary")
SHA256 = N_("SHA-256")
DECISION_NO = N_("Decision no.")
NO_OVERRIDES = N_("No override recorded.")
HOW_TO_READ = N_(
    "Each decision is stored with the rule set's version and SHA-256 hash. "
    "A missing fact makes a rule unknown, not failed: a blocking rule unknown "
    "makes the decision incomplete.")

#: Outcome → label msgid.
OUTCOME_MSGIDS: dict[str, str] = {
    "eligible": L.ELIGIBLE,
    "eligible_with_warnings": L.ELIGIBLE_WITH_WARNINGS,
    "not_eligible": L.NOT_ELIGIBLE,
    "incomplete": L.INCOMPLETE,
}
_OUTCOME_STYLE = {"eligible": "ok", "eligible_with_warnings": "warning",
                  "not_eligible": "error", "incomplete": "warning"}
_STATUS = {"pass": L.PASS, "fail": L.FAIL, "unknown": L.UNKNOWN}
_SEVERITY = {"blocking": BLOCKING, "warning": L.WARNING, "info": L.INFORMATION}


@dataclass(frozen=True, slots=True)
class OrgDecision:
    """One organisation's stored decision: who, the decision id, and its detail
    (``Decision.to_dict()``: outcome, rule set, per-rule results)."""

    organisation: str
    country: str
    kind: str
    decision_id: int
    decision: Mapping[str, Any]


def _facts_text(result: Mapping[str, Any]) -> str:
    parts = []
    for f in result.get("facts", []):
        extra = "; ".join(x for x in (f.get("evidence") or "", f.get("recorded_by") or "") if x)
        parts.append(f"{f['name']} = {f['value']} ({f['as_of']}" + (f"; {extra})" if extra else ")"))
    parts += [f"{m} = ?" for m in result.get("missing", [])]
    return "\n".join(parts)


def _threshold_text(result: Mapping[str, Any]) -> str:
    parts = []
    for t in result.get("thresholds", []):
        since = f" ({t['valid_from']})" if t.get("valid_from") else ""
        ref = f" — {t['reference']}" if t.get("reference") else ""
        parts.append(f"{t['name']} = {t['value']}{since}{ref}")
    return "\n".join(parts)


def _not_met(decision: Mapping[str, Any]) -> str:
    return ", ".join(r["rule"] for r in decision.get("results", [])
                     if r["severity"] == "blocking" and r["status"] != "pass")


def _rule_style(result: Mapping[str, Any]) -> str | None:
    if result["status"] == "pass":
        return "ok"
    if result["status"] == "unknown":
        return "muted" if result["severity"] != "blocking" else "warning"
    return "error" if result["severity"] == "blocking" else "warning"


_RULE_COLUMNS = [
    Column("rule", L.RULE, width=28),
    Column("severity", L.SEVERITY, width=12),
    Column("result", L.RESULT, width=12),
    Column("message", L.MESSAGE, width=60),
    Column("evidence", L.EVIDENCE, width=50),
    Column("threshold", L.THRESHOLD, width=50),
    Column("source", L.SOURCE, width=40),
]


def _org_section(entry: OrgDecision) -> Section:
    d = entry.decision
    rs = d.get("ruleset", {})
    rows = [{
        "rule": r["rule"], "severity": Msg(_SEVERITY.get(r["severity"], r["severity"])),
        "result": Msg(_STATUS.get(r["status"], r["status"])), "message": r.get("message", ""),
        "evidence": _facts_text(r), "threshold": _threshold_text(r),
        "source": r.get("source", "") + (f" ({r['note']})" if r.get("note") else ""),
        "_style": _rule_style(r),
    } for r in d.get("results", [])]
    head = KeyValues([
        (L.ORGANISATION, Verbatim(entry.organisation)),
        (L.COUNTRY, Verbatim(entry.country)),
        (L.RESULT, Msg(OUTCOME_MSGIDS.get(d["outcome"], d["outcome"]))),
        (CHECK_DATE, date.fromisoformat(d["as_of"])),
        (L.RULE_SET, Verbatim(f"{rs.get('name', '')} {rs.get('version', '')}")),
        (SHA256, Verbatim(rs.get("sha256", ""))),
        (DECISION_NO, entry.decision_id),
        (RULES_NOT_MET, Verbatim(_not_met(d) or "—")),
    ])
    return Section(Verbatim(entry.organisation), [head, Table(_RULE_COLUMNS, rows)],
                   sheet_name=entry.organisation)


def build_eligibility_report(
    entries: Sequence[OrgDecision],
    overrides: Sequence[OverrideRecord],
    as_of: date,
    ruleset: Mapping[str, str],
    generated_at: datetime | None = None,
) -> Report:
    """The eligibility report of ``entries`` (one per organisation) with ``overrides``."""
    override_count: dict[str, int] = {}
    for o in overrides:
        override_count[o.organisation] = override_count.get(o.organisation, 0) + 1
    summary = Table(
        columns=[Column("organisation", L.ORGANISATION, width=34),
                 Column("country", L.COUNTRY, width=8),
                 Column("outcome", L.RESULT, width=26),
                 Column("not_met", RULES_NOT_MET, width=50),
                 Column("decision", DECISION_NO, "int", width=12),
                 Column("overrides", OVERRIDES, "int", width=10)],
        rows=[{"organisation": e.organisation, "country": e.country,
               "outcome": Msg(OUTCOME_MSGIDS.get(e.decision["outcome"], e.decision["outcome"])),
               "not_met": _not_met(e.decision), "decision": e.decision_id,
               "overrides": override_count.get(e.organisation, 0),
               "_style": _OUTCOME_STYLE.get(e.decision["outcome"])} for e in entries],
    )
    override_table = Table(
        columns=[Column("organisation", L.ORGANISATION, width=34),
                 Column("at", L.DATE, "datetime", width=18),
                 Column("action", ACTION, width=30),
                 Column("rules", RULES_NOT_MET, width=40),
                 Column("reason", REASON, width=60),
                 Column("actor", OVERRIDDEN_BY, width=16),
                 Column("decision", DECISION_NO, "int", width=12)],
        rows=[{"organisation": o.organisation, "at": o.created_at, "action": o.action,
               "rules": o.failed_rules, "reason": o.reason, "actor": o.actor,
               "decision": o.decision_id} for o in overrides],
        empty_text=NO_OVERRIDES,
    )
    label = f"{ruleset.get('name', '')} {ruleset.get('version', '')}".strip()
    return Report(
        title=L.ELIGIBILITY_REPORT,
        subtitle=Msg(AS_OF, date=as_of),
        generated_at=generated_at or datetime.now(),
        meta=[(CHECK_DATE, as_of), (L.RULE_SET, Verbatim(label)),
              (SHA256, Verbatim(ruleset.get("sha256", "")))],
        sections=[
            Section(SUMMARY, [summary, Paragraph(HOW_TO_READ, "note")]),
            *[_org_section(e) for e in entries],
            Section(OVERRIDES, [override_table]),
        ],
    )
