"""The figures a report's prose states (一、总体情况 and the closing sections), mapped to the table's cells.

Prose is read sentence by sentence with the wordings in prose_patterns.yaml. A figure is kept under its flat contract
key, or under a group key (requests.denied.total: the sum of the rows denied_*) where the prose gives only the sum.
Figures stated as approximate (余, 约, 多) are kept and flagged, never compared; sentences about another year or another
body are not taken. `prose_findings` names every exact figure the table contradicts; `prose_hints` gives the exact
figures of single cells to the decoder.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from service.document import Document
from service.template import Template

PATTERNS = Path(__file__).with_name("prose_patterns.yaml")
CellKey = tuple[str, str, str]

_CN_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNIT = {"十": 10, "百": 100, "千": 1000}
_CN_CHARS = "零〇一二两三四五六七八九十百千万"
_PAGE_NUMBER = re.compile(r"^[-—－\s]*(?:第?\d{1,3}页?|\d{1,3}/\d{1,3})[-—－\s]*$")
_HEADING = re.compile(r"^\s*(?:[一二三四五六七八九十]+[、.．]|[（(][一二三四五六七八九十]+[)）])")
_SENTENCE_END = "。;!?"
# A point in time a clause is about: a year (not one compared against: 比2022年), last year, this year.
_TIME = re.compile(r"(?<![比较与同])(?P<year>\d{4})年|(?P<last>去年|上一?年度?)(?![度结])|(?P<this>今年|本年|全年|当年)")


@dataclass
class Figure:
    value: float | int
    text: str
    page: int | None
    approximate: bool = False

    def as_dict(self) -> dict:
        return {"value": self.value, "text": self.text, "page": self.page, "approximate": self.approximate}


# --- the patterns, as data --------------------------------------------------------------------------------------

def _number(units: str) -> str:
    return (r"(?P<pre>约|近|逾|超过|大约|将近)?(?<!\d,)(?<![\d.%s])(?P<num>\d+(?:,\d{3})*(?:\.\d+)?万?|[%s]+)"
            r"(?P<post>余|多)?(?P<unit>%s)") % (_CN_CHARS, _CN_CHARS, units)


@dataclass(frozen=True)
class _Figure:
    name: str
    keys: tuple[str, ...]
    patterns: tuple[re.Pattern, ...]
    review: bool = False


@dataclass(frozen=True)
class _Rules:
    figures: tuple[_Figure, ...]
    skip: tuple[re.Pattern, ...]
    outcomes: dict[str, re.Pattern]
    all_upheld: re.Pattern
    zeros: tuple[dict, ...]
    count: str
    applicants: dict


@lru_cache(maxsize=1)
def rules() -> _Rules:
    data = yaml.safe_load(PATTERNS.read_text(encoding="utf-8"))
    count, money = _number(data["count_units"]), _number(data["money_units"])

    def compile_(p: str) -> re.Pattern:
        return re.compile(p.replace("{n}", count).replace("{m}", money).replace("{g}", r"[^\d。;!?,:]{0,12}?"))

    figures = tuple(_Figure(f["name"], tuple(f["keys"]), tuple(compile_(p) for p in f["patterns"]),
                            bool(f.get("review"))) for f in data["figures"])
    outcomes = {col: re.compile(f"(?:{p})(?:共|为|有)?" + count) for col, p in data["outcomes"].items()}
    zeros = tuple({"pattern": re.compile(z["pattern"]), "keys": tuple(z["keys"]),
                   "also": ({"pattern": re.compile(z["also"]["pattern"]), "keys": tuple(z["also"]["keys"])}
                            if z.get("also") else None)} for z in data["zeros"])
    applicants = dict(data["applicants"], stop=re.compile(data["applicants"]["stop"]))
    return _Rules(figures, tuple(re.compile(p) for p in data["skip_clause"]), outcomes,
                  re.compile(data["all_upheld"]), zeros, count, applicants)


# --- numbers ----------------------------------------------------------------------------------------------------

def cn_number(text: str) -> int | None:
    """Chinese numerals: 十二 -> 12, 两百零五 -> 205, 一万二千 -> 12000, 三〇 -> 30 (digit by digit)."""
    if not text or any(ch not in _CN_CHARS for ch in text):
        return None
    if all(ch in _CN_DIGIT for ch in text):
        return int("".join(str(_CN_DIGIT[ch]) for ch in text))
    total, section, digit = 0, 0, None
    for ch in text:
        if ch in _CN_DIGIT:
            digit = _CN_DIGIT[ch]
        elif ch in _CN_UNIT:
            section += (1 if digit is None else digit) * _CN_UNIT[ch]
            digit = None
        elif ch == "万":
            total += (section + (digit or 0)) * 10000
            section, digit = 0, None
    return total + section + (digit or 0)


def parse_number(text: str) -> float | int | None:
    text = text.replace(",", "")
    scale = 1
    if text.endswith("万") and len(text) > 1 and text[0].isdigit():
        text, scale = text[:-1], 10000
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        value = float(text) * scale
        return int(value) if value == int(value) and "." not in text else value
    return cn_number(text)


def _value(m: re.Match) -> tuple[float | int | None, bool]:
    value = parse_number(m.group("num"))
    if value is not None and m.group("unit") == "元":
        value = round(value / 10000, 6)  # the table's amounts are in 万元
    return value, bool(m.group("pre") or m.group("post"))


# --- prose text ---------------------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _t2s():
    from opencc import OpenCC  # the same converter the label matcher uses

    return OpenCC("t2s")


def normalize(text: str) -> str:
    """NFKC, simplified characters, no whitespace (PDF text layers break lines and space out numbers)."""
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))
    converted = _t2s().convert(text)
    return converted if len(converted) == len(text) else "".join(_t2s().convert(ch) for ch in text)


@dataclass
class Paragraph:
    text: str
    pages: list[tuple[int, int]]  # (offset where a page's text starts, page number)

    def page_at(self, offset: int) -> int | None:
        page = None
        for start, number in self.pages:
            if start <= offset:
                page = number
        return page


def paragraphs(doc: Document) -> list[Paragraph]:
    """The prose lines (not table rows), joined where a line was only wrapped (no sentence end before the break)."""
    out: list[Paragraph] = []
    current: Paragraph | None = None
    for line in doc.lines:
        if line.table is not None:
            current = None
            continue
        raw = " ".join(c.text for c in line.cells)
        if not raw.strip() or _PAGE_NUMBER.match(raw):
            continue
        box = next((c.box for c in line.cells if c.box is not None), None)
        page = box.page if box else 1
        text = normalize(raw)
        if current is None or _HEADING.match(raw) or current.text[-1:] in _SENTENCE_END + ":":
            current = Paragraph("", [])
            out.append(current)
        current.pages.append((len(current.text), page))
        current.text += text
    return out


def _sentences(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for i, ch in enumerate(text):
        if ch in _SENTENCE_END:
            spans.append((start, i + 1))
            start = i + 1
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def _clause_start(text: str, start: int, pos: int) -> int:
    cut = max(text.rfind(",", start, pos), text.rfind(":", start, pos))
    return start if cut < 0 else cut + 1


# --- reading ------------------------------------------------------------------------------------------------------

def resolve(keys: tuple[str, ...], template: Template) -> str | None:
    """The first key the template has, as a cell or as a group of rows (row + "_" prefix)."""
    for key in keys:
        s, r, c = key.split(".")
        section = template.sections.get(s)
        if section is None:
            continue
        if r in section.row_keys():
            if c in section.row(r).columns:
                return key
        elif any(row.key.startswith(r + "_") and c in row.columns for row in section.rows):
            return key
    return None


def cells_of(key: str, template: Template) -> list[CellKey]:
    """The table cells a prose key stands for: the cell itself, or every row of its group."""
    s, r, c = key.split(".")
    section = template.sections[s]
    if r in section.row_keys():
        return [(s, r, c)]
    return [(s, row.key, c) for row in section.rows if row.key.startswith(r + "_") and c in row.columns]


def _row_figures(template: Template) -> list[tuple[str, re.Pattern]]:
    """Each requests row stated by its own label (属于行政执法案卷5件, 重复申请2件): labels read from the template."""
    from service.labels import normalize as label_norm

    out = []
    named = {resolve(f.keys, template) for f in rules().figures}
    section = template.sections.get("requests")
    for row in section.rows if section else ():
        key = f"requests.{row.key}.total"
        if not row.parent or "total" not in row.columns or key in named:
            continue
        label = label_norm(row.short or row.label).removeprefix("本机关")  # 本办不掌握…, 本局不掌握…
        if len(label) >= 4:
            joined = r"(?<![及和与])(?<![^\d件起个宗项次]、)"  # not 不予公开、无法提供共5件
            out.append((key, re.compile(joined + re.escape(label) + "(?:的)?(?:有|为)?" + rules().count)))
    return out


def _applicant_figures(template: Template) -> list[tuple[str, re.Pattern]]:
    """Each applicant column by its label in the template (and the other names prose_patterns.yaml gives)."""
    spec = rules().applicants
    section = template.sections.get("requests")
    out = []
    for col in spec["columns"]:
        if section is None or col not in section.columns:
            continue
        label = spec.get("labels", {}).get(col) or re.escape(section.columns[col].label)
        out.append((col, re.compile(spec["wording"].replace("{label}", label) + rules().count)))
    return out


class _Reader:
    def __init__(self, template: Template, year: int | None):
        self.template, self.year = template, year
        self.found: dict[str, Figure] = {}
        self.figures = [(f, resolve(f.keys, template)) for f in rules().figures]
        self.row_figures = _row_figures(template)
        self.applicants = _applicant_figures(template)

    def put(self, key: str | None, value, text: str, page: int | None, approximate: bool) -> None:
        if key is None or value is None:
            return
        old = self.found.get(key)
        if old is None or (old.approximate and not approximate):  # the first exact statement stands
            self.found[key] = Figure(value, text, page, approximate)

    def other_time(self, text: str, s_start: int, pos: int) -> bool:
        """The nearest point in time named before `pos` in the sentence is not the report's year."""
        if self.year is None:
            return False
        year = None
        for m in _TIME.finditer(text, s_start, pos):
            year = (int(m.group("year")) if m.group("year") else self.year - 1 if m.group("last") else self.year)
        return year is not None and year != self.year

    def someone_else(self, text: str, s_start: int, m: re.Match) -> bool:
        clause = _clause_start(text, s_start, m.start())
        prefix = text[s_start:m.end()]
        return any(skip.end() + s_start > clause for pattern in rules().skip for skip in pattern.finditer(prefix))

    def read(self, para: Paragraph) -> None:
        text, taken = para.text, []
        for s_start, s_end in _sentences(text):
            for figure, key in self.figures:
                for pattern in figure.patterns:
                    for m in pattern.finditer(text, s_start, s_end):
                        span = m.span("num")
                        if any(a < span[1] and span[0] < b for a, b in taken):
                            continue
                        if self.other_time(text, s_start, m.start()) or self.someone_else(text, s_start, m):
                            taken.append(span)
                            continue
                        taken.append(span)
                        value, approx = _value(m)
                        self.put(key, value, m.group(0), para.page_at(span[0]), approx)
                        if figure.review and key:
                            self.review_outcomes(para, key, value, approx, m.end(), s_end, taken)
                        if figure.name in rules().applicants["figures"] and key:
                            self.applicant_columns(para, key, m.end(), s_end, taken)
            for key, pattern in self.row_figures:
                for m in pattern.finditer(text, s_start, s_end):
                    span = m.span("num")
                    if any(a < span[1] and span[0] < b for a, b in taken) or self.other_time(text, s_start, m.start()):
                        continue
                    taken.append(span)
                    value, approx = _value(m)
                    self.put(key, value, m.group(0), para.page_at(span[0]), approx)
            self.zeros(para, s_start, s_end)

    def applicant_columns(self, para: Paragraph, key: str, pos: int, end: int, taken) -> None:
        """涉及自然人80件、商业企业1件: the columns of the row just stated, up to the next figure."""
        text = para.text
        nxt = rules().applicants["stop"].search(text, pos, end)
        stop = nxt.start() if nxt else end
        s, r, _ = key.split(".")
        for col, pattern in self.applicants:
            m = pattern.search(text, pos, stop)
            if m and not any(a < m.end("num") and m.start("num") < b for a, b in taken):
                taken.append(m.span("num"))
                value, approx = _value(m)
                self.put(resolve((f"{s}.{r}.{col}",), self.template), value, m.group(0), para.page_at(m.start()),
                         approx)

    def review_outcomes(self, para: Paragraph, key: str, total, approx: bool, pos: int, end: int, taken) -> None:
        """结果维持72件, 结果纠正64件 ... or 均获维持, after a review group's total, up to the next group."""
        text = para.text
        nxt = re.compile(r"行政复议|行政诉讼|起诉").search(text, pos, end)
        stop = nxt.start() if nxt else end
        s, r, _ = key.split(".")
        for col, pattern in rules().outcomes.items():
            m = pattern.search(text, pos, stop)
            if m:
                taken.append(m.span("num"))
                value, a = _value(m)
                self.put(resolve((f"{s}.{r}.{col}",), self.template), value, m.group(0), para.page_at(m.start()), a)
        m = rules().all_upheld.search(text, pos, stop)
        if m and total:
            self.put(resolve((f"{s}.{r}.upheld",), self.template), total, text[pos:m.end()],
                     para.page_at(m.start()), approx)

    def zeros(self, para: Paragraph, s_start: int, s_end: int) -> None:
        text = para.text
        for z in rules().zeros:
            for m in z["pattern"].finditer(text, s_start, s_end):
                if self.other_time(text, s_start, m.start()):
                    continue
                page = para.page_at(m.start())
                for key in z["keys"]:
                    self.put(resolve((key,), self.template), 0, m.group(0), page, False)
                also = z["also"]
                if also:
                    stop = next((i for i in range(m.end(), s_end) if text[i] in ",;。"), s_end)
                    if also["pattern"].search(text, m.end(), stop):
                        for key in also["keys"]:
                            self.put(resolve((key,), self.template), 0, text[m.start():stop], page, False)


