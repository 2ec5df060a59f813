"""Source metadata: catalog.yaml beside the files, front matter, then defaults."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

log = logging.getLogger(__name__)
CATALOG_NAME = "catalog.yaml"
META_KEYS = (
    "title", "department", "url", "language", "visibility", "effective_date", "expiry_date", "owner", "contact",
    "jurisdiction", "office", "issue_date",  # where it applies (qa_service/place.py); detected when not given
    "supersedes",  # the source id of the older notice this one replaces (never cited while this one is held)
)


class CatalogError(ValueError):
    """A catalog.yaml that cannot be used; the message names the file and the problem."""


@dataclass
class Catalog:
    """The catalog of one folder: defaults plus per-file entries."""

    folder: Path
    defaults: dict[str, Any] = field(default_factory=dict)
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    tenant: str | None = None

    def meta_for(self, path: Path) -> dict[str, Any]:
        try:
            rel = path.resolve().relative_to(self.folder.resolve()).as_posix()
        except ValueError:
            rel = path.name
        out = dict(self.defaults)
        out.update(self.entries.get(rel) or self.entries.get(path.name) or {})
        return out


def load_catalog(folder: Path) -> Catalog | None:
    """Read ``folder/catalog.yaml`` if present."""
    path = folder / CATALOG_NAME
    if not path.is_file():
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise CatalogError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise CatalogError(f"{path}: must be a mapping with 'sources'")
    defaults = {k: v for k, v in (data.get("defaults") or {}).items() if k in META_KEYS}
    for key in ("department", "owner", "contact"):
        if data.get(key) is not None:
            defaults.setdefault(key, data[key])
    entries: dict[str, dict[str, Any]] = {}
    for i, item in enumerate(data.get("sources") or []):
        if not isinstance(item, dict) or "file" not in item:
            raise CatalogError(f"{path}: sources[{i}] needs a 'file' key")
        entries[str(item["file"])] = {k: v for k, v in item.items() if k in META_KEYS or k == "source_id"}
    return Catalog(folder=folder, defaults=defaults, entries=entries, tenant=data.get("tenant"))


def parse_date(value: object) -> dt.date | None:
    """Accept dates, ISO strings and yyyymmdd; None/empty stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    for fmt in ("%Y-%m-%d", "%Y%m%d", "%Y/%m/%d", "%Y年%m月%d日"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise CatalogError(f"unreadable date {text!r} (use YYYY-MM-DD)")


def date_int(value: dt.date | None, default: int) -> int:
    """A date as yyyymmdd for range filters in the vector store."""
    return value.year * 10000 + value.month * 100 + value.day if value else default
