"""A persistent cache of dense vectors by model, side and text (``embedding.cache_path``).

The same passage is embedded again whenever it reaches a new tenant, a version built without a parent, a rebuilt
evaluation corpus or another test run; with the cache that is one SQLite lookup. The key is
``sha256(model_id, side, text)``, so another model, a changed centring or the other side (question / passage) never
reads a stored vector. Several processes (API workers, the ingestion worker, the CLI) share one file: SQLite in WAL
mode, and a vector is written once (``INSERT OR IGNORE``). A cache that cannot be opened or read is logged and
bypassed: the vectors are then computed, never invented.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)
_SCHEMA = "CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, vec BLOB NOT NULL)"


def cache_key(model_id: str, query: bool, text: str) -> bytes:
    return hashlib.sha256(f"{model_id}\0{'q' if query else 'p'}\0{text}".encode()).digest()


class VectorCache:
    """Vectors by key in one SQLite file; thread-safe within a process, shared between processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self.hits = 0
        self.misses = 0

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            # a cache: a power cut may lose the last vectors written (they are computed again), never corrupt the
            # file (WAL); without an fsync per insert a new question's vector costs ~0.1 ms to keep instead of ~3
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(_SCHEMA)
            self._conn = conn
        return self._conn

    def encode(self, keys: Sequence[bytes], texts: Sequence[str],
               compute: Callable[[list[str]], list[list[float]]]) -> list[list[float]]:
        """The vectors of ``texts`` (``keys[i]`` is the key of ``texts[i]``): stored ones read, the rest computed by
        ``compute`` and stored."""
        found: dict[bytes, list[float]] = {}
        try:
            with self._lock:
                conn = self._connection()
                unique = list(dict.fromkeys(keys))
                for start in range(0, len(unique), 500):
                    part = unique[start:start + 500]
                    rows = conn.execute(f"SELECT key, vec FROM vectors WHERE key IN ({','.join('?' * len(part))})",
                                        part).fetchall()
                    found.update({k: np.frombuffer(v, dtype=np.float32).tolist() for k, v in rows})
        except sqlite3.Error as exc:
            log.warning("vector cache unreadable path=%s error=%s", self.path, exc)
            return compute(list(texts))
        todo = [i for i, k in enumerate(keys) if k not in found]
        self.hits += len(keys) - len(todo)
        self.misses += len(todo)
        if todo:
            first: dict[bytes, int] = {}
            for i in todo:
                first.setdefault(keys[i], i)
            order = list(first.values())
            vectors = np.asarray(compute([texts[i] for i in order]), dtype=np.float32)  # as stored: a hit and a
            fresh = {keys[i]: v.tolist() for i, v in zip(order, vectors, strict=True)}  # miss give the same floats
            found.update(fresh)
            try:
                with self._lock:
                    self._connection().executemany(
                        "INSERT OR IGNORE INTO vectors (key, vec) VALUES (?, ?)",
                        [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in fresh.items()])
            except sqlite3.Error as exc:
                log.warning("vector cache not written path=%s error=%s", self.path, exc)
        return [found[k] for k in keys]

    def put(self, items: Sequence[tuple[bytes, Sequence[float]]]) -> None:
        """Store vectors by key (a key already stored keeps its vector)."""
        rows = [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in items]
        with self._lock:
            self._connection().executemany("INSERT OR IGNORE INTO vectors (key, vec) VALUES (?, ?)", rows)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
