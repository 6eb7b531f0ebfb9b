"""Scenario tests of the reconciliation matching engine, with known answers."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from ledger.matching import (
    AMBIGUOUS_KEY_AMOUNT,
    AMBIGUOUS_SUBSETS,
    AMBIGUOUS_TIE,
    Match,
    MatchConfig,
    MatchInputError,
    exclude_matched,
    match,
)


def day(n: int) -> dt.date:
    return dt.date(2024, 3, 1) + dt.timedelta(days=n)


def lines_frame(*rows: dict) -> pd.DataFrame:
    base = {"currency": "EUR", "bank_transaction_id": "", "reference": "", "counterparty": "",
            "text": ""}
    frame = pd.DataFrame([{**base, **r} for r in rows],
                         columns=["line_id", "date", "amount_minor", *base])
    return frame.astype({"line_id": "int64", "amount_minor": "int64"})


def postings_frame(*rows: dict) -> pd.DataFrame:
    base = {"currency": "EUR", "bank_ref": "", "reference": "", "text": ""}
    frame = pd.DataFrame([{"entry_id": r["posting_id"], **base, **r} for r in rows],
                         columns=["posting_id", "entry_id", "date", "amount_minor", *base])
    return frame.astype({"posting_id": "int64", "entry_id": "int64", "amount_minor": "int64"})


def as_set(result) -> set[tuple[tuple[int, ...], tuple[int, ...], int]]:
    return {(m.line_ids, m.posting_ids, m.stage) for m in result.matches}


def test_a_bank_transaction_id_recorded_on_a_posting_matches_exactly() -> None:
    lines = lines_frame(
        {"line_id": 1, "date": day(0), "amount_minor": 480_000, "bank_transaction_id": "BK-2024-0001"},
        {"line_id": 2, "date": day(0), "amount_minor": 480_000, "bank_transaction_id": "BK-2024-0002"},
    )
    postings = postings_frame(
        {"posting_id": 11, "date": day(3), "amount_minor": 480_000, "bank_ref": "bk 2024 0002"},
        {"posting_id": 12, "date": day(2), "amount_minor": 480_000, "bank_ref": "BK20240001"},
    )
    result = match(lines, postings)
    assert as_set(result) == {((1,), (12,), 1), ((2,), (11,), 1)}
    assert all(m.score == 100 and m.reason == "exact_key" for m in result.matches)


def test_a_key_match_with_a_different_amount_is_left_for_a_person() -> None:
    lines = lines_frame(
        {"line_id": 1, "date": day(0), "amount_minor": 9_800, "bank_transaction_id": "BK-77-0001"})
    postings = postings_frame(
        {"posting_id": 11, "date": day(0), "amount_minor": 10_000, "bank_ref": "BK-77-0001"})
    result = match(lines, postings)
    assert result.matches == []
    assert [(a.line_ids, a.posting_ids, a.reason) for a in result.ambiguous] == [
        ((1,), (11,), AMBIGUOUS_KEY_AMOUNT)
    ]


def test_a_key_shared_by_a_transfer_and_its_fee_matches_them_as_a_group() -> None:
    lines = lines_frame(
        {"line_id": 1, "date": day(0), "amount_minor": -102_500, "bank_transaction_id": "TX-998877"})
    postings = postings_frame(
        {"posting_id": 11, "date": day(0), "amount_minor": -100_000, "bank_ref": "TX-998877"},
        {"posting_id": 12, "date": day(0), "amount_minor": -2_500, "bank_ref": "TX-998877"},
    )
    result = match(lines, postings)
    assert as_set(result) == {((1,), (11, 12), 1)}


def test_a_deposit_in_transit_stays_unmatched() -> None:
    lines = lines_frame({"line_id": 1, "date": day(0), "amount_minor": 5_000, "counterparty": "CSQ"})
    postings = postings_frame(
        {"posting_id": 11, "date": day(0), "amount_minor": 5_000, "text": "Contribution CSQ"},
        {"posting_id": 12, "date": day(1), "amount_minor": 1_234_500, "text": "Deposit in transit"},
    )
    result = match(lines, postings)
    assert as_set(result) == {((1,), (11,), 2)}
    assert result.unmatched_posting_ids.tolist() == [12]
    assert result.unmatched_line_ids.tolist() == []


def test_dates_a_few_days_apart_still_match_within_the_window() -> None:
    lines = lines_frame(
        {"line_id": 1, "date": day(4), "amount_minor": 7_000, "counterparty": "Union A"},
        {"line_id": 2, "date": day(0), "amount_minor": 8_000, "counterparty": "Union B"},
    )
    postings = postings_frame(
        {"posting_id": 11, "date": day(0), "amount_minor": 7_000, "text": "Union A"},
        {"posting_id": 12, "date": day(6), "amount_minor": 8_000, "text": "Union B"},
    )
    result = match(lines, postings)
    assert as_set(result) == {((1,), (11,), 2)}
    assert result.unmatched_line_ids.tolist() == [2]  # 6 days apart: outside the window
    wider = match(lines, postings, MatchConfig(date_window_days=7, group_date_window_days=7))
    assert as_set(wider) == {((1,), (11,), 2), ((2,), (12,), 2)}


def test_two_identical_amounts_on_one_day_are_told_apart_by_their_text() -> None:
    lines = lines_frame(
        {"line_id": 1, "date": day(0), "amount_minor": 4_800_000, "counterparty": "SYNDICAT NORD",
         "reference": "COTIS NORD 2024"},
        {"line_id": 2, "date": day(0), "amount_minor": 4_800_000, "counterparty": "UNION SUD",
         "reference": "SOLIDARITE SUD"},
    )
    postings = postings_frame(
        {"posting_id": 11, "date": day(0), "amount_minor": 4_800_000, "text": "Union Sud",
         "reference": "Solidarité sud"},
        {"posting_id": 12, "date": day(0), "amount_minor": 4_800_000, "text": "Syndicat Nord",
         "reference": "cotis. nord"},
    )
    result = match(lines, postings)
    assert {(m.line_ids, m.posting_ids) for m in result.matches} == {((1,), (12,)), ((2,), (11,))}


def test_two_indistinguishable_pairs_are_left_for_a_person() -> None:
    lines = lines_frame(
        {"line_id": 1, "date": day(0), "amount_minor": 4_800_000, "counterparty": "UNION"},
        {"line_id": 2, "date": day(0), "amount_minor": 4_800_000, "counterparty": "UNION"},
    )
    postings = postings_frame(
        {"posting_id": 11, "date": day(0), "amount_minor": 4_800_000, "text": "Union"},
        {"posting_id": 12, "date": day(0), "amount_minor": 4_800_000, "text": "Union"},
    )
    result = match(lines, postings)
    assert result.matches == []
    assert {a.reason for a in result.ambiguous} == {AMBIGUOUS_TIE}
    assert {a.line_ids for a in result.ambiguous} == {(1,), (2,)}
    assert all(a.posting_ids == (11, 12) for a in result.ambiguous)
    assert result.unmatched_line_ids.size == 0 and result.unmatched_posting_ids.size == 0


def test_a_closer_date_breaks_a_tie_between_equal_texts() -> None:
    lines = lines_frame({"line_id": 1, "date": day(2), "amount_minor": 1_000, "counterparty": "X"})
    postings = postings_frame(
        {"posting_id": 11, "date": day(0), "amount_minor": 1_000, "text": "X"},
        {"posting_id": 12, "date": day(2), "amount_minor": 1_000, "text": "X"},
    )
    assert as_set(match(lines, postings)) == {((1,), (12,), 2)}


def test_a_batch_payment_matches_the_three_postings_it_pays() -> None:
    lines = lines_frame(
        {"line_id": 1, "date": day(1), "amount_minor": -300_000, "text": "BATCH 0042"})
    postings = postings_frame(
        {"posting_id": 11, "date": day(0), "amount_minor": -100_000, "text": "Mutual A"},
        {"posting_id": 12, "date": day(0), "amount_minor": -150_000, "text": "Mutual B"},
        {"posting_id": 13, "date": day(0), "amount_minor": -50_000, "text": "Mutual C"},
        {"posting_id": 14, "date": day(0), "amount_minor": -70_000, "text": "unrelated"},
    )
    result = match(lines, postings)
    assert as_set(result) == {((1,), (11, 12, 13), 3)}
    assert result.matches[0].reason == "sum_of_postings"
    assert result.unmatched_posting_ids.tolist() == [14]


def test_a_transfer_and_its_fee_match_one_bank_line() -> None:
    # an incoming transfer of 1,000.00 from which the bank kept 15.00
    lines = lines_frame({"line_id": 1, "date": day(3), "amount_minor": 98_500})
    postings = postings_frame(
        {"posting_id": 11, "date": day(2), "amount_minor": 100_000, "text": "Contribution CSQ"},
        {"posting_id": 12, "date": day(3), "amount_minor": -1_500, "text": "Bank fees"},
    )
    assert as_set(match(lines, postings)) == {((1,), (11, 12), 3)}


def test_several_lines_can_match_one_posting() -> None:
    lines = lines_frame(
        {"line_id": 1, "date": day(0), "amount_minor": 60_000},
        {"line_id": 2, "date": day(1), "amount_minor": 40_000},
    )
    postings = postings_frame({"posting_id": 11, "date": day(1), "amount_minor": 100_000})
    result = match(lines, postings)
    assert as_set(result) == {((1, 2), (11,), 3)}
    assert result.matches[0].reason == "sum_of_lines"


def test_two_equally_good_groups_are_left_for_a_person() -> None:
    lines = lines_frame({"line_id": 1, "date": day(0), "amount_minor": 200})
    postings = postings_frame(
        {"posting_id": 11, "date": day(0), "amount_minor": 100},
        {"posting_id": 12, "date": day(0), "amount_minor": 100},
        {"posting_id": 13, "date": day(0), "amount_minor": 100},
    )
    result = match(lines, postings)
    assert result.matches == []
    assert [(a.line_ids, a.posting_ids, a.reason) for a in result.ambiguous] == [
        ((1,), (11, 12, 13), AMBIGUOUS_SUBSETS)
    ]


def test_amounts_in_different_currencies_never_match() -> None:
    lines = lines_frame({"line_id": 1, "date": day(0), "amount_minor": 1_000, "currency": "EUR"})
    postings = postings_frame(
        {"posting_id": 11, "date": day(0), "amount_minor": 1_000, "currency": "CAD"})
    result = match(lines, postings)
    assert result.matches == []


def test_a_crowd_of_identical_contributions_is_resolved_by_counterparty_or_left_alone() -> None:
    n = 60
    names = [f"TEACHERS UNION OF REGION {chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(n)]
    lines = pd.DataFrame({
        "line_id": np.arange(n, dtype=np.int64), "date": pd.Timestamp("2024-03-01"),
        "amount_minor": np.full(n, 4_800_000, dtype=np.int64), "currency": "EUR",
        "bank_transaction_id": "", "reference": "", "counterparty": names, "text": "",
    })
    postings = pd.DataFrame({
        "posting_id": np.arange(n, dtype=np.int64) + 1000, "entry_id": np.arange(n),
        "date": pd.Timestamp("2024-03-02"), "amount_minor": np.full(n, 4_800_000, dtype=np.int64),
        "currency": "EUR", "bank_ref": "", "reference": "",
        "text": [f"Contribution {x}" for x in reversed(names)],
    })
    result = match(lines, postings)
    for m in result.matches:
        assert m.posting_ids[0] - 1000 == n - 1 - m.line_ids[0]  # never a wrong pair
    assert len(result.matches) >= n // 2


def test_a_rerun_on_what_is_left_never_matches_a_row_twice() -> None:
    lines = lines_frame(
        {"line_id": 1, "date": day(0), "amount_minor": 1_000, "counterparty": "A"},
        {"line_id": 2, "date": day(0), "amount_minor": 2_000, "counterparty": "B"},
    )
    postings = postings_frame(
        {"posting_id": 11, "date": day(0), "amount_minor": 1_000, "text": "A"},
        {"posting_id": 12, "date": day(0), "amount_minor": 2_000, "text": "B"},
    )
    manual = [((1,), (12,))]  # a person matched these by hand, against the odds
    rest_lines, rest_postings = exclude_matched(lines, postings, manual)
    result = match(rest_lines, rest_postings)
    assert result.matches == []
    assert result.unmatched_line_ids.tolist() == [2]
    assert result.unmatched_posting_ids.tolist() == [11]


def test_empty_inputs_give_an_empty_result() -> None:
    result = match(lines_frame(), postings_frame())
    assert result.matches == [] and result.ambiguous == []
    only_lines = match(lines_frame({"line_id": 1, "date": day(0), "amount_minor": 5}),
                       postings_frame())
    assert only_lines.unmatched_line_ids.tolist() == [1]


def test_amounts_given_as_floats_are_refused() -> None:
    lines = lines_frame({"line_id": 1, "date": day(0), "amount_minor": 5})
    lines["amount_minor"] = lines["amount_minor"].astype(float)
    with pytest.raises(MatchInputError, match="amount_minor"):
        match(lines, postings_frame())


def test_duplicate_line_ids_are_refused() -> None:
    lines = lines_frame({"line_id": 1, "date": day(0), "amount_minor": 5},
                        {"line_id": 1, "date": day(0), "amount_minor": 6})
    with pytest.raises(MatchInputError, match="unique"):
        match(lines, postings_frame())


def test_the_result_frames_and_match_values_agree() -> None:
    lines = lines_frame({"line_id": 1, "date": day(0), "amount_minor": 300},
                        {"line_id": 2, "date": day(0), "amount_minor": 50})
    postings = postings_frame({"posting_id": 11, "date": day(0), "amount_minor": 100},
                              {"posting_id": 12, "date": day(0), "amount_minor": 200},
                              {"posting_id": 13, "date": day(0), "amount_minor": 50})
    result = match(lines, postings)
    assert result.matches == [Match((2,), (13,), 2, result.matches[0].score, "amount_date_text"),
                               Match((1,), (11, 12), 3, 100, "sum_of_postings")]
    assert list(result.match_frame.columns) == ["match_no", "stage", "score", "reason"]
    assert sorted(result.match_lines["line_id"]) == [1, 2]
    assert sorted(result.match_postings["posting_id"]) == [11, 12, 13]
    assert result.stage_counts() == {2: 1, 3: 1}
