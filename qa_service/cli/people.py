"""`qa users`, `qa review`, `qa curated`, `qa audit`, `qa retention`: people, their decisions and the trail."""

from __future__ import annotations

import datetime as dt
import os
import pwd
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from qa_service.cli.common import console, emit_json, fail, get_services

if TYPE_CHECKING:
    from qa_service.users.accounts import Identity

users_app = typer.Typer(help="Accounts: staff, editors, admins, auditors (API tokens).", no_args_is_help=True)
review_app = typer.Typer(help="The human review queue.", no_args_is_help=True)
curated_app = typer.Typer(help="Curated answers.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit trail.", no_args_is_help=True)
retention_app = typer.Typer(help="Retention of questions and answers.", no_args_is_help=True)

AS_OPT = typer.Option(
    None, "--as", help="Without --token: act as the local operator `local:<your OS user>` with this account's role "
                       "and tenant (recorded as the local operator, not as the account). With --token: must name the "
                       "token's account.")
TOKEN_OPT = typer.Option(None, "--token", envvar="QA_TOKEN", show_envvar=True,
                         help="Your API token (from `qa users add`): act as your signed-in account.")


def local_operator() -> str:
    """``local:<OS user>`` of the real uid (not $USER, which anyone can set): who runs the command on this host."""
    uid = os.getuid()
    try:
        return f"local:{pwd.getpwuid(uid).pw_name}"
    except KeyError:
        return f"local:uid{uid}"


def _identity(name: str | None, token: str | None, as_json: bool = False) -> Identity:
    """The token's account when a token is given (a wrong one is refused); else the local operator with the
    role and tenant of the account named by --as."""
    from sqlalchemy import select

    from qa_service.db.models import User
    from qa_service.users.accounts import Identity, authenticate

    services = get_services()
    with services.db.session() as s:
        if token:
            me = authenticate(s, token)
            if me is None:
                fail("the token is not valid (unknown or deactivated account)", as_json=as_json)
            if name and name != me.name:
                fail(f"the token is {me.name}'s, not {name}'s", as_json=as_json)
            return me
        if not name:
            fail("give --token (or QA_TOKEN) to act as your account, or --as NAME to act as the local operator "
                 "with NAME's role", as_json=as_json)
        user = s.scalar(select(User).where(User.name == name, User.active.is_(True)))
        if user is None:
            fail(f"no active user {name!r} (qa users add)", as_json=as_json)
        return Identity(local_operator(), user.role, user.tenant)


@users_app.command("add")
def users_add(name: str = typer.Argument(...), role: str = typer.Option(..., "--role"),
              tenant: str | None = typer.Option(None, "--tenant", "-t"),
              as_json: bool = typer.Option(False, "--json")) -> None:
    """Make an account; prints its API token once."""
    from qa_service.users.accounts import AccountError, create_user

    services = get_services()
    try:
        with services.db.session() as s:
            user, token = create_user(s, name, role, tenant, actor=local_operator())
            out = {"name": user.name, "role": user.role, "tenant": user.tenant, "token": token}
    except AccountError as exc:
        fail(str(exc), as_json=as_json)
    if as_json:
        emit_json(out)
    else:
        console.print(f"user {name} ({role}, tenant {tenant or 'all'}) token (shown once):")
        typer.echo(token)


@users_app.command("list")
def users_list(as_json: bool = typer.Option(False, "--json")) -> None:
    from qa_service.users.accounts import list_users

    with get_services().db.session() as s:
        rows = [{"name": u.name, "role": u.role, "tenant": u.tenant, "active": u.active} for u in list_users(s)]
    if as_json:
        emit_json(rows)
        return
    table = Table("name", "role", "tenant", "active")
    for r in rows:
        table.add_row(str(r["name"]), str(r["role"]), str(r["tenant"] or "all"), str(r["active"]))
    console.print(table)


@users_app.command("deactivate")
def users_deactivate(name: str = typer.Argument(...)) -> None:
    from qa_service.users.accounts import AccountError, set_active

    try:
        with get_services().db.session() as s:
            set_active(s, name, False, actor=local_operator())
    except AccountError as exc:
        fail(str(exc))
    console.print(f"user {name} deactivated")


@review_app.command("list")
def review_list(tenant: str = typer.Option(..., "--tenant", "-t"), state: str | None = typer.Option(None),
                as_json: bool = typer.Option(False, "--json")) -> None:
    """Items by urgency (SLA due time)."""
    from qa_service.review import queue

    with get_services().db.session() as s:
        rows = [queue.item_dict(i) for i in queue.list_items(s, tenant, tuple(state.split(",")) if state else None)]
    if as_json:
        emit_json(rows)
        return
    table = Table("id", "kind", "state", "risk", "sla due", "assignee", "question")
    for r in rows:
        table.add_row(r["id"], r["kind"], r["state"], r["risk_level"], r["sla_due"][:16], str(r["assignee"] or ""),
                      r["question"][:60])
    console.print(table)


