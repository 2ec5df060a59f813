"""One contract, two vector-store backends: Qdrant Edge shards and qdrant-client (local mode standing
in for a Qdrant server). Every test here runs against both unless it says otherwise."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from qa_service.kb.edge_store import EdgeStore, VersionNotFound
from qa_service.kb.embed import CjkEmbedder
from qa_service.kb.factory import make_store
from qa_service.kb.live import LiveReaderCache
from qa_service.kb.server_store import QdrantServerStore
from qa_service.kb.store import VectorStore, VersionReader
from qa_service.kb.types import SearchFilter, SparseVec, StoredPoint

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
TENANT = "city"
NO_EXPIRY = 99991231

# Project-written sample passages: (chunk_id, source_id, visibility, language, effective, expiry, text)
DOCS: list[tuple[str, str, str, str, int, int, str]] = [
    ("en-passport", "src-passport", "public", "en", 20230101, NO_EXPIRY,
     "Passport renewal: adults can renew an expired passport at any service centre by bringing the old "
     "passport, one colour photo and the completed application form. The fee is 120 dollars."),
    ("en-parking", "src-parking", "public", "en", 0, NO_EXPIRY,
     "Residential parking permits are issued to households registered at an address inside a controlled "
     "parking zone. Apply online with proof of residence and the vehicle registration document."),
    ("en-dog", "src-dog", "public", "en", 0, NO_EXPIRY,
     "Dog licences must be renewed every year. Owners need a rabies vaccination certificate and must pay "
     "the licence fee before 31 March."),
    ("en-staff", "src-staff", "internal", "en", 0, NO_EXPIRY,
     "Staff guidance: when a citizen disputes a parking fine, escalate the case to the appeals desk and "
     "record the ticket number in the case management system."),
    ("en-tax-2022", "src-tax", "public", "en", 20220101, 20221231,
     "Property tax rebate for pensioners in 2022: pensioners who apply before 30 June 2022 receive a "
     "ten percent rebate on their property tax."),
    ("en-waste-2030", "src-waste", "public", "en", 20300101, NO_EXPIRY,
     "From 1 January 2030 bulky waste collection must be booked online at least five days in advance."),
    ("zh-juzhu", "src-juzhu", "public", "zh", 0, NO_EXPIRY,
     "办理居住证需要携带本人身份证、房屋租赁合同和近期免冠照片，到居住地派出所窗口申请，十五个工作日内可以领取。"),
    ("zh-shebao", "src-shebao", "public", "zh", 0, NO_EXPIRY,
     "灵活就业人员可以在社保经办机构参加职工养老保险，缴费基数在本市上年度平均工资的百分之六十至百分之三百之间自行选择。"),
    ("zh-gjj", "src-gjj", "public", "zh", 0, NO_EXPIRY,
     "提取住房公积金支付房租，需要提供租房合同和租金发票，每年可以提取一次，提取金额不超过实际房租。"),
    ("zh-staff", "src-staff", "internal", "zh", 0, NO_EXPIRY,
     "内部工作指引：窗口人员受理居住证申请时，应当核验申请人的租赁登记信息，并在业务系统中录入核验结果。"),
]
ALL = SearchFilter()
CJK_EMBEDDER = CjkEmbedder()


@dataclass
class Backend:
    name: str
    tmp: Path
    store: Any  # EdgeStore | QdrantServerStore

    @property
    def location(self) -> Path:
        return self.tmp / ("shards" if self.name == "edge" else "qdrant")

    def close(self) -> None:
        if self.name == "qdrant":
            self.store.client.close()

    def reopen(self) -> None:
        """A new store object over the same data (a restart)."""
        self.close()
        self.store = _make(self.name, self.location)

    def leftovers(self, tenant: str) -> list[str]:
        """Traces of unsealed builds (build dirs / unsealed collections)."""
        if self.name == "edge":
            tdir = self.location / tenant
            return sorted(p.name for p in tdir.iterdir() if p.name.startswith(".build-")) if tdir.exists() else []
        names = [c.name for c in self.store.client.get_collections().collections]
        return sorted(n for n in names if n.startswith(f"kb_{tenant}_v") and not self.store._is_sealed(n))


def _make(name: str, location: Path) -> Any:
    if name == "edge":
        return EdgeStore(location)
    from qdrant_client import QdrantClient

    return QdrantServerStore(QdrantClient(path=str(location)))


@pytest.fixture(params=["edge", "qdrant"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    name = str(request.param)
    b = Backend(name, tmp_path, _make(name, tmp_path / ("shards" if name == "edge" else "qdrant")))
    yield b
    b.close()


@pytest.fixture
def corpus(embedders: Any) -> list[StoredPoint]:
    dense, sparse = embedders
    vectors = dense.encode([d[6] for d in DOCS], 16)
    points = []
    for (cid, sid, vis, lang, eff, exp, text), vec in zip(DOCS, vectors, strict=True):
        payload = {"source_id": sid, "tenant": TENANT, "visibility": vis, "language": lang, "kind": "text",
                   "effective": eff, "expiry": exp, "text": text, "digest": f"d-{cid}", "page": None}
        points.append(StoredPoint(cid, vec, sparse.embed_document(text), payload, CJK_EMBEDDER.embed_document(text)))
    return points


def build(store: VectorStore, version: int, points: list[StoredPoint], dim: int = 384) -> None:
    w = store.create_version(TENANT, version, dim)
    for i in range(0, len(points), 4):
        w.upsert(points[i : i + 4])
    w.seal()


def ids(hits: list[Any]) -> list[str]:
    return [h.chunk_id for h in hits]


@pytest.fixture
def v1(backend: Backend, corpus: list[StoredPoint]) -> Iterator[VersionReader]:
    build(backend.store, 1, corpus)
    reader = backend.store.open_version(TENANT, 1)
    yield reader
    reader.close()


def query(embedders: Any, reader: VersionReader, text: str, flt: SearchFilter = ALL, limit: int = 10,
          weights: tuple[float, float] = (1.0, 1.0)) -> list[str]:
    dense, sparse = embedders
    return ids(reader.hybrid(dense.encode_query(text), sparse.embed_query(text), flt, limit=limit,
                             prefetch=20, weights=weights))


# --------------------------------------------------------------------------- lifecycle


def test_create_upsert_seal_open(backend: Backend, corpus: list[StoredPoint]) -> None:
    store = backend.store
    assert store.backend == backend.name
    assert store.ping()
    w = store.create_version(TENANT, 1, 384)
    w.upsert(corpus[:5])
    w.upsert(corpus[5:])
    assert not store.has_version(TENANT, 1), "nothing is readable before seal"
    assert store.list_versions(TENANT) == []
    with pytest.raises(VersionNotFound):
        store.open_version(TENANT, 1)
    w.seal()
    with pytest.raises(RuntimeError):
        w.upsert(corpus[:1])
    assert store.has_version(TENANT, 1)
    assert store.list_versions(TENANT) == [1]
    assert store.list_versions("other") == []
    with pytest.raises(FileExistsError):
        store.create_version(TENANT, 1, 384)
    backend.reopen()  # sealed versions survive a restart
    assert backend.store.list_versions(TENANT) == [1]
    reader = backend.store.open_version(TENANT, 1)
    try:
        assert reader.count() == len(DOCS)
    finally:
        reader.close()


def test_upsert_rejects_wrong_dimension(backend: Backend, corpus: list[StoredPoint]) -> None:
    w = backend.store.create_version(TENANT, 1, 384)
    try:
        with pytest.raises(ValueError, match="dims"):
            w.upsert([StoredPoint("x", [0.1] * 10, SparseVec([1], [1.0]), {})])
    finally:
        w.abort()


def test_invalid_tenant_names_are_refused(backend: Backend) -> None:
    for bad in ("../x", "a b", "", "x/y"):
        with pytest.raises(ValueError):
            backend.store.list_versions(bad)


# --------------------------------------------------------------------------- retrieval


def test_hybrid_finds_the_obvious_english_match(v1: VersionReader, embedders: Any) -> None:
    got = query(embedders, v1, "How do I renew my passport?")
    assert got[0] == "en-passport"
    assert len(got) == len(DOCS)
    got = query(embedders, v1, "licence for my dog, rabies vaccination")
    assert got[0] == "en-dog"


def test_hybrid_finds_the_obvious_chinese_match(v1: VersionReader, embedders: Any) -> None:
    public = SearchFilter(visibility=["public"])
    assert query(embedders, v1, "居住证怎么办理，需要带什么材料？", public)[0] == "zh-juzhu"
    assert query(embedders, v1, "公积金可以用来付房租吗", public)[0] == "zh-gjj"
    assert query(embedders, v1, "灵活就业怎么交养老保险", public)[0] == "zh-shebao"


def test_dense_and_sparse_alone(v1: VersionReader, embedders: Any) -> None:
    dense, sparse = embedders
    d = v1.dense(dense.encode_query("renew passport"), ALL, 3)
    assert d[0].chunk_id == "en-passport" and len(d) == 3
    assert d[0].score >= d[1].score >= d[2].score
    s = v1.sparse(sparse.embed_query("居住证"), ALL, 10)
    assert set(ids(s)) == {"zh-juzhu", "zh-staff"}, "BM25 matches only passages containing the term"
    assert v1.sparse(sparse.embed_query("the of and"), ALL, 10) == []  # stopwords only
    assert d[0].payload["text"].startswith("Passport renewal")
    assert d[0].payload["chunk_id"] == "en-passport"


def test_weighted_rrf_changes_the_order(backend: Backend) -> None:
    # Qdrant's weighted RRF scores position p (1-based) of a list with weight w as 1 / (k - 1 + p / w):
    # the weight stretches or shrinks the ranks. a tops the dense list only, b the BM25 list only.
    a = StoredPoint("a", [1.0, 0.0, 0.0, 0.0], SparseVec([8], [1.0]), {"visibility": "public"})
    b = StoredPoint("b", [0.0, 0.0, 1.0, 0.0], SparseVec([7], [1.0]), {"visibility": "public"})
    c = StoredPoint("c", [1.0, 1.0, 0.0, 0.0], SparseVec([9], [1.0]), {"visibility": "public"})
    build(backend.store, 1, [a, b, c], dim=4)
    r = backend.store.open_version(TENANT, 1)
    try:
        q, s = [1.0, 0.0, 0.0, 0.0], SparseVec([7], [1.0])
        assert ids(r.hybrid(q, s, ALL, limit=2, prefetch=2, weights=(3.0, 1.0))) == ["a", "c"]
        assert ids(r.hybrid(q, s, ALL, limit=2, prefetch=2, weights=(1.0, 3.0))) == ["b", "a"]
        equal = r.hybrid(q, s, ALL, limit=2, prefetch=2, weights=(1.0, 1.0))
        assert sorted(ids(equal)) == ["a", "b"]
        assert equal[0].score == pytest.approx(1 / 60) and equal[1].score == pytest.approx(1 / 60)
        # a query without BM25 tokens still works (dense side only)
        assert ids(r.hybrid(q, SparseVec([], []), ALL, limit=1, prefetch=3)) == ["a"]
    finally:
        r.close()
    if backend.name == "qdrant":
        assert backend.store.weighted_rrf is True


def test_filter_visibility(v1: VersionReader, embedders: Any) -> None:
    text = "citizen disputes a parking fine, appeals"
    assert query(embedders, v1, text)[0] == "en-staff"
    public = query(embedders, v1, text, SearchFilter(visibility=["public"]))
    assert public and "en-staff" not in public and "zh-staff" not in public
    assert len(public) == len(DOCS) - 2
    internal = query(embedders, v1, text, SearchFilter(visibility=["internal"]))
    assert sorted(internal) == ["en-staff", "zh-staff"]
    assert query(embedders, v1, text, SearchFilter(visibility=[])) == []


def test_filter_validity_dates(v1: VersionReader, embedders: Any) -> None:
    tax, waste = "property tax rebate for pensioners", "book bulky waste collection"
    assert "en-tax-2022" in query(embedders, v1, tax)
    assert query(embedders, v1, tax, SearchFilter(valid_on=20220601))[0] == "en-tax-2022"
    assert query(embedders, v1, tax, SearchFilter(valid_on=20221231))[0] == "en-tax-2022"  # inclusive
    later = query(embedders, v1, tax, SearchFilter(valid_on=20240101))
    assert "en-tax-2022" not in later and "en-waste-2030" not in later
    assert "en-passport" in later  # effective 2023-01-01, no expiry
    assert "en-parking" in later  # effective unknown (0), no expiry
    early = query(embedders, v1, waste, SearchFilter(valid_on=20221231))
    assert "en-passport" not in early  # not yet effective
    assert query(embedders, v1, waste, SearchFilter(valid_on=20300101))[0] == "en-waste-2030"
    assert len(query(embedders, v1, waste, SearchFilter(valid_on=20240101))) == len(DOCS) - 2


def test_filter_sources(v1: VersionReader, embedders: Any) -> None:
    text = "renew passport"
    excluded = query(embedders, v1, text, SearchFilter(exclude_source_ids=["src-passport", "src-staff"]))
    assert excluded and not {"en-passport", "en-staff", "zh-staff"} & set(excluded)
    only = query(embedders, v1, text, SearchFilter(source_ids=["src-dog", "src-staff"]))
    assert sorted(only) == ["en-dog", "en-staff", "zh-staff"]
    both = SearchFilter(visibility=["public"], source_ids=["src-dog", "src-staff"], valid_on=20240101)
    assert query(embedders, v1, text, both) == ["en-dog"]
    dense, _ = embedders
    assert ids(v1.dense(dense.encode_query(text), SearchFilter(source_ids=["src-gjj"]), 5)) == ["zh-gjj"]


# --------------------------------------------------------------------------- points


def assert_same_dense(backend: Backend, got: list[float], want: list[float]) -> None:
    """Edge (like a Qdrant server) stores unit vectors as given: bit-for-bit equal at float32.
    qdrant-client's local mode re-normalises every vector with numpy on upsert, which moves some
    components by one float32 ulp (~1.5e-8) — a local-mode artefact, tolerated only there."""
    g, w = np.asarray(got, dtype=np.float32), np.asarray(want, dtype=np.float32)
    if backend.name == "edge":
        np.testing.assert_array_equal(g, w)
    else:
        np.testing.assert_allclose(g, w, rtol=0, atol=3e-8)


def test_get_round_trips_vectors_exactly(backend: Backend, v1: VersionReader, corpus: list[StoredPoint]) -> None:
    wanted = ["zh-gjj", "missing-chunk", "en-passport"]
    got = v1.get(wanted, with_vectors=True)
    assert [p.chunk_id for p in got] == ["zh-gjj", "en-passport"]  # order kept, unknown skipped
    by_id = {p.chunk_id: p for p in corpus}
    for p in got:
        src = by_id[p.chunk_id]
        assert p.payload["text"] == src.payload["text"] and p.payload["effective"] == src.payload["effective"]
        assert len(p.dense) == 384
        assert_same_dense(backend, p.dense, src.dense)
        assert p.sparse.indices == src.sparse.indices
        np.testing.assert_array_equal(np.asarray(p.sparse.values, dtype=np.float32),
                                      np.asarray(src.sparse.values, dtype=np.float32))
    bare = v1.get(["en-dog"], with_vectors=False)
    assert bare[0].dense == [] and bare[0].sparse.indices == [] and bare[0].payload["source_id"] == "src-dog"
    # copying points into a new version (no re-embedding) keeps them bit-for-bit
    copied = v1.get([p.chunk_id for p in corpus])
    build(backend.store, 2, copied)
    r2 = backend.store.open_version(TENANT, 2)
    try:
        again = r2.get([p.chunk_id for p in corpus])
        assert [(p.chunk_id, p.sparse, p.payload) for p in again] == [
            (p.chunk_id, p.sparse, p.payload) for p in copied]
        for new, old in zip(again, copied, strict=True):
            assert_same_dense(backend, new.dense, old.dense)
    finally:
        r2.close()


def test_iter_points(v1: VersionReader, corpus: list[StoredPoint]) -> None:
    pts = list(v1.iter_points(with_vectors=False, batch=3))  # several pages
    assert sorted(p.chunk_id for p in pts) == sorted(d[0] for d in DOCS)
    assert all(p.dense == [] for p in pts)
    assert {p.payload["digest"] for p in pts} == {f"d-{d[0]}" for d in DOCS}
    with_vec = {p.chunk_id: p for p in v1.iter_points(with_vectors=True, batch=4)}
    assert len(with_vec) == len(DOCS)
    src = corpus[0]
    assert with_vec[src.chunk_id].sparse.indices == src.sparse.indices
    assert len(with_vec[src.chunk_id].dense) == 384
    assert v1.count() == len(DOCS)


# --------------------------------------------------------------------------- versions


def test_live_pointer_switch_and_rollback(backend: Backend, corpus: list[StoredPoint]) -> None:
    store = backend.store
    assert store.live_version(TENANT) is None
    build(store, 1, corpus)
    build(store, 2, corpus[:3])
    with pytest.raises(VersionNotFound):
        store.set_live(TENANT, 3)
    store.set_live(TENANT, 1)
    assert store.live_version(TENANT) == 1
    store.set_live(TENANT, 2)
    assert store.live_version(TENANT) == 2
    store.set_live(TENANT, 1)  # rollback
    assert store.live_version(TENANT) == 1
    assert store.live_version("other") is None
    backend.reopen()
    assert backend.store.live_version(TENANT) == 1


def test_drop_version(backend: Backend, corpus: list[StoredPoint]) -> None:
    store = backend.store
    build(store, 1, corpus[:2])
    build(store, 2, corpus[:3])
    store.set_live(TENANT, 2)
    with pytest.raises(ValueError, match="live"):
        store.drop_version(TENANT, 2)
    store.drop_version(TENANT, 1)
    assert store.list_versions(TENANT) == [2]
    assert not store.has_version(TENANT, 1)
    with pytest.raises(VersionNotFound):
        store.open_version(TENANT, 1)
    store.drop_version(TENANT, 1)  # idempotent
    build(store, 1, corpus[:1])  # the number can be built again
    assert store.list_versions(TENANT) == [1, 2]


def test_aborted_build_is_not_listed(backend: Backend, corpus: list[StoredPoint]) -> None:
    store = backend.store
    build(store, 1, corpus)
    w = store.create_version(TENANT, 2, 384)
    w.upsert(corpus)
    assert store.list_versions(TENANT) == [1]
    w.abort()
    w.abort()  # idempotent
    assert store.list_versions(TENANT) == [1]
    assert not store.has_version(TENANT, 2)
    assert backend.leftovers(TENANT) == []
    with pytest.raises(VersionNotFound):
        store.set_live(TENANT, 2)
    with pytest.raises(RuntimeError):
        w.upsert(corpus[:1])
    build(store, 2, corpus[:2])
    assert store.list_versions(TENANT) == [1, 2]


KILLED_BUILD = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from qa_service.kb.types import SparseVec, StoredPoint
    backend, location, tenant, version = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    if backend == "edge":
        from qa_service.kb.edge_store import EdgeStore
        store = EdgeStore(Path(location))
    else:
        from qdrant_client import QdrantClient
        from qa_service.kb.server_store import QdrantServerStore
        store = QdrantServerStore(QdrantClient(path=location))
    w = store.create_version(tenant, version, 4)
    w.upsert([StoredPoint(f"c{i}", [1.0, float(i), 0.0, 0.0], SparseVec([i + 1], [1.0]), {"visibility": "public"})
              for i in range(20)])
    print("half-built", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
""")


