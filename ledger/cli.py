"""The ``solidarity`` command line: parse options, call one service, render.

Every user error ends as one line on stderr (or one JSON document with
``--json``) and a non-zero exit, never a traceback.  Commands that write run
in one database transaction (:func:`ledger.db.unit_of_work`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from ledger import journal, orgs
from ledger.db import make_engine, require_schema, resolve_url, unit_of_work, upgrade
from ledger.domain import EntryDraft, PostingDraft
from ledger.errors import ConcurrencyError, InvalidInputError, LedgerError
from ledger.money import Money, MoneyError
from ledger.render import dumps, locale_for, table

T = TypeVar("T")


# -- shared context ----------------------------------------------------------

@dataclass
class Ctx:
    """Global options and the lazily created engine."""

    db: str | None
    as_json: bool
    lang: str
    actor: str | None
    _engine: Engine | None = field(default=None, repr=False)

    @property
    def engine(self) -> Engine:
        """The database engine (created on first use)."""
        if self._engine is None:
            self._engine = make_engine(self.db)
        return self._engine

    @property
    def locale(self) -> str:
        """The babel locale for ``--lang``."""
        return locale_for(self.lang)

    def read(self, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        """Run a read-only service in one transaction on an initialised database."""
        with unit_of_work(self.engine) as conn:
            require_schema(conn)
            return fn(conn, *args, **kw)

    def write(self, fn: Callable[..., T], *args: Any, retries: int = 5, **kw: Any) -> T:
        """Run a writing service in one transaction; retry if concurrent writers collide."""
        for attempt in range(retries):
            try:
                with unit_of_work(self.engine) as conn:
                    require_schema(conn)
                    return fn(conn, *args, **kw)
            except DBAPIError as exc:
                if not _retryable(exc) or attempt == retries - 1:
                    raise
        raise ConcurrencyError("the database stayed busy; nothing was written, try again")

    def money(self, m: Money) -> str:
        """Money formatted for the chosen language."""
        return m.format(self.locale)

    def emit(self, doc: Any, text: str | Callable[[], str]) -> None:
        """Print ``doc`` as JSON with --json, else the text."""
        if self.as_json:
            click.echo(dumps(doc))
        else:
            click.echo(text() if callable(text) else text)


def _retryable(exc: DBAPIError) -> bool:
    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    if code in {"40001", "40P01"}:  # serialization failure, deadlock
        return True
    return "database is locked" in str(exc).lower()


pass_ctx = click.make_pass_decorator(Ctx)


class DateType(click.ParamType):
    """An ISO date (YYYY-MM-DD)."""

    name = "DATE"

    def convert(self, value: Any, param: Any, ctx: Any) -> date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value).strip())
        except ValueError:
            self.fail(f"{value!r} is not a date (use YYYY-MM-DD)", param, ctx)


DATE = DateType()


def _user_errors() -> tuple[type[BaseException], ...]:
    errs: list[type[BaseException]] = [LedgerError, MoneyError]
    for mod, name in (("imports.model", "ImportFileError"), ("imports.profile", "ProfileError"),
                      ("rules.errors", "RulesError"), ("ledger.posting_rules", "PostingRulesError")):
        try:
            errs.append(getattr(__import__(mod, fromlist=[name]), name))
        except (ImportError, AttributeError):
            pass
    return tuple(errs)


class Main(click.Group):
    """The root group: turns refusals into one clear line and an exit code.

    Feature modules (``ledger.cli_imports``...) are attached on first use, not
    at import time, so they can import this module without a cycle.
    """

    _extended = False

    def _extend(self) -> None:
        if not Main._extended:
            Main._extended = True
            _register_extensions(self)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        self._extend()
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._extend()
        return super().list_commands(ctx)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except _user_errors() as exc:
            _fail(ctx, str(exc))
        except OperationalError as exc:
            _fail(ctx, f"database error: {str(exc.orig).splitlines()[0]} "
                       f"(database {resolve_url(ctx.params.get('db'))})")
        except DBAPIError as exc:
            _fail(ctx, f"database refused the change: {str(exc.orig).splitlines()[0]}")
        except OSError as exc:
            _fail(ctx, f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": "))


def _fail(ctx: click.Context, message: str, code: int = 1) -> None:
    obj = ctx.find_object(Ctx)
    if obj is not None and obj.as_json:
        click.echo(dumps({"ok": False, "error": message}))
    click.echo(f"error: {message}", err=True)
    ctx.exit(code)


@click.group(cls=Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", envvar="SOLIDARITY_DB", metavar="URL",
              help="SQLite path or postgresql+psycopg:// URL (default ./solidarity.db).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.option("--lang", type=click.Choice(["en", "fr", "es"]), default="en", show_default=True,
              help="Language of numbers, dates and labels.")
@click.option("--actor", metavar="NAME", help="Who is acting (default: the OS user).")
@click.version_option(package_name="solidarity-ledger")
@click.pass_context
def main(ctx: click.Context, db: str | None, as_json: bool, lang: str, actor: str | None) -> None:
    """Solidarity ledger: double-entry books for a North-South solidarity fund."""
    ctx.obj = Ctx(db, as_json, lang, actor)


# -- init / verify -----------------------------------------------------------

@main.command()
@pass_ctx
def init(c: Ctx) -> None:
    """Create or upgrade the database schema (safe to re-run)."""
    rev = upgrade(c.engine)
    c.emit({"ok": True, "database": resolve_url(c.db), "revision": rev},
           f"database {resolve_url(c.db)} is at schema revision {rev}")


@main.command()
@pass_ctx
def verify(c: Ctx) -> None:
    """Recompute the hash chain, zero sums and balances; report the first tampered row."""
    rep = c.read(journal.verify)
    doc = {"ok": rep.ok, "entries": rep.entries, "postings": rep.postings,
           "first_bad_entry": rep.first_bad_entry, "problems": rep.problems}
    text = (f"OK: {rep.entries} entries, {rep.postings} postings; hash chain intact, "
            "every entry balances, maintained balances equal the postings"
            if rep.ok else "TAMPERED:\n" + "\n".join(f"  {p}" for p in rep.problems))
    c.emit(doc, text)
    if not rep.ok:
        sys.exit(3)


# -- organisations -----------------------------------------------------------

@main.group()
def org() -> None:
    """Organisations: unions, the Network, mutuals."""


@org.command("add")
@click.argument("name")
@click.option("--kind", required=True, help="union, network, mutual or other.")
@click.option("--country", required=True, help="ISO 3166 code, e.g. BF.")
@click.option("--currency", required=True, help="ISO 4217 code, e.g. XOF.")
@click.option("--members", type=click.IntRange(min=0), help="Declared member count.")
@click.option("--period", help="Period of the member count: YYYY or YYYY-MM.")
@pass_ctx
def org_add(c: Ctx, name: str, kind: str, country: str, currency: str,
            members: int | None, period: str | None) -> None:
    """Add an organisation."""
    oid = c.write(orgs.add_org, name, kind, country, currency, members, period)
    c.emit({"ok": True, "id": oid, "name": name}, f"added organisation {name} (#{oid})")


@org.command("members")
@click.argument("name")
@click.argument("members", type=click.IntRange(min=0))
@click.option("--period", required=True, help="YYYY or YYYY-MM.")
@pass_ctx
def org_members(c: Ctx, name: str, members: int, period: str) -> None:
    """Declare an organisation's member count for a period."""
    c.write(orgs.set_members, name, period, members)
    c.emit({"ok": True, "name": name, "period": period, "members": members},
           f"{name}: {members} members for {period}")


