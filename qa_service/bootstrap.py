"""First start: register the sample tenants (contact data from each catalog's ``tenant_profile`` block) and
ingest and publish the shipped sample knowledge for tenants that have no live KB; re-embed once every tenant whose
live version was built by another dense model (after a change of ``embedding.*``), since its vectors cannot be
searched with the new model's questions."""

from __future__ import annotations

import logging
from pathlib import Path

import qa_service
from qa_service.ingest.catalog import load_catalog
from qa_service.services import Services
from qa_service.tenants import ensure, profile_from_catalog

log = logging.getLogger(__name__)


def sample_folder(services: Services) -> Path:
    configured = services.settings.server.sample_knowledge
    return Path(configured) if configured else Path(qa_service.__file__).resolve().parents[1] / "knowledge"


def bootstrap_samples(services: Services) -> list[str]:
    """Register each ``knowledge/<tenant>/`` folder's tenant and ingest it when it has no live version or its live
    version was built by another dense model; then re-embed any other such tenant. Returns the tenants ingested."""
    from qa_service.ingest.pipeline import run_ingest
    from qa_service.kb import versions

    root = sample_folder(services)
    model_id = services.dense.model_id
    done: list[str] = []
    if not root.is_dir():
        log.warning("bootstrap no sample knowledge folder=%s", root)
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))) \
        if root.is_dir() else []
    for folder in folders:
        cat = load_catalog(folder)
        tenant = (cat.tenant if cat and cat.tenant else folder.name)
        with services.db.session() as s:
            ensure(s, tenant, profile_from_catalog(folder), actor="bootstrap")
            live = versions.live_row(s, tenant)
            if live is not None and live.embedding_model == model_id:
                continue
            parent, old_model = (live.version, live.embedding_model) if live is not None else (None, None)
        log.info("bootstrap ingest tenant=%s folder=%s parent=%s model=%s previous_model=%s",
                 tenant, folder, parent, model_id, old_model)
        result = run_ingest(services, [folder], tenant, publish=True, actor="bootstrap", parent=parent)
        log.info("bootstrap done tenant=%s version=%s sources=%s chunks=%s", tenant, result.version, result.sources,
                 result.chunks)
        done.append(tenant)
    return done + reembed_stale(services, skip=set(done))


def reembed_stale(services: Services, skip: set[str] | None = None) -> list[str]:
    """Build and publish a re-embedded copy of each live version made by another dense model (content unchanged:
    every source is copied from the live version with new dense vectors). Returns the tenants re-embedded."""
    from sqlalchemy import select

    from qa_service.db.models import KbVersion
    from qa_service.ingest.pipeline import run_ingest

    model_id = services.dense.model_id
    with services.db.session() as s:
        stale = [(r.tenant, r.version, r.embedding_model) for r in s.execute(
            select(KbVersion).where(KbVersion.state == "live", KbVersion.embedding_model != model_id)).scalars()
            if r.tenant not in (skip or set())]
    done = []
    for tenant, version, old_model in sorted(stale):
        log.info("bootstrap reembed tenant=%s live=%s previous_model=%s model=%s", tenant, version, old_model, model_id)
        result = run_ingest(services, [], tenant, publish=True, actor="bootstrap", parent=version)
        log.info("bootstrap reembed done tenant=%s version=%s chunks=%s", tenant, result.version, result.chunks)
        done.append(tenant)
    return done
