"""`qa ingest PATH... --tenant T`: run an ingestion job with a progress bar."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from qa_service.cli.common import cli_actor, console, emit_json, fail, get_services

if TYPE_CHECKING:
    from qa_service.ingest.pipeline import IngestResult
from qa_service.kb.types import MAX_VERSION


def ingest(
    paths: list[Path] = typer.Argument(..., help="Files or folders (catalog.yaml beside files gives metadata)."),
    tenant: str = typer.Option(..., "--tenant", "-t", help="Tenant (department) the knowledge belongs to."),
    mode: str = typer.Option("add", "--mode", help="add: add and update; sync: also remove sources not present."),
    publish: bool = typer.Option(False, "--publish", help="Publish the new version when the job succeeds."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
    actor: str | None = typer.Option(
        None, "--actor", help="A label beside the local operator the audit trail records (local:<os user> as LABEL)."),
    parent: int | None = typer.Option(None, "--parent", min=1, max=MAX_VERSION,
                                      help="Version to build on (default: the newest draft newer than live, "
                                           "else live)."),
) -> None:
    """Ingest documents into a new draft KB version built on its parent (the newest draft, else live).

    A job that changes nothing relative to its parent creates no draft (state no_changes, or failed when
    sources failed; exit code 1 for failed)."""
    from qa_service.errors import USER_ERRORS
    from qa_service.ingest.pipeline import run_ingest
    from qa_service.tenants import TenantError, ensure, profile_from_catalog

    services = get_services()
    try:  # an operator ingesting into a new tenant registers it (contact data from a catalog's tenant_profile)
        with services.db.session() as session:
            profile = next((profile_from_catalog(p) for p in paths if p.is_dir()), None)
            ensure(session, tenant, profile, actor=cli_actor(actor))
    except TenantError as exc:
        fail(str(exc), as_json=as_json)
    with Progress(
        TextColumn("[bold]ingest[/bold]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("{task.description}"), console=console, transient=True, disable=not console.is_terminal,
    ) as bar:
        task = bar.add_task("", total=None)

        def on_progress(done: int, total: int, label: str) -> None:
            bar.update(task, completed=done, total=total, description=label[-50:])

        try:
            result = run_ingest(services, paths, tenant, mode=mode, publish=publish,  # type: ignore[arg-type]
                                actor=cli_actor(actor), progress=on_progress, parent=parent)
        except USER_ERRORS as exc:
            fail(str(exc), as_json=as_json)
    if as_json:
        emit_json(result.as_dict())
    else:
        _print(result)
    if result.state == "failed":
        raise typer.Exit(1)


def _print(result: IngestResult) -> None:
    s, c = result.sources, result.chunks
    base = f"parent v{result.parent}" if result.parent is not None else "no parent"
    head = (f"job {result.job_id}: {result.state}: {result.note}" if result.version is None else
            f"job {result.job_id}: version v{result.version} ({base}) {result.state}"
            f"{' and published' if result.published else ' (draft)'}")
    console.print(
        f"{head} in {result.seconds:.1f}s\n"
        f"sources: {s['added']} added, {s['updated']} updated, {s['unchanged']} unchanged, {s['removed']} removed, "
        f"{s['refused']} refused, {s['failed']} failed, {s['skipped']} skipped\n"
        f"chunks: {c['embedded']} embedded, {c['reused'] + c['copied']} reused, {c['flagged']} flagged"
    )
    for err in result.errors:
        console.print(f"[yellow]failed[/yellow] {err['source']}: {err['error']}")
    for f in result.findings:
        if f["kind"] in ("classified", "injection", "pii"):
            console.print(f"[magenta]{f['kind']}[/magenta] {f['source']}: {f['detail']}")
