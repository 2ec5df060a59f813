"""Shared fixtures: a fresh SQLite file or a fresh PostgreSQL database per test run, shared
embedding models (loaded once), and a Services factory over tmp data dirs.

Markers select: a test marked ``unit`` gets the deterministic fake dense embedder
(qa_service/kb/fake_embed.py) from ``make_services`` / ``town`` and fails if it loads the real model;
``integration`` uses the real model (and may use servers). Every test carries one of the two
(collection fails otherwise)."""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from eval.data import eval_data_dir

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

PG_ADMIN_URL = os.environ.get("QA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
EVAL_DATA = eval_data_dir()
REPO = Path(__file__).resolve().parents[1]


HELD_IN_TESTS = ("permit valid", "replacement permit cost")  # see make_services


def _pg_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL.replace("+psycopg", ""), connect_timeout=3):
            return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """Admin URL of the PostgreSQL server; skipped locally when none answers, required in CI."""
    if not _pg_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI but {PG_ADMIN_URL} does not answer")
        pytest.skip("no PostgreSQL server answers (CI unset)")
    yield PG_ADMIN_URL


def _fresh_pg_database(admin_url: str) -> tuple[str, Callable[[], None]]:
    import psycopg

    name = f"qa_test_{uuid.uuid4().hex[:12]}"
    raw = admin_url.replace("+psycopg", "")
    with psycopg.connect(raw, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"

    def drop() -> None:
        with psycopg.connect(raw, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return url, drop


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'qa.db'}"
        return
    admin = request.getfixturevalue("pg_server")
    url, drop = _fresh_pg_database(admin)
    try:
        yield url
    finally:
        drop()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test is ``unit`` or ``integration``: an unmarked one is an error, not a silent default."""
    unmarked = [i.nodeid for i in items if i.get_closest_marker("unit") is None
                and i.get_closest_marker("integration") is None]
    if unmarked:
        raise pytest.UsageError("tests without a unit or integration marker:\n  " + "\n  ".join(unmarked[:20]))


def _is_unit(request: pytest.FixtureRequest) -> bool:
    """The closest of the two markers decides (a test marked ``integration`` in a ``unit`` module is integration)."""
    return is_unit(request.node)


def is_unit(node: pytest.Item) -> bool:
    kind = next((m.name for m in node.iter_markers() if m.name in ("unit", "integration")), None)
    return kind == "unit"


@pytest.fixture(autouse=True)
def _unit_tests_load_no_model(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``unit`` test that reaches for the real dense model fails instead of paying for it."""
    if not _is_unit(request):
        return
    from qa_service.kb.embed import DenseEmbedder

    def refuse(self: DenseEmbedder) -> Any:
        pytest.fail("a unit test loaded the real dense model: mark it integration or use fake_dense")

    monkeypatch.setattr(DenseEmbedder, "model", property(refuse))


@pytest.fixture(scope="session")
def fake_dense() -> Any:
    """The deterministic fake dense embedder (hashed character n-grams; no model)."""
    from qa_service.kb.fake_embed import FakeDenseEmbedder

    return FakeDenseEmbedder()


@pytest.fixture(scope="session", autouse=True)
def vector_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One dense-vector cache (embedding.cache_path) for the whole run, also for the CLI and worker processes
    the tests start: the real model embeds each text once per run, however many tests ingest it."""
    path = tmp_path_factory.mktemp("vector-cache") / "vectors.sqlite"
    before = os.environ.get("QA_EMBEDDING__CACHE_PATH")
    os.environ["QA_EMBEDDING__CACHE_PATH"] = str(path)
    yield path
    if before is None:
        os.environ.pop("QA_EMBEDDING__CACHE_PATH", None)
    else:
        os.environ["QA_EMBEDDING__CACHE_PATH"] = before


@pytest.fixture(scope="session")
def shared_models(vector_cache: Path) -> dict[str, Any]:
    """The real embedding models, loaded once per test session (dense vectors kept in the run's cache)."""
    from qa_service.kb.embed import DenseEmbedder, SparseEmbedder
    from qa_service.settings import EmbeddingSettings

    # with the suite spread over several processes (make test: pytest-xdist, one per core), each model uses one thread
    threads = 1 if os.environ.get("PYTEST_XDIST_WORKER") else EmbeddingSettings().threads
    dense = DenseEmbedder(EmbeddingSettings(cache_path=str(vector_cache), threads=threads))
    dense.encode(["warm up"], 1)
    return {"dense": dense, "sparse": SparseEmbedder()}


@pytest.fixture
def make_services(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """Build Services over a tmp data dir (and the given DB URL), sharing the loaded models; a ``unit`` test gets
    the fake dense embedder instead of the real model."""
    from qa_service.kb.embed import SparseEmbedder
    from qa_service.services import Services
    from qa_service.settings import load_settings

    if _is_unit(request):
        shared_models = {"dense": request.getfixturevalue("fake_dense"), "sparse": SparseEmbedder()}
    else:
        shared_models = request.getfixturevalue("shared_models")

    made: list[Any] = []

    def factory(database_url: str | None = None, data_dir: Path | None = None, **overrides: Any) -> Services:
        settings = load_settings(None, data_dir=str(data_dir or tmp_path / "data"),
                                 database_url=database_url, **overrides)
        svc = Services(settings)
        svc.__dict__["dense"] = shared_models["dense"]
        svc.__dict__["sparse"] = shared_models["sparse"]
        # The workflow tests (review queue, tickets, curated answers, console) need to know which of their questions
        # is held and which is shown, whatever the confidence model makes of the tiny town KB. So in these fixtures
        # the probability never holds or declines (p_wrong_high / p_wrong_decline above 1; medium still warns), and
        # the questions they mean to be held ("How long is a parking permit valid?", "How much does a replacement
        # permit cost?") are held by a policy rule: a test topic (HELD_IN_TESTS) at level high. The shipped sensitive
        # topics are off in these fixtures (their level is that same reason code's). The shipped thresholds and the decline path are tested over the
        # sample knowledge in tests/answer/test_confidence_routing.py.
        policy = svc.risk_policy
        svc.__dict__["risk_policy"] = dataclasses.replace(
            policy,
            thresholds={**policy.thresholds, "p_wrong_medium": 0.5, "p_wrong_high": 1.01, "p_wrong_decline": 1.01,
                        "p_wrong_high_guide": 1.01, "p_wrong_decline_guide": 1.01},
            topics={"default": {"held_in_tests": list(HELD_IN_TESTS)}},
            levels={**policy.levels, "sensitive_topic": "high"})
        made.append(svc)
        return svc

    yield factory
    for svc in made:
        svc.close()


@pytest.fixture
def town(make_services: Any, tmp_path: Path) -> Any:
    """Services over SQLite with the small project-written 'town' KB ingested and published."""
    from qa_service.ingest.pipeline import run_ingest
    from tests.kbdata import write_folder

    svc = make_services()
    run_ingest(svc, [write_folder(tmp_path / "kb")], "town", publish=True)
    return svc


@pytest.fixture
def fake_llm() -> Iterator[Any]:
    """A started scripted chat-completions server on 127.0.0.1 (``.base_url`` = http://127.0.0.1:PORT/v1)."""
    from tests.answer.fake_llm import FakeLlmServer

    server = FakeLlmServer().start()
    try:
        yield server
    finally:
        server.stop()
