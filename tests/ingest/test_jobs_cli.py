"""`qa ingest cancel JOB` and `qa worker --once`; `qa ingest PATH` still runs a job directly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from qa_service.cli import common
from qa_service.cli.main import app as cli_app
from qa_service.db.models import IngestJob
from qa_service.ingest import jobs

pytestmark = pytest.mark.integration


def test_cancel_and_worker_once(make_services: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    svc = make_services()
    monkeypatch.setitem(common._state, "services", svc)
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "pool.md").write_text("# Pool\nThe pool opens at seven.", encoding="utf-8")
    with svc.db.session() as s:
        keep, drop = (jobs.enqueue(s, "town", [folder], "erin", publish=True).id for _ in range(2))
    runner = CliRunner()
    res = runner.invoke(cli_app, ["ingest", "cancel", drop, "--actor", "ops", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["state"] == "cancelled"
    again = runner.invoke(cli_app, ["ingest", "cancel", drop])
    assert again.exit_code == 1 and "already ended" in again.output
    assert runner.invoke(cli_app, ["ingest", "cancel", keep, "--tenant", "city"]).exit_code == 1  # wrong tenant
    res = runner.invoke(cli_app, ["worker", "--once"])
    assert res.exit_code == 0 and "after 1 job(s)" in res.output, res.output
    with svc.db.session() as s:
        done = s.get(IngestJob, keep)
        assert done is not None and done.state == "succeeded" and done.publish and done.version == 1
    direct = runner.invoke(cli_app, ["ingest", str(folder), "--tenant", "town", "--json"])  # the default command
    assert direct.exit_code == 0 and json.loads(direct.stdout.strip().splitlines()[-1])["sources"]["unchanged"] == 1