@review_app.command("claim")
def review_claim(tenant: str = typer.Option(..., "--tenant", "-t"), who: str | None = AS_OPT,
                 token: str | None = TOKEN_OPT, item: str | None = typer.Option(None, "--item"),
                 as_json: bool = typer.Option(False, "--json")) -> None:
    """Claim the most urgent item (or --item) under a lease."""
    from qa_service.review import queue

    me = _identity(who, token, as_json)
    if not me.may("review", tenant):
        fail(f"{me.name} ({me.role}) may not review {tenant}", as_json=as_json)
    services = get_services()
    with services.db.session() as s:
        got = queue.claim(s, services.settings.review, tenant, me, item)
        out = queue.item_dict(got) if got else None
    if out is None:
        fail("nothing to claim", as_json=as_json)
    if as_json:
        emit_json(out)
    else:
        console.print(f"claimed {out['id']} until {out['lease_until']}: {out['question']}")
        console.print(f"draft: {out['draft_answer']}")


def _resolve(action: str, item: str, who: str | None, token: str | None, answer: str | None, note: str | None,
             curated: bool, variants: list[str], as_json: bool) -> None:
    from qa_service.review import curated as cur
    from qa_service.review import queue

    me = _identity(who, token, as_json)
    try:
        with get_services().db.session() as s:
            it = queue.resolve(s, item, me, action, answer=answer, note=note)
            if curated:
                cur.save_reviewed(s, it, me, variants)
            out = queue.item_dict(it)
    except (queue.ReviewError, cur.CuratedError) as exc:
        fail(str(exc), as_json=as_json)
    if as_json:
        emit_json(out)
    else:
        console.print(f"{out['id']}: {out['state']}" + (f" (curated {out['curated_id']})" if out["curated_id"] else ""))


ITEM_ARG = typer.Argument(..., help="Review item id.")


@review_app.command("approve")
def review_approve(item: str = ITEM_ARG, who: str | None = AS_OPT, token: str | None = TOKEN_OPT,
                   note: str | None = typer.Option(None),
                   curated: bool = typer.Option(False, "--curated", help="Save as a curated answer."),
                   variant: list[str] = typer.Option([], "--variant", help="Another way the question is asked."),
                   as_json: bool = typer.Option(False, "--json")) -> None:
    """Approve the draft as it is."""
    _resolve("approve", item, who, token, None, note, curated, variant, as_json)


@review_app.command("edit")
def review_edit(item: str = ITEM_ARG, who: str | None = AS_OPT, token: str | None = TOKEN_OPT,
                answer: str = typer.Option(..., "--answer"),
                note: str | None = typer.Option(None), curated: bool = typer.Option(False, "--curated"),
                variant: list[str] = typer.Option([], "--variant"), as_json: bool = typer.Option(False, "--json")
                ) -> None:
    """Approve with a corrected answer."""
    _resolve("edit", item, who, token, answer, note, curated, variant, as_json)


@review_app.command("reject")
def review_reject(item: str = ITEM_ARG, who: str | None = AS_OPT, token: str | None = TOKEN_OPT,
                  note: str | None = typer.Option(None),
                  as_json: bool = typer.Option(False, "--json")) -> None:
    """The citizen is pointed to the department's contact details."""
    _resolve("reject", item, who, token, None, note, False, [], as_json)


@review_app.command("escalate")
def review_escalate(item: str = ITEM_ARG, who: str | None = AS_OPT, token: str | None = TOKEN_OPT,
                    note: str | None = typer.Option(None),
                    as_json: bool = typer.Option(False, "--json")) -> None:
    """Hand the item to an admin."""
    _resolve("escalate", item, who, token, None, note, False, [], as_json)


@curated_app.command("list")
def curated_list(tenant: str = typer.Option(..., "--tenant", "-t"), as_json: bool = typer.Option(False, "--json")
                 ) -> None:
    from qa_service.review.curated import curated_dict, list_curated

    with get_services().db.session() as s:
        rows = [curated_dict(r) for r in list_curated(s, tenant)]
    if as_json:
        emit_json(rows)
        return
    table = Table("id", "state", "questions", "answer")
    for r in rows:
        table.add_row(r["id"], r["state"], " | ".join(r["questions"])[:60], r["answer"][:60])
    console.print(table)


@curated_app.command("add")
def curated_add(tenant: str = typer.Option(..., "--tenant", "-t"), who: str | None = AS_OPT,
                token: str | None = TOKEN_OPT,
                question: list[str] = typer.Option(..., "--question"), answer: str = typer.Option(..., "--answer"),
                lang: str = typer.Option("zh", "--lang"), as_json: bool = typer.Option(False, "--json")) -> None:
    """Add a curated answer by hand (no citations: it is shown as reviewed by staff)."""
    from qa_service.guard.pii import redact
    from qa_service.review.curated import CuratedError, add, curated_dict

    me = _identity(who, token, as_json)
    if not me.may("curated", tenant):
        fail(f"{me.name} ({me.role}) may not manage curated answers of {tenant}", as_json=as_json)
    try:
        with get_services().db.session() as s:
            row = add(s, tenant=tenant, questions=[redact(q)[0] for q in question], answer=answer, citations=[],
                      lang=lang, actor=me.name, role=me.role)
            out = curated_dict(row)
    except CuratedError as exc:
        fail(str(exc), as_json=as_json)
    emit_json(out) if as_json else console.print(f"curated {out['id']} added")


