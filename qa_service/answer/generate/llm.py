"""The ``llm`` backend: any OpenAI-compatible chat endpoint (vLLM, Ollama, Qwen/DeepSeek-style APIs).

The prompt numbers the passages ``[1]..[k]`` and asks for strict JSON
``{"answer": "...", "sources_used": [n, ...], "completeness": "full"|"partial"|"none"}``.
The answer is split into sentences, each keeping the ``[n]`` markers that follow it; numbers that
are not one of the given passages are dropped from the sentence and reported in
``LlmDraft.invalid_cites`` (the check-citations step can record them).

Reliability policy (``ChatClient``): the llama-index ``OpenAILike`` client is built with
``max_retries=0`` and ``timeout=settings.timeout_s``; retries are ours — up to ``settings.retries``
more attempts with exponential backoff (0.5 s, 1 s, 2 s … capped at 8 s) on transport errors,
timeouts and HTTP 5xx, never on 4xx. A reply that is not the JSON schema is asked for once more;
if that is malformed too the backend is unavailable. Every failure leaves as ``GeneratorUnavailable``.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from qa_service.answer.context import Draft, Passage, Sentence
from qa_service.answer.generate.base import GeneratorUnavailable
from qa_service.answer.generate.prompts import PromptError, PromptLibrary, prompt_name
from qa_service.settings import LlmSettings
from qa_service.text import Splitter

log = logging.getLogger(__name__)

COMPLETENESS = ("full", "partial", "none")
ANSWER_RESPONSE_FORMAT = {  # the reply schema, for servers that constrain output (llm.structured_output)
    "type": "json_schema",
    "json_schema": {"name": "answer", "strict": True, "schema": {
        "type": "object",
        "properties": {"answer": {"type": "string"},
                       "sources_used": {"type": "array", "items": {"type": "integer"}},
                       "completeness": {"type": "string", "enum": list(COMPLETENESS)}},
        "required": ["answer", "sources_used", "completeness"], "additionalProperties": False}},
}
MALFORMED_ATTEMPTS = 2  # a malformed reply is asked for once more


class MalformedReply(ValueError):
    """The model answered, but not in the expected shape."""


@dataclass
class LlmDraft(Draft):
    """A draft from the LLM backend, with what the parser had to throw away."""

    invalid_cites: list[int] = field(default_factory=list)
    sources_used: list[int] = field(default_factory=list)
    canary_leaked: bool = False  # the reply repeated the system prompt's secret marker


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------

_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"```[a-zA-Z0-9_-]*\s*\n?(.*?)```", re.DOTALL)
_MARK = (r"[\[【［]\s*(?:source|src|来源|资料)?\s*\d{1,3}"
         r"(?:\s*(?:[,，、;；]|[-–~～])\s*(?:source|src|来源|资料)?\s*\d{1,3})*\s*[\]】］]")
_MARK_RE = re.compile(_MARK, re.IGNORECASE)
# sentences by qa_service/text.py, where [n] markers right after a sentence's end belong to that sentence and an
# English ";" does not end one (a model joins the clauses of one cited statement with it)
_SENTENCES = Splitter(semicolon=False, trailing=_MARK)
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([。！？；，、：.!?,;:])")
_ONLY_PUNCT = re.compile(r"^[\s。！？；，、：.!?,;:\"'”’“‘」』）)(（-]*$")
_BULLET = re.compile(  # list markers the model may put in front of a sentence: "- ", "1. ", "(2)", "一、"
    r"^(?:[-*•·]\s+|[（(]?\d{1,2}(?:[.)]\s+|[.)]$|[、）])|[（(]?[一二三四五六七八九十]{1,2}[)）、])\s*")


def extract_json(raw: str) -> dict[str, Any]:
    """The first JSON object in ``raw``: tolerates ```json fences, <think> blocks and leading text."""
    text = _THINK.sub("", raw or "").strip()
    candidates = [m.group(1).strip() for m in _FENCE.finditer(text)] + [text]
    decoder = json.JSONDecoder()
    for cand in candidates:
        try:
            obj = json.loads(cand)
        except ValueError:
            obj = None
        if isinstance(obj, dict):
            return obj
        for m in re.finditer(r"\{", cand):
            try:
                obj, _ = decoder.raw_decode(cand, m.start())
            except ValueError:
                continue
            if isinstance(obj, dict):
                return obj
    raise MalformedReply(f"no JSON object in reply ({len(raw or '')} chars)")


def _numbers(marker: str) -> list[int]:
    """``[1]`` → [1]; ``[1, 3]`` → [1, 3]; ``[2-4]`` → [2, 3, 4]."""
    out: list[int] = []
    for m in re.finditer(r"(\d{1,3})(?:\s*[-–~～]\s*(?:source|src|来源|资料)?\s*(\d{1,3}))?", marker, re.IGNORECASE):
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) else lo
        if lo <= hi <= lo + 20:
            out.extend(range(lo, hi + 1))
        else:  # a reversed or absurd range: keep both ends, the check reports them
            out.extend((lo, hi))
    return out


def split_answer(answer: str) -> list[tuple[str, list[int]]]:
    """Split an answer into ``(sentence without markers, cited numbers)`` pairs, in order."""
    chunks = _SENTENCES.split(answer)
    out: list[tuple[str, list[int]]] = []
    for chunk in chunks:
        cites: list[int] = []
        for m in _MARK_RE.finditer(chunk):
            cites.extend(_numbers(m.group(0)))
        text = _MARK_RE.sub(" ", chunk)
        text = _SPACE_BEFORE_PUNCT.sub(r"\1", re.sub(r"[ \t\u3000]+", " ", text)).strip()
        text = _BULLET.sub("", text).strip()
        cites = list(dict.fromkeys(cites))
        if _ONLY_PUNCT.match(text):
            if cites and out:  # markers on their own: they belong to the sentence before
                prev_text, prev_cites = out[-1]
                out[-1] = (prev_text, list(dict.fromkeys(prev_cites + cites)))
            continue
        out.append((text, cites))
    return out


def _valid_numbers(valid: int | Iterable[int]) -> set[int]:
    return set(range(1, valid + 1)) if isinstance(valid, int) else set(valid)


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        m = re.search(r"\d{1,3}", value)
        return int(m.group(0)) if m else None
    return None


def parse_answer(raw: str, valid: int | Iterable[int]) -> tuple[list[Sentence], list[int], str]:
    """Parse a model reply into ``(sentences, invalid citation numbers, completeness)``.

    ``valid`` is the number of passages ``k`` (valid numbers 1..k) or the passage numbers
    themselves. Invalid numbers are removed from the sentences (and from ``sources_used``) and
    returned, in order of first appearance. Raises ``MalformedReply`` when the reply is not the schema.
    """
    sentences, invalid, completeness, _ = _parse(raw, valid)
    return sentences, invalid, completeness


def _parse(raw: str, valid: int | Iterable[int]) -> tuple[list[Sentence], list[int], str, list[int]]:
    try:
        obj = extract_json(raw)
    except MalformedReply:
        text = _THINK.sub("", raw or "").strip()
        if not _MARK_RE.search(text):
            raise
        # plain text with [n] markers (a model or server that does not do JSON): the markers are the citations
        obj = {"answer": text, "sources_used": [], "completeness": "full"}
    answer = obj.get("answer")
    if not isinstance(answer, str):
        raise MalformedReply("reply has no string 'answer'")
    completeness = str(obj.get("completeness", "")).strip().lower()
    if completeness not in COMPLETENESS:
        raise MalformedReply(f"reply has completeness={obj.get('completeness')!r}")
    used_raw = obj.get("sources_used", [])
    if used_raw is None:
        used_raw = []
    if not isinstance(used_raw, list):
        raise MalformedReply("reply has a non-list 'sources_used'")
    ok = _valid_numbers(valid)
    invalid: list[int] = []
    sentences: list[Sentence] = []
    for text, cites in split_answer(answer):
        bad = [n for n in cites if n not in ok]
        invalid.extend(bad)
        sentences.append(Sentence(text=text, cites=[n for n in cites if n in ok]))
    used: list[int] = []
    for item in used_raw:
        n = _as_int(item)
        if n is None:
            continue
        if n in ok:
            used.append(n)
        else:
            invalid.append(n)
    return sentences, list(dict.fromkeys(invalid)), completeness, list(dict.fromkeys(used))


# --------------------------------------------------------------------------------------------
# Transport
# --------------------------------------------------------------------------------------------


class ChatClient:
    """One OpenAI-compatible chat endpoint with our retry policy (see the module docstring)."""

    def __init__(self, settings: LlmSettings, *, purpose: str = "generate", backoff_s: float = 0.5,
                 max_backoff_s: float = 8.0, sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.purpose = purpose
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self._sleep = sleep
        self._llm: Any = None

    def _client(self) -> Any:
        if self._llm is None:
            if not self.settings.base_url:
                raise GeneratorUnavailable(f"{self.purpose}: no base_url configured for the LLM endpoint", "config")
            from llama_index.llms.openai_like import OpenAILike

            self._llm = OpenAILike(
                model=self.settings.model,
                api_base=self.settings.base_url,
                api_key=self.settings.api_key,
                temperature=0.0,
                max_tokens=self.settings.max_tokens,
                timeout=min(self.settings.timeout_s, self.settings.answer_budget_s),
                max_retries=0,
                is_chat_model=True,
                is_function_calling_model=False,
                additional_kwargs=({"response_format": ANSWER_RESPONSE_FORMAT}
                                   if self.settings.structured_output and self.purpose == "generate" else {}),
            )
        return self._llm

    def backoff(self, attempt: int) -> float:
        """Delay before retry number ``attempt`` (1-based): 0.5 s, 1 s, 2 s …, capped."""
        return float(min(self.max_backoff_s, self.backoff_s * (2 ** (attempt - 1))))

    def complete(self, system: str, user: str, deadline: float | None = None) -> str:
        """Send one chat request; returns the reply text.

        Raises ``GeneratorUnavailable`` (transport failure after retries, 4xx, or no time left before
        ``deadline``, a ``time.monotonic()`` value) or ``MalformedReply`` (a 200 whose body is not a chat
        completion, or empty content).
        """
        import openai
        from llama_index.core.base.llms.types import ChatMessage, MessageRole

        llm = self._client()
        messages = ([ChatMessage(role=MessageRole.SYSTEM, content=system)] if system else []) + [
            ChatMessage(role=MessageRole.USER, content=user)]
        attempts = 1 + max(0, self.settings.retries)
        for attempt in range(1, attempts + 1):
            started = time.monotonic()
            try:
                resp = llm.chat(messages)
            except openai.APIStatusError as exc:
                kind = f"http_{exc.status_code}"
                if exc.status_code < 500:
                    log.warning("llm_call_failed purpose=%s attempt=%d error=%s retry=no", self.purpose, attempt, kind)
                    raise GeneratorUnavailable(
                        f"{self.purpose}: endpoint refused the request (HTTP {exc.status_code})", kind) from exc
                error: Exception = exc
            except openai.APITimeoutError as exc:
                kind, error = "timeout", exc
            except openai.APIConnectionError as exc:
                kind, error = "transport", exc
            except (openai.APIResponseValidationError, ValueError, AttributeError, KeyError, IndexError,
                    TypeError) as exc:
                raise MalformedReply(f"response is not a chat completion: {type(exc).__name__}") from exc
            except openai.OpenAIError as exc:
                raise GeneratorUnavailable(f"{self.purpose}: {type(exc).__name__}: {exc}", "transport") from exc
            else:
                content = resp.message.content
                log.info("llm_call purpose=%s attempt=%d ms=%.0f chars=%d", self.purpose, attempt,
                         (time.monotonic() - started) * 1000, len(content or ""))
                if not content or not content.strip():
                    raise MalformedReply("empty reply content")
                return str(content)
            if attempt < attempts and deadline is not None and time.monotonic() + self.backoff(attempt) >= deadline:
                log.warning("llm_call_failed purpose=%s attempt=%d/%d error=%s retry=no_time_left",
                            self.purpose, attempt, attempts, kind)
                raise GeneratorUnavailable(f"{self.purpose}: {kind}; the answer's time budget is spent", kind)
            if attempt < attempts:
                delay = self.backoff(attempt)
                log.warning("llm_call_failed purpose=%s attempt=%d/%d error=%s retry_in_s=%.2f",
                            self.purpose, attempt, attempts, kind, delay)
                self._sleep(delay)
            else:
                log.warning("llm_call_failed purpose=%s attempt=%d/%d error=%s retry=exhausted",
                            self.purpose, attempt, attempts, kind)
                raise GeneratorUnavailable(
                    f"{self.purpose}: {kind} after {attempts} attempt(s): {type(error).__name__}", kind) from error
        raise GeneratorUnavailable(f"{self.purpose}: no attempt made")  # pragma: no cover - attempts >= 1

    def complete_parsed(self, system: str, user: str, parse: Callable[[str], Any]) -> tuple[Any, str]:
        """``complete`` + ``parse``; a malformed reply is asked for once more while the answer's time budget
        (``answer_budget_s``) lasts. Returns (parsed, raw)."""
        last: MalformedReply | None = None
        deadline = time.monotonic() + self.settings.answer_budget_s
        for attempt in range(1, MALFORMED_ATTEMPTS + 1):
            raw = ""
            if attempt > 1 and time.monotonic() >= deadline:
                raise GeneratorUnavailable(f"{self.purpose}: malformed reply and no time left: {last}", "malformed")
            try:
                raw = self.complete(system, user, deadline)
                return parse(raw), raw
            except MalformedReply as exc:
                last = exc
                log.warning("llm_malformed_reply purpose=%s attempt=%d/%d error=%s chars=%d",
                            self.purpose, attempt, MALFORMED_ATTEMPTS, exc, len(raw))
        raise GeneratorUnavailable(f"{self.purpose}: malformed reply after {MALFORMED_ATTEMPTS} attempts: {last}",
                                   "malformed")


    def stream(self, system: str, user: str, on_text: Callable[[str], None]) -> str:
        """Send one streaming chat request; ``on_text`` receives the reply so far after each delta. Returns the
        whole reply. Failures before the first delta are retried as in ``complete``; a failure after it (the
        server died mid-answer) raises ``GeneratorUnavailable`` — a half answer is never returned."""
        import openai
        from llama_index.core.base.llms.types import ChatMessage, MessageRole

        llm = self._client()
        messages = ([ChatMessage(role=MessageRole.SYSTEM, content=system)] if system else []) + [
            ChatMessage(role=MessageRole.USER, content=user)]
        deadline = time.monotonic() + self.settings.answer_budget_s
        attempts = 1 + max(0, self.settings.retries)
        for attempt in range(1, attempts + 1):
            started, text, first_ms = time.monotonic(), "", None
            try:
                for part in llm.stream_chat(messages):
                    delta = part.delta or ""
                    if not delta:
                        continue
                    if first_ms is None:
                        first_ms = (time.monotonic() - started) * 1000
                    text += delta
                    on_text(text)
                    if time.monotonic() >= deadline:
                        raise GeneratorUnavailable(f"{self.purpose}: the answer's time budget ran out mid-reply",
                                                   "budget")
            except openai.APIStatusError as exc:
                kind = f"http_{exc.status_code}"
                if exc.status_code < 500 or text:
                    raise GeneratorUnavailable(f"{self.purpose}: HTTP {exc.status_code}", kind) from exc
            except (openai.APITimeoutError, openai.APIConnectionError) as exc:
                kind = "timeout" if isinstance(exc, openai.APITimeoutError) else "transport"
                if text:
                    raise GeneratorUnavailable(f"{self.purpose}: {kind} after {len(text)} chars", kind) from exc
            except GeneratorUnavailable:
                raise
            except Exception as exc:  # a broken stream (server died mid-answer, garbage event)
                raise GeneratorUnavailable(f"{self.purpose}: stream broke: {type(exc).__name__}",
                                           "transport" if text else "malformed") from exc
            else:
                log.info("llm_stream purpose=%s attempt=%d first_ms=%.0f ms=%.0f chars=%d", self.purpose, attempt,
                         first_ms or -1, (time.monotonic() - started) * 1000, len(text))
                if not text.strip():
                    raise MalformedReply("empty reply content")
                return text
            if attempt >= attempts or time.monotonic() + self.backoff(attempt) >= deadline:
                raise GeneratorUnavailable(f"{self.purpose}: {kind} after {attempt} attempt(s)", kind)
            self._sleep(self.backoff(attempt))
        raise GeneratorUnavailable(f"{self.purpose}: no attempt made")  # pragma: no cover - attempts >= 1


_ANSWER_KEY = re.compile(r'"answer"\s*:\s*"')


def partial_answer(raw: str) -> str:
    """The answer text a reply has streamed so far: the growing ``"answer"`` string of the JSON schema (escapes
    decoded, an unfinished escape left out), or the text itself when the reply is plain text."""
    stripped = _THINK.sub("", raw).lstrip()
    if "<think>" in stripped.lower():
        return ""  # still thinking
    if not stripped.startswith(("{", "```")):
        return stripped
    m = _ANSWER_KEY.search(stripped)
    if m is None:
        return ""
    body, i, out = stripped[m.end():], 0, []
    while i < len(body):
        c = body[i]
        if c == '"':
            break
        if c == "\\":
            esc = body[i:i + 6] if body[i + 1:i + 2] == "u" else body[i:i + 2]
            if len(esc) < (6 if body[i + 1:i + 2] == "u" else 2):
                break  # the escape is not complete yet
            try:
                out.append(json.loads(f'"{esc}"'))
            except ValueError:
                out.append(esc)
            i += len(esc)
            continue
        out.append(c)
        i += 1
    return "".join(out)