def _org_doc(o: orgs.OrgView) -> dict[str, Any]:
    return {"name": o.name, "kind": o.kind, "country": o.country, "currency": o.currency,
            "members": o.members}


@org.command("list")
@pass_ctx
def org_list(c: Ctx) -> None:
    """List organisations."""
    rows = c.read(orgs.list_orgs)
    c.emit({"organisations": [_org_doc(o) for o in rows]}, lambda: table(
        ["name", "kind", "country", "currency", "members"],
        [[o.name, o.kind, o.country, o.currency,
          ", ".join(f"{p}: {n}" for p, n in o.members.items())] for o in rows]))


@org.command("show")
@click.argument("name")
@pass_ctx
def org_show(c: Ctx, name: str) -> None:
    """Show one organisation and its accounts."""
    o = c.read(orgs.get_org, name)
    accounts = [a for a in c.read(orgs.list_accounts) if a.organisation == o.name]
    doc = _org_doc(o) | {"accounts": [a.code for a in accounts]}
    c.emit(doc, lambda: "\n".join(
        [f"{o.name} ({o.kind}, {o.country}, {o.currency})"]
        + [f"  members {p}: {n}" for p, n in o.members.items()]
        + [f"  account {a.code} [{a.currency}]" for a in accounts]))


# -- accounts ----------------------------------------------------------------

