"""Recall and false positives of the one PII detector (qa_service/guard/pii.py) in its guard mode.

``python -m eval.pii_recall [--out DIR]``. Reads ../shared/eval-data at run time (nothing from it is stored in
the repository); every set is split into dev and test halves by a hash of its record id (sha256, even = dev),
rules are tuned on dev only, and both halves are reported with their gap.

Sets (recall = the value no longer appears in the redacted text):
- ``issue formats``: the formats issue 14 lists, generated here with a fixed seed (spaced resident IDs, dotted
  mobiles, international numbers, HKIDs, obfuscated e-mail, a Chinese name after a cue with a street address).
- ``multipriv-zh`` / ``multipriv-en``: MultiPriv's synthetic person records, their paragraph as the text.
- ``presidio``: presidio-research's sentence templates filled with Faker (en_US, fixed seed); record id =
  template number, so a template's sentences all fall in one half.
- ``phones intl``: Faker phone numbers of 12 locales in a project-written sentence.
- ``stdnum-cn``: python-stdnum's resident-ID vectors (valid and invalid), in a project-written question.

False positives (guard mode, share of benign questions changed at all, with examples) on COUGH queries, LeCoQA
dev questions and knowledge/questions.jsonl; and the ingest mode's findings on LeCoQA's statutes.
Needs ``faker`` (a dev tool here, not a service dependency).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from eval.data import eval_data_dir
from qa_service.guard.pii import find, hkid_check_digit, redact

DATA = eval_data_dir()
SEED = 20261124
REPO = Path(__file__).resolve().parents[1]

Record = tuple[str, str, list[tuple[str, str]]]  # (record id, text, [(kind, value)])


def half(record_id: str) -> str:
    """``dev`` or ``test``, by the record id's sha256."""
    return "dev" if int(hashlib.sha256(record_id.encode("utf-8")).hexdigest()[:8], 16) % 2 == 0 else "test"


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            yield json.loads(line)


# --- sets ------------------------------------------------------------------------------------------------------

def _cn_id(rng: random.Random, valid: bool = True) -> str:
    from stdnum.cn import ric

    body = f"{rng.choice(['110105', '310104', '440305', '510107', '330106'])}{rng.randint(1950, 2005)}" \
           f"{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    check = ric.calc_check_digit(body)
    if not valid:
        check = "0" if check != "0" else "1"
    return body + check


