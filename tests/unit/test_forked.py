"""The forked helper of big reads: same result as doing the work here, whatever happens."""

from __future__ import annotations

import os
import pickle
import signal
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imports import forked
from imports.forked import Pending

needs_fork = pytest.mark.skipif(not forked.can_fork(), reason="no fork here (or one CPU)")


@needs_fork
def test_the_child_does_the_work_and_sends_it_back(tmp_path: Path) -> None:
    marker = tmp_path / "pid"

    def work() -> dict[str, object]:
        marker.write_text(str(os.getpid()))
        return {"rows": list(range(1000)), "text": "é" * 10}

    with Pending(work) as job:
        assert job.forked
        got = job.result()
    assert got == {"rows": list(range(1000)), "text": "é" * 10}
    assert int(marker.read_text()) != os.getpid()  # done by another process


@needs_fork
def test_work_that_fails_in_the_child_is_done_here_and_raises_here() -> None:
    with Pending(lambda: 1 // 0) as job, pytest.raises(ZeroDivisionError):
        job.result()


@needs_fork
def test_a_child_that_dies_leaves_the_work_to_the_parent(tmp_path: Path) -> None:
    def work() -> int:
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        return 42

    parent = os.getpid()
    with Pending(work) as job:
        assert job.result() == 42


@needs_fork
def test_leaving_without_the_result_stops_the_child(tmp_path: Path) -> None:
    marker = tmp_path / "done"

    def work() -> None:
        import time

        time.sleep(5)
        marker.write_text("finished")

    with pytest.raises(RuntimeError), Pending(work) as job:
        pid = job._pid
        raise RuntimeError("the parent's own part failed")
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reaped: no zombie left behind
    assert not marker.exists()


def test_workers_can_be_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(forked.WORKERS_ENV, "1")
    assert not forked.can_fork()
    with Pending(os.getpid) as job:
        assert not job.forked
        assert job.result() == os.getpid()


def test_no_fork_when_asked_not_to() -> None:
    with Pending(os.getpid, fork=False) as job:
        assert not job.forked and job.result() == os.getpid()


def _refuse_to_load(parent: int) -> None:
    raise ValueError(f"cannot be loaded in {parent}")


class _Unloadable:
    """Pickles fine in the child, cannot be unpickled."""

    def __reduce__(self) -> tuple[object, tuple[int]]:
        return _refuse_to_load, (os.getpid(),)


@needs_fork
def test_a_result_that_cannot_be_loaded_is_computed_here(tmp_path: Path) -> None:
    calls = tmp_path / "calls"

    def work() -> _Unloadable:
        with calls.open("a") as fh:
            fh.write(f"{os.getpid()}\n")
        return _Unloadable()

    with Pending(work) as job:
        got = job.result()
    assert isinstance(got, _Unloadable)
    assert calls.read_text().split()[-1] == str(os.getpid())  # the child's, then this one


def _round_trip(values: list[object]) -> list[object]:
    return forked.unpack_texts(pickle.loads(pickle.dumps(forked.pack_texts(values))))


def test_long_columns_of_distinct_texts_travel_as_one_string() -> None:
    values = [f"line {i}, raw text" for i in range(5000)] + ["", "é ✓"]
    packed = forked.pack_texts(values)
    assert isinstance(packed, forked.JoinedTexts)
    assert _round_trip(values) == values


@pytest.mark.parametrize(
    "values",
    [
        ["a", "b"],  # short
        [f"t{i}" for i in range(2000)] + [None],  # not all texts
        [f"t{i}" for i in range(2000)] + [3],
        [f"t{i}" for i in range(2000)] + ["a\x00b"],  # the separator inside a text
        [f"Union {i % 10}" for i in range(5000)],  # mostly repeated: pickle shares them
        list(range(5000)),
    ],
)
def test_other_columns_travel_as_they_are(values: list[object]) -> None:
    assert forked.pack_texts(values) is values
    assert _round_trip(values) == values


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from("ab\x00é \n")), min_size=4, max_size=40))
def test_any_column_of_texts_comes_back_equal(values: list[str]) -> None:
    with mock.patch.object(forked, "_SAMPLE", 4):  # columns this short are packed too
        assert _round_trip(values) == values
