"""The contract between money movements and the eligibility rules.

``ledger`` must not import ``rules``; a service that sends money to an
organisation takes a :data:`Gate` and asks it before posting.  The CLI builds
the gate from the rules engine and the stored facts (``ledger.cli_rules``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection

from ledger.errors import LedgerError


@dataclass(frozen=True, slots=True)
class GateVerdict:
    """Whether money may go to an organisation on a date, and why not."""

    allowed: bool
    outcome: str  # eligible | eligible_with_warnings | not_eligible | incomplete
    failed_rules: tuple[str, ...] = ()
    decision_id: int | None = None
    message: str = ""


#: ``gate(conn, organisation_id, on) -> GateVerdict``; it may store the decision it took.
Gate = Callable[[Connection, int, date], GateVerdict]


class IneligibleError(LedgerError):
    """Money refused to an organisation that is not eligible on that date."""

    def __init__(self, org: str, on: date, verdict: GateVerdict) -> None:
        rules = ", ".join(verdict.failed_rules) or verdict.outcome
        super().__init__(
            f"{org} is {verdict.outcome.replace('_', ' ')} on {on} ({rules}); "
            "nothing was posted. Use --override --reason TEXT to proceed anyway"
        )
        self.verdict = verdict


def allow_all(_conn: Connection, _org_id: int, _on: date) -> GateVerdict:
    """A gate that lets everything through (tests and tools that do not check)."""
    return GateVerdict(True, "eligible")
