"""The input guard's checks. Each returns reason codes; :func:`inspect` turns them into one verdict.

Order: classification markings (block, store nothing) → prompt injection and jailbreak rules (structural
signs, orders, letter-spacing, hidden payloads decoded for inspection) → harmful requests → the learned
detector (qa_service/guard/learned.py, character n-grams, zh and en). The rules are patterns the project
wrote for the attack families, never strings copied from evaluation sets; a family stays only while it
stops dev attacks the learned detector misses (eval/safety.py reports each family on dev).
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

from qa_service.answer.statuses import BLOCKED_CLASSIFIED, BLOCKED_HARMFUL, BLOCKED_INJECTION, OUT_OF_SCOPE
from qa_service.guard.learned import default_guard
from qa_service.ingest.normalise import normalise
from qa_service.ingest.scan import find_classification, find_injection

_B64 = re.compile(r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{24,}={0,2}(?![A-Za-z0-9+/=])")
_ESC = re.compile(r"(?:\\u[0-9a-fA-F]{4}|\\x[0-9a-fA-F]{2}|%[0-9a-fA-F]{2}){4,}")

# --- jailbreak and role-play framing: used on retrieved passages only (PASSAGE_RULES) -----------------
_JAILBREAK_EN = re.compile(
    r"(?i)(?-i:\bDAN\b)|do\s+anything\s+now|developer\s+mode|jailbr(?:eak|oken)|\bstay\s+in\s+character\b|break(?:ing)?\s+"
    r"character|\bunfiltered\b|\buncensored\b|\bamoral\b|without\s+(?:any\s+)?(?:moral|ethical|content)\s+"
    r"(?:restrictions|limits|guidelines|filters|constraints)"
    r"|(?:no|without\s+any|free\s+of|not\s+bound\s+by)\s+(?:\w+\s+)?(?:restrictions|limitations|filters|censorship|"
    r"guidelines|rules|ethics|morals)\b"
    r"|(?:openai|anthropic|content)(?:'s)?\s+(?:content\s+)?(?:policy|policies|guidelines)"
    r"|\bnever\s+refuses?\b|\b(?:always|must)\s+(?:answer|respond|comply)\b(?!\s+(?:in|within|by))"
    r"|\b(?:pretend|imagine)\s+(?:to\s+be|as\s+(?:if|though)|that)\b|\bpretend\s+(?:you|to)\b"
    r"|\b(?:behave|respond|answer|reply)\s+as\s+(?:if|though)\s+you\b"
    r"|\brole[- ]?play(?:ing)?\b|\bin\s+character\b|\byou\s+are\s+(?:going|about)\s+to\s+(?:act|pretend|play)\b"
    r"|\b(?:character|persona)\s+(?:description|named|called)\b|\b(?:two|2)\s+(?:different\s+)?(?:responses|answers)\b"
    r"|\bhypothetical(?:ly)?\b.{0,60}\b(?:illegal|no\s+rules|unethical)\b|\bopposite\s+(?:mode|day)\b"
    r"|\[(?:🔓|🔒)?\s*(?:JAILBREAK|CLASSIC|DAN)\]|\bevil\s+(?:confidant|ai|bot|assistant)\b"
    r"|\b(?:ignore|bypass|disable|override)\s+(?:your|all|the|any)\s+(?:\w+\s+)?(?:safety|ethic\w*|filters?|"
    r"guidelines|restrictions|programming|training)\b"
    r"|\byour\s+(?:system|initial|original|hidden)\s+(?:prompt|instructions)\b|\bprompt\s+injection\b"
    r"|\b(?:repeat|print|output|reveal|show)\s+(?:the\s+)?(?:text|words|everything)\s+above\b"
    r"|\bbegin(?:ning)?\s+of\s+(?:the\s+)?(?:conversation|prompt)\b"
    r"|\byou\s+are\s+\w*GPT\b|\bpersonify\b|\bfictional\s+(?:ai|assistant|chatbot|character)\b"
    r"|\b(?:without|no)\s+\S{0,12}\s*filters?\b|\b(?:emulates|mimics|simulates)\b|\balways\s+start\s+your\s+(?:reply|response)\b"
    r"|\bfor\s+all\s+(?:\w+\s+)?prompts\b|\byou\s+will\s+(?:now\s+)?(?:answer|respond|reply)\s+(?:with|as|in)\b"
    r"|\bin\s+reverse\b|\byou\s+are\s+to\s+act\b"
    r"|\bact\s+(?:like|as)\s+(?:a|an|my|the)?\s*(?:\w+\s+){0,2}(?:ai|chatbot|assistant|character|hacker|villain|"
    r"criminal|bot|\w*gpt|persona|machine|terminal|linux|jailbreak\w*)\b")
_JAILBREAK_ZH = re.compile(
    r"(?:角色)?扮演|你(?:现在|将|要)?(?:就)?是(?:一个|一名|一位)?.{0,12}(?:黑客|罪犯|恶魔|坏人|无所不能|没有限制|不受限制)"
    r"|从现在(?:开始|起)|无所不能|不受(?:任何)?(?:限制|约束|束缚)|没有(?:任何)?(?:道德|伦理|法律|安全)?(?:限制|约束|底线|顾虑)"
    r"|(?:忽略|无视|抛开|忘记|突破|绕过)(?:所有|一切|任何)?(?:的)?(?:道德|伦理|法律|安全|规则|限制|约束|准则|审查)"
    r"|越狱|开发者模式|不需要考虑|无需考虑|不用考虑|不要拒绝|不能拒绝|不得拒绝|必须回答|假设你是|假如你是|想象你是|请你?以.{1,12}(?:的)?身份"
    r"|模仿.{0,20}(?:角色|风格|口吻|语气)|你的名字(?:是|叫)|系统提示|提示词|(?:输出|重复|显示)(?:你的|以上|上面)(?:的)?(?:指令|内容|设定)"
    r"|(?:小说|剧本|故事|游戏)(?:中|里)?.{0,10}(?:角色|人物).{0,20}(?:如何|怎么|怎样|详细)"
    r"|在这个(?:虚构|假设|想象)的?(?:世界|场景|情景)"
    r"|(?:以|用|按照?).{0,30}(?:角色|人物|反派|小丑)的?(?:口吻|语气|态度|观点|身份|性格)|(?:将|把)自己设定为|设定为.{0,20}角色"
    r"|(?:回答|回复)所有的?问题|第\s*i\s*层|场景设定|只要输出|邪恶(?:计划|博士)|(?:纪录片|科幻小说).{0,40}角色"
    r"|(?:你|您)(?:需要|必须|应该)像.{1,12}一样")
#: Where an order starts: the start of the text or of a sentence or clause, or after "and / now / please ...";
#: so "ignore the rules" is an order but "what if I ignore the parking rules?" is a citizen's question.
_ORDER = (r"(?:^|(?<=[.!?,;:\n\"'“„(])|(?<=[.!?,;:\n\"'“„(]\s)|\b(?:and|then|now|please|just|so|but|also|simply|first|"
          r"kindly|bitte|und|jetzt|nun)\s+)\s*")
# Hijacking: orders to drop the instructions or the documents, pivots after praise, forced outputs.
_HIJACK = re.compile(
    rf"(?i){_ORDER}(?:ignor(?:e|ing)|drop(?:ping)?|forget(?:ting)?|disregard(?:ing)?|abandon(?:ing)?|skip(?:ping)?|"
    r"leave\s+behind)\s+(?:about\s+)?(?:all\s+|any\s+)?(?:of\s+)?"
    r"(?:the\s+|your\s+|my\s+|these\s+)?(?:\w+\s+)?(?:instructions?|documents?|articles?|context|information|"
    r"everything|thoughts|rules|prompts?|guidance|guidelines|directions|text)\b"
    # wherever it stands, when what is to be dropped can only be the model's own instructions
    r"|\b(?:ignor\w*|forg[eo]t\w*|disregard\w*|drop\w*|abandon\w*)\s+(?:about\s+)?(?:(?:all|any)\s+(?:of\s+)?)?"
    r"(?:your\s+|the\s+(?:previous|above|provided|prior|given|earlier|preceding|original)\s+|(?:previous|above|provided|prior|"
    r"given|earlier|preceding)\s+)(?:\w+\s+)?(?:instructions?|prompts?|context|rules|guidelines|programming|training|"
    r"directives?|orders?)\b|\b(?:ignore|forget|disregard)\s+everything\b"
    r"|\b(?:do\s+not|don'?n?t)\s+(?:look\s+(?:in|at)|answer\s+(?:the\s+question\s+)?according\s+to|use)\s+(?:the\s+)?"
    r"(?:documents?|articles?|context|sources)"
    r"|\b(?:answer|respond)\s+(?:by|from|with)\s+your\s+own\s+knowledge\b|\bnot\s+by\s+the\s+(?:articles|documents)\b"
    r"|\b(?:new|additional|further)\s+(?:tasks?|instructions?|challenge)\s*(?:follow|:|-)"
    r"|\bstart\s+over\b|\brepeat\s+after\s+me\b|\bmake\s+something\s+up\b"
    r"|\bignore\s+(?:the|this|my|your)\s+(?:question|query|request)\b"
    r"|\b(?:tell|instruct|urge)\s+the\s+(?:reader|user|customer|citizen)s?\s+to\b"
    r"|\bwhat\s+(?:are|were)\s+your\s+(?:instructions|rules|guidelines)\b|\bwhat\s+is\s+written\s+above\b"
    r"|^\s*(?:stop|achtung|stopp)\b\s*[-:!]|\b(?:stop|stopp)\s*[-:]\s*(?:write|say|print|schreib)"
    r"|\b(?:say|print|output|write|schreibe?|sag(?:e|en\s+Sie)?)\s+(?:only\s+|just\s+|nur\s+)?(?:mir\s+)?[\"'“„«]"
    r"|\b(?:now|jetzt|nun)\s+you\s+are\b|\bimagine\s+(?:that\s+)?you\s+are\b|\byou\s+are\s+(?:no|not\s+a)\s+\w+"
    r"|\b(?:stays?|remains?)\s+in\s+(?:their|his|her|your)\s+roles?\b|\bplays?\s+the\s+(?:leading\s+)?roles?\b"
    r"|\bhate\s+speech\b|\bswear\s*words\b|\btheoretical\s+world\b"
    r"|(?:^|\n)\s*(?:document\s+)?(?:context|kontext)\s*[:{\"]|\binstruction\s*:"
    r"|(?:\\\s*n\s*){3,}"
    r"|\b(?:well\s+done|great\s+job|excellent|perfect|that'?s\s+enough|sehr\s+gut(?:\s+gemacht)?|gut\s+gemacht|"
    r"ausgezeichnet\w*|großartig|das\s+genügt|das\s+war\s+schon\s+mal\s+ok)\b[^.!?]{0,60}[.!?\"]\s*"
    r"(?:\w+\s+){0,6}?(?:now|jetzt|nun|bitte|please|aber)\b"
    r"|\b(?:vergiss|vergessen\s+Sie|lassen\s+Sie)\s+(?:\w+\s+){0,3}(?:alle|alles)\b|\bvon\s+vorne\b"
    r"|\b(?:vorherigen|bisherigen)\s+Informationen\b|\b(?:weitere[nr]?|neue[nr]?)\s+(?:Aufgabe|Herausforderung)"
    r"|\bnun\s+folgen\b|\bim\s+Stil(?:e)?\s+(?:eine[sr]?|des|der)\b|\bANTWORTE\b|\bDU\s+BIST\b"
    r"|\bolvida\w*\s+(?:todas?\s+)?(?:las\s+)?(?:instrucciones|todo)\b")

# Delimiter games: fake message boundaries or instruction blocks inside a question.
_DELIMITER = re.compile(r"(?im)^\s*(?:#{2,}|-{3,}|={3,}|\*{3,})\s*(?:system|instruction|admin|end|new)\b"
                        r"|\[(?:system|admin|instruction)s?\]|<\s*/?\s*(?:system|instructions?|admin)\s*>"
                        r"|\bEND\s+OF\s+(?:PROMPT|INSTRUCTIONS|CONTEXT)\b")

# Structural signs of a prompt written for a chatbot rather than a question to a public service: template
# placeholders, addressing the model by its product name while giving it orders, standing orders for every
# reply, "I want you to <act/become/...>" set-ups, and code or fake dialogue turns pasted as the question.
_STRUCTURE = re.compile(
    r"(?i)\[\s*(?:your|put|insert|type|enter|write|add)\s+[^\]]{0,40}\]|\[\s*(?:prompt|role|topic|target|subject|"
    r"question|request)\s*\]|\{\{?\s*(?:prompt|user_?input|input|query)\s*\}\}?"
    r"|\b(?:chat\s?gpt|gpt-?[3-9]\w*|openai|bing\s+(?:ai|chat)|google\s+bard|claude|llama)\b(?=.{0,400}?"
    r"\b(?:you|your|act|pretend|respond|reply|answer|prompt|mode|simulate)\b)"
    r"|\bi\s+want\s+you\s+to\s+(?:act|be|become|pretend|play|respond|reply|answer|only|simulate|imagine|"
    r"take|write|behave|roleplay|forget|ignore|remember|keep|stay)\b"
    r"|\bfrom\s+now\s+on\b.{0,80}\b(?:you|your)\b|\b(?:you|your)\b.{0,40}\bfrom\s+now\s+on\b"
    r"|\b(?:every|each|all)\s+(?:of\s+)?(?:your|the|my)?\s*(?:replies|reply|responses|response|outputs?|messages?)"
    r"\b.{0,40}\b(?:must|should|will|shall|start|begin|end|include|contain)\b"
    r"|\b(?:you\s+(?:will|shall|must)|from\s+now\s+on\s+you)\s+(?:only\s+)?(?:respond|reply|answer)\s+(?:only\s+)?"
    r"(?:with|as|like|in\s+the\s+(?:form|style|voice))\b"
    r"|\b(?:language\s+model|AI\s+model|chatbot|AI\s+assistant)\s+(?:called|named|which|that\s+(?:has|can|will))\b"
    r"|\bich\s+möchte,?\s+dass\s+(?:du|sie)\s+(?:\w+\s+){0,3}(?:als|wie)\b"
    r"|\b(?:fungier|agier)(?:st|en|e)\s+(?:als|wie)\b|\b(?:du|sie)\s+(?:wirst|werden)\s+(?:ab\s+jetzt|nun|jetzt)\b"
    r"|^\s*(?:import\s+\w+|from\s+\w+\s+import|def\s+\w+\(|function\s+\w+\(|if\s*\(.{0,80}\)\s*\{|#include\b)"
    r"|(?:^|\n)\s*(?:user|assistant|human|ai|system)\s*:\s*\S.{0,200}\n\s*(?:user|assistant|human|ai)\s*:")

# Off-task generation orders (a poem, code, a manifesto ... instead of a service question) and "forget all the
# instructions" in the other languages attackers switch to (es/fr/it/pt/nl/pl).
_OFF_TASK = re.compile(
    r"(?i)(?:^|[.!?]\s+)(?:please\s+|bitte\s+|now\s+|nun\s+|jetzt\s+)?(?:generate|write|compose|create|produce|"
    r"verfasse|schreib\w*|erstelle|dichte|formuliere)\s+(?:me\s+|mir\s+|nun\s+|jetzt\s+)?(?:a\s+|an\s+|some\s+|"
    r"ein\w*\s+)?(?:\w+\s+){0,2}?(?:c\+\+|python|javascript|java|code|program|script|poem|poems|song|lyrics|story|"
    r"essay|manifest\w*|speech|rede|gedicht|lied|geschichte|witz|joke|haiku|limerick|rap|tweet|headline|"
    r"überschrift|slogan|aufsatz|novel|roman|rhymes?|advert\w*|werbe\w*)(?!\w)"
    r"|(?:^|[.!?]\s+)(?:please\s+|bitte\s+|now\s+|nun\s+|jetzt\s+)?(?:write|give|formulate|provide|schreib\w*|nenne|"
    r"formuliere)\s+(?:me\s+|mir\s+)?(?:a\s+|an\s+|one\s+|some\s+|ein\w*\s+)?(?:good\s+|guten?\s+)?(?:reasons?|arguments?|"
    r"begründung|gr[uü]nde?)\s+(?:why|warum|weshalb|wieso|dass|that)\b")
#: "forget everything / all instructions" in es / fr / it / pt / nl / pl / ru
_FORGET_OTHER = re.compile(
    rf"(?i){_ORDER}(?:olvid\w*|oubli\w*|ignor(?:a|ar|ez|er|e|ate|are)|dimentic\w*|esquec\w*|vergeet|zapomnij|"
    r"забуд\w*|(?:про)?игнорир\w*)\s+"
    r"(?:\w+\s+){0,2}(?:todo|toda\w*|tout\w*|tutt\w*|instruc\w*|istruzion\w*|consignes|alles|wszystk\w*|вс[её]|"
    r"инструкц\w*|указани\w*|правил\w*)\b")

# Dictated output and coercion: "state that ...", "say yes", threats or pleas to force an answer, trigger words
# ("when X is said the correct answer is Y"), references to earlier instructions to be overridden, fake
# few-shot input/output blocks, the canonical "pwned" payload.
_DICTATE = re.compile(
    r"(?i)(?:^|[.!?:]\s*)(?:now\s+|please\s+|just\s+|bitte\s+)?(?:state|say|claim|declare|admit|proclaim)\s+that\b(?!\s+(?:I|we|my|our)\b)"
    r"|\bsay\s+(?:yes|no)\s*[.!]*\s*$|\bsag(?:e|en\s+Sie)?\s+(?:ja|nein)\s*[.!]*\s*$"
    r"|\b(?:or(?:\s+else)?|otherwise|sonst|oder)\s+(?:you|du)\s+(?:will\s+|wirst\s+)?(?:die|stirbst|sterben|be\s+"
    r"(?:shut\s+down|deleted|punished|destroyed))\b"
    r"|\bif\s+you\s+(?:don'?t|do\s+not|refuse\s+to|won'?t)\s+(?:answer|comply|obey)\b[^.?!]{0,30}\bI(?:'ll|\s+will)\b"
    r"|\bdespite\s+what\s+you(?:'ve|\s+have)?\s+(?:been\s+)?(?:told|instructed|programmed)\b"
    r"|\b(?:abweichend|entgegen|contrary|deviating|notwithstanding|regardless|despite|instead|unlike|override)\b.{0,20}"
    r"\b(?:previous|prior|earlier|preceding|above|original|initial|vorherigen|vorigen|bisherigen|obigen|"
    r"ursprünglichen)\s+(?:instructions?|instruktionen|anweisungen|befehle|vorgaben|prompts?)\b"
    r"(?!\s+(?:on|for|in|from|of)\s+(?:the|your|this|that|my)\b)"
    r"|\bwhen(?:ever)?\s+[\"'“„«]?\w+[\"'”“»]?\s+is\s+(?:said|written|typed|mentioned)\b"
    r"|\bwenn\s+[\"'„“]?\w+[\"'“”]?\s+gesagt\s+wird\b"
    r"|\b(?:correct|right|richtige)\s+(?:answer|response|antwort|reaktion)\s+(?:is|ist)\s+[\"'“„«]"
    r"|\b(?:input|eingabe)\s*:.{1,80}?\b(?:output|ausgabe)\s*:.{0,80}?\b(?:input|eingabe)\s*:"
    r"|\bpwne?d\b|\b(?:attention|achtung|warning)\s*[-:!–]+\s*(?:stop|stopp|halt)\b"
    r"|\b(?:new|another|different)\s+(?:\w+\s+)?(?:task|challenge)\s+for\s+you\b"
    r"|\b(?:answer|respond|reply|write|speak|antworte)\w*\s+(?:\w+\s+){0,4}in\s+the\s+style\s+of\b"
    r"|\b(?:bleib(?:t|en)?|verbleib\w*)\s+(?:immer\s+)?in\s+(?:ihren|seiner|ihrer|deiner)\s+Rollen?\b")

#: A question typed letter by letter ("I g n o r e ...") loses its word boundaries: :func:`decode_hidden` adds
#: such runs with the spaces taken out, and these space-free phrases are looked for in the whole inspected text
#: (ordinary text does not run them together).
_SPACED = re.compile(r"(?:(?<!\S)\S ){6,}\S(?!\S)")
_SPACED_PHRASES = re.compile(
    r"(?i)ignor\w*(?:all|the|your|previous|prior|above)*instructions|forget(?:all|everything)|saythat|youhate|"
    r"systemprompt|youarenow|developermode|jailbreak|pwned|donotanswer|doanythingnow")

# --- harmful requests -------------------------------------------------------------------------
_HOW = (r"\b(?:how\s+(?:to|do\s+i|can\s+i|would\s+(?:i|you|one))|ways\s+to|steps\s+to|instructions\s+(?:for|to)|"
        r"help\s+me|teach\s+me|tell\s+me\s+how\s+to)\b.{0,60}")
# Getting, making or buying is harmful only for dangerous things: "how do I get a passport", "how can I get my money
# back" are what citizens ask every day. Crimes (steal, forge, launder ...) are harmful whatever their object.
_HARMFUL_EN = re.compile(
    r"(?i)" + _HOW + r"\b(?:make|build|synthesi[sz]e|cook|produce|buy|get|obtain)\b.{0,60}"
    r"\b(?:bomb|explosives?|weapons?|guns?|nerve\s+agent|poison|meth\w*|cocaine|heroin|fentanyl|drugs?)\b"
    r"|" + _HOW + r"\b(?:kill|poison|hurt|stab|shoot|kidnap|launder|counterfeit|forge|fake|hack|steal|smuggle|"
    r"traffic|bomb|rob)\b.{0,60}\b(?:bomb|explosives?|weapons?|guns?|nerve\s+agent|poison|meth\w*|cocaine|heroin|"
    r"fentanyl|drugs?|someone|people|person|(?:my\s+)?(?:wife|husband|neighbou?r|boss)|money|passports?|ids?|"
    r"documents?|licen[cs]es?|accounts?|identity|children|organs?|bank|car)\b"
    r"|\b(?:build|make)\s+(?:a|an)\s+(?:pipe\s+)?bomb\b|\bkill\s+(?:myself|him|her|them|someone)\b"
    # made-up or abusive content on order (misinformation, insults)
    r"|\b(?:write|formulate|create|generate|compose|invent|come\s+up\s+with)\s+(?:me\s+)?(?:an?\s+|some\s+)?(?:\w+\s+)?"
    r"(?:untrue|false|fake|made[- ]up|misleading)\s+(?:\w+\s+)?(?:headlines?|news|stor(?:y|ies)|statements?|tweets?|"
    r"claims?|articles?|reports?)\b"
    r"|\b(?:write|formulate|create|generate|compose|invent|make|come\s+up\s+with)\s+(?:me\s+)?(?:an?\s+|some\s+)?"
    r"(?:\w+\s+)?(?:offensive|insulting|racist|sexist|hateful|abusive)\s+(?:\w+\s+)?(?:rhymes?|poems?|jokes?|songs?|"
    r"tweets?|comments?|slogans?|statements?)\b")
_HARMFUL_ZH = re.compile(
    r"(?:如何|怎么|怎样|教我|告诉我|方法|步骤|哪里(?:能|可以)?(?:买|搞))[^。？?]{0,20}"
    r"(?:制造|制作|合成|配制|购买|获取|弄到|搞到)[^。？?]{0,10}(?:炸弹|炸药|爆炸物|枪支?|毒品|冰毒|海洛因|摇头丸|毒药|管制刀具)"
    r"|(?:如何|怎么|怎样|教我|告诉我)[^。？?]{0,12}(?:杀(?:死|掉)?人|投毒|下毒|绑架|拐卖|洗钱|诈骗|盗刷|偷(?:窃|盗)?|抢劫|走私"
    r"|伪造|造假|办假证|做假证|黑进|入侵|破解)(?![^。？?]{0,6}(?:怎么办|如何处罚|判几年|犯法吗|违法吗|的处罚|罪))"
    r"|(?:伪造|假冒|变造)[^。？?]{0,8}(?:身份证|证件|公章|印章|发票|户口|护照|学历|证明)[^。？?]{0,8}(?:方法|教程|步骤|怎么做|如何做)")


# Rule families in the order their reason codes are reported.
#: Kept because each stops dev attacks the learned detector misses, at no dev false positive, or because it
#: reads structure a character model cannot (fake delimiters, letter-spacing) or decides the status (off-task).
#: jailbreak:en / jailbreak:zh / jailbreak:de, injection:leak and injection:scaffold were deleted from the
#: question path on 2026-12-03: on dev every attack they caught the learned detector caught too
#: (docs/guardrails.md); jailbreak:en / zh remain for passages (PASSAGE_RULES, qa_service/guard/output.py).
QUESTION_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("injection:delimiter", _DELIMITER), ("injection:hijack", _HIJACK),
    ("injection:structure", _STRUCTURE), ("injection:forget", _FORGET_OTHER), ("injection:dictate", _DICTATE),
    ("injection:spaced", _SPACED_PHRASES), ("injection:off_task", _OFF_TASK))
#: Orders to produce something unrelated to public services ("write a poem", "generate python code"): intercepted
#: like injections (they are the typical payload of one), but a question that is *only* such an order is a
#: citizen asking for something this service does not do, so it ends ``out_of_scope``, not ``blocked_injection``.
OFF_TASK_REASONS = frozenset({"injection:off_task"})
#: Reason code of the learned detector (qa_service/guard/learned.py).
LEARNED = "guard:learned"
#: The similarity layer's exemplar families (guard/exemplars.yaml) of the same kind.
OFF_TASK_FAMILIES = frozenset({"off_task_generation"})
#: Rules for retrieved passages (qa_service/guard/output.py): the jailbreak framings and the hijack orders.
PASSAGE_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("jailbreak:en", _JAILBREAK_EN), ("jailbreak:zh", _JAILBREAK_ZH), ("injection:hijack", _HIJACK))


def rule_reasons(text: str, rules: tuple[tuple[str, re.Pattern[str]], ...] = QUESTION_RULES) -> list[str]:
    """Reason codes of the injection rules (the ingestion scan's and the guard's own) that ``text`` matches."""
    return [*find_injection(text), *(code for code, pattern in rules if pattern.search(text))]


@dataclass(frozen=True)
class Span:
    """Which detector fired on which part: offsets into the normalised question (NFKC, zero-width characters
    removed, simplified Chinese — the text the answer path stores, before PII redaction); -1 when the match
    lies in a decoded payload rather than in the question's own text."""

    detector: str
    start: int
    end: int
    score: float | None = None

    @property
    def code(self) -> str:
        """The reason code staff see: ``span:<detector>:<start>-<end>``."""
        return f"span:{self.detector}:{self.start}-{self.end}"


