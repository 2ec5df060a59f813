"""Does a question ask for the same service as a curated question? (issue 14 item 12)

Two questions of the same shape ("怎么申请居住证" / "驾驶证怎么申请") look alike character by character and, to an
English-only embedding model, in vector space too. What tells services apart is what remains once the words
every question has are removed (question_words.yaml: question words, particles, procedure verbs):

* content terms: Han character bigrams of each remaining run (a one-character run counts as itself) and
  English Snowball stems; the two questions must share at least one;
* procedure kinds (replace / renew / cancel, else a first application): they must be the same, because the
  same document with another procedure is another service;
* then the score is ``w · lexical + (1 - w) · cosine``: lexical is the Ochiai overlap of the content terms
  (|A∩B| / √(|A|·|B|)), cosine that of the embeddings. Failing either gate gives 0.

The weight and the threshold are ReviewSettings, chosen on the dev half of tests/review/data/curated_pairs.jsonl
(tests/review/measure_curated.py prints the figures).
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from qa_service.answer.text import stem

WORDS_FILE = Path(__file__).with_name("question_words.yaml")
_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[a-z0-9]+")


@dataclass
class Words:
    zh_generic: tuple[str, ...]  # longest first
    en_generic: frozenset[str]
    zh_kinds: tuple[tuple[str, str], ...]  # (word, kind), longest word first
    en_kinds: dict[str, str]  # stem → kind
    en_same: dict[str, str]


@lru_cache(maxsize=4)
def load_words(path: Path = WORDS_FILE) -> Words:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    zh_kinds = [(str(w), kind) for kind, v in data["kinds"].items() for w in v.get("zh", [])]
    en_kinds = {stem(str(w).lower()): kind for kind, v in data["kinds"].items() for w in v.get("en", [])}
    return Words(zh_generic=tuple(sorted(map(str, data["generic"]["zh"]), key=len, reverse=True)),
                 en_generic=frozenset(str(w).lower() for w in data["generic"]["en"]),
                 zh_kinds=tuple(sorted(zh_kinds, key=lambda x: len(x[0]), reverse=True)),
                 en_kinds=en_kinds, en_same={str(k): str(v) for k, v in (data.get("en_same") or {}).items()})


@dataclass(frozen=True)
class Features:
    terms: frozenset[str]
    kinds: frozenset[str]


@lru_cache(maxsize=8192)
def features(text: str) -> Features:
    """The content terms and procedure kinds of a question."""
    w = load_words()
    low = unicodedata.normalize("NFKC", text).lower().replace("'", "").replace("’", "")
    kinds: set[str] = set()
    for word, kind in w.zh_kinds:
        if word in low:
            kinds.add(kind)
            low = low.replace(word, " ")
    for word in w.zh_generic:
        low = low.replace(word, " ")
    terms: set[str] = set()
    for run in _HAN_RUN.findall(low):
        terms.update([run] if len(run) == 1 else (run[i:i + 2] for i in range(len(run) - 1)))
    for token in _WORD.findall(_HAN_RUN.sub(" ", low)):
        if token in w.en_generic:
            continue
        s = stem(w.en_same.get(token, token))
        if s in w.en_kinds:
            kinds.add(w.en_kinds[s])
        else:
            terms.add(s)
    return Features(frozenset(terms), frozenset(kinds))


def lexical(a: Features, b: Features) -> float:
    """Ochiai overlap of the content terms, 0 when the procedure kinds differ or nothing is shared."""
    if a.kinds != b.kinds or not a.terms or not b.terms:
        return 0.0
    return len(a.terms & b.terms) / math.sqrt(len(a.terms) * len(b.terms))


def same_service_score(question: str, variant: str, cosine: float, lexical_weight: float) -> float:
    """0..1; 0 unless the two share a content term and the procedure kind."""
    lex = lexical(features(question), features(variant))
    if lex <= 0.0:
        return 0.0
    return lexical_weight * lex + (1.0 - lexical_weight) * max(0.0, min(1.0, cosine))
