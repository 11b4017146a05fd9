"""DOCX reader: the body in order, paragraphs and tables interleaved, merged cells by the shared convention.

python-docx opens the package; the body is then read at the XML level, because python-docx's cell API repeats a
merged cell once per grid position it covers, while we want it once, at its top-left position (gridSpan / vMerge
restart), with the covered positions omitted. A table holding tables, or with a single column, is page layout:
its cells are read as blocks.
"""
from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field

from lxml import etree

from service.document import Cell, Document, InputError, Line, Source
from service.ingest import collapse_whitespace
from service.values import mark_yuan_amounts

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
# Compiled XPath works on python-docx's element classes too (their .xpath() takes no namespaces argument).
_ROW_CELLS = etree.XPath("./w:tc|./w:sdt/w:sdtContent/w:tc|./w:customXml/w:tc", namespaces={"w": W})
_CELL_PARAGRAPHS = etree.XPath("./w:p|./w:sdt/w:sdtContent/w:p|./w:customXml/w:p", namespaces={"w": W})
# Deleted and moved-away revisions, and property blocks, hold no visible text.
_NOT_TEXT = {f"{{{W}}}{tag}" for tag in ("del", "moveFrom", "rPr", "pPr")}
_CONTAINERS = {f"{{{W}}}sdt", f"{{{W}}}sdtContent", f"{{{W}}}customXml", f"{{{W}}}smartTag"}


def _w(tag: str) -> str:
    return f"{{{W}}}{tag}"


def read_docx(source: Source) -> Document:
    try:
        body = _body(source.data)
        numbering = _Numbering.from_package(source.data)
    except (etree.XMLSyntaxError, KeyError, zipfile.BadZipFile, OSError) as error:
        raise InputError(f"{source.name}: the DOCX is damaged ({type(error).__name__})") from None
    if body is None:
        raise InputError(f"{source.name}: the DOCX has no document body")
    walker = _Walker(numbering)
    walker.blocks(body)
    mark_yuan_amounts(walker.lines)
    return Document(source=source.name, kind="docx", lines=walker.lines, pages=1, method="docx")


def _body(data: bytes):
    """The w:body element: through python-docx, or straight from the zip for packages python-docx refuses
    (macro-enabled .docm, templates, odd content types), whose document.xml is the same. A damaged package
    fails here too, with the zip or XML error read_docx turns into an InputError."""
    try:
        import docx
        return docx.Document(io.BytesIO(data)).element.body
    except Exception:   # python-docx raises ValueError, KeyError, PackageNotFoundError, XMLSyntaxError...
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            xml = archive.read("word/document.xml")
        return _parse(xml).find(_w("body"))


def _parse(xml: bytes):
    return etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False))


class _Walker:
    def __init__(self, numbering: _Numbering) -> None:
        self.lines: list[Line] = []
        self.tables = 0
        self.numbering = numbering

    def blocks(self, parent) -> None:
        for child in parent:
            if child.tag == _w("p"):
                self.paragraph(child)
            elif child.tag == _w("tbl"):
                self.table(child)
            elif child.tag in _CONTAINERS:
                self.blocks(child)

    def paragraph(self, p) -> None:
        boxes: list = []
        text = collapse_whitespace(self.numbering.label(p) + paragraph_text(p, boxes))
        if text:
            self.lines.append(Line([Cell(text)]))
        for box in boxes:   # text boxes anchored in the paragraph follow it
            self.blocks(box)

    def table(self, tbl) -> None:
        rows = _rows(tbl)
        if _is_layout(rows):
            for row in rows:
                for _, tc, _ in row:
                    self.blocks(tc)
            return
        lines = []
        for r, row in enumerate(rows):
            cells = [Cell(self.cell_text(tc), row=r, col=c) for c, tc, covered in row if not covered]
            if any(cell.text for cell in cells):
                lines.append(Line(cells, table=self.tables))
        if lines:
            self.lines.extend(lines)
            self.tables += 1

    def cell_text(self, tc) -> str:
        return collapse_whitespace("\n".join(self.numbering.label(p) + paragraph_text(p) for p in _CELL_PARAGRAPHS(tc)))


def _rows(tbl) -> list[list[tuple[int, object, bool]]]:
    """Per row, (grid column, w:tc, covered by a merge above or to the left) for each cell element."""
    rows = []
    for tr in tbl.iterchildren(_w("tr")):
        c = _int(tr.find(f"{_w('trPr')}/{_w('gridBefore')}"), 0)
        row = []
        for tc in _ROW_CELLS(tr):
            props = tc.find(_w("tcPr"))
            span = max(_int(props.find(_w("gridSpan")) if props is not None else None, 1), 1)
            row.append((c, tc, _continues_merge(props)))
            c += span
        rows.append(row)
    return rows


