"""Generate the binary sample sources (PDF, DOCX, XLSX) of the Riverton knowledge base.

The text of every generated document is kept in this script so the binaries can be rebuilt
exactly: ``python knowledge/build_samples.py``. Output is deterministic (fixed PDF invariant
mode, fixed document properties and fixed ZIP member timestamps).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from docx import Document
from docx.shared import Pt
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import (
    Flowable,
    ListFlowable,
    ListItem,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

log = logging.getLogger("build_samples")

ROOT = Path(__file__).resolve().parent
FIXED_TIME = dt.datetime(2025, 1, 1, 0, 0, 0)
ZIP_TIME = (2025, 1, 1, 0, 0, 0)
AUTHOR = "Riverton knowledge team"
CJK_FONT = "STSong-Light"


@dataclass(frozen=True)
class Block:
    """One piece of document content: a heading, paragraph, bullet list, table or page break."""

    kind: str
    text: str = ""
    items: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()


@dataclass
class DocSpec:
    """One generated document: where it goes, its language and its content blocks."""

    path: str
    title: str
    lang: str
    blocks: list[Block] = field(default_factory=list)


def h1(text: str) -> Block:
    return Block("h1", text=text)


def h2(text: str) -> Block:
    return Block("h2", text=text)


def para(text: str) -> Block:
    return Block("p", text=text)


def bullets(*items: str) -> Block:
    return Block("ul", items=items)


def grid(*rows: tuple[str, ...]) -> Block:
    return Block("table", rows=rows)


def page_break() -> Block:
    return Block("pagebreak")


# --------------------------------------------------------------------------------------------
# City tenant
# --------------------------------------------------------------------------------------------

HUKOU = DocSpec(
    "city/hukou-qianru.docx",
    "河滨市户口迁入办事指南",
    "zh",
    [
        h1("河滨市户口迁入办事指南"),
        para(
            "本指南说明外地户籍人员将户口迁入河滨市的条件、材料和办理流程。户口迁入、迁出均不收费。"
            "办理地点：河滨市政务服务中心一楼户籍窗口（7—10号窗口），滨江区滨江大道188号；"
            "也可到拟落户地址所属派出所办理。"
        ),
        h2("一、迁入类别和条件"),
        grid(
            ("类别", "条件", "可随迁人员"),
            ("人才落户", "全日制大专及以上学历，年龄45周岁以下，与本市用人单位签订劳动合同", "配偶、未成年子女"),
            ("购房落户", "在本市拥有合法产权住房，取得不动产权证书，不设面积限制", "配偶、未成年子女"),
            ("夫妻投靠", "与本市户籍人员结婚满2年", "未成年子女"),
            ("老人投靠子女", "男年满60周岁、女年满55周岁，投靠本市户籍子女", "无"),
            ("未成年子女投靠父母", "父母一方为本市户籍", "无"),
        ),
        h2("二、申请材料"),
        bullets(
            "申请人居民身份证、户口簿；",
            "人才落户：毕业证书、劳动合同；",
            "购房落户：不动产权证书；",
            "投靠落户：结婚证或出生医学证明等亲属关系证明；",
            "随迁配偶、子女的身份证件和关系证明。",
        ),
        h2("三、办理流程和时限"),
        bullets(
            "提交申请：窗口或“河滨通”APP在线提交；",
            "审核并签发准迁证：受理后5个工作日内完成；准迁证有效期40天；",
            "落户：实行跨省迁移“一站式”办理，迁出地户口由系统自动迁出，申请人无需回原籍；"
            "迁入地在收到迁移信息后3个工作日内办结落户，发放新户口簿。",
        ),
        h2("四、收费"),
        para(
            "户口迁入、迁出、户口簿首次签发均免费。落户后如需换领身份证（住址变更），按身份证换领标准收取工本费20元。"
        ),
        h2("五、温馨提示"),
        para("准迁证超过40天有效期未落户的，需重新申请。咨询电话：市民服务热线12345。"),
    ],
)

GETIHU = DocSpec(
    "city/getihu-dengji.docx",
    "个体工商户设立登记办事指南",
    "zh",
    [
        h1("个体工商户设立登记办事指南"),
        para(
            "本指南适用于在河滨市申请设立个体工商户。个体工商户设立、变更、注销登记均不收费。"
            "承办部门：河滨市市场监督管理局，受理地点：河滨市政务服务中心三楼31—38号窗口。"
        ),
        h2("一、申请条件"),
        bullets(
            "经营者年满18周岁，具有完全民事行为能力；",
            "有固定的经营场所；住宅作为经营场所的，应提交“住改经”承诺书，并遵守有关安全和环保规定；",
            "经营范围不属于法律法规禁止的项目；需要许可的项目（如食品经营），领取营业执照后另行申请许可。",
        ),
        h2("二、申请材料"),
        grid(
            ("材料", "说明"),
            ("个体工商户登记申请书", "窗口领取或在线填写，经营者签字"),
            ("经营者身份证", "原件，现场核验"),
            ("经营场所证明", "租赁合同或不动产权证书；住宅需另附“住改经”承诺书"),
            ("委托书和代理人身份证", "委托他人办理时提交"),
        ),
        para(
            "个体工商户可以不起字号名称；起字号的，名称由行政区划、字号、行业、组织形式组成，例如“河滨市某某小吃店”。"
        ),
        h2("三、办理时限"),
        bullets(
            "窗口申请：材料齐全、符合法定形式的，当场办结，当场领取营业执照；",
            "网上申请：通过“河滨企业开办一网通”提交，1个工作日内办结，同步发放电子营业执照。",
        ),
        h2("四、年度报告"),
        para(
            "个体工商户应于每年1月1日至6月30日报送上一年度年度报告。未按期报送的，将被标记为经营异常状态；"
            "补报后可申请恢复正常记载状态。"
        ),
        h2("五、注销"),
        para(
            "未发生债权债务或已将债权债务清偿完结的个体工商户，可申请简易注销，公示期为20日，"
            "公示期满无异议的即可办理注销。"
            "领取营业执照后，请在30日内通过河滨市电子税务局完成涉税信息确认。"
        ),
    ],
)

CHUANGKOU = DocSpec(
    "city/chuangkou-shouli-zhiyin.docx",
    "窗口受理操作指引（工作人员用）",
    "zh",
    [
        h1("窗口受理操作指引（工作人员用）"),
        para(
            "本指引供河滨市政务服务中心窗口工作人员、窗口组长和值班长使用，不对外公开。"
            "所有事项均在“河滨统一受理平台”（RUAP）中登记。"
        ),
        h2("一、取号前缀和分流"),
        grid(
            ("前缀", "业务", "窗口"),
            ("A", "户籍、身份证", "1—10号"),
            ("B", "居住证", "1—6号"),
            ("C", "社保登记、社保卡", "21—24号"),
            ("D", "住房公积金", "25—28号"),
            ("E", "个体工商户、企业登记", "31—38号"),
            ("F", "综合咨询、居民停车证", "0号、11号"),
        ),
        para("年满70周岁的老人、持残疾人证人员和孕妇走“绿色通道”，由导服人员直接引导至0号综合窗口，不需取号排队。"),
        h2("二、首问负责和一次性告知"),
        para(
            "首位接待的工作人员对群众诉求负责到底，不得以“不归我管”推诿。材料不全的，必须当场出具《一次性告知单》，"
            "编号规则为 RC-GZ-年份-五位流水号（例如 RC-GZ-2025-00017），在RUAP中打印，一份交群众，一份归档。"
        ),
        h2("三、容缺受理"),
        para(
            "以下情形可以容缺受理：居住证申请缺少劳动合同但社保记录满6个月的；"
            "个体工商户设立缺少租赁合同原件但能提供复印件的。"
            "容缺受理须由申请人签署《容缺受理承诺书》，承诺5个工作日内补齐材料，并登记在RUAP“容缺台账”中。"
            "逾期未补齐的，系统自动终止办理并短信告知。"
        ),
        h2("四、等候时长预警"),
        para(
            "取号后等候超过40分钟，RUAP对该楼层显示“黄灯提醒”，窗口组长应在10分钟内开启备用窗口或调配人员；"
            "超过60分钟显示“红灯提醒”，值班长（分机8016）到场协调。"
        ),
        h2("五、收费和对账"),
        para(
            "每日17:45前完成收费对账：窗口收费合计加减免登记金额应与RUAP记录一致。工本费减免的具体规定见《Fee "
            "waivers at the counter》员工说明。"
        ),
        h2("六、差评处理"),
        para(
            "收到“差评件”的，窗口组长应在24小时内电话回访，回访结果录入RUAP；同一窗口一周内差评2次以上的，"
            "列入周五例会讲评。"
        ),
    ],
)

SHEBAO_ZH = DocSpec(
    "city/shebao-linghuo-jiuye.pdf",
    "灵活就业人员参加社会保险指南",
    "zh",
    [
        h1("灵活就业人员参加社会保险指南"),
        para(
            "本指南由河滨市社会保险事业管理中心编制，适用于无雇工的个体工商户、非全日制从业人员以及新就业形态劳动者等"
            "灵活就业人员"
            "以个人身份参加基本养老保险和职工基本医疗保险。"
        ),
        h2("一、参保条件"),
        bullets(
            "年满16周岁、未达到法定退休年龄；",
            "具有本市户籍，或持有有效的《河滨市居住证》；",
            "未在用人单位参加职工社会保险。",
        ),
        h2("二、缴费基数和费率"),
        para(
            "灵活就业人员可在本市缴费基数上下限之间自主选择缴费基数。2025年度（2025年7月1日至2026年6月30日）缴费基数"
            "下限为每月4462元，上限为每月22311元。"
        ),
        grid(
            ("险种", "费率", "按下限4462元每月缴费"),
            ("基本养老保险", "20%", "892.40元"),
            ("职工基本医疗保险", "9%", "401.58元"),
            ("合计", "29%", "1293.98元"),
        ),
        page_break(),
        h2("三、办理流程"),
        bullets(
            "登记：携带身份证到政务服务中心二楼21—24号窗口，或在“河滨通”APP“社保”栏目在线登记；",
            "签订代扣协议：绑定本人银行账户，每月25日前自动扣款；",
            "变更基数：每年7月可调整一次缴费基数。",
        ),
        h2("四、断缴和补缴"),
        para(
            "因余额不足未能扣款的，可在同一自然年度内补缴，补缴不加收滞纳金；跨年度的月份不能补缴。"
            "医疗保险中断缴费超过3个月的，重新缴费后设6个月待遇等待期。"
        ),
        h2("五、社会保障卡"),
        para(
            "首次申领社保卡免费，2025年起补换卡也免收费用。政务服务中心二楼21—24号窗口提供即时制卡服务，"
            "约30分钟可领取。"
        ),
        h2("六、养老保险关系转移"),
        para("跨省流动就业的，可通过“河滨通”APP申请转入养老保险关系，转移办理时限为45个工作日。"),
        h2("七、咨询"),
        para("社会保险咨询热线12333；河滨市社会保险事业管理中心电话0571-5550 1100。"),
    ],
)

SOCIAL_EN = DocSpec(
    "city/social-insurance-guide.pdf",
    "Social insurance in Riverton: a guide for employers and employees",
    "en",
    [
        h1("Social insurance in Riverton: a guide for employers and employees"),
        para(
            "This guide from the Riverton Social Insurance Administration Centre explains the five social insurance "
            "schemes, who pays what, and how to register. The Centre is on the 2nd floor of the Riverton City "
            "Service Centre, "
            "188 Binjiang Avenue, windows 21-24."
        ),
        h2("1. Contribution rates"),
        grid(
            ("Scheme", "Employer", "Employee"),
            ("Basic pension", "16%", "8%"),
            ("Basic medical (including maternity)", "8%", "2%"),
            ("Unemployment", "0.5%", "0.5%"),
            ("Work injury", "0.2% to 1.9% by industry risk class", "none"),
        ),
        para(
            "Contributions are calculated on the employee's contribution base: the average monthly wage of the "
            "previous "
            "year, kept within the Riverton limits. For the contribution year 1 July 2025 to 30 June 2026 the lower "
            "limit is "
            "4,462 yuan a month and the upper limit is 22,311 yuan a month."
        ),
        h2("2. Registering employees"),
        para(
            "Employers must register a new employee for social insurance within 30 days of the start of employment, "
            "online "
            "through the Riverton Go business portal or at windows 21-24. Employers deduct the employee share from "
            "wages and pay "
            "both shares together each month."
        ),
        page_break(),
        h2("3. Flexibly employed people"),
        para(
            "Self-employed people without employees, part-time workers and platform workers can join the pension and "
            "medical schemes as individuals, choosing a base between the lower and upper limits. They pay 20% for "
            "pension "
            "and 9% for medical insurance. At the lower limit this is 1,293.98 yuan a month. You need a Riverton "
            "hukou or a "
            "valid Riverton residence permit."
        ),
        h2("4. Social security card"),
        bullets(
            "The first card is free; from 2025 replacement cards are also free.",
            "Instant card issuance at windows 21-24 takes about 30 minutes.",
            "On Saturdays 9:00-12:00 the card service is open as well.",
        ),
        h2("5. Moving to or from another province"),
        para(
            "Pension insurance can be transferred between provinces. Apply in the Riverton Go app; the transfer "
            "takes "
            "45 working days. Medical insurance records are transferred at the same time."
        ),
        h2("6. Contact"),
        para(
            "Social insurance hotline 12333. Social Insurance Administration Centre telephone 0571-5550 1100, "
            "Monday to Friday 9:00-12:00 and 13:30-17:30."
        ),
    ],
)

GONGJIJIN = DocSpec(
    "city/gongjijin-zhinan.pdf",
    "河滨市住房公积金缴存、提取和贷款指南",
    "zh",
    [
        h1("河滨市住房公积金缴存、提取和贷款指南"),
        para("河滨市住房公积金管理中心设在河滨市政务服务中心二楼25—28号窗口。咨询热线12329，中心电话0571-5550 1200。"),
        h2("一、缴存"),
        bullets(
            "单位和职工缴存比例相同，均可在5%至12%之间确定；",
            "缴存基数为职工上一年度月平均工资，最高不超过本市上一年度职工月平均工资的3倍；",
            "新入职职工自入职次月起缴存，单位应在30日内办理缴存登记。",
        ),
        h2("二、租房提取"),
        para("职工及配偶在本市无自有住房且租房自住的，可按月提取住房公积金支付房租："),
        grid(
            ("情形", "提取限额"),
            ("单身职工", "每月最高1500元"),
            ("已婚家庭（夫妻合计）", "每月最高2400元"),
        ),
        para("通过“河滨通”APP申请，审核通过后3个工作日内到账。"),
        page_break(),
        h2("三、购房提取"),
        para(
            "购买本市自住住房的，职工及配偶可在取得不动产权证书或备案购房合同之日起2年内提取，"
            "提取金额不超过实际支付的购房款。"
        ),
        h2("四、离开本市"),
        para(
            "与单位终止劳动关系且离开本市的，可将公积金转移到新就业城市；未在异地就业的，"
            "账户封存满6个月后可申请销户提取。"
        ),
        h2("五、公积金贷款"),
        grid(
            ("项目", "标准"),
            ("申请条件", "连续足额缴存满6个月"),
            ("最高额度（单人缴存）", "60万元"),
            ("最高额度（夫妻双方缴存）", "90万元"),
            ("首套房利率（5年以上）", "2.85%"),
            ("首套房利率（5年及以下）", "2.35%"),
            ("最长期限", "30年，且不超过法定退休年龄后5年"),
        ),
        h2("六、办理时间"),
        para("周一至周五上午9:00—12:00，下午13:30—17:30。周六不办理公积金业务。"),
    ],
)

FEES_2023 = DocSpec(
    "city/shoufei-biaozhun-2023.pdf",
    "河滨市政务服务中心窗口收费标准（2023年版）",
    "zh",
    [
        h1("河滨市政务服务中心窗口收费标准（2023年版）"),
        para("本标准自2023年1月1日起执行。"),
        h2("一、证件类"),
        grid(
            ("项目", "收费标准"),
            ("居民身份证换领、补领", "20元"),
            ("临时居民身份证", "10元"),
            ("居住证补领、换领", "20元"),
            ("驾驶证换证、补证", "10元"),
            ("结婚证补领", "9元"),
            ("社会保障卡补换", "15元"),
        ),
        h2("二、停车类"),
        grid(
            ("项目", "收费标准"),
            ("居民停车证（年）", "600元/年，新能源汽车不设优惠"),
            ("访客停车日票", "8元/天，每户每年不超过30张"),
        ),
        page_break(),
        h2("三、邮寄服务"),
        para("证件EMS寄递（市内）15元/件。"),
        h2("四、办公时间"),
        para("周一至周五上午9:00—12:00，下午13:30—17:30。周六、周日及法定节假日不对外办公。"),
        h2("五、缴费方式"),
        para("窗口支持银行卡和现金缴费。"),
    ],
)

# --------------------------------------------------------------------------------------------
# Tax tenant
# --------------------------------------------------------------------------------------------

GESHUI_2024 = DocSpec(
    "tax/geshui-huisuan-2024.pdf",
    "2024年度个人所得税综合所得汇算清缴办税指引",
    "zh",
    [
        h1("2024年度个人所得税综合所得汇算清缴办税指引"),
        para(
            "河滨市税务局编制。综合所得包括工资薪金、劳务报酬、稿酬和特许权使用费四项所得。"
            "纳税人应在年度终了后对上一年度综合所得进行汇总计算，多退少补。"
        ),
        h2("一、办理时间"),
        para(
            "2024年度汇算办理时间为2025年3月1日至6月30日。2025年无需预约，"
            "纳税人可在办理期间内任意一天通过河滨税务APP或河滨市电子税务局办理。"
        ),
        h2("二、无需办理汇算的情形"),
        bullets(
            "年度综合所得收入不超过12万元且需要补税的；",
            "年度汇算需补税金额不超过400元的；",
            "已预缴税额与年度应纳税额一致的。",
        ),
        h2("三、扣除标准"),
        para("基本减除费用每年6万元（每月5000元）。专项附加扣除标准如下："),
        grid(
            ("项目", "扣除标准"),
            ("子女教育", "每个子女每月2000元"),
            ("3岁以下婴幼儿照护", "每个婴幼儿每月2000元"),
            ("赡养老人", "每月3000元；非独生子女分摊，每人不超过1500元"),
            ("住房贷款利息", "首套住房每月1000元"),
            ("住房租金", "本市每月1500元"),
            ("继续教育", "学历教育每月400元；职业资格证书取得当年3600元"),
            ("大病医疗", "自付超过15000元的部分，每年最高80000元"),
        ),
        para("住房贷款利息和住房租金不能在同一期间同时扣除。"),
        page_break(),
        h2("四、退税"),
        para(
            "提交申报后，税务机关进行审核。审核通过的，退税款一般在10个工作日内退到纳税人本人名下的银行账户。"
            "纳税人可在APP“退税进度”中查询。退税审核中发现疑点的，税务机关可能电话联系纳税人核实或要求补充资料。"
        ),
        h2("五、补税"),
        para("需要补税的，应在2025年6月30日前缴纳。逾期未缴的，自2025年7月1日起按日加收万分之五的滞纳金。"),
        h2("六、更正申报"),
        para("汇算申报提交后发现错误的，可在APP中更正申报；已退税的，更正后如需补税应及时缴纳。"),
        h2("七、咨询渠道"),
        para(
            "纳税服务热线12366（工作日8:30—17:30）；河滨市税务局办税服务厅（滨江区税苑路66号），"
            "周一至周五上午9:00—12:00，下午13:30—17:00；政务服务中心四楼税务专区。"
        ),
    ],
)

IIT_2022 = DocSpec(
    "tax/iit-reconciliation-2022.pdf",
    "Individual income tax annual reconciliation for tax year 2022",
    "en",
    [
        h1("Individual income tax annual reconciliation: tax year 2022"),
        para(
            "Published by the Riverton Tax Bureau in February 2023. This guide applies to the reconciliation of tax "
            "year 2022 only."
        ),
        h2("Filing period and appointments"),
        para(
            "The reconciliation for tax year 2022 runs from 1 March 2023 to 30 June 2023. To spread demand, "
            "taxpayers who "
            "want to file between 1 March and 20 March 2023 must book an appointment in the Riverton Tax app. From "
            "21 March "
            "no appointment is needed."
        ),
        h2("Who must file"),
        para(
            "You must file if you want a refund, or if you owe more than 400 yuan and your annual comprehensive "
            "income exceeds 120,000 yuan."
        ),
        h2("Special additional deductions for 2022 (per month)"),
        grid(
            ("Deduction", "Amount"),
            ("Child education", "1,000 yuan per child"),
            ("Infant care (under 3, from 2022)", "1,000 yuan per child"),
            ("Elderly parent support", "2,000 yuan; siblings share, at most 1,000 yuan each"),
            ("Housing loan interest", "1,000 yuan"),
            ("Housing rent (Riverton)", "1,500 yuan"),
            ("Continuing education", "400 yuan"),
        ),
        page_break(),
        h2("Refunds"),
        para(
            "After the bureau approves a refund claim, the refund is credited to your bank account within 20 working "
            "days."
        ),
        h2("Paying tax you owe"),
        para("Pay by 30 June 2023. A late payment surcharge of 0.05% per day applies from 1 July 2023."),
        h2("Help"),
        para("Tax service hotline 12366. Main tax hall, 66 Shuiyuan Road."),
    ],
)

FAPIAO = DocSpec(
    "tax/shudian-fapiao.docx",
    "数电发票开具和使用指南",
    "zh",
    [
        h1("数电发票开具和使用指南"),
        para(
            "自2024年起，本市纳税人统一通过河滨市电子税务局（etax.riverton.example）发票服务平台开具全面数字化的电子"
            "发票（数电发票），"
            "无需税控设备，无需领用纸质发票。"
        ),
        h2("一、开票额度"),
        para(
            "新办小规模纳税人完成涉税信息确认后即可开票，初始每月开票额度为10万元（当月开具发票金额合计）。"
            "额度根据纳税人申报、缴税情况每月自动调整；需要提高额度的，可在平台申请，税务机关在2个工作日内答复。"
        ),
        h2("二、开票要求"),
        grid(
            ("项目", "要求"),
            ("购买方信息", "个人填写姓名；单位填写名称和统一社会信用代码"),
            ("商品或服务", "如实填写名称、数量、单价和金额，与实际交易一致"),
            ("交付方式", "发送至购买方电子邮箱或河滨税务APP"),
        ),
        h2("三、开错了怎么办"),
        para(
            "数电发票开具后不能作废。发票开具有误或发生销货退回的，由销售方开具红字发票冲销，再重新开具正确的发票。"
            "购买方已用于抵扣进项税额的，应由购买方先在平台确认《红字发票信息确认单》，销售方再开具红字发票。"
        ),
        h2("四、消费者索要发票"),
        para(
            "消费者可向任何销售方索要发票，个人只需提供姓名。销售方拒绝开具发票的，可拨打12366举报，"
            "提供商户名称、消费日期和金额。"
        ),
        h2("五、保存期限"),
        para("发票数据保存在平台中。单位和个体工商户应将发票及相关会计凭证保存10年以上。"),
    ],
)

REFUNDS_EN = DocSpec(
    "tax/tax-refunds.docx",
    "Tax refunds: how to claim back overpaid tax",
    "en",
    [
        h1("Tax refunds: how to claim back overpaid tax"),
        para(
            "This guide explains how individuals and businesses in Riverton can claim back tax they have overpaid. "
            "For refunds from the individual income tax annual reconciliation, see the tax year 2024 reconciliation "
            "guide."
        ),
        h2("Time limit for claims"),
        para(
            "If you have paid more tax than you owe, you can claim a refund within 3 years of the date the tax was "
            "paid. "
            "The refund includes interest at the bank deposit rate for the same period. If the bureau itself finds "
            "an "
            "overpayment, it refunds it without a claim."
        ),
        h2("How the claim is handled"),
        grid(
            ("Step", "Who", "Time"),
            ("Submit the refund application in Riverton e-Tax or at the tax hall", "Taxpayer", "Any working day"),
            ("Check the claim and decide", "Tax bureau", "Within 30 days of receiving the claim"),
            ("Send the refund to the treasury for payment", "Tax bureau", "After approval"),
            ("Money credited to your account", "Treasury and bank", "Usually 3 to 5 working days after approval"),
        ),
        h2("Documents"),
        para(
            "Online claims need no paper documents. At the tax hall, bring your identity card (or business licence "
            "and the "
            "authorised person's ID) and the payment records. The refund is paid only to a bank account in the "
            "taxpayer's own name."
        ),
        h2("Individual income tax reconciliation refunds"),
        para(
            "Refunds from the annual reconciliation follow the reconciliation guide: once approved, they are "
            "normally "
            "credited within 10 working days."
        ),
        h2("If a claim is refused"),
        para(
            "The bureau explains the reason in writing. You can apply for administrative reconsideration within 60 "
            "days of "
            "receiving the decision."
        ),
        h2("Help"),
        para("Hotline 12366, or the main tax hall at 66 Shuiyuan Road, Monday to Friday 9:00-12:00 and 13:30-17:00."),
    ],
)

CALENDAR = DocSpec(
    "tax/tax-calendar-2025.pdf",
    "Riverton tax calendar 2025",
    "en",
    [
        h1("Riverton tax calendar 2025"),
        para(
            "Monthly tax returns (VAT for monthly filers, withheld individual income tax, and other monthly taxes) "
            "are due by "
            "the 15th of each month. When the deadline falls on a weekend or public holiday it is extended. The "
            "table below "
            "shows the actual 2025 deadlines in Riverton."
        ),
        h2("Monthly filing deadlines"),
        grid(
            ("Month", "Deadline", "Notes"),
            ("January", "15 January", "Also quarterly returns for Q4 2024"),
            ("February", "19 February", "Extended for the Spring Festival"),
            ("March", "17 March", "15 March is a Saturday"),
            ("April", "18 April", "Extended for Qingming; quarterly returns for Q1"),
            ("May", "21 May", "Extended for Labour Day"),
            ("June", "16 June", "15 June is a Sunday"),
            ("July", "15 July", "Quarterly returns for Q2"),
            ("August", "15 August", ""),
            ("September", "15 September", ""),
            ("October", "27 October", "Extended for National Day; quarterly returns for Q3"),
            ("November", "17 November", "15 November is a Saturday"),
            ("December", "15 December", ""),
        ),
        page_break(),
        h2("Annual deadlines"),
        bullets(
            "Individual income tax annual reconciliation for tax year 2024: 1 March to 30 June 2025.",
            "Property tax and urban land use tax for 2025: 1 May to 31 May 2025, paid once for the whole year.",
            "Enterprise income tax annual return for 2024: by 31 May 2025.",
            "Annual report of individual businesses to the market regulator (not a tax filing): 1 January to 30 June "
            "2025.",
        ),
        h2("Missing a deadline"),
        para(
            "Late payment attracts a surcharge of 0.05% of the unpaid tax per day. Late filing can lead to a fine of "
            "up to "
            "2,000 yuan; a first late filing that is corrected within the period set by the bureau is not fined."
        ),
    ],
)

TUISHUI_STAFF = DocSpec(
    "tax/tuishui-fuhe-zhiyin.docx",
    "个税汇算退税审核工作指引（工作人员用）",
    "zh",
    [
        h1("个税汇算退税审核工作指引（工作人员用）"),
        para("本指引供河滨市税务局个人所得税汇算审核岗位使用，不对纳税人公开。审核在“汇算审核工作台”中进行。"),
        h2("一、分级审核"),
        grid(
            ("退税金额", "审核方式", "时限"),
            ("5000元及以下且无风险标签", "系统自动审核通过", "提交后次日"),
            ("5000元以上至20000元", "审核岗人工审核", "5个工作日内"),
            ("20000元以上", "双人复核，填写《疑点退税复核单》（TR-09）", "10个工作日内"),
        ),
        h2("二、风险标签"),
        bullets(
            "R1（低）：专项附加扣除信息与上年差异较大，人工抽查；",
            "R2（中）：同一子女被父母双方合计扣除超过100%；同一期间同时填报住房贷款利息和住房租金；",
            "R3（高）：大病医疗扣除超过60000元；收入来源单位为非正常户；同一银行账户被3个以上纳税人用于退税。",
        ),
        para("带R2标签的，审核岗应电话核实；带R3标签的，一律暂停退税并转风险管理科，同时填写TR-09。"),
        h2("三、电话核实“三问”"),
        para(
            "核实电话按“三问”进行：一问扣除项目的真实情况，二问相关证明材料是否留存，三问是否由他人代为填报。"
            "通话结束后在工作台记录结论，不得在电话中要求纳税人提供银行卡密码或验证码。"
        ),
        h2("四、退回修改"),
        para(
            "审核不通过的，选择退回理由代码（D1 扣除信息不实、D2 收入信息待核、D3 银行账户异常），"
            "系统自动通知纳税人更正。"
        ),
    ],
)

PENALTY_STAFF = DocSpec(
    "tax/penalty-discretion.pdf",
    "Penalty discretion grid for late filing (staff guidance)",
    "en",
    [
        h1("Penalty discretion grid for late filing (staff guidance)"),
        para(
            "Guidance for tax officers of the Riverton Tax Bureau who decide penalties for late filing. The public "
            "rules say only "
            "that late filing may be fined up to 2,000 yuan, or 2,000 to 10,000 yuan in serious cases. This grid, "
            "known as "
            "Grid PD-2025, sets the amounts officers apply so that similar cases are treated alike. It is not "
            "published to taxpayers."
        ),
        h2("1. Late filing by individuals and individual businesses"),
        grid(
            ("Situation", "Penalty"),
            ("First late filing, corrected within the notice period", "No penalty (first-violation exemption)"),
            ("Late by 30 days or less, not the first time", "200 yuan"),
            ("Late by 31 to 90 days", "500 yuan"),
            ("Late by more than 90 days", "1,000 to 2,000 yuan"),
            ("Not corrected after a correction notice", "2,000 to 10,000 yuan (serious case, section chief approval)"),
        ),
        h2("2. Late filing by companies"),
        para("For companies, double the amounts in section 1, up to 2,000 yuan for non-serious cases."),
        page_break(),
        h2("3. Late payment surcharge"),
        para(
            "The 0.05% daily surcharge is set by law. Officers cannot reduce or waive it. Only where the delay was "
            "caused by "
            "force majeure (for example a declared natural disaster) can the surcharge be waived, with Form PD-4 "
            "approved by the "
            "district office director."
        ),
        h2("4. Recording the decision"),
        para(
            "Record the grid line applied (for example PD-2025 line 1-3) in the penalty decision. A deviation from "
            "the grid needs "
            "a written reason and section chief approval."
        ),
        h2("5. Talking to taxpayers"),
        para(
            "Tell taxpayers the public rules and that a first late filing corrected in time is not penalised. Do not "
            "quote the "
            "grid amounts before a decision is made."
        ),
    ],
)

PDF_DOCS: list[DocSpec] = [SHEBAO_ZH, SOCIAL_EN, GONGJIJIN, FEES_2023, GESHUI_2024, IIT_2022, CALENDAR, PENALTY_STAFF]
DOCX_DOCS: list[DocSpec] = [HUKOU, GETIHU, CHUANGKOU, FAPIAO, REFUNDS_EN, TUISHUI_STAFF]

FAQ_TAX_XLSX: list[tuple[str, str, str]] = [
    (
        "When is the 2024 individual income tax annual reconciliation?",
        "From 1 March to 30 June 2025. No appointment is needed in 2025.",
        "Individual income tax",
    ),
    (
        "Do I have to file the reconciliation if I owe 300 yuan?",
        "No. If the tax you owe for the year is 400 yuan or less you do not need to file.",
        "Individual income tax",
    ),
    (
        "How much is the housing rent deduction in Riverton?",
        "1,500 yuan a month. It cannot be claimed in the same months as housing loan interest.",
        "Individual income tax",
    ),
    (
        "How long does the annual reconciliation refund take?",
        "Once approved, it is normally credited within 10 working days to a bank account in your own name.",
        "Refunds",
    ),
    (
        "How long do I have to claim back overpaid tax?",
        "3 years from the date the tax was paid. The bureau decides within 30 days of receiving the claim.",
        "Refunds",
    ),
    ("What VAT rate do small-scale taxpayers pay?", "3%, reduced to 1% until 31 December 2027.", "VAT"),
    (
        "Is an individual business with 80,000 yuan of sales a month exempt from VAT?",
        "Yes. Monthly sales of 100,000 yuan or less (300,000 yuan a quarter) are exempt.",
        "VAT",
    ),
    (
        "When is the quarterly VAT return for Q3 2025 due?",
        "By 27 October 2025, extended because of the National Day holiday.",
        "Deadlines",
    ),
    ("When do I pay property tax in 2025?", "Once for the whole year, between 1 May and 31 May 2025.", "Property tax"),
    ("What is the late payment surcharge?", "0.05% of the unpaid tax for each day of delay.", "Penalties"),
    (
        "What is the initial monthly invoicing limit for a new small-scale taxpayer?",
        "100,000 yuan a month. It is adjusted automatically and can be raised on application.",
        "Invoices",
    ),
    (
        "A shop refused to give me an invoice. What can I do?",
        "Report it to the 12366 hotline with the shop name, date and amount.",
        "Invoices",
    ),
    (
        "Where is the main tax service hall?",
        "66 Shuiyuan Road, Binjiang District. Monday to Friday 9:00-12:00 and 13:30-17:00.",
        "Contact",
    ),
]


# --------------------------------------------------------------------------------------------
# Renderers
# --------------------------------------------------------------------------------------------


def _pdf_styles(lang: str) -> dict[str, ParagraphStyle]:
    font = CJK_FONT if lang == "zh" else "Helvetica"
    bold = CJK_FONT if lang == "zh" else "Helvetica-Bold"
    wrap = "CJK" if lang == "zh" else None
    base = {"fontName": font, "wordWrap": wrap}
    return {
        "h1": ParagraphStyle("h1", fontName=bold, fontSize=17, leading=24, spaceAfter=10, wordWrap=wrap),
        "h2": ParagraphStyle("h2", fontName=bold, fontSize=13, leading=19, spaceBefore=8, spaceAfter=5, wordWrap=wrap),
        "p": ParagraphStyle("p", fontSize=10.5, leading=16, spaceAfter=6, **base),
        "cell": ParagraphStyle("cell", fontSize=9.5, leading=13, **base),
    }


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _pdf_flowables(spec: DocSpec) -> list[Flowable]:
    styles = _pdf_styles(spec.lang)
    out: list[Flowable] = []
    for block in spec.blocks:
        kind = block.kind
        if kind in ("h1", "h2", "p"):
            out.append(Paragraph(_escape(block.text), styles[kind]))
        elif kind == "ul":
            items = [ListItem(Paragraph(_escape(t), styles["p"]), leftIndent=12) for t in block.items]
            out.append(ListFlowable(items, bulletType="bullet", start="•", leftIndent=12, bulletFontName="Helvetica"))
        elif kind == "table":
            rows = [[Paragraph(_escape(c), styles["cell"]) for c in row] for row in block.rows]
            table = Table(
                rows, repeatRows=1, hAlign="LEFT", colWidths=[(A4[0] - 40 * mm) / len(rows[0])] * len(rows[0])
            )
            table.setStyle(
                TableStyle(
                    [
                        ("GRID", (0, 0), (-1, -1), 0.5, "#777777"),
                        ("BACKGROUND", (0, 0), (-1, 0), "#e8eef4"),
                        ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ]
                )
            )
            out.append(table)
            out.append(Spacer(1, 6))
        elif kind == "pagebreak":
            out.append(PageBreak())
        else:
            raise ValueError(f"unknown block kind {kind!r} in {spec.path}")
    return out


def build_pdf(spec: DocSpec, root: Path) -> Path:
    """Render one document to PDF (CJK text uses the built-in STSong-Light CID font)."""
    target = root / spec.path
    doc = SimpleDocTemplate(
        str(target),
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=20 * mm,
        bottomMargin=20 * mm,
        title=spec.title,
        author=AUTHOR,
        creator=AUTHOR,
        subject=spec.title,
        invariant=1,
        lang="zh-CN" if spec.lang == "zh" else "en",
    )
    doc.build(_pdf_flowables(spec))
    return target


def build_docx(spec: DocSpec, root: Path) -> Path:
    """Render one document to DOCX with Heading 1/Heading 2 styles and grid tables."""
    target = root / spec.path
    document = Document()
    normal = document.styles["Normal"]
    normal.font.size = Pt(10.5)
    for block in spec.blocks:
        kind = block.kind
        if kind == "h1":
            document.add_heading(block.text, level=1)
        elif kind == "h2":
            document.add_heading(block.text, level=2)
        elif kind == "p":
            document.add_paragraph(block.text)
        elif kind == "ul":
            for item in block.items:
                document.add_paragraph(item, style="List Bullet")
        elif kind == "table":
            rows = block.rows
            table = document.add_table(rows=len(rows), cols=len(rows[0]))
            table.style = "Table Grid"
            for r, row in enumerate(rows):
                for c, value in enumerate(row):
                    table.cell(r, c).text = value
        elif kind == "pagebreak":
            document.add_page_break()
        else:
            raise ValueError(f"unknown block kind {kind!r} in {spec.path}")
    props = document.core_properties
    props.title = spec.title
    props.author = AUTHOR
    props.last_modified_by = AUTHOR
    props.language = "zh-CN" if spec.lang == "zh" else "en-GB"
    props.created = FIXED_TIME
    props.modified = FIXED_TIME
    props.last_printed = FIXED_TIME
    props.revision = 1
    document.save(str(target))
    normalise_zip(target)
    return target


def build_faq_xlsx(rows: list[tuple[str, str, str]], target: Path) -> Path:
    """Write the English tax FAQ sheet with columns Question, Answer, Category."""
    wb = Workbook()
    ws = wb.active
    ws.title = "FAQ"
    ws.append(["Question", "Answer", "Category"])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append(list(row))
    ws.column_dimensions["A"].width = 60
    ws.column_dimensions["B"].width = 80
    ws.column_dimensions["C"].width = 22
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    wb.properties.creator = AUTHOR
    wb.properties.title = "Riverton Tax Bureau FAQ"
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    wb.save(str(target))
    normalise_zip(target)
    return target


def normalise_zip(path: Path) -> None:
    """Rewrite an OOXML zip with fixed member timestamps so rebuilding gives identical bytes."""
    with zipfile.ZipFile(path) as src:
        members = [(info.filename, src.read(info.filename)) for info in src.infolist()]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for name, data in members:
            if name == "docProps/core.xml":
                data = _fix_core_dates(data)
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            dst.writestr(info, data)


def _fix_core_dates(data: bytes) -> bytes:
    """openpyxl stamps the save time into dcterms:modified; pin it to the fixed time."""
    stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    return re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)", rb"\g<1>" + stamp + rb"\g<2>", data)


def main() -> None:
    """Build every generated sample source under ``knowledge/``."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
    for spec in PDF_DOCS:
        log.info("pdf  %s", build_pdf(spec, ROOT).relative_to(ROOT))
    for spec in DOCX_DOCS:
        log.info("docx %s", build_docx(spec, ROOT).relative_to(ROOT))
    target = build_faq_xlsx(FAQ_TAX_XLSX, ROOT / "tax" / "faq-tax.xlsx")
    log.info("xlsx %s", target.relative_to(ROOT))


if __name__ == "__main__":
    main()
