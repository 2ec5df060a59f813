"""`qa kb ...`: list, diff, publish, rollback, search, and review flagged chunks."""

from __future__ import annotations

import typer
from rich.table import Table

from qa_service.cli.common import cli_actor, console, emit_json, fail, get_services
from qa_service.kb.types import MAX_VERSION

kb_app = typer.Typer(help="Knowledge-base versions: list, diff, publish, rollback, search.", no_args_is_help=True)


@kb_app.command("list")
def list_cmd(
    tenant: str = typer.Option(..., "--tenant", "-t"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Versions with their state (building/draft/live/previous/failed/discarded/deleted), parent and counts."""
    from qa_service.kb import versions

    services = get_services()
    with services.db.session() as s:
        versions.recover_orphans(s, services.store)
        rows = [versions.version_dict(v) for v in versions.list_versions(s, tenant)]
    if as_json:
        live = next((r["version"] for r in rows if r["state"] == "live"), None)
        emit_json({"tenant": tenant, "live": live, "versions": rows})
        return
    table = Table("version", "state", "parent", "sources", "chunks", "created", "published", "note")
    for r in rows:
        table.add_row(str(r["version"]), r["state"], str(r["parent"] or ""), str(r["sources"]), str(r["chunks"]),
                      str(r["created_at"])[:19], str(r["published_at"] or "")[:19], str(r["note"] or ""))
    console.print(table)


@kb_app.command("diff")
def diff_cmd(
    v1: int = typer.Argument(..., min=1, max=MAX_VERSION),
    v2: int = typer.Argument(..., min=1, max=MAX_VERSION),
    tenant: str = typer.Option(..., "--tenant", "-t"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """What V2 changes relative to V1 (sources and chunks added/removed/changed)."""
    from qa_service.errors import USER_ERRORS
    from qa_service.kb import versions

    services = get_services()
    try:
        with services.db.session() as s:
            d = versions.diff(s, services.store, tenant, v1, v2).as_dict()
    except USER_ERRORS as exc:
        fail(str(exc), as_json=as_json)
    if as_json:
        emit_json(d)
        return
    for level in ("sources", "chunks"):
        counts = d["counts"][level]
        console.print(f"{level}: +{counts['added']} -{counts['removed']} ~{counts['changed']}")
    for kind in ("added", "removed", "changed"):
        for sid in d["sources"][kind]:
            console.print(f"  {kind:8} {sid}")


@kb_app.command("publish")
def publish_cmd(
    version: int = typer.Argument(..., min=1, max=MAX_VERSION),
    tenant: str = typer.Option(..., "--tenant", "-t"),
    actor: str | None = typer.Option(
        None, "--actor", help="A label beside the local operator the audit trail records (local:<os user> as LABEL)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Make VERSION live (atomic switch)."""
    from qa_service.errors import USER_ERRORS
    from qa_service.kb import versions

    services = get_services()
    try:
        with services.db.session() as s:
            row, dropped = versions.publish_and_clean(s, services.store, tenant, version, cli_actor(actor),
                                                      services.settings.store.keep_versions)
            out = versions.version_dict(row)
    except USER_ERRORS as exc:
        fail(str(exc), as_json=as_json)
    if as_json:
        emit_json(out)
    else:
        console.print(f"tenant {tenant}: v{version} is live"
                      + (f"; deleted {', '.join(f'v{n}' for n in dropped)}" if dropped else ""))


@kb_app.command("rollback")
def rollback_cmd(
    tenant: str = typer.Option(..., "--tenant", "-t"),
    actor: str | None = typer.Option(
        None, "--actor", help="A label beside the local operator the audit trail records (local:<os user> as LABEL)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Switch back to the version that was live before the current one."""
    from qa_service.errors import USER_ERRORS
    from qa_service.kb import versions

    services = get_services()
    try:
        with services.db.session() as s:
            row = versions.rollback(s, services.store, tenant, cli_actor(actor))
            out = versions.version_dict(row)
    except USER_ERRORS as exc:
        fail(str(exc), as_json=as_json)
    if as_json:
        emit_json(out)
    else:
        console.print(f"tenant {tenant}: rolled back, v{row.version} is live")


@kb_app.command("search")
def search_cmd(
    text: str = typer.Argument(...),
    tenant: str = typer.Option(..., "--tenant", "-t"),
    k: int = typer.Option(10, "--k"),
    visibility: str | None = typer.Option(None, "--visibility", help="public or internal (default: both)."),
    version: int | None = typer.Option(None, "--version", min=1, max=MAX_VERSION,
                                       help="Search a draft/previous version instead of live."),
    mode: str = typer.Option("hybrid", "--mode", help="hybrid | dense | bm25 | cjk (BM25 over Han-character bigrams)"),
    place: bool = typer.Option(True, "--place/--no-place",
                               help="The answer path's place filter: only documents of the place the text names "
                                    "(or national ones); --no-place searches every document."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The answer path's retrieval over the live version (kb/retriever.py): same weights, date filter, reranking
    and place filter."""
    from qa_service.errors import USER_ERRORS
    from qa_service.kb.edge_store import VersionNotFound
    from qa_service.kb.search import hit_dict, place_plan, search

    if visibility not in (None, "public", "internal"):
        fail("--visibility must be public or internal", as_json=as_json)
    if mode not in ("hybrid", "dense", "bm25", "cjk"):
        fail("--mode must be hybrid, dense, bm25 or cjk", as_json=as_json)
    services = get_services()
    errors: tuple[type[Exception], ...] = (*USER_ERRORS, VersionNotFound)
    try:
        plan = place_plan(services, tenant, text, version) if place else None
        res = search(services, tenant, text, k=k, visibility=[visibility] if visibility else None,
                     version=version, mode=mode, place=place, plan=plan)
    except errors as exc:
        fail(str(exc), as_json=as_json)
    if res.version is None and version is None:
        fail(f"tenant {tenant!r} has no live version; ingest and publish first", as_json=as_json)
    results = [hit_dict(h) for h in res.hits]
    if as_json:
        emit_json({"tenant": tenant, "version": res.version, "results": results, "expired": res.expired,
                   "weights": [round(w, 3) for w in res.weights], "confidence": res.confidence,
                   "place": plan.signals() if plan is not None else None})
        return
    if plan is not None and plan.asked.place is not None:
        console.print(f"place: {plan.asked.place.name} ({len(plan.excluded)} sources of other places left out; "
                      "--no-place to search them)")
    for r in results:
        console.print(f"[bold]{r['score']:.4f}[/bold] {r['chunk_id']} — {r['title']} › {r['heading'] or ''}"
                      + (f" ({r['section_type']})" if r.get("section_type") else ""))
        if r.get("source_id") in (plan.lapsed if plan is not None else {}):
            console.print("    [yellow]no longer in force: cited only with a warning[/yellow]")
        console.print(f"    {str(r['text'])[:200]}")


@kb_app.command("flagged")
def flagged_cmd(
    tenant: str = typer.Option(..., "--tenant", "-t"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Chunks kept out of versions because they carry instructions aimed at an AI."""
    from sqlalchemy import select

    from qa_service.db.models import ChunkApproval, Finding

    services = get_services()
    with services.db.session() as s:
        decided = {a.digest: a.decision for a in s.execute(
            select(ChunkApproval).where(ChunkApproval.tenant == tenant)).scalars()}
        rows = s.execute(select(Finding).where(Finding.tenant == tenant, Finding.kind == "injection")
                         .order_by(Finding.id.desc())).scalars()
        seen: dict[str, dict[str, object]] = {}
        for f in rows:
            if f.digest and f.digest not in seen:
                seen[f.digest] = {"digest": f.digest, "chunk_id": f.chunk_id, "source_id": f.source_id,
                                  "reasons": f.detail, "decision": decided.get(f.digest, "pending")}
    items = list(seen.values())
    if as_json:
        emit_json({"tenant": tenant, "flagged": items})
        return
    for it in items:
        console.print(f"{it['decision']:9} {it['digest'][:12]} {it['chunk_id']}: {it['reasons']}")  # type: ignore[index]


@kb_app.command("approve")
def approve_cmd(
    digest: str = typer.Argument(..., help="Digest (or unique prefix) of a flagged chunk."),
    tenant: str = typer.Option(..., "--tenant", "-t"),
    reject: bool = typer.Option(False, "--reject", help="Record a rejection instead."),
    actor: str | None = typer.Option(
        None, "--actor", help="A label beside the local operator the audit trail records (local:<os user> as LABEL)."),
) -> None:
    """Approve a flagged chunk so the next ingestion includes it."""
    from qa_service.errors import USER_ERRORS
    from qa_service.kb.flags import decide_flag

    services = get_services()
    try:
        with services.db.session() as s:
            full = decide_flag(s, tenant, digest, "rejected" if reject else "approved", cli_actor(actor))
    except USER_ERRORS as exc:
        fail(str(exc))
    console.print(f"{'rejected' if reject else 'approved'} {full}; re-run the ingestion to include it")
