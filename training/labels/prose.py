"""Other text that sits beside labels in real reports: prose, headings, titles, numbers and OCR garbage lines.

Written here (not copied from real reports) so that training needs nothing outside the repository.
"""
from __future__ import annotations

import random

SENTENCES = """
本机关严格按照《中华人民共和国政府信息公开条例》要求，认真做好政府信息公开工作。
全年共主动公开政府信息1234条，其中通过门户网站公开856条。
2023年，我局共收到政府信息公开申请15件，均已按时办结。
本年度未发生因政府信息公开被申请行政复议、提起行政诉讼的情况。
及时回应社会关切，通过政务新媒体发布信息320余条。
进一步规范依申请公开工作流程，确保在法定期限内答复。
加强政府信息公开平台建设，优化门户网站栏目设置。
强化监督保障，将政务公开工作纳入年度绩效考核。
存在的主要问题：一是公开内容不够全面，二是解读形式较为单一。
下一步，我们将继续加强业务培训，提升工作人员业务能力。
本单位2022年度未收取政府信息公开信息处理费。
依申请公开办理情况详见下表。
主动公开政府信息情况统计如下：
收到和处理政府信息公开申请情况统计如下：
政府信息公开行政复议、行政诉讼情况统计如下：
本报告中所列数据统计期限自2023年1月1日起至2023年12月31日止。
本报告电子版可在区人民政府门户网站下载。
如对本报告有疑问，请与区政务公开办公室联系。
全年召开新闻发布会6场，发布政策解读文章45篇。
围绕优化营商环境，及时公开惠企政策和办事指南。
持续做好重点领域信息公开，公开财政预决算信息38条。
对行政规范性文件进行全面清理，废止不适应发展要求的文件3件。
年内办理行政许可事项共计2156件，办结率100%。
本年度共作出行政处罚决定42件，依法公示处罚结果。
严格落实保密审查制度，坚持先审查后公开。
积极推进政务公开标准化规范化建设。
政府信息管理方面，建立健全信息发布审核机制。
申请人对答复不服的，可依法申请行政复议或提起行政诉讼。
未收到涉及政府信息公开的投诉举报。
按照市政府办公室统一部署，完成年度报告编制发布工作。
主动接受社会监督，畅通意见反馈渠道。
以上数据均截至2023年12月31日。
单位：件
注：表中数据为本机关本年度实际办理情况。
附件：政府信息公开情况统计表
""".split()

HEADINGS = """
一、总体情况
（一）主动公开
（二）依申请公开
（三）政府信息管理
（四）政府信息公开平台建设
（五）监督保障
五、存在的主要问题及改进情况
六、其他需要报告的事项
（一）存在的主要问题
（二）具体改进措施
（一）政府信息公开基本情况
（二）政务公开落实情况
表一
统计表
序号
项目
数量
备注
单位：万元
""".split()

PLACES = ["西关街道办事处", "湛河区人民政府", "市生态环境局", "县人力资源和社会保障局", "区发展和改革委员会",
          "市交通运输局", "镇人民政府", "区教育局", "市自然资源和规划局", "县卫生健康委员会"]


def report_title(rng: random.Random) -> str:
    year = rng.randint(2019, 2025)
    sep = rng.choice(["", " "])
    return f"{rng.choice(PLACES)}{sep}{year}{sep}年政府信息公开工作年度报告"


def numbers(rng: random.Random) -> str:
    n = rng.randint(1, 8)
    vals = [str(rng.choice([0, 0, 0, rng.randint(0, 30), rng.randint(0, 3000)])) for _ in range(n)]
    if rng.random() < 0.2:
        vals[0] = f"{rng.randint(0, 999)}.{rng.randint(0, 99)}"
    return rng.choice([" ", "\t", "  "]).join(vals)


def garbage(rng: random.Random, common: str) -> str:
    """An OCR garbage line: common characters in no order, some punctuation and spaces."""
    n = rng.randint(3, 28)
    out = []
    for _ in range(n):
        r = rng.random()
        out.append(rng.choice(common) if r < 0.8 else rng.choice("、，,。 ()（）:：;!|") if r < 0.95 else
                   rng.choice("0123456789FIl"))
    return "".join(out)


def snippet(rng: random.Random) -> str:
    s = rng.choice(SENTENCES)
    if len(s) > 12 and rng.random() < 0.6:
        a = rng.randint(0, len(s) - 6)
        s = s[a:a + rng.randint(4, 30)]
    return s


def other_text(rng: random.Random, common: str) -> str:
    r = rng.random()
    if r < 0.3:
        return snippet(rng)
    if r < 0.5:
        return garbage(rng, common)
    if r < 0.7:
        return numbers(rng)
    if r < 0.9:
        return rng.choice(HEADINGS)
    return report_title(rng)


def corpus_text() -> str:
    """All the prose here, for the character pool and the masked-LM pretraining."""
    return "".join(SENTENCES + HEADINGS + PLACES)
