"""Shared CLI plumbing: settings/services from the global options, JSON output, error exit.

Nothing heavy at import time: every command module imports only typer/rich at the top, so `qa --help` and the
commands that need no model (`qa kb list`, `qa audit verify`, an unchanged re-ingest) never import one; the
services (and through them the models) are built on first use (tests/cli/test_cold_start.py)."""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.console import Console

if TYPE_CHECKING:
    from qa_service.services import Services

console = Console(stderr=True)
_state: dict[str, Any] = {"config": None, "services": None}


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s level=%(levelname)s logger=%(name)s %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("httpx", "sentence_transformers", "urllib3", "alembic", "transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def get_services() -> Services:
    """Build (once per process) the services from the settings tree."""
    if _state["services"] is None:
        from qa_service.services import Services
        from qa_service.settings import load_settings

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        settings = load_settings(_state["config"])
        setup_logging(os.environ.get("QA_LOG_LEVEL", "WARNING"))
        _state["services"] = Services(settings)
    services: Services = _state["services"]
    return services


def emit_json(obj: Any) -> None:
    """One JSON object on stdout."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def fail(message: str, code: int = 1, as_json: bool = False) -> NoReturn:
    """Report an error clearly and exit non-zero."""
    if as_json:
        emit_json({"error": message})
    else:
        console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def cli_actor(label: str | None = None) -> str:
    """Who a command-line action is recorded as: the real OS user as ``local:<user>`` (``--actor NAME`` can only add
    a label, ``local:<user> as NAME``; it can never replace the user the trail records)."""
    from qa_service.cli.people import local_operator

    who = local_operator()
    return f"{who} as {label}"[:100] if label else who
