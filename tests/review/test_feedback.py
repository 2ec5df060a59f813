"""Issue 14 item 4: feedback cannot flood the review queue.

One verdict per answer per client (409 on a repeat), at most review.feedback_per_minute posts per client (429),
all not-helpful verdicts on one answer in one open review item, the client address stored only as a salted
hash. Through the HTTP API on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from qa_service.db.models import AuditEvent, Feedback, ReviewItem
from qa_service.ingest.pipeline import run_ingest
from qa_service.users.accounts import create_user
from qa_service.web.app import create_app
from qa_service.web.ratelimit import MemoryLimiter
from tests.kbdata import write_folder

pytestmark = pytest.mark.unit
QUESTION = "How much does a resident parking permit cost?"
LIMIT = 10  # review.feedback_per_minute here


@pytest.fixture
def town(make_services: Any, db_url: str, tmp_path: Path) -> Any:
    svc = make_services(database_url=db_url, review={"feedback_per_minute": LIMIT})
    run_ingest(svc, [write_folder(tmp_path / "kb")], "town", publish=True)
    svc.settings.server.default_tenant = "town"
    with svc.db.session() as s:
        _, staff = create_user(s, "sam", "staff", "town")
    app = create_app(svc, warm=False)
    # the limit is per fixed one-minute window: a frozen clock keeps every post of a test in one window (on a slow run
    # the posts of one test straddled a minute boundary and the count started again)
    limiter = app.state.limiter
    app.state.limiter = MemoryLimiter(limiter.limit, clock=lambda: 1_800_000_030.0, total_limit=limiter.total_limit)
    with TestClient(app) as client:
        yield {"svc": svc, "app": app, "client": client, "staff": staff}


def _answer(c: TestClient) -> str:
    out = c.post("/api/v1/ask", json={"question": QUESTION}).json()
    assert out["decision"] == "answered", out
    return str(out["trace_id"])


def _items(svc: Any) -> list[ReviewItem]:
    with svc.db.session() as s:
        return list(s.scalars(select(ReviewItem).where(ReviewItem.kind == "feedback")))


def test_fifty_posts_with_one_trace_id_make_one_item(town: Any) -> None:
    c, svc = town["client"], town["svc"]
    trace = _answer(c)
    codes = Counter(c.post("/api/v1/feedback", json={"trace_id": trace, "helpful": False,
                                                     "reasons": ["wrong"], "comment": f"post {i}"}).status_code
                    for i in range(50))
    assert codes == {201: 1, 409: LIMIT - 1, 429: 50 - LIMIT}
    items = _items(svc)
    assert len(items) == 1 and items[0].feedback_count == 1
    with svc.db.session() as s:
        assert len(s.scalars(select(Feedback)).all()) == 1
    dup = c.post("/api/v1/feedback", json={"trace_id": trace, "helpful": True})
    assert dup.status_code == 429 and int(dup.headers["Retry-After"]) > 0 and "feedback" in dup.json()["detail"]


def test_repeat_is_409_and_the_limit_counts_across_answers(town: Any) -> None:
    c = town["client"]
    traces = [_answer(c) for _ in range(LIMIT + 1)]
    first = c.post("/api/v1/feedback", json={"trace_id": traces[0], "helpful": True})
    assert first.status_code == 201
    again = c.post("/api/v1/feedback", json={"trace_id": traces[0], "helpful": False})
    assert again.status_code == 409 and "already" in again.json()["detail"]
    codes = [c.post("/api/v1/feedback", json={"trace_id": t, "helpful": True}).status_code for t in traces[1:]]
    assert codes == [201] * (len(codes) - 2) + [429] * 2  # posts 11 and 12 of this client in this minute
    other = TestClient(town["app"], client=("203.0.113.9", 4000))  # another client is not limited by this one
    assert other.post("/api/v1/feedback", json={"trace_id": traces[-1], "helpful": True}).status_code == 201


def test_many_clients_one_answer_one_item_with_every_reason(town: Any) -> None:
    c, svc = town["client"], town["svc"]
    trace = _answer(c)
    reasons = ["wrong", "outdated", "unclear", "did_not_answer", "broken_link", "wrong"]
    clients = [TestClient(town["app"], client=(f"198.51.100.{i + 1}", 5000)) for i in range(len(reasons))]
    codes: list[int] = []

    def post(i: int) -> None:  # at the same time: the unique open-item key keeps them in one item
        r = clients[i].post("/api/v1/feedback", json={"trace_id": trace, "helpful": False, "reasons": [reasons[i]],
                                                      "comment": f"client {i} says call 13812345678"})
        codes.append(r.status_code)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(reasons))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [201] * len(reasons)
    (item,) = _items(svc)
    assert item.feedback_count == len(reasons) and item.state == "pending"
    assert {f"feedback:{r}" for r in reasons} <= set(item.risk_reasons)
    assert "13812345678" not in (item.note or "") and (item.note or "").count("client") == len(reasons)

    # once decided, a later verdict opens a new item instead of reopening the decided one
    h = {"Authorization": f"Bearer {town['staff']}"}
    c.post("/api/v1/review/town/claim", json={"item_id": item.id}, headers=h)
    assert c.post(f"/api/v1/review/town/items/{item.id}", json={"action": "reject"}, headers=h).status_code == 200
    late = TestClient(town["app"], client=("198.51.100.200", 5000))
    assert late.post("/api/v1/feedback", json={"trace_id": trace, "helpful": False}).status_code == 201
    assert sorted(i.feedback_count for i in _items(svc)) == [1, len(reasons)]


def test_the_client_address_is_stored_only_as_a_salted_hash(town: Any) -> None:
    from qa_service.review.feedback import client_hash, load_salt

    svc = town["svc"]
    address = "192.0.2.77"
    client = TestClient(town["app"], client=(address, 6000))
    trace = _answer(client)
    assert client.post("/api/v1/feedback", json={"trace_id": trace, "helpful": False}).status_code == 201
    salt = load_salt(svc.settings.review, svc.settings.data_dir)
    with svc.db.session() as s:
        row = s.scalars(select(Feedback)).one()
        dumped = json.dumps([list(map(str, r)) for r in s.execute(select(AuditEvent.detail, AuditEvent.target))])
        assert row.client_hash == client_hash(address, salt) and row.client_hash != client_hash(address, "")
        assert address not in dumped and address not in json.dumps(_items(svc)[0].risk_reasons)
    assert (svc.settings.data_dir / "client_salt").stat().st_mode & 0o077 == 0