@main.group()
def account() -> None:
    """The chart of accounts."""


@account.command("add")
@click.argument("code")
@click.option("--type", "type_", required=True,
              help="asset, liability, equity, income or expense.")
@click.option("--currency", required=True)
@click.option("--org", help="Owning organisation.")
@click.option("--iban", help="IBAN of a bank account (validated).")
@click.option("--opened", type=DATE, help="Opening date (default: no limit).")
@pass_ctx
def account_add(c: Ctx, code: str, type_: str, currency: str, org: str | None,
                iban: str | None, opened: date | None) -> None:
    """Open an account, e.g. Assets:Bank:Network:EUR."""
    aid = c.write(orgs.add_account, code, type_, currency, org, iban, opened)
    c.emit({"ok": True, "id": aid, "code": code}, f"opened account {code} (#{aid})")


@account.command("close")
@click.argument("code")
@click.option("--on", "on", type=DATE, required=True, help="Last date postings are accepted.")
@pass_ctx
def account_close(c: Ctx, code: str, on: date) -> None:
    """Close an account after a date."""
    c.write(orgs.close_account, code, on)
    c.emit({"ok": True, "code": code, "closed_on": on}, f"closed {code} after {on}")


@account.command("list")
@click.option("--prefix", help="Only this subtree, e.g. Assets:Bank.")
@pass_ctx
def account_list(c: Ctx, prefix: str | None) -> None:
    """List accounts."""
    rows = c.read(orgs.list_accounts, prefix)
    c.emit({"accounts": [
        {"code": a.code, "type": a.type, "currency": a.currency, "organisation": a.organisation,
         "iban": a.iban, "opened_on": a.opened_on, "closed_on": a.closed_on,
         "balance": Money(a.balance_minor, a.currency)} for a in rows]},
        lambda: table(["code", "type", "currency", "organisation", "iban", "closed"],
                      [[a.code, a.type, a.currency, a.organisation or "", a.iban or "",
                        a.closed_on or ""] for a in rows]))


# -- posting -----------------------------------------------------------------

def parse_posting(text: str) -> PostingDraft:
    """``"Assets:Bank:EUR 100.00 EUR"`` → a posting (the account may contain spaces)."""
    parts = text.rsplit(None, 2)
    if len(parts) != 3:
        raise InvalidInputError(f"posting {text!r}: write it as 'ACCOUNT AMOUNT CURRENCY'")
    acc, amount, cur = parts
    try:
        return PostingDraft(acc.strip(), Money.of(amount, cur))
    except MoneyError as exc:
        raise InvalidInputError(f"posting {text!r}: {exc}") from None


