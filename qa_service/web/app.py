"""The app factory: receives its wiring (Services), registers routers and metrics. No work at
import time; `create_app` is called by `qa serve` and by tests, `worker_app` by each uvicorn worker of
`qa serve --workers N` (it builds its own Services from the settings tree).

Nothing a later request needs is kept in the process: conversation history is in Redis or the database
(web/conversations.py) and, with several workers, so are the rate counts (web/ratelimit.py); the knowledge is the
sealed shards every worker opens read-only; ingestion jobs are queued in the database for `qa worker`."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response

from qa_service.services import Services
from qa_service.web.conversations import make_conversations
from qa_service.web.hygiene import InputHygiene
from qa_service.web.metrics import make_metrics
from qa_service.web.ratelimit import make_limiter
from qa_service.web.routes_ask import router as ask_router
from qa_service.web.routes_editor import router as editor_router
from qa_service.web.routes_health import router as health_router
from qa_service.web.routes_kb import router as kb_router
from qa_service.web.routes_pages import router as pages_router
from qa_service.web.routes_review import router as review_router
from qa_service.web.routes_staff import router as staff_router
from qa_service.web.routes_widget import router as widget_router

log = logging.getLogger(__name__)


def create_app(services: Services, *, warm: bool = True) -> FastAPI:
    """Build the FastAPI app around ``services``."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if warm:
            services.dense.encode_query("warm up")
            services.similarity_guard.warm()  # the first citizen does not wait for the exemplar vectors
            _ = services.generator
        app.state.ready = True
        yield
        services.close()

    server = services.settings.server
    app = FastAPI(
        title="Government services Q&A",
        version="0.1.0",
        description="Answers grounded in official sources, with citations, a risk label and human review.",
        lifespan=lifespan,
    )
    app.state.services = services
    app.state.metrics = make_metrics()
    app.state.ready = False
    app.state.conversations = make_conversations(server, services.db)
    app.state.limiter = make_limiter(server.citizen_rate_per_minute, server.redis_url,
                                     server.citizen_rate_per_minute_total, redis_prefix=server.redis_prefix,
                                     shared_db=services.db if server.workers > 1 else None)
    # body caps (413) and odd text (400/422) stop before any route; CORS and timing stay outside it (added later)
    app.add_middleware(InputHygiene, body_kb=server.max_body_kb, upload_mb=server.max_upload_mb)
    if server.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=server.cors_origins, allow_methods=["GET", "POST"],
                           allow_headers=["Content-Type"], max_age=600)

    @app.middleware("http")
    async def timing(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        start = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        app.state.metrics.request_seconds.labels(route=path, method=request.method,
                                                 status=str(response.status_code)).observe(
            time.perf_counter() - start)
        if path == "/readyz":  # which of several workers answered (the bench waits until each one is ready)
            response.headers["X-Worker-Pid"] = str(os.getpid())
        return response

    app.include_router(health_router)
    app.include_router(ask_router, prefix="/api/v1")
    app.include_router(review_router, prefix="/api/v1")
    app.include_router(kb_router, prefix="/api/v1")
    app.include_router(widget_router)
    app.include_router(staff_router, prefix="/api/v1")
    app.include_router(editor_router, prefix="/api/v1")
    app.include_router(pages_router)
    return app


def worker_app() -> FastAPI:
    """The app of one uvicorn worker (``uvicorn.run("qa_service.web.app:worker_app", factory=True, workers=N)``):
    settings from the environment and ``QA_CONFIG`` as `qa serve` left them; `qa serve` has already migrated the
    database and ingested the sample knowledge, so a worker does neither."""
    import os

    from qa_service.cli.common import setup_logging
    from qa_service.settings import load_settings

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    settings = load_settings(None)
    setup_logging(settings.log_level)
    return create_app(Services(settings, migrate=False))
