"""HTML reader: tables as grids of cells (rowspan/colspan resolved), everything else as paragraphs, in page order.

Conventions every reader shares: a merged cell's text appears once, at its top-left grid position, and positions
it covers are omitted; an empty cell is Cell(text=""); cell text is whitespace-collapsed.
A table that holds other tables, has a single column, or a cell with a whole article is page layout, not data:
its cells are read as blocks.
"""
from __future__ import annotations

import re

import lxml.html
from lxml import etree

from service.document import Cell, Document, Line, Source
from service.ingest import collapse_whitespace, decode_text
from service.values import mark_yuan_amounts

_SKIP = {"script", "style", "noscript", "template", "select", "option", "button", "iframe", "svg", "object",
         "head", "textarea", "map"}
_BLOCK = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "dl", "dt", "dd", "section", "article",
          "header", "footer", "nav", "aside", "main", "blockquote", "pre", "center", "address", "figure",
          "figcaption", "form", "fieldset", "hr", "tr", "td", "th", "caption", "body", "html", "tbody", "thead",
          "tfoot", "legend", "details", "summary"}
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.I)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
# Pages that declare GB2312 or GBK routinely use characters outside it; GB18030 is a superset of both.
_ENCODING_ALIASES = {"gb2312": "gb18030", "gbk": "gb18030", "gb_2312-80": "gb18030", "x-gbk": "gb18030",
                     "cp936": "gb18030", "euc-cn": "gb18030", "hz-gb-2312": "gb18030"}
MAX_SPAN = 1000
MAX_DEPTH = 200       # nesting levels walked; deeper text is kept flat
MAX_DATA_CELL = 400   # characters: a longer cell is a layout cell holding prose


def read_html(source: Source) -> Document:
    # huge_tree: libxml2 otherwise drops everything below 256 levels of nesting (broken editor output nests deep)
    text = _XML_DECLARATION.sub("", html_text(source.data))
    root = etree.fromstring(text, lxml.html.HTMLParser(huge_tree=True)) if text.strip() else None
    if root is None:
        return Document(source=source.name, kind="html", lines=[], pages=1, method="html")
    walker = _Walker()
    body = root.find("body")
    walker.walk(body if body is not None else root)
    walker.flush()
    lines = walker.lines
    title = root.findtext(".//title")
    if title and collapse_whitespace(title) and \
            collapse_whitespace(title) not in {line.cells[0].text for line in lines[:50] if line.table is None}:
        lines.insert(0, Line([Cell(collapse_whitespace(title))]))
    mark_yuan_amounts(lines)
    return Document(source=source.name, kind="html", lines=lines, pages=1, method="html")


def html_text(data: bytes) -> str:
    """Decode by BOM; else as UTF-8 when it is (nearly) valid UTF-8, because GB18030 also accepts UTF-8 bytes, as
    mojibake, so a page that declares GBK but was saved as UTF-8 is caught; else by the declared charset; else
    GB18030. A stray broken byte costs one replacement character, not the page."""
    if data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        return decode_text(data) or data.decode("utf-8", "replace")
    as_utf8 = data.decode("utf-8", "replace")
    broken = as_utf8.count("\ufffd")
    non_ascii = len(as_utf8) - len(as_utf8.encode("ascii", "ignore"))
    if broken <= 3 + 0.01 * non_ascii:
        return as_utf8
    declared = _CHARSET.search(data[:8192])
    encoding = "gb18030"
    if declared:
        name = declared.group(1).decode("ascii").lower()
        encoding = _ENCODING_ALIASES.get(name, name)
    try:
        return data.decode(encoding, "replace")
    except LookupError:
        return data.decode("gb18030", "replace")


