"""Agency, reporting year and template, read from the title, the signature and the prose."""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import lru_cache
from pathlib import Path

import yaml

from service.document import Document
from service.labels import normalize, simplified
from service.template import Template, all_templates

# One misread character in 信息公开 (OCR: 言息公开) still makes a title.
_DISCLOSURE = r"(?:政府)?(?:信息公开|.息公开|信.公开|信息.开)"
_TITLE = re.compile(rf"^(?P<agency>.{{2,60}}?)\s*(?:关于)?\s*(?P<year>20\d\d)\s*年\s*度?\s*{_DISCLOSURE}")
_ALT_TITLE = re.compile(rf"^(?P<year>20\d\d)\s*年\s*度?\s*(?P<agency>.{{2,60}}?)\s*{_DISCLOSURE}(?:工作)?年\s*度\s*报\s*告")
_DATE = re.compile(r"^(20\d\d)\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日$")
_AGENCY_END = re.compile(r"(办事处|人民政府|政府|办公室|办公厅|委员会|局|厅|委|院|中心|所|站|处|管委会|街道|镇|乡|部)$")
_YEAR_IN_PROSE = re.compile(r"(20\d\d)\s*年")


_CN_DIGITS = str.maketrans("〇○零一二三四五六七八九", "000123456789")
_CN_YEAR = re.compile(r"[〇○零一二三四五六七八九]{4}(?=\s*年)")


def _clean(text: str) -> str:
    # Simplified characters: a mirror site in 繁體 names the same agency.
    text = re.sub(r"\s+", "", simplified(unicodedata.normalize("NFKC", text)))
    # 二〇二三年 -> 2023年
    return _CN_YEAR.sub(lambda m: m.group(0).translate(_CN_DIGITS), text)


def _lines(doc: Document) -> list[str]:
    return [_clean(" ".join(c.text for c in line.cells)) for line in doc.lines]


# Page chrome before a title: "标题：", "当前位置：首页 > …".
_CHROME = re.compile(r"^(?:标题|题目|名称|文章标题|title)[:：]", re.I)
# A sentence of prose, not a title: it cites a law or runs on past a comma.
_PROSE = re.compile(r"[《,，;；。]|根据|按照")


def _title_lines(prose: list[str]):
    """Each line, and each line joined to the next (a title wrapped before 年度报告)."""
    for i, text in enumerate(prose[:40]):
        yield text
        if i + 1 < len(prose) and "报告" not in text and "报告" in prose[i + 1] and len(prose[i + 1]) <= 12:
            yield text + prose[i + 1]


def read_title(prose: list[str]) -> tuple[str | None, int | None]:
    for text in _title_lines(prose):
        text = _CHROME.sub("", text)
        if "报告" not in text or len(text) > 80:
            continue
        m = _TITLE.match(text) or _ALT_TITLE.match(text)
        if m and not _PROSE.search(m.group("agency")):
            agency = re.sub(r"^[《“\"]|关于$", "", m.group("agency")).strip()
            return (agency or None), int(m.group("year"))
    return None, None


def read_signature(prose: list[str]) -> tuple[str | None, int | None]:
    """The agency line just above the closing date, and the year of that date."""
    for i in range(len(prose) - 1, max(len(prose) - 30, 0) - 1, -1):
        m = _DATE.match(prose[i])
        if m:
            for j in range(i - 1, max(i - 3, -1), -1):
                if 2 <= len(prose[j]) <= 40 and _AGENCY_END.search(prose[j]):
                    return prose[j], int(m.group(1))
            return None, int(m.group(1))
    return None, None


# An excerpt without title or signature: the agency as the subject of an opening sentence ("…领导下，官洲街道办事处认真
#贯彻…"); a pronoun (我局, 本机关) or a bare level (区政府办公室) names none.
_SUBJECT = re.compile(r"(?:^|[,，。;；:：])(?P<agency>[\u4e00-\u9fff]{2,24}?(?:街道办事处|人民政府办公室|人民政府|办公室|"
                      r"委员会|管理局|局|委|办))(?:认真|深入|坚持|全面|严格|持续|积极|高度重视)")


def read_subject(prose: list[str]) -> str | None:
    for text in prose[:8]:
        for m in _SUBJECT.finditer(text):
            agency = m.group("agency")
            if not agency.startswith(("我", "本", "该", "各", "全", "区", "县", "市", "镇", "乡")):
                return agency
    return None


# The report names itself with a pronoun (我局, 我委) and prints its full name somewhere in the prose: a place (…市, …县,
# …区) followed by a body of the same kind ("在句容市住房和城乡建设局官网上").
_PLACE_BODY = r"(?P<agency>[\u4e00-\u9fff]{{1,6}}?[省市县区州旗](?:[\u4e00-\u9fff]{{1,6}}?[市县区镇乡])?" \
              r"[\u4e00-\u9fff]{{2,14}}?{kind})"
_PRONOUN_KINDS = {"局": "局", "委": "委员会", "办": "办公室", "厅": "厅", "中心": "中心"}
# Words of the sentence before a name: "全年我局在…", "请与…", "现公布…".
_NOT_A_PLACE_START = re.compile(r"^[年月日我本该各全在于由向对与及为将经把从请现公布的是了至等局委办按照根据]")


def read_self_named(prose: list[str]) -> str | None:
    text = "".join(prose)
    for pronoun, kind in _PRONOUN_KINDS.items():
        if f"我{pronoun}" not in text and f"本{pronoun}" not in text:
            continue
        names = Counter()
        for m in re.finditer(_PLACE_BODY.format(kind=kind), text):
            name = m.group("agency")
            while _NOT_A_PLACE_START.match(name):  # "在句容市…局": the preposition is no part of the name
                name = name[1:]
            if len(name) >= 5:
                names[name] += 1
        if names:
            return names.most_common(1)[0][0]
    return None


@lru_cache(maxsize=1)
def _short_names() -> dict[str, str]:
    data = yaml.safe_load((Path(__file__).parent / "agency_names.yaml").read_text(encoding="utf-8"))
    return dict(sorted(data["short_names"].items(), key=lambda kv: -len(kv[0])))


def full_name(agency: str) -> str:
    """A short name (上海市科委) as the full one it stands for (上海市科学技术委员会)."""
    for short, full in _short_names().items():
        if agency.endswith(short):
            return agency[: -len(short)] + full
    return agency


def read_meta(doc: Document) -> tuple[str | None, int | None]:
    prose = _lines(doc)
    agency, year = read_title(prose)
    sig_agency, sig_year = read_signature(prose)
    agency = agency or sig_agency or read_subject(prose) or read_self_named(prose)
    if agency:
        agency = full_name(agency)
    if year is None:
        counts = Counter(int(y) for y in _YEAR_IN_PROSE.findall(doc.text()))
        if counts:
            year = counts.most_common(1)[0][0]
        elif sig_year:
            year = sig_year - 1  # reports are signed early in the following year
    return agency, year


def detect_template(doc: Document, year: int | None) -> Template:
    text = normalize(doc.text())
    templates = all_templates()
    hits = {t.id: sum(normalize(m) in text for m in t.markers) for t in templates}
    best = max(templates, key=lambda t: hits[t.id])
    if sum(hits.values()) == 0 or list(hits.values()).count(hits[best.id]) > 1:
        # No evidence either way: the template in force for the year.
        dated = [t for t in templates if year is None or t.first_year <= year]
        return dated[0] if dated else templates[-1]
    return best
