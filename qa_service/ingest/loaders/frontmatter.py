"""Optional YAML front matter (``---`` ... ``---``) at the top of Markdown and text files."""

from __future__ import annotations

import datetime as dt
import logging
import re

import yaml

log = logging.getLogger(__name__)
_FRONT = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.DOTALL)


def split_front_matter(text: str) -> tuple[dict[str, object], str, list[str]]:
    """Return (meta, body, warnings); text without front matter comes back unchanged."""
    m = _FRONT.match(text)
    if not m:
        return {}, text.lstrip("\ufeff"), []
    body = text[m.end():]
    try:
        data = yaml.safe_load(m.group(1))
    except yaml.YAMLError as exc:
        log.warning("front matter unreadable error=%s", str(exc).replace("\n", " ")[:200])
        return {}, body, [f"front matter is not valid YAML and was ignored: {str(exc).splitlines()[0]}"]
    if data is None:
        return {}, body, []
    if not isinstance(data, dict):
        return {}, body, ["front matter is not a key: value mapping and was ignored"]
    meta: dict[str, object] = {}
    for key, value in data.items():
        if isinstance(value, dt.datetime):
            value = value.date().isoformat()
        elif isinstance(value, dt.date):
            value = value.isoformat()
        meta[str(key).strip().lower()] = value
    return meta, body, []
