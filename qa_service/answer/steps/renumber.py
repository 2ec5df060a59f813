"""Renumber: the answer's citations become [1], [2] … without gaps, in order of first use.

Runs after the checks and the risk label (which read the retrieval ranks) and before route and record, so the
answer text, its citations list, the stored passages and a held draft all use the same numbers: the passages the
answer cites come first in the order the answer first cites them, the others (shown to the generator, not cited)
after them in their old order.
"""

from __future__ import annotations

from dataclasses import replace

from qa_service.answer.context import AnswerContext


def renumbered(ctx: AnswerContext) -> dict[int, int]:
    """Old passage number → new one (cited passages first, in order of first use)."""
    known = {p.n for p in ctx.passages}
    order = list(dict.fromkeys(n for s in ctx.sentences for n in s.cites if n in known))
    rest = [p.n for p in ctx.passages if p.n not in order]
    return {old: new for new, old in enumerate(order + rest, start=1)}


class Renumber:
    """In: the sentences and passages. Out: both with the new numbers (passages in their new order)."""

    name = "renumber"
    always = False

    def run(self, ctx: AnswerContext) -> None:
        mapping = renumbered(ctx)
        if all(old == new for old, new in mapping.items()):
            return
        ctx.sentences = [replace(s, cites=list(dict.fromkeys(mapping.get(n, n) for n in s.cites)))
                         for s in ctx.sentences]
        ctx.passages = sorted((replace(p, n=mapping[p.n], via=mapping.get(p.via) if p.via is not None else None)
                               for p in ctx.passages), key=lambda p: p.n)