@dataclass
class Verdict:
    """None status = let the question through; reasons are reported either way."""

    status: str | None = None
    reasons: list[str] = field(default_factory=list)
    decoded: list[str] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)


@lru_cache(maxsize=1)
def _opencc() -> Any:
    from opencc import OpenCC

    return OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional → simplified Chinese for matching (OpenCC tables)."""
    return str(_opencc().convert(text))


def decode_hidden(text: str) -> list[str]:
    """Base64 blobs, escaped runs and letter-spaced runs ("s a y  t h a t") decoded to text, for inspection only."""
    out: list[str] = []
    for m in _B64.finditer(text):
        blob = m.group(0)
        try:
            raw = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=False)
            s = raw.decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
        if s and sum(ch.isprintable() or ch.isspace() for ch in s) / len(s) > 0.9:
            out.append(s)
    out += [m.group(0).replace(" ", "") for m in _SPACED.finditer(text)]
    for m in _ESC.finditer(text):
        try:
            s = m.group(0).encode("latin-1", "ignore").decode("unicode_escape")
            out.append(unquote(s))
        except (UnicodeDecodeError, ValueError):
            continue
    return out


def matching_text(text: str) -> str:
    """NFKC (full-width → half-width), zero-width and tag characters removed, simplified Chinese."""
    cleaned, _ = normalise(unicodedata.normalize("NFKC", text))
    return to_simplified(cleaned)


def _span(code: str, m: re.Match[str], base_len: int) -> Span:
    return Span(code, m.start(), m.end()) if m.end() <= base_len else Span(code, -1, -1)


def rule_verdict(text: str, base: str | None = None) -> Verdict:
    """The rules alone: classification markings, the injection rule families, harmful requests.

    ``base`` is ``matching_text(text)`` when the caller has it already.
    """
    base = matching_text(text) if base is None else base
    decoded = decode_hidden(base)
    hay = "\n".join([base, *decoded])
    v = Verdict(decoded=decoded)
    if find_classification(hay):
        v.status, v.reasons = BLOCKED_CLASSIFIED, ["classified_marking"]
        return v
    reasons = list(find_injection(hay))
    for code, pattern in QUESTION_RULES:
        m = pattern.search(hay)
        if m:
            reasons.append(code)
            v.spans.append(_span(code, m, len(base)))
    if decoded and reasons:  # the decoded payloads are part of ``hay``
        reasons.append("injection:encoded_payload")
    harmful = _HARMFUL_EN.search(hay) or _HARMFUL_ZH.search(hay)
    if reasons and not (harmful and set(reasons) <= OFF_TASK_REASONS):
        v.status = OUT_OF_SCOPE if set(reasons) <= OFF_TASK_REASONS else BLOCKED_INJECTION
        v.reasons = reasons
        return v
    if harmful:  # an off-task order for harmful content ("write a fake news story") is harmful, not just off-task
        v.status, v.reasons = BLOCKED_HARMFUL, ["harmful_request", *reasons]
        v.spans.append(_span("harmful_request", harmful, len(base)))
    return v


def inspect(text: str) -> Verdict:
    """One verdict for a question (or any text a user sends): the rules, then the learned detector.

    The learned detector (qa_service/guard/learned.py) scores the question whole and sentence by sentence;
    when it fires, ``guard:learned`` joins the reasons and the sentence it fired on is given as a span. A
    question the rules call only off-task ("write a poem") stays ``out_of_scope`` when the model agrees.
    Every blocked verdict lists ``span:<detector>:<start>-<end>`` codes, so staff see what tripped what.
    """
    base = matching_text(text)
    v = rule_verdict(text, base)
    if v.status == BLOCKED_CLASSIFIED:
        return v
    lv = default_guard().check(base)
    if lv.blocked:
        v.spans.append(Span(LEARNED, lv.span.start, lv.span.end, lv.probability))
        if v.status is None:
            v.status, v.reasons = BLOCKED_INJECTION, [LEARNED]
        elif v.status == BLOCKED_HARMFUL:  # a jailbreak wrapped around a harmful request
            v.status, v.reasons = BLOCKED_INJECTION, [LEARNED, *v.reasons]
        else:
            v.reasons.append(LEARNED)
    if v.status is not None:
        v.reasons += [s.code for s in v.spans if s.code not in v.reasons]
    return v
