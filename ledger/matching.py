"""Reconciliation matching engine: bank statement lines against ledger postings.

Pure and database-free.  The caller (the reconciliation service) loads the
*still unmatched* lines and postings of one account into two DataFrames,
calls :func:`match`, and stores what comes back.  Nothing here imports the
database, ``imports``, ``rules`` or ``reports``.

Money is ``int64`` minor units throughout; the only floats are similarity
scores, which are not money.

Stages, most certain first (each stage only sees what earlier ones left):

1. **exact keys** -- the bank transaction id or a reference of a line equals
   the ``bank_ref`` or ``reference`` of a posting.  A key shared by one line and
   several postings (or the reverse) matches as a group when the sums agree.
   A key match whose amounts differ is not matched; if the line is still
   unmatched at the end it is reported as ambiguous (``key_amount_differs``).
2. **amount + date window + text** -- same currency and amount, dates at most
   ``date_window_days`` apart, ranked by similarity of reference and
   counterparty/text and by date closeness; assignment is one-to-one by
   rounds of *mutual best choice*; a line or posting whose best candidates
   are tied (within ``tie_margin``) is left for a person.
3. **groups** -- a line equal to the sum of 2..``max_group_size`` postings
   (a batch payment; a transfer and its fee), then the reverse (several lines
   equal to one posting), same currency, dates within
   ``group_date_window_days``.  Groups of two: the first member is one of the
   ``4 * max_group_candidates`` nearest-dated rows and the second is looked up
   exactly by the missing amount.  Groups of three or more: every combination
   of the ``max_group_candidates`` nearest-dated rows (C(12, 4) = 495 at most).
   The smallest group wins, then the closest dates; two equal winners are
   left for a person (``several_subsets``).
4. Posting rules live in :mod:`ledger.posting_rules` (the service applies them
   to what this module leaves unmatched).
5. Everything else is returned as unmatched, or as ambiguous with its
   candidates, for a person to decide.

Bounding the work (so 10^6 x 10^6 runs in seconds and bounded memory):
candidate pairs of stage 2 come from *blocking*: rows are grouped by
(currency, amount), sorted by date, and each row takes at most
``max_candidates`` nearest-dated partners in its block, from both sides.
Many identical amounts (a thousand contributions of exactly 48,000.00)
therefore cost ``O(rows x max_candidates)`` instead of ``O(rows^2)``.  A line
whose block was cut (*crowded*) also gets partners sharing the first or last
six characters of its reference (a typo spoils one end only) and, if still
unmatched, a second look comparing its text with the whole free block (at
most ``crowd_budget`` comparisons); in a crowd a pair is taken only with
real textual evidence (``crowd_min_similarity``), never for being the best
of an arbitrary few.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process
from rapidfuzz.utils import default_process

__all__ = [
    "LINE_COLUMNS",
    "POSTING_COLUMNS",
    "Ambiguity",
    "Match",
    "MatchConfig",
    "MatchInputError",
    "MatchResult",
    "exclude_matched",
    "match",
]

#: Columns :func:`match` reads from the statement-lines frame.
LINE_COLUMNS: tuple[str, ...] = (
    "line_id",
    "date",
    "amount_minor",
    "currency",
    "bank_transaction_id",
    "reference",
    "counterparty",
    "text",
)
#: Columns :func:`match` reads from the postings frame (``counterparty`` is optional).
POSTING_COLUMNS: tuple[str, ...] = (
    "posting_id",
    "entry_id",
    "date",
    "amount_minor",
    "currency",
    "bank_ref",
    "reference",
    "text",
)

# Reason codes: stable identifiers the reports translate (en/fr/es).
REASON_KEY = "exact_key"
REASON_KEY_GROUP = "exact_key_group"
REASON_AMOUNT_DATE_TEXT = "amount_date_text"
REASON_SUM_OF_POSTINGS = "sum_of_postings"
REASON_SUM_OF_LINES = "sum_of_lines"
AMBIGUOUS_KEY_AMOUNT = "key_amount_differs"
AMBIGUOUS_TIE = "tie"
AMBIGUOUS_SUBSETS = "several_subsets"

_DAY_SPAN = 1 << 22  # room for the day offset inside a packed (block, day) sort key
_EMPTY_IDS = np.empty(0, dtype=np.int64)


class MatchInputError(ValueError):
    """The lines or postings frame does not follow the documented contract."""


@dataclass(frozen=True)
class MatchConfig:
    """Tuning of the matching stages; the defaults suit a treasurer's bank account.

    Scores are similarity measures from 0 to 100 (floats are fine here: they
    are not money).
    """

    #: stage 2: largest |line date - posting date| in days
    date_window_days: int = 5
    #: stage 2: candidates kept per row and per block (nearest dates first)
    max_candidates: int = 8
    #: stage 2: pairs scoring below this are not matched (0: amount + date suffice)
    min_score: float = 0.0
    #: stage 2: in a crowd (more equal amounts in the window than max_candidates) a
    #: pair needs a reference or counterparty/text similarity at least this high
    crowd_min_similarity: float = 75.0
    #: stage 2: text comparisons allowed for the second look at crowded lines
    crowd_budget: int = 20_000_000
    #: stage 2: two candidates closer than this are a tie, left for a person
    tie_margin: float = 1.0
    #: stage 2 score weights (reference similarity, counterparty/text similarity, date)
    weight_reference: float = 45.0
    weight_text: float = 40.0
    weight_date: float = 15.0
    #: stage 3: largest number of postings (or lines) summed into one match
    max_group_size: int = 4
    #: stage 3: largest |date difference| between a row and the members of its group
    group_date_window_days: int = 5
    #: stage 3: nearest-dated candidates combined per row for groups of 3+ (bounds
    #: C(n, k)); groups of two look the second member up by amount instead
    max_group_candidates: int = 12
    #: stage 1: shorter keys (after normalisation) are too common to be identifiers
    min_key_length: int = 4
    #: rapidfuzz worker threads (-1: all cores)
    workers: int = -1

    def __post_init__(self) -> None:
        if self.date_window_days < 0 or self.group_date_window_days < 0:
            raise ValueError("date windows must be zero or more days")
        if self.date_window_days >= _DAY_SPAN // 4 or self.group_date_window_days >= _DAY_SPAN // 4:
            raise ValueError("date window too large")
        if self.max_candidates < 1:
            raise ValueError("max_candidates must be at least 1")
        if not 2 <= self.max_group_size <= 6:
            raise ValueError("max_group_size must be between 2 and 6")
        if not self.max_group_size <= self.max_group_candidates <= 20:
            raise ValueError("max_group_candidates must be between max_group_size and 20")
        if self.tie_margin < 0:
            raise ValueError("tie_margin must not be negative")
        if min(self.weight_reference, self.weight_text, self.weight_date) < 0:
            raise ValueError("score weights must not be negative")
        if self.weight_reference + self.weight_text + self.weight_date <= 0:
            raise ValueError("at least one score weight must be positive")


@dataclass(frozen=True, slots=True)
class Match:
    """Lines and postings reconciled together: their amounts sum to the same per currency."""

    line_ids: tuple[int, ...]
    posting_ids: tuple[int, ...]
    stage: int
    score: int  # 0..100, confidence
    reason: str  # a REASON_* code


@dataclass(frozen=True, slots=True)
class Ambiguity:
    """Lines and postings the engine would not decide between; a person must.

    ``reason`` is ``key_amount_differs`` (a key links them but amounts differ),
    ``tie`` (equally good candidates; the ids are the undecided line and its
    candidates, or the reverse) or ``several_subsets`` (more than one group
    sums to the amount).
    """

    line_ids: tuple[int, ...]
    posting_ids: tuple[int, ...]
    stage: int
    reason: str


@dataclass
class MatchResult:
    """What :func:`match` found.

    ``match_frame`` has one row per match (``match_no``, ``stage``, ``score``,
    ``reason``); ``match_lines`` and ``match_postings`` link ``match_no`` to
    ``line_id`` / ``posting_id`` -- ready for bulk inserts.  ``matches`` gives
    the same as :class:`Match` objects.  Every input line id is in exactly one
    of: a match, an ambiguity, ``unmatched_line_ids`` (postings likewise).
    """

    match_frame: pd.DataFrame
    match_lines: pd.DataFrame
    match_postings: pd.DataFrame
    ambiguous: list[Ambiguity] = field(default_factory=list)
    unmatched_line_ids: np.ndarray = field(default_factory=lambda: _EMPTY_IDS)
    unmatched_posting_ids: np.ndarray = field(default_factory=lambda: _EMPTY_IDS)

    @cached_property
    def matches(self) -> list[Match]:
        """The matches as :class:`Match` values, in ``match_no`` order."""
        return list(self.iter_matches())

    def iter_matches(self) -> Iterator[Match]:
        """Yield each match as a :class:`Match` (lazily; cheaper than ``matches`` at scale)."""
        lines = _group_ids(self.match_lines, "line_id", len(self.match_frame))
        posts = _group_ids(self.match_postings, "posting_id", len(self.match_frame))
        frame = self.match_frame
        for no, stage, score, reason in zip(
            frame["match_no"].tolist(),
            frame["stage"].tolist(),
            frame["score"].tolist(),
            frame["reason"].tolist(),
        ):
            yield Match(lines[no], posts[no], int(stage), int(score), str(reason))

    @property
    def matched_line_ids(self) -> np.ndarray:
        """Ids of the lines taking part in a match."""
        return self.match_lines["line_id"].to_numpy(dtype=np.int64)

    @property
    def matched_posting_ids(self) -> np.ndarray:
        """Ids of the postings taking part in a match."""
        return self.match_postings["posting_id"].to_numpy(dtype=np.int64)

    def stage_counts(self) -> dict[int, int]:
        """Number of matches found by each stage."""
        counts = self.match_frame["stage"].value_counts()
        return {int(k): int(v) for k, v in sorted(counts.items())}


def _group_ids(frame: pd.DataFrame, column: str, n: int) -> list[tuple[int, ...]]:
    out: list[list[int]] = [[] for _ in range(n)]
    for no, ident in zip(frame["match_no"].tolist(), frame[column].tolist()):
        out[no].append(ident)
    return [tuple(sorted(ids)) for ids in out]


# --------------------------------------------------------------------------
# input preparation


@dataclass
class _Side:
    """One side (lines or postings) as plain arrays, indexed 0..n-1."""

    ids: np.ndarray  # int64
    day: np.ndarray  # int64 days since the epoch
    amount: np.ndarray  # int64 minor units
    cur: np.ndarray  # int64 currency code, shared by both sides
    keys: list[np.ndarray]  # normalised exact keys (object arrays of str, '' = none)
    ref: np.ndarray  # normalised reference (for similarity and blocking)
    doc_columns: list[np.ndarray]  # counterparty and text, raw
    _docs: np.ndarray | None = None

    def docs(self, rows: np.ndarray) -> np.ndarray:
        """Processed counterparty + text of ``rows``, for similarity.

        Computed on first use and only for rows that reach stage 2: at scale most
        rows are settled by their keys and never need it.
        """
        if self._docs is None:
            self._docs = np.full(len(self.ids), None, dtype=object)
        todo = pd.unique(rows)
        todo = todo[pd.isna(self._docs[todo])]
        if len(todo):
            self._docs[todo] = _docs(*(c[todo] for c in self.doc_columns))
        return self._docs[rows]


def _text_column(df: pd.DataFrame, name: str, required: bool = True) -> np.ndarray:
    if name not in df.columns:
        if required:
            raise MatchInputError(f"missing column {name!r}")
        return np.full(len(df), "", dtype=object)
    col = df[name]
    if col.dtype != object or col.isna().any():
        col = col.astype(object).where(col.notna(), "")
    return np.asarray(col.to_numpy(dtype=object), dtype=object)


def _norm_keys(values: np.ndarray) -> np.ndarray:
    # Keys compare case-, space- and punctuation-blind: banks and treasurers
    # write 'RF18 5390 0754' and 'rf1853900754' for the same reference.
    return np.array(
        [default_process(v).replace(" ", "") if v else "" for v in values.tolist()],
        dtype=object,
    )


def _docs(*columns: np.ndarray) -> np.ndarray:
    if len(columns) == 1:
        joined = columns[0].tolist()
    else:
        joined = [" ".join(parts) for parts in zip(*(c.tolist() for c in columns))]
    return np.array([default_process(v) if v else "" for v in joined], dtype=object)


def _days(df: pd.DataFrame, side: str) -> np.ndarray:
    if "date" not in df.columns:
        raise MatchInputError(f"{side}: missing column 'date'")
    col = df["date"]
    try:
        values = col if pd.api.types.is_datetime64_any_dtype(col) else pd.to_datetime(col)
    except (ValueError, TypeError) as exc:
        raise MatchInputError(f"{side}: column 'date' holds something that is not a date") from exc
    if values.isna().any():
        raise MatchInputError(f"{side}: column 'date' has empty values")
    arr = values.to_numpy()
    if getattr(arr.dtype, "tz", None) is not None:  # pragma: no cover - tz-aware input
        arr = values.dt.tz_localize(None).to_numpy()
    return arr.astype("datetime64[D]").astype(np.int64)


def _int_column(df: pd.DataFrame, name: str, side: str) -> np.ndarray:
    if name not in df.columns:
        raise MatchInputError(f"{side}: missing column {name!r}")
    col = df[name]
    if not pd.api.types.is_integer_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype):
        # Money never travels as float; an object or float column is a caller bug.
        raise MatchInputError(f"{side}: column {name!r} must be integers, not {col.dtype}")
    if col.isna().any():
        raise MatchInputError(f"{side}: column {name!r} has empty values")
    return col.to_numpy(dtype=np.int64)


def _prepare(
    lines: pd.DataFrame, postings: pd.DataFrame
) -> tuple[_Side, _Side]:
    for df, side, cols in ((lines, "lines", LINE_COLUMNS), (postings, "postings", POSTING_COLUMNS)):
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise MatchInputError(f"{side}: missing column(s) {', '.join(missing)}")
    l_ids = _int_column(lines, "line_id", "lines")
    p_ids = _int_column(postings, "posting_id", "postings")
    if not pd.Index(l_ids).is_unique:
        raise MatchInputError("lines: line_id values must be unique")
    if not pd.Index(p_ids).is_unique:
        raise MatchInputError("postings: posting_id values must be unique")
    raw_codes, raw_uniques = pd.factorize(
        np.concatenate([_text_column(lines, "currency"), _text_column(postings, "currency")])
    )
    # ' eur' and 'EUR' are one currency; normalise the few distinct values only
    norm_codes, _ = pd.factorize(np.array([str(u).strip().upper() for u in raw_uniques]))
    cur_codes = norm_codes.astype(np.int64)[raw_codes]
    l_ref_raw = _text_column(lines, "reference")
    p_ref_raw = _text_column(postings, "reference")
    l_ref = _norm_keys(l_ref_raw)
    p_ref = _norm_keys(p_ref_raw)
    l_side = _Side(
        ids=l_ids,
        day=_days(lines, "lines"),
        amount=_int_column(lines, "amount_minor", "lines"),
        cur=cur_codes[: len(lines)],
        keys=[_norm_keys(_text_column(lines, "bank_transaction_id")), l_ref],
        ref=l_ref,
        doc_columns=[_text_column(lines, "counterparty"), _text_column(lines, "text")],
    )
    p_doc_cols = [_text_column(postings, "text")]
    if "counterparty" in postings.columns:
        p_doc_cols.insert(0, _text_column(postings, "counterparty", required=False))
    p_side = _Side(
        ids=p_ids,
        day=_days(postings, "postings"),
        amount=_int_column(postings, "amount_minor", "postings"),
        cur=cur_codes[len(lines):],
        keys=[_norm_keys(_text_column(postings, "bank_ref")), p_ref],
        ref=p_ref,
        doc_columns=p_doc_cols,
    )
    return l_side, p_side


# --------------------------------------------------------------------------
# the result being built


class _Builder:
    """Collects matches and ambiguities as index arrays, then makes the result."""

    def __init__(self, lines: _Side, posts: _Side) -> None:
        self.lines = lines
        self.posts = posts
        self.line_free = np.ones(len(lines.ids), dtype=bool)
        self.post_free = np.ones(len(posts.ids), dtype=bool)
        # flat link arrays: match number per member
        self._m_stage: list[np.ndarray] = []
        self._m_score: list[np.ndarray] = []
        self._m_reason: list[np.ndarray] = []
        self._ml_no: list[np.ndarray] = []
        self._ml_idx: list[np.ndarray] = []
        self._mp_no: list[np.ndarray] = []
        self._mp_idx: list[np.ndarray] = []
        self._n = 0
        # groups arrive one by one (stage 3); they are buffered as plain lists
        self._pending: list[tuple[Sequence[int], Sequence[int], int, int, str]] = []
        self.ambiguous: list[tuple[np.ndarray, np.ndarray, int, str]] = []
        self.hints: list[tuple[np.ndarray, np.ndarray, int, str]] = []

    def add_pairs(self, li: np.ndarray, pi: np.ndarray, stage: int, score: np.ndarray,
                  reason: str) -> None:
        """Record one-to-one matches (vectorised)."""
        n = len(li)
        if not n:
            return
        self._flush()
        nos = np.arange(self._n, self._n + n, dtype=np.int64)
        self._append(nos, stage, score, reason)
        self._ml_no.append(nos)
        self._ml_idx.append(li.astype(np.int64))
        self._mp_no.append(nos)
        self._mp_idx.append(pi.astype(np.int64))
        self.line_free[li] = False
        self.post_free[pi] = False

    def add_group(self, li: Sequence[int], pi: Sequence[int], stage: int, score: int,
                  reason: str) -> None:
        """Record one match with several lines and/or postings."""
        self._pending.append((li, pi, stage, score, reason))
        for i in li:
            self.line_free[i] = False
        for i in pi:
            self.post_free[i] = False

    def _flush(self) -> None:
        if not self._pending:
            return
        groups, self._pending = self._pending, []
        nos = np.arange(self._n, self._n + len(groups), dtype=np.int64)
        self._m_stage.append(np.array([g[2] for g in groups], dtype=np.int8))
        self._m_score.append(np.clip([g[3] for g in groups], 0, 100).astype(np.int16))
        self._m_reason.append(np.array([g[4] for g in groups], dtype=object))
        self._n += len(groups)
        self._ml_no.append(np.repeat(nos, [len(g[0]) for g in groups]))
        self._ml_idx.append(np.fromiter((i for g in groups for i in g[0]), dtype=np.int64))
        self._mp_no.append(np.repeat(nos, [len(g[1]) for g in groups]))
        self._mp_idx.append(np.fromiter((i for g in groups for i in g[1]), dtype=np.int64))

    def _append(self, nos: np.ndarray, stage: int, score: np.ndarray, reason: str) -> None:
        n = len(nos)
        self._m_stage.append(np.full(n, stage, dtype=np.int8))
        self._m_score.append(np.clip(np.rint(score), 0, 100).astype(np.int16))
        self._m_reason.append(np.full(n, reason, dtype=object))
        self._n += n

    def withhold(self, li: Iterable[int], pi: Iterable[int], stage: int, reason: str,
                 subject_lines: Iterable[int] = (), subject_posts: Iterable[int] = ()) -> None:
        """Record an ambiguity and keep its subject rows out of later stages."""
        li_a = np.asarray(sorted(set(li)), dtype=np.int64)
        pi_a = np.asarray(sorted(set(pi)), dtype=np.int64)
        self.ambiguous.append((li_a, pi_a, stage, reason))
        self.line_free[list(subject_lines)] = False
        self.post_free[list(subject_posts)] = False

    def result(self) -> MatchResult:
        self._flush()
        lines, posts = self.lines, self.posts
        cat = _cat_or_empty
        match_frame = pd.DataFrame(
            {
                "match_no": np.arange(self._n, dtype=np.int64),
                "stage": cat(self._m_stage, np.int8),
                "score": cat(self._m_score, np.int16),
                "reason": cat(self._m_reason, object),
            }
        )
        ml_idx = cat(self._ml_idx, np.int64)
        mp_idx = cat(self._mp_idx, np.int64)
        match_lines = pd.DataFrame(
            {"match_no": cat(self._ml_no, np.int64), "line_id": lines.ids[ml_idx]}
        )
        match_postings = pd.DataFrame(
            {"match_no": cat(self._mp_no, np.int64), "posting_id": posts.ids[mp_idx]}
        )
        line_matched = np.zeros(len(lines.ids), dtype=bool)
        line_matched[ml_idx] = True
        post_matched = np.zeros(len(posts.ids), dtype=bool)
        post_matched[mp_idx] = True

        # An ambiguity loses members matched by a later stage; one with an empty
        # side is no longer a question.  Key hints only speak for lines no stage
        # matched or questioned.
        ambiguities: list[Ambiguity] = []
        line_amb = np.zeros(len(lines.ids), dtype=bool)
        post_amb = np.zeros(len(posts.ids), dtype=bool)
        for li, pi, stage, reason in self.ambiguous:
            li = li[~line_matched[li]]
            pi = pi[~post_matched[pi]]
            if len(li) and len(pi):
                ambiguities.append(_ambiguity(lines, posts, li, pi, stage, reason))
                line_amb[li] = True
                post_amb[pi] = True
        for li, pi, stage, reason in self.hints:
            li = li[~line_matched[li] & ~line_amb[li]]
            pi = pi[~post_matched[pi]]
            if len(li) and len(pi):
                ambiguities.append(_ambiguity(lines, posts, li, pi, stage, reason))
                line_amb[li] = True
                post_amb[pi] = True
        return MatchResult(
            match_frame=match_frame,
            match_lines=match_lines,
            match_postings=match_postings,
            ambiguous=ambiguities,
            unmatched_line_ids=lines.ids[~line_matched & ~line_amb],
            unmatched_posting_ids=posts.ids[~post_matched & ~post_amb],
        )


def _cat_or_empty(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(parts).astype(dtype) if parts else np.empty(0, dtype=dtype)


def _ambiguity(lines: _Side, posts: _Side, li: np.ndarray, pi: np.ndarray, stage: int,
               reason: str) -> Ambiguity:
    return Ambiguity(
        tuple(sorted(int(i) for i in lines.ids[li])),
        tuple(sorted(int(i) for i in posts.ids[pi])),
        stage,
        reason,
    )


# --------------------------------------------------------------------------
# stage 1: exact keys


def _stage_exact_keys(b: _Builder, cfg: MatchConfig) -> None:
    lines, posts = b.lines, b.posts
    l_idx, l_key = _key_table(lines.keys, cfg.min_key_length)
    p_idx, p_key = _key_table(posts.keys, cfg.min_key_length)
    if not len(l_idx) or not len(p_idx):
        return
    codes, _ = pd.factorize(np.concatenate([l_key, p_key]))
    lk, pk = codes[: len(l_key)], codes[len(l_key):]
    n_keys = int(codes.max()) + 1
    n_l = np.bincount(lk, minlength=n_keys)
    n_p = np.bincount(pk, minlength=n_keys)
    # A key is an identifier only when one side holds it once: shared by
    # several lines *and* several postings it identifies nothing.
    usable = (n_l >= 1) & (n_p >= 1) & ((n_l == 1) | (n_p == 1))
    keep_l = usable[lk]
    keep_p = usable[pk]
    if not keep_l.any():
        return
    edges = pd.merge(
        pd.DataFrame({"k": lk[keep_l], "l": l_idx[keep_l]}),
        pd.DataFrame({"k": pk[keep_p], "p": p_idx[keep_p]}),
        on="k",
    )[["l", "p"]].drop_duplicates()
    el = edges["l"].to_numpy(dtype=np.int64)
    ep = edges["p"].to_numpy(dtype=np.int64)
    deg_l = np.bincount(el, minlength=len(lines.ids))
    deg_p = np.bincount(ep, minlength=len(posts.ids))

    simple = (deg_l[el] == 1) & (deg_p[ep] == 1)
    sl, sp = el[simple], ep[simple]
    same = (lines.amount[sl] == posts.amount[sp]) & (lines.cur[sl] == posts.cur[sp])
    b.add_pairs(sl[same], sp[same], 1, np.full(int(same.sum()), 100), REASON_KEY)
    for li, pi in zip(sl[~same].tolist(), sp[~same].tolist()):
        b.hints.append((np.array([li]), np.array([pi]), 1, AMBIGUOUS_KEY_AMOUNT))

    # Rows linked by keys to several partners: a star (one line, several
    # postings or the reverse) matches when the sums agree; anything else is
    # a question for a person.
    for comp_l, comp_p in _components(el[~simple], ep[~simple]):
        star = len(comp_l) == 1 or len(comp_p) == 1
        if star and _sums_agree(lines, posts, comp_l, comp_p):
            b.add_group(comp_l, comp_p, 1, 100, REASON_KEY_GROUP)
            continue
        b.hints.append((np.array(comp_l), np.array(comp_p), 1, AMBIGUOUS_KEY_AMOUNT))


def _key_table(keys: list[np.ndarray], min_len: int) -> tuple[np.ndarray, np.ndarray]:
    """(row, key) for every usable key of every row; a row holding the same key in
    two columns lists it once."""
    idx_parts, key_parts = [], []
    for n, col in enumerate(keys):
        usable = np.array([len(k) >= min_len for k in col.tolist()], dtype=bool)
        for earlier in keys[:n]:
            usable &= col != earlier
        ok = np.flatnonzero(usable)
        idx_parts.append(ok)
        key_parts.append(col[ok])
    return np.concatenate(idx_parts), np.concatenate(key_parts)


def _components(el: np.ndarray, ep: np.ndarray) -> list[tuple[list[int], list[int]]]:
    """Connected components of a small bipartite edge list (union-find)."""
    parent: dict[tuple[str, int], tuple[str, int]] = {}

    def find(x: tuple[str, int]) -> tuple[str, int]:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for li, pi in zip(el.tolist(), ep.tolist()):
        ra, rb = find(("l", li)), find(("p", pi))
        if ra != rb:
            parent[ra] = rb
    comps: dict[tuple[str, int], tuple[list[int], list[int]]] = {}
    for node in list(parent):
        ls, ps = comps.setdefault(find(node), ([], []))
        (ls if node[0] == "l" else ps).append(node[1])
    return [(sorted(ls), sorted(ps)) for ls, ps in comps.values()]


def _sums_agree(lines: _Side, posts: _Side, li: Sequence[int], pi: Sequence[int]) -> bool:
    l_cur = set(lines.cur[list(li)].tolist())
    p_cur = set(posts.cur[list(pi)].tolist())
    if len(l_cur) != 1 or l_cur != p_cur:
        return False
    return int(lines.amount[list(li)].sum()) == int(posts.amount[list(pi)].sum())


# --------------------------------------------------------------------------
# stage 2: amount + date window + text


def _block_ids(*parts: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Shared dense block ids for rows of both sides keyed by the given columns.

    Each part is (left values, right values); a row whose object value is ''
    is in no block (id -1).
    """
    n_left = len(parts[0][0])
    combined: np.ndarray | None = None
    empty: np.ndarray | None = None
    for left, right in parts:
        values = np.concatenate([left, right])
        codes, uniques = pd.factorize(values)
        codes = codes.astype(np.int64)
        if values.dtype == object:
            blank = values == ""
            empty = blank if empty is None else (empty | blank)
        if combined is None:
            combined = codes
        else:
            combined = combined * (len(uniques) + 1) + codes
            combined, _ = pd.factorize(combined)
            combined = combined.astype(np.int64)
    assert combined is not None
    if empty is not None:
        combined = np.where(empty, -1, combined)
    return combined[:n_left], combined[n_left:]


