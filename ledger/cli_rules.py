"""``solidarity facts``, ``eligibility``, ``rules`` and ``report eligibility``; the
eligibility gate that money movements ask before paying an organisation.

This module is where the rules engine (``rules``) meets the database
(``ledger.eligibility``): it loads the rule set, types the facts the user
gives against it, turns stored facts into ``rules.model.Fact`` values,
evaluates, and stores every decision with the rule set's version and hash.

Who is checked: organisations of kind ``mutual`` or ``other`` -- those that
redistribute the fund in the South (:data:`ledger.eligibility.SUBJECT_KINDS`).
Money to a union or to the Network (e.g. a union → Network hop) is never
blocked: the gate lets it through without a decision.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from sqlalchemy import Connection

from ledger import eligibility as elig
from ledger.errors import InvalidInputError
from ledger.gate import Gate, GateVerdict
from ledger.render import table

if TYPE_CHECKING:
    from ledger.cli import Ctx

__all__ = [
    "ALLOWED_OUTCOMES",
    "RuleSetRefused",
    "decide",
    "decision_in",
    "demo_eligibility_step",
    "eligibility_gate",
    "fact_checker",
    "load_rules",
    "register",
    "to_facts",
]

#: Outcomes that let money go to an organisation.
ALLOWED_OUTCOMES = frozenset({"eligible", "eligible_with_warnings"})


class RuleSetRefused(InvalidInputError):
    """A rule-set or scenario file refused at load (``file:line: message`` lines)."""


def load_rules(path: str | Path | None) -> Any:
    """The rule set at ``path`` (the shipped default when None); refusals become
    :class:`RuleSetRefused` carrying every ``file:line: message``."""
    from rules.errors import RuleFileError
    from rules.loader import load_ruleset

    try:
        return load_ruleset(path)
    except RuleFileError as exc:
        raise RuleSetRefused(str(exc)) from None


def fact_checker(ruleset: Any) -> elig.FactCheck:
    """A :data:`ledger.eligibility.FactCheck` for ``ruleset``: the fact must be declared
    and the value must have its type (text typed at the CLI is converted)."""
    from rules.loader import coerce_fact_value

    def check(name: str, raw: object) -> object:
        definition = ruleset.facts.get(name)
        if definition is None:
            known = ", ".join(sorted(ruleset.facts))
            raise ValueError(f"unknown fact {name!r} for rule set {ruleset.name} "
                             f"{ruleset.version}; known facts: {known}")
        return coerce_fact_value(definition, raw)

    return check


def to_facts(ruleset: Any, records: Sequence[elig.FactRecord]) -> dict[str, list[Any]]:
    """Stored and derived facts as ``rules.model.Fact`` histories, for the facts the
    rule set declares (others are ignored: an older rule set may have read them)."""
    from rules.errors import FactValueError
    from rules.loader import make_fact

    out: dict[str, list[Any]] = {}
    for r in records:
        if r.fact not in ruleset.facts:
            continue
        try:
            fact = make_fact(ruleset, r.fact, r.value, r.as_of, r.evidence, r.recorded_by)
        except FactValueError as exc:
            raise InvalidInputError(
                f"stored fact {r.fact} of {r.organisation} (from {r.as_of}) does not fit rule "
                f"set {ruleset.name} {ruleset.version}: {exc}") from None
        out.setdefault(r.fact, []).append(fact)
    return out


def decide(conn: Connection, ruleset: Any, organisation_id: int, as_of: date,
           lang: str = "en", actor: str | None = None) -> tuple[Any, int]:
    """Evaluate the organisation's facts known on ``as_of`` against ``ruleset`` and
    store the decision; return ``(rules.model.Decision, decision id)``."""
    from rules.engine import evaluate

    name, _kind = elig.org_kind(conn, organisation_id)
    facts = to_facts(ruleset, elig.facts_at(conn, organisation_id, as_of))
    decision = evaluate(ruleset, facts, as_of, lang, organisation=name)
    did = elig.store_decision(conn, organisation_id, as_of, decision.outcome, ruleset.name,
                              ruleset.version, ruleset.sha256, decision.to_dict(), actor)
    return decision, did


def decision_in(decision: Any, lang: str) -> Any:
    """The same decision with its messages in ``lang``."""
    if decision.lang == lang:
        return decision
    return replace(decision, lang=lang,
                   results=tuple(replace(r, lang=lang) for r in decision.results))


def blocking_not_passed(decision: Any) -> tuple[str, ...]:
    """Ids of the blocking rules that failed or are unknown (why money is refused)."""
    return tuple(r.rule_id for r in decision.results
                 if r.severity == "blocking" and r.status != "pass")


def eligibility_gate(rules_path: str | None, actor: str | None = None,
                     lang: str = "en") -> Gate:
    """The :data:`ledger.gate.Gate` of the eligibility rules.

    The rule set (default ``rules/default.toml``) is loaded now, so a bad file
    is refused before anything is written.  For a union or the Network the gate
    allows without a decision.  Otherwise it evaluates the facts known on the
    date, stores the decision (in the caller's transaction: a refused command
    rolls it back with everything else) and allows ``eligible`` and
    ``eligible_with_warnings``; ``failed_rules`` names the blocking rules that
    failed or are unknown.
    """
    ruleset = load_rules(rules_path)

    def gate(conn: Connection, organisation_id: int, on: date) -> GateVerdict:
        name, kind = elig.org_kind(conn, organisation_id)
        if kind not in elig.SUBJECT_KINDS:
            return GateVerdict(True, "eligible",
                               message=f"{name} is a {kind}: not subject to eligibility rules")
        decision, did = decide(conn, ruleset, organisation_id, on, lang, actor)
        failed = blocking_not_passed(decision)
        allowed = decision.outcome in ALLOWED_OUTCOMES
        lines = [(f"{name}: {decision.outcome.replace('_', ' ')} on {on} "
                 f"({ruleset.name} {ruleset.version}, decision #{did})")]
        lines += [f"  {r.rule_id} [{r.status}]: {r.message}" for r in decision.results
                  if r.rule_id in failed]
        return GateVerdict(allowed, decision.outcome, failed, did, "\n".join(lines))

    return gate


# -- text rendering ----------------------------------------------------------------

def _value_text(value: object) -> str:
    from rules.model import json_value

    v = json_value(value)
    return "—" if v is None else str(v)


def decision_text(decision: Any, decision_id: int | None, lang: str) -> str:
    """A decision for the terminal: outcome, then per rule its status, message,
    the facts used with evidence and dates, the thresholds with their reference."""
    from rules.model import OUTCOME_LABELS, SEVERITY_LABELS, STATUS_LABELS

    out = [(f"{decision.organisation} — {decision.as_of.isoformat()}: "
           f"{OUTCOME_LABELS[decision.outcome][lang].upper()}"),
           f"rule set: {decision.ruleset_name} {decision.ruleset_version} "
           f"(sha256 {decision.ruleset_sha256[:12]}…)"
           + (f", decision #{decision_id}" if decision_id is not None else "")]
    for r in decision.results:
        out.append(f"  [{STATUS_LABELS[r.status][lang]}] {r.rule_id} "
                   f"({SEVERITY_LABELS[r.severity][lang]}): {r.message}")
        for f in r.facts:
            ev = f"; {f.evidence}" if f.evidence else ""
            who = f"; {f.recorded_by}" if f.recorded_by else ""
            out.append(f"      {f.name} = {_value_text(f.value)} "
                       f"(from {f.as_of.isoformat()}{ev}{who})")
        for m in r.missing:
            out.append(f"      {m} = ? (unknown)")
        for t in r.thresholds:
            ref = f"; {t.reference}" if t.reference else ""
            since = f" from {t.valid_from.isoformat()}" if t.valid_from else ""
            out.append(f"      threshold {t.name} = {_value_text(t.value)}{since}{ref}")
        if r.source:
            out.append(f"      source: {r.source}")
        if r.note:
            out.append(f"      note: {r.note}")
    return "\n".join(out)


def _fact_doc(f: elig.FactRecord) -> dict[str, Any]:
    from rules.model import json_value

    return {"id": f.id, "fact": f.fact, "value": json_value(f.value), "as_of": f.as_of,
            "evidence": f.evidence, "recorded_by": f.recorded_by,
            "recorded_at": f.recorded_at, "source": f.source}


def _decision_doc(d: elig.DecisionRecord) -> dict[str, Any]:
    return {"id": d.id, "organisation": d.organisation, "as_of": d.as_of,
            "outcome": d.outcome,
            "ruleset": {"name": d.ruleset_name, "version": d.ruleset_version,
                        "sha256": d.ruleset_hash},
            "decided_by": d.decided_by, "decided_at": d.decided_at}


# -- commands ----------------------------------------------------------------------

_RULES_OPTION = click.option("--rules", "rules_path", metavar="FILE",
                             help="Rule-set file (default: the shipped rules/default.toml).")


def register(main: click.Group) -> None:
    """Attach the facts, eligibility, rules and report-eligibility commands, and the
    demo's eligibility step."""
    # Imported here: ledger.cli imports this module while it is being defined.
    from ledger.cli import DATE, get_or_create_group, pass_ctx, report_options, write_report
    from ledger.demo import add_step

    add_step(20, demo_eligibility_step)

    @main.group()
    def facts() -> None:
        """Facts about organisations that the eligibility rules read."""

    @facts.command("set")
    @click.argument("org")
    @click.argument("fact")
    @click.argument("value")
    @click.option("--as-of", "as_of", type=DATE, required=True,
                  help="Date the value holds from (YYYY-MM-DD).")
    @click.option("--evidence", default="", help="Document it comes from (name, number).")
    @_RULES_OPTION
    @pass_ctx
    def facts_set(c: Ctx, org: str, fact: str, value: str, as_of: date, evidence: str,
                  rules_path: str | None) -> None:
        """Record FACT = VALUE for ORG from --as-of, with its evidence."""
        check = fact_checker(load_rules(rules_path))
        fid, created = c.write(elig.set_fact, org, fact, value, as_of, evidence, c.actor, check)
        c.emit({"ok": True, "id": fid, "created": created, "organisation": org, "fact": fact,
                "as_of": as_of},
               f"{org}: {fact} = {value} from {as_of} (#{fid})" if created
               else f"{org}: {fact} = {value} from {as_of} already known (#{fid})")

    @facts.command("list")
    @click.argument("org")
    @click.option("--as-of", "as_of", type=DATE, help="Only facts holding from this date or before.")
    @pass_ctx
    def facts_list(c: Ctx, org: str, as_of: date | None) -> None:
        """Every fact recorded for ORG (its history) and those the ledger derives."""
        rows = c.read(elig.list_facts, org, as_of)
        c.emit({"organisation": org, "facts": [_fact_doc(f) for f in rows]}, lambda: table(
            ["fact", "value", "as of", "evidence", "recorded by", "source"],
            [[f.fact, _value_text(f.value), f.as_of, f.evidence, f.recorded_by, f.source]
             for f in rows]) if rows else f"{org}: no facts recorded")

    @facts.command("import")
    @click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
    @_RULES_OPTION
    @pass_ctx
    def facts_import(c: Ctx, file: Path, rules_path: str | None) -> None:
        """Import a questionnaire (CSV or XLSX: organisation, fact, value, as_of, evidence).

        All or nothing: every bad row is reported as file:line; re-importing adds nothing.
        """
        check = fact_checker(load_rules(rules_path))
        rows = elig.read_fact_rows(file)
        res = c.write(elig.import_facts, rows, check, c.actor)
        c.emit({"ok": True, "file": str(file), "rows": res.rows, "added": res.added,
                "known": res.known},
               f"{file}: {res.rows} row(s), {res.added} fact(s) added, "
               f"{res.known} already known")

    @main.group()
    def eligibility() -> None:
        """Check organisations against the eligibility rules; their decision history."""

    @eligibility.command("check")
    @click.argument("org")
    @click.option("--as-of", "as_of", type=DATE, help="Date of the check (default today).")
    @_RULES_OPTION
    @pass_ctx
    def eligibility_check(c: Ctx, org: str, as_of: date | None, rules_path: str | None) -> None:
        """Evaluate ORG on a date, store the decision and explain it rule by rule."""
        ruleset = load_rules(rules_path)
        on = as_of or date.today()

        def run(conn: Connection) -> tuple[Any, int]:
            subject = elig.subject_organisations(conn, org)[0]
            return decide(conn, ruleset, subject.id, on, c.lang, c.actor)

        decision, did = c.write(run)
        c.emit(decision.to_dict() | {"decision_id": did},
               lambda: decision_text(decision, did, c.lang))

    @eligibility.command("history")
    @click.argument("org")
    @pass_ctx
    def eligibility_history(c: Ctx, org: str) -> None:
        """What was decided about ORG, when, and with which rule set."""
        rows = c.read(elig.history, org)
        c.emit({"organisation": org, "decisions": [_decision_doc(d) for d in rows]},
               lambda: table(
                   ["decision", "as of", "outcome", "rule set", "version", "sha256",
                    "decided by", "decided at"],
                   [[f"#{d.id}", d.as_of, d.outcome, d.ruleset_name, d.ruleset_version,
                     d.ruleset_hash[:12], d.decided_by, f"{d.decided_at:%Y-%m-%d %H:%M}"]
                    for d in rows]) if rows else f"{org}: no decision yet")

    @main.group("rules")
    def rules_group() -> None:
        """Rule-set files: validate them, run their scenarios."""

    @rules_group.command("validate")
    @click.argument("file")
    @pass_ctx
    def rules_validate(c: Ctx, file: str) -> None:
        """Check a rule-set file; print every problem as file:line: message (exit 1)."""
        from rules.errors import RuleFileError
        from rules.loader import load_ruleset

        try:
            rs = load_ruleset(file)
        except RuleFileError as exc:
            diags = [str(d) for d in exc.diagnostics]
            c.emit({"ok": False, "file": file, "diagnostics": diags}, "\n".join(diags))
            sys.exit(1)
        c.emit({"ok": True, "file": file, "name": rs.name, "version": rs.version,
                "sha256": rs.sha256, "rules": len(rs.rules), "facts": len(rs.facts)},
               f"{file}: valid — {rs.name} {rs.version}, {len(rs.rules)} rule version(s), "
               f"{len(rs.facts)} fact(s), sha256 {rs.sha256[:12]}…")

    @rules_group.command("test")
    @click.argument("path")
    @_RULES_OPTION
    @pass_ctx
    def rules_test(c: Ctx, path: str, rules_path: str | None) -> None:
        """Run scenario files (a file or every *.toml of a folder); exit 1 on a failure."""
        from rules.errors import RuleFileError
        from rules.scenarios import run_scenarios

        if not Path(path).exists():
            raise InvalidInputError(f"{path}: no such file or folder")
        ruleset = load_rules(rules_path) if rules_path else None
        try:
            results = run_scenarios(path, ruleset)
        except RuleFileError as exc:
            diags = [str(d) for d in exc.diagnostics]
            c.emit({"ok": False, "path": path, "diagnostics": diags}, "\n".join(diags))
            sys.exit(1)
        failed = [r for r in results if not r.passed]
        c.emit({"ok": not failed, "checks": len(results), "failed": len(failed),
                "results": [{"file": r.file, "line": r.line, "scenario": r.name,
                             "as_of": r.as_of, "expected": r.expected, "outcome": r.outcome,
                             "passed": r.passed, "mismatches": list(r.mismatches)}
                            for r in results]},
               "\n".join([str(r) for r in results]
                         + [f"{len(results)} check(s), {len(failed)} failed"]))
        if failed or not results:
            sys.exit(1)

    report = get_or_create_group(main, "report", "Reports for auditors, unions and the Network.")

    @report.command("eligibility")
    @click.argument("org", required=False)
    @click.option("--as-of", "as_of", type=DATE, help="Date of the check (default today).")
    @_RULES_OPTION
    @report_options
    @pass_ctx
    def report_eligibility(c: Ctx, org: str | None, as_of: date | None, rules_path: str | None,
                           fmt: str, out: Path | None) -> None:
        """Eligibility of ORG, or of every mutual, with the overrides (decisions stored)."""
        ruleset = load_rules(rules_path)
        on = as_of or date.today()
        report_obj, summary = c.write(eligibility_report, ruleset, on, org, c.lang, c.actor)
        write_report(c, report_obj, fmt, out, summary)


