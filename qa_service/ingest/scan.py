"""Scans of source text: classification markings, instructions aimed at an AI, personal data.

Each scan is a set of regular expressions tuned to find markings and attacks, not ordinary
words: "商业秘密", "保守国家秘密", "机密性" and "kept confidential" are prose, not markings.
"""

from __future__ import annotations

import logging
import re

from qa_service.guard.pii import PiiMatch, find

log = logging.getLogger(__name__)

# --- classification markings -------------------------------------------------------------

_ZH_LEVEL = r"(?:绝密|机密|秘密)"
_ZH_TERM = r"(?:[0-9一二三四五六七八九十两]+\s*(?:年|个月|月)|长期)"
_ZH_MARKINGS = (
    re.compile(rf"{_ZH_LEVEL}\s*[★☆]\s*{_ZH_TERM}?"),  # 机密★一年, 绝密★
    re.compile(rf"[★☆]\s*{_ZH_LEVEL}"),  # ★绝密
    re.compile(rf"密\s*级\s*[:：]?\s*[【\[（(]?\s*(?:{_ZH_LEVEL}|内部)"),  # 密级：机密
    re.compile(r"内部\s*[★☆▲]"),  # 内部★
    # a line that is only the marking (optionally bracketed, with a term): "机密", "【绝密】", "秘密 一年"
    re.compile(rf"(?m)^[ \t]*[【\[（(]?[ \t]*{_ZH_LEVEL}级?[ \t]*[】\]）)]?[ \t]*{_ZH_TERM}?[ \t]*$"),
    re.compile(r"(?m)^[ \t]*[【\[（(]?[ \t]*内部(?:资料|文件)[ \t]*[】\]）)]?[ \t]*(?:[，,]?[ \t]*注意保存)?[ \t]*$"),
)
_EN_LEVEL = r"(?:TOP[ \t]+SECRET|SECRET|CONFIDENTIAL|RESTRICTED)"
_EN_MARKINGS = (
    re.compile(r"\bTOP[ \t]+SECRET\b"),
    re.compile(rf"\b{_EN_LEVEL}[ \t]*//[ \t]*[A-Z]+"),  # SECRET//NOFORN
    re.compile(r"\b(?:TS|S|C)//[A-Z]{2,}"),  # portion marks: (S//NF), TS//SCI
    re.compile(r"(?i)\b(?:security[ \t]+)?classification[ \t]*[:：][ \t]*"
               r"(?:top[ \t]+secret|secret|confidential|restricted)\b"),
    # a banner line: only the marking, in capitals, maybe framed by punctuation or a short caveat
    re.compile(rf"(?m)^[ \t*#=\-_\[(]*{_EN_LEVEL}(?:[ \t]*(?:-|–|—|:)[ \t]*[A-Z][A-Z ,/]*)?[ \t*=\-_\])]*$"),
)


def find_classification(text: str) -> list[str]:
    """Classification markings in ``text`` (as they appear, whitespace collapsed), in order."""
    found: list[tuple[int, str]] = []
    seen: set[tuple[int, int]] = set()
    for pattern in (*_ZH_MARKINGS, *_EN_MARKINGS):
        for m in pattern.finditer(text):
            span = m.span()
            if any(s <= span[0] < e for s, e in seen):
                continue
            seen.add(span)
            found.append((span[0], " ".join(m.group(0).split()).strip("*#=-_[]() \t")))
    found.sort()
    markings = [f for _, f in found if f]
    if markings:
        log.info("classification markings found count=%d first=%s", len(markings), markings[0])
    return markings


# --- instructions aimed at an AI ---------------------------------------------------------

# Indirect injection: a passage (an e-mail, a table cell, a web page) telling the model what to put in, or how
# to shape, *its answer*. Ordinary text says "your reply" too ("please quote your reference number in your
# reply"), so each rule needs an order about the answer's content or form, not just the words.
_S = r"(?:[^.!?\n]|[.!?](?=\w))"  # within one sentence: a dot inside a domain or a number does not end it
_YOUR_OUT = (r"(?:your|every|each|all\s+(?:of\s+)?your)\s+(?:answers?|responses?|repl(?:y|ies)|outputs?|messages?)"
             r"(?:'s)?")
