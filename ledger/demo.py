"""``solidarity demo``: a fresh fund with the shape of the real case.

Builds an SQLite database in a folder with the unions of the North (CSQ in
Canada, a French, a Swedish and an Australian union), the Network and three
mutuals of the South (Burkina Faso, Côte d'Ivoire, Morocco); records a year of
contributions and the transfers that move them toward the Network; then
prints balances and the verdict of ``verify``.  Each later feature adds a step.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from ledger import journal, orgs
from ledger.db import make_engine, unit_of_work, upgrade
from ledger.domain import EntryDraft, PostingDraft
from ledger.money import Money

YEAR = 2026

#: name, kind, country, currency, members (2026), monthly contribution in local currency
ORGANISATIONS: list[tuple[str, str, str, str, int | None]] = [
    ("CSQ", "union", "CA", "CAD", 48_000),
    ("SNES-FSU", "union", "FR", "EUR", 36_000),
    ("Sveriges Lärare", "union", "SE", "SEK", 24_000),
    ("AEU", "union", "AU", "AUD", 12_000),
    ("Network", "network", "FR", "EUR", None),
    ("MS-Éducation Burkina", "mutual", "BF", "XOF", 9_500),
    ("Mutuelle des agents CI", "mutual", "CI", "XOF", 14_000),
    ("Mutuelle publique Maroc", "mutual", "MA", "MAD", 20_000),
]

#: IBANs of the demo's bank accounts (valid check digits, fictitious accounts).
DEMO_IBANS = {"Network": "FR7630006000011234567890189"}

#: Demo-only reference rates (per EUR) for the union currencies: plausible, not official.
DEMO_RATES = {"CAD": "1.4850", "SEK": "11.2000", "AUD": "1.6500", "MAD": "10.8000"}


def bank_account(org: str, currency: str) -> str:
    """The demo's bank-account code of an organisation."""
    return f"Assets:Bank:{org}:{currency}"


@dataclass
class DemoResult:
    """What the demo built, for printing or JSON."""

    folder: Path
    database: str
    entries: int = 0
    balances: list[journal.BalanceRow] = field(default_factory=list)
    verified: bool = False
    problems: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "ok": self.verified,
            "folder": str(self.folder),
            "database": self.database,
            "entries": self.entries,
            "steps": self.steps,
            "balances": [{"account": b.code, "amount": b.balance.to_decimal_string(),
                          "currency": b.currency} for b in self.balances],
            "verify": {"ok": self.verified, "problems": self.problems},
            **self.extras,
        }

    def summary(self, locale: str) -> str:
        """Human-readable summary in ``locale``."""
        width = max((len(b.code) for b in self.balances), default=10)
        lines = [f"Demo fund written to {self.folder}/ (database {self.database})", ""]
        lines += [f"  - {s}" for s in self.steps]
        lines += ["", "Balances (debit positive):"]
        lines += [f"  {b.code:<{width}}  {b.balance.format(locale):>22}" for b in self.balances]
        verdict = ("verify: OK — hash chain intact, every entry balances in every currency"
                   if self.verified else "verify: FAILED\n" + "\n".join(self.problems))
        return "\n".join(lines + ["", f"{self.entries} journal entries", verdict])


def _setup(conn: Any) -> None:
    for name, kind, cc, cur, members in ORGANISATIONS:
        orgs.add_org(conn, name, kind, cc, cur, members, str(YEAR) if members else None)
        orgs.add_account(conn, bank_account(name, cur), "asset", cur, org=name,
                         iban=DEMO_IBANS.get(name))
        if kind == "union":
            orgs.add_account(conn, f"Income:Contributions:{name}", "income", cur, org=name)
            orgs.add_account(conn, f"Income:Members dues:{name}", "income", cur, org=name)
        if kind == "mutual":
            orgs.add_account(conn, f"Expenses:Redistribution:{name}", "expense", cur, org=name)
    orgs.add_account(conn, "Liabilities:Fund:Network", "liability", "EUR", org="Network")


