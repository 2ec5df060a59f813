"""Citizen widget support: suggested questions for a department, and the service's favicon."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from qa_service.kb.suggestions import SuggestionCache
from qa_service.web.auth import known_tenant

router = APIRouter(tags=["widget"])

# A speech bubble in the widget's blue: served by the app itself, no CDN, no file to ship.
FAVICON_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
    '<rect width="32" height="32" rx="7" fill="#0b4f8a"/>'
    '<path d="M8 9h16a2 2 0 0 1 2 2v9a2 2 0 0 1-2 2h-9l-5 4v-4H8a2 2 0 0 1-2-2v-9a2 2 0 0 1 2-2z" fill="#fff"/>'
    '<path d="M11 14h10M11 18h7" stroke="#0b4f8a" stroke-width="2" stroke-linecap="round"/></svg>'
)


def _cache(request: Request) -> SuggestionCache:
    cache = getattr(request.app.state, "suggestions", None)
    if cache is None:
        cache = request.app.state.suggestions = SuggestionCache()
    return cache


@router.get("/api/v1/suggestions")
async def suggestions(request: Request, tenant: str | None = None, lang: Literal["zh", "en"] = "zh",
                      limit: int = Query(6, ge=1, le=12)) -> Any:
    """Questions a citizen may start with: the tenant's public FAQ questions, then its guide titles (live version,
    in date, in ``lang``). Never internal or expired knowledge. 404 for an unknown tenant."""
    services = request.app.state.services
    name = tenant if tenant is not None else services.settings.server.default_tenant
    await run_in_threadpool(known_tenant, request, name)

    def build() -> list[dict[str, Any]]:
        live = services.live.get(name)
        if live is None:
            return []
        version, reader = live
        return [s.as_dict() for s in _cache(request).get(name, version, reader, lang)[:limit]]

    items = await run_in_threadpool(build)
    return JSONResponse({"tenant": name, "lang": lang, "suggestions": items},
                        headers={"Cache-Control": "public, max-age=300"})


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> Response:
    return Response(FAVICON_SVG, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})
