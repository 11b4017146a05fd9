"""The words of a synthetic report: agency names, titles, prose sections, signature and date.

Every string the factory can print comes from the banks here or from the template, so the font subset
(fonts.corpus_chars) can be computed from this module alone.
"""
from __future__ import annotations

import random

PLACES = ["东城", "西湖", "柳湖", "安泰", "湛河", "老城", "西关", "鼓楼", "南岗", "城关", "新华", "长安", "和平", "河西",
          "金水", "龙华", "宝安", "江北", "青山", "白云", "天河", "滨江", "高新", "经开", "建邺", "秦淮", "雁塔", "碑林",
          "临潼", "福田", "罗湖", "开福", "岳麓", "芙蓉", "武侯", "锦江", "青羊", "新都", "双流", "铁西", "沈河", "南开",
          "红桥", "海淀", "朝阳", "丰台", "通州", "顺义", "昌平", "大兴", "怀柔", "平谷", "密云", "延庆", "黄浦", "静安",
          "徐汇", "长宁", "普陀", "虹口", "杨浦", "闵行", "嘉定", "松江", "青浦", "奉贤", "崇明", "余杭", "萧山", "富阳",
          "桐庐", "淳安", "建德", "鹿城", "龙湾", "瓯海", "洞头", "永嘉", "平阳", "苍南", "文成", "泰顺", "瑞安", "乐清",
          "蓬江", "江海", "新会", "台山", "开平", "鹤山", "恩平", "兴宁", "平远", "蕉岭", "大埔", "丰顺", "五华", "梅江"]
CITIES = ["洛阳", "福州", "平顶山", "郑州", "南京", "西安", "成都", "长沙", "武汉", "杭州", "温州", "江门", "梅州", "沈阳",
          "天津", "哈尔滨", "济南", "青岛", "合肥", "南昌", "昆明", "贵阳", "南宁", "太原", "石家庄", "兰州", "银川"]
BUREAUS = ["生态环境局", "教育局", "财政局", "司法局", "民政局", "卫生健康委员会", "市场监督管理局", "自然资源和规划局",
           "住房和城乡建设局", "交通运输局", "水利局", "农业农村局", "商务局", "文化广电和旅游局", "应急管理局",
           "审计局", "统计局", "医疗保障局", "退役军人事务局", "人力资源和社会保障局", "发展和改革委员会",
           "政务服务和大数据管理局", "城市管理局", "林业局", "信访局", "科学技术局", "工业和信息化局"]
TOWN_SUFFIX = ["街道办事处", "镇人民政府", "乡人民政府"]
TOWNS = ["柳湖", "安泰", "西关", "东关", "南关", "北街", "新城", "城南", "城北", "桥头", "河口", "石桥", "杨村", "李庄",
         "花园", "望江", "南湖", "北湖", "清水", "马家", "白沙", "黄土", "青龙", "凤凰", "金山", "银河", "太平", "兴隆"]


def agency_name(rng: random.Random) -> str:
    kind = rng.random()
    place, city = rng.choice(PLACES), rng.choice(CITIES)
    if kind < 0.25:
        return place + rng.choice(["区人民政府办公室", "县人民政府办公室", "区人民政府", "县人民政府"])
    if kind < 0.50:
        return rng.choice(TOWNS) + rng.choice(TOWN_SUFFIX)
    if kind < 0.62:
        return city + "市" + place + "区" + rng.choice(TOWNS) + "街道办事处"
    if kind < 0.82:
        return place + rng.choice(["区", "县"]) + rng.choice(BUREAUS)
    return city + "市" + rng.choice(BUREAUS)


CN_DIGITS = "〇一二三四五六七八九"


def cn_year(year: int) -> str:
    return "".join(CN_DIGITS[int(d)] for d in str(year))


def cn_number(n: int) -> str:
    """1..31 as printed in dates: 十, 十五, 二十一."""
    tens, ones = divmod(n, 10)
    return ("" if tens == 0 else ("十" if tens == 1 else CN_DIGITS[tens] + "十")) + (CN_DIGITS[ones] if ones else "")