@main.command()
@click.argument("postings", nargs=-1, required=True)
@click.option("--date", "on", type=DATE, required=True)
@click.option("--description", "-m", required=True)
@click.option("--reference", help="Reference (invoice, bank id, ...).")
@click.option("--idempotency-key", help="Posting the same key again is a no-op.")
@pass_ctx
def post(c: Ctx, postings: tuple[str, ...], on: date, description: str,
         reference: str | None, idempotency_key: str | None) -> None:
    """Post an entry: each POSTING is 'ACCOUNT AMOUNT CURRENCY' (debit positive)."""
    draft = EntryDraft(on, description, tuple(parse_posting(p) for p in postings),
                       reference=reference, idempotency_key=idempotency_key)
    eid, created = c.write(journal.post, draft, c.actor)
    c.emit({"ok": True, "entry": eid, "created": created},
           f"posted entry #{eid}" if created else f"entry #{eid} already posted (same key)")


@main.command()
@click.option("--date", "on", type=DATE, required=True)
@click.option("--from", "src", nargs=2, required=True, metavar="ACCOUNT AMOUNT",
              help="Account debited and amount in its currency.")
@click.option("--to", "dst", nargs=2, required=True, metavar="ACCOUNT AMOUNT",
              help="Account credited and amount in its currency.")
@click.option("--description", "-m", default="Currency conversion", show_default=True)
@click.option("--reference")
@pass_ctx
def convert(c: Ctx, on: date, src: tuple[str, str], dst: tuple[str, str], description: str,
            reference: str | None) -> None:
    """Post a conversion between two currencies through the trading accounts."""
    from ledger.conversion import conversion_draft

    def run(conn: Connection) -> tuple[int, Any]:
        accs = {a.code: a for a in orgs.list_accounts(conn)}
        for code, _ in (src, dst):
            if code not in accs:
                raise InvalidInputError(f"unknown account {code!r} (see `solidarity account list`)")
        s = Money.of(src[1], accs[src[0]].currency)
        t = Money.of(dst[1], accs[dst[0]].currency)
        draft = conversion_draft(conn, on, src[0], s, dst[0], t, description, reference)
        return journal.post(conn, draft, c.actor)[0], draft.rate

    eid, rate = c.write(run)
    c.emit({"ok": True, "entry": eid, "rate": rate}, f"posted conversion #{eid} at rate {rate}")


@main.command()
@click.argument("entry_id", type=int)
@click.option("--date", "on", type=DATE, help="Date of the reversal (default today).")
@click.option("--description", "-m")
@pass_ctx
def reverse(c: Ctx, entry_id: int, on: date | None, description: str | None) -> None:
    """Reverse a posted entry (the only way to correct one)."""
    rid = c.write(journal.reverse, entry_id, on, c.actor, description)
    c.emit({"ok": True, "entry": rid, "reverses": entry_id},
           f"posted reversal #{rid} of entry #{entry_id}")


@main.command()
@click.option("--at", type=DATE, help="Balances at the end of this date (default: now).")
@click.option("--account", "prefix", help="Only this subtree, with its roll-up.")
@click.option("--all", "include_zero", is_flag=True, help="Include zero balances.")
@pass_ctx
def balance(c: Ctx, at: date | None, prefix: str | None, include_zero: bool) -> None:
    """Balances per account (debit positive) and roll-up totals per currency."""
    rows = c.read(journal.balances, at, prefix, include_zero)
    totals = journal.rollup(rows)
    c.emit(
        {"at": at, "prefix": prefix,
         "accounts": [{"account": r.code, "type": r.type, "balance": r.balance} for r in rows],
         "totals": [{"currency": k, "amount": v.to_decimal_string()} for k, v in totals.items()]},
        lambda: table(["account", "balance"],
                      [[r.code, c.money(r.balance)] for r in rows]
                      + [[f"total {prefix or ''} {k}".replace("  ", " "), c.money(v)]
                         for k, v in totals.items()], right=[1]),
    )