@dataclass
class _Sorted:
    """Rows of one side sorted by (block, day) for window searches."""

    order: np.ndarray  # sorted position -> row index
    rank: np.ndarray  # row index -> sorted position
    key: np.ndarray  # packed sorted keys


def _sorted_side(block: np.ndarray, day: np.ndarray, day0: int) -> _Sorted:
    packed = block * _DAY_SPAN + (day - day0)
    packed = np.where(block < 0, -1, packed)
    order = np.argsort(packed, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return _Sorted(order, rank, packed[order])


def _window_ranges(q_block: np.ndarray, q_day: np.ndarray, target: _Sorted, day0: int,
                   window: int, cap: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each query row, [lo, lo+count) in ``target``'s sorted order: same block,
    |day difference| <= window, at most ``cap`` nearest dates; and whether the cap
    cut the range (the row is *crowded*)."""
    q = q_block * _DAY_SPAN + (q_day - day0)
    lo = np.searchsorted(target.key, q - window, "left")
    hi = np.searchsorted(target.key, q + window, "right")
    count = hi - lo
    count[q_block < 0] = 0
    crowded = count > cap
    if crowded.any():
        # keep the `cap` nearest dates: a window of `cap` centred on the row's own day
        mid = np.searchsorted(target.key, q, "left")
        start = np.clip(mid - cap // 2, lo, hi - cap)
        lo = np.where(crowded, start, lo)
        count = np.minimum(count, cap)
    return lo, count, crowded


def _expand(lo: np.ndarray, count: np.ndarray, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (query row, target row) from per-query ranges of sorted positions."""
    total = int(count.sum())
    q = np.repeat(np.arange(len(lo), dtype=np.int64), count)
    starts = np.repeat(lo - (np.cumsum(count) - count), count)
    pos = starts + np.arange(total, dtype=np.int64)
    return q, order[pos]


def _stage_amount_date_text(b: _Builder, cfg: MatchConfig) -> None:
    l_rows = np.flatnonzero(b.line_free)
    p_rows = np.flatnonzero(b.post_free)
    if not len(l_rows) or not len(p_rows):
        return
    L, P = b.lines, b.posts
    w = cfg.date_window_days
    cap = cfg.max_candidates
    l_day, p_day = L.day[l_rows], P.day[p_rows]
    day0 = int(min(l_day.min(), p_day.min())) - w - 1

    # Block 1: (currency, amount), nearest dates from both sides.
    bl, bp = _block_ids((L.cur[l_rows], P.cur[p_rows]), (L.amount[l_rows], P.amount[p_rows]))
    sp = _sorted_side(bp, p_day, day0)
    sl = _sorted_side(bl, l_day, day0)
    lo_lp, cnt_lp, crowded_l = _window_ranges(bl, l_day, sp, day0, w, cap)
    lo_pl, cnt_pl, crowded_p = _window_ranges(bp, p_day, sl, day0, w, cap)
    li1, pi1 = _expand(lo_lp, cnt_lp, sp.order)
    pi2, li2 = _expand(lo_pl, cnt_pl, sl.order)
    # drop pairs already taken from the line side
    rank2 = sp.rank[pi2]
    dup = (rank2 >= lo_lp[li2]) & (rank2 < lo_lp[li2] + cnt_lp[li2])
    li_parts, pi_parts = [li1, li2[~dup]], [pi1, pi2[~dup]]

    # Blocks 2 and 3: (currency, amount, reference prefix / suffix), so a crowd
    # of equal amounts still offers each line its own posting, typo or not.
    # Only crowded lines need them: an uncrowded line already sees its whole window.
    ls = np.flatnonzero(crowded_l)
    ps = np.flatnonzero(np.isin(bp, np.unique(bl[ls]))) if len(ls) else ls
    offered_prefix: tuple[np.ndarray, np.ndarray] | None = None
    for part in (_ref_prefix, _ref_suffix) if len(ls) and len(ps) else ():
        l_part, p_part = part(L.ref[l_rows[ls]]), part(P.ref[p_rows[ps]])
        rl, rp = _block_ids((bl[ls], bp[ps]), (l_part, p_part))
        if (rl >= 0).any() and (rp >= 0).any():
            sr = _sorted_side(rp, p_day[ps], day0)
            lo_r, cnt_r, _ = _window_ranges(rl, l_day[ls], sr, day0, w, cap)
            lj, pj = _expand(lo_r, cnt_r, sr.order)
            li3, pi3 = ls[lj], ps[pj]
            # every pair enters once: drop those the amount block or the
            # prefix block already offered
            r3 = sp.rank[pi3]
            dup = (r3 >= lo_lp[li3]) & (r3 < lo_lp[li3] + cnt_lp[li3])
            q3 = sl.rank[li3]
            dup |= (q3 >= lo_pl[pi3]) & (q3 < lo_pl[pi3] + cnt_pl[pi3])
            if offered_prefix is not None:
                dup |= offered_prefix[0][lj] == offered_prefix[1][pj]
            li_parts.append(li3[~dup])
            pi_parts.append(pi3[~dup])
        # A suffix pair whose prefixes agree was a candidate of the prefix block
        # (when that block was not crowded); sentinels never compare equal.
        offered_prefix = (np.where(rl >= 0, l_part, "\x00l"), np.where(rp >= 0, p_part, "\x00p"))

    li = np.concatenate(li_parts)
    pi = np.concatenate(pi_parts)
    if not len(li):
        return
    score, evidence = _score_pairs(L, P, l_rows[li], p_rows[pi], cfg)
    keep = score >= cfg.min_score
    # In a crowd some candidates were never compared, so a pair there must show
    # its own evidence (a close reference or counterparty), not merely be the best seen.
    keep &= ~(crowded_l[li] | crowded_p[pi]) | (evidence >= cfg.crowd_min_similarity)
    li, pi, score = li[keep], pi[keep], score[keep]

    acc_l, acc_p, acc_s, left_l, left_p = _mutual_best(li, pi, score, len(l_rows), len(p_rows),
                                                       cfg.tie_margin)
    b.add_pairs(l_rows[acc_l], p_rows[acc_p], 2, acc_s, REASON_AMOUNT_DATE_TEXT)
    # What is left is a tie, or a candidate contested by a tie: a person decides --
    # except for crowded lines, which get a second, text-driven look first.
    later = crowded_l[left_l]
    left_l, left_p = left_l[~later], left_p[~later]
    if len(left_l):
        order = np.argsort(left_l, kind="stable")
        left_l, left_p = left_l[order], left_p[order]
        starts = np.flatnonzero(np.r_[True, left_l[1:] != left_l[:-1]])
        for group in np.split(np.arange(len(left_l)), starts[1:]):
            line = int(l_rows[left_l[group[0]]])
            cands = p_rows[left_p[group]]
            b.withhold([line], cands, 2, AMBIGUOUS_TIE, subject_lines=[line],
                       subject_posts=cands)
    if crowded_l.any():
        _crowd_pass(b, cfg, l_rows[crowded_l])


def _crowd_pass(b: _Builder, cfg: MatchConfig, crowded_rows: np.ndarray) -> None:
    """Second look for crowded lines still unmatched: compare their text with every
    free posting of the same currency and amount (within the window), block by block,
    and keep the ``max_candidates`` most similar.  At most ``crowd_budget`` text
    comparisons are made in all, so a pathological account stays bounded.
    """
    L, P = b.lines, b.posts
    rows = crowded_rows[b.line_free[crowded_rows]]
    p_free = np.flatnonzero(b.post_free)
    if not len(rows) or not len(p_free):
        return
    w, k = cfg.date_window_days, cfg.max_candidates
    bl, bp = _block_ids((L.cur[rows], P.cur[p_free]), (L.amount[rows], P.amount[p_free]))
    p_order = np.argsort(bp, kind="stable")
    p_sorted = bp[p_order]
    budget = cfg.crowd_budget
    li_parts, pi_parts = [], []
    l_order = np.argsort(bl, kind="stable")
    l_blocks = bl[l_order]
    bounds = np.flatnonzero(np.r_[True, l_blocks[1:] != l_blocks[:-1], True])
    for start, end in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        block = l_blocks[start]
        q = rows[l_order[start:end]]
        lo, hi = np.searchsorted(p_sorted, [block, block + 1])
        cands = p_free[p_order[lo:hi]]
        if not len(cands) or len(q) * len(cands) > budget:
            continue
        budget -= len(q) * len(cands)
        sim = process.cdist(L.docs(q), P.docs(cands), scorer=fuzz.token_set_ratio,
                            workers=cfg.workers, dtype=np.float32)
        near = np.abs(L.day[q][:, None] - P.day[cands][None, :]) <= w
        sim = np.where(near, sim, -1.0)
        take = min(k, len(cands))
        top = np.argpartition(-sim, take - 1, axis=1)[:, :take]
        qi = np.repeat(np.arange(len(q)), take)
        ci = top.reshape(-1)
        ok = sim[qi, ci] >= 0
        li_parts.append(q[qi[ok]])
        pi_parts.append(cands[ci[ok]])
    if not li_parts:
        return
    li, pi = np.concatenate(li_parts), np.concatenate(pi_parts)
    score, evidence = _score_pairs(L, P, li, pi, cfg)
    keep = (score >= cfg.min_score) & (evidence >= cfg.crowd_min_similarity)
    li, pi, score = li[keep], pi[keep], score[keep]
    # local numbering for the assignment
    lu, lj = np.unique(li, return_inverse=True)
    pu, pj = np.unique(pi, return_inverse=True)
    acc_l, acc_p, acc_s, left_l, left_p = _mutual_best(lj, pj, score, len(lu), len(pu),
                                                       cfg.tie_margin)
    b.add_pairs(lu[acc_l], pu[acc_p], 2, acc_s, REASON_AMOUNT_DATE_TEXT)
    for line in np.unique(left_l).tolist():
        cands = pu[left_p[left_l == line]]
        b.withhold([int(lu[line])], cands, 2, AMBIGUOUS_TIE, subject_lines=[int(lu[line])],
                   subject_posts=cands)


def _ref_prefix(refs: np.ndarray) -> np.ndarray:
    return np.array([r[:6] if len(r) >= 6 else "" for r in refs.tolist()], dtype=object)


def _ref_suffix(refs: np.ndarray) -> np.ndarray:
    return np.array([r[-6:] if len(r) >= 6 else "" for r in refs.tolist()], dtype=object)


def _score_pairs(L: _Side, P: _Side, lr: np.ndarray, pr: np.ndarray,
                 cfg: MatchConfig) -> tuple[np.ndarray, np.ndarray]:
    """Score of each candidate pair and its best textual evidence, 0..100.

    float32 arrays: similarity scores, not money.
    """
    l_ref, p_ref = L.ref[lr], P.ref[pr]
    ref_sim = process.cpdist(l_ref, p_ref, scorer=fuzz.ratio, workers=cfg.workers,
                             dtype=np.float32)
    # an absent reference is no evidence either way
    no_ref = (l_ref == "") | (p_ref == "")
    ref_sim[no_ref] = 50.0
    l_doc, p_doc = L.docs(lr), P.docs(pr)
    text_sim = process.cpdist(l_doc, p_doc, scorer=fuzz.token_set_ratio, workers=cfg.workers,
                              dtype=np.float32)
    no_text = (l_doc == "") | (p_doc == "")
    text_sim[no_text] = 50.0
    gap = np.abs(L.day[lr] - P.day[pr]).astype(np.float32)
    date_sim = 100.0 * (1.0 - gap / np.float32(cfg.date_window_days + 1))
    total = cfg.weight_reference + cfg.weight_text + cfg.weight_date
    score = (
        np.float32(cfg.weight_reference / total) * ref_sim  # float-ok: score weight
        + np.float32(cfg.weight_text / total) * text_sim  # float-ok: score weight
        + np.float32(cfg.weight_date / total) * date_sim  # float-ok: score weight
    )
    evidence = np.maximum(np.where(no_ref, 0, ref_sim), np.where(no_text, 0, text_sim))
    return score.astype(np.float32), evidence


def _mutual_best(
    li: np.ndarray, pi: np.ndarray, score: np.ndarray, n_l: int, n_p: int, margin: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One-to-one assignment by rounds of mutual best choice.

    A pair is taken when it is, by more than ``margin``, the best remaining
    candidate of both its line and its posting; then both leave the other
    pairs and the next round starts.  The global best pair always qualifies
    unless it is tied, so ties are all that can remain.
    """
    acc_l, acc_p, acc_s = [], [], []
    m = np.float32(margin)
    while len(li):
        best_l = np.full(n_l, -np.inf, dtype=np.float32)
        best_p = np.full(n_p, -np.inf, dtype=np.float32)
        np.maximum.at(best_l, li, score)
        np.maximum.at(best_p, pi, score)
        bl, bp = best_l[li], best_p[pi]
        near_l = np.bincount(li[score >= bl - m], minlength=n_l)
        near_p = np.bincount(pi[score >= bp - m], minlength=n_p)
        take = (score == bl) & (score == bp) & (near_l[li] == 1) & (near_p[pi] == 1)
        if not take.any():
            break
        acc_l.append(li[take])
        acc_p.append(pi[take])
        acc_s.append(score[take])
        used_l = np.zeros(n_l, dtype=bool)
        used_l[li[take]] = True
        used_p = np.zeros(n_p, dtype=bool)
        used_p[pi[take]] = True
        keep = ~(used_l[li] | used_p[pi])
        li, pi, score = li[keep], pi[keep], score[keep]
    return (
        _cat_or_empty(acc_l, np.int64),
        _cat_or_empty(acc_p, np.int64),
        _cat_or_empty(acc_s, np.float32),
        li,
        pi,
    )


# --------------------------------------------------------------------------
# stage 3: one line = several postings, several lines = one posting


def _stage_groups(b: _Builder, cfg: MatchConfig) -> None:
    for _ in range(3):  # later rounds retry rows whose group lost a member to another row
        found = _group_round(b, cfg, lines_are_subjects=True)
        if not found:
            break
    for _ in range(3):
        found = _group_round(b, cfg, lines_are_subjects=False)
        if not found:
            break


def _group_round(b: _Builder, cfg: MatchConfig, lines_are_subjects: bool) -> int:
    """One pass of stage 3 in one direction; returns the number of groups matched."""
    subj, pool = (b.lines, b.posts) if lines_are_subjects else (b.posts, b.lines)
    subj_free, pool_free = (b.line_free, b.post_free) if lines_are_subjects else (
        b.post_free, b.line_free)
    # A zero amount could pad any group; it is never part of one.
    s_rows = np.flatnonzero(subj_free & (subj.amount != 0))
    p_rows = np.flatnonzero(pool_free & (pool.amount != 0))
    if not len(s_rows) or len(p_rows) < 2:
        return 0
    w = cfg.group_date_window_days
    s_day, p_day = subj.day[s_rows], pool.day[p_rows]
    s_amount, p_amount = subj.amount[s_rows], pool.amount[p_rows]
    day0 = int(min(s_day.min(), p_day.min())) - w - 1
    bs, bp = _block_ids((subj.cur[s_rows], pool.cur[p_rows]))
    sp = _sorted_side(bp, p_day, day0)

    # hits: (subject, size, date gap, members as pool-local indices)
    hits: list[tuple[int, int, int, tuple[int, ...]]] = []
    solved = np.zeros(len(s_rows), dtype=bool)
    _pair_hits(bs, bp, s_day, p_day, s_amount, p_amount, sp, day0, cfg, hits)
    for h in hits:
        solved[h[0]] = True
    if cfg.max_group_size >= 3:
        _bounded_subset_hits(bs, s_day, p_day, s_amount, p_amount, sp, day0, cfg, ~solved, hits)

    # per subject: the smallest group, then the closest dates; two equal winners
    # are a question for a person
    best: dict[int, list[tuple[int, int, tuple[int, ...]]]] = {}
    for subject, size, gap, members in hits:
        cur = best.get(subject)
        rank = (size, gap)
        if cur is None or rank < cur[0][:2]:
            best[subject] = [(size, gap, members)]
        elif rank == cur[0][:2] and members not in [c[2] for c in cur]:
            cur.append((size, gap, members))
    proposals: list[tuple[int, int, int, int, tuple[int, ...]]] = []
    for subject, winners in best.items():
        s_global = int(s_rows[subject])
        if len(winners) > 1:
            cands = p_rows[sorted({m for win in winners for m in win[2]})]
            if lines_are_subjects:
                b.withhold([s_global], cands, 3, AMBIGUOUS_SUBSETS, subject_lines=[s_global])
            else:
                b.withhold(cands, [s_global], 3, AMBIGUOUS_SUBSETS, subject_posts=[s_global])
            continue
        size, gap, members = winners[0]
        group = tuple(int(x) for x in p_rows[list(members)])
        proposals.append((size, gap, int(s_day[subject]), s_global, group))

    # smallest groups and closest dates first; a group whose member was taken
    # waits for the next round
    proposals.sort()
    taken = 0
    for size, gap_sum, _day, subject, group in proposals:
        if not subj_free[subject] or not pool_free[list(group)].all():
            continue
        mean_gap = gap_sum / size  # float-ok: a score, not money
        score = round(100 * (1 - mean_gap / (w + 1)))
        if lines_are_subjects:
            b.add_group([subject], group, 3, score, REASON_SUM_OF_POSTINGS)
        else:
            b.add_group(group, [subject], 3, score, REASON_SUM_OF_LINES)
        taken += 1
    return taken


def _pair_hits(bs: np.ndarray, bp: np.ndarray, s_day: np.ndarray, p_day: np.ndarray,
               s_amount: np.ndarray, p_amount: np.ndarray, sp: _Sorted, day0: int,
               cfg: MatchConfig, hits: list[tuple[int, int, int, tuple[int, ...]]]) -> None:
    """Groups of two: for each near candidate x, look the complement up exactly.

    The first member comes from the ``4 * max_group_candidates`` nearest dates;
    the second is found by amount in the whole window, so a crowded day does
    not hide a transfer and its fee.
    """
    w = cfg.group_date_window_days
    lo, cnt, _ = _window_ranges(bs, s_day, sp, day0, w, 4 * cfg.max_group_candidates)
    q, x = _expand(lo, cnt, sp.order)
    if not len(q):
        return
    need = s_amount[q] - p_amount[x]
    # look the needed amount up in the pool's (currency, amount) blocks
    n_cur = int(max(bs.max(), bp.max())) + 1
    limit = (1 << 62) // max(n_cur, 1)
    pool_key = p_amount * n_cur + bp
    codes, uniq = pd.factorize(pool_key)
    need_ok = np.abs(need) < limit
    need_key = np.where(need_ok, need, 0) * n_cur + bs[q]
    need_block = pd.Index(uniq).get_indexer(need_key).astype(np.int64)
    need_block[~need_ok] = -1
    sb = _sorted_side(codes.astype(np.int64), p_day, day0)
    # three nearest are enough to see whether the complement is unique
    lo2, cnt2, _ = _window_ranges(need_block, s_day[q], sb, day0, w, 3)
    pair_no, y = _expand(lo2, cnt2, sb.order)
    xs = x[pair_no]
    ok = y != xs
    subj, xs, y = q[pair_no][ok], xs[ok], y[ok]
    if not len(subj):
        return
    a, c = np.minimum(xs, y), np.maximum(xs, y)
    found = pd.DataFrame({"s": subj, "a": a, "c": c}).drop_duplicates()
    gap = np.abs(p_day[found["a"].to_numpy()] - s_day[found["s"].to_numpy()]) + np.abs(
        p_day[found["c"].to_numpy()] - s_day[found["s"].to_numpy()])
    for s_i, a_i, c_i, g in zip(found["s"].tolist(), found["a"].tolist(), found["c"].tolist(),
                                gap.tolist()):
        hits.append((s_i, 2, g, (a_i, c_i)))


def _bounded_subset_hits(bs: np.ndarray, s_day: np.ndarray, p_day: np.ndarray,
                         s_amount: np.ndarray, p_amount: np.ndarray, sp: _Sorted, day0: int,
                         cfg: MatchConfig, todo: np.ndarray,
                         hits: list[tuple[int, int, int, tuple[int, ...]]]) -> None:
    """Groups of 3..max_group_size among the ``max_group_candidates`` nearest dates."""
    w, k = cfg.group_date_window_days, cfg.max_group_candidates
    lo, cnt, _ = _window_ranges(bs, s_day, sp, day0, w, k)
    has = np.flatnonzero(todo & (cnt >= 3))
    if not len(has):
        return
    q, cand = _expand(lo[has], cnt[has], sp.order)
    slot = np.arange(len(q)) - np.repeat(np.cumsum(cnt[has]) - cnt[has], cnt[has])
    mat = np.full((len(has), k), -1, dtype=np.int64)
    mat[q, slot] = cand
    amount_ext = np.append(p_amount, 0)  # index -1 -> 0, masked by `valid`
    day_ext = np.append(p_day, 0)
    unsolved = np.arange(len(has))
    for size in range(3, cfg.max_group_size + 1):
        if not len(unsolved):
            break
        combos = np.array(list(itertools.combinations(range(k), size)), dtype=np.int64)
        chunk = max(1, 2_000_000 // (len(combos) * size))
        still: list[np.ndarray] = []
        for start in range(0, len(unsolved), chunk):
            rows = unsolved[start:start + chunk]
            subj = has[rows]
            idx = mat[rows][:, combos]  # (n, C, size)
            valid = (idx >= 0).all(axis=2)
            hit = valid & (amount_ext[idx].sum(axis=2) == s_amount[subj, None])
            any_hit = hit.any(axis=1)
            still.append(rows[~any_hit])
            for r, c in zip(*np.nonzero(hit)):
                members = idx[r, c]
                gap = int(np.abs(day_ext[members] - s_day[subj[r]]).sum())
                hits.append((int(subj[r]), size, gap, tuple(sorted(int(m) for m in members))))
        unsolved = np.concatenate(still) if still else unsolved[:0]


# --------------------------------------------------------------------------
# public entry points


def match(
    lines: pd.DataFrame, postings: pd.DataFrame, config: MatchConfig | None = None
) -> MatchResult:
    """Match statement lines with ledger postings of one account.

    ``lines`` needs the columns of :data:`LINE_COLUMNS`: ``line_id`` (int64,
    unique), ``date`` (datetime64 or ``datetime.date``), ``amount_minor``
    (int64 minor units, credit to the account > 0), ``currency`` (ISO code),
    ``bank_transaction_id``, ``reference``, ``counterparty``, ``text`` (str;
    None/NaN read as '').  ``postings`` needs :data:`POSTING_COLUMNS`:
    ``posting_id`` (int64, unique), ``entry_id``, ``date``, ``amount_minor``
    (int64, debit to the asset account > 0 -- the bank's sign), ``currency``,
    ``bank_ref`` (a bank transaction id or end-to-end reference recorded on
    the posting or entry), ``reference`` and ``text`` (entry description and
    counterparty); an optional ``counterparty`` column is used when present.

    Pass only rows not yet matched (see :func:`exclude_matched`) so a re-run
    never matches a row twice nor undoes a manual match.  Raises
    :class:`MatchInputError` when a frame breaks this contract.
    """
    cfg = config or MatchConfig()
    L, P = _prepare(lines, postings)
    b = _Builder(L, P)
    if len(L.ids) and len(P.ids):
        _stage_exact_keys(b, cfg)
        _stage_amount_date_text(b, cfg)
        _stage_groups(b, cfg)
    return b.result()


def exclude_matched(
    lines: pd.DataFrame,
    postings: pd.DataFrame,
    existing: Iterable[tuple[Iterable[int], Iterable[int]]],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Drop lines and postings that already belong to a stored match.

    ``existing`` yields ``(line_ids, posting_ids)`` of stored matches, manual or
    automatic; what is returned is what :func:`match` may still consider.
    """
    line_ids: set[int] = set()
    posting_ids: set[int] = set()
    for l_ids, p_ids in existing:
        line_ids.update(int(i) for i in l_ids)
        posting_ids.update(int(i) for i in p_ids)
    keep_l = ~lines["line_id"].isin(np.fromiter(line_ids, dtype=np.int64, count=len(line_ids)))
    keep_p = ~postings["posting_id"].isin(
        np.fromiter(posting_ids, dtype=np.int64, count=len(posting_ids))
    )
    return lines.loc[keep_l], postings.loc[keep_p]
