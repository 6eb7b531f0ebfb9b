"""The JSON of the eligibility report for two shipped scenarios matches its golden file.

Regenerate after an intended change (labels, translations, the default rule
set's messages or references) with
``SOLIDARITY_UPDATE_GOLDEN=1 .venv/bin/pytest tests/golden/test_golden_eligibility.py``
and review the diff.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from ledger.eligibility import OverrideRecord
from reports.eligibility import OrgDecision, build_eligibility_report
from reports.render.json import render_json
from rules.engine import evaluate
from rules.loader import DEFAULT_RULESET_PATH
from rules.scenarios import load_scenario

GOLDEN = Path(__file__).parent / "eligibility"
SCENARIOS = DEFAULT_RULESET_PATH.parent / "scenarios"
AS_OF = date(2026, 6, 30)
# The rule set's hash changes with any edit of its file (even a comment); the
# golden file pins the layout and the words, not the hash.
HASH = "0" * 64


def _entry(file: str, name: str, country: str, decision_id: int, lang: str) -> OrgDecision:
    scenario = load_scenario(SCENARIOS / file)
    doc = evaluate(scenario.ruleset, scenario.facts, AS_OF, lang, organisation=name).to_dict()
    doc["ruleset"] = {**doc["ruleset"], "sha256": HASH}  # type: ignore[dict-item]
    return OrgDecision(name, country, "mutual", decision_id, doc)


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_eligibility_report_json_matches_its_golden_file(lang: str) -> None:
    entries = [_entry("eligible_health_mutual.toml", "MS-Éducation Burkina", "BF", 1, lang),
               _entry("missing_public_authorities_share.toml", "Mutuelle publique Maroc", "MA",
                      2, lang)]
    overrides = [OverrideRecord(1, "Mutuelle publique Maroc", 2, "transfer T-2026-004",
                                "public_authorities_share_defined",
                                "Board decision of 2026-06-28", "network",
                                datetime(2026, 6, 30, 9, 15, tzinfo=UTC))]
    rs = entries[0].decision["ruleset"]
    report = build_eligibility_report(entries, overrides, AS_OF, rs,
                                      generated_at=datetime(2026, 7, 1, 8, 0, tzinfo=UTC))
    actual = render_json(report, lang)
    golden = GOLDEN / f"eligibility.{lang}.json"
    if os.environ.get("SOLIDARITY_UPDATE_GOLDEN"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(actual, encoding="utf-8")
    assert actual == golden.read_text(encoding="utf-8")
