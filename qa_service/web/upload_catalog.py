"""Metadata typed into the upload form becomes the upload folder's catalog.yaml, the file the ingest pipeline
already reads for a folder (qa_service/ingest/catalog.py). A catalog.yaml uploaded with the files is kept and
the form's non-empty fields win over its entries for the same file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from qa_service.ingest.catalog import CATALOG_NAME, parse_date

FIELDS = ("title", "url", "visibility", "effective_date", "expiry_date", "department")
MAX_CHARS = {"title": 300, "url": 2000, "department": 200}


class UploadMetaError(ValueError):
    """Form metadata that cannot be used (422 at the edge); the message names the file and field."""


def parse_form(raw: str | None, names: dict[str, str]) -> dict[str, dict[str, str]]:
    """``raw`` is JSON ``{original file name: {field: value}}``; ``names`` maps original → stored names.
    Returns the checked fields by stored name (empty values dropped)."""
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise UploadMetaError(f"metadata is not JSON ({exc.msg})") from exc
    if not isinstance(data, dict):
        raise UploadMetaError("metadata must map file names to fields")
    out: dict[str, dict[str, str]] = {}
    for original, fields in data.items():
        stored = names.get(str(original))
        if stored is None:
            raise UploadMetaError(f"metadata names {original!r}, which is not among the uploaded files")
        if not isinstance(fields, dict):
            raise UploadMetaError(f"{original}: metadata must be an object of fields")
        out[stored] = _check(str(original), fields)
    return out


def _check(name: str, fields: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in fields.items():
        if key not in FIELDS:
            raise UploadMetaError(f"{name}: unknown field {key!r} (fields: {', '.join(FIELDS)})")
        text = "" if value is None else str(value).strip()
        if not text:
            continue
        if len(text) > MAX_CHARS.get(key, 40):
            raise UploadMetaError(f"{name}: {key} is longer than {MAX_CHARS.get(key, 40)} characters")
        if key == "url" and not text.lower().startswith(("http://", "https://")):
            raise UploadMetaError(f"{name}: url must start with http:// or https://")
        if key == "visibility" and text not in ("public", "internal"):
            raise UploadMetaError(f"{name}: visibility is public or internal, not {text!r}")
        if key.endswith("_date"):
            try:
                day = parse_date(text)
            except ValueError as exc:
                raise UploadMetaError(f"{name}: {key}: {exc}") from exc
            text = day.isoformat() if day else ""
        out[key] = text
    eff, exp = out.get("effective_date"), out.get("expiry_date")
    if eff and exp and exp < eff:
        raise UploadMetaError(f"{name}: expiry_date {exp} is before effective_date {eff}")
    return out


def write_catalog(folder: Path, form: dict[str, dict[str, str]], renamed: dict[str, str] | None = None
                  ) -> Path | None:
    """Merge ``form`` into ``folder/catalog.yaml`` (created when absent); an uploaded catalog's entries naming a
    file by the name it was uploaded under follow it to its stored name (``renamed``: original → stored).
    None when there is nothing to write."""
    path = folder / CATALOG_NAME
    moved = {k: v for k, v in (renamed or {}).items() if k != v}
    if not any(form.values()) and not (moved and path.is_file()):
        return None
    data: dict[str, Any] = {}
    if path.is_file():
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise UploadMetaError(f"{CATALOG_NAME}: not valid YAML ({exc})") from exc
        if not isinstance(data, dict):
            raise UploadMetaError(f"{CATALOG_NAME}: must be a mapping with 'sources'")
    sources = [s for s in (data.get("sources") or []) if isinstance(s, dict)]
    for item in sources:
        if str(item.get("file")) in moved:
            item["file"] = moved[str(item["file"])]
    by_file = {str(s.get("file")): s for s in sources}
    for stored, fields in form.items():
        if not fields:
            continue
        entry: dict[str, Any] | None = by_file.get(stored)
        if entry is None:
            entry = by_file[stored] = {"file": stored}
            sources.append(entry)
        entry.update(fields)
    data["sources"] = sources
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path
