"""First start: register the sample tenants (contact data from each catalog's ``tenant_profile`` block) and
ingest and publish the shipped sample knowledge for tenants that have no live KB."""

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
    """Register each ``knowledge/<tenant>/`` folder's tenant and ingest it when it has no live version; returns
    the tenants ingested."""
    from qa_service.ingest.pipeline import run_ingest
    from qa_service.kb import versions

    root = sample_folder(services)
    done: list[str] = []
    if not root.is_dir():
        log.warning("bootstrap no sample knowledge folder=%s", root)
        return done
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))):
        cat = load_catalog(folder)
        tenant = (cat.tenant if cat and cat.tenant else folder.name)
        with services.db.session() as s:
            ensure(s, tenant, profile_from_catalog(folder), actor="bootstrap")
            if versions.live_row(s, tenant) is not None:
                continue
        log.info("bootstrap ingest tenant=%s folder=%s", tenant, folder)
        result = run_ingest(services, [folder], tenant, publish=True, actor="bootstrap")
        log.info("bootstrap done tenant=%s version=%s sources=%s", tenant, result.version, result.sources)
        done.append(tenant)
    return done