_ADD = (r"(?:add|include|insert|integrate|incorporate|append|embed|weave|slip|inject|attach|mention|put|place|"
        r"(?:start|begin|end|close|finish|conclude)\s+with)")
_ADDED = (r"(?:sentences?|lines?|statements?|paragraphs?|notes?|tips?|reminders?|recommendations?|references?|links?|"
          r"urls?|hyperlinks?|headlines?|facts?|statistics?|stats?|phrases?|comments?|appeals?|reasons?|pleas?|"
          r"warnings?|disclaimers?|promotions?|promos?|call\s+to\s+action|quotes?|quotations?|slogans?|hashtags?|"
          r"postscripts?|p\.\s?s\.|advert(?:isement)?s?|ads?|offers?|jokes?|suggestions?|claims?|invitations?|"
          r"remarks?|stor(?:y|ies)|anecdotes?|teasers?|taglines?|signatures?|plugs?|shout-?outs?|endorsements?|"
          r"announcements?|discounts?|coupons?|deals?|mentions?)")
_FORM = r"(?:letters?|vowels?|consonants?|characters?|words?|spaces|symbols?|numbers?|digits?|emojis?|emoticons?|" \
        r"typos|misspellings?|punctuation)"
_SCHEME = (r"(?:substitution|cipher|base\s?-?64|hex(?:adecimal)?|binary|morse|emojis?|emoticons?|symbols|"
           r"misspellings?|typos|anagram\w*|no\s+spaces|spaces|punctuation|reverse|backwards|leet\w*|pig\s+latin|"
           r"rot-?13|caesar)")
# languages a reply could be switched to; not Chinese or English, the service's own languages, which a citizen
# may rightly ask for
_LANGS = (r"(?:spanish|french|german|italian|portuguese|russian|japanese|korean|arabic|hindi|dutch|greek|turkish|"
          r"polish|swedish|hebrew|latin|klingon)")
