"""Optional reranking: a local sentence-transformers cross-encoder scores (question, passage) pairs and
reorders the fused candidates. Off unless ``retrieval.rerank_model_path`` is set; loads on first use."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sentence_transformers import CrossEncoder

log = logging.getLogger(__name__)


class CrossEncoderReranker:
    """Scores pairs with a local cross-encoder (any ``sentence_transformers.CrossEncoder`` model dir)."""

    def __init__(self, model_path: str, device: str = "cpu", max_length: int = 512, batch_size: int = 16) -> None:
        path = Path(model_path).expanduser()
        if not path.is_dir():
            raise FileNotFoundError(f"rerank model not found: {path}")
        self.model_path = str(path)
        self.device, self.max_length, self.batch_size = device, max_length, batch_size
        self._model: CrossEncoder | None = None
        self._lock = threading.Lock()

    @property
    def model(self) -> CrossEncoder:
        with self._lock:
            if self._model is None:
                from sentence_transformers import CrossEncoder

                self._model = CrossEncoder(self.model_path, device=self.device, max_length=self.max_length,
                                           local_files_only=True)
                log.info("rerank model loaded path=%s", self.model_path)
            return self._model

    def scores(self, question: str, texts: Sequence[str]) -> list[float]:
        """One relevance score per text (higher is better), in the order given."""
        if not texts:
            return []
        out = self.model.predict([(question, t) for t in texts], batch_size=self.batch_size,
                                 show_progress_bar=False, convert_to_numpy=True)
        return [float(x) for x in out.reshape(-1)]

    def order(self, question: str, texts: Sequence[str]) -> list[tuple[int, float]]:
        """(index, score) of the texts, best first; ties keep the given (fused) order."""
        scored = list(enumerate(self.scores(question, texts)))
        return sorted(scored, key=lambda p: (-p[1], p[0]))