def title(rng: random.Random, agency: str, year: int) -> tuple[str, str]:
    """Title line and a style name."""
    variants = [
        ("spaced", f"{agency} {year} 年政府信息公开工作年度报告"),
        ("plain", f"{agency}{year}年政府信息公开工作年度报告"),
        ("annual", f"{agency}{year}年度政府信息公开工作年度报告"),
        ("about", f"{agency}关于{year}年政府信息公开工作的年度报告"),
        ("cn_year", f"{agency}{cn_year(year)}年政府信息公开工作年度报告"),
        ("year_first", f"{year}年{agency}政府信息公开工作年度报告"),
    ]
    return rng.choices(variants, [4, 4, 2, 1, 1, 2])[0]


def sign_date(rng: random.Random, year: int) -> str:
    month = rng.choice([1, 1, 1, 2, 3])
    day = rng.randint(1, 28)
    if rng.random() < 0.25:
        return f"{cn_year(year + 1)}年{cn_number(month)}月{cn_number(day)}日"
    return f"{year + 1}年{month}月{day}日"


HEADINGS = ["一、总体情况", "二、主动公开政府信息情况", "三、收到和处理政府信息公开申请情况",
            "四、政府信息公开行政复议、行政诉讼情况", "五、存在的主要问题及改进情况", "六、其他需要报告的事项"]

SUBHEADS = ["主动公开", "依申请公开", "政府信息管理", "政府信息公开平台建设", "监督保障"]

OPENERS = [
    "{year}年，{short}坚持以习近平新时代中国特色社会主义思想为指导，认真贯彻落实《中华人民共和国政府信息公开条例》，"
    "按照上级关于政务公开工作的部署要求，扎实推进政府信息公开工作。",
    "本报告根据《中华人民共和国政府信息公开条例》和国务院办公厅政府信息与政务公开办公室有关要求编制。"
    "报告中所列数据统计期限自{year}年1月1日起至{year}年12月31日止。",
    "{year}年，{short}高度重视政府信息公开工作，确立了主要负责同志负总责、分管领导具体抓、办公室牵头、"
    "各科室配合的工作机制，明确专人负责公开信息的发布、维护和更新。",
]

SENTENCES = {
    "主动公开": [
        "全年通过政府门户网站主动公开政府信息{n1}条，其中机构职能类信息{n2}条，政策文件类信息{n3}条。",
        "围绕群众关注的热点问题，及时发布政策解读{n2}篇，回应社会关切{n3}次。",
        "通过微信公众号、政务公开栏等渠道同步发布信息{n1}条，进一步扩大了公开覆盖面。",
        "按要求做好预决算公开工作，及时公开部门预算、部门决算及“三公”经费情况。",
    ],
    "依申请公开": [
        "全年共收到政府信息公开申请{n4}件，均在法定期限内予以答复。",
        "进一步规范依申请公开的受理、登记、审核、答复、归档等工作流程，切实保障申请人的合法权益。",
        "明确{n5}名专人负责依申请公开工作，做到件件有登记、事事有回音。",
    ],
    "政府信息管理": [
        "严格落实信息发布“三审”制度，按照“谁公开、谁审查、谁负责”的原则，加强保密审查。",
        "定期对已公开的政府信息进行清理，及时更新失效信息，确保公开信息准确、完整。",
        "建立健全政府信息公开台账，对发布的信息实行动态管理。",
    ],
    "政府信息公开平台建设": [
        "持续加强政府网站信息公开专栏建设，及时更新机构职能、政策文件、人事信息等栏目内容。",
        "在政务服务大厅设立政务公开专区，配备查阅设备，为群众提供便捷的查询服务。",
        "加强政务新媒体管理，全年发布信息{n1}条，关注人数达到{n6}人。",
    ],
    "监督保障": [
        "成立政务公开工作领导小组，将政府信息公开工作纳入年度绩效考核。",
        "组织开展政务公开业务培训{n5}次，参训人员{n3}人次，工作人员业务水平进一步提升。",
        "自觉接受社会监督，畅通投诉举报渠道，对发现的问题及时整改。",
    ],
}

