"""The audit chain under concurrent appends, on SQLite and PostgreSQL: no two rows share a predecessor."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import select

from qa_service.audit.trail import record, verify
from qa_service.db.models import AuditEvent

pytestmark = pytest.mark.integration


def _hammer(svc: Any, threads: int, per_thread: int) -> list[BaseException]:
    """Each thread appends in its own session, one row per transaction, all starting together."""
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def worker(k: int) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                with svc.db.session() as s:
                    s.scalar(select(AuditEvent.id).limit(1))  # an ordinary read first, as request handlers do
                    record(s, actor=f"w{k}", role="citizen", action="ask.refused", tenant="town",
                           decision="rate_limited", detail={"i": i})
        except BaseException as exc:  # surfaced by the caller
            errors.append(exc)

    pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=300)
    return errors


def test_concurrent_appends_never_fork(make_services: Any, db_url: str) -> None:
    svc = make_services(database_url=db_url)
    errors = _hammer(svc, threads=6, per_thread=25)
    assert not errors, errors[:3]
    with svc.db.session() as s:
        prevs = Counter(s.scalars(select(AuditEvent.prev_hash)))
        res = verify(s)
    shared = {p: n for p, n in prevs.items() if n > 1}
    assert not shared, f"{len(shared)} predecessors shared by two or more rows (forks)"
    assert res.ok and res.rows == 150, res
