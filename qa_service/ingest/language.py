"""Language of a text: ``zh`` when CJK characters make up at least ~20% of its letters, else ``en``."""

from __future__ import annotations

import re

CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")
_LATIN_RE = re.compile(r"[A-Za-z\u00c0-\u024f]")
ZH_SHARE = 0.2


def detect_language(text: str) -> str:
    """'zh' or 'en' (the default when the text has no letters)."""
    sample = text[:20000]
    cjk = len(CJK_RE.findall(sample))
    if not cjk:
        return "en"
    latin = len(_LATIN_RE.findall(sample))
    return "zh" if cjk / (cjk + latin) >= ZH_SHARE else "en"
