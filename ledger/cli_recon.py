"""``solidarity reconcile`` and ``solidarity report reconciliation``."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Connection

from ledger import reconcile as rec
from ledger.cli import (
    DATE,
    Ctx,
    get_or_create_group,
    pass_ctx,
    report_options,
    write_report,
)
from ledger.errors import InvalidInputError
from ledger.matching import MatchConfig
from ledger.money import Money


def _load_rules(path: Path | None) -> list[Any]:
    if path is None:
        return []
    from ledger.posting_rules import PostingRulesError, load_posting_rules

    try:
        return load_posting_rules(path)
    except PostingRulesError as exc:
        raise InvalidInputError("\n".join(exc.diagnostics)) from None


def register(main: click.Group) -> None:
    """Attach the reconciliation commands (and the demo's reconciliation step)."""
    from ledger.demo import add_step

    add_step(40, demo_reconcile_step)

    @main.group(invoke_without_command=True)
    @click.option("--account", help="Bank account to reconcile.")
    @click.option("--from", "start", type=DATE, help="First date considered.")
    @click.option("--to", "end", type=DATE, help="Last date considered.")
    @click.option("--window", type=click.IntRange(0, 60), default=5, show_default=True,
                  help="Largest date difference (days) for amount+date matching.")
    @click.option("--rules", "rules_path", type=click.Path(exists=True, dir_okay=False,
                                                           path_type=Path),
                  help="Posting rules (TOML) for lines still unmatched.")
    @click.pass_context
    def reconcile(ctx: click.Context, account: str | None, start: date | None,
                  end: date | None, window: int, rules_path: Path | None) -> None:
        """Match bank lines with postings: exact keys, amount+date+text, groups, rules.

        Re-running never undoes a manual match nor matches a line twice.
        """
        if ctx.invoked_subcommand is not None:
            return
        c: Ctx = ctx.obj
        if not account:
            raise click.UsageError("--account is required")
        rules = _load_rules(rules_path)
        cfg = MatchConfig(date_window_days=window, group_date_window_days=window)
        out = c.write(rec.reconcile, account, start, end, cfg, rules, c.actor)
        total = sum(out.matched.values())
        c.emit({"account": account, "matched": total,
                "by_stage": {str(k): v for k, v in out.matched.items()},
                "entries_created": out.created_entries, "ambiguous": out.ambiguous,
                "unmatched_lines": out.unmatched_lines,
                "unmatched_postings": out.unmatched_postings},
               "\n".join([f"{account}: {total} new match(es) "
                          + ", ".join(f"stage {k}: {v}" for k, v in out.matched.items()),
                          f"{len(out.created_entries)} entr(ies) created by posting rules",
                          f"{len(out.ambiguous)} left for a person (ties, key/amount differences)",
                          (f"unmatched: {out.unmatched_lines} bank line(s), "
                           f"{out.unmatched_postings} posting(s)")]))

    @reconcile.command("match")
    @click.option("--account", required=True)
    @click.option("--line", "lines", type=int, multiple=True, required=True,
                  help="Bank line id (repeat for several).")
    @click.option("--posting", "postings", type=int, multiple=True, required=True,
                  help="Posting id (repeat for several).")
    @click.option("--note")
    @pass_ctx
    def match_cmd(c: Ctx, account: str, lines: tuple[int, ...], postings: tuple[int, ...],
                  note: str | None) -> None:
        """Match bank lines with postings by hand (sums must be equal)."""
        mid = c.write(rec.manual_match, account, lines, postings, c.actor, note)
        c.emit({"ok": True, "match": mid}, f"stored manual match #{mid}")

    @reconcile.command("unmatch")
    @click.argument("match_id", type=int)
    @pass_ctx
    def unmatch_cmd(c: Ctx, match_id: int) -> None:
        """Undo a match (it stays in the audit trail)."""
        c.write(rec.unmatch, match_id, c.actor)
        c.emit({"ok": True, "match": match_id}, f"match #{match_id} undone")

    @reconcile.command("writeoff")
    @click.option("--account", required=True)
    @click.option("--line", "lines", type=int, multiple=True, required=True)
    @click.option("--posting", "postings", type=int, multiple=True)
    @click.option("--to", "counter", required=True,
                  help="Account taking the difference, e.g. 'Expenses:Bank fees'.")
    @click.option("--tolerance", default="1.00", show_default=True,
                  help="Largest difference that may be written off.")
    @click.option("--date", "on", type=DATE)
    @pass_ctx
    def writeoff_cmd(c: Ctx, account: str, lines: tuple[int, ...], postings: tuple[int, ...],
                     counter: str, tolerance: str, on: date | None) -> None:
        """Write off a small difference with an explicit adjustment entry, and match."""
        def run(conn: Connection) -> tuple[int, int]:
            acc = rec.account_ref(conn, account)
            return rec.writeoff(conn, account, lines, postings, counter,
                                Money.of(tolerance, acc.currency), on, c.actor)

        mid, eid = c.write(run)
        c.emit({"ok": True, "match": mid, "entry": eid},
               f"posted write-off entry #{eid} and stored match #{mid}")

    @reconcile.command("flag")
    @click.option("--account", required=True)
    @click.option("--line", "lines", type=int, multiple=True,
                  help="Bank line that is the bank's error (repeat for several).")
    @click.option("--posting", "postings", type=int, multiple=True,
                  help="Posting that is an error in the books (repeat for several).")
    @click.option("--note", required=True, help="What the error is (kept with the flag).")
    @pass_ctx
    def flag_cmd(c: Ctx, account: str, lines: tuple[int, ...], postings: tuple[int, ...],
                 note: str) -> None:
        """Flag bank lines as bank errors, or postings as book errors (± in the statement)."""
        mid = c.write(rec.flag_error, account, lines, postings, note, c.actor)
        kind = "bank" if lines else "book"
        c.emit({"ok": True, "match": mid, "kind": f"{kind}_error"},
               f"recorded {kind} error #{mid} (undo with `reconcile unmatch {mid}`)")

    @reconcile.command("status")
    @click.option("--account", required=True)
    @click.option("--period", required=True, help="YYYY-MM or YYYY.")
    @pass_ctx
    def status_cmd(c: Ctx, account: str, period: str) -> None:
        """The reconciliation figures of a period, without writing a report."""
        from reports.reconciliation import summary_dict

        data = c.read(rec.reconciliation_data, account, period)
        doc = summary_dict(data)
        c.emit(doc, "\n".join(f"{k:<28} {v}" for k, v in doc.items()))

    report = get_or_create_group(main, "report", "Reports for auditors, unions and the Network.")

    @report.command("reconciliation")
    @click.option("--account", required=True)
    @click.option("--period", required=True, help="YYYY-MM or YYYY.")
    @click.option("--prepared-by", help="Name in the sign-off block (default: --actor).")
    @report_options
    @pass_ctx
    def report_reconciliation(c: Ctx, account: str, period: str, prepared_by: str | None,
                              fmt: str, out: Path | None) -> None:
        """The bank reconciliation statement of ACCOUNT for a period."""
        from reports.reconciliation import build_reconciliation_report, summary_dict

        def run(conn: Connection) -> tuple[Any, Any]:
            data = rec.reconciliation_data(conn, account, period)
            ids = [i for m in data.matched for i in m["lines"]]
            return data, rec.line_amounts(conn, ids)

        data, amounts = c.read(run)
        report_obj = build_reconciliation_report(data, amounts, prepared_by or c.actor)
        write_report(c, report_obj, fmt, out, summary_dict(data))


DEMO_RULES = """\
# Posting rules of the demo: bank lines no entry explains become entries.
[[rule]]
id = "bank-fees"
counterparty = "(?i)^banque$"
text = "(?i)frais"
sign = "debit"
counter_account = "Expenses:Bank fees:EUR"
description = "Bank fees: {text}"
"""


def demo_reconcile_step(engine: Any, folder: Path, actor: str | None, lang: str,
                        result: Any) -> str:
    """Reconcile the demo's statements and write the report (xlsx, html; en, fr)."""
    from ledger.db import unit_of_work
    from ledger.demo import bank_account
    from ledger.orgs import ensure_account
    from ledger.posting_rules import load_posting_rules
    from reports.reconciliation import build_reconciliation_report
    from reports.render import render

    rules_file = folder / "posting-rules.toml"
    rules_file.write_text(DEMO_RULES, encoding="utf-8")
    rules = load_posting_rules(rules_file)
    reports_dir = folder / "reports"
    reports_dir.mkdir(exist_ok=True)
    done = []
    for org, cur in (("Network", "EUR"), ("SNES-FSU", "EUR"), ("CSQ", "CAD"),
                     ("MS-Éducation Burkina", "XOF")):
        account = bank_account(org, cur)
        with unit_of_work(engine) as conn:
            ensure_account(conn, "Expenses:Bank fees:EUR", "expense", "EUR")
            out = rec.reconcile(conn, account, posting_rules=rules if cur == "EUR" else (),
                                actor=actor)
        with unit_of_work(engine) as conn:
            data = rec.reconciliation_data(conn, account, "2026-12")
            amounts = rec.line_amounts(conn, [i for m in data.matched for i in m["lines"]])
        report = build_reconciliation_report(data, amounts, actor or "demo")
        slug = re.sub(r"[^a-z0-9]+", "-", unicodedata.normalize("NFKD", org).encode(
            "ascii", "ignore").decode().lower()).strip("-")
        for language in ("en", "fr"):
            for fmt in ("xlsx", "html"):
                name = f"reconciliation-{slug}-2026-12.{language}.{fmt}"
                render(report, fmt, language, reports_dir / name)
        done.append(f"{org} {sum(out.matched.values())} matched, difference "
                    f"{data.difference.to_decimal_string()} {cur}")
        result.extras.setdefault("reconciliation", {})[account] = {
            "matched": sum(out.matched.values()), "difference": data.difference.to_decimal_string()}
    return "reconciled: " + "; ".join(done)
