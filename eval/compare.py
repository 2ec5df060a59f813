"""Two evaluation reports side by side: every numeric figure of the configured generator (e.g. a department's
own model behind an OpenAI-compatible endpoint) beside the extractive default on the same suites and questions.

    qa eval --suite kenya_faq --side-by-side     # with QA_GENERATE__BACKEND=llm and QA_LLM__BASE_URL set
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def numeric_leaves(obj: Any, prefix: str = "") -> dict[str, float]:
    """``{"a": {"b": 0.5, "c": [1, 2]}}`` → ``{"a.b": 0.5}``: the figures of a report (lists are per-question
    detail, not figures)."""
    out: dict[str, float] = {}
    if isinstance(obj, dict):
        for key, value in obj.items():
            out.update(numeric_leaves(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(obj, bool):
        return out
    elif isinstance(obj, int | float):
        out[prefix] = float(obj)
    return out


def side_by_side(configured: dict[str, Any], extractive: dict[str, Any], label: str) -> str:
    """A Markdown table of every figure both reports have, per suite."""
    lines = [f"# {label} beside the extractive default", "",
             "Same suites, same questions, same knowledge; only the generator differs.", ""]
    for suite in sorted(set(configured.get("suites", {})) & set(extractive.get("suites", {}))):
        a = numeric_leaves(configured["suites"][suite])
        b = numeric_leaves(extractive["suites"][suite])
        keys = [k for k in a if k in b]
        if not keys:
            continue
        lines += [f"## {suite}", "", f"| figure | {label} | extractive | difference |", "|---|---|---|---|"]
        lines += [f"| {k} | {a[k]:.4g} | {b[k]:.4g} | {a[k] - b[k]:+.4g} |" for k in keys]
        lines.append("")
    return "\n".join(lines)


def write_side_by_side(configured: dict[str, Any], extractive: dict[str, Any], label: str, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / "side-by-side.md"
    path.write_text(side_by_side(configured, extractive, label) + "\n", encoding="utf-8")
    return path
