"""The wiring: settings, database, vector store and models, built once and handed to the CLI,
the app factory and the evaluation harness. Models load lazily on first use."""

from __future__ import annotations

import logging
from functools import cached_property
from typing import TYPE_CHECKING

from qa_service.audit.keys import keys_from_settings
from qa_service.db.session import Database
from qa_service.settings import Settings

if TYPE_CHECKING:
    from qa_service.answer.generate.extractive import ExtractiveGenerator
    from qa_service.answer.generate.llm import LlmGenerator
    from qa_service.answer.generate.verify import LlmVerifier
    from qa_service.answer.pipeline import AnswerPipeline
    from qa_service.answer.risk import RiskPolicy
    from qa_service.guard.similarity import SimilarityGuard
    from qa_service.kb.embed import CjkEmbedder, DenseEmbedder, SparseEmbedder
    from qa_service.kb.live import LiveReaderCache
    from qa_service.kb.places import PlaceFilter
    from qa_service.kb.rerank import CrossEncoderReranker
    from qa_service.kb.retriever import HybridRetriever
    from qa_service.kb.stats import TermStatsCache
    from qa_service.kb.store import VectorStore
    from qa_service.review.curated import CuratedMatcher
    from qa_service.review.sink import ReviewSink

log = logging.getLogger(__name__)


class Services:
    """Everything a request or a command needs; cheap to create, expensive parts are lazy."""

    def __init__(self, settings: Settings, *, migrate: bool = True) -> None:
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.db = Database(settings.db_url, keys_from_settings(settings))
        if migrate:
            self.db.migrate()

    @cached_property
    def store(self) -> VectorStore:
        from qa_service.kb.factory import make_store

        return make_store(self.settings)

    @cached_property
    def dense(self) -> DenseEmbedder:
        from qa_service.kb.embed import DenseEmbedder

        emb = self.settings.embedding
        if emb.cache_path is None:  # the default: one vector cache beside the data (sentence vectors of ingestion)
            emb = emb.model_copy(update={"cache_path": str(self.settings.data_dir / "vectors.sqlite")})
        return DenseEmbedder(emb)

    @cached_property
    def sparse(self) -> SparseEmbedder:
        from qa_service.kb.embed import SparseEmbedder

        return SparseEmbedder()

    @cached_property
    def cjk(self) -> CjkEmbedder:
        """BM25 over Han-character bigrams and unigrams (the Chinese-only third retriever)."""
        from qa_service.kb.embed import CjkEmbedder

        return CjkEmbedder()

    @cached_property
    def reranker(self) -> CrossEncoderReranker | None:
        """The optional cross-encoder (None unless retrieval.rerank_model_path is set)."""
        cfg = self.settings.retrieval
        if not cfg.rerank_model_path:
            return None
        from qa_service.kb.rerank import CrossEncoderReranker

        return CrossEncoderReranker(cfg.rerank_model_path, device=self.settings.embedding.device)

    @cached_property
    def live(self) -> LiveReaderCache:
        from qa_service.kb.live import LiveReaderCache

        return LiveReaderCache(self.store)

    @cached_property
    def retriever(self) -> HybridRetriever:
        """The one hybrid retriever (answer path, `qa kb search`, evaluation)."""
        from qa_service.kb.retriever import HybridRetriever

        return HybridRetriever(self.settings.retrieval, self.live, self.store, self.dense, self.sparse, self.cjk,
                               self.term_stats, self.reranker)

    @cached_property
    def places(self) -> PlaceFilter | None:
        """Which live documents apply where a question asks (issue 22; read once per version); None with
        ``answer.place_check`` off."""
        from qa_service.kb.places import PlaceFilter

        return PlaceFilter(self.live) if self.settings.answer.place_check else None

    @cached_property
    def term_stats(self) -> TermStatsCache:
        from qa_service.kb.stats import TermStatsCache

        return TermStatsCache()

    @cached_property
    def preview_term_stats(self) -> TermStatsCache:
        """The term statistics of previewed draft versions: apart, so a preview never evicts the live version's."""
        from qa_service.kb.stats import TermStatsCache

        return TermStatsCache()

    @cached_property
    def similarity_guard(self) -> SimilarityGuard:
        """The input guard's nearest-exemplar layer (its exemplar matrix is embedded on first use)."""
        from qa_service.guard.similarity import SimilarityGuard

        return SimilarityGuard(self.dense, self.settings.guard, cache_dir=self.settings.data_dir / "cache")

    @cached_property
    def generator(self) -> ExtractiveGenerator | LlmGenerator:
        """The configured answer generator (extractive offline default, or an OpenAI-compatible LLM)."""
        cfg = self.settings
        if cfg.generate.backend == "llm":
            from qa_service.answer.generate.llm import LlmGenerator
            from qa_service.answer.generate.prompts import PromptLibrary

            if not cfg.llm.base_url:
                raise ValueError("generate.backend=llm needs QA_LLM__BASE_URL")
            return LlmGenerator(cfg.llm, PromptLibrary())
        return self.fallback_generator

    @cached_property
    def fallback_generator(self) -> ExtractiveGenerator:
        """The extractive generator: the offline default, and the answer shown when a model's output is rejected."""
        from qa_service.answer.generate.extractive import ExtractiveGenerator

        return ExtractiveGenerator(self.dense, self.settings.generate)

    @cached_property
    def verifier(self) -> LlmVerifier | None:
        """Optional second model that checks the first one's answer (None when not configured)."""
        if not self.settings.verify.base_url:
            return None
        from qa_service.answer.generate.prompts import PromptLibrary
        from qa_service.answer.generate.verify import LlmVerifier

        return LlmVerifier(self.settings.verify, PromptLibrary())

    @cached_property
    def risk_policy(self) -> RiskPolicy:
        from qa_service.answer.risk import load_policy

        return load_policy(self.settings.answer.risk_policy)

    @cached_property
    def answerer(self) -> AnswerPipeline:
        from qa_service.answer.pipeline import AnswerPipeline

        return AnswerPipeline(self)

    @cached_property
    def curated_matcher(self) -> CuratedMatcher:
        """The answer path's curated step: staff-approved answers reused for matching questions."""
        from qa_service.review.curated import CuratedMatcher

        return CuratedMatcher(self)

    @cached_property
    def review_sink(self) -> ReviewSink:
        """Where held and sampled answers go: the review queue."""
        from qa_service.review.sink import ReviewSink

        return ReviewSink(self)

    def close(self) -> None:
        if "live" in self.__dict__:
            self.live.close()
        self.db.dispose()
