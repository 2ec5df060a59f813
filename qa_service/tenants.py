"""The tenant registry: which departments this deployment serves, and how citizens reach them.

A tenant name must match the ingestion pattern (``^[a-z0-9][a-z0-9_-]{0,63}$``) and be known: registered
(by bootstrap from a catalog's ``tenant_profile`` block, by ``qa ingest`` into a new tenant, by
``qa tenants add``) or holding a knowledge-base version (knowledge ingested before the registry existed or
by a direct pipeline call). A registered tenant marked inactive is refused like an unknown one.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from qa_service.audit.trail import record
from qa_service.db.models import KbVersion, Tenant

log = logging.getLogger(__name__)
TENANT_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")  # the same pattern as ingest.pipeline.TENANT_RE
DEFAULT_HOTLINE = "12345"
PROFILE_KEYS = ("name_zh", "name_en", "phone", "address", "hours", "hotline")
PROFILE_BLOCK = "tenant_profile"  # the catalog.yaml block with the department's contact data


class TenantError(ValueError):
    """A malformed tenant name or a bad registry change."""


class UnknownTenant(TenantError):
    """A well-formed name that this deployment does not serve (or no longer serves)."""


@dataclass(frozen=True)
class TenantInfo:
    id: str
    name_zh: str | None = None
    name_en: str | None = None
    phone: str | None = None
    address: str | None = None
    hours: str | None = None
    hotline: str = DEFAULT_HOTLINE
    active: bool = True
    registered: bool = True

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _shown(name: object) -> str:
    """The name as quoted in a message: never more than 40 characters of what the caller sent."""
    text = repr(name)
    return text if len(text) <= 40 else text[:37] + "..."


def validate_name(name: object) -> str:
    """The name itself, or TenantError saying what a tenant name must look like."""
    if not isinstance(name, str) or not TENANT_RE.fullmatch(name):  # fullmatch: "$" lets a final "\n" through
        raise TenantError(f"tenant {_shown(name)} is malformed: 1-64 characters of a-z, 0-9, '_' or '-', "
                          "starting with a letter or digit")
    return name


def _info(row: Tenant) -> TenantInfo:
    return TenantInfo(id=row.id, name_zh=row.name_zh, name_en=row.name_en, phone=row.phone, address=row.address,
                      hours=row.hours, hotline=row.hotline or DEFAULT_HOTLINE, active=bool(row.active))


def find(session: Session, name: str) -> TenantInfo | None:
    """The registered tenant, else an unregistered one that holds knowledge, else None."""
    row = session.get(Tenant, name)
    if row is not None:
        return _info(row)
    has_kb = session.scalar(select(KbVersion.id).where(KbVersion.tenant == name).limit(1))
    return TenantInfo(id=name, registered=False) if has_kb is not None else None


def require_known(session: Session, name: object) -> TenantInfo:
    """The tenant, or TenantError (malformed) / UnknownTenant (unknown or inactive) with a clear message."""
    tenant = validate_name(name)
    info = find(session, tenant)
    if info is None:
        raise UnknownTenant(f"unknown tenant {tenant!r}: this service answers for registered departments only")
    if not info.active:
        raise UnknownTenant(f"tenant {tenant!r} is not active on this service")
    return info


def _clean_profile(profile: Mapping[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in PROFILE_KEYS:
        value = (profile or {}).get(key)
        if value is not None and str(value).strip():
            out[key] = str(value).strip()
    return out


def add(session: Session, name: str, profile: Mapping[str, Any] | None = None, *, active: bool = True,
        actor: str = "cli", role: str = "admin") -> Tenant:
    """Register a new tenant (audited as ``tenant.add``); TenantError when it exists or is malformed."""
    tenant = validate_name(name)
    if session.get(Tenant, tenant) is not None:
        raise TenantError(f"tenant {tenant!r} is already registered")
    row = Tenant(id=tenant, active=active, created_by=actor, hotline=DEFAULT_HOTLINE)
    for key, value in _clean_profile(profile).items():
        setattr(row, key, value)
    session.add(row)
    session.flush()
    record(session, actor=actor, role=role, action="tenant.add", tenant=tenant, target=tenant,
           detail={"active": active, **{k: getattr(row, k) for k in ("name_zh", "name_en")}})
    log.info("tenant registered tenant=%s actor=%s", tenant, actor)
    return row


def ensure(session: Session, name: str, profile: Mapping[str, Any] | None = None, *, actor: str = "system",
           role: str = "admin") -> Tenant:
    """The registered tenant; registered now (with ``profile``) when it was not. An existing row is not changed."""
    row = session.get(Tenant, validate_name(name))
    return row if row is not None else add(session, name, profile, actor=actor, role=role)


def list_all(session: Session) -> list[TenantInfo]:
    """Registered tenants and tenants holding knowledge without a registry row, by name."""
    infos = {row.id: _info(row) for row in session.scalars(select(Tenant))}
    for (name,) in session.execute(select(KbVersion.tenant).distinct()):
        infos.setdefault(name, TenantInfo(id=name, registered=False))
    return [infos[k] for k in sorted(infos)]


def profile_from_catalog(folder: Path) -> dict[str, Any]:
    """The ``tenant_profile`` block of ``folder/catalog.yaml`` (empty when there is none)."""
    path = folder / "catalog.yaml"
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    block = data.get(PROFILE_BLOCK) if isinstance(data, dict) else None
    if block is not None and not isinstance(block, dict):
        raise TenantError(f"{path}: {PROFILE_BLOCK} must be a mapping of {', '.join(PROFILE_KEYS)}")
    return _clean_profile(block)