def read_prose(doc: Document, template: Template, year: int | None = None) -> dict[str, dict]:
    """{flat key: {"value", "text", "page", "approximate"}} for every figure the prose states, in printed order."""
    reader = _Reader(template, year)
    for para in paragraphs(doc):
        reader.read(para)
    return {k: f.as_dict() for k, f in reader.found.items()}


# --- against the table --------------------------------------------------------------------------------------------

def table_value(key: str, template: Template, values: dict[CellKey, float | int | None]) -> float | int | None:
    """The table's value for a prose key: the cell, or the sum of its group's cells (None if any is unread)."""
    cells = cells_of(key, template)
    vals = [values.get(c) for c in cells]
    if not cells or any(v is None for v in vals):
        return None
    return sum(vals)


def _show(value) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


def prose_findings(prose: dict[str, dict], template: Template, values: dict[CellKey, float | int | None],
                   broken: set[str] = frozenset(), uncut: dict[CellKey, str] | None = None):
    """A `prose.mismatch` warning for each exact figure the table contradicts; `broken`: flat keys of cells in a
    rule the table breaks (said in the message: there the table may be the one misread); `uncut`: run-together
    digits of cells left null because they cut several ways: a figure no cut can give contradicts the table too."""
    from service.validate import Finding

    out = []
    for key, fig in prose.items():
        if fig.get("approximate"):
            continue
        table = table_value(key, template, values)
        cell = cells_of(key, template)
        digits = (uncut or {}).get(cell[0], "") if len(cell) == 1 else ""
        stated = _show(fig["value"])
        if table is None and digits.isdigit() and stated.isdigit() and stated not in digits:
            out.append(Finding("prose.mismatch", f"the prose states {key} = {stated} (“{fig['text']}”, page "
                               f"{fig['page']}) but no cut of the table's digits '{digits}' gives it",
                               [".".join(cell[0])], expected=fig["value"], printed=None, severity="warning"))
            continue
        if table is None or abs(float(table) - float(fig["value"])) < 1e-6:
            continue
        cells = [".".join(c) for c in cells_of(key, template)]
        where = key if len(cells) == 1 else f"{key} (the sum of {len(cells)} rows)"
        message = (f"the prose states {where} = {_show(fig['value'])} (“{fig['text']}”, page {fig['page']}) "
                   f"but the table prints {_show(table)}")
        if broken & set(cells):
            message += "; the table's own arithmetic fails there too"
        out.append(Finding("prose.mismatch", message, cells, expected=fig["value"], printed=table, severity="warning"))
    return out


def prose_hints(prose: dict[str, dict]) -> dict[CellKey, float | int]:
    """The exact figures of single cells, for the decoder to choose among equally good digit cuts; group sums and
    approximate figures are left out."""
    from service.template import all_templates

    cells = {c for t in all_templates() for c in t.cells()}
    out = {}
    for key, fig in prose.items():
        cell = tuple(key.split("."))
        if not fig.get("approximate") and cell in cells:
            out[cell] = fig["value"]
    return out
