"""Who is calling: `Authorization: Bearer <token>` → an Identity, checked against a permission and tenant.

Citizen routes (ask on the citizen channel, tickets, feedback) are anonymous; everything else needs a token.
Tenants are checked here for every route: :func:`require` checks a ``{tenant}`` path parameter (after the
token, so nothing is learnt about tenants without signing in), and the ask route passes the body's tenant
to :func:`known_tenant`. Malformed → 422, unknown or inactive → 404, each with a clear message.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import HTTPException, Request

from qa_service import tenants
from qa_service.users.accounts import Identity, authenticate


def identity_of(request: Request) -> Identity | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        return None
    services = request.app.state.services
    with services.db.session() as s:
        return authenticate(s, header[7:].strip())


def known_tenant(request: Request, tenant: object) -> tenants.TenantInfo:
    """The tenant, or 422 (malformed) / 404 (unknown or inactive)."""
    try:
        name = tenants.validate_name(tenant)
        with request.app.state.services.db.session() as s:
            return tenants.require_known(s, name)
    except tenants.UnknownTenant as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    except tenants.TenantError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc


def require(permission: str) -> Callable[[Request], Identity]:
    """A dependency: 401 without a valid token, 422/404 for a malformed/unknown ``{tenant}``, 403 when the role
    or tenant does not allow it."""

    def dependency(request: Request) -> Identity:
        who = identity_of(request)
        if who is None:
            raise HTTPException(status_code=401, detail="sign in: Authorization: Bearer <token>",
                                headers={"WWW-Authenticate": "Bearer"})
        tenant = request.path_params.get("tenant")
        if tenant is not None:
            known_tenant(request, tenant)
        if not who.may(permission, tenant):
            raise HTTPException(status_code=403, detail=f"{who.role} {who.name!r} may not {permission}"
                                + (f" for tenant {tenant!r}" if tenant else ""))
        return who

    return dependency


def check_tenant(who: Identity, permission: str, tenant: str) -> None:
    if not who.may(permission, tenant):
        raise HTTPException(status_code=403, detail=f"{who.role} {who.name!r} may not {permission} for {tenant!r}")