@dataclass(frozen=True, slots=True)
class Contribution:
    """One planned monthly contribution of a union (the demo's single source of truth
    for both the journal entry and the bank line that shows it)."""

    union: str
    on: date
    amount: Money
    reference: str


def contribution_plan() -> list[Contribution]:
    """Twelve monthly contributions per union: 1 € per member per year, in local currency."""
    from decimal import Decimal

    plan = []
    for name, kind, _cc, cur, members in ORGANISATIONS:
        if kind != "union" or members is None:
            continue
        rate = Decimal(DEMO_RATES.get(cur, "1"))
        yearly = Money.of((Decimal(members) * rate).quantize(Decimal("0.01")), cur)
        monthly, rest = divmod(yearly.minor, 12)
        for month in range(1, 13):
            amount = Money(monthly + (rest if month == 12 else 0), cur)
            plan.append(Contribution(name, date(YEAR, month, 5), amount,
                                     f"{name[:3].upper()}-{YEAR}{month:02d}"))
    return plan


def _contributions(conn: Any, actor: str | None) -> int:
    drafts = [
        EntryDraft(
            entry_date=c.on,
            description=f"{c.union}: solidarity contribution {c.on:%Y-%m}",
            postings=(PostingDraft(bank_account(c.union, c.amount.currency), c.amount,
                                   bank_ref=c.reference),
                      PostingDraft(f"Income:Contributions:{c.union}", -c.amount)),
            reference=c.reference,
            idempotency_key=f"demo:contribution:{c.union}:{c.on:%Y-%m}",
        )
        for c in contribution_plan()
    ]
    return journal.post_many(conn, drafts, actor).new_count


def _conversions(conn: Any, folder: Path, actor: str | None) -> int:
    """Quarterly, each union sends its contributions to the Network as a two-phase
    transfer (rates imported and pledges recorded first; see ``ledger.demo_flows``)."""
    from ledger.demo_flows import union_transfers

    return union_transfers(conn, folder, actor)


#: Steps later features add with :func:`add_step`: ``(order, step)`` where
#: ``step(engine, folder, actor, lang, result) -> str | None`` returns a line for
#: the summary.  Order: 20 eligibility, 30 flows, 35 bank statements, 40 reconciliation,
#: 50 reports.
EXTRA_STEPS: list[tuple[int, Callable[..., str | None]]] = []


def add_step(order: int, step: Callable[..., str | None]) -> None:
    """Register a demo step (idempotent: the same function is added once)."""
    if all(s is not step for _, s in EXTRA_STEPS):
        EXTRA_STEPS.append((order, step))


def run_demo(
    folder: Path, lang: str = "en", actor: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> DemoResult:
    """Recreate ``folder`` with a demo database and everything the demo shows."""
    if folder.exists():
        db_file = folder / "solidarity.db"
        if any(p for p in folder.iterdir() if p.name not in {"solidarity.db", "solidarity.db-wal",
               "solidarity.db-shm", "reports", "statements", "rates"}):
            from ledger.errors import InvalidInputError

            raise InvalidInputError(
                f"--dir {folder}: folder exists and holds other files; choose an empty folder"
            )
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    db_file = folder / "solidarity.db"
    engine = make_engine(str(db_file))
    result = DemoResult(folder=folder, database=str(db_file))
    say = progress or (lambda _m: None)
    upgrade(engine)
    with unit_of_work(engine) as conn:
        _setup(conn)
        n = _contributions(conn, actor)
        result.steps.append(f"{len(ORGANISATIONS)} organisations; {n} monthly contributions")
        say(result.steps[-1])
        n = _conversions(conn, folder, actor)
        result.steps.append(f"{n} transfers from the unions to the Network "
                            "(reference rates imported, pledges recorded)")
        say(result.steps[-1])
    for _order, step in sorted(EXTRA_STEPS, key=lambda s: s[0]):
        label = step(engine, folder, actor, lang, result)
        if label:
            result.steps.append(label)
            say(label)
    with unit_of_work(engine) as conn:
        rep = journal.verify(conn)
        result.entries = rep.entries
        result.verified = rep.ok
        result.problems = rep.problems
        result.balances = journal.balances(conn)
    engine.dispose()
    return result