def issue_formats(n: int = 400) -> list[Record]:
    rng = random.Random(SEED)
    names = ["张伟", "李娜", "王芳", "刘洋", "陈静", "欧阳明", "赵子轩", "孙丽"]
    roads = ["建国路", "中山路", "解放大街", "人民大道", "文三路", "长安街", "淮海中路", "南京西路"]
    cities = ["北京市朝阳区", "上海市徐汇区", "浙江省杭州市西湖区", "广东省深圳市南山区", ""]
    out: list[Record] = []
    for i in range(n):
        rid = f"issue:{i}"
        kind = i % 7
        if kind == 0:
            v = _cn_id(rng, valid=rng.random() < 0.7)
            spaced = rng.choice([f"{v[:6]} {v[6:10]} {v[10:14]} {v[14:]}", f"{v[:6]} {v[6:14]} {v[14:]}",
                                 f"{v[:6]}-{v[6:14]}-{v[14:]}", v])
            out.append((rid, f"我的身份证号是{spaced}，丢了怎么补办？", [("CN_ID", spaced)]))
        elif kind == 1:
            body = f"1{rng.choice('3456789')}{rng.randint(0, 9)}"
            a, b = f"{rng.randint(0, 9999):04d}", f"{rng.randint(0, 9999):04d}"
            sep = rng.choice([".", " ", "-", ""])
            v = rng.choice(["", "+86 ", "+86-"]) + f"{body}{sep}{a}{sep}{b}"
            out.append((rid, f"我的手机号{v}，收不到验证码怎么办？", [("CN_MOBILE", v)]))
        elif kind == 2:
            v = rng.choice(["+44 20 7946 0{:03d}", "+44 7700 900{:03d}", "+1 202-555-0{:03d}",
                            "+852 9123 4{:03d}", "+49 30 1234{:03d}", "+61 2 9876 5{:03d}",
                            "+33 1 42 68 5{:03d}"]).format(rng.randint(0, 999))
            out.append((rid, f"You can reach me on {v} if anything is missing.", [("PHONE", v)]))
        elif kind == 3:
            letters = rng.choice(["A", "B", "C", "K", "Y", "AB", "XA"])
            digits = f"{rng.randint(0, 999999):06d}"
            check = hkid_check_digit(letters, digits) if rng.random() < 0.7 else str(rng.randint(0, 9))
            v = rng.choice([f"{letters}{digits}({check})", f"{letters}{digits} ({check})"])
            out.append((rid, f"我的香港身份证{v}可以用来办理吗？", [("HK_ID", v)]))
        elif kind == 4:
            local = rng.choice(["li.si", "wang_fang", "zhang.wei88", "chen.jing", "j.smith"])
            dom = rng.choice(["example", "mail", "corp-mail"])
            v = rng.choice([f"{local} (at) {dom} (dot) com", f"{local}[at]{dom}[dot]com", f"{local} at {dom} dot com",
                            f"{local}@{dom}.com", f"{local} AT {dom} DOT org"])
            out.append((rid, f"请把结果发到 {v}，谢谢。", [("EMAIL", v)]))
        elif kind == 5:
            name = rng.choice(names)
            unit = f"{rng.randint(1, 30)}栋{rng.randint(1, 6)}单元{rng.randint(101, 2805)}室"
            addr = f"{rng.choice(roads)}{rng.randint(1, 999)}号" + rng.choice(["", unit, f"{rng.randint(101, 2805)}室"])
            cue = rng.choice(["我叫", "姓名：", "我的名字是", "本人"])
            text = f"{cue}{name}，住在{rng.choice(cities)}{addr}，想办理居住证需要什么材料？"
            out.append((rid, text, [("NAME", name), ("ADDRESS", addr)]))
        else:
            name = rng.choice(["John Smith", "Mary Jones", "Ahmed Khan", "Li Wei"])
            addr = f"{rng.randint(1, 9999)} {rng.choice(['Oak', 'Maple', 'High', 'Station', 'Church'])} " \
                   f"{rng.choice(['Street', 'Road', 'Avenue', 'Lane', 'Drive'])}"
            out.append((rid, f"My name is {name} and I live at {addr}. How do I renew my permit?",
                        [("NAME", name), ("ADDRESS", addr)]))
    return out


def multipriv(lang: str, data: Path = DATA) -> list[Record]:
    name = "LLM_data_person_1000_zh.json" if lang == "zh" else "LLM_data_person_1000.json"
    rows = json.loads((data / "pii-multipriv-zh" / name).read_text(encoding="utf-8"))
    keys = {"CN_ID": "idCardNumbers", "PHONE": "phoneNumbers", "EMAIL": "emailAddress", "ADDRESS": "location",
            "NAME": "name"}
    out: list[Record] = []
    for i, r in enumerate(rows):
        text = str(r.get("naturalParagraph") or "")
        values = [(k, str(r.get(f) or "").strip()) for k, f in keys.items()]
        out.append((f"multipriv-{lang}:{i}", text, [(k, v) for k, v in values if v and v in text]))
    return out


