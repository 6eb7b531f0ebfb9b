"""The contributions report: per union and period, members, expected, received,
arrears or surplus — in the pledge currency and in EUR — and the contributions
received per month.  Built from :class:`ledger.flows.ContributionsResult`.
"""

from __future__ import annotations

from datetime import datetime

from ledger.flows import ContributionsResult
from ledger.money import Money
from reports import labels as L
from reports.i18n import N_
from reports.model import (
    BarChart,
    Column,
    Msg,
    Note,
    Report,
    Section,
    Series,
    Table,
    Verbatim,
)

EUR = "EUR"


def build_contributions_report(
    result: ContributionsResult, generated_at: datetime | None = None
) -> Report:
    """The contributions report of ``result``."""
    per = {"year": N_("per year"), "month": N_("per month")}
    rows = []
    for r in result.rows:
        style = None
        if r.difference is not None:
            style = "warning" if r.difference < 0 else "ok"
        rows.append({
            "union": Verbatim(r.union),
            "period": Msg(L.FROM_TO, start=r.period_start, end=r.period_end),
            "pledge": (Msg("{rate} {per}", rate=r.rate, per=per.get(r.frequency or "", ""))
                       if r.rate is not None else N_("No pledge")),
            "members": r.members, "currency": r.currency,
            "expected": r.expected, "received": r.received, "difference": r.difference,
            "expected_eur": r.expected_eur, "received_eur": r.received_eur,
            "difference_eur": r.difference_eur, "_style": style,
        })
    table = Table(
        columns=[
            Column("union", L.UNION), Column("period", L.PERIOD), Column("pledge", L.PLEDGE),
            Column("members", L.MEMBERS, "int"),
            Column("expected", L.EXPECTED, "money", currency_key="currency"),
            Column("received", L.RECEIVED, "money", currency_key="currency"),
            Column("difference", N_("Arrears (−) / surplus (+)"), "money",
                   currency_key="currency"),
            Column("expected_eur", N_("Expected (EUR)"), "money", currency=EUR),
            Column("received_eur", N_("Received (EUR)"), "money", currency=EUR),
            Column("difference_eur", N_("Arrears / surplus (EUR)"), "money", currency=EUR),
        ],
        rows=rows,
        totals={"expected_eur": sum(r.expected_eur or 0 for r in result.rows),
                "received_eur": sum(r.received_eur for r in result.rows),
                "difference_eur": sum(r.difference_eur or 0 for r in result.rows),
                "members": sum(r.members or 0 for r in result.rows)},
        title=N_("Per union and period"),
    )
    note = Note(N_(
        "Expected = members × rate per member (× months ÷ 12 for a yearly pledge over part "
        "of a year). Received: contributions credited in the pledge period, in EUR at the "
        "reference rate of each day; expected in EUR at the rate of the pledge's last day."))
    unions = sorted(result.monthly_eur)
    month_table = Table(
        columns=[Column("month", L.MONTH, "date")]
        + [Column(f"u{i}", Verbatim(u), "money", currency=EUR) for i, u in enumerate(unions)],
        rows=[{"month": m, **{f"u{i}": result.monthly_eur[u][k] for i, u in enumerate(unions)}}
              for k, m in enumerate(result.months)],
        totals={f"u{i}": sum(result.monthly_eur[u]) for i, u in enumerate(unions)},
        title=N_("Received per month (EUR)"),
    )
    chart = BarChart(N_("Contributions received per month (EUR)"), result.months,
                     [Series(Verbatim(u), [Money(v, EUR) for v in result.monthly_eur[u]])
                      for u in unions], mode="stacked", category_label=L.MONTH)
    return Report(
        title=L.CONTRIBUTION_REPORT,
        subtitle=Msg(L.FROM_TO, start=result.start, end=result.end),
        generated_at=generated_at,
        meta=[(L.PERIOD, Msg(L.FROM_TO, start=result.start, end=result.end))],
        sections=[
            Section(N_("Pledges"), [table, note]),
            Section(N_("Per month"), [chart, month_table]),
        ],
    )
