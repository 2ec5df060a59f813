"""A small project-written knowledge folder used across tests (English and Chinese)."""

from __future__ import annotations

from pathlib import Path

CATALOG = """
tenant: town
department: Town Hall
defaults: {visibility: public}
sources:
  - file: parking.md
    title: Parking permits
    url: https://town.example/parking
  - file: staff-notes.txt
    title: Counter notes
    visibility: internal
  - file: old-fees.md
    title: Old fee table
    expiry_date: 2020-12-31
"""
PARKING = """---
title: ignored because the catalog wins
---
# Parking permits

## Who can apply
Residents whose car is registered at an address in the town centre can apply for a resident parking permit.

## Fees
A resident parking permit costs 40 dollars a year. A second car costs 80 dollars a year.
"""
STAFF = "Counter staff may waive the permit fee for disabled residents after checking the blue badge register."
OLD = "# Old fees\nIn 2019 a resident parking permit cost 25 dollars a year."
HUKOU = "# 户籍迁入\n\n## 办理材料\n办理户籍迁入需要提供居民户口簿、居民身份证和房屋产权证明。\n\n## 办理时限\n材料齐全的，窗口当场办结。"
FAQ_CSV = "问题,答案\n居住证丢了怎么办？,携带身份证到受理点申请补领，工本费20元。\n营业时间是几点？,工作日上午9点至下午5点。\n"


def write_folder(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "catalog.yaml").write_text(CATALOG, encoding="utf-8")
    (root / "parking.md").write_text(PARKING, encoding="utf-8")
    (root / "staff-notes.txt").write_text(STAFF, encoding="utf-8")
    (root / "old-fees.md").write_text(OLD, encoding="utf-8")
    (root / "hukou.md").write_text(HUKOU, encoding="utf-8")
    (root / "faq.csv").write_text(FAQ_CSV, encoding="utf-8")
    return root
