"""Cell text -> tokens: label text, numbers, blanks and "not applicable"."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from service.document import Cell

_NUM = r"(?:减|增|[-−+])?\s*\d[\d,，]*(?:\.\d+)?\s*(?:万元|元|件|条|个|项)?"
_NUMBER = re.compile(rf"^{_NUM}$")
_NUMBERS = re.compile(rf"^(?:{_NUM}\s+)+{_NUM}$")
_NA = re.compile(r"^[/／\\]$|^(?:—|–|-|－){1,3}$|^无$")
# A short label glued to the digits of its cells: "规章000", "行政事业性收费 0".
_GLUED = re.compile(rf"^(.{{1,40}}?[\u4e00-\u9fff）)】”\"])\s*((?:{_NUM}\s*)+)$")
_HAS_CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass
class Token:
    kind: str  # label | number | blank | na | unread (a scanned number cell misread as text)
    text: str
    cell: Cell
    line: int


def is_value(text: str) -> bool:
    """Whether a cell's text is a value: empty, a number, or "not applicable"."""
    text = unicodedata.normalize("NFKC", text).strip()
    return not text or bool(_NUMBER.match(text) or _NA.match(text))


def is_number(text: str) -> bool:
    """One number, as printed (a sign, digits, a decimal, a unit)."""
    return bool(_NUMBER.match(unicodedata.normalize("NFKC", text).strip()))


def is_numbers(text: str) -> bool:
    """Several numbers parted by spaces."""
    return bool(_NUMBERS.match(unicodedata.normalize("NFKC", text).strip()))


def parse_number(text: str) -> tuple[float | int, str | None]:
    """The value of a number token and a note when its unit changed it ("251000元" -> 25.1 万元)."""
    t = unicodedata.normalize("NFKC", text).replace(",", "").replace("，", "").replace(" ", "")
    sign = -1 if t.startswith(("减", "-", "−")) else 1
    t = t.lstrip("减增-−+")
    unit = None
    for u in ("万元", "元", "件", "条", "个", "项"):
        if t.endswith(u):
            unit, t = u, t[: -len(u)]
            break
    value: float | int = float(t) if "." in t else int(t)
    note = None
    if unit == "元":
        value, note = value / 10000, f"{text} read as {value / 10000:g} 万元"
    if isinstance(value, float) and value.is_integer() and unit != "元":
        value = int(value)
    return sign * value, note


def tokenize(cell: Cell, line: int) -> list[Token]:
    text = unicodedata.normalize("NFKC", cell.text).strip()
    if not text:
        # Only a reader that knows the grid can tell a blank cell from padding.
        return [Token("blank", "", cell, line)] if cell.col is not None else []
    if _NA.match(text):
        return [Token("na", text, cell, line)]
    if _NUMBER.match(text):
        return [Token("number", text, cell, line)]
    if _NUMBERS.match(text):
        return [Token("number", t, cell, line) for t in text.split()]
    glued = _GLUED.match(text)
    if glued and _HAS_CJK.search(glued.group(1)) and not re.search(r"第[\d一二三四五六七八九十]*$", glued.group(1)):
        label, digits = glued.groups()
        numbers = re.findall(_NUM, digits)
        return [Token("label", label, cell, line)] + [Token("number", t.strip(), cell, line) for t in numbers]
    return [Token("label", text, cell, line)]


_YUAN_HEADER = re.compile(r"[单單]位[:：]?\s*元|[（(]\s*元\s*[)）]")


def mark_yuan_amounts(lines) -> None:
    """A column headed "（单位：元）" prints its amounts in 元, not the template's 万元: the first row of numbers
    within three lines after such a header cell gets the unit on its last number, so parse_number converts it."""
    left = 0  # lines the header still reaches
    for line in lines:
        for c in line.cells:
            text = unicodedata.normalize("NFKC", c.text)
            if len(text) <= 30 and not re.search(r"[,，。;；]", text) and _YUAN_HEADER.search(text):
                left = 3
        numbers = [c for c in line.cells if _NUMBER.match(unicodedata.normalize("NFKC", c.text).strip())]
        if left and numbers:
            last = numbers[-1]
            if not re.search(r"[元件条个项]$", last.text.strip()):
                last.text = last.text.strip() + "元"
            left = 0
        left = max(0, left - 1)
