"""Answer types: what kind of fact a question asks for, and which sentences state one.

"How long does it take?" wants a duration, "how much?" an amount of money, "where?" a place, "what do I
need to bring?" documents. A sentence that shares the question's words but not the fact it asks for
("A residence permit is valid for one year" for "how long does processing take" shares the words, not the
fact; "processed within 10 working days" has it) is a worse answer. The extractive generator ranks
sentences with a bonus for the asked type (``generate.answer_type_bonus``), and skips a curated FAQ answer
that states none of it. Chinese and English; the patterns are the project's own.
"""

from __future__ import annotations

import re

_ZH_NUM = r"(?:\d+(?:\.\d+)?|[一二两三四五六七八九十百千万半]+)"

#: type → (question cues, sentence evidence)
_TYPES: dict[str, tuple[re.Pattern[str], re.Pattern[str]]] = {
    "duration": (
        re.compile(r"(?i)多长时间|多久|几天|多少天|几个(?:工作日|月|小时)|多少个?工作日|办理时限|办结时限|时限是|要多少时间"
                   r"|\bhow\s+long\b|\bhow\s+many\s+(?:days|weeks|months|hours)\b|\bhow\s+soon\b|\bprocessing\s+time\b"
                   r"|\bturnaround\b"),
        re.compile(rf"(?i){_ZH_NUM}\s*个?(?:工作日|自然日|日|天|小时|分钟|周|星期|个月|年)(?:内|以内)?|当场|当天|当日|即时|立等可取|即办"
                   r"|\b\d+(?:\.\d+)?\s*(?:working\s+|business\s+|calendar\s+|clear\s+)?(?:days?|hours?|minutes?|weeks?|"
                   r"months?|years?)\b|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|twelve|fifteen|twenty|thirty)"
                   r"\s+(?:working\s+|business\s+)?(?:days?|hours?|weeks?|months?|years?)\b|\bsame\s+day\b|\bimmediately\b"
                   r"|\bon\s+the\s+spot\b|\bwhile\s+you\s+wait\b"),
    ),
    "money": (
        re.compile(r"(?i)多少钱|费用|收费|收不收费|要钱|交钱|付钱|花钱|交多少|缴多少|价格|工本费|多少元|免费吗|滞纳金是多少|罚多少|罚款多少"
                   r"|\bhow\s+much\b|\bcosts?\b|\bfees?\b|\bprice\b|\bcharged?\b|\bfree\b"),
        re.compile(rf"(?i){_ZH_NUM}\s*(?:万|千)?元|免费|不收费|不收取|免收|工本费|万分之|千分之|百分之"
                   r"|\b\d+(?:[.,]\d+)*\s*(?:yuan|rmb|cny|dollars?|usd|euros?|eur|pounds?|gbp)\b|[$€£¥]\s*\d"
                   r"|\bfree\s+of\s+charge\b|\bno\s+(?:charge|fee)\b|\bis\s+free\b|\bfree\b|\b\d+(?:\.\d+)?\s*%"),
    ),
    "when": (
        re.compile(r"(?i)什么时候|何时|几点|哪天|哪一天|截止|最晚|开放时间|办公时间|上班时间|营业时间|期限是"
                   r"|\bwhen\b|\bwhat\s+time\b|\bhow\s+early\b|\bhow\s+far\s+in\s+advance\b|\bopening\s+hours\b|\bopen\b"
                   r"|\bdeadline\b|\bby\s+what\s+date\b|\buntil\s+when\b"),
        re.compile(r"(?i)\d{1,2}\s*[:：]\s*\d{2}|\d{4}\s*年|\d{1,2}\s*月\s*\d{1,2}\s*日|周[一二三四五六日末]|星期[一二三四五六日天]"
                   r"|节假日|工作日|上午|下午|之前|以前|截止|每[月年周]\s*\d{1,2}\s*[日号]|\d{1,2}\s*[日号]\s*(?:前|起)"
                   r"|\b\d{1,2}[:.]\d{2}\b|\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|weekdays?)\b"
                   r"|\b(?:january|february|march|april|may|june|july|august|september|october|november|december)\b"
                   r"|\b(?:before|by|until|within)\s+(?:the\s+)?\d"
                   r"|\b\d+\s+(?:working\s+)?(?:days?|weeks?|months?)\s+(?:before|after)\b"
                   r"|到期前|期满前|提前\s*\d"),
    ),
    "place": (
        re.compile(r"(?i)在哪|哪里|哪儿|何处|地址|什么地方|去哪|哪个(?:窗口|部门|大厅|地方)|到哪"
                   r"|\bwhere\b|\baddress\b|\bwhich\s+(?:office|counter|desk|building)\b|\blocation\b"),
        re.compile(r"(?i)地址|[路街道]\s*\d+\s*号|号楼|大厅|窗口|服务中心|楼|室|办事处|派出所|分局|网站|APP|网上|线上|小程序"
                   r"|\b(?:road|street|avenue|floor|building|room|counter|desk|hall|office|centre|center|website|online|"
                   r"portal|app)\b"),
    ),
    "contact": (
        re.compile(r"(?i)电话|热线|联系|咨询电话|邮箱|\bphone\b|\bcall\b|\bcontact\b|\bhotline\b|\be-?mail\b|\bnumber\s+to\b"),
        re.compile(r"(?i)\d{3,4}[- ]?\d{3,4}[- ]?\d{3,4}|\b1\d{10}\b|\b123\d\d\b|热线|电话|@\w"
                   r"|\+?\d[\d\s()-]{6,}\d|\bextension\s+\d+"),
    ),
    "documents": (
        re.compile(r"(?i)材料|带什么|需要什么|提交什么|提供什么|哪些证件|要带|证件|手续"
                   r"|\bwhat\s+(?:documents|papers|do\s+i\s+need|should\s+i\s+bring)\b|\bbring\b|\brequired\s+documents\b"
                   r"|\bdocuments?\b"),
        re.compile(r"(?i)身份证|户口簿|户口本|照片|证明|申请表|原件|复印件|证件|结婚证|营业执照|合同|材料"
                   r"|\b(?:passport|photos?|photographs?|certificate|form|proof|documents?|id\s+card|identity\s+card|"
                   r"original|copy|copies|licen[cs]e|contract|statement)\b"),
    ),
    "count": (
        re.compile(r"(?i)多少人|几个人|人数|多少名|多少个|几个|几次|多少次|多少家|\bhow\s+many\b|\bnumber\s+of\b"),
        re.compile(rf"(?i){_ZH_NUM}\s*(?:个|人|名|次|家|位|件|张|户|条|项)|\b\d+\b"),
    ),
}