def eligibility_report(conn: Connection, ruleset: Any, on: date, org: str | None,
                       lang: str, actor: str | None,
                       langs: Sequence[str] = ()) -> tuple[Any, dict[str, Any]]:
    """Decide every subject organisation (or ``org``) on ``on``, store the decisions
    and build the report (messages in ``lang``); return ``(report, summary)``."""
    from reports.eligibility import OrgDecision, build_eligibility_report

    entries = []
    for s in elig.subject_organisations(conn, org):
        decision, did = decide(conn, ruleset, s.id, on, lang, actor)
        entries.append(OrgDecision(s.name, s.country, s.kind, did, decision.to_dict()))
    overrides = elig.list_overrides(conn, org)
    report = build_eligibility_report(entries, overrides, on,
                                      {"name": ruleset.name, "version": ruleset.version,
                                       "sha256": ruleset.sha256})
    summary = {e.organisation: {"outcome": e.decision["outcome"], "decision": e.decision_id}
               for e in entries}
    return report, summary


# -- demo ----------------------------------------------------------------------------

DEMO_CHECK_DATE = date(2026, 10, 1)
_Hist = list[tuple[object, str, str]]  # (value, as_of, evidence), oldest first
_COMMON: dict[str, _Hist] = {
    # A well-run health mutual, with the 2025 and 2026 general assemblies so that
    # it is eligible all through 2026 (the flows demo sends money in the spring).
    "registered": [(True, "2019-06-10", "Récépissé de déclaration")],
    "constitutive_ga_date": [("2019-03-02", "2019-03-02", "PV de l'AG constitutive")],
    "statutes_registered": [(True, "2019-06-10", "Statuts enregistrés")],
    "main_purpose": [("health", "2019-03-02", "Statuts, art. 3")],
    "contribution_schedule_defined": [(True, "2024-12-01", "Barème des cotisations 2025")],
    "members_share_defined": [(True, "2024-12-01", "Barème des cotisations 2025")],
    "public_authorities_share_defined": [(True, "2024-09-15", "Convention avec le ministère")],
    "bank_account_in_own_name": [(True, "2020-01-15", "Attestation bancaire")],
    "last_ordinary_ga_date": [("2025-04-19", "2025-04-19", "PV de l'AG ordinaire 2025"),
                              ("2026-04-18", "2026-04-18", "PV de l'AG ordinaire 2026")],
    "last_audited_year": [("2024", "2025-04-19", "Rapport du commissaire aux comptes 2024"),
                          ("2025", "2026-02-27", "Rapport du commissaire aux comptes 2025")],
    "accounts_approved": [(True, "2025-04-19", "PV de l'AG ordinaire 2025")],
    "board_renewed_date": [("2024-04-20", "2024-04-20", "PV de l'AG élective 2024")],
    "operating_expenses": [("10900.00", "2025-04-19", "Comptes 2024 approuvés"),
                           ("11200.00", "2026-04-18", "Comptes 2025 approuvés")],
    "total_expenses": [("96400.00", "2025-04-19", "Comptes 2024 approuvés"),
                       ("98500.00", "2026-04-18", "Comptes 2025 approuvés")],
    "membership_renewal_rate": [("0.86", "2025-04-19", "Rapport d'activité 2024")],
    "claims_ratio": [("0.78", "2025-04-19", "Comptes 2024 approuvés")],
}