def _continues_merge(props) -> bool:
    if props is None:
        return False
    for tag in ("vMerge", "hMerge"):
        merge = props.find(_w(tag))
        if merge is not None and merge.get(_w("val"), "continue") == "continue":
            return True
    return False


def _is_layout(rows) -> bool:
    nested = any(tc.find(f".//{_w('tbl')}") is not None for row in rows for _, tc, _ in row)
    columns = max((len(row) for row in rows), default=0)
    return nested or columns <= 1


def _int(element, default: int) -> int:
    if element is None:
        return default
    try:
        return int(element.get(_w("val"), default))
    except ValueError:
        return default



def paragraph_text(p, boxes: list | None = None) -> str:
    """Visible text of one paragraph; text-box contents go to `boxes` (or are left out) instead of being inlined,
    and the mc:Fallback copy of a drawing is skipped so its text is not read twice."""
    parts: list[str] = []

    def visit(node) -> None:
        for child in node:
            tag = child.tag
            if not isinstance(tag, str) or tag == f"{{{MC}}}Fallback" or tag in _NOT_TEXT:
                continue
            if tag == _w("txbxContent"):
                if boxes is not None:
                    boxes.append(child)
                continue
            if tag == _w("t"):
                parts.append(child.text or "")
            elif tag == _w("tab"):
                parts.append("\t")
            elif tag in (_w("br"), _w("cr")):
                parts.append("\n")
            elif tag == _w("noBreakHyphen"):
                parts.append("-")
            elif tag == _w("r") and _hidden(child):
                continue
            else:
                visit(child)

    visit(p)
    return "".join(parts)


def _hidden(run) -> bool:
    props = run.find(_w("rPr"))
    return props is not None and props.find(_w("vanish")) is not None and \
        props.find(_w("vanish")).get(_w("val"), "true") not in ("0", "false")


# --- automatic numbering ------------------------------------------------------------------------------------------
# Headings such as 三、收到和处理政府信息公开申请情况 are often Word list items: the 三、 is not in the text but
# computed from numbering.xml. We recompute it: counters per abstract list and level, formatted by numFmt.

_CHINESE_DIGITS = "零一二三四五六七八九"
_STEMS = "甲乙丙丁戊己庚辛壬癸"


