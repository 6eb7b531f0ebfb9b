"""``solidarity import`` and ``solidarity profiles``: bank files into the ledger.

Reading is done by ``imports`` (pure), storing by ``ledger.statements``; this
module only wires them, in one transaction for the whole command.
"""

from __future__ import annotations

import hashlib
import sys
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

    def __init__(self, outcome: statements.ImportOutcome) -> None:
        super().__init__("dry run")
        self.outcome = outcome


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


def register(main: click.Group) -> None:
    """Attach the import commands to the root group."""

    @main.command("import")
    @click.argument("files", nargs=-1, required=True,
                    type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--account", required=True, help="Ledger bank account the statements belong to.")
    @click.option("--profile", default="auto", show_default=True,
                  help="Profile name or .toml path for CSV/XLSX; 'auto' detects.")
    @click.option("--currency", help="Currency of CSV lines when the file states none "
                  "(default: the account's).")
    @click.option("--dry-run", is_flag=True, help="Check and count, write nothing.")
    @click.option("--allow-gap", is_flag=True,
                  help="Import even if balances do not chain with the previous statement.")
    @pass_ctx
    def import_cmd(c: Ctx, files: tuple[Path, ...], account: str, profile: str,
                   currency: str | None, dry_run: bool, allow_gap: bool) -> None:
        """Import bank statements (CSV, XLSX, camt.05x, MT940, OFX) into ACCOUNT.

        Idempotent: lines already known are counted, never stored twice.
        Atomic: any error in any file stores nothing and lists every problem.
        """
        if currency is None:
            from ledger.orgs import list_accounts

            accs = {a.code: a for a in c.read(list_accounts)}
            currency = accs[account].currency if account in accs else None
        results, errors, warnings = read_files(files, profile, currency)
        if errors:
            _refuse(c, errors, warnings)
        total = sum(res.line_count for _, res in results)
        show_bar = total > PROGRESS_THRESHOLD and not c.as_json

        def run(conn: Connection) -> statements.ImportOutcome:
            outcome = statements.ImportOutcome(warnings=warnings, dry_run=dry_run)
            problems: list[str] = []
            bar_cm = (click.progressbar(length=total, label="importing", file=sys.stderr)
                      if show_bar else None)
            bar = bar_cm.__enter__() if bar_cm else None
            try:
                for f, res in results:
                    try:
                        outcome.files.append(statements.store_file(
                            conn, account, str(f), _sha256(f), _fmt(res), res.statements,
                            profile=None if profile == "auto" else profile, actor=c.actor,
                            allow_gap=allow_gap, progress=bar.update if bar else None))
                    except statements.ImportRefused as exc:
                        problems += exc.problems
            finally:
                if bar_cm:
                    bar_cm.__exit__(None, None, None)
            if problems:
                raise statements.ImportRefused(problems)
            if dry_run:
                raise _DryRun(outcome)
            return outcome

        try:
            outcome = c.write(run)
        except statements.ImportRefused as exc:
            _refuse(c, exc.problems, warnings)
        except _DryRun as dry:
            outcome = dry.outcome
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
