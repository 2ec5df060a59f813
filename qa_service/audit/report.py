"""The periodic audit report: decisions by status, blocked attempts by kind, review throughput and SLA,
KB changes, actions per user. Markdown for people, CSV for spreadsheets."""

from __future__ import annotations

import csv
import datetime as dt
import io
import statistics
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qa_service.audit.trail import verify
from qa_service.db.models import AnswerRecord, AuditEvent, ReviewItem


def build(session: Session, since: dt.date, tenant: str | None = None, heads_file: Path | None = None,
          exported_head: dict[str, Any] | None = None) -> dict[str, Any]:
    """The report's figures; the chain is verified in full (every break listed), against ``heads_file`` if given.
    ``exported_head`` is the head exported with this report, shown in it."""
    start = dt.datetime.combine(since, dt.time())
    answers = select(AnswerRecord.decision).where(AnswerRecord.created_at >= start)
    events = select(AuditEvent).where(AuditEvent.at >= start)
    items = select(ReviewItem).where(ReviewItem.created_at >= start)
    if tenant:
        answers = answers.where(AnswerRecord.tenant == tenant)
        events = events.where(AuditEvent.tenant == tenant)
        items = items.where(ReviewItem.tenant == tenant)
    decisions = Counter(d for (d,) in session.execute(answers))
    ev = list(session.scalars(events.order_by(AuditEvent.id)))
    blocked = Counter(e.decision for e in ev if e.action in ("ask.blocked", "ask.refused"))
    for d, n in decisions.items():  # blocked answers recorded without an audit row of their own
        if d.startswith("blocked") and blocked.get(d, 0) < n:
            blocked[d] = n
    its = list(session.scalars(items))
    resolved = [i for i in its if i.resolved_at]
    hours = [(i.resolved_at - i.created_at).total_seconds() / 3600 for i in resolved if i.resolved_at]
    within = sum(1 for i in resolved if i.resolved_at and i.resolved_at <= i.sla_due)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    review = {
        "created": len(its), "resolved": len(resolved), "open": len(its) - len(resolved),
        "by_state": dict(Counter(i.state for i in its)), "by_kind": dict(Counter(i.kind for i in its)),
        "median_hours_to_resolve": round(statistics.median(hours), 2) if hours else None,
        "resolved_within_sla": round(within / len(resolved), 4) if resolved else None,
        "open_overdue": sum(1 for i in its if not i.resolved_at and i.sla_due < now),
    }
    kb = [{"at": e.at.isoformat(timespec="seconds"), "tenant": e.tenant, "action": e.action, "target": e.target,
           "actor": e.actor} for e in ev if e.action.startswith(("kb.", "ingest."))]
    per_user = Counter((e.actor, e.action) for e in ev)
    chain = verify(session, heads_file)
    return {"since": since.isoformat(), "tenant": tenant, "decisions": dict(decisions), "blocked": dict(blocked),
            "review": review, "kb_changes": kb,
            "actions_per_user": [{"actor": a, "action": act, "count": n} for (a, act), n in sorted(per_user.items())],
            "audit_chain": {**chain.as_dict(), "exported_head": exported_head}}


def to_markdown(r: dict[str, Any]) -> str:
    title = f"# Audit report since {r['since']}" + (f", tenant {r['tenant']}" if r["tenant"] else ", all tenants")
    lines = [title, "", *_chain_lines(r["audit_chain"]), "", "## Decisions by status", "", "| status | answers |",
             "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in sorted(r["decisions"].items())] or ["| (none) | 0 |"]
    lines += ["", "## Blocked or refused attempts", "", "| kind | count |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in sorted(r["blocked"].items())] or ["| (none) | 0 |"]
    rv = r["review"]
    lines += ["", "## Review queue", "", f"- created {rv['created']}, resolved {rv['resolved']}, open {rv['open']} "
              f"(overdue {rv['open_overdue']})", f"- median hours to resolve: {rv['median_hours_to_resolve']}",
              f"- resolved within SLA: {rv['resolved_within_sla']}", f"- by state: {rv['by_state']}",
              f"- by kind: {rv['by_kind']}", "", "## Knowledge-base changes", "",
              "| at | tenant | action | target | by |", "|---|---|---|---|---|"]
    lines += [f"| {k['at']} | {k['tenant']} | {k['action']} | {k['target']} | {k['actor']} |" for k in r["kb_changes"]]
    lines += ["", "## Actions per user", "", "| actor | action | count |", "|---|---|---|"]
    lines += [f"| {u['actor']} | {u['action']} | {u['count']} |" for u in r["actions_per_user"]]
    return "\n".join(lines) + "\n"


def _chain_lines(chain: dict[str, Any]) -> list[str]:
    state = "intact" if chain["ok"] else f"BROKEN, {len(chain['breaks'])} breaks"
    lines = [f"Audit chain: {state} ({chain['rows']} rows: {chain['keyed']} signed, {chain['unkeyed']} unkeyed "
             f"from before keys; {chain['heads_checked']} exported heads checked)."]
    lines += [f"- row {b['id']}: {b['problem']}" for b in chain["breaks"]]
    head = chain.get("exported_head")
    if head:
        lines.append(f"Head exported with this report: row {head['id']}, hash {head['hash']}, {head['rows']} rows, "
                     f"at {head['exported_at']}.")
    return lines


def to_csv(r: dict[str, Any]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["section", "key", "value"])
    chain = r["audit_chain"]
    w.writerow(["audit_chain", "ok", chain["ok"]])
    w.writerow(["audit_chain", "rows", chain["rows"]])
    w.writerow(["audit_chain", "heads_checked", chain["heads_checked"]])
    for b in chain["breaks"]:
        w.writerow(["audit_break", b["id"], b["problem"]])
    for k, v in sorted(r["decisions"].items()):
        w.writerow(["decision", k, v])
    for k, v in sorted(r["blocked"].items()):
        w.writerow(["blocked", k, v])
    for k, v in r["review"].items():
        w.writerow(["review", k, v])
    for k in r["kb_changes"]:
        w.writerow(["kb_change", f"{k['at']} {k['tenant']} {k['action']}", k["target"]])
    for u in r["actions_per_user"]:
        w.writerow(["user_action", f"{u['actor']} {u['action']}", u["count"]])
    return buf.getvalue()


def write(r: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"audit-{r['since']}" + (f"-{r['tenant']}" if r["tenant"] else "")
    md, cs = out_dir / f"{stem}.md", out_dir / f"{stem}.csv"
    md.write_text(to_markdown(r), encoding="utf-8")
    cs.write_text(to_csv(r), encoding="utf-8")
    return md, cs
