"""Engine and session factory. SQLite runs in WAL mode with synchronous=FULL; PostgreSQL via URL.

Sessions carry the audit keys (``session.info["audit_keys"]``) so every audit append is signed, and
:func:`begin_serial_write` makes a session the only writer of a chain for the rest of its transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from qa_service.audit.keys import AuditKeys

log = logging.getLogger(__name__)


def make_engine(url: str) -> Engine:
    """Create an engine; for SQLite, make the parent directory and set the pragmas."""
    kwargs: dict[str, Any] = {"future": True}
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

    return engine


class Database:
    """Owns the engine and hands out sessions."""

    def __init__(self, url: str, audit_keys: AuditKeys | None = None) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.audit_keys = audit_keys or AuditKeys.for_url(url)
        self._factory = sessionmaker(self.engine, expire_on_commit=False, info={"audit_keys": self.audit_keys})

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        sess = self._factory()
        try:
            yield sess
            sess.commit()
        except Exception:
            sess.rollback()
            raise
        finally:
            sess.close()

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision."""
        from qa_service.db.migrate import upgrade

        upgrade(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()


class SerialWriteError(RuntimeError):
    """The transaction cannot be made the only writer (e.g. PostgreSQL REPEATABLE READ read before the lock)."""


def begin_serial_write(session: Session, lock_key: int) -> None:
    """From now until this session's transaction ends, no other session can write the rows ``lock_key`` guards,
    and this session's reads see every row committed before it got the lock.

    SQLite: ``BEGIN IMMEDIATE`` (the database's one write lock, waiting up to busy_timeout) unless the
    transaction already wrote: the driver opens a transaction only at its first INSERT/UPDATE/DELETE, which
    takes the write lock on the newest snapshot, so an open transaction already holds it. Without this a
    session reads in autocommit, waits for the lock at its INSERT and writes what it read before: a fork.
    PostgreSQL: ``pg_advisory_xact_lock(lock_key)``, held until commit; in READ COMMITTED the next statement's
    snapshot includes everything the previous holder committed. REPEATABLE READ would keep an older snapshot,
    so it is refused.
    """
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        raw = conn.connection.dbapi_connection
        if raw is not None and not raw.in_transaction:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
    elif conn.dialect.name == "postgresql":
        level = conn.execute(text("SELECT pg_advisory_xact_lock(:k), current_setting('transaction_isolation')"),
                             {"k": lock_key}).one()[1]
        if level == "repeatable read":
            raise SerialWriteError("serialised appends need READ COMMITTED or SERIALIZABLE, not REPEATABLE READ")
    else:
        raise SerialWriteError(f"no serialised writes for dialect {conn.dialect.name!r}")
