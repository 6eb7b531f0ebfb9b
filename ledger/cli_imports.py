"""``solidarity import`` and ``solidarity profiles``: bank files into the ledger.

Reading is done by ``imports`` (pure), storing by ``ledger.statements``; this
module only wires them, in one transaction for the whole command.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Connection

from ledger import statements
from ledger.cli import Ctx, pass_ctx
from ledger.render import table

PROGRESS_THRESHOLD = 5000


class _DryRun(Exception):
    """Raised at the end of a dry run so the transaction rolls back."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_files(files: tuple[Path, ...], profile: str, currency: str | None) -> tuple[list[Any], list[str], list[str]]:
    """Read every file; return (per-file results, errors, warnings) as ``file:line:`` texts."""
    from imports.detect import read_file
    from imports.model import ImportFileError

    results, errors, warnings = [], [], []
    for f in files:
        try:
            res = read_file(f, profile, currency_hint=currency)
        except ImportFileError as exc:
            errors.append(str(exc))
            continue
        except Exception as exc:  # ProfileError and friends: a user-facing refusal
            if exc.__class__.__module__.startswith("imports"):
                errors.append(f"{f}: {exc}")
                continue
            raise
        errors += [str(d) for d in res.errors]
        warnings += [str(d) for d in res.diagnostics if d not in res.errors]
        if not res.errors and not res.statements:
            errors.append(f"{f}: no statement found in the file")
        results.append((f, res))
    return results, errors, warnings


def run_import(
    engine: Any, files: Sequence[Path], account: str, *, profile: str = "auto",
    currency: str | None = None, dry_run: bool = False, allow_gap: bool = False,
    actor: str | None = None, progress: bool = False,
) -> statements.ImportOutcome:
    """Read and store ``files`` into ``account`` in one transaction (the import command).

    A file whose bytes were already imported into the account is not parsed
    again.  Raises :class:`~ledger.statements.ImportRefused` listing every
    problem of every file; nothing is stored then.
    """
    from ledger.db import require_schema, unit_of_work

    hashes = {f: _sha256(f) for f in files}
    with unit_of_work(engine) as conn:
        require_schema(conn)
        repeats = {f: prev for f in files
                   if (prev := statements.previous_import(conn, account, hashes[f])) is not None}
    results, errors, warnings = read_files(tuple(f for f in files if f not in repeats),
                                           profile, currency)
    if errors:
        raise statements.ImportRefused(errors, warnings)
    read = dict(results)
    total = sum(res.line_count for res in read.values())
    bar_cm: Any = (click.progressbar(length=total, label="importing", file=sys.stderr)
                   if progress and total > PROGRESS_THRESHOLD else nullcontext(None))
    outcome = statements.ImportOutcome(warnings=warnings, dry_run=dry_run)
    try:
        with bar_cm as bar, unit_of_work(engine) as conn:
            problems: list[str] = []
            for f in files:
                if f in repeats:
                    outcome.files.append(statements.record_repeat(conn, account, str(f),
                                                                  repeats[f], actor))
                    continue
                res = read[f]
                try:
                    outcome.files.append(statements.store_file(
                        conn, account, str(f), hashes[f], _fmt(res), res.statements,
                        profile=None if profile == "auto" else profile, actor=actor,
                        allow_gap=allow_gap, progress=bar.update if bar else None))
                except statements.ImportRefused as exc:
                    problems += exc.problems
            if problems:
                raise statements.ImportRefused(problems)
            if dry_run:
                raise _DryRun()
    except _DryRun:
        pass
    return outcome


