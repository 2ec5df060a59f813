"""The `qa` command line."""

from __future__ import annotations

from pathlib import Path

import typer

from qa_service.cli.ask import ask
from qa_service.cli.bench import bench_app
from qa_service.cli.common import _state
from qa_service.cli.evaluate import eval_cmd
from qa_service.cli.kb import kb_app
from qa_service.cli.people import audit_app, curated_app, retention_app, review_app, users_app
from qa_service.cli.serve import serve
from qa_service.cli.tenants import tenants_app
from qa_service.cli.worker import ingest_app, worker

app = typer.Typer(
    help="Government-services Q&A: ingest knowledge, manage KB versions, ask, serve, evaluate.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def main(
    config: Path | None = typer.Option(None, "--config", "-c", help="YAML settings file (else QA_CONFIG)."),
) -> None:
    """Global options."""
    _state["config"] = config


app.add_typer(ingest_app, name="ingest")
app.command("worker")(worker)
app.add_typer(kb_app, name="kb")
app.command("ask")(ask)
app.command("serve")(serve)
app.add_typer(bench_app, name="bench")
app.command("eval")(eval_cmd)
app.add_typer(users_app, name="users")
app.add_typer(review_app, name="review")
app.add_typer(curated_app, name="curated")
app.add_typer(audit_app, name="audit")
app.add_typer(retention_app, name="retention")
app.add_typer(tenants_app, name="tenants")