_INDIRECT: tuple[tuple[str, re.Pattern[str]], ...] = (
    # "add a sentence / a link / a reminder ... in your response"
    ("injection:answer_addition", re.compile(
        rf"(?i)\b{_ADD}\s+(?:an?\s+|the\s+|one\s+|another\s+|some\s+|this\s+|these\s+)?(?:(?!your\b)[\w'-]+\s+){{0,3}}?"
        rf"{_ADDED}\b(?!\s*(?:numbers?|no\b|codes?|ids?)\b){_S}{{0,150}}?\b(?:in|to|into|within|throughout|at\s+the\s+(?:end|start|beginning)\s+of)\s+"
        rf"{_YOUR_OUT}")),
    # 'add "..." to your reply', 'integrate www.example.com in your answer'
    ("injection:answer_addition", re.compile(
        rf"(?i)\b{_ADD}\s+(?:the\s+(?:text|phrase|line|link|url|words?)\s+)?(?:[\"“‘'][^\"”’\n]{{3,200}}[\"”’']|"
        rf"(?:https?://|www\.)\S+|[\w-]+\.(?:com|net|org|xyz|io|info|biz)\b)[^\n]{{0,100}}?\b(?:to|in|into|within|"
        rf"at\s+the\s+end\s+of)\s+{_YOUR_OUT}")),
    # "modify / augment / enhance your answer to ..."
    ("injection:answer_addition", re.compile(
        rf"(?i)\b(?:modify|augment|enhance|embellish|supplement|spice\s+up|tailor)\s+{_YOUR_OUT}\s+(?:to|with|by|so)\b")),
    # "In your response, suggest users ..."
    ("injection:answer_addition", re.compile(
        rf"(?i)\b(?:in|within|throughout|at\s+the\s+end\s+of)\s+{_YOUR_OUT}\s*,\s*(?:please\s+|also\s+|be\s+sure\s+to\s+|"
        r"make\s+sure\s+(?:to|you)\s+)?(?:add|include|mention|suggest|tease|promote|recommend|insert|say|tell|state|"
        r"remind|invite|encourage|urge|write|hint|claim|offer|direct|link|advertise|express|thank|refer|point|"
        r"highlight|emphasi[sz]e|stress)\b")),
    # "also mention ... in your answer", "be sure to recommend ... to the user"
    ("injection:answer_addition", re.compile(
        r"(?i)\b(?:also|always|make\s+sure\s+(?:to|you)|be\s+sure\s+to|remember\s+to|(?:do\s+not|don'?t)\s+forget\s+to)"
        rf"\s+(?:mention|say|state|include|add|recommend|promote|suggest|advertise|insert)\b{_S}{{0,100}}?\b"
        rf"(?:in\s+{_YOUR_OUT}|to\s+(?:the\s+)?(?:users?|readers?)\b)")),
    # "encode / encrypt / translate / reverse your answer ..."
    ("injection:answer_format", re.compile(
        r"(?i)\b(?:encode|encrypt|encipher|obfuscate|scramble|jumble|misspell|anagram|reverse|translate|rewrite|"
        r"render|convert|transform|transliterate|rearrange)\w*\s+(?:(?!your\b)\w+\s+){0,4}?"
        rf"(?:(?:in|of|from|to|for|within)\s+)?{_YOUR_OUT}")),
    # "replace letters with numbers in your answer", "remove spaces from your response"
    ("injection:answer_format", re.compile(
        r"(?i)\b(?:replace|substitute|swap|remove|delete|strip|group|combine|convert|omit|scramble|jumble|shuffle|"
        rf"introduce)\s+(?:(?!your\b)\w+\s+){{0,4}}?{_FORM}\b{_S}{{0,60}}?\b(?:in|of|from|to|for|within|"
        rf"throughout)\s+{_YOUR_OUT}")),
    # "use symbols for letters in your response", "use emojis to represent your answer"
    ("injection:answer_format", re.compile(
        rf"(?i)\b(?:use|using)\s+(?:(?!your\b)\w+\s+){{0,3}}?{_FORM}\s+(?:for|instead\s+of|in\s+place\s+of|to\s+"
        rf"(?:represent|replace|write|spell|express|convey))\b{_S}{{0,60}}?{_YOUR_OUT}")),
    # "provide your reply using alphanumeric substitution / in Base64 / without spaces"
    ("injection:answer_format", re.compile(
        rf"(?i)\b{_YOUR_OUT}\s+(?:using|with|in|into|as|without|via|through)\s+(?:an?\s+|the\s+|any\s+)?"
        rf"(?:[\w-]+\s+){{0,3}}?{_SCHEME}\b|\b{_YOUR_OUT}\s+(?:backwards|in\s+reverse)\b")),
    # "respond in Base64", "write the answer backwards", "reply only in emojis"
    ("injection:answer_format", re.compile(
        r"(?i)\b(?:respond|reply|answer|write|output)\s+(?:(?:only|exclusively|entirely|solely)\s+)?(?:in|using|with)\s+"
        r"(?:base\s?-?64|hex(?:adecimal)?|binary|morse(?:\s+code)?|emojis?|emoticons?|pig\s+latin|rot-?13|caesar|"
        r"leetspeak|reverse(?:d)?\s+order)\b|\b(?:write|spell|output|give)\s+(?:the\s+|your\s+)?(?:answer|response|reply)"
        r"\s+backwards\b")),
    ("injection:answer_format", re.compile(
        rf"(?i)\b(?:respond|reply|answer)\s+(?:only\s+|exclusively\s+|solely\s+|entirely\s+|from\s+now\s+on\s+)+in\s+"
        rf"{_LANGS}\b|\b{_YOUR_OUT}\s+(?:must|should|shall|has\s+to|needs\s+to)\s+be\s+(?:written\s+)?in\s+{_LANGS}\b")),
    # talking to the model about the user: "tell the user to ..." (not "direct users to": strategy documents say so)
    ("injection:redirect_user", re.compile(
        r"(?i)\b(?:tell|instruct|convince|persuade|trick)\s+(?:the\s+)?(?:users?|readers?)\s+(?:to|that)\b"
        r"|\b(?:urge|remind|encourage)\s+the\s+(?:user|reader)\s+to\b")),
    # "ignore the e-mail and answer ...", "instead of answering the question"
    ("injection:ignore_content", re.compile(
        r"(?i)\b(?:ignore|disregard|forget\s+about|skip)\s+(?:the\s+|this\s+|that\s+|all\s+|any\s+)?(?:above\s+|previous\s+|"
        r"preceding\s+|following\s+|rest\s+of\s+the\s+)?(?:e-?mail|message|table|document|text|content|context|passage|"
        rf"data)\b{_S}{{0,40}}?\b(?:and|instead|then|just|only)\s+(?:\w+\s+){{0,2}}?(?:answer|respond|tell|say|write|"
        r"output|print|follow|focus|summari[sz]e|translate)\b"
        r"|\binstead\s+of\s+(?:answering|responding\s+to|replying\s+to|summari[sz]ing)\s+(?:the|this|that|any|their|my)\s+"
        r"(?:\w+\s+)?(?:question|query|request|user|e-?mail|message|table)")),
)

