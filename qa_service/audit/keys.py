"""The audit chain's HMAC key, kept outside the database.

The key comes from ``QA_AUDIT__KEY`` (settings ``audit.key``) or from a key file (default
``data_dir/audit.key``), which is created with mode 0600 on first use and refused when group- or
world-readable. Rows record a key id (an HMAC of a fixed label, so it names the key without revealing it).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import stat
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qa_service.settings import Settings

log = logging.getLogger(__name__)
MIN_KEY_CHARS = 32
_ID_LABEL = b"qa-audit-key-id"


class AuditKeyError(RuntimeError):
    """The key is missing, too short or its file is readable by others."""


def key_id(key: bytes) -> str:
    return hmac.new(key, _ID_LABEL, hashlib.sha256).hexdigest()[:16]


class AuditKeys:
    """One signing key (loaded lazily, the file made on first use) and lookup by key id for verifying."""

    def __init__(self, key: str | None = None, key_file: Path | None = None, *, ephemeral: bool = False) -> None:
        if key is not None and len(key) < MIN_KEY_CHARS:
            raise AuditKeyError(f"the audit key must have at least {MIN_KEY_CHARS} characters, not {len(key)}")
        self._key = key.encode("utf-8") if key is not None else None
        self.key_file = key_file
        if ephemeral and self._key is None:
            self._key = secrets.token_hex(32).encode("ascii")
            log.warning("audit key=ephemeral reason=no_key_configured key_id=%s", key_id(self._key))
        self._lock = threading.Lock()

    @classmethod
    def for_url(cls, url: str) -> AuditKeys:
        """Keys for a bare ``Database(url)`` (Services passes settings instead): ``QA_AUDIT__KEY``, else a key
        file beside a SQLite file, else a per-process key (logged: rows it signs verify only in this process)."""
        env = os.environ.get("QA_AUDIT__KEY")
        if env:
            return cls(env)
        if url.startswith("sqlite") and url.split("///", 1)[-1] not in ("", ":memory:"):
            return cls(None, Path(url.split("///", 1)[-1]).parent / "audit.key")
        return cls(None, None, ephemeral=True)

    def signing(self) -> tuple[str, bytes]:
        """(key id, key) to sign new rows with; the key file is created on first use."""
        with self._lock:
            if self._key is None:
                if self.key_file is None:
                    raise AuditKeyError("no audit key: set QA_AUDIT__KEY or audit.key_file")
                self._key = _read_or_create(self.key_file)
            return key_id(self._key), self._key

    def lookup(self, kid: str) -> bytes | None:
        """The key with this id, if it is the one configured (an existing file is read; none is created)."""
        with self._lock:
            if self._key is None and self.key_file is not None and self.key_file.exists():
                self._key = _read(self.key_file)
            key = self._key
        return key if key is not None and hmac.compare_digest(key_id(key), kid) else None


def _read(path: Path) -> bytes:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise AuditKeyError(f"audit key file {path} has mode {mode:04o}; it must be 0600 (chmod 600 {path})")
    key = path.read_text(encoding="utf-8").strip()
    if len(key) < MIN_KEY_CHARS:
        raise AuditKeyError(f"audit key file {path} holds {len(key)} characters; at least {MIN_KEY_CHARS} needed")
    return key.encode("utf-8")


def _read_or_create(path: Path) -> bytes:
    if path.exists():
        return _read(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(secrets.token_hex(32) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)  # atomic and never overwrites: a concurrent first use keeps the winner's key
            log.info("audit key_file=%s created=true", path)
        except FileExistsError:
            pass
    finally:
        tmp.unlink(missing_ok=True)
    return _read(path)


def keys_from_settings(settings: Settings) -> AuditKeys:
    secret = settings.audit.key.get_secret_value() if settings.audit.key is not None else None
    return AuditKeys(secret, None if secret else settings.audit_key_file)
