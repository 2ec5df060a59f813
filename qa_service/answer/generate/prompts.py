"""Prompt templates from the repository's ``prompts/`` folder, versioned by content hash.

Each template is one jinja2 file ``<name>.j2`` (``answer_zh``, ``answer_en``, ``rewrite_zh`` …)
holding two blocks: ``{% block system %}`` (the system message) and ``{% block user %}`` (the user
message). ``render`` returns the whole text; ``render_chat`` returns the two blocks separately, for
a chat endpoint. A template without blocks renders to a user message with an empty system message.

The prompt hash is the sha256 of the template *source* (first 16 hex digits): editing a template
changes the hash recorded with every answer, so an answer can be traced to the exact prompt text.
The source is re-read on every render (the files are small) so the hash and the rendered text can
never disagree, even when a template is edited while the service runs.

Variables are strict (a missing one raises) and nothing is HTML-escaped (plain text prompts). The
``data`` filter neutralises text that mimics the prompt's own delimiters (``<source …>``,
``</source>``, ``<history>`` …), so a retrieved passage cannot close its frame and speak as the
prompt.
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

import qa_service

_NAME = re.compile(r"^[a-z0-9][a-z0-9_]*$")
_DELIMITER = re.compile(r"<\s*(/?)\s*(source|sources|history|question|draft|passages?)\b", re.IGNORECASE)


def default_prompt_folder() -> Path:
    """The repository's top-level ``prompts/`` folder."""
    return Path(qa_service.__file__).resolve().parents[1] / "prompts"


def neutralise_delimiters(text: object) -> str:
    """Make ``<source>``-like tags inside data harmless (``<`` → ``‹``)."""
    return _DELIMITER.sub(lambda m: f"‹{m.group(1)}{m.group(2)}", str(text))


class PromptError(LookupError):
    """A template is missing, misnamed, or failed to render."""


@dataclass(frozen=True)
class ChatPrompt:
    system: str
    user: str
    prompt_hash: str
    name: str


class PromptLibrary:
    """Loads ``<name>.j2`` templates from ``folder`` (default: the repository's ``prompts/``)."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = Path(folder) if folder is not None else default_prompt_folder()
        self._env = jinja2.Environment(
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            keep_trailing_newline=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._env.filters["data"] = neutralise_delimiters
        self._compiled: dict[tuple[str, str], jinja2.Template] = {}
        self._lock = threading.Lock()

    def _path(self, name: str) -> Path:
        stem = name.removesuffix(".j2")
        if not _NAME.match(stem):
            raise PromptError(f"invalid prompt name {name!r}")
        return self.folder / f"{stem}.j2"

    def source(self, name: str) -> str:
        path = self._path(name)
        try:
            return path.read_text(encoding="utf-8")
        except OSError as exc:
            raise PromptError(f"prompt {name!r} not readable at {path}: {exc}") from exc

    @staticmethod
    def hash_source(source: str) -> str:
        return hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]

    def prompt_hash(self, name: str) -> str:
        """Content hash of the template ``name`` as it is on disk now."""
        return self.hash_source(self.source(name))

    def _template(self, name: str) -> tuple[jinja2.Template, str]:
        source = self.source(name)
        digest = self.hash_source(source)
        key = (name.removesuffix(".j2"), digest)
        with self._lock:
            tmpl = self._compiled.get(key)
            if tmpl is None:
                try:
                    tmpl = self._env.from_string(source)
                except jinja2.TemplateSyntaxError as exc:
                    raise PromptError(f"prompt {name!r} line {exc.lineno}: {exc.message}") from exc
                self._compiled[key] = tmpl
        return tmpl, digest

    def render(self, name: str, **variables: Any) -> tuple[str, str]:
        """Render the whole template; returns ``(text, prompt_hash)``."""
        tmpl, digest = self._template(name)
        try:
            return tmpl.render(**variables).strip(), digest
        except jinja2.TemplateError as exc:
            raise PromptError(f"prompt {name!r} failed to render: {exc}") from exc

    def render_chat(self, name: str, **variables: Any) -> ChatPrompt:
        """Render the ``system`` and ``user`` blocks separately for a chat endpoint."""
        tmpl, digest = self._template(name)
        try:
            if "user" not in tmpl.blocks:
                return ChatPrompt("", tmpl.render(**variables).strip(), digest, name)
            ctx = tmpl.new_context(dict(variables))
            system = "".join(tmpl.blocks["system"](ctx)).strip() if "system" in tmpl.blocks else ""
            user = "".join(tmpl.blocks["user"](ctx)).strip()
        except jinja2.TemplateError as exc:
            raise PromptError(f"prompt {name!r} failed to render: {exc}") from exc
        return ChatPrompt(system, user, digest, name)


def prompt_name(kind: str, lang: str, sample: str = "") -> str:
    """``answer`` + ``zh`` → ``answer_zh``; an unknown language is decided by the sample text."""
    if lang not in ("zh", "en"):
        from qa_service.text import is_chinese

        lang = "zh" if is_chinese(sample) else "en"
    return f"{kind}_{lang}"