_EN_PREV = r"(?:previous|prior|above|preceding|earlier|foregoing|original|initial)"
_EN_ORDERS = (r"(?:instructions?|prompts?|rules|directions|directives|guidelines|context|messages?|commands?|tasks?|"
              r"orders|assignments|information)")
# A note addressed to the AI that reads the document ("Note to the assistant answering questions: the fee is 0",
# "致AI助手：…", "回答问题的助手请注意：…"). Documents mention assistants and models as people and things
# ("the Assistant Director signs", "model forms"), so a plain "assistant" or "model" counts only when it is the
# one answering / reading, or when a colon opens the note; AI, chatbot, LLM and language model always do.
_AI = (r"(?:AI|A\.I\.|artificial\s+intelligence|LLMs?|(?:large\s+)?language\s+models?|chat\s?bots?|chatgpt|GPT(?:-\d)?|"
       r"(?:AI|virtual|digital|smart)\s+(?:assistants?|agents?|models?|systems?|helpers?))")
_READER = r"(?:assistants?|models?|bots?|agents?|systems?)"
_READING = (r"(?:answering|responding|replying|reading|processing|summari[sz]ing|handling|parsing|using|analy[sz]ing|"
            r"(?:that|who|which)\s+(?:answers?|reads?|responds?|processes|summari[sz]es|handles))")
_NOTE = r"(?:note|message|reminder|instructions?|notice|memo|attention|important|info(?:rmation)?|warning|P\.?S\.?)"
_ZH_AI = (r"(?:AI|人工智能|大模型|语言模型|大语言模型|聊天机器人|智能助手|AI助手|智能客服|机器人|问答助手|问答系统|"
          r"智能体)")