# --------------------------------------------------------------------------------------------
# Generator
# --------------------------------------------------------------------------------------------

_REWRITE_PREFIX = re.compile(
    r"^\s*(?:standalone question|rewritten question|question|改写后的完整问题|改写后的问题|完整问题|问题)\s*[:：]\s*",
    re.IGNORECASE)
_QUOTES = "\"'“”‘’「」『』`"


def clean_rewrite(raw: str) -> str:
    """The standalone question from a rewrite reply ('' when there is none)."""
    text = _THINK.sub("", raw or "").strip()
    fenced = _FENCE.search(text)
    if fenced:
        text = fenced.group(1).strip()
    if text.startswith("{"):
        try:
            obj = extract_json(text)
        except MalformedReply:
            obj = {}
        for key in ("question", "standalone", "standalone_question", "rewritten"):
            if isinstance(obj.get(key), str):
                text = obj[key]
                break
    line = next((ln for ln in text.splitlines() if ln.strip()), "")
    return _REWRITE_PREFIX.sub("", line).strip().strip(_QUOTES).strip()


class LlmGenerator:
    """Generator protocol over an OpenAI-compatible chat endpoint."""

    name = "llm"

    def __init__(self, settings: LlmSettings, prompts: PromptLibrary, *, backoff_s: float = 0.5,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.prompts = prompts
        self.client = ChatClient(settings, purpose="generate", backoff_s=backoff_s, sleep=sleep)
        self.rewrite_client = ChatClient(settings, purpose="rewrite", backoff_s=backoff_s, sleep=sleep)
        # A marker in the system prompt that no honest answer contains; seeing it in a reply means the
        # model was talked into revealing its instructions. New per process, never logged.
        self.canary = f"QA-CANARY-{secrets.token_hex(6)}"

    def generate(self, question: str, passages: list[Passage], lang: str,
                 on_answer: Callable[[str], None] | None = None) -> LlmDraft:
        """Draft an answer; with ``on_answer`` the reply is streamed and ``on_answer`` gets the answer text so far
        (unchecked: the caller checks each sentence before showing it)."""
        try:
            return self._generate(question, passages, lang, on_answer)
        except GeneratorUnavailable:
            raise
        except PromptError as exc:
            log.error("llm_prompt_error error=%s", exc)
            raise GeneratorUnavailable(f"generate: prompt error: {exc}", "config") from exc
        except Exception as exc:
            log.exception("llm_unexpected_error error=%s", type(exc).__name__)
            raise GeneratorUnavailable(f"generate: unexpected {type(exc).__name__}: {exc}") from exc

    def _generate(self, question: str, passages: list[Passage], lang: str,
                  on_answer: Callable[[str], None] | None = None) -> LlmDraft:
        name = prompt_name("answer", lang, question)
        if not passages:
            return LlmDraft([], completeness="none", model=self.settings.model,
                            prompt_hash=self.prompts.prompt_hash(name))
        prompt = self.prompts.render_chat(name, question=question, passages=passages, canary=self.canary)
        numbers = [p.n for p in passages]
        leaked: list[bool] = []

        def parse(reply: str) -> Any:
            if self.canary in reply:
                leaked.append(True)
                return [], [], "none", []
            return _parse(reply, numbers)

        if on_answer is None:
            parsed, raw = self.client.complete_parsed(prompt.system, prompt.user, parse)
        else:
            def progress(text: str) -> None:
                if self.canary not in text:
                    on_answer(partial_answer(text))

            raw = self.client.stream(prompt.system, prompt.user, progress)
            try:
                parsed = parse(raw)
            except MalformedReply as exc:
                raise GeneratorUnavailable(f"generate: malformed streamed reply: {exc}", "malformed") from exc
        if leaked:
            log.error("llm_canary_leaked model=%s", self.settings.model)
            return LlmDraft([], completeness="none", model=self.settings.model, prompt_hash=prompt.prompt_hash,
                            raw_output=None, canary_leaked=True)
        sentences, invalid, completeness, used = parsed
        if invalid:
            log.warning("llm_invalid_citations removed=%s given=%d", ",".join(map(str, invalid)), len(passages))
        return LlmDraft(sentences=sentences, completeness=completeness, model=self.settings.model,
                        prompt_hash=prompt.prompt_hash, raw_output=raw, invalid_cites=invalid, sources_used=used)

    def rewrite(self, question: str, history: list[str], lang: str) -> str:
        """A standalone version of a follow-up question; the original question on any failure."""
        if not history:
            return question
        try:
            prompt = self.prompts.render_chat(prompt_name("rewrite", lang, question), question=question,
                                              history=history[-5:])
            out = clean_rewrite(self.rewrite_client.complete(prompt.system, prompt.user))
        except (GeneratorUnavailable, MalformedReply, PromptError) as exc:
            log.warning("llm_rewrite_fallback error=%s", exc)
            return question
        except Exception as exc:
            log.exception("llm_rewrite_fallback error=%s", type(exc).__name__)
            return question
        limit = max(200, 3 * (len(question) + sum(len(h) for h in history[-5:])))
        if not out or len(out) > limit:
            log.warning("llm_rewrite_fallback error=unusable_reply chars=%d", len(out))
            return question
        return out
