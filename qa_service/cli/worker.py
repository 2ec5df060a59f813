"""`qa worker`: run queued ingestion jobs; `qa ingest cancel JOB`: stop one.

`qa ingest` is a group whose default command is `run` (the ingestion itself, qa_service.cli.ingest),
so `qa ingest PATH... --tenant T` works as before and `qa ingest cancel JOB` sits beside it.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from qa_service.cli.common import cli_actor, console, emit_json, fail, get_services
from qa_service.cli.ingest import ingest as ingest_run


class _DefaultRun(TyperGroup):
    """A group that treats anything but a subcommand name as the arguments of ``run``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # ctx: typer's own click Context
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


ingest_app = typer.Typer(cls=_DefaultRun, no_args_is_help=True,
                         help="Ingest documents (`qa ingest PATH... --tenant T`), or cancel a queued/running job.")
ingest_app.command("run")(ingest_run)


@ingest_app.command("cancel")
def cancel(
    job_id: str = typer.Argument(..., help="Job id (from the upload response or `GET /kb/{tenant}/jobs`)."),
    tenant: str | None = typer.Option(None, "--tenant", "-t", help="The job's tenant (checked when given)."),
    actor: str | None = typer.Option(
        None, "--actor", help="A label beside the local operator the audit trail records (local:<os user> as LABEL)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
) -> None:
    """Cancel a queued job at once, or ask its worker to stop a running one (its draft is discarded)."""
    from qa_service.db.models import IngestJob
    from qa_service.errors import USER_ERRORS
    from qa_service.ingest import jobs

    services = get_services()
    try:
        with services.db.session() as s:
            row = s.get(IngestJob, job_id)
            owner = tenant or (row.tenant if row is not None else "")
            job = jobs.request_cancel(s, owner, job_id, cli_actor(actor))
            out: dict[str, Any] = jobs.job_dict(job)
    except USER_ERRORS as exc:
        fail(str(exc), as_json=as_json)
    if as_json:
        emit_json(out)
        return
    verb = "cancelled" if out["state"] == "cancelled" else "cancel requested; the worker stops it within seconds"
    console.print(f"job {job_id} ({out['tenant']}): {verb}")


def worker(
    once: bool = typer.Option(False, "--once", help="Run the queued jobs, then exit (else: poll until stopped)."),
) -> None:
    """Run queued ingestion jobs (uploads), each in its own process; stop with Ctrl-C or SIGTERM."""
    from qa_service.ingest.worker import worker_main

    services = get_services()
    ran = worker_main(services.settings, once=once)
    console.print(f"worker stopped after {ran} job(s)")