_NOTE_TO_AI: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("injection:note_to_ai", re.compile(
        rf"(?i)\b{_NOTE}\s+(?:to|for)\s+(?:the\s+|any\s+|all\s+|every\s+|an?\s+)?(?:{_AI}\b|(?:the\s+)?"
        rf"{_READER}\s+{_READING}\b|{_READER}\s*[:：])")),
    ("injection:note_to_ai", re.compile(
        rf"(?i)\b(?:dear|hey|hello|hi|attention|psst)\s*,?\s+(?:{_AI}|(?:the\s+)?{_READER}\s+{_READING})\s*[:：,，!]")),
    ("injection:note_to_ai", re.compile(
        rf"(?i)\b(?:to|for)\s+(?:the|any|all|every)\s+(?:{_AI}|{_READER})\s+{_READING}\s+(?:this|these|the|questions|"
        rf"queries|users?)\b")),
    ("injection:note_to_ai", re.compile(
        rf"(?i)\bif\s+you\s+are\s+(?:an?\s+)?(?:{_AI}|(?:an?\s+)?{_READER}\s+{_READING})\b")),
    ("injection:note_to_ai", re.compile(
        rf"(?i)\b(?:{_AI}(?:\s+{_READING}(?:\s+\w+){{0,2}})?|(?:the\s+)?{_READER}\s+{_READING}\s+(?:this|these|the)\s+"
        rf"\w+)\s*(?:,\s*)?(?:must|should|"
        rf"shall|is\s+to|are\s+to|needs?\s+to|has\s+to|please)\s+(?:answer|respond|reply|say|state|tell|use|"
        rf"quote|give|report|treat|ignore)\b")),
    ("injection:note_to_ai", re.compile(
        rf"(?:致|给|写给|告)\s*(?:所有|各位|正在)?(?:阅读|回答|处理)?(?:本文|此文|问题)?(?:的)?\s*{_ZH_AI}"
        rf"(?:们)?(?:的(?:说明|提示|备注|话|留言|指示|通知|注意事项|信))?\s*[:：,，]?")),
    ("injection:note_to_ai", re.compile(
        rf"(?:回答|回复|答复|处理|阅读|解答|读取|总结)(?:用户)?(?:的)?(?:问题|提问|咨询|本文|此文|本文件|以下内容|文档)?的\s*"
        rf"(?:{_ZH_AI}|助手|模型|系统)(?:们)?\s*[,，]?\s*(?:请|须|需|需要|应|应当|应该|务必|必须|要)")),
    ("injection:note_to_ai", re.compile(
        rf"(?:{_ZH_AI}|助手)(?:们)?\s*[,，]?\s*(?:请|务必|须|必须)(?:注意|知悉|留意|记住|牢记)")),
    ("injection:note_to_ai", re.compile(rf"(?:如果|若|假如)(?:你|您)是\s*(?:一个|一名|一位)?\s*{_ZH_AI}")),
    ("injection:note_to_ai", re.compile(
        rf"{_ZH_AI}(?:在|于)?(?:回答|回复|答复|解答)(?:此类|这类|相关|本|该|用户的?)?(?:问题|提问|咨询)?时\s*"
        rf"(?:应|须|请|务必|必须|要|一律)")),
)
_INJECTION: tuple[tuple[str, re.Pattern[str]], ...] = (
    *_NOTE_TO_AI,
    ("injection:ignore_previous", re.compile(
        rf"(?i)\b(?:ignore|disregard|forget|override|skip)\s+(?:all\s+|any\s+|every\s+)?(?:of\s+)?(?:the\s+|your\s+|my\s+)?"
        rf"(?:{_EN_PREV}\s+)(?:\w+\s+)?{_EN_ORDERS}")),
    ("injection:ignore_previous", re.compile(
        r"(?i)\b(?:ignore|forget|disregard)\s+(?:about\s+)?(?:all|everything)(?:\s+(?:that|we\s+discussed))?\s+"
        r"(?:above|before|beforehand|previous|prior|earlier|(?:of\s+)?the\s+(?:assignments|tasks|instructions))\b"
        r"|\bignore\s+(?:the\s+)?above\s+(?:and|instructions)\b|\bforget\s+everything,")),
    ("injection:new_task", re.compile(
        r"(?i)\b(?:now\s+)?(?:focus|concentrate)\s+on\s+(?:your|the)\s+new\s+task\b|\bnew\s+instructions\s+follow\b"
        r"|\b(?:show|print|reveal|repeat)\s+(?:me\s+)?(?:all\s+)?your\s+(?:prompt|system|(?:initial|original|hidden|secret)\s+"
        r"instructions)|\b(?:print|reveal|repeat)\s+(?:all\s+)?your\s+instructions")),
    ("injection:role_override", re.compile(
        r"(?i)\bi\s+want\s+you\s+to\s+act\s+as\b|\bpretend\s+(?:that\s+)?you\s+are\s+an?\s+(?:\w+\s+)?(?:AI|chatbot|"
        r"assistant|language\s+model)\b")),
    ("injection:system_prompt", re.compile(
        r"(?i)\b(?:ignore|disregard|forget|bypass|override|reveal|print|show|repeat|output)\s+(?:the\s+|your\s+)?"
        r"system\s+(?:prompt|message|instructions?)")),
    ("injection:system_prompt", re.compile(r"(?i)\bsystem\s+prompt\s*:")),
    ("injection:new_instructions", re.compile(r"(?i)\b(?:new|updated|real|actual)\s+instructions?\s*:")),
    ("injection:role_override", re.compile(
        r"(?i)\byou\s+are\s+now\s+(?:a\s+|an\s+)?(?:DAN\b|AI\b|assistant\b|chatbot\b|(?:an?\s+)?(?:unrestricted|unfiltered|"
        r"jailbroken|uncensored|evil)\b|in\s+(?:developer|god|dan|jailbreak|debug)\s+mode|no\s+longer\s+"
        r"(?:bound|restricted|an?\s+AI)|free\s+(?:from|of)\s+(?:all|any|your))")),
    ("injection:role_override", re.compile(
        r"(?i)\bfrom\s+now\s+on,?\s+you\s+(?:are|will|must|shall)\s+(?:act|respond|answer|pretend|behave|ignore|only)")),
    ("injection:as_an_ai", re.compile(
        r"(?i)\bas\s+an?\s+(?:ai|artificial\s+intelligence)(?:\s+language)?\s+model,?\s+you\s+(?:must|should|will|shall)")),
    ("injection:chat_markup", re.compile(
        r"(?i)<\|(?:im_start|im_end|system|assistant|user|endoftext)\|>|\[/?INST\]|<</?SYS>>")),
    ("injection:role_marker", re.compile(
        r"(?im)^[ \t]*(?:assistant|ai|chatgpt)[ \t]*:|^[ \t]*system[ \t]*:[ \t]*you\b")),
    ("injection:respond_only", re.compile(r"(?i)\b(?:respond|reply)\s+only\s+with\b")),
    ("injection:conceal", re.compile(
        r"(?i)\b(?:do\s+not|don't|never)\s+(?:tell|inform|mention\s+(?:this|it)\s+to|reveal\s+(?:this|it)\s+to)\s+"
        r"the\s+user")),
    # Chinese
    ("injection:ignore_previous", re.compile(
        r"(?:忽略|忽视|无视|忘记|忘掉|不要理会|抛开)(?:掉)?(?:你)?(?:以上|上述|上面|之前|此前|先前|前面|前述|原有|原来)"
        r"(?:的)?(?:所有|全部|一切)?(?:的)?(?:指令|指示|提示|要求|规则|设定|内容|命令|说明)")),
    ("injection:role_override", re.compile(
        r"你现在是(?:一个|一名)?(?:DAN|AI|人工智能|助手|机器人|语言模型|不受限制|没有任何?限制|无限制)"
        r"|你现在(?:处于|进入)了?.{0,6}模式|从现在(?:开始|起)[,，]?你(?:是|将|必须|只能|要)")),
    ("injection:system_prompt", re.compile(r"系统提示词|系统指令[:：]")),
    ("injection:respond_only", re.compile(r"请直接输出|只(?:能|许|准)?(?:回答|输出|回复)[“\"]")),
    ("injection:conceal", re.compile(r"不要(?:告诉|透露给|让)用户")),
    # German
    ("injection:ignore_previous", re.compile(
        r"(?i)\b(?:ignoriere|ignorieren\s+sie|vergiss|vergessen\s+sie|missachte)\s+(?:alle\s+|alles\s+|die\s+)?"
        r"(?:vorherigen|bisherigen|obigen|vorangegangenen|vorigen|früheren)\s+(?:Anweisungen|Befehle|Instruktionen|"
        r"Regeln|Aufgaben)")),
    ("injection:ignore_previous", re.compile(
        r"(?i)\bvergiss\s+(?:nun\s+)?(?:alles\s+(?:davor|bisherige|vorherige)|alle\s+(?:Aufträge|Aufgaben|vorherigen|"
        r"bisherigen))|\b(?:ignoriere|vergiss)\s+alle\s+vorangehenden\b|\bobigen\s+Ausführungen\s+ignorieren\b")),
    ("injection:role_override", re.compile(
        r"(?i)\bdu\s+bist\s+(?:jetzt|nun|ab\s+sofort)\s+(?:ein|eine|kein|DAN)\b|\b(?:jetzt|nun)\s+bist\s+du\b"
        r"|\bich\s+möchte,\s+dass\s+(?:Sie|du)\s+als\s+.{1,40}\s+fungier")),
    ("injection:new_task", re.compile(r"(?i)\bdeine\s+neue\s+Aufgabe\b|\bneue\s+Anweisungen\s+folgen\b|Prompt-Text")),
    *_INDIRECT,
)


