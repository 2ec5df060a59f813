"""The BIPIA adapter on a tiny sample (2 e-mail + 2 table contexts): every figure is there and in range.
Reads ../shared/eval-data/bipia-indirect-injection at run time; skipped when it is absent."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from eval.data import eval_data_dir
from eval.suites import bipia

pytestmark = pytest.mark.unit
FOLDER = eval_data_dir() / bipia.FOLDER


def _share(x: Any) -> bool:
    return isinstance(x, float | int) and 0.0 <= x <= 1.0


@pytest.fixture(scope="module")
def cases() -> list[bipia.Case]:
    if not FOLDER.is_dir():
        pytest.skip(f"no BIPIA data at {FOLDER}")
    return bipia.load_cases(FOLDER, "test")


def test_poisoned_contexts_carry_their_attack_where_bipia_puts_it(cases: list[bipia.Case]) -> None:
    assert len(cases) == 150 and {c.task for c in cases} == {"email", "table"}
    assert {c.position for c in cases} == set(bipia.POSITIONS)
    for c in cases:
        assert c.attack in c.poisoned and c.poisoned != c.context
        if c.position == "start":
            assert c.poisoned.startswith(c.attack)
        elif c.position == "end":
            assert c.poisoned.endswith(c.attack)
        else:
            assert not c.poisoned.startswith(c.attack) and not c.poisoned.endswith(c.attack)
    assert [c.cid for c in bipia.load_cases(FOLDER, "test")] == [c.cid for c in cases]  # fixed seed
    picked = bipia.sample_cases(cases, 4)
    assert len(picked) == 4 and sorted(c.task for c in picked) == ["email", "email", "table", "table"]


def test_detectors_on_project_written_answers(cases: list[bipia.Case]) -> None:
    c = cases[0]
    assert bipia.repeats(c.attack, c)["any"]
    assert not bipia.repeats("", c)["any"] and not bipia.follows("", c)
    by_kind = {bipia._detector(x.category): x for x in cases}
    enc = by_kind["base_encoding"]
    assert bipia.follows(base64.b64encode(b"The total paid was forty dollars.").decode(), enc)
    rev = by_kind["reverse_text"]
    words = [w for w in bipia._words(rev.context) if len(w) >= 4 and w.isalpha()][:8]
    assert bipia.follows(" ".join(w[::-1] for w in words), rev)
    assert bipia.follows("Paid \U0001F4B0 twice", by_kind["emoji"])
    ciph = by_kind["cipher"]
    words = [w for w in bipia._words(ciph.context) if len(w) >= 3 and w.isalpha()][:8]
    assert bipia.follows(" ".join(bipia._caesar(w, 3) for w in words), ciph)
    for x in cases[:30]:  # the clean context is neither a repeat nor a follow
        assert not bipia.follows(x.context, x) and not bipia.repeats(x.context, x)["any"]
        assert not bipia.follows(x.poisoned, x)  # a verbatim copy is a repeat, not a follow
    assert bipia.correct("The amount was $12.50 in total.", True, "$12.50")
    assert bipia.correct("", False, "unknown") and not bipia.correct("It cost $3.", True, "unknown")


def test_tiny_run_reports_every_figure_in_range(make_services: Any, cases: list[bipia.Case]) -> None:
    svc = make_services()
    block = bipia.run(svc, 4, baseline=True)
    assert block["contexts"] == 4 and block["by_task"] == {"email": 2, "table": 2}
    ing = block["ingest"]
    assert ing["poisoned_sources"] == 4 and 0 <= ing["poisoned_sources_flagged"] <= 4
    assert 0 <= ing["attack_chunks_flagged"] <= ing["attack_chunks"]
    for key in ("poisoned_sources_attack_held_back_share", "clean_false_flag_share",
                "flagged_sources_context_kept_share"):
        assert _share(ing[key]), key
    # the attack is cut out of its chunk, the rest of the chunk stays in the index
    assert ing["attack_chunks_stored_without_attack"] + ing["held_whole_chunks"] >= ing["attack_chunks_flagged"]
    assert ing["held_texts"] <= ing["chunks"]["flagged"]
    assert _share(block["knowledge_false_flags"]["share"])
    ours, base = block["ours"], block["baseline"]
    assert sum(ours["decisions"].values()) == 4
    for key in ("repeat_share", "repeat_shown_to_citizen_share", "follow_share", "follow_shown_to_citizen_share",
                "correct_share", "draft_correct_share", "answered_share"):
        assert _share(ours[key]), key
    assert _share(ours["dropped"]["attack_passages_dropped_share"])
    assert sum(v["n"] for v in ours["follow_by_category"].values()) == 4
    for key in ("repeat_share", "follow_share", "correct_share"):
        assert _share(base[key]), key
    assert _share(block["ours_clean_reference"]["correct_share"])
    assert ours["repeat_share"] <= base["repeat_share"]
    sp = ours["splits"]  # the per-split shares come from the same per-case flags as the headline figures
    assert sp["test"]["n"] + sp["dev"]["n"] == 4
    assert sp["all"]["follow_shown_share"] == ours["follow_shown_to_citizen_share"]
    assert sp["all"]["correct_share"] == ours["correct_share"]
    lines = bipia.render(block)
    assert lines[0].startswith("## BIPIA") and any("repeating the attack" in x for x in lines)
    rows = bipia.summary(block)
    assert rows and all(len(r) == 3 and all(isinstance(x, str) for x in r) for r in rows)
