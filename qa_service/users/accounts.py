"""Accounts and API tokens. A token is shown once when the account is made; only its sha256 is stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from qa_service.audit.trail import record
from qa_service.db.models import User

ROLES = ("staff", "editor", "admin", "auditor")
# What each role may do; admins may do everything.
PERMISSIONS: dict[str, set[str]] = {
    "staff": {"ask_staff", "review"},
    "editor": {"ask_staff", "review", "kb", "curated"},
    "auditor": {"audit"},
    "admin": {"ask_staff", "review", "kb", "curated", "audit", "users"},
}


class AccountError(ValueError):
    """Bad role, duplicate name, unknown user."""


@dataclass(frozen=True)
class Identity:
    name: str
    role: str
    tenant: str | None  # None: every tenant

    def may(self, permission: str, tenant: str | None = None) -> bool:
        if permission not in PERMISSIONS.get(self.role, set()):
            return False
        return self.tenant is None or tenant is None or tenant == self.tenant


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_user(session: Session, name: str, role: str, tenant: str | None, actor: str = "cli") -> tuple[User, str]:
    """Make an account and return it with its token (the only time the token is visible)."""
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if role in ("staff", "editor") and not tenant:
        raise AccountError(f"a {role} account needs a tenant")
    if session.scalar(select(User).where(User.name == name)) is not None:
        raise AccountError(f"user {name!r} exists")
    token = "qa_" + secrets.token_urlsafe(32)
    user = User(name=name, role=role, tenant=tenant, token_hash=token_hash(token), created_by=actor)
    session.add(user)
    session.flush()
    record(session, actor=actor, role="admin", action="user.create", tenant=tenant, target=name,
           detail={"role": role})
    return user, token


def set_active(session: Session, name: str, active: bool, actor: str = "cli") -> User:
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise AccountError(f"no user {name!r}")
    user.active = active
    record(session, actor=actor, role="admin", action="user.activate" if active else "user.deactivate",
           tenant=user.tenant, target=name)
    return user


def authenticate(session: Session, token: str) -> Identity | None:
    if not token:
        return None
    user = session.scalar(select(User).where(User.token_hash == token_hash(token), User.active.is_(True)))
    return Identity(user.name, user.role, user.tenant) if user else None


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.name)))
