"""Synthetic bilingual corpus for the benchmarks: fictional public-service rules in English and
Chinese, deterministic for a given seed. Nothing here is real guidance."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from qa_service.answer.courtesy import core
from qa_service.ingest.chunk import count_tokens

# (English, Chinese) pairs; every name is invented.
SERVICES = [
    ("residence permit", "居住证"), ("passport renewal", "护照换发"), ("business licence", "营业执照"),
    ("marriage registration", "婚姻登记"), ("housing subsidy", "住房补贴"), ("pension transfer", "养老保险转移"),
    ("driving licence", "驾驶证"), ("birth registration", "出生登记"), ("unemployment benefit", "失业保险金"),
    ("medical insurance card", "医保卡"), ("school enrolment", "入学登记"), ("vehicle registration", "机动车登记"),
    ("building permit", "建设工程许可"), ("tax refund", "个税退税"), ("disability allowance", "残疾人补贴"),
    ("household registration", "户口迁移"), ("food hygiene permit", "食品经营许可"), ("parking permit", "停车许可"),
    ("elderly care voucher", "养老服务券"), ("rental subsidy", "租房补贴"),
]
DISTRICTS = [
    ("Northbridge", "北桥区"), ("Lakeside", "湖滨区"), ("Eastfield", "东原区"), ("Riverton", "河屯区"),
    ("Harbourgate", "港门区"), ("Maple Hill", "枫山区"), ("Westmere", "西湄区"), ("Stonebrook", "石溪区"),
    ("Greenhollow", "青谷区"), ("Silverton", "银镇区"), ("Pinecrest", "松岭区"), ("Oakford", "橡浦区"),
]
DOCUMENTS = [
    ("identity card", "身份证"), ("proof of address", "住址证明"), ("two recent photographs", "近期照片两张"),
    ("the completed application form", "填写完整的申请表"), ("an employment contract", "劳动合同"),
    ("a tenancy agreement", "房屋租赁合同"), ("a bank statement", "银行流水"), ("a medical certificate", "体检证明"),
    ("the previous certificate", "原证件"), ("a household register", "户口簿"),
]
OFFICES = [
    ("the district service centre", "区政务服务中心"), ("the online service portal", "网上办事大厅"),
    ("the community office", "社区服务站"), ("the civil affairs bureau", "民政局窗口"),
    ("the social security office", "社保经办机构"), ("the public security counter", "公安服务窗口"),
]
GROUPS = [
    ("residents over 60", "六十岁以上居民"), ("students", "在校学生"), ("new arrivals", "新落户人员"),
    ("small business owners", "个体工商户"), ("families with children", "有子女的家庭"), ("veterans", "退役军人"),
]

EN_TEMPLATES = [
    "Applicants for a {svc} in {dist} must bring {doc} and {doc2} to {office}.",
    "The {svc} is normally processed within {days} working days after a complete application is received.",
    "A fee of {fee} yuan applies to the {svc}, but {group} are exempt from the fee.",
    "{office_cap} accepts {svc} applications from Monday to Friday, {open} to {close}.",
    "If {doc} is missing, the {svc} application is returned and may be submitted again within {days} days.",
    "Since {year}, {dist} residents can track a {svc} application through {office}.",
    "An urgent {svc} can be issued in {fast} working days for an extra fee of {fee2} yuan.",
    "The {svc} stays valid for {valid} years and must be renewed at least {notice} days before it expires.",
    "Appeals against a refused {svc} are heard by {office} within {days} days.",
    "{group_cap} may ask a family member to apply for the {svc} on their behalf with a signed authorisation.",
]
ZH_TEMPLATES = [
    "在{dist}申请{svc}，应当携带{doc}和{doc2}到{office}办理。",
    "{svc}一般在收到完整材料后{days}个工作日内办结。",
    "办理{svc}收取费用{fee}元，{group}免收费用。",
    "{office}受理{svc}的时间为周一至周五{open}至{close}。",
    "缺少{doc}的，{svc}申请将被退回，申请人可在{days}日内重新提交。",
    "自{year}年起，{dist}居民可以通过{office}查询{svc}办理进度。",
    "急需{svc}的，可在{fast}个工作日内加急办理，另收加急费{fee2}元。",
    "{svc}有效期为{valid}年，应当在到期前至少{notice}日申请续办。",
    "对不予办理{svc}决定不服的，可以向{office}申请复核，复核在{days}日内完成。",
    "{group}可以委托家庭成员代为申请{svc}，但须提交签字的委托书。",
]


def _fill(rng: random.Random, template: str, lang: str, svc: tuple[str, str], dist: tuple[str, str]) -> str:
    i = 0 if lang == "en" else 1
    doc, doc2 = rng.sample(DOCUMENTS, 2)
    office = rng.choice(OFFICES)[i]
    group = rng.choice(GROUPS)[i]
    values: dict[str, Any] = {
        "svc": svc[i], "dist": dist[i], "doc": doc[i], "doc2": doc2[i], "office": office,
        "office_cap": office[:1].upper() + office[1:], "group": group, "group_cap": group[:1].upper() + group[1:],
        "days": rng.choice([3, 5, 7, 10, 15, 20, 30]), "fee": rng.choice([0, 20, 50, 80, 120, 200]),
        "fee2": rng.choice([30, 60, 100]), "open": rng.choice(["8:30", "9:00"]),
        "close": rng.choice(["16:30", "17:00", "17:30"]), "year": rng.randint(2015, 2024),
        "fast": rng.choice([1, 2, 3]), "valid": rng.choice([1, 2, 3, 5, 10]), "notice": rng.choice([15, 30, 60]),
    }
    return template.format(**values)


def make_record(rng: random.Random, i: int, min_tokens: int = 100, max_tokens: int = 200) -> dict[str, Any]:
    """One corpus record ({doc_id, title, text}) of about ``min_tokens``-``max_tokens`` chunk tokens.

    45% English, 45% Chinese, 10% mixed (a Chinese record with English sentences, or vice versa).
    """
    svc, dist = rng.choice(SERVICES), rng.choice(DISTRICTS)
    roll = rng.random()
    lang = "en" if roll < 0.45 else "zh" if roll < 0.9 else rng.choice(["en", "zh"])
    mixed = roll >= 0.9
    target = rng.randint(min_tokens, max_tokens)
    sentences: list[str] = []
    tokens = 0
    while tokens < target:
        s_lang = lang if not mixed or rng.random() < 0.6 else ("zh" if lang == "en" else "en")
        tpl = rng.choice(EN_TEMPLATES if s_lang == "en" else ZH_TEMPLATES)
        sentence = _fill(rng, tpl, s_lang, svc, dist)
        n = count_tokens(sentence)
        if tokens + n > max_tokens and tokens >= min_tokens:
            break
        if tokens + n > max_tokens:  # keep within the budget: one chunk per record
            break
        sentences.append(sentence)
        tokens += n
    sep = " " if lang == "en" else ""
    title = f"{dist[0]} {svc[0]} rules" if lang == "en" else f"{dist[1]}{svc[1]}办理规定"
    return {"doc_id": f"bench-{i:06d}", "title": title, "text": sep.join(sentences)}


def write_corpus(path: Path, n: int, seed: int = 20240601) -> int:
    """Write ``n`` records to ``path`` (JSONL); returns the total chunk-token count."""
    rng = random.Random(seed)
    total = 0
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            rec = make_record(rng, i)
            total += count_tokens(rec["text"])
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return total


EN_QUESTIONS = [
    "How do I apply for a {svc} in {dist}?",
    "What documents do I need for a {svc}?",
    "How long does a {svc} take?",
    "How much does a {svc} cost for {group}?",
    "Can I get an urgent {svc}?",
    "When does a {svc} expire and how do I renew it?",
    "Where can {group} submit a {svc} application?",
]
ZH_QUESTIONS = [
    "在{dist}怎么办理{svc}？",
    "办理{svc}需要哪些材料？",
    "{svc}多久能办好？",
    "{group}办理{svc}要交多少钱？",
    "{svc}可以加急吗？",
    "{svc}有效期多久，怎么续办？",
    "{group}在哪里申请{svc}？",
]


# openers and closers citizens type around the same question, and who or what it is for: with them the templates
# give ~9k distinct questions per language even without the courtesy (the answer path searches and encodes the
# question without greetings and thanks, answer/courtesy.py), so a bench run never encodes a question twice (a
# repeated question reads its vector from the cache)
EN_OPENERS = ["", "Hello, ", "Hi, ", "Excuse me, ", "Quick question: ", "Please help: ", "One question: ", "Sorry, "]
ZH_OPENERS = ["", "请问", "你好，", "您好，请问", "想咨询一下，", "麻烦问下，", "打扰一下，", "问一下，"]
EN_CLOSERS = ["", " Thanks.", " Thank you.", " Many thanks!", " Thanks in advance."]
EN_FOR = ["", " for my mother", " for my father", " for my son", " for my daughter", " for my wife", " for a friend",
          " for my company"]
ZH_FOR = ["", "（帮家人办）", "（帮父母问）", "（本人办理）", "（外地户口）", "（急用）", "（第一次办）",
          "（单位要求）"]
ZH_CLOSERS = ["", "谢谢。", "谢谢！", "多谢。", "麻烦了。"]


def make_questions(n: int, seed: int = 7, exclude: set[str] | None = None) -> list[str]:
    """``n`` distinct questions from the corpus vocabulary, alternating English and Chinese; none of them in
    ``exclude`` (by the text the answer path encodes, courtesy taken off), which the new ones are added to (one set
    per bench run: no question is encoded twice)."""
    rng = random.Random(seed)
    seen = exclude if exclude is not None else set()
    out: list[str] = []
    k = tries = 0
    while len(out) < n:
        tries += 1
        if tries > 1000 * (n + 1):
            raise RuntimeError(f"make_questions: only {len(out)} of {n} new questions after {tries} draws")
        i = k % 2
        tpl = rng.choice(EN_QUESTIONS if i == 0 else ZH_QUESTIONS)
        q = tpl.format(svc=rng.choice(SERVICES)[i], dist=rng.choice(DISTRICTS)[i], group=rng.choice(GROUPS)[i])
        mark = "?" if i == 0 else "？"
        q = q[:-1] + rng.choice(EN_FOR if i == 0 else ZH_FOR) + mark if q.endswith(mark) else q
        key = core(q)  # what the answer path encodes
        q = rng.choice(EN_OPENERS if i == 0 else ZH_OPENERS) + q + rng.choice(EN_CLOSERS if i == 0 else ZH_CLOSERS)
        if key not in seen:
            seen.add(key)
            out.append(q)
            k += 1
    return out
