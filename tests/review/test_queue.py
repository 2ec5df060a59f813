"""The review queue under concurrency: 8 workers resolve 1,000 items exactly once; a killed worker's claim
comes back after its lease. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from qa_service.db.models import AuditEvent, ReviewItem
from qa_service.db.session import Database
from qa_service.review import queue
from qa_service.settings import ReviewSettings
from qa_service.users.accounts import Identity

pytestmark = pytest.mark.unit
CFG = ReviewSettings()


def _fill(db: Database, n: int, tenant: str = "city") -> None:
    with db.session() as s:
        for i in range(n):
            queue.new_item(s, CFG, tenant=tenant, kind="held", question=f"question {i}", lang="en",
                           draft_answer=f"draft {i}", ticket=f"T{tenant}{i:06d}")


def test_eight_workers_resolve_each_item_exactly_once(db_url: str) -> None:
    db = Database(db_url)
    db.migrate()
    _fill(db, 1000)
    _fill(db, 5, tenant="other")  # never touched by city staff
    resolved: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(k: int) -> None:
        me = Identity(f"w{k}", "staff", "city")
        try:
            while True:
                with db.session() as s:
                    item = queue.claim(s, CFG, "city", me)
                    if item is None:
                        return
                    item_id = item.id
                with db.session() as s:
                    queue.resolve(s, item_id, me, "approve")
                with lock:
                    resolved.append(item_id)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not errors, errors[:3]
    assert len(resolved) == 1000 and len(set(resolved)) == 1000
    with db.session() as s:
        states = Counter(s.scalars(select(ReviewItem.state).where(ReviewItem.tenant == "city")))
        other = Counter(s.scalars(select(ReviewItem.state).where(ReviewItem.tenant == "other")))
        approvals = s.scalars(select(AuditEvent.target).where(AuditEvent.action == "review.approve")).all()
        workers = Counter(s.scalars(select(ReviewItem.resolved_by).where(ReviewItem.tenant == "city")))
    assert states == {"approved": 1000} and other == {"pending": 5}
    assert len(approvals) == 1000 and len(set(approvals)) == 1000
    assert len(workers) > 1  # the work really was shared
    db.dispose()


def test_claim_needs_a_live_lease_and_right_owner(db_url: str) -> None:
    db = Database(db_url)
    db.migrate()
    _fill(db, 1)
    a, b = Identity("a", "staff", "city"), Identity("b", "staff", "city")
    with db.session() as s:
        item = queue.claim(s, CFG, "city", a, lease_seconds=60)
        assert item is not None
        item_id = item.id
    with db.session() as s:
        assert queue.claim(s, CFG, "city", b) is None  # held by a
    with pytest.raises(queue.ReviewError), db.session() as s:
        queue.resolve(s, item_id, b, "approve")
    with pytest.raises(queue.ReviewError), db.session() as s:
        queue.resolve(s, item_id, a, "edit", answer="  ")
    with db.session() as s:
        assert queue.resolve(s, item_id, a, "reject").state == "rejected"
    db.dispose()


def test_killed_worker_gives_the_item_back_after_its_lease(db_url: str, tmp_path: Path) -> None:
    db = Database(db_url)
    db.migrate()
    _fill(db, 1)
    script = tmp_path / "claimer.py"
    script.write_text(textwrap.dedent(f"""
        import os, signal
        from qa_service.db.session import Database
        from qa_service.review import queue
        from qa_service.settings import ReviewSettings
        from qa_service.users.accounts import Identity
        db = Database({db_url!r})
        with db.session() as s:
            item = queue.claim(s, ReviewSettings(), "city", Identity("doomed", "staff", "city"), lease_seconds=2)
        print(item.id, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == -9, proc.stderr[-2000:]
    item_id = proc.stdout.split()[0]
    other = Identity("survivor", "staff", "city")
    with db.session() as s:
        assert queue.claim(s, CFG, "city", other) is None  # lease still running
    time.sleep(2.5)
    with db.session() as s:
        item = queue.claim(s, CFG, "city", other)
        assert item is not None and item.id == item_id and item.assignee == "survivor"
    with db.session() as s:
        assert queue.resolve(s, item_id, other, "approve").state == "approved"
    db.dispose()


def test_staff_of_another_tenant_cannot_resolve(db_url: str) -> None:
    db = Database(db_url)
    db.migrate()
    _fill(db, 1)
    with db.session() as s:
        item = queue.claim(s, CFG, "city", Identity("a", "staff", "city"))
        assert item is not None
        item_id = item.id
    with pytest.raises(queue.ReviewError), db.session() as s:
        queue.resolve(s, item_id, Identity("a", "staff", "tax"), "approve")
    db.dispose()