def test_build_killed_midway_is_ignored_and_cleaned_up(backend: Backend, corpus: list[StoredPoint]) -> None:
    build(backend.store, 1, corpus[:2])
    backend.close()  # qdrant local mode locks its folder to one process
    proc = subprocess.run([sys.executable, "-c", KILLED_BUILD, backend.name, str(backend.location), TENANT, "2"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert "half-built" in proc.stdout
    backend.reopen()
    store = backend.store
    assert len(backend.leftovers(TENANT)) == 1
    assert store.list_versions(TENANT) == [1]
    assert not store.has_version(TENANT, 2)
    with pytest.raises(VersionNotFound):
        store.open_version(TENANT, 2)
    # a build still running in this process is left alone
    w = store.create_version(TENANT, 3, 384)
    removed = store.cleanup_incomplete(TENANT)
    assert len(removed) == 1
    assert len(backend.leftovers(TENANT)) == 1  # v3, in progress
    w.upsert(corpus[:2])
    w.seal()
    assert backend.leftovers(TENANT) == []
    assert store.cleanup_incomplete(TENANT) == []
    build(store, 2, corpus[:3])  # the killed version number is free again
    assert store.list_versions(TENANT) == [1, 2, 3]


# --------------------------------------------------------------------------- live reader cache


def test_live_reader_cache_swaps_after_set_live(backend: Backend, corpus: list[StoredPoint],
                                                embedders: Any) -> None:
    store = backend.store
    build(store, 1, corpus)
    build(store, 2, [p for p in corpus if p.payload["language"] == "zh"])
    cache = LiveReaderCache(store, refresh_s=0.0, grace_s=0.0)
    try:
        assert cache.get(TENANT) is None
        store.set_live(TENANT, 1)
        got = cache.get(TENANT)
        assert got is not None and got[0] == 1
        r1 = got[1]
        assert r1.count() == len(DOCS)
        assert cache.get(TENANT) == (1, r1), "unchanged pointer: same reader"
        store.set_live(TENANT, 2)
        v, r2 = cache.get(TENANT) or (None, None)
        assert v == 2 and r2 is not None and r2 is not r1
        assert r2.count() == 4
        assert query(embedders, r2, "How do I renew my passport?")[0].startswith("zh-")
        assert getattr(r1, "closed", None) is True, "the old reader is closed once the grace period ends"
        store.set_live(TENANT, 1)  # rollback
        v, r3 = cache.get(TENANT) or (None, None)
        assert v == 1 and r3 is not None and r3.count() == len(DOCS)
        assert cache.swaps == 2
    finally:
        cache.close()


def test_live_reader_cache_check_cost(backend: Backend, corpus: list[StoredPoint]) -> None:
    """Edge notices a new LIVE file on the very next get (stat); the server alias is re-resolved
    every refresh_s seconds, or at once after invalidate()."""
    store = backend.store
    build(store, 1, corpus[:2])
    build(store, 2, corpus[:3])
    store.set_live(TENANT, 1)
    cache = LiveReaderCache(store, refresh_s=3600.0, grace_s=3600.0)
    try:
        assert cache.current_version(TENANT) == 1
        store.set_live(TENANT, 2)
        if backend.name == "edge":
            assert cache.current_version(TENANT) == 2
        else:
            assert cache.current_version(TENANT) == 1
            cache.invalidate(TENANT)
            assert cache.current_version(TENANT) == 2
    finally:
        cache.close()


# --------------------------------------------------------------------------- edge specifics


READER_CHILD = textwrap.dedent("""
    import sys
    from pathlib import Path
    from qa_service.kb.edge_store import EdgeStore
    from qa_service.kb.types import SearchFilter
    store = EdgeStore(Path(sys.argv[1]))
    r = store.open_version(sys.argv[2], int(sys.argv[3]))
    vec = [float(x) for x in sys.argv[4].split(",")]
    print("ready", r.dense(vec, SearchFilter(), 1)[0].chunk_id, flush=True)
    sys.stdin.readline()  # the parent queries while we hold the shard open
    print("again", r.dense(vec, SearchFilter(), 1)[0].chunk_id, r.count(), flush=True)
    r.close()
""")


def test_edge_sealed_version_is_readable_by_two_processes_at_once(tmp_path: Path,
                                                                  corpus: list[StoredPoint]) -> None:
    store = EdgeStore(tmp_path / "shards")
    build(store, 1, corpus)
    parent = store.open_version(TENANT, 1)
    probe = corpus[6]  # zh-juzhu
    child = subprocess.Popen(
        [sys.executable, "-c", READER_CHILD, str(tmp_path / "shards"), TENANT, "1",
         ",".join(repr(x) for x in probe.dense)],
        cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdin is not None
        line = child.stdout.readline().split()
        assert line == ["ready", probe.chunk_id], child.stderr.read() if child.stderr else ""
        assert parent.dense(probe.dense, ALL, 1)[0].chunk_id == probe.chunk_id  # both hold it open
        child.stdin.write("go\n")
        child.stdin.flush()
        assert child.stdout.readline().split() == ["again", probe.chunk_id, str(len(DOCS))]
        assert child.wait(timeout=60) == 0
        assert parent.count() == len(DOCS)
    finally:
        if child.poll() is None:
            child.kill()
        parent.close()


def test_edge_layout(tmp_path: Path, corpus: list[StoredPoint]) -> None:
    store = EdgeStore(tmp_path)
    build(store, 7, corpus[:3])
    store.set_live(TENANT, 7)
    tdir = tmp_path / TENANT
    assert (tdir / "v7" / "SEALED").is_file()
    assert (tdir / "LIVE").read_text().strip() == "7"
    assert sorted(p.name for p in tdir.iterdir()) == ["LIVE", "v7"]
    assert store.version_info(TENANT, 7)["points"] == 3
    # an unsealed version directory (copied in by hand, say) is never listed or opened
    (tdir / "v8").mkdir()
    assert store.list_versions(TENANT) == [7]
    with pytest.raises(VersionNotFound):
        store.open_version(TENANT, 8)


# --------------------------------------------------------------------------- factory


def test_make_store_picks_the_backend(tmp_path: Path) -> None:
    from qa_service.settings import load_settings

    edge = make_store(load_settings(None, data_dir=str(tmp_path / "data")))
    assert isinstance(edge, EdgeStore) and edge.backend == "edge"
    assert edge.root == tmp_path / "data" / "shards"
    local = make_store(load_settings(None, data_dir=str(tmp_path / "data"), store={"qdrant_location": ":memory:"}))
    assert isinstance(local, QdrantServerStore) and local.backend == "qdrant" and local.local
    assert local.ping()
    local.client.close()


def test_han_bigram_bm25_is_stored_queried_and_fused(v1: VersionReader, corpus: list[StoredPoint],
                                                     embedders: Any) -> None:
    from qa_service.kb.types import CJK

    dense, sparse = embedders
    assert v1.has_cjk
    q = "居住证怎么办"
    alone = v1.sparse(CJK_EMBEDDER.embed_query(q), ALL, 3, using=CJK)
    assert ids(alone)[0] == "zh-juzhu"
    assert all(h.payload["language"] == "zh" for h in alone)  # English passages carry no such vector
    assert v1.sparse(CJK_EMBEDDER.embed_query("passport renewal"), ALL, 3, using=CJK) == []
    public = SearchFilter(visibility=["public"])
    fused = v1.hybrid(dense.encode_query(q), sparse.embed_query(q), public, limit=3, prefetch=10,
                      weights=(0.05, 0.25, 1.0), rrf_k=1, cjk=CJK_EMBEDDER.embed_query(q))
    assert ids(fused)[0] == "zh-juzhu" and "zh-staff" not in ids(fused)  # filters apply to the third side too
    # English questions: the third weight and an empty vector leave the two-retriever fusion unchanged
    e = "How do I renew my passport?"
    two = v1.hybrid(dense.encode_query(e), sparse.embed_query(e), ALL, limit=5, prefetch=10, weights=(1.0, 0.1))
    three = v1.hybrid(dense.encode_query(e), sparse.embed_query(e), ALL, limit=5, prefetch=10,
                      weights=(1.0, 0.1, 1.0), cjk=CJK_EMBEDDER.embed_query(e))
    assert [(h.chunk_id, h.score) for h in two] == [(h.chunk_id, h.score) for h in three]
    # the vector comes back with the point, as copies between versions need it
    got = {p.chunk_id: p for p in v1.get(["zh-juzhu", "en-dog"], with_vectors=True)}
    src = {p.chunk_id: p for p in corpus}
    assert got["zh-juzhu"].cjk is not None and got["zh-juzhu"].cjk.indices == src["zh-juzhu"].cjk.indices  # type: ignore[union-attr]
    assert got["en-dog"].cjk is None


def test_a_version_built_before_the_han_bigram_vector_still_answers(tmp_path: Path, corpus: list[StoredPoint],
                                                                   embedders: Any,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Edge shards made by earlier releases have no ``bm25_cjk`` vector: the third side is skipped."""
    import qa_service.kb.edge_store as edge_store

    dense, sparse = embedders
    store = EdgeStore(tmp_path / "shards")
    with monkeypatch.context() as m:  # build as the earlier release did: dense + word BM25 only
        m.setattr(edge_store, "CJK", edge_store.SPARSE)
        build(store, 1, [StoredPoint(p.chunk_id, p.dense, p.sparse, p.payload) for p in corpus])
    reader = store.open_version(TENANT, 1)
    try:
        assert not reader.has_cjk
        q = "居住证怎么办"
        from qa_service.kb.types import CJK

        assert reader.sparse(CJK_EMBEDDER.embed_query(q), ALL, 3, using=CJK) == []
        hits = reader.hybrid(dense.encode_query(q), sparse.embed_query(q), ALL, limit=3, prefetch=10,
                             weights=(0.05, 0.25, 1.0), rrf_k=1, cjk=CJK_EMBEDDER.embed_query(q))
        assert ids(hits)[0] == "zh-juzhu"
    finally:
        reader.close()
