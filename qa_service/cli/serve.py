"""`qa serve`: the HTTP service on the configured stores (embedded by default), with one ingestion
worker subprocess that runs uploaded jobs outside the API process (``--no-worker`` to run none)."""

from __future__ import annotations

import typer

from qa_service.cli.common import console, get_services, setup_logging


def serve(
    host: str | None = typer.Option(None, "--host", help="Bind address (default from settings: 127.0.0.1)."),
    port: int | None = typer.Option(None, "--port", help="Port (default from settings: 8000)."),
    no_bootstrap: bool = typer.Option(False, "--no-bootstrap", help="Do not ingest the sample knowledge."),
    no_worker: bool = typer.Option(
        False, "--no-worker", help="Start no ingestion worker (run `qa worker` elsewhere for uploads to run)."),
) -> None:
    """Start the API (OpenAPI at /docs); ingests the sample knowledge on first start."""
    import uvicorn

    from qa_service.bootstrap import bootstrap_samples
    from qa_service.ingest.worker import WorkerProcess
    from qa_service.web.app import create_app

    services = get_services()
    setup_logging(services.settings.log_level)
    if not no_bootstrap:
        done = bootstrap_samples(services)
        if done:
            console.print(f"sample knowledge ingested and published for: {', '.join(done)}")
    cfg = services.settings.server
    app = create_app(services)
    worker = None if no_worker else WorkerProcess(services.settings).start()
    if worker is not None:
        console.print(f"ingestion worker running (pid {worker.pid})")
    console.print(f"serving on http://{host or cfg.host}:{port or cfg.port}  (API docs at /docs)")
    try:
        uvicorn.run(app, host=host or cfg.host, port=port or cfg.port, log_level="warning")
    finally:
        if worker is not None:
            worker.stop()
