"""`qa ask`: one question, or a JSONL file of them (models load once)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.progress import Progress

from qa_service.cli.common import console, emit_json, fail, get_services


def ask(
    question: str | None = typer.Argument(None, help="The question (omit with --file)."),
    tenant: str = typer.Option(..., "--tenant", "-t"),
    channel: str = typer.Option("citizen", "--channel", help="citizen (public knowledge only) or staff."),
    file: Path | None = typer.Option(None, "--file", "-f", help='JSONL: {"qid": ..., "question": ...} per line.'),
    lang: str | None = typer.Option(None, "--lang", help="zh or en (default: detected)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Answer from the tenant's live knowledge, with citations and a risk label."""
    from qa_service.answer.service import ask as run_ask

    if channel not in ("citizen", "staff"):
        fail("--channel must be citizen or staff", as_json=as_json)
    if (question is None) == (file is None):
        fail("give a question or --file, not both", as_json=as_json)
    services = get_services()
    if file is None:
        _, out = run_ask(services, question or "", tenant, channel, lang)
        if as_json:
            emit_json(out)
        else:
            console.print(f"[bold]{out['decision']}[/bold] risk={out['risk']['level']} {out['risk']['reasons']}")
            console.print(out["answer"])
            for c in out["citations"]:
                console.print(f"  [{c['n']}] {c['title']} › {c['heading'] or ''} ({c['chunk_id']})")
        return
    if not file.is_file():
        fail(f"no such file: {file}", as_json=as_json)
    lines = [ln for ln in file.read_text(encoding="utf-8").splitlines() if ln.strip()]
    with Progress(console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task("ask", total=len(lines))
        for i, line in enumerate(lines, 1):
            try:
                item = json.loads(line)
                q = str(item["question"])
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                emit_json({"line": i, "error": f"bad input line: {exc}"})
                continue
            _, out = run_ask(services, q, item.get("tenant") or tenant, item.get("channel") or channel,
                             item.get("lang") or lang, qid=item.get("qid"))
            emit_json(out)
            bar.advance(task)
