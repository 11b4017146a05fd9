"""DOCX reader: the body in order, paragraphs and tables interleaved, merged cells by the shared convention.

python-docx opens the package; the body is then read at the XML level, because python-docx's cell API repeats a
merged cell once per grid position it covers, while we want it once, at its top-left position (gridSpan / vMerge
restart), with the covered positions omitted. A table holding tables, or with a single column, is page layout:
its cells are read as blocks.
"""
from __future__ import annotations

import io
import zipfile

from lxml import etree

from service.document import Cell, Document, Line, Source
from service.ingest import collapse_whitespace

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
# Compiled XPath works on python-docx's element classes too (their .xpath() takes no namespaces argument).
_ROW_CELLS = etree.XPath("./w:tc|./w:sdt/w:sdtContent/w:tc|./w:customXml/w:tc", namespaces={"w": W})
_CELL_PARAGRAPHS = etree.XPath("./w:p|./w:sdt/w:sdtContent/w:p|./w:customXml/w:p", namespaces={"w": W})
_CONTAINERS = {f"{{{W}}}sdt", f"{{{W}}}sdtContent", f"{{{W}}}customXml", f"{{{W}}}smartTag"}


def _w(tag: str) -> str:
    return f"{{{W}}}{tag}"


def read_docx(source: Source) -> Document:
    walker = _Walker()
    walker.blocks(_body(source.data))
    return Document(source=source.name, kind="docx", lines=walker.lines, pages=1, method="docx")


def _body(data: bytes):
    """The w:body element: through python-docx, or straight from the zip for packages python-docx refuses
    (macro-enabled .docm, templates), whose document.xml is the same."""
    try:
        import docx
        return docx.Document(io.BytesIO(data)).element.body
    except (ValueError, KeyError):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            xml = archive.read("word/document.xml")
        parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
        return etree.fromstring(xml, parser).find(_w("body"))


class _Walker:
    def __init__(self) -> None:
        self.lines: list[Line] = []
        self.tables = 0

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
        text = collapse_whitespace(paragraph_text(p, boxes))
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
            cells = [Cell(cell_text(tc), row=r, col=c) for c, tc, covered in row if not covered]
            if any(cell.text for cell in cells):
                lines.append(Line(cells, table=self.tables))
        if lines:
            self.lines.extend(lines)
            self.tables += 1


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


def cell_text(tc) -> str:
    return collapse_whitespace("\n".join(paragraph_text(p) for p in _CELL_PARAGRAPHS(tc)))


def paragraph_text(p, boxes: list | None = None) -> str:
    """Visible text of one paragraph; text-box contents go to `boxes` (or are left out) instead of being inlined,
    and the mc:Fallback copy of a drawing is skipped so its text is not read twice."""
    parts: list[str] = []

    def visit(node) -> None:
        for child in node:
            tag = child.tag
            if not isinstance(tag, str) or tag == f"{{{MC}}}Fallback" or tag in (_w("del"), _w("rPr"), _w("pPr")):
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
