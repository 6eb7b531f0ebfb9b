"""The flows report: each euro given in the North traced to where it is now.

Sections: per northern union (contributed, sent South, arrived in EUR and local
currency, lost as fees and exchange, pass-through ratio, in transit, still
held), the check that every euro is accounted for, per southern organisation
(received, from whom), per corridor (CAD→EUR→XOF…: transfers, median loss,
worst transfer), every transfer with its loss and flags, and two charts for the
HTML: cumulative pass-through per union per month, and the North → South flow
diagram.  Built from :class:`ledger.flows.FlowsResult`; no database here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal

from ledger.flows import OTHER_FUNDS, FlowsResult, UnionFlow
from ledger.money import Money
from reports import labels as L
from reports.i18n import N_
from reports.model import (
    BarChart,
    Column,
    FlowDiagram,
    FlowLink,
    FlowNode,
    Msg,
    Note,
    Paragraph,
    Report,
    Section,
    Series,
    SummaryLine,
    SummaryLines,
    Table,
    Verbatim,
)

EUR = "EUR"
_RATIO = Decimal("0.0001")


def _eur(minor: int) -> Money:
    return Money(minor, EUR)


def _local(amounts: Mapping[str, int]) -> Money | str | None:
    """Amounts in local currency: one Money (formatted per locale) in the usual
    single-currency case, else the amounts listed as text."""
    if not amounts:
        return None
    if len(amounts) == 1:
        ((cur, minor),) = amounts.items()
        return Money(minor, cur)
    return "; ".join(str(Money(v, c)) for c, v in sorted(amounts.items()))


def _local_column(key: str, label: str, values: Sequence[object]) -> Column:
    """A money column when every row holds at most one currency, else text."""
    if all(v is None or isinstance(v, Money) for v in values):
        return Column(key, label, "money")
    return Column(key, label, "text")


def _union_row(u: UnionFlow) -> dict[str, object]:
    return {
        "union": Verbatim(u.union) if u.union != OTHER_FUNDS else N_("Other funds"),
        "contributed": u.contributed, "sent_south": u.sent_south, "arrived": u.arrived,
        "arrived_local": _local(u.arrived_local), "fees": u.lost_fees,
        "exchange": u.lost_exchange, "lost": u.lost, "in_transit": u.in_transit,
        "held": u.held, "pass_through": u.pass_through,
        "_style": "muted" if u.union == OTHER_FUNDS else None,
    }


def _money_col(key: str, label: str) -> Column:
    return Column(key, label, "money", currency=EUR)


def build_flows_report(
    result: FlowsResult,
    flags: Mapping[str, Sequence[str]] | None = None,
    generated_at: datetime | None = None,
) -> Report:
    """The flows report of ``result``; ``flags`` maps a transfer reference to its flag texts."""
    flags = flags or {}
    rows = result.unions + ([result.other_funds] if result.other_funds else [])
    t = result.totals()
    union_table = Table(
        columns=[
            Column("union", L.UNION),
            _money_col("contributed", L.CONTRIBUTED),
            _money_col("sent_south", L.SENT_SOUTH),
            _money_col("arrived", L.ARRIVED),
            _local_column("arrived_local", N_("Arrived (local currency)"),
                          [_local(u.arrived_local) for u in result.unions]),
            _money_col("fees", L.FEES),
            _money_col("exchange", L.EXCHANGE),
            _money_col("lost", L.LOST),
            _money_col("in_transit", L.IN_TRANSIT),
            _money_col("held", L.STILL_HELD),
            Column("pass_through", L.PASS_THROUGH_RATIO, "percent", digits=2),
        ],
        rows=[_union_row(u) for u in rows],
        totals={"contributed": t["contributed"], "sent_south": t["sent_south"],
                "arrived": t["arrived"], "fees": t["lost_fees"], "exchange": t["lost_exchange"],
                "lost": t["lost_fees"] + t["lost_exchange"], "in_transit": t["in_transit"],
                "held": t["held"],
                "pass_through": (Decimal(t["arrived"]) / Decimal(t["contributed"])).quantize(
                    _RATIO, ROUND_HALF_EVEN) if t["contributed"] else None},
        title=N_("Per northern union (EUR at reference rates)"),
    )
    accounted = t["arrived"] + t["lost_fees"] + t["lost_exchange"] + t["in_transit"] + t["held"]
    check = SummaryLines(
        title=N_("Every euro accounted for"),
        lines=[
            SummaryLine(L.ARRIVED, _eur(t["arrived"]), "+"),
            SummaryLine(L.FEES, _eur(t["lost_fees"]), "+"),
            SummaryLine(L.EXCHANGE, _eur(t["lost_exchange"]), "+"),
            SummaryLine(L.IN_TRANSIT, _eur(t["in_transit"]), "+"),
            SummaryLine(L.STILL_HELD, _eur(t["held"]), "+"),
            SummaryLine(L.CONTRIBUTED, _eur(t["contributed"]), "=", emphasis=True,
                        flag=accounted != t["contributed"]),
        ],
    )
    explain = Note(N_(
        "Contributions are earmarked to the transfers that spent them: first in, first out, "
        "unless a transfer names its source union or forwards an earlier transfer. Loss is "
        "measured on every transfer in EUR at the reference rates of the send and receive "
        "dates: fees are explicit charges and deductions, exchange is the rest. Still held is "
        "money not yet sent South, valued when it entered its holder's account."))
    if result.other_funds:
        explain_other = [Paragraph(N_(
            "Other funds: money sent beyond the contributions traced in the period "
            "(e.g. held from an earlier year)."), "warning")]
    else:
        explain_other = []

    south_table = Table(
        columns=[Column("org", L.MUTUAL_SOCIETY), Column("transfers", N_("Transfers"), "int"),
                 _money_col("eur", L.RECEIVED), _local_column("local", N_("Received (local currency)"),
                               [_local(s.received_local) for s in result.south]),
                 Column("from", N_("From"))],
        rows=[{"org": Verbatim(s.organisation), "transfers": s.transfers, "eur": s.received_eur,
               "local": _local(s.received_local),
               "from": "; ".join(f"{u}: {Money(v, EUR)}" for u, v in s.from_unions.items())}
              for s in result.south],
        totals={"transfers": sum(s.transfers for s in result.south),
                "eur": sum(s.received_eur for s in result.south)},
        title=N_("Per southern organisation"),
    )
    corridor_table = Table(
        columns=[Column("corridor", L.CORRIDOR), Column("transfers", N_("Transfers"), "int"),
                 Column("settled", N_("Settled"), "int"), _money_col("sent", L.SENT),
                 _money_col("lost", L.LOST), _money_col("median", L.MEDIAN_LOSS),
                 Column("median_ratio", L.LOSS_RATIO, "percent", digits=2),
                 Column("worst", L.WORST_TRANSFER), _money_col("worst_loss", L.LOSS)],
        rows=[{"corridor": c.corridor, "transfers": c.transfers, "settled": c.settled,
               "sent": c.sent_eur, "lost": c.lost_eur, "median": c.median_loss_eur,
               "median_ratio": c.median_loss_ratio, "worst": c.worst_reference or "",
               "worst_loss": c.worst_loss_eur} for c in result.corridors],
        title=N_("Per corridor (chains of transfers)"),
    )
    status_label = {"pending": L.IN_TRANSIT, "settled": N_("Settled"), "void": N_("Void")}
    hop_table = Table(
        columns=[Column("reference", L.TRANSFER), Column("from", L.FROM), Column("to", L.TO),
                 Column("status", L.STATUS), Column("sent_on", L.DATE, "date"),
                 Column("sent", L.SENT, "money"), Column("received", L.RECEIVED, "money"),
                 _money_col("value", N_("Value sent")), _money_col("loss", L.LOSS),
                 _money_col("fees", L.FEES), _money_col("exchange", L.EXCHANGE),
                 Column("days", L.DAYS_IN_TRANSIT, "int"), Column("corridor", L.CORRIDOR),
                 Column("flags", N_("Flags"))],
        rows=[{"reference": h.reference, "from": Verbatim(h.origin), "to": Verbatim(h.destination),
               "status": status_label.get(h.status, h.status), "sent_on": h.send_date,
               "sent": h.sent, "received": h.received, "value": h.value_sent_eur,
               "loss": h.loss_eur, "fees": h.fees_eur, "exchange": h.exchange_eur,
               "days": h.days_in_transit, "corridor": h.corridor,
               "flags": " ".join(flags.get(h.reference, ())),
               "_style": "warning" if flags.get(h.reference) else
               ("muted" if h.status == "void" else None)} for h in result.hops],
        totals={"value": sum(h.value_sent_eur for h in result.hops),
                "loss": sum(h.loss_eur or 0 for h in result.hops),
                "fees": sum(h.fees_eur or 0 for h in result.hops),
                "exchange": sum(h.exchange_eur or 0 for h in result.hops)},
        title=N_("Every transfer"),
    )

    series = []
    for u in result.unions:
        contributed = result.monthly_contributed.get(u.union, [])
        arrived = result.monthly_arrived.get(u.union, [])
        series.append(Series(Verbatim(u.union), [
            (Decimal(a) / Decimal(c)).quantize(_RATIO, ROUND_HALF_EVEN) if c else None
            for a, c in zip(arrived, contributed)]))
    chart = BarChart(L.PASS_THROUGH_PER_UNION_PER_MONTH, result.months, series, mode="line",
                     category_label=L.MONTH)
    diagram = _diagram(result)
    return Report(
        title=L.FLOWS_REPORT,
        subtitle=Msg(L.FROM_TO, start=result.start, end=result.end),
        generated_at=generated_at,
        meta=[(L.PERIOD, Msg(L.FROM_TO, start=result.start, end=result.end)),
              (L.CURRENCY, Verbatim(EUR))],
        sections=[
            Section(N_("Unions"), [union_table, check, explain, *explain_other]),
            Section(N_("Charts"), [chart, diagram]),
            Section(N_("South"), [south_table]),
            Section(N_("Corridors"), [corridor_table]),
            Section(N_("Transfers"), [hop_table]),
        ],
    )


def _diagram(result: FlowsResult) -> FlowDiagram:
    """Unions → the Network → mutuals, with losses, money in transit and money held."""
    nodes: dict[str, FlowNode] = {}
    # Where the money ended: the mutuals, then what is in transit, held or lost,
    # all in the last column (one column of labels, read top to bottom).
    special = {"In transit": (L.IN_TRANSIT, 2), "Held": (L.STILL_HELD, 2), "Lost": (L.LOST, 2)}

    def node(name: str) -> str:
        if name not in nodes:
            if name in special:
                label, col = special[name]
                nodes[name] = FlowNode(name, label, col)
            else:
                kind = result.kinds.get(name, "other")
                col = {"union": 0, "network": 1}.get(kind, 2)
                nodes[name] = FlowNode(name, Verbatim(name), col)
        return name

    links = [FlowLink(node(lk.source), node(lk.target), _eur(lk.eur), lk.style)  # type: ignore[arg-type]
             for lk in result.links if lk.source != lk.target]
    rank = {name: n for n, name in enumerate(special)}
    ordered = sorted(nodes.values(), key=lambda nd: (nd.column or 0, rank.get(nd.id, -1)))
    return FlowDiagram(L.NORTH_SOUTH_FLOWS, ordered, links)
