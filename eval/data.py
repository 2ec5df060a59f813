"""Where the public evaluation datasets are: ``QA_EVAL_DATA``, else ``../shared/eval-data`` next to the
repository, else ``/work/shared/eval-data`` (this workplace's machines). Never copied into the repo."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CANDIDATES = (REPO.parent / "shared" / "eval-data", Path("/work/shared/eval-data"))


def eval_data_dir() -> Path:
    env = os.environ.get("QA_EVAL_DATA")
    if env:
        return Path(env)
    for path in CANDIDATES:
        if path.is_dir():
            return path
    return CANDIDATES[0]