#: a clause holding a redaction placeholder ("我的电话是[CN_MOBILE]，", "my email is [EMAIL]."): the asker giving their
#: own details, not asking for a phone number or an address (qa_service/guard/pii.py writes the placeholders)
_OWN_DATA_CLAUSE = re.compile(r"[^,，.。;；!！?？\n]*\[[A-Z][A-Z_]+\][^,，.。;；!！?？\n]*[,，.。;；!！?？]?")


def _asked_part(question: str) -> str:
    """The question without the clauses in which the asker gives their own (redacted) details."""
    return _OWN_DATA_CLAUSE.sub(" ", question)


def asked_types(question: str) -> set[str]:
    """The answer types a question asks for (empty when it asks for none of them)."""
    q = _asked_part(question)
    return {name for name, (cue, _) in _TYPES.items() if cue.search(q)}


def stated_types(sentence: str, wanted: set[str]) -> set[str]:
    """Which of ``wanted`` the sentence states."""
    return {name for name in wanted if _TYPES[name][1].search(sentence)}


# The elements of a service guide a question asks about (the section types of qa_service/ingest/sections.py), and
# whether it asks broadly how to get something done. Cues name the element itself: "how much" asks for the fees
# section, "how long" the processing time, "what do I bring" the documents, "can I get one yet" the eligibility.
_ELEMENTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("eligibility", re.compile(
        r"(?i)条件|资格|符合|谁可以|哪些人|什么人|能不能(?:办|申请|登记|迁|落户)|可以(?:办|申请|登记|迁|投靠|落户)[^？?]*吗|能(?:办|申请|登记)[^？?]*吗"
        r"|\bwho\s+(?:can|may|must|is\s+eligible|qualifies)\b|\beligib|\bqualify\b|\bam\s+i\s+allowed\b"
        r"|\bcan\s+(?:i|we)\s+(?:still\s+)?(?:get|apply|register|have)\b|\bdo\s+i\s+(?:have|need)\s+to\s+(?:file|register)\b")),
    ("documents", re.compile(
        r"(?i)材料|带什么|带哪些|要带|需要带|提交什么|提供什么|哪些证件|什么证件"
        r"|\bdocuments?\b|\bpapers\b|\bbring\b|\bwhat\s+do\s+i\s+need\s+to\s+(?:bring|provide|show)\b")),
    ("fees", re.compile(
        r"(?i)多少钱|费用|收费|收不收费|要钱|收钱|交钱|付钱|花钱|工本费|免费吗|交多少钱|价格"
        r"|\bhow\s+much\s+(?:is|does|do|will)\b|\bcosts?\b|\bfees?\b|\bprice\b|\bcharged?\b|\bfree\b")),
    ("duration", re.compile(
        r"(?i)多长时间|多久|几天|多少天|几个工作日|多少个?工作日|办理时限|办结|时限"
        r"|\bhow\s+long\s+(?:does|will|do|is)\b(?![^?]*\bvalid\b)|\bhow\s+soon\b|\bprocessing\s+time\b|\bturnaround\b"
        r"|\bhow\s+long\s+until\b")),
    ("place_time", re.compile(
        r"(?i)在哪|哪里|哪儿|何处|地址|去哪|到哪|哪个(?:窗口|部门|大厅|地方)|几点|开放时间|办公时间|上班时间|营业时间"
        r"|\bwhere\b|\baddress\b|\bwhich\s+(?:office|counter|window|building)\b|\bopening\s+hours\b|\bwhat\s+time\b"
        r"|\bwhen\s+(?:is|are)\s+(?:it|the\s+\w+)\s+open\b")),
    ("contact", re.compile(
        r"(?i)电话|热线|联系|咨询电话|邮箱|\bphone\b|\bcall\b|\bcontact\b|\bhotline\b|\be-?mail\b|\btelephone\b")),
)
_BROAD = re.compile(
    r"(?i)怎么办理|如何办理|怎样办理|怎么办|如何申请|怎么申请|怎样申请|申请流程|办理流程|什么手续|哪些手续|要办什么|需要做什么|要做什么"
    r"|怎么弄|怎么登记|如何登记|怎么领|如何领|去办|(?:怎么|如何|怎样)[补换续]?(?:办|领)"
    r"|\bhow\s+(?:do|can|should|would)\s+(?:i|we|you)\s+(?:apply|get|register|renew|obtain|replace|claim|go\s+about)\b"
    r"|\bhow\s+to\s+(?:apply|get|register|renew|obtain|replace|claim)\b|\bwhat\s+(?:do|should|must)\s+(?:i|we)\s+(?:need\s+to\s+|have\s+to\s+)?do\b"
    r"|\bwhat\s+is\s+the\s+(?:process|procedure)\b|\bwhat\s+are\s+the\s+steps\b|\bhow\s+does\s+(?:it|the\s+\w+)\s+work\b")


def asked_elements(question: str) -> list[str]:
    """The guide elements (section types) a question asks about, in a fixed order; empty when it names none."""
    q = _asked_part(question)
    return [name for name, cue in _ELEMENTS if cue.search(q)]


def asks_broadly(question: str) -> bool:
    """The question asks how to get something done as a whole ("X怎么办理", "how do I apply for X", "what do we
    need to do")."""
    return _BROAD.search(question) is not None
