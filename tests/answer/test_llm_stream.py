"""Streaming from an OpenAI-compatible server: the generator, the answer path and the API's SSE, against the
scripted local server (a real HTTP server speaking the chat-completions stream protocol)."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from qa_service.answer.generate.llm import partial_answer
from tests.answer.fake_llm import DiesAfter, FakeLlmServer, Status
from tests.answer.test_llm import EN_PASSAGES, _llm_town, generator, reply

pytestmark = [pytest.mark.unit, pytest.mark.timeout(300)]
QUESTION = "How much does a resident parking permit cost?"
GOOD = reply("A resident parking permit costs 40 dollars a year. [1] A second car costs 80 dollars a year. [1]", [1])


def test_partial_answer_reads_the_growing_json_string() -> None:
    assert partial_answer('{"answer": "Bring your ID [1]. The fee') == "Bring your ID [1]. The fee"
    assert partial_answer('{"answer": "a \\"b\\" \\u00e9') == 'a "b" é'
    assert partial_answer('{"answer": "cut \\u00') == "cut "  # an unfinished escape waits for the next delta
    assert partial_answer('{"ans') == ""
    assert partial_answer("Plain text [1]") == "Plain text [1]"


def test_streamed_generation_reports_progress_and_parses_like_a_whole_reply(fake_llm: FakeLlmServer) -> None:
    seen: list[str] = []
    fake_llm.set_default(reply("Bring your original ID card and a rental contract [1]. "
                               "The permit is issued within 15 working days. [2]", [1, 2]))
    draft = generator(fake_llm).generate("What do I need?", EN_PASSAGES, "en", on_answer=seen.append)
    assert fake_llm.history[0]["stream"] is True
    assert len(seen) > 5 and seen[-1].startswith("Bring your original ID card")
    assert all(b.startswith(a) for a, b in itertools.pairwise(seen))  # text only grows
    assert [s.cites for s in draft.sentences] == [[1], [2]]


def test_a_server_dying_mid_stream_is_a_failure_not_a_half_answer(fake_llm: FakeLlmServer) -> None:
    from qa_service.answer.generate.base import GeneratorUnavailable

    fake_llm.set_default(DiesAfter(30, reply("Bring your original ID card and a rental contract. [1]", [1])))
    with pytest.raises(GeneratorUnavailable):
        generator(fake_llm, retries=0).generate("What do I need?", EN_PASSAGES, "en", on_answer=lambda t: None)


def test_checked_sentences_stream_through_the_answer_path(fake_llm: FakeLlmServer, town: Any) -> None:
    from qa_service.answer.service import ask

    _llm_town(town, fake_llm)
    fake_llm.set_default(reply("A resident parking permit costs 40 dollars a year. [1] "
                               "It costs 0 dollars for students. [1] A second car costs 80 dollars a year. [1]",
                               [1]))
    streamed: list[str] = []
    _ctx, out = ask(town, QUESTION, "town", on_sentence=streamed.append)
    assert streamed and streamed[0].startswith("A resident parking permit costs 40 dollars a year.")
    assert not any("0 dollars for students" in s for s in streamed)  # an invented figure is never streamed
    assert out["decision"] == "answered" and "0 dollars for students" not in out["answer"]


def test_a_server_dying_mid_answer_falls_back_to_the_extractive_answer(fake_llm: FakeLlmServer,
                                                                      town: Any) -> None:
    from qa_service.answer.service import ask

    _llm_town(town, fake_llm, retries=0)
    fake_llm.set_default(DiesAfter(40, GOOD))
    _ctx, out = ask(town, QUESTION, "town", on_sentence=lambda s: None)
    assert out["decision"] == "answered"
    assert any(r.startswith("llm_output_rejected:") for r in out["risk"]["reasons"]), out["risk"]
    assert "40 dollars" in out["answer"]


def _events(raw: str) -> list[tuple[str, Any]]:
    out = []
    for block in raw.strip().split("\n\n"):
        name = next(line[6:].strip() for line in block.splitlines() if line.startswith("event:"))
        data = "".join(line[5:].strip() for line in block.splitlines() if line.startswith("data:"))
        out.append((name, json.loads(data)))
    return out


def test_the_api_streams_drafts_before_the_final_answer(fake_llm: FakeLlmServer, town: Any) -> None:
    from fastapi.testclient import TestClient

    from qa_service.web.app import create_app

    _llm_town(town, fake_llm)
    fake_llm.set_default(GOOD)
    with TestClient(create_app(town, warm=False)) as client, client.stream(
            "POST", "/api/v1/ask", json={"question": QUESTION, "tenant": "town", "stream": True}) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        events = _events(r.read().decode())
    names = [n for n, _ in events]
    assert names[0] == "draft" and names[-1] == "done"
    assert names.index("done") > names.index("meta") > max(i for i, n in enumerate(names) if n == "draft")
    done = events[-1][1]
    assert done["generator"] == "llm" and done["decision"] == "answered"
    assert events[0][1]["text"].startswith("A resident parking permit costs 40 dollars a year.")


def test_model_failures_are_counted_apart_from_attacks(fake_llm: FakeLlmServer, town: Any) -> None:
    from fastapi.testclient import TestClient

    from qa_service.web.app import create_app

    _llm_town(town, fake_llm, retries=0)
    fake_llm.set_default(Status(503))
    with TestClient(create_app(town, warm=False)) as client:
        out = client.post("/api/v1/ask", json={"question": QUESTION, "tenant": "town"}).json()
        metrics = client.get("/metrics").text
    assert out["decision"] == "answered"
    assert 'qa_model_failures_total{kind="http_503"} 1.0' in metrics
    assert 'qa_answers_total{decision="blocked_injection"}' not in metrics
