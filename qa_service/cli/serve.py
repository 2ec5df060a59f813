"""`qa serve`: the HTTP service on the configured stores (embedded by default), with one ingestion
worker subprocess that runs uploaded jobs outside the API process (``--no-worker`` to run none).

``--workers N`` (or ``server.workers``) starts N uvicorn worker processes on one port, each building its app with
``qa_service.web.app:worker_app`` from the same settings; they share the sealed shards (read-only), the database,
and the rate counts and conversations (Redis when ``server.redis_url`` is set, else the database)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import typer

from qa_service.cli.common import _state, console, get_services, setup_logging

if TYPE_CHECKING:
    from qa_service.settings import Settings


def serve(
    host: str | None = typer.Option(None, "--host", help="Bind address (default from settings: 127.0.0.1)."),
    port: int | None = typer.Option(None, "--port", help="Port (default from settings: 8000)."),
    workers: int | None = typer.Option(
        None, "--workers", min=1, help="API worker processes (default from settings: 1); each loads its own model."),
    no_bootstrap: bool = typer.Option(False, "--no-bootstrap", help="Do not ingest the sample knowledge."),
    no_worker: bool = typer.Option(
        False, "--no-worker", help="Start no ingestion worker (run `qa worker` elsewhere for uploads to run)."),
) -> None:
    """Start the API (OpenAPI at /docs); ingests the sample knowledge on first start."""
    import uvicorn

    from qa_service.bootstrap import bootstrap_samples
    from qa_service.ingest.worker import WorkerProcess

    services = get_services()  # migrates the database once, before any worker starts
    setup_logging(services.settings.log_level)
    if not no_bootstrap:
        done = bootstrap_samples(services)
        if done:
            console.print(f"sample knowledge ingested and published for: {', '.join(done)}")
    cfg = services.settings.server
    n = workers or cfg.workers
    bind, at = host or cfg.host, port or cfg.port
    worker = None if no_worker else WorkerProcess(services.settings).start()
    if worker is not None:
        console.print(f"ingestion worker running (pid {worker.pid})")
    console.print(f"serving on http://{bind}:{at} with {n} API worker(s)  (API docs at /docs)")
    try:
        if n == 1:
            from qa_service.web.app import create_app

            uvicorn.run(create_app(services), host=bind, port=at, log_level="warning")
        else:
            services.close()  # each worker process builds its own services from the same settings
            _prepare_workers(services.settings)
            if _state["config"] is not None:
                os.environ["QA_CONFIG"] = str(_state["config"])
            os.environ["QA_SERVER__WORKERS"] = str(n)
            threads = _engine_threads(services.settings, n)
            if threads is not None:
                os.environ["QA_EMBEDDING__THREADS"] = str(threads)
            uvicorn.run("qa_service.web.app:worker_app", factory=True, workers=n, host=bind, port=at,
                        log_level="warning")
    finally:
        if worker is not None:
            worker.stop()


def _engine_threads(settings: Settings, workers: int) -> int | None:
    """The encoder threads of each of ``workers`` workers when nobody chose them: the cores shared out (N workers
    with the default 2 threads each would put 2N spinning engine threads on the cores); None = leave as set."""
    if "QA_EMBEDDING__THREADS" in os.environ or "threads" in settings.embedding.model_fields_set:
        return None
    return max(1, (os.cpu_count() or 1) // workers)


def _prepare_workers(settings: Settings) -> None:
    """Before N workers start: embed (or load) the input guard's exemplar vectors once, in a short-lived process,
    into data_dir/cache, so the workers load that file instead of each embedding some 600 texts at once (what
    made two cold workers take minutes to get ready on a busy 2-core machine)."""
    import multiprocessing

    proc = multiprocessing.get_context("spawn").Process(target=_warm_shared, args=(settings,), name="qa-prepare")
    proc.start()
    proc.join()
    if proc.exitcode != 0:
        console.print(f"[yellow]warning:[/yellow] preparing the workers failed (exit {proc.exitcode}); each worker "
                      "prepares itself")


def _warm_shared(settings: Settings) -> None:
    from qa_service.services import Services

    services = Services(settings, migrate=False)
    try:
        services.similarity_guard.warm()
    finally:
        services.close()