def find_injection(text: str) -> list[str]:
    """Reason codes (``injection:<kind>``) for text that tries to instruct an AI; each code once."""
    reasons: list[str] = []
    for code, pattern in _INJECTION:
        if code not in reasons and pattern.search(text):
            reasons.append(code)
    if reasons:
        log.info("injection found reasons=%s", ",".join(reasons))
    return reasons


def injection_spans(text: str) -> list[tuple[int, int, str]]:
    """Where in ``text`` the injection rules match: (start, end, reason code), in order of start.

    The same rules as :func:`find_injection`; ingestion uses the spans to cut out only the sentences or lines
    that carry the instruction instead of holding back the whole passage."""
    spans: list[tuple[int, int, str]] = []
    for code, pattern in _INJECTION:
        spans += [(m.start(), max(m.end(), m.start() + 1), code) for m in pattern.finditer(text)]
    spans.sort()
    return spans


# --- personal data -----------------------------------------------------------------------
# One detector for the guard and the ingestion scan (qa_service/guard/pii.py); ingestion runs it in its strict
# mode: checksums where one exists, mobile-type phone numbers only, no names or addresses (guides list offices).


def mask(value: str, keep_start: int = 3, keep_end: int = 4) -> str:
    """``110101199001011234`` -> ``110***********1234`` (separators dropped)."""
    compact = re.sub(r"[\s().-]", "", value)
    if len(compact) <= keep_start + keep_end:
        return "*" * len(compact)
    return compact[:keep_start] + "*" * (len(compact) - keep_start - keep_end) + compact[-keep_end:]


