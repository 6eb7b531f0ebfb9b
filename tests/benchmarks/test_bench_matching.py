"""Benchmarks of the reconciliation matching engine (issue targets on a 2-core machine).

100,000 statement lines x 100,000 postings <= 2 s, 1,000,000 x 1,000,000 <= 20 s,
peak memory <= 2 GiB.  Data: one account, amounts in int64 minor units, 30 % of
them drawn from a few hundred round amounts (crowds of equal contributions),
5 % of dates shifted by 1-3 days, 5 % of references with a typo or missing,
half of the other postings carrying the treasurer's own reference (stage 2 work),
1 % batch payments (one line = 2-3 postings), 1 % transfers netted with their
fee, 0.5 % bank-only lines and 0.5 % postings in transit.

Run:  .venv/bin/pytest tests/benchmarks/test_bench_matching.py --benchmark-only
Or, for time and peak RSS of one size in a fresh process:
      .venv/bin/python tests/benchmarks/test_bench_matching.py 1000000
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ledger.matching import MatchResult, match

GIB = 1 << 30
_SLACK = float(os.environ.get("SOLIDARITY_BENCH_SLACK", "1"))  # float-ok: a time factor

_WORDS = np.array(
    ["union", "teachers", "federation", "education", "workers", "syndicat", "enseignants", "national", "alliance", "association", "lycee", "primary", "secondary", "college", "mutual", "society", "health", "north", "south", "east", "west", "quebec", "ontario", "victoria", "sweden", "france", "canada"],
    dtype=object,
)


def _choice_strings(rng: np.random.Generator, n: int, prefix: str, digits: int) -> np.ndarray:
    nums = rng.integers(0, 10**digits, n)
    return np.array([f"{prefix}{x:0{digits}d}" for x in nums.tolist()], dtype=object)


def _typo(rng: np.random.Generator, refs: np.ndarray) -> np.ndarray:
    out = refs.copy()
    pos = rng.integers(0, 10, len(refs))
    kind = rng.integers(0, 3, len(refs))
    for i, (r, p, k) in enumerate(zip(refs.tolist(), pos.tolist(), kind.tolist())):
        if k == 0:
            out[i] = ""  # reference lost on the way
        elif k == 1:
            out[i] = r[:p] + "X" + r[p + 1:]  # one wrong character
        else:
            out[i] = r[:p] + r[p + 1:]  # one character dropped
    return out


def make_benchmark_data(n: int, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Synthetic account with ``n`` statement lines and about ``n`` postings, plus the truth.

    The truth links each line id to the posting ids it should match.
    """
    rng = np.random.default_rng(seed)
    span = max(365, n // 900)
    day0 = np.datetime64("2022-01-01", "D")
    days = rng.integers(0, span, n)
    names = np.array(
        [
            f"{a} {b} {c} {i}".upper()
            for i, (a, b, c) in enumerate(
                zip(rng.choice(_WORDS, 5000), rng.choice(_WORDS, 5000), rng.choice(_WORDS, 5000))
            )
        ],
        dtype=object,
    )
    counterparty = names[rng.integers(0, len(names), n)]
    common = rng.integers(1, 500, 300) * 1000  # round amounts many unions send
    amount = np.where(
        rng.random(n) < 0.30,
        common[rng.integers(0, len(common), n)],
        rng.integers(100, 10_000_000, n),
    ).astype(np.int64)
    amount *= np.where(rng.random(n) < 0.35, -1, 1)
    btid = np.array([f"BK{i:010d}" for i in range(n)], dtype=object)
    ref = _choice_strings(rng, n, "RF", 14)
    line_text = np.array([f"SEPA TRANSFER {r}" for r in ref.tolist()], dtype=object)

    role = rng.random(n)
    is_batch = role < 0.01
    is_fee = (role >= 0.01) & (role < 0.02)
    bank_only = (role >= 0.02) & (role < 0.025)
    plain = role >= 0.025

    # 1:1 postings
    idx = np.flatnonzero(plain)
    shift = np.where(rng.random(len(idx)) < 0.05, rng.integers(1, 4, len(idx)), 0)
    shift *= np.where(rng.random(len(idx)) < 0.5, -1, 1)
    p_ref = ref[idx].copy()
    noisy = rng.random(len(idx)) < 0.05
    p_ref[noisy] = _typo(rng, p_ref[noisy])
    p_bank_ref = np.where(rng.random(len(idx)) < 0.20, btid[idx], "")
    # half the treasurers type their own reference instead of the bank's: those
    # postings can only be found by amount, date and counterparty (stage 2)
    own = (rng.random(len(idx)) < 0.5) & (p_bank_ref == "")
    p_ref[own] = _choice_strings(rng, int(own.sum()), "COT", 9)
    parts = [
        pd.DataFrame(
            {
                "line": idx,
                "day": days[idx] + shift,
                "amount_minor": amount[idx],
                "bank_ref": p_bank_ref,
                "reference": p_ref,
                "text": [f"Contribution {c}" for c in counterparty[idx].tolist()],
            }
        )
    ]
    # batch payments: one line, 2-3 postings of the same day
    for k in (2, 3):
        b_idx = np.flatnonzero(is_batch & (np.arange(n) % 2 == k - 2))
        whole = np.abs(amount[b_idx])
        cuts = np.sort(rng.integers(1, whole[:, None], (len(b_idx), k - 1)), axis=1)
        pieces = np.diff(np.concatenate([np.zeros((len(b_idx), 1), np.int64), cuts,
                                         whole[:, None]], axis=1), axis=1)
        pieces = pieces * np.sign(amount[b_idx])[:, None]
        parts.append(
            pd.DataFrame(
                {
                    "line": np.repeat(b_idx, k),
                    "day": np.repeat(days[b_idx], k),
                    "amount_minor": pieces.reshape(-1).astype(np.int64),
                    "bank_ref": "",
                    "reference": "",
                    "text": [f"Batch part {c}" for c in np.repeat(counterparty[b_idx], k).tolist()],
                }
            )
        )
    # transfer netted with its fee: the line is gross + fee, two postings
    fee_idx = np.flatnonzero(is_fee)
    fees = -rng.integers(100, 3000, len(fee_idx))
    parts.append(
        pd.DataFrame(
            {
                "line": fee_idx,
                "day": days[fee_idx],
                "amount_minor": amount[fee_idx] - fees,
                "bank_ref": "",
                "reference": ref[fee_idx],
                "text": [f"Transfer {c}" for c in counterparty[fee_idx].tolist()],
            }
        )
    )
    parts.append(
        pd.DataFrame(
            {
                "line": fee_idx,
                "day": days[fee_idx],
                "amount_minor": fees,
                "bank_ref": "",
                "reference": "",
                "text": "Bank fee",
            }
        )
    )
    # postings in transit: no line
    n_transit = max(1, n // 200)
    parts.append(
        pd.DataFrame(
            {
                "line": -1,
                "day": rng.integers(0, span, n_transit),
                "amount_minor": rng.integers(100, 10_000_000, n_transit),
                "bank_ref": "",
                "reference": _choice_strings(rng, n_transit, "TR", 12),
                "text": "Transfer in transit",
            }
        )
    )
    post = pd.concat(parts, ignore_index=True)
    post = post.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    post["posting_id"] = np.arange(1, len(post) + 1, dtype=np.int64) + 10_000_000
    post["entry_id"] = post["posting_id"]
    post["date"] = day0 + post["day"].to_numpy().astype("timedelta64[D]")
    post["currency"] = "EUR"
    post["amount_minor"] = post["amount_minor"].astype(np.int64)

    line_ids = np.arange(1, n + 1, dtype=np.int64)
    lines = pd.DataFrame(
        {
            "line_id": line_ids,
            "date": day0 + days.astype("timedelta64[D]"),
            "amount_minor": amount,
            "currency": "EUR",
            "bank_transaction_id": btid,
            "reference": ref,
            "counterparty": counterparty,
            "text": line_text,
        }
    )
    linked = post["line"].to_numpy() >= 0
    truth = pd.DataFrame(
        {
            "line_id": line_ids[post["line"].to_numpy()[linked]],
            "posting_id": post["posting_id"].to_numpy()[linked],
        }
    )
    del bank_only  # bank-only lines simply have no posting
    postings = post[list(_POSTING_COLS)]
    return lines, postings, truth


_POSTING_COLS = (
    "posting_id", "entry_id", "date", "amount_minor", "currency", "bank_ref", "reference", "text",
)


def accuracy(result: MatchResult, truth: pd.DataFrame) -> tuple[float, float]:
    """Precision (matches that are exactly right) and recall (true links found).

    Ratios, not money (float-ok).
    """
    ml = result.match_lines
    mp = result.match_postings
    single = ml.groupby("match_no")["line_id"].transform("size") == 1
    ml = ml[single.to_numpy()]
    per_line = truth.groupby("line_id")["posting_id"].size().rename("want")
    got = mp.merge(ml, on="match_no").merge(truth, on=["line_id", "posting_id"], how="left",
                                            indicator=True)
    got["ok"] = got["_merge"] == "both"
    by_match = got.groupby(["match_no", "line_id"]).agg(n=("ok", "size"), ok=("ok", "sum"))
    by_match = by_match.reset_index().merge(per_line, left_on="line_id", right_index=True)
    right = int(((by_match["ok"] == by_match["n"]) & (by_match["n"] == by_match["want"])).sum())
    total = len(result.match_frame)
    precision = right / total if total else 1.0
    recall = right / len(per_line) if len(per_line) else 1.0
    return precision, recall


def _run_in_fresh_process(n: int) -> dict:
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), str(n)],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("n, seconds", [(100_000, 2.0), (1_000_000, 20.0)])
def test_matching_meets_the_time_and_memory_targets(benchmark, n: int, seconds: float) -> None:
    lines, postings, truth = make_benchmark_data(n)
    result = benchmark.pedantic(match, args=(lines, postings), rounds=1 if n > 100_000 else 3,
                                iterations=1)
    precision, recall = accuracy(result, truth)
    stats = _run_in_fresh_process(n)
    benchmark.extra_info.update(stats)
    benchmark.extra_info.update({"precision": precision, "recall": recall})
    assert precision > 0.99
    assert recall > 0.95
    assert stats["match_seconds"] <= seconds * _SLACK
    assert stats["peak_rss_bytes"] <= 2 * GIB


def main(n: int) -> dict:
    """Generate ``n`` x ``n``, match once, return timings and peak memory."""
    t0 = time.perf_counter()
    lines, postings, truth = make_benchmark_data(n)
    gen = time.perf_counter() - t0
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    t1 = time.perf_counter()
    result = match(lines, postings)
    took = time.perf_counter() - t1
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    precision, recall = accuracy(result, truth)
    return {
        "n_lines": len(lines),
        "n_postings": len(postings),
        "generate_seconds": round(gen, 2),
        "match_seconds": round(took, 3),
        "rss_after_generation_bytes": rss_before,
        "peak_rss_bytes": peak,
        "matches_by_stage": result.stage_counts(),
        "ambiguous": len(result.ambiguous),
        "unmatched_lines": len(result.unmatched_line_ids),
        "unmatched_postings": len(result.unmatched_posting_ids),
        "precision": round(precision, 5),
        "recall": round(recall, 5),
    }


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)))
