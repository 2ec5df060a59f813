"""Citations staff choose for their own answer: passages picked from the live KB by chunk id, numbered in
the order chosen, and the answer's ``[n]`` markers checked against them. A marker without a chosen passage
is refused with a message that names it; the stored citations carry the passage text, digest and visibility
(so a curated answer saved from them is suspended when a new version changes one)."""

from __future__ import annotations

import re
from typing import Any

from qa_service.kb.store import VersionReader

MARKER = re.compile(r"\[(\d{1,3})\]")
MAX_CHOSEN = 12


class CitationError(ValueError):
    """The chosen passages and the answer's [n] markers do not fit together (422 at the edge)."""


def markers(answer: str) -> list[int]:
    """The distinct citation numbers the answer uses, in order of first use."""
    return list(dict.fromkeys(int(m) for m in MARKER.findall(answer)))


def check_markers(answer: str, chosen: int) -> None:
    """Every [n] in ``answer`` must name one of the ``chosen`` passages (1..chosen)."""
    bad = [n for n in markers(answer) if not 1 <= n <= chosen]
    if bad:
        names = ", ".join(f"[{n}]" for n in bad)
        have = f"passages [1]–[{chosen}] are chosen" if chosen > 1 else \
            ("passage [1] is chosen" if chosen == 1 else "no passage is chosen")
        raise CitationError(f"{names} cites no chosen passage: {have}; choose a passage for it or remove the marker")


def check_against(answer: str, numbers: set[int]) -> None:
    """Every [n] in ``answer`` must be one of the citation ``numbers`` it is stored with (an edit keeping the
    draft's passages, or the ones chosen)."""
    bad = [n for n in markers(answer) if n not in numbers]
    if bad:
        names = ", ".join(f"[{n}]" for n in bad)
        have = ", ".join(f"[{n}]" for n in sorted(numbers)) or "none"
        raise CitationError(f"{names} cites no passage of the draft (it has {have}); choose the passages your "
                            "answer cites, or remove the marker")


def choose(reader: VersionReader, chunk_ids: list[str], answer: str, staff: bool = True) -> list[dict[str, Any]]:
    """Citation dicts for ``chunk_ids`` (numbered 1.. in that order) after checking ``answer``'s markers."""
    ids = list(dict.fromkeys(c for c in chunk_ids if c))
    if len(ids) > MAX_CHOSEN:
        raise CitationError(f"at most {MAX_CHOSEN} passages may be cited; {len(ids)} were chosen")
    check_markers(answer, len(ids))
    found = {p.chunk_id: p for p in reader.get(ids, with_vectors=False)} if ids else {}
    missing = [c for c in ids if c not in found]
    if missing:
        raise CitationError(f"passage {missing[0]!r} is not in the live knowledge base (search again)")
    used = set(markers(answer))
    out = []
    for n, cid in enumerate(ids, start=1):
        p = found[cid].payload
        if not staff and p.get("visibility") != "public":
            raise CitationError(f"passage {cid!r} is internal")
        out.append({"n": n, "chunk_id": cid, "source_id": p.get("source_id"), "title": p.get("title") or "",
                    "url": p.get("url"), "heading": p.get("heading") or "", "digest": p.get("digest") or "",
                    "visibility": "public" if p.get("visibility") == "public" else "internal",
                    "text": p.get("text") or "", "cited": n in used})
    return out
