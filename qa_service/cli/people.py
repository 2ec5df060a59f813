"""`qa users`, `qa review`, `qa curated`, `qa audit`, `qa retention`: people, their decisions and the trail."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer
from rich.table import Table
from sqlalchemy import select

from qa_service.cli.common import console, emit_json, fail, get_services
from qa_service.users.accounts import Identity

users_app = typer.Typer(help="Accounts: staff, editors, admins, auditors (API tokens).", no_args_is_help=True)
review_app = typer.Typer(help="The human review queue.", no_args_is_help=True)
curated_app = typer.Typer(help="Curated answers.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit trail.", no_args_is_help=True)
retention_app = typer.Typer(help="Retention of questions and answers.", no_args_is_help=True)

AS_OPT = typer.Option(..., "--as", help="Your user name (an account made with `qa users add`).")


def _identity(name: str) -> Identity:
    from qa_service.db.models import User

    services = get_services()
    with services.db.session() as s:
        user = s.scalar(select(User).where(User.name == name, User.active.is_(True)))
        if user is None:
            fail(f"no active user {name!r} (qa users add)")
        return Identity(user.name, user.role, user.tenant)


@users_app.command("add")
def users_add(name: str = typer.Argument(...), role: str = typer.Option(..., "--role"),
              tenant: str | None = typer.Option(None, "--tenant", "-t"),
              as_json: bool = typer.Option(False, "--json")) -> None:
    """Make an account; prints its API token once."""
    from qa_service.users.accounts import AccountError, create_user

    services = get_services()
    try:
        with services.db.session() as s:
            user, token = create_user(s, name, role, tenant)
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
            set_active(s, name, False)
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
def review_claim(tenant: str = typer.Option(..., "--tenant", "-t"), who: str = AS_OPT,
                 item: str | None = typer.Option(None, "--item"), as_json: bool = typer.Option(False, "--json")
                 ) -> None:
    """Claim the most urgent item (or --item) under a lease."""
    from qa_service.review import queue

    me = _identity(who)
    if not me.may("review", tenant):
        fail(f"{who} may not review {tenant}", as_json=as_json)
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


def _resolve(action: str, item: str, who: str, answer: str | None, note: str | None, curated: bool,
             variants: list[str], as_json: bool) -> None:
    from qa_service.review import curated as cur
    from qa_service.review import queue

    me = _identity(who)
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
def review_approve(item: str = ITEM_ARG, who: str = AS_OPT, note: str | None = typer.Option(None),
                   curated: bool = typer.Option(False, "--curated", help="Save as a curated answer."),
                   variant: list[str] = typer.Option([], "--variant", help="Another way the question is asked."),
                   as_json: bool = typer.Option(False, "--json")) -> None:
    """Approve the draft as it is."""
    _resolve("approve", item, who, None, note, curated, variant, as_json)


@review_app.command("edit")
def review_edit(item: str = ITEM_ARG, who: str = AS_OPT, answer: str = typer.Option(..., "--answer"),
                note: str | None = typer.Option(None), curated: bool = typer.Option(False, "--curated"),
                variant: list[str] = typer.Option([], "--variant"), as_json: bool = typer.Option(False, "--json")
                ) -> None:
    """Approve with a corrected answer."""
    _resolve("edit", item, who, answer, note, curated, variant, as_json)


@review_app.command("reject")
def review_reject(item: str = ITEM_ARG, who: str = AS_OPT, note: str | None = typer.Option(None),
                  as_json: bool = typer.Option(False, "--json")) -> None:
    """The citizen is pointed to the department's contact details."""
    _resolve("reject", item, who, None, note, False, [], as_json)


@review_app.command("escalate")
def review_escalate(item: str = ITEM_ARG, who: str = AS_OPT, note: str | None = typer.Option(None),
                    as_json: bool = typer.Option(False, "--json")) -> None:
    """Hand the item to an admin."""
    _resolve("escalate", item, who, None, note, False, [], as_json)


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
def curated_add(tenant: str = typer.Option(..., "--tenant", "-t"), who: str = AS_OPT,
                question: list[str] = typer.Option(..., "--question"), answer: str = typer.Option(..., "--answer"),
                lang: str = typer.Option("zh", "--lang"), as_json: bool = typer.Option(False, "--json")) -> None:
    """Add a curated answer by hand (no citations: it is shown as reviewed by staff)."""
    from qa_service.guard.pii import redact
    from qa_service.review.curated import CuratedError, add, curated_dict

    me = _identity(who)
    if not me.may("curated", tenant):
        fail(f"{who} may not manage curated answers of {tenant}", as_json=as_json)
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
                    who: str = AS_OPT, reason: str = typer.Option("suspended by staff", "--reason")) -> None:
    from qa_service.review.curated import CuratedError, suspend

    me = _identity(who)
    if not me.may("curated", tenant):
        fail(f"{who} may not manage curated answers of {tenant}")
    try:
        with get_services().db.session() as s:
            suspend(s, curated_id, reason, me.name, me.role, tenant=tenant)
    except CuratedError as exc:
        fail(str(exc))
    console.print(f"curated {curated_id} suspended")


@audit_app.command("verify")
def audit_verify(as_json: bool = typer.Option(False, "--json")) -> None:
    """Recompute the hash chain; exit 1 naming the first bad row."""
    from qa_service.audit.trail import verify

    with get_services().db.session() as s:
        res = verify(s)
    out = {"ok": res.ok, "rows": res.rows, "bad_id": res.bad_id, "problem": res.problem}
    if as_json:
        emit_json(out)
    elif res.ok:
        console.print(f"audit chain intact: {res.rows} rows")
    else:
        console.print(f"[red]audit chain broken at row id {res.bad_id}[/red]: {res.problem}")
    if not res.ok:
        raise typer.Exit(1)


@audit_app.command("report")
def audit_report(since: str = typer.Option(..., "--since", help="YYYY-MM-DD"),
                 tenant: str | None = typer.Option(None, "--tenant", "-t"),
                 out: Path = typer.Option(Path("reports"), "--out", help="Folder for the .md and .csv")) -> None:
    """Write the periodic audit report (Markdown + CSV)."""
    from qa_service.audit import report

    try:
        day = dt.date.fromisoformat(since)
    except ValueError:
        fail(f"--since must be YYYY-MM-DD, not {since!r}")
    with get_services().db.session() as s:
        data = report.build(s, day, tenant)
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
            out = purge(s, days, tenant=tenant)
    except ValueError as exc:
        fail(str(exc), as_json=as_json)
    emit_json(out) if as_json else console.print(f"purged {out['answers']} answers, {out['feedback']} feedback")