def register(main: click.Group) -> None:
    """Attach the import commands to the root group (and the demo's import step)."""
    from ledger.demo import add_step

    # After the flows (30), so the statements show every movement the banks saw.
    add_step(35, demo_import_step)

    @main.command("import")
    @click.argument("files", nargs=-1, required=True,
                    type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--account", required=True, help="Ledger bank account the statements belong to.")
    @click.option("--profile", default="auto", show_default=True,
                  help="Profile name or .toml path for CSV/XLSX; 'auto' detects.")
    @click.option("--currency", help="Currency of CSV/XLSX/QIF lines when the file states none "
                  "(default: the account's).")
    @click.option("--dry-run", is_flag=True, help="Check and count, write nothing.")
    @click.option("--allow-gap", is_flag=True,
                  help="Import even if balances do not chain with the previous statement.")
    @pass_ctx
    def import_cmd(c: Ctx, files: tuple[Path, ...], account: str, profile: str,
                   currency: str | None, dry_run: bool, allow_gap: bool) -> None:
        """Import bank statements (CSV, XLSX, camt.05x, MT940, OFX, QIF) into ACCOUNT.

        Idempotent: lines already known are counted, never stored twice.
        Atomic: any error in any file stores nothing and lists every problem.
        """
        if currency is None:
            from ledger.orgs import list_accounts

            accs = {a.code: a for a in c.read(list_accounts)}
            currency = accs[account].currency if account in accs else None
        try:
            outcome = run_import(c.engine, files, account, profile=profile, currency=currency,
                                 dry_run=dry_run, allow_gap=allow_gap, actor=c.actor,
                                 progress=not c.as_json)
        except statements.ImportRefused as exc:
            _refuse(c, exc.problems, exc.warnings)
        doc = {**outcome.totals(), "dry_run": dry_run,
               "files": [vars(f) for f in outcome.files], "diagnostics": outcome.warnings}
        t = outcome.totals()
        verb = "would add" if dry_run else "added"
        c.emit(doc, "\n".join(
            [f"{f.file}: {f.format}, {f.statements} statement(s), {f.lines} lines, "
             f"{f.new} new, {f.already_known} already known" for f in outcome.files]
            + [f"{verb} {t['new']} line(s); {t['already_known']} already known"]
            + [f"warning: {w}" for w in outcome.warnings]))

    @main.group("profiles")
    def profiles() -> None:
        """Bank layouts for CSV/XLSX files (shipped and your own)."""

    @profiles.command("list")
    @pass_ctx
    def profiles_list(c: Ctx) -> None:
        """List the profiles: shipped ones and those of the user profile folder."""
        from imports.profile import list_profiles

        rows = list_profiles()
        c.emit({"profiles": [{"name": p.name, "format": p.format, "description": p.description,
                              "source": str(getattr(p, "source", "") or "")} for p in rows]},
               lambda: table(["name", "format", "description"],
                             [[p.name, p.format, p.description] for p in rows]))

    @profiles.command("show")
    @click.argument("name")
    @pass_ctx
    def profiles_show(c: Ctx, name: str) -> None:
        """Show one profile's TOML."""
        from imports.profile import load_profile

        p = load_profile(name)
        src = getattr(p, "source", None)
        text = Path(src).read_text(encoding="utf-8") if src else repr(p)
        c.emit({"name": p.name, "format": p.format, "source": str(src or ""), "toml": text}, text)

    @main.command("imports")
    @pass_ctx
    def imports_log(c: Ctx) -> None:
        """The import log: every file imported, by whom, when, with counts."""
        rows = c.read(statements.list_imports)
        c.emit({"imports": rows}, lambda: table(
            ["#", "account", "file", "format", "by", "at", "lines", "new", "known"],
            [[r["id"], r["account"], r["file"], r["format"], r["actor"],
              r["imported_at"].strftime("%Y-%m-%d %H:%M"), r["lines"], r["new"],
              r["already_known"]] for r in rows], right=[6, 7, 8]))


def _fmt(res: Any) -> str:
    fmts = sorted({s.format for s in res.statements if s.format})
    return ",".join(fmts) or "unknown"


def _refuse(c: Ctx, errors: list[str], warnings: list[str]) -> None:
    from ledger.render import dumps

    if c.as_json:
        click.echo(dumps({"ok": False, "errors": errors, "diagnostics": warnings}))
    for e in errors:
        click.echo(e, err=True)
    click.echo(f"error: import refused ({len(errors)} problem(s)); nothing was stored", err=True)
    sys.exit(1)


# -- demo step -------------------------------------------------------------------

def _bank_lines(conn: Connection, account: str, prefix: str) -> list[Any]:
    """Statement lines a bank would show for what the books hold on ``account``."""
    from ledger.bankfiles import BankLineSpec
    from ledger.journal import register

    out = []
    for e in register(conn, account=account):
        for n, p in enumerate(e.postings):
            if p.account != account:
                continue
            who = e.description.split(":")[0]
            out.append(BankLineSpec(e.entry_date, p.amount, who, "", p.bank_ref or e.reference or "",
                                    e.description, f"{prefix}{e.id:06d}{n}"))
    return out


def demo_import_step(engine: Any, folder: Path, actor: str | None, lang: str, result: Any) -> str:
    """Write the fund's 2026 bank statements (CSV, XLSX, camt.053) and import them."""
    from datetime import date

    from ledger.bankfiles import (
        BankLineSpec,
        write_camt053,
        write_csv_generic_en,
        write_csv_semicolon_fr,
        write_xlsx_generic_en,
    )
    from ledger.db import unit_of_work
    from ledger.demo import bank_account
    from ledger.money import Money

    out = folder / "statements"
    out.mkdir(exist_ok=True)
    snes, csq, net = (bank_account("SNES-FSU", "EUR"), bank_account("CSQ", "CAD"),
                      bank_account("Network", "EUR"))
    bf = bank_account("MS-Éducation Burkina", "XOF")
    with unit_of_work(engine) as conn:
        snes_lines = [ln for ln in _bank_lines(conn, snes, "FSU") if ln.booking_date.month < 12]
        # The bank charged a fee the treasurer has not booked yet.
        snes_lines.append(BankLineSpec(date(2026, 12, 31), Money.of("-12.50", "EUR"), "Banque",
                                       remittance="Frais de tenue de compte"))
        csq_lines = _bank_lines(conn, csq, "CSQ")
        net_lines = _bank_lines(conn, net, "NET")
        bf_lines = _bank_lines(conn, bf, "BF")
    files = [
        (out / "snes-fsu-2026.csv", snes, lambda p: write_csv_semicolon_fr(p, snes_lines)),
        (out / "csq-2026.xlsx", csq,
         lambda p: write_xlsx_generic_en(p, csq_lines, "Desjardins — relevé de compte CAD 2026")),
        (out / "ms-education-burkina-2026.csv", bf, lambda p: write_csv_generic_en(p, bf_lines)),
        (out / "network-2026.camt053.xml", net,
         lambda p: write_camt053(p, "FR7630006000011234567890189", "EUR", Money.zero("EUR"),
                                 date(2026, 1, 1), net_lines, date(2026, 12, 31), "NET-2026")),
    ]
    counts = []
    for path, account, write in files:
        write(path)
        got = run_import(engine, [path], account, actor=actor).files[0]
        counts.append(f"{path.name} ({got.new} lines)")
    result.extras["statements"] = [str(p) for p, _, _ in files]
    return "imported bank statements: " + ", ".join(counts)