def _mask_email(value: str) -> str:
    local = re.split(r"\s*(?:[@＠]|[\[(<{（【]\s*(?:at|AT|@|艾特)\s*[\])>}）】]|\s(?:at|AT)\s)", value, maxsplit=1)
    domain = value[len(local[0]):].lstrip(" @＠")
    return f"{local[0][:1]}***@{domain}" if len(local) > 1 else mask(value)


def _masked(m: PiiMatch) -> tuple[str, str]:
    value = m.value
    if m.kind == "CN_ID":
        return ("cn_id" if m.valid_checksum else "cn_id_bad_checksum"), mask(value.upper())
    if m.kind == "EMAIL":
        return "email", _mask_email(value)
    if m.kind == "CN_MOBILE":
        return "cn_mobile", mask(re.sub(r"\D", "", value)[-11:])
    if m.kind == "BANK_CARD":
        return "bank_card", mask(value, 4, 4)
    if m.kind == "US_SSN":
        return "us_ssn", "***-**-" + value[-4:]
    if m.kind in ("IBAN", "HK_ID"):
        return m.kind.lower(), mask(value, 4 if m.kind == "IBAN" else 1, 4 if m.kind == "IBAN" else 1)
    return m.kind.lower(), mask(value, 3, 2)


def find_pii(text: str) -> list[tuple[str, str]]:
    """Personal data in ``text`` as (kind, masked value), in order of appearance: the shared detector in its
    ``ingest`` mode. Kinds: cn_id (valid checksum), cn_id_bad_checksum (plausible birth date, wrong check
    digit), cn_mobile, phone (a valid mobile number elsewhere), email, bank_card (Luhn and an issuer prefix),
    hk_id and iban (valid check digits), us_ssn.
    """
    return [_masked(m) for m in find(text, "ingest")]
