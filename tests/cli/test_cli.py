"""The `qa` commands exactly as editors and checks call them, with --json output parsed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from qa_service.cli import common
from qa_service.cli.main import app
from tests.kbdata import PARKING, write_folder

pytestmark = pytest.mark.integration


@pytest.fixture
def qa(make_services: Any, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    svc = make_services(database_url=db_url)
    monkeypatch.setitem(common._state, "services", svc)
    runner = CliRunner()

    def run(*args: str, ok: bool = True) -> Any:
        result = runner.invoke(app, list(args))
        if ok:
            assert result.exit_code == 0, (args, result.output, result.exception)
        return result

    return run


def _json(result: Any) -> Any:
    lines = [ln for ln in result.stdout.splitlines() if ln.strip().startswith("{")]
    return [json.loads(ln) for ln in lines]


def test_ingest_list_diff_publish_rollback_search(qa: Any, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "kb")
    first = _json(qa("ingest", str(folder), "--tenant", "town", "--publish", "--json"))[0]
    assert set(first) >= {"job_id", "version", "sources", "chunks", "seconds"}
    assert set(first["sources"]) >= {"added", "updated", "unchanged", "removed", "refused", "failed"}
    assert set(first["chunks"]) >= {"embedded", "reused", "flagged"}
    assert first["version"] == 1 and first["sources"]["added"] == 5
    (folder / "parking.md").write_text(PARKING.replace("40 dollars", "70 dollars"), encoding="utf-8")
    second = _json(qa("ingest", str(folder), "--tenant", "town", "--json"))[0]
    assert second["version"] == 2 and second["sources"]["updated"] == 1 and not second["published"]
    listing = _json(qa("kb", "list", "--tenant", "town", "--json"))[0]
    assert {v["version"]: v["state"] for v in listing["versions"]} == {1: "live", 2: "draft"}
    diff = _json(qa("kb", "diff", "--tenant", "town", "1", "2", "--json"))[0]
    assert diff["sources"]["changed"] == ["parking.md"]
    qa("kb", "publish", "--tenant", "town", "2")
    found = _json(qa("kb", "search", "resident parking permit dollars", "--tenant", "town", "--k", "3", "--json"))[0]
    assert found["version"] == 2
    assert set(found["results"][0]) >= {"chunk_id", "source_id", "title", "heading", "score", "text"}
    assert any("70 dollars" in r["text"] for r in found["results"])
    qa("kb", "rollback", "--tenant", "town")
    listing = _json(qa("kb", "list", "--tenant", "town", "--json"))[0]
    assert listing["live"] == 1
    internal = _json(qa("kb", "search", "waive the permit fee blue badge", "--tenant", "town", "--visibility",
                        "public", "--json"))[0]
    assert all(r["visibility"] == "public" for r in internal["results"])
    bigrams = _json(qa("kb", "search", "户口迁入要什么材料", "--tenant", "town", "--mode", "cjk", "--json"))[0]
    assert bigrams["results"] and "户籍迁入" in bigrams["results"][0]["text"]  # 户口 / 户籍 share 户 and 迁入
    assert _json(qa("kb", "search", "parking permit", "--tenant", "town", "--mode", "cjk", "--json"))[0][
        "results"] == []  # English has no bigram side
    bad_mode = qa("kb", "search", "x", "--tenant", "town", "--mode", "fuzzy", "--json", ok=False)
    assert bad_mode.exit_code == 1 and "--mode" in _json(bad_mode)[0]["error"]


def test_ask_single_and_file(qa: Any, tmp_path: Path) -> None:
    qa("ingest", str(write_folder(tmp_path / "kb")), "--tenant", "town", "--publish", "--json")
    one = _json(qa("ask", "How much does a resident parking permit cost?", "--tenant", "town", "--json"))[0]
    assert set(one) >= {"decision", "answer", "citations", "risk", "ai_generated", "kb_version", "trace_id",
                        "timings_ms"}
    assert one["decision"] == "answered" and one["citations"][0]["chunk_id"].startswith("parking.md:")
    qfile = tmp_path / "q.jsonl"
    qfile.write_text('{"qid": "a", "question": "户籍迁入需要提供哪些材料？"}\nnot json\n'
                     '{"qid": "b", "question": "Can counter staff waive the permit fee?"}\n', encoding="utf-8")
    rows = _json(qa("ask", "--file", str(qfile), "--tenant", "town", "--channel", "staff", "--json"))
    assert [r.get("qid") for r in rows] == ["a", None, "b"]
    assert rows[0]["decision"] == "answered" and "error" in rows[1]


def test_errors_exit_non_zero_with_a_message(qa: Any, tmp_path: Path) -> None:
    bad = qa("ingest", str(tmp_path / "missing"), "--tenant", "town", "--json", ok=False)
    assert bad.exit_code == 1 and "not found" in _json(bad)[0]["error"]
    nover = qa("kb", "publish", "--tenant", "town", "9", "--json", ok=False)
    assert nover.exit_code == 1 and "no version 9" in _json(nover)[0]["error"]
    nolive = qa("kb", "search", "x", "--tenant", "town", "--json", ok=False)
    assert nolive.exit_code == 1
    nosuch = qa("kb", "search", "x", "--tenant", "town", "--version", "5", "--json", ok=False)
    assert nosuch.exit_code == 1 and "no sealed version 5" in _json(nosuch)[0]["error"]
    assert qa("ask", "x", "--tenant", "town", "--channel", "admin", ok=False).exit_code != 0


def test_review_acts_as_the_token_user_or_as_the_local_operator(qa: Any, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """`--as NAME` alone no longer acts as NAME: the trail records the local OS user with NAME's role; a token
    acts as its own account, and a wrong, foreign or deactivated token is refused."""
    from sqlalchemy import select

    from qa_service.cli.people import local_operator
    from qa_service.db.models import AuditEvent, ReviewItem

    qa("ingest", str(write_folder(tmp_path / "kb")), "--tenant", "town", "--publish", "--json")
    erin_tok = _json(qa("users", "add", "erin", "--role", "editor", "--tenant", "town", "--json"))[0]["token"]
    bob_tok = _json(qa("users", "add", "bob", "--role", "staff", "--tenant", "town", "--json"))[0]["token"]
    for _ in range(3):
        qa("ask", "How long is a parking permit valid?", "--tenant", "town")
    me = local_operator()
    assert me.startswith("local:") and me not in ("local:erin", "local:bob")

    local = _json(qa("review", "claim", "--tenant", "town", "--as", "erin", "--json"))[0]
    assert local["assignee"] == me
    qa("review", "approve", local["id"], "--as", "erin", "--json")
    signed = _json(qa("review", "claim", "--tenant", "town", "--token", erin_tok, "--json"))[0]
    assert signed["assignee"] == "erin"
    for bad in (["--token", "qa_not-a-token"], ["--token", bob_tok, "--as", "erin"], []):
        res = qa("review", "approve", signed["id"], *bad, "--json", ok=False)
        assert res.exit_code == 1 and _json(res)[0]["error"], bad
    res = qa("review", "approve", signed["id"], "--as", "erin", "--json", ok=False)  # the local operator is not erin
    assert res.exit_code == 1
    qa("users", "deactivate", "bob")
    res = qa("curated", "add", "--tenant", "town", "--token", bob_tok, "--question", "q?", "--answer", "a",
             "--json", ok=False)
    assert res.exit_code == 1 and "not valid" in _json(res)[0]["error"]
    monkeypatch.setenv("QA_TOKEN", erin_tok)
    qa("review", "edit", signed["id"], "--answer", "Twelve months.", "--json")
    monkeypatch.delenv("QA_TOKEN")

    from qa_service.cli import common

    with common._state["services"].db.session() as s:
        trail = [(e.action, e.actor, e.role) for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))
                 if e.action.startswith(("review.claim", "review.approve", "review.edit", "user."))]
        resolvers = {i.id: i.resolved_by for i in s.scalars(select(ReviewItem))}
    assert trail == [("user.create", me, "admin"), ("user.create", me, "admin"), ("review.claim", me, "editor"),
                     ("review.approve", me, "editor"), ("review.claim", "erin", "editor"),
                     ("user.deactivate", me, "admin"), ("review.edit", "erin", "editor")], trail
    assert resolvers[local["id"]] == me and resolvers[signed["id"]] == "erin"


@pytest.mark.parametrize("bad", ["0", "-1", str(2**63), str(10**30), "abc"])
def test_version_numbers_are_checked_at_the_edge(qa: Any, tmp_path: Path, bad: str) -> None:
    """Issue 14 item 9: a malformed version number exits 2 with a message, never a traceback."""
    folder = write_folder(tmp_path / "kb")
    for args in (("kb", "publish", "--tenant", "town", bad), ("kb", "diff", "--tenant", "town", "1", bad),
                 ("kb", "diff", "--tenant", "town", bad, "1"),
                 ("kb", "search", "x", "--tenant", "town", "--version", bad),
                 ("ingest", str(folder), "--tenant", "town", "--parent", bad)):
        r = qa(*args, ok=False)
        assert r.exit_code == 2 and isinstance(r.exception, SystemExit), (args, r.output, r.exception)
        assert "Invalid value" in r.output or "No such option" in r.output, (args, r.output)


def test_ingest_shows_its_parent_and_no_changes(qa: Any, tmp_path: Path) -> None:
    """Issue 14 item 6 in the CLI: the chosen parent is printed; an unchanged job creates no draft."""
    folder = write_folder(tmp_path / "kb")
    qa("ingest", str(folder), "--tenant", "town", "--publish", "--json")
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "pool.md").write_text("# Pool\nThe pool opens at 7.", encoding="utf-8")
    draft = _json(qa("ingest", str(extra), "--tenant", "town", "--json"))[0]
    assert draft["version"] == 2 and draft["parent"] == 1
    text = qa("ingest", str(extra), "--tenant", "town")
    assert "no changes relative to v2" in text.output and "no draft" in text.output
    listing = qa("kb", "list", "--tenant", "town", "--json")
    assert {v["version"]: v["parent"] for v in _json(listing)[0]["versions"]} == {1: None, 2: 1, 3: 2}
    (extra / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (extra / "pool.md").unlink()
    failed = qa("ingest", str(extra), "--tenant", "town", "--parent", "1", "--json", ok=False)
    assert failed.exit_code == 1 and _json(failed)[0]["state"] == "failed" and _json(failed)[0]["parent"] == 1


def test_kb_and_ingest_record_the_local_operator_not_a_free_text_actor(qa: Any, tmp_path: Path) -> None:
    """`--actor NAME` on publish, rollback, ingest and cancel can only label the local operator: the trail records
    local:<os user> (as NAME), never NAME alone."""
    from sqlalchemy import select

    from qa_service.cli import common
    from qa_service.cli.people import local_operator
    from qa_service.db.models import AuditEvent

    folder = write_folder(tmp_path / "kb")
    qa("ingest", str(folder), "--tenant", "town", "--actor", "erin", "--json")
    qa("kb", "publish", "--tenant", "town", "1", "--actor", "erin")
    with common._state["services"].db.session() as s:
        actors = {e.action: e.actor for e in s.scalars(select(AuditEvent))
                  if e.action in ("ingest.start", "kb.publish")}
    me = local_operator()
    assert actors == {"ingest.start": f"{me} as erin", "kb.publish": f"{me} as erin"}, actors
