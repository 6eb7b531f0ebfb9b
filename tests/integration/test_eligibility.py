"""Eligibility storage on SQLite and PostgreSQL: facts as of dates, stored decisions
with their rule set, effective dates, unknown facts, append-only tables, the gate
and the questionnaire import."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from ledger import eligibility as elig
from ledger import orgs
from ledger.cli_rules import decide, eligibility_gate, fact_checker, load_rules
from ledger.db import unit_of_work
from ledger.errors import InvalidInputError
from ledger.gate import IneligibleError, allow_all
from ledger.transfers import receive_transfer, send_transfer
from rules.loader import DEFAULT_RULESET_PATH

MUTUAL = "MS-Éducation Burkina"

#: Every fact a well-run mutual declares (value, as_of), for the default rule set.
GOOD_FACTS: dict[str, tuple[object, str]] = {
    "registered": ("true", "2019-06-10"),
    "registration_number": ("BF-MS-2019-0042", "2019-06-10"),
    "constitutive_ga_date": ("2019-03-02", "2019-03-02"),
    "statutes_registered": ("yes", "2019-06-10"),
    "main_purpose": ("health", "2019-03-02"),
    "contribution_schedule_defined": ("true", "2025-12-01"),
    "members_share_defined": ("true", "2025-12-01"),
    "public_authorities_share_defined": ("true", "2025-09-15"),
    "bank_account_in_own_name": ("true", "2020-01-15"),
    "last_ordinary_ga_date": ("2026-04-18", "2026-04-18"),
    "last_audited_year": ("2025", "2026-04-18"),
    "accounts_approved": ("true", "2026-04-18"),
    "board_renewed_date": ("2025-04-20", "2025-04-20"),
    "operating_expenses": ("13000.00", "2026-04-18"),
    "total_expenses": ("100000.00", "2026-04-18"),
    "membership_renewal_rate": ("0.86", "2026-04-18"),
    "claims_ratio": ("0.78", "2026-04-18"),
}


@pytest.fixture
def rules():  # type: ignore[no-untyped-def]
    return load_rules(None)


def _setup(engine: Engine, rules, facts: dict[str, tuple[object, str]] | None = None) -> int:  # type: ignore[no-untyped-def]
    check = fact_checker(rules)
    with unit_of_work(engine) as conn:
        orgs.add_org(conn, "Network", "network", "FR", "EUR")
        orgs.add_org(conn, "CSQ", "union", "CA", "CAD")
        oid = orgs.add_org(conn, MUTUAL, "mutual", "BF", "EUR")
        orgs.add_account(conn, "Assets:Bank:Network:EUR", "asset", "EUR", org="Network")
        orgs.add_account(conn, "Assets:Bank:Mutual:EUR", "asset", "EUR", org=MUTUAL)
        for name, (value, since) in (GOOD_FACTS if facts is None else facts).items():
            elig.set_fact(conn, MUTUAL, name, value, date.fromisoformat(since),
                          f"document for {name}", "network", check)
    return oid


def test_a_fact_reads_back_with_its_type_evidence_and_date(engine: Engine, rules) -> None:  # type: ignore[no-untyped-def]
    _setup(engine, rules)
    with unit_of_work(engine) as conn:
        got = {f.fact: f for f in elig.list_facts(conn, MUTUAL)}
    assert got["registered"].value is True
    assert got["last_ordinary_ga_date"].value == date(2026, 4, 18)
    assert got["last_audited_year"].value == 2025
    assert got["membership_renewal_rate"].value == Decimal("0.86")
    assert got["main_purpose"].value == "health"
    assert got["registered"].evidence == "document for registered"
    assert got["registered"].recorded_by == "network"
    assert got["registered"].as_of == date(2019, 6, 10)


def test_recording_the_same_value_again_adds_nothing_and_a_correction_wins(
        engine: Engine, rules) -> None:  # type: ignore[no-untyped-def]
    oid = _setup(engine, rules)
    check = fact_checker(rules)
    on = date(2026, 4, 18)
    with unit_of_work(engine) as conn:
        _, created = elig.set_fact(conn, MUTUAL, "last_audited_year", "2025", on, "", "x", check)
        assert not created
        _, created = elig.set_fact(conn, MUTUAL, "last_audited_year", "2024", on, "fix", "x",
                                   check)
        assert created
    with unit_of_work(engine) as conn:
        decision, _ = decide(conn, rules, oid, date(2026, 6, 30))
    assert decision.result("accounts_audited").facts[0].value == 2024
    assert decision.result("accounts_audited").status == "fail"


def test_an_unknown_fact_is_refused_listing_the_known_facts(engine: Engine, rules) -> None:  # type: ignore[no-untyped-def]
    _setup(engine, rules, {})
    with unit_of_work(engine) as conn, pytest.raises(InvalidInputError) as err:
        elig.set_fact(conn, MUTUAL, "registred", "true", date(2026, 1, 1), "", None,
                      fact_checker(rules))
    assert "unknown fact 'registred'" in str(err.value)
    assert "registered" in str(err.value) and "claims_ratio" in str(err.value)


def test_a_value_of_the_wrong_type_is_refused(engine: Engine, rules) -> None:  # type: ignore[no-untyped-def]
    _setup(engine, rules, {})
    check = fact_checker(rules)
    with unit_of_work(engine) as conn:
        for fact, value in (("last_audited_year", "twenty"), ("registered", "maybe"),
                            ("last_ordinary_ga_date", "18/04/2026"), ("main_purpose", "sport")):
            with pytest.raises(InvalidInputError):
                elig.set_fact(conn, MUTUAL, fact, value, date(2026, 1, 1), "", None, check)
        assert elig.list_facts(conn, MUTUAL) == []


def test_facts_known_at_a_date_leave_out_later_facts(engine: Engine, rules) -> None:  # type: ignore[no-untyped-def]
    oid = _setup(engine, rules)
    with unit_of_work(engine) as conn:
        before = {f.fact for f in elig.facts_at(conn, oid, date(2026, 3, 31))}
        after = {f.fact for f in elig.facts_at(conn, oid, date(2026, 6, 30))}
    assert "last_ordinary_ga_date" not in before and "last_ordinary_ga_date" in after


def test_a_decision_is_stored_with_the_rule_set_version_and_hash(engine: Engine, rules) -> None:  # type: ignore[no-untyped-def]
    oid = _setup(engine, rules)
    with unit_of_work(engine) as conn:
        decision, did = decide(conn, rules, oid, date(2026, 6, 30), "fr", "auditor")
    assert decision.outcome == "eligible"
    with unit_of_work(engine) as conn:
        [stored] = elig.history(conn, MUTUAL)
    assert stored.id == did and stored.outcome == "eligible"
    assert stored.ruleset_version == rules.version == "2026.1"
    assert stored.ruleset_hash == rules.sha256 and len(stored.ruleset_hash) == 64
    assert stored.decided_by == "auditor" and stored.as_of == date(2026, 6, 30)
    assert stored.detail["lang"] == "fr"
    ga = next(r for r in stored.detail["results"] if r["rule"] == "ordinary_ga_recent")
    assert ga["facts"][0]["evidence"] == "document for last_ordinary_ga_date"
    assert ga["thresholds"][0]["reference"].startswith("Network solidarity-fund agreement")


def test_a_missing_fact_makes_the_decision_incomplete_not_failed(engine: Engine, rules) -> None:  # type: ignore[no-untyped-def]
    facts = {k: v for k, v in GOOD_FACTS.items() if k != "bank_account_in_own_name"}
    oid = _setup(engine, rules, facts)
    with unit_of_work(engine) as conn:
        decision, _ = decide(conn, rules, oid, date(2026, 6, 30))
    assert decision.outcome == "incomplete"
    assert decision.result("bank_account_in_own_name").status == "unknown"
    assert decision.result("bank_account_in_own_name").missing == ("bank_account_in_own_name",)


def _blocking_ratio_rules(tmp_path: Path) -> Path:
    """The default rule set with the operating-expense ratio made blocking."""
    text_ = DEFAULT_RULESET_PATH.read_text(encoding="utf-8")
    old = 'id = "operating_expense_ratio"\nseverity = "warning"'
    assert old in text_
    path = tmp_path / "strict.toml"
    path.write_text(text_.replace(old, 'id = "operating_expense_ratio"\nseverity = "blocking"'),
                    encoding="utf-8")
    return path


def test_a_2027_ceiling_change_leaves_the_2026_decision_unchanged(
        engine: Engine, tmp_path: Path) -> None:
    strict = load_rules(_blocking_ratio_rules(tmp_path))
    oid = _setup(engine, strict)
    check = fact_checker(strict)
    with unit_of_work(engine) as conn:
        # The 2027 general assembly and audit keep every other condition met.
        elig.set_fact(conn, MUTUAL, "last_ordinary_ga_date", "2027-04-24", date(2027, 4, 24),
                      "PV AGO 2027", None, check)
        elig.set_fact(conn, MUTUAL, "last_audited_year", "2026", date(2027, 4, 24), "", None,
                      check)
    with unit_of_work(engine) as conn:
        d2026, id2026 = decide(conn, strict, oid, date(2026, 6, 30))
    with unit_of_work(engine) as conn:
        d2027, _ = decide(conn, strict, oid, date(2027, 6, 30))
    with unit_of_work(engine) as conn:
        again, _ = decide(conn, strict, oid, date(2026, 6, 30))
        stored = {d.id: d for d in elig.history(conn, MUTUAL)}
    assert d2026.outcome == "eligible" and again.outcome == "eligible"
    assert d2027.outcome == "not_eligible"
    assert d2027.result("operating_expense_ratio").threshold == Decimal("0.12")
    first = stored[id2026]
    assert first.outcome == "eligible"
    ratio = next(r for r in first.detail["results"] if r["rule"] == "operating_expense_ratio")
    assert ratio["status"] == "pass" and ratio["threshold"] == "0.15"
    assert [d.outcome for d in stored.values()] == ["eligible", "not_eligible", "eligible"]


def test_facts_decisions_and_overrides_are_append_only(engine: Engine, rules) -> None:  # type: ignore[no-untyped-def]
    oid = _setup(engine, rules)
    with unit_of_work(engine) as conn:
        _, did = decide(conn, rules, oid, date(2026, 6, 30))
        elig.record_override(conn, MUTUAL, did, "redistribution R-1", ["x"], "because", "n")
    for statement in ("UPDATE org_fact SET value = '1'", "DELETE FROM org_fact",
                      "UPDATE eligibility_decision SET outcome = 'eligible'",
                      "DELETE FROM eligibility_decision",
                      "UPDATE eligibility_override SET reason = 'other'",
                      "DELETE FROM eligibility_override"):
        with pytest.raises(DBAPIError), unit_of_work(engine) as conn:
            conn.execute(text(statement))


def test_an_override_needs_a_reason(engine: Engine, rules) -> None:  # type: ignore[no-untyped-def]
    _setup(engine, rules, {})
    with unit_of_work(engine) as conn, pytest.raises(InvalidInputError):
        elig.record_override(conn, MUTUAL, None, "redistribution R-1", [], "  ", None)


def _send(conn, gate, reason: str | None = None, ref: str = "T-1"):  # type: ignore[no-untyped-def]
    return send_transfer(conn, reference=ref, from_org="Network", to_org=MUTUAL,
                         from_account="Assets:Bank:Network:EUR", amount="1000.00",
                         on=date(2026, 6, 30), gate=gate, override_reason=reason, actor="net")


def test_the_gate_refuses_an_ineligible_mutual_naming_the_failed_rules(
        engine: Engine, rules) -> None:  # type: ignore[no-untyped-def]
    facts = GOOD_FACTS | {"public_authorities_share_defined": ("false", "2026-01-20")}
    _setup(engine, rules, facts)
    gate = eligibility_gate(None, "net")
    with pytest.raises(IneligibleError) as err, unit_of_work(engine) as conn:
        _send(conn, gate)
    assert "public_authorities_share_defined" in str(err.value)
    assert err.value.verdict.outcome == "not_eligible"
    with unit_of_work(engine) as conn:  # nothing was written, not even the decision
        assert elig.history(conn, MUTUAL) == []
    with unit_of_work(engine) as conn:
        sent = _send(conn, gate, "board decision of 2026-06-28")
    with unit_of_work(engine) as conn:
        [override] = elig.list_overrides(conn)
        [decision] = elig.history(conn, MUTUAL)
    assert sent.override_id == override.id and sent.status == "pending"
    assert override.failed_rules == "public_authorities_share_defined"
    assert override.reason == "board decision of 2026-06-28" and override.actor == "net"
    assert override.decision_id == decision.id and decision.outcome == "not_eligible"
    assert override.action == "transfer T-1"


def test_the_gate_lets_an_eligible_mutual_through_and_stores_the_decision(
        engine: Engine, rules) -> None:  # type: ignore[no-untyped-def]
    _setup(engine, rules)
    with unit_of_work(engine) as conn:
        sent = _send(conn, eligibility_gate(None))
    assert sent.override_id is None
    with unit_of_work(engine) as conn:
        assert [d.outcome for d in elig.history(conn, MUTUAL)] == ["eligible"]


def test_the_gate_never_blocks_a_union_or_the_network(engine: Engine, rules) -> None:  # type: ignore[no-untyped-def]
    _setup(engine, rules, {})
    gate = eligibility_gate(None)
    with unit_of_work(engine) as conn:
        for name in ("Network", "CSQ"):
            verdict = gate(conn, orgs.org_id(conn, name), date(2026, 6, 30))
            assert verdict.allowed and verdict.decision_id is None
        verdict = gate(conn, orgs.org_id(conn, MUTUAL), date(2026, 6, 30))
        assert not verdict.allowed and verdict.outcome == "incomplete"
        assert "legally_constituted" in verdict.failed_rules


def test_the_ledger_derives_the_date_of_the_last_transfer_received(engine: Engine, rules) -> None:  # type: ignore[no-untyped-def]
    oid = _setup(engine, rules)
    with unit_of_work(engine) as conn:
        _send(conn, allow_all)
        receive_transfer(conn, "T-1", account="Assets:Bank:Mutual:EUR", amount="990.00",
                         on=date(2026, 7, 3))
    with unit_of_work(engine) as conn:
        assert elig.derived_facts(conn, oid, date(2026, 7, 2)) == []
        [fact] = elig.derived_facts(conn, oid, date(2026, 7, 31))
        decision, _ = decide(conn, rules, oid, date(2026, 7, 31))
    assert fact.fact == "last_transfer_received_date" and fact.value == date(2026, 7, 3)
    assert fact.source == "ledger" and fact.evidence == "transfer T-1"
    assert decision.result("recent_transfer_received").status == "pass"


# -- questionnaire import -------------------------------------------------------------

def _csv(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "questionnaire.csv"
    path.write_text("organisation,fact,value,as_of,evidence\n" + body, encoding="utf-8")
    return path


def test_importing_a_questionnaire_twice_adds_nothing_the_second_time(
        engine: Engine, rules, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _setup(engine, rules, {})
    path = _csv(tmp_path, f"{MUTUAL},registered,oui,2019-06-10,Récépissé\n"
                          f"{MUTUAL},last_audited_year,2025,2026-04-18,Audit 2025\n"
                          f"{MUTUAL},last_audited_year,2025,2026-04-18,Audit 2025\n")
    check = fact_checker(rules)
    rows = elig.read_fact_rows(path)
    with unit_of_work(engine) as conn:
        first = elig.import_facts(conn, rows, check, "network")
    with unit_of_work(engine) as conn:
        second = elig.import_facts(conn, rows, check, "network")
        stored = elig.list_facts(conn, MUTUAL)
    assert (first.rows, first.added, first.known) == (3, 2, 1)
    assert (second.added, second.known) == (0, 3)
    assert len(stored) == 2


def test_a_questionnaire_with_bad_rows_imports_nothing_and_names_every_line(
        engine: Engine, rules, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _setup(engine, rules, {})
    path = _csv(tmp_path, f"{MUTUAL},registered,oui,2019-06-10,ok\n"
                          "Nobody,registered,oui,2019-06-10,\n"
                          f"{MUTUAL},registred,oui,2019-06-10,\n"
                          f"{MUTUAL},last_audited_year,soon,2026-04-18,\n"
                          f"{MUTUAL},claims_ratio,0.7,18/04/2026,\n")
    with pytest.raises(elig.FactImportError) as err, unit_of_work(engine) as conn:
        elig.import_facts(conn, elig.read_fact_rows(path), fact_checker(rules))
    lines = err.value.diagnostics
    assert [d.split(": ", 1)[0] for d in lines] == [f"{path}:{n}" for n in (3, 4, 5, 6)]
    assert "unknown organisation 'Nobody'" in lines[0]
    assert "unknown fact 'registred'" in lines[1]
    with unit_of_work(engine) as conn:
        assert elig.list_facts(conn, MUTUAL) == []


def test_a_questionnaire_can_be_an_xlsx_workbook(engine: Engine, rules, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from openpyxl import Workbook

    _setup(engine, rules, {})
    wb = Workbook()
    ws = wb.active
    ws.append(["Organisation", "Fact", "Value", "As of", "Evidence"])
    ws.append([MUTUAL, "claims_ratio", 0.78, date(2026, 4, 18), "Comptes 2025"])
    ws.append([MUTUAL, "registered", True, date(2019, 6, 10), "Récépissé"])
    ws.append([MUTUAL, "last_audited_year", 2025, date(2026, 4, 18), "Audit"])
    path = tmp_path / "questionnaire.xlsx"
    wb.save(path)
    with unit_of_work(engine) as conn:
        res = elig.import_facts(conn, elig.read_fact_rows(path), fact_checker(rules))
        got = {f.fact: f.value for f in elig.list_facts(conn, MUTUAL)}
    assert res.added == 3
    assert got == {"claims_ratio": Decimal("0.78"), "registered": True, "last_audited_year": 2025}
    assert json.loads(elig.encode_value(Decimal("0.78")))["value"] == "0.78"