PROBLEMS = [
    "一是公开内容的深度和广度还需进一步拓展；二是政策解读形式较为单一；三是工作人员业务能力有待提高。",
    "政务公开工作取得了一定成效，但仍存在信息更新不够及时、公开形式不够丰富等问题。",
    "部分栏目更新不及时，主动公开的政府信息数量还需要增加，公开的内容还需要进一步细化。",
]

IMPROVEMENTS = [
    "下一步，将加强业务学习培训，不断提升工作人员的业务水平；进一步规范公开流程，确保信息公开及时、准确、全面。",
    "我们将采取更加有效的措施，丰富公开形式，加大政策解读力度，主动接受群众监督。",
    "一是加强组织领导，压实工作责任；二是拓宽公开渠道，提升公开实效；三是强化监督检查，确保工作落到实处。",
]

OTHER_MATTERS = [
    "{year}年度，本机关未收取信息处理费。",
    "本单位{year}年度未收取政府信息公开信息处理费。",
    "{year}年，{short}未发出收费通知，未收取信息处理费。无其他需要报告的事项。",
    "根据《政府信息公开信息处理费管理办法》，{year}年度本机关未收取信息处理费。",
]


# The figures of the tables as prose states them (training/synth/figures.py): {v} the number as written.
FIGURES = {
    "requests_head": ["（六）政府信息公开申请办理情况：{year}年，{short}", "依申请公开办理情况：本年度{short}",
                      "{year}年，{short}"],
    "new": ["共收到政府信息公开申请{v}件", "新收政府信息公开申请{v}件", "共受理政府信息公开申请{v}件",
            "接收各类政府信息公开申请共计{v}件", "共收到{v}件政府信息公开申请", "收到依申请公开{v}件"],
    "none_received": ["未收到政府信息公开申请", "全年未收到公民、法人或其他组织提出的政府信息公开申请"],
    "applicants": {"natural_person": "自然人申请{v}件", "commercial_enterprise": "商业企业{v}件"},
    "compare": ["，比{last}年（{x}件）有所变化", "，较{last}年（{x}件）有所增加"],
    "other_body": ["其中，区{body}收到申请{x}件", "其中，所属{body}受理{x}件"],
    "carried_over": ["上年结转政府信息公开申请{v}件", "上年度结转申请{v}件"],
    "handled": ["办结{v}件", "全年办结政府信息公开申请{v}件", "答复{v}件", "已办结依申请公开{v}件"],
    "granted": ["予以公开{v}件", "同意公开{v}件"],
    "partially_granted": ["部分公开{v}件"],
    "denied": ["不予公开{v}件"],
    "unavailable": ["无法提供{v}件", "本机关无法提供{v}件"],
    "not_processed": ["不予处理{v}件"],
    "other": ["其他处理{v}件"],
    "carried_forward": ["结转下年度继续办理{v}件", "{v}件结转下年度继续办理", "结转至{next}年{v}件"],
    "other_year": ["{last}年，共收到政府信息公开申请{x}件。", "{last}年度办结政府信息公开申请{x}件。"],
    "proactive_head": ["主动公开情况：{year}年，{short}", "{year}年，{short}"],
    "normative_issued": ["全年制发行政规范性文件{v}件", "制定规范性文件{v}件", "本年度印发行政规范性文件{v}件"],
    "normative_repealed": ["废止规范性文件{v}件", "废止行政规范性文件{v}件"],
    "normative_in_force": ["现行有效行政规范性文件{v}件", "现行有效的规范性文件共{v}件"],
    "licensing": ["作出行政许可决定{v}件", "办理行政许可事项{v}件"],
    "penalty": ["作出行政处罚决定{v}件", "办理行政处罚案件{v}起"],
    "coercion": ["实施行政强制措施{v}次", "作出行政强制决定{v}件"],
    "fees": ["行政事业性收费{v}万元", "收取行政事业性收费共计{v}万元"],
    "items": ["主动公开政府信息{x}条，其中行政许可类信息{y}条", "发布政策文件类信息{x}条，规范性文件类信息{y}条"],
    "reconsideration": ["因政府信息公开引起的行政复议案件{v}件", "发生政府信息公开行政复议{v}件"],
    "litigation": ["行政诉讼案件{v}件", "政府信息公开行政诉讼{v}件"],
    "outcome": {"upheld": "结果维持{v}件", "corrected": "结果纠正{v}件", "other": "其他结果{v}件",
                "pending": "尚未审结{v}件"},
    "all_upheld": ["，均获维持", "，全部维持"],
    "none_review": ["全年未发生因政府信息公开引起的行政复议和行政诉讼。", "本年度无政府信息公开行政复议、行政诉讼案件。"],
}
RECEIVED_SENTENCE = SENTENCES["依申请公开"][0]
RECEIVED_NO_FIGURE = "依法依规做好政府信息公开申请的受理和答复工作，均在法定期限内予以答复。"


