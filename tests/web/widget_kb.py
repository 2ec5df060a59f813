"""A small project-written knowledge folder for the widget tests: a fee table, bullet and numbered lists,
English and Chinese FAQ sheets, an internal note, an expired page, and the department's contact data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

TENANT = "river"
CATALOG = """
tenant: river
department: River Town Permits Office
tenant_profile:
  name_zh: 河镇市民服务中心
  name_en: River Town Service Centre
  phone: 0571-5550 2000
  address: 河镇集市街12号 / 12 Market Street, River Town
  hours: 周一至周五 9:00—17:00 / Mon-Fri 9:00-17:00
  hotline: "12345"
defaults: {visibility: public}
sources:
  - file: fees.md
    title: Permit fees
    url: https://river.example/fees
  - file: renew.md
    title: Renewing a parking permit
    url: https://river.example/renew
  - file: faq-en.csv
    title: Permit questions
  - file: faq-zh.csv
    title: 许可证常见问题
  - file: waiver-notes.txt
    title: Counter waiver notes
    visibility: internal
  - file: old-fees.md
    title: Old visitor fees
    expiry_date: 2020-12-31
"""
FEES = """# Permit fees

## Fee table
| Item | Fee | Notes |
| --- | --- | --- |
| Resident parking permit | 40 dollars a year | first car |
| Temporary visitor permit | 5 dollars a day | up to 14 days |
| Replacement permit | 10 dollars | lost or damaged |
"""
RENEW = """# Renewing a parking permit

## When to renew
- Renew your parking permit in the 30 days before it expires.
- An expired parking permit can still be renewed for up to 60 days after expiry.

## What to bring
1. Your current parking permit.
2. Proof of address dated in the last three months.
"""
FAQ_EN = ("question,answer\n"
          "Can I pay for a parking permit online?,Yes. Parking permits can be paid online with a bank card.\n"
          "Where is the permit office?,The permit office is at 12 Market Street on the ground floor.\n")
FAQ_ZH = "问题,答案\n停车许可证可以网上缴费吗？,可以，在镇政府网站用银行卡缴费。\n许可证办公室在哪里？,在集市街12号一楼。\n"
WAIVER = "Counter staff may waive the replacement permit fee for residents over 80 after checking their ID."
OLD = "# Old visitor fees\nIn 2019 a temporary visitor permit cost 3 dollars a day."


def write_river(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in (("catalog.yaml", CATALOG), ("fees.md", FEES), ("renew.md", RENEW), ("faq-en.csv", FAQ_EN),
                       ("faq-zh.csv", FAQ_ZH), ("waiver-notes.txt", WAIVER), ("old-fees.md", OLD)):
        (root / name).write_text(text, encoding="utf-8")
    return root


def river_services(make_services: Any, root: Path, **overrides: Any) -> Any:
    """Services with the river folder registered (its tenant_profile) and ingested, the default tenant."""
    from qa_service import tenants
    from qa_service.ingest.pipeline import run_ingest

    svc = make_services(**overrides)
    folder = write_river(root / "river-kb")
    with svc.db.session() as s:
        tenants.ensure(s, TENANT, tenants.profile_from_catalog(folder))
    run_ingest(svc, [folder], TENANT, publish=True)
    svc.settings.server.default_tenant = TENANT
    return svc
