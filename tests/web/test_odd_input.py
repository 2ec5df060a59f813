"""Issue 14 item 9: odd input to every public and staff route gets a 4xx with a clear message — never a 500,
never a reset connection. Over real HTTP (uvicorn), on SQLite and PostgreSQL (NUL breaks PostgreSQL text).

Version numbers of 2**63 in KB publish/diff belong to the KB routes' own fix and are not sent here."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from qa_service.ingest.pipeline import run_ingest
from qa_service.users.accounts import create_user
from qa_service.web.app import create_app
from tests.kbdata import write_folder
from tests.web.conftest import LiveServer

pytestmark = pytest.mark.unit
SURROGATE = '"\\ud800"'  # a lone surrogate as JSON writes it: valid JSON, invalid Unicode text
NUL = '"a\\u0000b"'
HUGE = json.dumps("x" * 300_000)  # over the default body cap (256 KB)

# Every route (the pages too) with a valid request body; each string field is then spoiled in turn.
JSON_ROUTES: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/api/v1/ask", {"question": "How much does a parking permit cost?", "tenant": "town",
                             "lang": "en", "conversation_id": "c1"}),
    ("POST", "/api/v1/ask", {"question": "How much does a parking permit cost?", "channel": "staff"}),
    ("POST", "/api/v1/feedback", {"trace_id": "t", "helpful": False, "comment": "wrong", "reasons": ["x"]}),
    ("POST", "/api/v1/review/town/claim", {"item_id": "abc"}),
    ("POST", "/api/v1/review/town/items/abc", {"action": "approve", "note": "ok", "answer": "a",
                                               "question_variants": ["q"]}),
    ("POST", "/api/v1/curated/town", {"questions": ["q"], "answer": "a", "lang": "en"}),
]
GET_ROUTES = ["/healthz", "/readyz", "/metrics", "/", "/console", "/widget.js", "/static/{p}", "/api/v1/me",
              "/api/v1/tickets/{p}", "/api/v1/review/town/items", "/api/v1/curated/town",
              "/api/v1/feedback/town/figures", "/api/v1/kb/town/versions", "/api/v1/kb/town/jobs",
              "/api/v1/kb/town/diff", "/api/v1/review/{p}/items", "/api/v1/kb/{p}/versions"]
POST_ROUTES = ["/api/v1/curated/town/{p}/suspend", "/api/v1/review/town/items/{p}", "/api/v1/kb/town/rollback",
               "/api/v1/kb/{p}/rollback", "/api/v1/kb/town/ingest", "/api/v1/review/{p}/claim"]
ODD_PATH = ["%00", "%ED%A0%80", "x" * 5000, "..%2F..%2Fetc", "%FF%FE", "a%0Ab"]
ODD_QUERY = {"state": "\x00", "lang": "xx\x00", "tenant": "../tax", "v1": "1e400", "v2": "\x00", "open": "maybe"}


@pytest.fixture
def server(make_services: Any, db_url: str, tmp_path: Path) -> Iterator[Any]:
    svc = make_services(database_url=db_url)
    run_ingest(svc, [write_folder(tmp_path / "kb")], "town", publish=True)
    svc.settings.server.default_tenant = "town"
    svc.settings.server.citizen_rate_per_minute = 0  # limits are tested elsewhere; here every request must reach
    with svc.db.session() as s:
        _, token = create_user(s, "ada", "admin", None)
    with LiveServer(create_app(svc, warm=False)) as live:
        yield live, {"Authorization": f"Bearer {token}"}


def _spoiled(body: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(label, raw JSON) for each odd variant of one valid body."""
    yield "invalid JSON", json.dumps(body)[:-1]
    yield "not an object", json.dumps([body])
    yield "null body", "null"
    yield "empty body", ""
    yield "bytes not UTF-8", "\udcff"  # sent as the lone byte 0xFF (see _send)
    yield "deeply nested", "[" * 60_000 + "]" * 60_000
    for key, value in body.items():
        wrong = '"maybe"' if isinstance(value, bool) else '"not a list"' if isinstance(value, list) else "123"
        for label, odd in (("lone surrogate", SURROGATE), ("NUL", NUL), ("huge", HUGE), ("wrong type", wrong),
                           ("object", '{"a": 1}')):
            if isinstance(value, list) and label in ("lone surrogate", "NUL", "huge"):
                odd = f"[{odd}]"
            rest = {k: v for k, v in body.items() if k != key}
            raw = json.dumps(rest)[:-1] + (", " if rest else "") + f'"{key}": {odd}' + "}"
            yield f"{key}: {label}", raw
    yield "surrogate in a key", json.dumps(body)[:-1] + f", {SURROGATE}: 1" + "}"


def _send(c: httpx.Client, method: str, url: str, raw: str, headers: dict[str, str]) -> httpx.Response:
    content = b"\xff" if raw == "\udcff" else raw.encode("utf-8")
    return c.request(method, url, content=content, headers={**headers, "Content-Type": "application/json"})


def test_odd_input_to_every_route_is_a_clear_4xx(server: Any) -> None:
    live, admin = server
    bad: list[str] = []
    sent = [0]

    def check(label: str, call: Any, *args: Any, ok_2xx: bool = False, **kwargs: Any) -> None:
        sent[0] += 1
        try:
            r = call(*args, **kwargs)
        except httpx.TransportError as exc:  # a reset or dropped connection
            bad.append(f"{label}: connection {type(exc).__name__}")
            return
        if r.status_code >= 500 or (r.status_code < 400 and not ok_2xx):
            bad.append(f"{label}: {r.status_code} {r.text[:120]!r}")
        elif r.status_code >= 400 and r.headers.get("content-type", "").startswith("application/json"):
            detail = r.json().get("detail")
            if not detail:
                bad.append(f"{label}: {r.status_code} without a message")
        if "Traceback" in r.text or "error_internal" in r.text:
            bad.append(f"{label}: internal error leaked {r.text[:120]!r}")

    with httpx.Client(base_url=live.url, timeout=60) as c:
        for method, path, body in JSON_ROUTES:
            for label, raw in _spoiled(body):
                check(f"{method} {path} [{label}]", _send, c, method, path, raw, admin)
        check("ask: unknown field", c.post, "/api/v1/ask", json={"question": "q", "tenat": "town"})
        check("ask: overlong conversation id", c.post, "/api/v1/ask", json={"question": "q", "conversation_id": "c" * 65})
        check("ask: overlong question", c.post, "/api/v1/ask", json={"question": "q" * 20_001})
        for path in GET_ROUTES + POST_ROUTES:
            method = "POST" if path in POST_ROUTES else "GET"
            for odd in ODD_PATH if "{p}" in path else [""]:
                url = path.replace("{p}", odd)
                for key, value in ODD_QUERY.items():
                    check(f"{method} {url[:60]} ?{key}={value!r}", c.request, method, url, params={key: value},
                          headers=admin, ok_2xx="{p}" not in path and "\x00" not in value)
        files = {"files": ("a\x00b.txt", b"text", "text/plain")}
        check("upload: NUL in file name", c.post, "/api/v1/kb/town/ingest", headers=admin, files=files,
              data={"publish": "maybe"})
    assert sent[0] > 400  # every route above, each odd variant
    assert not bad, f"{len(bad)} of {sent[0]} odd inputs not answered with a clear 4xx:\n" + "\n".join(bad[:60])