def _strings(bank) -> list[str]:
    if isinstance(bank, str):
        return [bank]
    if isinstance(bank, dict):
        return [s for v in bank.values() for s in _strings(v)]
    return [s for v in bank for s in _strings(v)]


def short_name(agency: str) -> str:
    """How the prose refers to its own office: 我街道, 我局, 本机关."""
    for ending, short in (("街道办事处", "我街道"), ("镇人民政府", "我镇"), ("乡人民政府", "我乡"), ("办公室", "我办"),
                          ("局", "我局"), ("委员会", "我委"), ("人民政府", "本级政府")):
        if agency.endswith(ending):
            return short
    return "本机关"


def _fill(rng: random.Random, text: str, year: int, short: str, requests: int = 0) -> str:
    """n1-n3: items published, n4: applications received (the table's number), n5: people or sessions, n6: a
    large count (followers, trainees)."""
    nums = {"n1": rng.choice([rng.randint(5, 60), rng.randint(60, 2000)]), "n2": rng.randint(1, 40),
            "n3": rng.randint(1, 80), "n4": requests, "n5": rng.randint(1, 12), "n6": rng.randint(20, 30000)}
    return text.format(year=year, short=short, **nums)


def prose(rng: random.Random, agency: str, year: int, requests: int = 0) -> dict[str, list[str]]:
    """Paragraphs for sections 一, 五 and 六 (the tables fill 二 to 四); `requests` is the year's new applications."""
    short = short_name(agency)
    overview = [_fill(rng, rng.choice(OPENERS), year, short)]
    numbered = rng.random() < 0.7
    for i, sub in enumerate(rng.sample(SUBHEADS, rng.randint(2, 5))):
        body = "".join(_fill(rng, s, year, short, requests) for s in rng.sample(SENTENCES[sub], rng.randint(1, 3)))
        prefix = f"（{CN_DIGITS[i + 1] if i < 9 else i + 1}）" if numbered else ""
        overview.append(f"{prefix}{sub}：{body}")
    problems = [f"（一）存在的主要问题：{rng.choice(PROBLEMS)}", f"（二）改进情况：{rng.choice(IMPROVEMENTS)}"]
    if rng.random() < 0.4:
        problems = [rng.choice(PROBLEMS) + rng.choice(IMPROVEMENTS)]
    other = [_fill(rng, rng.choice(OTHER_MATTERS), year, short)]
    return {HEADINGS[0]: overview, HEADINGS[4]: problems, HEADINGS[5]: other}


def all_strings() -> list[str]:
    """Every fixed text this module can print (for the font subset)."""
    banks = [PLACES, CITIES, BUREAUS, TOWN_SUFFIX, TOWNS, HEADINGS, SUBHEADS, OPENERS, PROBLEMS, IMPROVEMENTS,
             OTHER_MATTERS, [s for v in SENTENCES.values() for s in v], _strings(FIGURES), [RECEIVED_NO_FIGURE]]
    extra = ["区人民政府办公室县人民政府办公室区人民政府县人民政府市区县镇乡街道办事处", "年政府信息公开工作年度报告关于的度",
             "月日我办街道单位本机关镇乡局委级政府：（）一二三四五六七八九十〇", CN_DIGITS, "零两百千万余约；，。"]
    return [s for bank in banks for s in bank] + extra