@main.command("journal")
@click.option("--from", "start", type=DATE)
@click.option("--to", "end", type=DATE)
@click.option("--account", help="Only entries touching this subtree.")
@click.option("--limit", type=click.IntRange(min=1))
@pass_ctx
def journal_cmd(c: Ctx, start: date | None, end: date | None, account: str | None,
                limit: int | None) -> None:
    """The register of entries, in posting order."""
    rows = c.read(journal.register, start, end, account, limit)

    def text() -> str:
        out = []
        for e in rows:
            tag = f" (reverses #{e.reverses_id})" if e.reverses_id else ""
            out.append(f"#{e.id} {e.entry_date} {e.description}{tag}")
            out += [f"    {p.account:<48} {c.money(p.amount):>20}" for p in e.postings]
        return "\n".join(out) or "no entries"

    c.emit({"entries": [
        {"id": e.id, "date": e.entry_date, "description": e.description,
         "reference": e.reference, "kind": e.kind, "reverses": e.reverses_id,
         "postings": [{"account": p.account, "amount": p.amount.to_decimal_string(),
                       "currency": p.amount.currency, "memo": p.memo} for p in e.postings]}
        for e in rows]}, text)


@main.group()
def period() -> None:
    """Accounting periods."""


@period.command("close")
@click.argument("through", type=DATE)
@pass_ctx
def period_close(c: Ctx, through: date) -> None:
    """Close every date up to THROUGH (YYYY-MM-DD): no more posting or reversing there."""
    c.write(journal.close_period, through, c.actor)
    c.emit({"ok": True, "closed_through": through}, f"closed through {through}")


# -- demo --------------------------------------------------------------------

@main.command()
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path),
              default=Path("solidarity-demo"), show_default=True,
              help="Folder for the demo database and reports (recreated).")
@pass_ctx
def demo(c: Ctx, folder: Path) -> None:
    """Build a demo fund (unions, Network, mutuals, a year of money), then verify it."""
    from ledger.demo import run_demo

    result = run_demo(folder, lang=c.lang, actor=c.actor)
    c.emit(result.to_dict(), result.summary(c.locale))
    if not result.verified:
        sys.exit(3)


def get_or_create_group(root: click.Group, name: str, help_text: str) -> click.Group:
    """The sub-group ``name`` of ``root``, created on first use (several feature
    modules add commands to ``report``)."""
    existing = root.commands.get(name)
    if isinstance(existing, click.Group):
        return existing
    group = click.Group(name, help=help_text)
    root.add_command(group)
    return group


def write_report(c: Ctx, report: Any, fmt: str, out: Path | None, summary: Any) -> None:
    """Render ``report`` to ``out`` in ``fmt`` and ``--lang``; print a summary.

    Without ``-o`` a JSON report goes to standard output; other formats need a file.
    """
    from reports.render import render, render_bytes

    if out is None:
        if fmt != "json":
            raise InvalidInputError(f"-o FILE is needed for --format {fmt}")
        click.echo(render_bytes(report, "json", c.lang).decode("utf-8"))
        return
    render(report, fmt, c.lang, out)
    c.emit({"ok": True, "file": str(out), "format": fmt, "lang": c.lang, "summary": summary},
           f"wrote {out} ({fmt}, {c.lang})")


def report_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """The options every report command takes: --format and -o."""
    f = click.option("-o", "--output", "out", type=click.Path(dir_okay=False, path_type=Path),
                     help="File to write (stdout for JSON when omitted).")(f)
    return click.option("--format", "fmt", type=click.Choice(["xlsx", "html", "csv", "json"]),
                        default="json", show_default=True)(f)


def _register_extensions(root: click.Group) -> None:
    """Attach the command groups of later features (imports, reconciliation, ...)."""
    import importlib

    for name in ("ledger.cli_imports", "ledger.cli_recon", "ledger.cli_flows", "ledger.cli_rules"):
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        mod.register(root)


if __name__ == "__main__":  # pragma: no cover
    main()
