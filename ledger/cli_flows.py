"""``solidarity rates | pledge | transfer | report contributions | report flows``.

Thin wiring: parse options, call one service of ``ledger.rates_store``,
``ledger.pledges``, ``ledger.transfers`` or ``ledger.flows`` in one transaction,
render.  The transfer-loss flags come from ``rules.transfer`` and the eligibility
gate from ``ledger.cli_rules`` (when installed); reports are built by
``reports.flows`` / ``reports.contributions`` and written by ``reports.render``.
Also registers the demo step (order 30) that records the fund's flows.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Connection

from ledger import flows, pledges, rates_store, transfers
from ledger.cli import DATE, Ctx, get_or_create_group, pass_ctx, report_options, write_report
from ledger.errors import InvalidInputError
from ledger.gate import Gate, allow_all
from ledger.money import Money
from ledger.rates import DEFAULT_MAX_AGE_DAYS
from ledger.render import dumps, table

REPORT_FORMATS = ("xlsx", "html", "csv", "json")


def eligibility_gate(rules_path: str | None, actor: str | None = None,
                     lang: str = "en") -> tuple[Gate, bool]:
    """The eligibility gate of ``ledger.cli_rules``; ``(allow_all, False)`` if not installed."""
    try:
        from ledger.cli_rules import eligibility_gate as make
    except ModuleNotFoundError as exc:
        if exc.name != "ledger.cli_rules":
            raise
        return allow_all, False
    return make(rules_path, actor, lang), True


def _ruleset() -> Any:
    try:
        from rules.transfer import load_transfer_rules
    except ModuleNotFoundError:
        return None
    return load_transfer_rules(None)


def transfer_flags(t: transfers.TransferView, as_of: date, lang: str = "en",
                   ruleset: Any = None) -> list[Any]:
    """Flags the transfer-loss rules raise on ``t`` (none for a void transfer)."""
    if ruleset is None or t.value_sent_eur is None or t.status == "void":
        return []
    from rules.transfer import evaluate_transfer, transfer_facts

    settled = t.status == "settled"
    facts = transfer_facts(
        sent_eur=t.value_sent_eur, as_of=as_of, sent_on=t.send_date,
        received_eur=t.value_received_eur if settled else None,
        received_on=t.receive_date if settled else None,
        fee_eur=t.fees_eur,
        exchange_margin_eur=t.exchange_eur if settled else None,
    )
    return evaluate_transfer(ruleset, facts, as_of, lang)


def _m(v: Money | None) -> str:
    return "" if v is None else str(v)


def _transfer_doc(t: transfers.TransferView, flags: Sequence[Any] = (),
                  overdue: bool | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "reference": t.reference, "status": t.status, "from": t.origin, "to": t.destination,
        "source": t.source, "previous": t.previous, "charge_bearer": t.charge_bearer,
        "send_date": t.send_date, "sender_account": t.sender_account, "sent": t.sent,
        "sender_fee": t.sender_fee, "send_entry": t.send_entry_id, "send_bank_line": t.send_line_id,
        "receive_date": t.receive_date, "receiver_account": t.receiver_account,
        "received": t.received, "receiver_fee": t.receiver_fee, "intermediary": t.intermediary,
        "receive_entry": t.receive_entry_id, "receive_bank_line": t.receive_line_id,
        "void_date": t.void_date, "void_entry": t.void_entry_id,
        "value_sent_eur": t.value_sent_eur, "value_received_eur": t.value_received_eur,
        "loss_eur": t.loss_eur, "fees_eur": t.fees_eur, "exchange_eur": t.exchange_eur,
        "days_in_transit": t.days_in_transit, "override_id": t.override_id,
        "override_reason": t.override_reason,
        "flags": [f.to_dict() for f in flags],
    }
    if overdue is not None:
        doc["overdue"] = overdue
    return doc


def _transfer_text(t: transfers.TransferView, flags: Sequence[Any]) -> str:
    lines = [f"{t.reference}: {t.origin} → {t.destination} [{t.status}]",
             (f"  sent      {t.send_date}  {t.sent} + fee {t.sender_fee} ({t.charge_bearer}) "
             f"from {t.sender_account}")]
    if t.previous:
        lines.append(f"  forwards  {t.previous}")
    if t.source:
        lines.append(f"  source    {t.source}")
    if t.received is not None:
        lines.append(f"  received  {t.receive_date}  {t.received} on {t.receiver_account}"
                     + (f", receiver fee {t.receiver_fee}" if t.receiver_fee else "")
                     + (f", intermediary {t.intermediary}" if t.intermediary else ""))
    if t.void_date:
        lines.append(f"  voided    {t.void_date}")
    if t.value_sent_eur is not None:
        lines.append(f"  value sent {t.value_sent_eur}"
                     + (f", received {t.value_received_eur}" if t.value_received_eur else ""))
    if t.loss_eur is not None:
        lines.append(f"  loss {t.loss_eur} = fees {t.fees_eur} + exchange {t.exchange_eur}"
                     + (f"; {t.days_in_transit} day(s) in transit"
                        if t.days_in_transit is not None else ""))
    if t.override_reason:
        lines.append(f"  eligibility override #{t.override_id}: {t.override_reason}")
    lines += [f"  flag [{f.severity}] {f.message}" for f in flags]
    return "\n".join(lines)


def _year_bounds(year: int) -> tuple[date, date]:
    if not 1900 <= year <= 2999:
        raise InvalidInputError(f"--year {year}: not a plausible year")
    return date(year, 1, 1), date(year, 12, 31)


def _severity(code: str, lang: str) -> str:
    """A flag's severity in the report's language (codes stay codes in JSON)."""
    from rules.model import SEVERITY_LABELS

    return SEVERITY_LABELS.get(code, {}).get(lang[:2], code)


def flows_report(conn: Connection, year: int, lang: str,
                 max_rate_age: int | None = DEFAULT_MAX_AGE_DAYS) -> tuple[Any, flows.FlowsResult]:
    """The flows of ``year`` and their report, flagged by the transfer-loss rules."""
    from reports.flows import build_flows_report

    start, end = _year_bounds(year)
    res = flows.compute_flows(conn, start, end, max_rate_age)
    ruleset = _ruleset()
    flags: dict[str, list[str]] = {}
    if ruleset is not None:
        as_of = min(end, date.today())
        for t in transfers.list_transfers(conn, year=year):
            found = transfer_flags(t, as_of, lang, ruleset)
            if found:
                flags[t.reference] = [f"[{_severity(f.severity, lang)}] {f.message}"
                                      for f in found]
    return build_flows_report(res, flags, datetime.now(UTC)), res


def register(main: click.Group) -> None:
    """Attach the rates, pledge, transfer and report commands; register the demo step."""
    from ledger.demo import add_step

    add_step(30, demo_step)

    # -- rates -------------------------------------------------------------------
    @main.group("rates")
    def rates_grp() -> None:
        """Reference exchange rates (ECB files and simple CSV); fixed parities built in."""

    @rates_grp.command("import")
    @click.argument("files", nargs=-1, required=True,
                    type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @pass_ctx
    def rates_import(c: Ctx, files: tuple[Path, ...]) -> None:
        """Store the rates of FILES (all or nothing; known rates are counted, not stored twice)."""
        try:
            outs = c.write(rates_store.import_rate_files, list(files))
        except rates_store.RatesRefused as exc:
            if c.as_json:
                click.echo(dumps({"ok": False, "errors": exc.problems}))
            for p in exc.problems:
                click.echo(p, err=True)
            click.echo(f"error: rates refused ({len(exc.problems)} problem(s)); "
                       "nothing was stored", err=True)
            sys.exit(1)
        c.emit({"ok": True, "files": [vars(o) if hasattr(o, "__dict__") else
                                      {k: getattr(o, k) for k in o.__dataclass_fields__}
                                      for o in outs]},
               "\n".join([f"{o.file}: {o.format}, {o.rates} rates, {o.new} new, "
                          f"{o.known} already known" for o in outs]
                         + [f"warning: {w}" for o in outs for w in o.warnings]))

    @rates_grp.command("list")
    @pass_ctx
    def rates_list(c: Ctx) -> None:
        """Currencies with a rate: how many, from when to when, the latest."""
        rows = c.read(rates_store.list_rates)
        c.emit({"currencies": rows}, lambda: table(
            ["currency", "rates", "first", "last", "latest per EUR", "source"],
            [[r.currency, r.count or "", r.first or "", r.last or "", r.latest_per_eur, r.source]
             for r in rows], right=[1, 4]))

    @rates_grp.command("show")
    @click.argument("currency")
    @click.option("--on", "on", type=DATE, default=None, help="Date (default today).")
    @click.option("--max-age", type=click.IntRange(min=0), default=DEFAULT_MAX_AGE_DAYS,
                  show_default=True, help="Refuse a rate older than this many days.")
    @pass_ctx
    def rates_show(c: Ctx, currency: str, on: date | None, max_age: int) -> None:
        """The reference rate of CURRENCY that applies on a date (latest on or before it)."""
        day = on or date.today()
        r = c.read(rates_store.rate_on, currency, day, max_age)
        c.emit({"currency": r.currency, "on": day, "rate_date": r.date, "per_eur": r.per_eur,
                "source": r.source},
               f"{r.currency} on {day}: {r.per_eur} per EUR (rate of {r.date}, {r.source})")

    # -- pledges -----------------------------------------------------------------
    @main.group("pledge")
    def pledge_grp() -> None:
        """Pledges: a rate per member (default 1 EUR per member per year)."""

    @pledge_grp.command("add")
    @click.argument("org")
    @click.option("--rate", default="1.00", show_default=True, help="Amount per member.")
    @click.option("--currency", default="EUR", show_default=True)
    @click.option("--per", type=click.Choice(["year", "month"]), default="year",
                  show_default=True)
    @click.option("--from", "start", type=DATE, required=True)
    @click.option("--to", "end", type=DATE, required=True)
    @click.option("--members", type=click.IntRange(min=0),
                  help="Default: the member count declared for the period.")
    @click.option("--note")
    @pass_ctx
    def pledge_add(c: Ctx, org: str, rate: str, currency: str, per: str, start: date, end: date,
                   members: int | None, note: str | None) -> None:
        """Record ORG's pledge for a period."""
        p = c.write(pledges.add_pledge, org, start, end, rate=rate, currency=currency, per=per,
                    members=members, note=note, actor=c.actor)
        c.emit({"ok": True, **_pledge_doc(p)},
               f"pledge #{p.id}: {p.organisation} {p.rate} per member per {p.frequency}, "
               f"{p.members} members, {p.period_start} – {p.period_end}: expected {p.expected}")

    @pledge_grp.command("list")
    @click.option("--org")
    @click.option("--year", type=int)
    @pass_ctx
    def pledge_list(c: Ctx, org: str | None, year: int | None) -> None:
        """List pledges with their expected contribution."""
        rows = c.read(pledges.list_pledges, org, year)
        c.emit({"pledges": [_pledge_doc(p) for p in rows]}, lambda: table(
            ["#", "organisation", "from", "to", "rate", "per", "members", "expected"],
            [[p.id, p.organisation, p.period_start, p.period_end, c.money(p.rate), p.frequency,
              p.members, c.money(p.expected)] for p in rows], right=[4, 6, 7]))

    # -- transfers ---------------------------------------------------------------
    @main.group("transfer")
    def transfer_grp() -> None:
        """Two-phase transfers: send (in transit), receive (loss measured) or void."""

    @transfer_grp.command("send")
    @click.option("--from-org", required=True)
    @click.option("--to-org", required=True)
    @click.option("--from-account", required=True, help="Sender's bank account.")
    @click.option("--amount", required=True, help="Amount sent, fees excluded.")
    @click.option("--fee", help="Fees the sender's bank charged (account currency).")
    @click.option("--bearer", type=click.Choice(["OUR", "SHA", "BEN"], case_sensitive=False),
                  default="SHA", show_default=True, help="Charge bearer.")
    @click.option("--date", "on", type=DATE, required=True)
    @click.option("--reference", required=True, help="Unique transfer reference.")
    @click.option("--source-org", help="Union whose money this spends first.")
    @click.option("--previous", help="Reference of the transfer whose money this forwards.")
    @click.option("--bank-line", type=int, help="Id of the bank line showing the debit.")
    @click.option("--override", is_flag=True, help="Send despite an eligibility refusal.")
    @click.option("--reason", help="Why (required with --override; recorded).")
    @click.option("--rules", "rules_path", help="Eligibility rule set (default: shipped).")
    @click.option("--max-rate-age", type=click.IntRange(min=0), default=DEFAULT_MAX_AGE_DAYS,
                  show_default=True)
    @pass_ctx
    def transfer_send(c: Ctx, from_org: str, to_org: str, from_account: str, amount: str,
                      fee: str | None, bearer: str, on: date, reference: str,
                      source_org: str | None, previous: str | None, bank_line: int | None,
                      override: bool, reason: str | None, rules_path: str | None,
                      max_rate_age: int) -> None:
        """Send a transfer: the money leaves the bank and is in transit."""
        if override and not (reason and reason.strip()):
            raise InvalidInputError("--override needs --reason TEXT (it is recorded)")
        if reason and not override:
            raise InvalidInputError("--reason goes with --override")
        gate, _real = eligibility_gate(rules_path, c.actor, c.lang)
        t = c.write(transfers.send_transfer, reference=reference, from_org=from_org,
                    to_org=to_org, from_account=from_account, amount=_dec(amount, "--amount"),
                    fee=_dec(fee, "--fee") if fee else None, bearer=bearer.upper(), on=on,
                    gate=gate, source_org=source_org, previous=previous, bank_line=bank_line,
                    override_reason=reason if override else None, actor=c.actor,
                    max_rate_age=max_rate_age)
        c.emit({"ok": True, **_transfer_doc(t)},
               f"sent {t.reference}: {t.sent} + fee {t.sender_fee} from {t.origin} to "
               f"{t.destination}, in transit (value {t.value_sent_eur})"
               + (f"; eligibility override #{t.override_id} recorded" if t.override_id else ""))

    @transfer_grp.command("receive")
    @click.argument("reference")
    @click.option("--account", required=True, help="Receiving bank account.")
    @click.option("--amount", required=True, help="Amount credited, account currency.")
    @click.option("--date", "on", type=DATE, required=True)
    @click.option("--receiver-fee", help="Fee stated by the receiving bank (account currency).")
    @click.option("--intermediary", help="Correspondent bank deduction.")
    @click.option("--intermediary-currency", help="Its currency (default: the sent currency).")
    @click.option("--bank-line", type=int, help="Id of the bank line showing the credit.")
    @click.option("--max-rate-age", type=click.IntRange(min=0), default=DEFAULT_MAX_AGE_DAYS,
                  show_default=True)
    @pass_ctx
    def transfer_receive(c: Ctx, reference: str, account: str, amount: str, on: date,
                         receiver_fee: str | None, intermediary: str | None,
                         intermediary_currency: str | None, bank_line: int | None,
                         max_rate_age: int) -> None:
        """Settle a transfer with what arrived; measure and post its loss."""
        t = c.write(transfers.receive_transfer, reference, account=account,
                    amount=_dec(amount, "--amount"),
                    on=on, receiver_fee=_dec(receiver_fee, "--receiver-fee") if receiver_fee
                    else None,
                    intermediary=_dec(intermediary, "--intermediary") if intermediary else None,
                    intermediary_currency=intermediary_currency, bank_line=bank_line,
                    actor=c.actor, max_rate_age=max_rate_age)
        flags = transfer_flags(t, on, c.lang, _ruleset())
        c.emit({"ok": True, **_transfer_doc(t, flags)}, lambda: _transfer_text(t, flags))

    @transfer_grp.command("void")
    @click.argument("reference")
    @click.option("--date", "on", type=DATE, required=True)
    @pass_ctx
    def transfer_void(c: Ctx, reference: str, on: date) -> None:
        """Cancel a transfer that never arrived (the money returns; fees stay lost)."""
        t = c.write(transfers.void_transfer, reference, on, c.actor)
        c.emit({"ok": True, **_transfer_doc(t)},
               f"voided {t.reference}: {t.sent} back on {t.sender_account}; "
               f"fees lost {t.loss_eur}")

    @transfer_grp.command("list")
    @click.option("--status", type=click.Choice(list(transfers.STATUSES)))
    @click.option("--flag-older-than", type=click.IntRange(min=0), metavar="DAYS",
                  help="Flag transfers still in transit after DAYS days.")
    @click.option("--as-of", type=DATE, help="Date the ages are measured at (default today).")
    @pass_ctx
    def transfer_list(c: Ctx, status: str | None, flag_older_than: int | None,
                      as_of: date | None) -> None:
        """List transfers, with their loss and flags."""
        rows = c.read(transfers.list_transfers, status)
        day = as_of or date.today()
        ruleset = _ruleset()
        flags = {t.reference: transfer_flags(t, day, c.lang, ruleset) for t in rows}
        overdue = {t.reference: (t.overdue(day, flag_older_than)
                                 if flag_older_than is not None else None) for t in rows}
        c.emit({"as_of": day, "transfers": [_transfer_doc(t, flags[t.reference],
                                                          overdue[t.reference]) for t in rows]},
               lambda: table(
                   ["reference", "status", "from", "to", "sent", "date", "received", "loss EUR",
                    "flags"],
                   [[t.reference, t.status, t.origin, t.destination, c.money(t.sent),
                     t.send_date, c.money(t.received) if t.received else "",
                     c.money(t.loss_eur) if t.loss_eur is not None else "",
                     " ".join(([f"PENDING>{flag_older_than}d"] if overdue[t.reference] else [])
                              + [f.rule_id for f in flags[t.reference]])]
                    for t in rows], right=[4, 6, 7]) if rows else "no transfers")
        if flag_older_than is not None and any(overdue.values()) and not c.as_json:
            n = sum(1 for v in overdue.values() if v)
            click.echo(f"{n} transfer(s) in transit for more than {flag_older_than} days",
                       err=True)

    @transfer_grp.command("show")
    @click.argument("reference")
    @click.option("--as-of", type=DATE, help="Date the flags are evaluated at (default today).")
    @pass_ctx
    def transfer_show(c: Ctx, reference: str, as_of: date | None) -> None:
        """One transfer with its entries, bank lines, loss split and flags."""
        t = c.read(transfers.get_transfer, reference)
        flags = transfer_flags(t, as_of or date.today(), c.lang, _ruleset())
        c.emit(_transfer_doc(t, flags), lambda: _transfer_text(t, flags))

    # -- reports ---------------------------------------------------------------
    report_grp = get_or_create_group(main, "report", "Reports for auditors, unions and the Network.")

    def flow_report_options(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn = click.option("--max-rate-age", type=click.IntRange(min=0),
                          default=DEFAULT_MAX_AGE_DAYS, show_default=True,
                          help="Refuse reference rates older than this many days.")(fn)
        fn = click.option("--lang", "report_lang", type=click.Choice(["en", "fr", "es"]),
                          help="Report language (default: the global --lang).")(fn)
        fn = click.option("--year", type=int, required=True)(fn)
        return report_options(fn)

    @report_grp.command("contributions")
    @flow_report_options
    @pass_ctx
    def report_contributions(c: Ctx, year: int, report_lang: str | None, max_rate_age: int,
                             fmt: str, out: Path | None) -> None:
        """Per union and period: members, expected, received, arrears or surplus."""
        from reports.contributions import build_contributions_report

        start, end = _year_bounds(year)
        res = c.read(flows.compute_contributions, start, end, max_rate_age)
        if report_lang:
            c.lang = report_lang
        write_report(c, build_contributions_report(res, datetime.now(UTC)), fmt, out,
                     {"rows": len(res.rows)})

    @report_grp.command("flows")
    @flow_report_options
    @pass_ctx
    def report_flows(c: Ctx, year: int, report_lang: str | None, max_rate_age: int, fmt: str,
                     out: Path | None) -> None:
        """Each euro traced: per union, per southern organisation, per corridor."""
        if report_lang:
            c.lang = report_lang
        report, res = c.read(flows_report, year, c.lang, max_rate_age)
        write_report(c, report, fmt, out, {k: Money(v, "EUR") for k, v in res.totals().items()})


def _dec(text: str | None, what: str) -> Decimal:
    from ledger.money import MoneyError, parse_amount

    try:
        return parse_amount(text or "")
    except MoneyError as exc:
        raise InvalidInputError(f"{what}: {exc}") from None


def _pledge_doc(p: pledges.PledgeView) -> dict[str, Any]:
    return {"id": p.id, "organisation": p.organisation, "from": p.period_start,
            "to": p.period_end, "rate": p.rate, "per": p.frequency, "members": p.members,
            "months": p.months, "expected": p.expected, "note": p.note}


# -- the demo step -----------------------------------------------------------------

def demo_step(engine: Any, folder: Path, actor: str | None, lang: str, result: Any) -> str:
    """Demo step 30: the Network's transfers to the Burkina Faso and Côte d'Ivoire mutuals
    (through the eligibility gate), then the contributions and flows reports of 2026 in
    xlsx and html, English and French, in ``<folder>/reports``."""
    from ledger.db import unit_of_work
    from ledger.demo_flows import YEAR, network_transfers
    from reports.contributions import build_contributions_report
    from reports.render import render

    gate, real = eligibility_gate(None, actor, lang)
    notes: list[str] = []
    with unit_of_work(engine) as conn:
        settled, pending = network_transfers(conn, actor, gate, notes.append)
    reports_dir = folder / "reports"
    reports_dir.mkdir(exist_ok=True)
    written = []
    start, end = _year_bounds(YEAR)
    with unit_of_work(engine) as conn:
        contrib = flows.compute_contributions(conn, start, end)
        for language in ("en", "fr"):
            report, res = flows_report(conn, YEAR, language)
            for fmt in ("xlsx", "html"):
                target = reports_dir / f"flows-{YEAR}.{language}.{fmt}"
                render(report, fmt, language, target)
                written.append(target.name)
            creport = build_contributions_report(contrib, datetime.now(UTC))
            for fmt in ("xlsx", "html"):
                target = reports_dir / f"contributions-{YEAR}.{language}.{fmt}"
                render(creport, fmt, language, target)
                written.append(target.name)
    t = res.totals()
    result.extras["flows"] = {
        "year": YEAR, "gate": "eligibility rules" if real else "allow all",
        "network_transfers": {"settled": settled, "in_transit": pending},
        "totals_eur": {k: Money(v, "EUR").to_decimal_string() for k, v in t.items()},
        "reports": written, "notes": notes}
    lost = Money(t["lost_fees"] + t["lost_exchange"], "EUR")
    return (f"flows {YEAR}: {settled} transfers settled and {pending} in transit to the mutuals; "
            f"contributed {Money(t['contributed'], 'EUR')}, arrived "
            f"{Money(t['arrived'], 'EUR')}, lost {lost}; reports written"
            + "".join(f"; {n}" for n in notes))