#: The fourth mutual the demo adds (Senegal, XOF), whose audit is not yet known.
DEMO_SENEGAL = ("Mutuelle santé des enseignants SN", "mutual", "SN", "XOF", 6_000)


def _demo_facts() -> dict[str, dict[str, _Hist]]:
    morocco = _COMMON | {
        "public_authorities_share_defined": [
            (False, "2024-09-15", "Questionnaire d'éligibilité 2025, question 7"),
            (False, "2026-02-10", "Questionnaire d'éligibilité 2026, question 7")],
        "registration_number": [("MA-MUT-1998-007", "1998-05-12", "Arrêté d'agrément")]}
    senegal = {k: v for k, v in _COMMON.items() if k != "last_audited_year"}
    return {
        "MS-Éducation Burkina": _COMMON | {
            "registration_number": [("BF-MS-2019-0042", "2019-06-10", "Récépissé n° 2019-0042")]},
        "Mutuelle des agents CI": _COMMON | {
            "registration_number": [("CI-MUT-2018-117", "2018-02-10", "Récépissé n° 2018-117")]},
        "Mutuelle publique Maroc": morocco,
        DEMO_SENEGAL[0]: senegal,
    }


def demo_eligibility_step(engine: Any, folder: Path, actor: str | None, lang: str,
                          result: Any) -> str:
    """Record facts for four mutuals, check them, refuse then override a transfer to
    the Moroccan mutual, and write the eligibility report (fr, en; xlsx, html)."""
    from ledger import orgs
    from ledger.db import unit_of_work
    from ledger.demo import bank_account
    from ledger.gate import IneligibleError
    from reports.render import render

    ruleset = load_rules(None)
    check = fact_checker(ruleset)
    with unit_of_work(engine) as conn:
        name, kind, cc, cur, members = DEMO_SENEGAL
        known = {o.name for o in orgs.list_orgs(conn)}
        if name not in known:
            orgs.add_org(conn, name, kind, cc, cur, members, str(DEMO_CHECK_DATE.year))
            orgs.add_account(conn, bank_account(name, cur), "asset", cur, org=name)
        for org, facts in _demo_facts().items():
            for fact, hist in facts.items():
                for value, as_of, evidence in hist:
                    elig.set_fact(conn, org, fact, value, date.fromisoformat(as_of), evidence,
                                  actor or "network", check)
    outcomes: dict[str, str] = {}
    with unit_of_work(engine) as conn:
        for s in elig.subject_organisations(conn):
            decision, _ = decide(conn, ruleset, s.id, DEMO_CHECK_DATE, lang, actor)
            outcomes[s.name] = decision.outcome

    # A transfer to the Moroccan mutual: refused, then sent with an override.
    transfer_note = _demo_transfer(engine, actor, IneligibleError)

    reports_dir = folder / "reports"
    reports_dir.mkdir(exist_ok=True)
    written = []
    for language in ("fr", "en"):
        with unit_of_work(engine) as conn:
            report, _ = eligibility_report(conn, ruleset, DEMO_CHECK_DATE, None, language, actor)
        for fmt in ("xlsx", "html"):
            target = reports_dir / f"eligibility-{DEMO_CHECK_DATE.isoformat()}.{language}.{fmt}"
            render(report, fmt, language, target)
            written.append(target.name)
    result.extras["eligibility"] = {"as_of": DEMO_CHECK_DATE.isoformat(),
                                    "outcomes": outcomes, "transfer": transfer_note,
                                    "reports": written}
    listed = ", ".join(f"{k}: {v.replace('_', ' ')}" for k, v in outcomes.items())
    return f"eligibility on {DEMO_CHECK_DATE}: {listed}; {transfer_note}"


DEMO_TRANSFER_REF = "NET-MA-2026-10"


def _demo_transfer(engine: Any, actor: str | None, ineligible: type[Exception]) -> str:
    from ledger.db import unit_of_work
    from ledger.demo import bank_account
    from ledger.transfers import send_transfer

    gate = eligibility_gate(None, actor)
    kw: dict[str, Any] = {"reference": DEMO_TRANSFER_REF, "from_org": "Network",
                              "to_org": "Mutuelle publique Maroc",
                              "from_account": bank_account("Network", "EUR"), "amount": "5000.00",
                              "on": DEMO_CHECK_DATE, "gate": gate, "fee": "15.00", "actor": actor}
    refused = ""
    try:
        with unit_of_work(engine) as conn:
            send_transfer(conn, **kw)
    except ineligible as exc:
        refused = str(exc).split(";")[0]
    with unit_of_work(engine) as conn:
        sent = send_transfer(conn, **kw, override_reason=(
            "Board decision 2026-09-28: public authorities' share agreed in principle with "
            "the ministry; convention to be signed before 2026-12-31"))
    return (f"transfer {DEMO_TRANSFER_REF} refused ({refused}), then sent with override "
            f"#{sent.override_id}")