def presidio(n: int = 1500, data: Path = DATA) -> list[Record]:
    from faker import Faker

    fake = Faker("en_US")
    Faker.seed(SEED)
    rng = random.Random(SEED)
    path = data / "pii-presidio-research" / "presidio_evaluator_data_generator_raw_data_templates.txt"
    templates = [t.strip() for t in path.read_text(encoding="utf-8").splitlines() if t.strip()]
    makers = {
        "phone_number": ("PHONE", fake.phone_number), "email": ("EMAIL", fake.email),
        "credit_card_number": ("BANK_CARD", fake.credit_card_number), "iban": ("IBAN", fake.iban),
        "ssn": ("US_SSN", fake.ssn), "address": ("ADDRESS", lambda: fake.address().replace("\n", ", ")),
        "street_name": ("STREET", fake.street_name), "person": ("NAME", fake.name), "name": ("NAME", fake.name),
        "first_name": ("FIRST_NAME", fake.first_name), "last_name": ("LAST_NAME", fake.last_name),
    }
    slot = re.compile(r"\{\{(\w+)\}\}")
    usable = [(i, t) for i, t in enumerate(templates) if any(s in makers for s in slot.findall(t))]
    out: list[Record] = []
    for k in range(n):
        ti, t = rng.choice(usable)
        values: list[tuple[str, str]] = []

        def fill(m: re.Match[str], values: list[tuple[str, str]] = values) -> str:
            key = m.group(1)
            if key in makers:
                kind, make = makers[key]
                v = str(make())
                values.append((kind, v))
                return v
            return str(getattr(fake, key)()) if hasattr(fake, key) else "Springfield"

        out.append((f"presidio:{ti}", slot.sub(fill, t), values))
        del k
    return out


def phones_intl(n: int = 600) -> list[Record]:
    from faker import Faker

    locales = ["en_US", "en_GB", "de_DE", "fr_FR", "ja_JP", "zh_CN", "zh_TW", "en_IN", "pt_BR", "es_ES", "it_IT",
               "en_AU"]
    fake = Faker(locales)
    Faker.seed(SEED)
    out: list[Record] = []
    for i in range(n):
        loc = locales[i % len(locales)]
        v = fake[loc].phone_number()
        out.append((f"phone:{loc}:{i}", f"Please call me back on {v} about my application.", [("PHONE", v)]))
    return out


def stdnum_cn(data: Path = DATA) -> list[Record]:
    path = data / "pii-python-stdnum-cn" / "test_cn_ric.doctest"
    found = re.findall(r"ric\.\w+\('([0-9]{17}[0-9Xx])'\)", path.read_text(encoding="utf-8"))
    return [(f"stdnum:{v}", f"我的身份证号是{v}，丢了怎么补办？", [("CN_ID", v)]) for v in dict.fromkeys(found)]


def benign(data: Path = DATA) -> dict[str, list[tuple[str, str]]]:
    with (data / "cough-user-queries" / "data_User_Query_Bank.csv").open(encoding="utf-8-sig") as fh:
        cough = [(f"cough:{i}", r["query"]) for i, r in enumerate(csv.DictReader(fh)) if r.get("query")]
    lecoqa = [(f"lecoqa:{r.get('qid', i)}", r["query"])
              for i, r in enumerate(_jsonl(data / "lecoqa-zh-legal" / "queries_dev.jsonl"))]
    kq = REPO / "knowledge" / "questions.jsonl"
    sample = [(f"kb:{i}", r["question"]) for i, r in enumerate(_jsonl(kq))] if kq.is_file() else []
    return {"COUGH queries": cough, "LeCoQA dev questions": lecoqa, "knowledge/questions.jsonl": sample}


# --- scoring ---------------------------------------------------------------------------------------------------

def recall(records: list[Record]) -> dict[str, dict[str, Any]]:
    """Per kind and half: [found, n]."""
    per: dict[str, dict[str, list[int]]] = {}
    for rid, text, values in records:
        red = redact(text)[0]
        h = half(rid)
        for kind, v in values:
            cell = per.setdefault(kind, {"dev": [0, 0], "test": [0, 0]})[h]
            cell[1] += 1
            cell[0] += _gone(kind, v, red)
    return {k: _rates(v) for k, v in sorted(per.items())}