def _chinese(n: int) -> str:
    if n < 10:
        return _CHINESE_DIGITS[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return ("" if tens == 1 else _CHINESE_DIGITS[tens]) + "十" + (_CHINESE_DIGITS[ones] if ones else "")
    return str(n)


def _roman(n: int) -> str:
    out = ""
    for value, numeral in ((1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"), (50, "l"),
                           (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")):
        while n >= value:
            out, n = out + numeral, n - value
    return out


def _letter(n: int) -> str:
    return chr(ord("a") + (n - 1) % 26) * ((n - 1) // 26 + 1)


_FORMATS = {
    "decimal": str, "decimalZero": lambda n: f"{n:02d}",
    "chineseCounting": _chinese, "chineseCountingThousand": _chinese, "japaneseCounting": _chinese,
    "taiwaneseCounting": _chinese, "chineseLegalSimplified": _chinese,
    "ideographDigital": lambda n: "".join(_CHINESE_DIGITS[int(d)] for d in str(n)).replace("零", "〇"),
    "ideographTraditional": lambda n: _STEMS[(n - 1) % 10],
    "decimalEnclosedCircle": lambda n: chr(0x2460 + n - 1) if 1 <= n <= 20 else str(n),
    "decimalEnclosedCircleChinese": lambda n: chr(0x2460 + n - 1) if 1 <= n <= 20 else str(n),
    "decimalFullWidth": lambda n: "".join(chr(0xFF10 + int(d)) for d in str(n)),
    "lowerLetter": _letter, "upperLetter": lambda n: _letter(n).upper(),
    "lowerRoman": _roman, "upperRoman": lambda n: _roman(n).upper(),
}


@dataclass
class _Level:
    start: int = 1
    format: str = "decimal"
    text: str = ""
    suffix: str = "tab"


@dataclass
class _Numbering:
    """numId -> abstract list; abstract list -> levels; style -> (numId, level); running counters."""
    nums: dict[str, str] = field(default_factory=dict)
    overrides: dict[str, dict[int, int]] = field(default_factory=dict)
    levels: dict[str, dict[int, _Level]] = field(default_factory=dict)
    styles: dict[str, tuple[str | None, int | None, str | None]] = field(default_factory=dict)
    counters: dict[str, list[int | None]] = field(default_factory=dict)
    started: set[str] = field(default_factory=set)

    @classmethod
    def from_package(cls, data: bytes) -> _Numbering:
        numbering = cls()
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
                numbering_xml = archive.read("word/numbering.xml") if "word/numbering.xml" in names else None
                styles_xml = archive.read("word/styles.xml") if "word/styles.xml" in names else None
        except (zipfile.BadZipFile, OSError):
            return numbering
        if numbering_xml:
            numbering._read_numbering(_parse(numbering_xml))
        if styles_xml:
            numbering._read_styles(_parse(styles_xml))
        return numbering

    def _read_numbering(self, root) -> None:
        for abstract in root.iterchildren(_w("abstractNum")):
            levels = {}
            for lvl in abstract.iterchildren(_w("lvl")):
                levels[int(lvl.get(_w("ilvl"), 0))] = _Level(
                    start=_int(lvl.find(_w("start")), 1), format=_val(lvl.find(_w("numFmt")), "decimal"),
                    text=_val(lvl.find(_w("lvlText")), ""), suffix=_val(lvl.find(_w("suff")), "tab"))
            self.levels[abstract.get(_w("abstractNumId"))] = levels
        for num in root.iterchildren(_w("num")):
            num_id = num.get(_w("numId"))
            self.nums[num_id] = _val(num.find(_w("abstractNumId")), "")
            self.overrides[num_id] = {int(o.get(_w("ilvl"), 0)): _int(o.find(_w("startOverride")), 1)
                                      for o in num.iterchildren(_w("lvlOverride"))
                                      if o.find(_w("startOverride")) is not None}

    def _read_styles(self, root) -> None:
        for style in root.iterchildren(_w("style")):
            num_pr = style.find(f"{_w('pPr')}/{_w('numPr')}")
            num_id = _val(num_pr.find(_w("numId")), None) if num_pr is not None else None
            level = _int(num_pr.find(_w("ilvl")), 0) if num_pr is not None and num_pr.find(_w("ilvl")) is not None \
                else None
            self.styles[style.get(_w("styleId"))] = (num_id, level, _val(style.find(_w("basedOn")), None))

    def _style_numbering(self, style_id: str | None) -> tuple[str | None, int]:
        for _ in range(10):   # follow basedOn a few steps; cycles end here
            if style_id not in self.styles:
                break
            num_id, level, based_on = self.styles[style_id]
            if num_id is not None:
                return num_id, level or 0
            style_id = based_on
        return None, 0

    def label(self, p) -> str:
        """The computed list label of a paragraph ("三、", "（一）", "1."), advancing the counters; "" if none."""
        if not self.levels:
            return ""
        props = p.find(_w("pPr"))
        num_pr = props.find(_w("numPr")) if props is not None else None
        style = _val(props.find(_w("pStyle")), None) if props is not None else None
        num_id, level = self._style_numbering(style)
        if num_pr is not None:
            if num_pr.find(_w("numId")) is not None:
                num_id = _val(num_pr.find(_w("numId")), None)
            if num_pr.find(_w("ilvl")) is not None:
                level = _int(num_pr.find(_w("ilvl")), 0)
        abstract = self.nums.get(num_id or "0")
        levels = self.levels.get(abstract or "")
        if not levels or level not in levels:
            return ""
        counters = self.counters.setdefault(abstract, [None] * 10)
        if num_id not in self.started and level in self.overrides.get(num_id, {}):
            counters[level] = None   # a list restarted by its own numbering instance
        self.started.add(num_id)
        start = self.overrides.get(num_id, {}).get(level, levels[level].start)
        counters[level] = start if counters[level] is None else counters[level] + 1
        for deeper in range(level + 1, len(counters)):
            counters[deeper] = None
        spec = levels[level]
        if spec.format in ("bullet", "none") or not spec.text:
            return ""

        def number(match: re.Match) -> str:
            k = int(match.group(1)) - 1
            lvl = levels.get(k, _Level())
            value = counters[k] if k < len(counters) and counters[k] is not None else lvl.start
            return _FORMATS.get(lvl.format, str)(value)
        return re.sub(r"%(\d)", number, spec.text) + ("" if spec.suffix == "nothing" else " ")


def _val(element, default):
    return element.get(_w("val"), default) if element is not None else default
