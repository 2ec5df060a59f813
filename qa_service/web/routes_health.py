"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

router = APIRouter(tags=["ops"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request) -> Response:
    services = request.app.state.services
    checks: dict[str, Any] = {"models_loaded": bool(request.app.state.ready)}
    try:
        with services.db.session() as s:
            s.execute(text("SELECT 1"))
        checks["database"] = True
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        checks["vector_store"] = bool(services.store.ping())
    except Exception as exc:
        checks["vector_store"] = f"error: {type(exc).__name__}"
    ok = all(v is True for v in checks.values())
    return JSONResponse({"ready": ok, "checks": checks}, status_code=200 if ok else 503)


@router.get("/metrics")
def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