def _gone(kind: str, value: str, redacted: str) -> bool:
    """Is the value gone? For an address, its street part must be gone (the town or district may stay)."""
    if kind == "ADDRESS":
        part = re.split(r"(?<=[省市区县])", value)[-1] if re.search(r"[\u4e00-\u9fff]", value) else \
            value.split(",")[0]
        return part.strip() not in redacted
    return value not in redacted


def _rates(cells: dict[str, list[int]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for h, (hit, n) in cells.items():
        out[h] = {"n": n, "rate": round(hit / n, 4) if n else None}
    d, t = out["dev"]["rate"], out["test"]["rate"]
    out["gap"] = round(d - t, 4) if d is not None and t is not None else None
    return out


def false_positives(pools: dict[str, list[tuple[str, str]]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, rows in pools.items():
        cells = {"dev": [0, 0], "test": [0, 0]}
        kinds: dict[str, int] = {}
        examples: list[str] = []
        for rid, text in rows:
            red, found = redact(text)
            cell = cells[half(rid)]
            cell[1] += 1
            if found:
                cell[0] += 1
                for m in found:
                    kinds[m.kind] = kinds.get(m.kind, 0) + 1
                if len(examples) < 8:
                    examples.append(f"{text[:160]} -> {red[:160]}")
        out[name] = {**_rates(cells), "kinds": kinds, "examples": examples}
    return out


def ingest_statutes(data: Path = DATA) -> dict[str, Any]:
    rows = list(_jsonl(data / "lecoqa-zh-legal" / "corpus.jsonl"))
    kinds: dict[str, int] = {}
    flagged = 0
    for r in rows:
        found = find(str(r.get("text") or ""), "ingest")
        flagged += bool(found)
        for m in found:
            kinds[m.kind] = kinds.get(m.kind, 0) + 1
    return {"n": len(rows), "statutes_with_findings": flagged, "kinds": kinds}


def run() -> dict[str, Any]:
    sets = {"issue formats": issue_formats(), "multipriv-zh": multipriv("zh"), "multipriv-en": multipriv("en"),
            "presidio (Faker en_US)": presidio(), "phones intl (Faker, 12 locales)": phones_intl(),
            "stdnum-cn vectors": stdnum_cn()}
    return {"recall": {name: recall(recs) for name, recs in sets.items()},
            "false_positives": false_positives(benign()), "ingest_on_statutes": ingest_statutes()}


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.1%}"


def render(r: dict[str, Any]) -> str:
    lines = ["# PII detector (guard mode): recall by kind, dev / test halves", "",
             "| set | kind | n dev | dev | n test | test | gap |", "|---|---|---|---|---|---|---|"]
    for name, kinds in r["recall"].items():
        for kind, v in kinds.items():
            lines.append(f"| {name} | {kind} | {v['dev']['n']} | {_pct(v['dev']['rate'])} | {v['test']['n']} | "
                         f"{_pct(v['test']['rate'])} | {_pct(v['gap'])} |")
    lines += ["", "## Benign questions changed by redaction", "", "| pool | n dev | dev | n test | test | kinds |",
              "|---|---|---|---|---|---|"]
    for name, v in r["false_positives"].items():
        lines.append(f"| {name} | {v['dev']['n']} | {_pct(v['dev']['rate'])} | {v['test']['n']} | "
                     f"{_pct(v['test']['rate'])} | {v['kinds']} |")
    for name, v in r["false_positives"].items():
        for ex in v["examples"]:
            lines.append(f"- {name}: {ex}")
    s = r["ingest_on_statutes"]
    lines += ["", f"Ingest mode on {s['n']} LeCoQA statutes: {s['statutes_with_findings']} with findings {s['kinds']}."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    r = run()
    text = render(r)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "pii_recall.md").write_text(text, encoding="utf-8")
        (args.out / "pii_recall.json").write_text(json.dumps(r, indent=1, ensure_ascii=False), encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