class _Walker:
    """Walks the tree in document order, gathering inline text into the current paragraph."""

    def __init__(self) -> None:
        self.lines: list[Line] = []
        self.buffer: list[str] = []
        self.tables = 0

    def flush(self) -> None:
        text = collapse_whitespace("".join(self.buffer))
        self.buffer.clear()
        if text:
            self.lines.append(Line([Cell(text)]))

    def walk(self, element, depth: int = 0) -> None:
        if not isinstance(element.tag, str) or _skipped(element):
            return
        if depth > MAX_DEPTH:   # pathological nesting: keep the text, drop the structure (and the recursion)
            self.buffer.append(" ".join(element.itertext()))
            return
        tag = element.tag.lower()
        if tag == "table":
            self.flush()
            self.table(element, depth)
            return
        if tag == "br":
            self.flush()
            return
        block = tag in _BLOCK
        if block:
            self.flush()
        if element.text:
            self.buffer.append(element.text)
        for child in element:
            self.walk(child, depth + 1)
            if child.tail:
                self.buffer.append(child.tail)
        if block:
            self.flush()

    def table(self, table, depth: int) -> None:
        for caption in table.findall("caption"):
            self.walk(caption, depth + 1)
        rows = _rows(table)
        if _is_layout(table, rows):
            for row in rows:
                for cell in row:
                    self.walk(cell, depth + 1)
            self.flush()
            return
        lines = [Line(cells, table=self.tables) for cells in _grid(rows)]
        lines = [line for line in lines if any(cell.text for cell in line.cells)]
        if lines:
            self.lines.extend(lines)
            self.tables += 1


def _skipped(element) -> bool:
    if element.tag.lower() in _SKIP:
        return True
    return "hidden" in element.attrib or bool(_HIDDEN_STYLE.search(element.get("style", "")))


def _rows(table) -> list[list]:
    """The table's own rows and cells, not those of tables nested inside it."""
    rows = [row for row in table.xpath("./tr|./thead/tr|./tbody/tr|./tfoot/tr") if not _skipped(row)]
    return [[cell for cell in row if isinstance(cell.tag, str) and cell.tag.lower() in ("td", "th")]
            for row in rows]


def _is_layout(table, rows: list[list]) -> bool:
    """Layout, not data: it holds tables, has one column, or a cell holds a whole article (report cells are short)."""
    if any(cell.xpath(".//table") for row in rows for cell in row):
        return True
    if max((sum(_span(cell, "colspan") for cell in row) for row in rows), default=0) <= 1:
        return True
    return any(len("".join(cell.itertext())) > MAX_DATA_CELL for row in rows for cell in row)


def _span(cell, attribute: str) -> int:
    match = re.match(r"\s*(\d+)", cell.get(attribute, "") or "")
    return min(int(match.group(1)), MAX_SPAN) if match else 1


def _grid(rows: list[list]) -> list[list[Cell]]:
    """Place each cell at its top-left grid position, skipping positions taken by earlier spans."""
    taken: set[tuple[int, int]] = set()
    out: list[list[Cell]] = []
    for r, row in enumerate(rows):
        cells: list[Cell] = []
        c = 0
        for element in row:
            while (r, c) in taken:
                c += 1
            rowspan = _span(element, "rowspan")
            rowspan = len(rows) - r if rowspan == 0 else min(rowspan, len(rows) - r)   # rowspan=0: to the end
            colspan = max(_span(element, "colspan"), 1)
            cells.append(Cell(cell_text(element), row=r, col=c))
            for dr in range(rowspan):
                for dc in range(colspan):
                    taken.add((r + dr, c + dc))
            c += colspan
        out.append(cells)
    return out


def cell_text(element) -> str:
    """A cell's visible text, line breaks kept until whitespace is collapsed."""
    parts: list[str] = []

    def visit(node, depth: int) -> None:
        if not isinstance(node.tag, str) or _skipped(node):
            return
        if depth > MAX_DEPTH:
            parts.append(" ".join(node.itertext()))
            return
        tag = node.tag.lower()
        if tag == "br" or tag in _BLOCK:
            parts.append("\n")
        if node.text:
            parts.append(node.text)
        for child in node:
            visit(child, depth + 1)
            if child.tail:
                parts.append(child.tail)
        if tag in _BLOCK:
            parts.append("\n")

    visit(element, 0)
    return collapse_whitespace("".join(parts))

