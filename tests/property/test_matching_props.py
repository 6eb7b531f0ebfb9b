"""Properties of the matching engine on random small accounts (hypothesis)."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.matching import MatchConfig, match

_AMOUNTS = st.sampled_from([-5_000, -2_500, -1_000, -150, 100, 250, 1_000, 2_500, 4_800, 5_000])
_TEXT = st.sampled_from(["", "UNION A", "UNION B", "MUTUAL", "FEE", "RF1234567", "RF1234568"])


@st.composite
def accounts(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame]:
    n_lines = draw(st.integers(0, 25))
    n_posts = draw(st.integers(0, 25))
    start = pd.Timestamp("2024-01-01")

    def rows(n: int) -> list[dict]:
        return [
            {
                "day": draw(st.integers(0, 12)),
                "amount": draw(_AMOUNTS),
                "currency": draw(st.sampled_from(["EUR", "EUR", "XOF"])),
                "key": draw(st.sampled_from(["", "", "BK00001", "BK00002", "E2E-0003"])),
                "ref": draw(_TEXT),
                "text": draw(_TEXT),
            }
            for _ in range(n)
        ]

    lr, pr = rows(n_lines), rows(n_posts)
    lines = pd.DataFrame({
        "line_id": np.arange(1, n_lines + 1, dtype=np.int64),
        "date": [start + pd.Timedelta(days=r["day"]) for r in lr],
        "amount_minor": np.array([r["amount"] for r in lr], dtype=np.int64),
        "currency": [r["currency"] for r in lr],
        "bank_transaction_id": [r["key"] for r in lr],
        "reference": [r["ref"] for r in lr],
        "counterparty": [r["text"] for r in lr],
        "text": ["" for _ in lr],
    })
    postings = pd.DataFrame({
        "posting_id": np.arange(101, 101 + n_posts, dtype=np.int64),
        "entry_id": np.arange(101, 101 + n_posts, dtype=np.int64),
        "date": [start + pd.Timedelta(days=r["day"]) for r in pr],
        "amount_minor": np.array([r["amount"] for r in pr], dtype=np.int64),
        "currency": [r["currency"] for r in pr],
        "bank_ref": [r["key"] for r in pr],
        "reference": [r["ref"] for r in pr],
        "text": [r["text"] for r in pr],
    })
    return lines, postings


CONFIGS = st.sampled_from([MatchConfig(), MatchConfig(max_candidates=2, max_group_size=3,
                                                      max_group_candidates=4)])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(accounts(), CONFIGS)
def test_matches_are_one_to_one_balanced_and_everything_is_accounted_for(
    account: tuple[pd.DataFrame, pd.DataFrame], config: MatchConfig
) -> None:
    lines, postings = account
    result = match(lines, postings, config)

    # no line or posting appears in two matches
    matched_lines = [i for m in result.matches for i in m.line_ids]
    matched_posts = [i for m in result.matches for i in m.posting_ids]
    assert len(matched_lines) == len(set(matched_lines))
    assert len(matched_posts) == len(set(matched_posts))

    # every match balances per currency
    amount_l = dict(zip(lines["line_id"], lines["amount_minor"]))
    amount_p = dict(zip(postings["posting_id"], postings["amount_minor"]))
    cur_l = dict(zip(lines["line_id"], lines["currency"]))
    cur_p = dict(zip(postings["posting_id"], postings["currency"]))
    for m in result.matches:
        assert m.line_ids and m.posting_ids
        sums: dict[str, int] = defaultdict(int)
        for i in m.line_ids:
            sums[cur_l[i]] += int(amount_l[i])
        for i in m.posting_ids:
            sums[cur_p[i]] -= int(amount_p[i])
        assert all(v == 0 for v in sums.values())
        assert 0 <= m.score <= 100 and m.stage in (1, 2, 3)

    # matched, ambiguous and unmatched partition each side
    amb_lines = {i for a in result.ambiguous for i in a.line_ids}
    amb_posts = {i for a in result.ambiguous for i in a.posting_ids}
    un_lines = set(result.unmatched_line_ids.tolist())
    un_posts = set(result.unmatched_posting_ids.tolist())
    assert not (set(matched_lines) & amb_lines) and not (set(matched_lines) & un_lines)
    assert not (amb_lines & un_lines)
    assert set(matched_lines) | amb_lines | un_lines == set(lines["line_id"].tolist())
    assert not (set(matched_posts) & amb_posts) and not (set(matched_posts) & un_posts)
    assert not (amb_posts & un_posts)
    assert set(matched_posts) | amb_posts | un_posts == set(postings["posting_id"].tolist())
    for a in result.ambiguous:
        assert a.line_ids and a.posting_ids


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(accounts())
def test_matching_the_same_input_twice_gives_the_same_answer(
    account: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    lines, postings = account
    first = match(lines, postings)
    second = match(lines.copy(), postings.copy())
    assert second.matches == first.matches
    assert second.ambiguous == first.ambiguous
    assert second.unmatched_line_ids.tolist() == first.unmatched_line_ids.tolist()
