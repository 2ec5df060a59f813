"""Keeps one open reader per tenant on its live version and follows publishes without a restart.

Each :meth:`LiveReaderCache.get` checks cheaply whether the live pointer moved:

* Edge: ``stat`` of the ``LIVE`` file (inode, mtime_ns, size — ``os.replace`` always gives a new
  inode) on every call; the file is read only when that changed, and at least every
  ``refresh_s`` seconds anyway.
* Qdrant server: the alias is resolved at most every ``refresh_s`` seconds (default 2 s).

When the live version changed, the new version is opened and swapped in; the old reader is closed
after ``grace_s`` seconds so that queries already running on it (other threads) can finish.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from qa_service.kb.store import VectorStore, VersionReader

log = logging.getLogger(__name__)


@dataclass
class _Entry:
    version: int | None
    reader: VersionReader | None
    token: Any
    checked_at: float
    opened: list[float] = field(default_factory=list)


class LiveReaderCache:
    """Open readers of the tenants' live versions, swapped when the pointer/alias moves."""

    def __init__(self, store: VectorStore, refresh_s: float | None = None, grace_s: float = 5.0) -> None:
        self.store = store
        self._token_fn = getattr(store, "live_token", None)
        if refresh_s is None:
            refresh_s = 1.0 if self._token_fn is not None else 2.0
        self.refresh_s = refresh_s
        self.grace_s = grace_s
        self._entries: dict[str, _Entry] = {}
        self._retired: list[tuple[float, VersionReader]] = []
        self._lock = threading.Lock()
        self.swaps = 0

    def get(self, tenant: str) -> tuple[int, VersionReader] | None:
        """``(version, reader)`` of the tenant's live version, or None when nothing is live."""
        now = time.monotonic()
        entry = self._entries.get(tenant)
        token = self._token_fn(tenant) if self._token_fn is not None else None
        if (
            entry is not None
            and token == entry.token
            and now - entry.checked_at < self.refresh_s
        ):
            self._reap(now)
            return (entry.version, entry.reader) if entry.version is not None and entry.reader else None
        with self._lock:
            entry = self._entries.get(tenant)
            version = self.store.live_version(tenant)
            if entry is not None and entry.version == version and (entry.reader is not None or version is None):
                entry.token = token
                entry.checked_at = now
            else:
                entry = self._swap(tenant, entry, version, token, now)
            self._reap_locked(now)
            return (entry.version, entry.reader) if entry.version is not None and entry.reader else None

    def current_version(self, tenant: str) -> int | None:
        got = self.get(tenant)
        return got[0] if got else None

    def _swap(self, tenant: str, old: _Entry | None, version: int | None, token: Any, now: float) -> _Entry:
        reader: VersionReader | None = None
        if version is not None:
            try:
                reader = self.store.open_version(tenant, version)
            except Exception:
                log.exception("live reader: cannot open tenant=%s version=%s", tenant, version)
                if old is not None and old.reader is not None:
                    old.checked_at = now  # keep serving the previous version; retry after refresh_s
                    return old
        if old is not None and old.reader is not None:
            self._retired.append((now, old.reader))
        entry = _Entry(version if reader is not None else None, reader, token, now)
        self._entries[tenant] = entry
        if old is not None and old.reader is not None:
            self.swaps += 1
        log.info("live reader tenant=%s version=%s (was %s)", tenant, entry.version,
                 old.version if old else None)
        return entry

    def _reap(self, now: float) -> None:
        if self._retired:
            with self._lock:
                self._reap_locked(now)

    def _reap_locked(self, now: float) -> None:
        keep: list[tuple[float, VersionReader]] = []
        for retired_at, reader in self._retired:
            if now - retired_at >= self.grace_s:
                try:
                    reader.close()
                except Exception:  # pragma: no cover - closing must never break a request
                    log.exception("live reader: close failed")
            else:
                keep.append((retired_at, reader))
        self._retired = keep

    def invalidate(self, tenant: str | None = None) -> None:
        """Force a pointer check on the next :meth:`get` (e.g. right after a publish here)."""
        with self._lock:
            for name, entry in self._entries.items():
                if tenant is None or name == tenant:
                    entry.checked_at = float("-inf")

    def close(self) -> None:
        with self._lock:
            readers = [e.reader for e in self._entries.values() if e.reader is not None]
            readers += [r for _, r in self._retired]
            self._entries.clear()
            self._retired = []
        for reader in readers:
            try:
                reader.close()
            except Exception:  # pragma: no cover
                log.exception("live reader: close failed")