@curated_app.command("suspend")
def curated_suspend(curated_id: str = typer.Argument(...), tenant: str = typer.Option(..., "--tenant", "-t"),
                    who: str | None = AS_OPT, token: str | None = TOKEN_OPT,
                    reason: str = typer.Option("suspended by staff", "--reason")) -> None:
    from qa_service.review.curated import CuratedError, suspend

    me = _identity(who, token)
    if not me.may("curated", tenant):
        fail(f"{me.name} ({me.role}) may not manage curated answers of {tenant}")
    try:
        with get_services().db.session() as s:
            suspend(s, curated_id, reason, me.name, me.role, tenant=tenant)
    except CuratedError as exc:
        fail(str(exc))
    console.print(f"curated {curated_id} suspended")


HEADS_OPT = typer.Option(None, "--heads", help="Exported-heads file; default settings audit.heads_file "
                                            "(data_dir/audit-heads.jsonl).")


@audit_app.command("verify")
def audit_verify(heads: Path | None = HEADS_OPT, as_json: bool = typer.Option(False, "--json")) -> None:
    """Recompute the keyed hash chain and check every exported head; exit 1 listing every bad row."""
    from qa_service.audit.keys import AuditKeyError
    from qa_service.audit.trail import verify

    services = get_services()
    try:
        with services.db.session() as s:
            res = verify(s, heads or services.settings.audit_heads_file)
    except AuditKeyError as exc:
        fail(str(exc), as_json=as_json)
    if as_json:
        emit_json(res.as_dict())
    elif res.ok:
        console.print(f"audit chain intact: {res.rows} rows ({res.keyed} signed, {res.unkeyed} unkeyed from before "
                      f"keys), {res.heads_checked} exported heads match")
    else:
        console.print(f"[red]audit chain broken: {len(res.breaks)} breaks in {res.rows} rows[/red]")
        for b in res.breaks:
            console.print(f"  row {b.row_id}: {b.problem}")
    if not res.ok:
        raise typer.Exit(1)


def _export_head(heads: Path | None) -> dict[str, object] | None:
    from qa_service.audit.heads import export_head
    from qa_service.audit.keys import AuditKeyError

    services = get_services()
    try:
        with services.db.session() as s:
            return export_head(s, services.db.audit_keys, heads or services.settings.audit_heads_file)
    except (AuditKeyError, OSError) as exc:
        fail(f"could not export the audit head: {exc}")


@audit_app.command("export-head")
def audit_export_head(heads: Path | None = HEADS_OPT, as_json: bool = typer.Option(False, "--json")) -> None:
    """Append the chain's newest row id, hash and row count to the heads file (run it on a schedule)."""
    head = _export_head(heads)
    if as_json:
        emit_json(head or {})
    elif head is None:
        console.print("audit trail is empty: no head to export")
    else:
        console.print(f"exported head: row {head['id']} ({head['rows']} rows) hash {head['hash']}")


@audit_app.command("report")
def audit_report(since: str = typer.Option(..., "--since", help="YYYY-MM-DD"),
                 tenant: str | None = typer.Option(None, "--tenant", "-t"),
                 out: Path = typer.Option(Path("reports"), "--out", help="Folder for the .md and .csv"),
                 heads: Path | None = HEADS_OPT,
                 export: bool = typer.Option(True, "--export-head/--no-export-head",
                                             help="Also export the chain's head (shown in the report).")) -> None:
    """Write the periodic audit report (Markdown + CSV); the chain is verified against the exported heads."""
    from qa_service.audit import report

    try:
        day = dt.date.fromisoformat(since)
    except ValueError:
        fail(f"--since must be YYYY-MM-DD, not {since!r}")
    services = get_services()
    heads_file = heads or services.settings.audit_heads_file
    head = _export_head(heads_file) if export else None
    with services.db.session() as s:
        data = report.build(s, day, tenant, heads_file, head)
    md, cs = report.write(data, out)
    console.print(f"report: {md}\ncsv:    {cs}")


@retention_app.command("purge")
def retention_purge(older_than_days: int | None = typer.Option(None, "--older-than-days"),
                    tenant: str | None = typer.Option(None, "--tenant", "-t"),
                    as_json: bool = typer.Option(False, "--json")) -> None:
    """Delete questions/answers (and feedback) older than the retention age; the purge is audited."""
    from qa_service.review.retention import purge

    services = get_services()
    days = older_than_days or services.settings.review.retention_days
    try:
        with services.db.session() as s:
            out = purge(s, days, actor=local_operator(), tenant=tenant)
    except ValueError as exc:
        fail(str(exc), as_json=as_json)
    emit_json(out) if as_json else console.print(f"purged {out['answers']} answers, {out['feedback']} feedback")
