"""Text only: markup and entity-encoded markup turned into plain text.

Used where source text leaves the service (the API's answer and citation fields) and where HTML becomes
chunk text (the HTML loader). Tag-shaped runs (``<name ...>``, ``</name>``, ``<!-- -->``, ``<!...>``, ``<?...?>``)
are removed, with the whole body of script/style-like elements; entities are decoded and the result is
stripped again (bounded), so ``&lt;script&gt;`` or ``&amp;lt;b&amp;gt;`` cannot turn into a tag in a client that
decodes once more. A ``<`` that starts no tag ("收入<12万元", "3 < 5") is text and stays.
"""

from __future__ import annotations

import html
import re

_RAW_ELEMENTS = r"script|style|textarea|xmp|noembed|noframes|noscript|iframe|template|title|plaintext"
_RAW_BLOCK = re.compile(rf"<\s*({_RAW_ELEMENTS})\b[^>]*>.*?<\s*/\s*\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<!--.*?(?:-->|$)|<[!?][^>]*>|<\s*/?\s*[A-Za-z][A-Za-z0-9:_-]*(?:\s[^>]*)?/?\s*>",
                  re.DOTALL)
_SPACES = re.compile(r"[ \t]{2,}")
_SPACE_BEFORE_PUNCT = re.compile(r"[ \t]+([,.;:!?)，。；：！？、）])")  # left where a tag was cut out
MAX_ROUNDS = 10  # decoding shortens the text, so this only bounds absurd &amp;amp;amp;... nests


def strip_tags(text: str) -> str:
    """Remove tag-shaped runs (and raw-text element bodies); entities are left as they are."""
    return _TAG.sub(" ", _RAW_BLOCK.sub(" ", text))


def plain_text(text: str | None) -> str:
    """``text`` as plain text: no tags, no entity-encoded tags, entities decoded. Text without markup or
    entities comes back unchanged; where something was removed, runs of spaces are collapsed."""
    if not text:
        return ""
    out = text
    for _ in range(MAX_ROUNDS):
        decoded = html.unescape(strip_tags(out))
        if decoded == out:
            break
        out = decoded
    out = strip_tags(out)
    if out == text:
        return text
    lines = (_SPACE_BEFORE_PUNCT.sub(r"\1", _SPACES.sub(" ", line)).strip() for line in out.split("\n"))
    return "\n".join(line for line in lines if line)
