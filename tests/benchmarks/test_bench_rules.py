"""Benchmark: the default rule set over 10,000 organisations (target: at most 1 s).

Run with ``.venv/bin/pytest tests/benchmarks/test_bench_rules.py --benchmark-only``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from rules.engine import evaluate_many
from rules.loader import load_ruleset
from rules.model import Fact

RULESET = load_ruleset(Path(__file__).resolve().parents[2] / "rules" / "default.toml")
AS_OF = date(2026, 6, 30)
ORGS = 10_000


def organisations() -> dict[str, dict[str, tuple[Fact, ...]]]:
    base: dict[str, object] = {
        "registered": True,
        "registration_number": "BF-MS-2019-0042",
        "constitutive_ga_date": date(2019, 3, 2),
        "statutes_registered": True,
        "main_purpose": "health",
        "contribution_schedule_defined": True,
        "members_share_defined": True,
        "public_authorities_share_defined": True,
        "bank_account_in_own_name": True,
        "last_ordinary_ga_date": date(2026, 4, 18),
        "last_audited_year": 2025,
        "accounts_approved": True,
        "board_renewed_date": date(2024, 4, 20),
        "operating_expenses": Decimal("11200.00"),
        "total_expenses": Decimal("98500.00"),
        "membership_renewal_rate": Decimal("0.86"),
        "claims_ratio": Decimal("0.78"),
        "last_transfer_received_date": date(2025, 11, 3),
    }
    orgs: dict[str, dict[str, tuple[Fact, ...]]] = {}
    for i in range(ORGS):
        facts = {k: (Fact(k, v, date(2026, 1, 1), "doc", "bench"),)  # type: ignore[arg-type]
                 for k, v in base.items()}
        # Vary the figures and leave some facts out so every path is exercised.
        facts["operating_expenses"] = (
            Fact("operating_expenses", Decimal(8000 + i % 9000), date(2025, 5, 1), "accounts"),
            Fact("operating_expenses", Decimal(9000 + i % 9000), date(2026, 5, 1), "accounts"),
        )
        if i % 7 == 0:
            del facts["bank_account_in_own_name"]
        if i % 11 == 0:
            facts["public_authorities_share_defined"] = (
                Fact("public_authorities_share_defined", False, date(2026, 1, 1)),)
        orgs[f"org-{i:05d}"] = facts
    return orgs


def test_the_default_rule_set_evaluates_10000_organisations(benchmark: Any) -> None:
    orgs = organisations()
    decisions = benchmark.pedantic(evaluate_many, args=(RULESET, orgs, AS_OF), rounds=5,
                                   iterations=1, warmup_rounds=1)
    assert len(decisions) == ORGS
    outcomes = {d.outcome for d in decisions.values()}
    assert outcomes == {"eligible", "eligible_with_warnings", "not_eligible", "incomplete"}
