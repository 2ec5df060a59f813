"""The risk policy file: reason codes → levels, thresholds, sensitive topics, levels → routes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

DEFAULT_POLICY = Path(__file__).with_name("risk_policy.yaml")
LEVEL_ORDER = {"low": 0, "medium": 1, "high": 2}
_LATIN = re.compile(r"[A-Za-z]")


@lru_cache(maxsize=64)
def cue_pattern(cues: tuple[str, ...]) -> re.Pattern[str]:
    """One case-insensitive pattern for a cue list. A Latin cue is a whole word, plural allowed ("permit" matches
    "permits", not "permitted"; "form" does not match "information"); a Latin cue ending in ``*`` is a word
    start ("licen*": licence, license, licensing). A Chinese cue matches anywhere, so Chinese cues are words,
    not single characters ("法" would match 法国, 办法, 方法)."""
    parts = []
    for cue in cues:
        if _LATIN.search(cue):
            if cue.endswith("*"):
                parts.append(r"\b" + re.escape(cue[:-1]))
            else:
                parts.append(r"\b" + re.escape(cue) + r"(?:s|es)?\b")
        else:
            parts.append(re.escape(cue))
    return re.compile("|".join(parts) or r"(?!)", re.IGNORECASE)


@dataclass
class RiskPolicy:
    thresholds: dict[str, float]
    levels: dict[str, str]
    routes: dict[str, str]
    sample_rate_medium: float
    topics: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    scope_cues: dict[str, list[str]] = field(default_factory=dict)

    def about_public_services(self, tenant: str, text: str) -> bool:
        """True when the text carries one of the tenant's public-service cues (or the tenant has none). Only
        consulted for questions already far from the knowledge (answer/steps/route.py)."""
        cues = self.scope_cues.get(tenant) or self.scope_cues.get("default") or []
        return not cues or cue_pattern(tuple(cues)).search(text) is not None

    def level_for(self, reasons: list[str]) -> str:
        level = "low"
        for r in reasons:
            lv = self.levels.get(r.split(":", 1)[0], "low")
            if LEVEL_ORDER[lv] > LEVEL_ORDER[level]:
                level = lv
        return level

    def topics_for(self, tenant: str) -> dict[str, list[str]]:
        return self.topics.get(tenant) or self.topics.get("default", {})


def load_policy(path: Path | None = None) -> RiskPolicy:
    data: dict[str, Any] = yaml.safe_load((path or DEFAULT_POLICY).read_text(encoding="utf-8"))
    for key in ("thresholds", "levels", "routes"):
        if not isinstance(data.get(key), dict):
            raise ValueError(f"risk policy needs a '{key}' mapping")
    shares = {k: v for k, v in data["thresholds"].items() if str(k).startswith("scope_min_")}
    if any(not 0.0 <= float(v) <= 1.0 for v in shares.values()):
        raise ValueError(f"risk policy: scope thresholds must lie in [0, 1], got {shares}")
    bad = {v for v in data["levels"].values() if v not in LEVEL_ORDER}
    if bad:
        raise ValueError(f"risk policy: unknown levels {sorted(bad)}")
    return RiskPolicy(
        thresholds={k: float(v) for k, v in data["thresholds"].items()},
        levels=dict(data["levels"]),
        routes=dict(data["routes"]),
        sample_rate_medium=float(data.get("sample_rate_medium", 0.2)),
        topics=data.get("topics") or {},
        scope_cues=data.get("scope_cues") or {},
    )
