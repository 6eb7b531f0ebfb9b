"""Line keys are stored: the bytes they hash must never change between versions.

The expected values were computed by the first release's per-object code; the
columnar code must give the same keys, or a re-import after an upgrade would
store every line a second time.
"""

from __future__ import annotations

from datetime import date

import pytest

from imports.model import LineTable, Origin, StatementLine
from ledger.lines import COLUMNS, LineColumns
from ledger.money import Money
from ledger.statements import line_keys

LINES = [
    StatementLine("FR76 3000", date(2026, 3, 1), Money(-1250, "EUR"), Origin("f.csv", 2, None, "raw"),
                  date(2026, 3, 2), "  Union A ", "fr76 1234 ", "REF-1", "fee"),
    StatementLine("FR76 3000", date(2026, 3, 1), Money(-1250, "EUR"), Origin("f.csv", 3, None, "raw"),
                  date(2026, 3, 2), "  Union A ", "fr76 1234 ", "REF-1", "fee"),
    StatementLine("FR76 3000", date(2026, 3, 1), Money(500, "EUR"), Origin("f.csv", 4, None, "raw"),
                  None, "B", "", "", "", bank_transaction_id=" TX9 "),
]
EXPECTED = (
    ["fp:bc0534233d5c813efb4bc15e46f726a1d96fb87af357d199b95ed6e9d0df",
     "fp:75940296516a205c2d3bb73bbe1fbdc1a01fbc4b659bc6f7d6be355f3eec",
     "id:TX9"],
    ["0417546cac6471d45a89e71bc8167cdb2bcf08cf371e53c9cb6d3886f6eef0f6",
     "fc0ab7c5f83ca8ba10dde83bd98fc5a07883dfd4055fcc3a95a760ba7de83644",
     "145996afdac159ee23a504fb6bc5a4fbb7354f1cbaf3cfa4e78719d301dfa8e0"],
)


def test_keys_of_line_objects_are_the_first_release_keys() -> None:
    assert line_keys(7, LineColumns.of(LINES)) == EXPECTED


def test_identical_lines_get_distinct_keys_by_occurrence() -> None:
    lkeys, mkeys = line_keys(7, LineColumns.of(LINES))
    assert len(set(lkeys)) == 3 and len(set(mkeys)) == 3


def test_a_line_table_gives_back_the_lines_it_was_built_from() -> None:
    table = LineTable(LineColumns.of(LINES).columns)
    assert list(table) == LINES
    assert table[-1] == LINES[-1] and table[1:] == LINES[1:]
    assert line_keys(7, table) == EXPECTED
    with pytest.raises(IndexError):
        table[3]


def test_columns_must_be_complete_and_of_one_length() -> None:
    cols = LineColumns.of(LINES).columns
    with pytest.raises(ValueError, match="missing: raw"):
        LineColumns({k: v for k, v in cols.items() if k != "raw"})
    with pytest.raises(ValueError, match="different lengths"):
        LineColumns({**cols, "raw": ["x"]})
    assert set(cols) == set(COLUMNS)


def test_new_lines_leave_out_known_keys_and_repeats_within_the_statement() -> None:
    from ledger.statements import _new_lines

    assert _new_lines(["a", "b", "c"], ["1", "2", "3"], set(), set()) == [0, 1, 2]
    assert _new_lines(["a", "b", "c"], ["1", "2", "3"], {"b"}, set()) == [0, 2]
    assert _new_lines(["a", "b", "c"], ["1", "2", "3"], set(), {"3"}) == [0, 1]
    # A bank id given twice: the second line is the same movement.
    assert _new_lines(["id:T1", "id:T1", "c"], ["1", "2", "3"], set(), set()) == [0, 2]


def test_a_bank_id_line_among_fingerprinted_lines_leaves_their_keys_alone() -> None:
    lkeys, mkeys = line_keys(7, LineColumns.of([LINES[2], LINES[0], LINES[1]]))
    assert lkeys == [EXPECTED[0][2], EXPECTED[0][0], EXPECTED[0][1]]
    assert mkeys == [EXPECTED[1][2], EXPECTED[1][0], EXPECTED[1][1]]
