"""Issue 14 item 3: `qa tenants list|add`, `qa ingest` into a new tenant registers it, bootstrap registers the
sample tenants with the contact data of their catalog's tenant_profile block. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from qa_service.bootstrap import bootstrap_samples
from qa_service.cli import common
from qa_service.cli.main import app
from qa_service.tenants import find
from tests.kbdata import write_folder

pytestmark = pytest.mark.integration
PROFILE = """tenant_profile:
  name_zh: 城镇服务中心
  name_en: Town Hall
  phone: 0571-5550 9000
  hours: Mon-Fri 9:00-17:00
"""


@pytest.fixture
def env(make_services: Any, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    svc = make_services(database_url=db_url)
    monkeypatch.setitem(common._state, "services", svc)
    runner = CliRunner()

    def qa(*args: str, code: int = 0) -> Any:
        res = runner.invoke(app, list(args))
        assert res.exit_code == code, (args, res.output, res.exception)
        return res

    return svc, qa


def _listed(qa: Any) -> dict[str, Any]:
    return {t["id"]: t for t in json.loads(qa("tenants", "list", "--json").stdout)["tenants"]}


def test_tenants_add_list_and_ingest_registers_a_new_tenant(env: Any, tmp_path: Path) -> None:
    _, qa = env
    assert _listed(qa) == {}
    folder = write_folder(tmp_path / "kb")
    (folder / "catalog.yaml").write_text(PROFILE + (folder / "catalog.yaml").read_text(encoding="utf-8"),
                                         encoding="utf-8")
    qa("ingest", str(folder), "--tenant", "town", "--publish")
    town = _listed(qa)["town"]
    assert town["registered"] and town["name_en"] == "Town Hall" and town["phone"] == "0571-5550 9000"
    assert town["hotline"] == "12345"  # the default
    qa("tenants", "add", "tax", "--name-zh", "税务局", "--hotline", "12366", "--phone", "0571-5550 2000")
    listed = _listed(qa)
    assert listed["tax"]["hotline"] == "12366" and listed["tax"]["active"]
    bad = qa("tenants", "add", "../tax", "--json", code=1)
    assert "malformed" in json.loads(bad.stdout)["error"]
    dup = qa("tenants", "add", "tax", code=1)
    assert "already registered" in dup.output
    assert "malformed" in qa("ingest", str(folder), "--tenant", "Bad Name", code=1).output


def test_bootstrap_registers_sample_tenants_with_their_profile(env: Any, tmp_path: Path) -> None:
    svc, _ = env
    root = tmp_path / "samples"
    folder = write_folder(root / "town")
    (folder / "catalog.yaml").write_text(PROFILE + (folder / "catalog.yaml").read_text(encoding="utf-8"),
                                         encoding="utf-8")
    svc.settings.server.sample_knowledge = str(root)
    assert bootstrap_samples(svc) == ["town"]
    with svc.db.session() as s:
        town = find(s, "town")
    assert town is not None and town.registered and town.name_zh == "城镇服务中心" and town.hours


@pytest.mark.unit
def test_the_shipped_catalogs_carry_a_tenant_profile() -> None:
    from qa_service.tenants import profile_from_catalog

    root = Path(__file__).resolve().parents[2] / "knowledge"
    for name in ("city", "tax"):
        profile = profile_from_catalog(root / name)
        assert {"name_zh", "name_en", "phone", "address", "hours", "hotline"} <= set(profile), name
