"""Conversation history: the earlier (redacted) questions of a conversation, read before a follow-up is answered.

Nothing of it lives in the API process, so any worker answers any turn: with ``server.redis_url`` the turns are a
Redis list per conversation (``RPUSH`` + ``LTRIM`` + ``EXPIRE`` in one transaction), otherwise rows of
``conversation_turns`` in the database (SQLite or PostgreSQL). Either keeps the last
``server.conversation_max_turns`` turns and forgets a conversation ``server.conversation_ttl_minutes`` after its
last turn. Conversations are keyed by tenant and id, so one tenant's id never reads another's history.

If Redis cannot be reached the question is answered without its history and the failure logged (a follow-up
loses its context; the citizen service stays up), as the rate limiter fails open.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import delete, select

from qa_service.db.models import ConversationTurn, utcnow

if TYPE_CHECKING:
    from qa_service.db.session import Database
    from qa_service.settings import ServerSettings

log = logging.getLogger(__name__)


class ConversationStore(Protocol):
    max_turns: int

    def history(self, tenant: str, conversation_id: str) -> list[str]:
        """The conversation's earlier questions, oldest first (empty when unknown or expired)."""
        ...

    def append(self, tenant: str, conversation_id: str, question: str) -> None:
        """Record one more question (the oldest beyond the cap are dropped)."""
        ...


SWEEP_EVERY = dt.timedelta(minutes=1)


class DatabaseConversations:
    """Turns as rows: an append is one insert (two workers appending at once both keep theirs)."""

    def __init__(self, db: Database, max_turns: int, ttl_minutes: int) -> None:
        self.db = db
        self.max_turns = max_turns
        self.ttl = dt.timedelta(minutes=ttl_minutes)
        self._swept_at: dt.datetime | None = None  # the last sweep of idle conversations by this process

    def history(self, tenant: str, conversation_id: str) -> list[str]:
        with self.db.session() as s:
            rows = s.execute(
                select(ConversationTurn.question, ConversationTurn.created_at)
                .where(ConversationTurn.tenant == tenant, ConversationTurn.conversation_id == conversation_id)
                .order_by(ConversationTurn.id.desc()).limit(self.max_turns)).all()
        if not rows or rows[0].created_at < utcnow() - self.ttl:
            return []
        return [r.question for r in reversed(rows)]

    def append(self, tenant: str, conversation_id: str, question: str) -> None:
        now = utcnow()
        with self.db.session() as s:
            s.add(ConversationTurn(tenant=tenant, conversation_id=conversation_id, question=question,
                                   created_at=now))
            s.flush()
            keep = (select(ConversationTurn.id)
                    .where(ConversationTurn.tenant == tenant, ConversationTurn.conversation_id == conversation_id)
                    .order_by(ConversationTurn.id.desc()).limit(self.max_turns))
            s.execute(delete(ConversationTurn).where(
                ConversationTurn.tenant == tenant, ConversationTurn.conversation_id == conversation_id,
                ConversationTurn.id.not_in(keep.scalar_subquery())))
            # every conversation idle past the TTL (its newest turn too) is gone, by the created_at index; once a
            # minute per process, not on every append (history() already ignores an idle conversation's turns)
            if self._swept_at is None or now - self._swept_at >= SWEEP_EVERY:
                s.execute(delete(ConversationTurn).where(ConversationTurn.created_at < now - self.ttl))
                self._swept_at = now


class RedisConversations:
    """Turns as one Redis list per conversation, expiring ``ttl`` after its last turn."""

    def __init__(self, url: str, max_turns: int, ttl_minutes: int, prefix: str = "qa") -> None:
        import redis

        self.max_turns = max_turns
        self.ttl_s = ttl_minutes * 60
        self.prefix = f"{prefix}:conv"
        self._redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)

    def _key(self, tenant: str, conversation_id: str) -> str:
        return f"{self.prefix}:{tenant}:{json.dumps(conversation_id)}"

    def history(self, tenant: str, conversation_id: str) -> list[str]:
        try:
            raw = self._redis.lrange(self._key(tenant, conversation_id), -self.max_turns, -1)
        except Exception as exc:  # answered without history: a logged decision, not a swallowed error
            log.warning("conversation store unavailable op=read error=%s", type(exc).__name__)
            return []
        return [item.decode("utf-8") for item in raw]  # type: ignore[union-attr]

    def append(self, tenant: str, conversation_id: str, question: str) -> None:
        key = self._key(tenant, conversation_id)
        try:
            pipe = self._redis.pipeline(transaction=True)
            pipe.rpush(key, question.encode("utf-8"))
            pipe.ltrim(key, -self.max_turns, -1)
            pipe.expire(key, self.ttl_s)
            pipe.execute()
        except Exception as exc:
            log.warning("conversation store unavailable op=write error=%s", type(exc).__name__)


def make_conversations(server: ServerSettings, db: Database) -> ConversationStore:
    """Redis when ``server.redis_url`` is set, else the database."""
    if server.redis_url:
        return RedisConversations(server.redis_url, server.conversation_max_turns, server.conversation_ttl_minutes,
                                  server.redis_prefix)
    return DatabaseConversations(db, server.conversation_max_turns, server.conversation_ttl_minutes)
