"""Digital-PDF reader: the text layer read as tables (from ruling lines) and prose lines, with boxes in PDF points.

Per page: tables come from pdfplumber's ruling-line finder (a text-alignment finder where a page has no lines);
each cell takes exactly the characters whose centre lies in its rectangle; characters outside every cell are
grouped into prose lines. Items are ordered top to bottom. A merged cell appears once, at its top-left grid
position (the grid is the table's distinct cell edges); an empty cell is Cell(text="").
When the text layer is missing or garbage (scans, unmapped fonts) the reader returns None and the pipeline OCRs.
"""
from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass

from service.document import Box, Cell, Document, Line, Source
from service.ingest import collapse_whitespace

LINE_TABLES = {"vertical_strategy": "lines", "horizontal_strategy": "lines"}
TEXT_TABLES = {"vertical_strategy": "text", "horizontal_strategy": "text"}
GOOD_PAGE = 0.6          # a page whose text quality is below this needs OCR
EDGE_TOLERANCE = 2.0     # points: cell edges closer than this are the same grid line

_CJK_IDEOGRAPH = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_BAD_CHAR = re.compile(r"\(cid:\d+\)|[\ue000-\uf8ff\ufffd\x00-\x08\x0e-\x1f]")
_RADICAL = re.compile(r"[\u2e80-\u2fdf]")   # Kangxi radicals some fonts map instead of the unified ideographs
_NUMBER = re.compile(r"^[\d,，.．]+$")


@dataclass
class PageQuality:
    page: int
    glyphs: int
    quality: float       # 0 (no text or garbage) .. 1 (clean text)
    has_images: bool

    @property
    def needs_ocr(self) -> bool:
        return self.quality < GOOD_PAGE and (self.glyphs > 0 or self.has_images)


# --- public entry points ---------------------------------------------------------------------------------------

def read_pdf_text(source: Source) -> Document | None:
    """The document from its text layer, or None when that layer is unusable (the pipeline then OCRs)."""
    import pdfplumber
    lines: list[Line] = []
    qualities: list[PageQuality] = []
    tables = 0
    with pdfplumber.open(io.BytesIO(source.data)) as pdf:
        for number, page in enumerate(pdf.pages, start=1):
            quality = _page_quality(page, number)
            qualities.append(quality)
            if quality.needs_ocr:
                continue
            page_lines, tables = _read_page(page.dedupe_chars(), number, tables)
            lines.extend(page_lines)
    if not text_layer_usable(qualities):
        return None
    document = Document(source=source.name, kind="pdf", lines=lines, pages=len(qualities), method="text-layer")
    ocr_pages = [q.page for q in qualities if q.needs_ocr]
    if ocr_pages:
        document.warnings.append(f"no usable text layer on pages {', '.join(map(str, ocr_pages))}: they need OCR")
    return document


def page_text_quality(source: Source) -> list[PageQuality]:
    """Per-page text-layer quality, for a pipeline that OCRs only the pages that need it."""
    import pdfplumber
    with pdfplumber.open(io.BytesIO(source.data)) as pdf:
        return [_page_quality(page, number) for number, page in enumerate(pdf.pages, start=1)]


def text_layer_quality(source: Source) -> float:
    """One number for the whole file: the glyph-weighted mean page quality (0 for a file with no text)."""
    return _mean_quality(page_text_quality(source))


def text_layer_usable(qualities: list[PageQuality]) -> bool:
    """Usable when there is text, it is mostly clean, and most non-blank pages have it (not a scan with a
    digital cover page)."""
    content_pages = [q for q in qualities if q.glyphs or q.has_images]
    if not content_pages or sum(q.glyphs for q in qualities) == 0:
        return False
    if _mean_quality(qualities) < GOOD_PAGE:
        return False
    return sum(q.needs_ocr for q in content_pages) * 2 < len(content_pages)


# --- quality -----------------------------------------------------------------------------------------------------

def _page_quality(page, number: int) -> PageQuality:
    glyphs = [char["text"] for char in page.chars if not char["text"].isspace()]
    return PageQuality(page=number, glyphs=len(glyphs), quality=char_quality(glyphs),
                       has_images=bool(page.images))


def char_quality(glyphs: list[str]) -> float:
    """Share of glyphs that are real characters, cut hard when a page full of glyphs has almost no Chinese
    (a font whose characters map to Latin garbage): these are Chinese reports."""
    if not glyphs:
        return 0.0
    bad = sum(1 for glyph in glyphs if _BAD_CHAR.search(glyph))
    quality = 1 - bad / len(glyphs)
    chinese = sum(1 for glyph in glyphs if _CJK_IDEOGRAPH.match(_RADICAL.sub(_nfkc, glyph)))
    if len(glyphs) >= 40 and chinese < 0.05 * len(glyphs):
        quality *= 0.25
    return quality


def _mean_quality(qualities: list[PageQuality]) -> float:
    glyphs = sum(q.glyphs for q in qualities)
    return sum(q.quality * q.glyphs for q in qualities) / glyphs if glyphs else 0.0


def _nfkc(match: re.Match) -> str:
    return unicodedata.normalize("NFKC", match.group(0))


# --- one page ----------------------------------------------------------------------------------------------------

def _read_page(page, number: int, first_table: int) -> tuple[list[Line], int]:
    """Lines of one page in reading order, and the next free table index."""
    chars = [char for char in page.chars if not char["text"].isspace()]
    items: list[tuple[float, list[Line]]] = []
    used: set[int] = set()
    index = first_table
    for table in _find_tables(page):
        table_lines = _table_lines(table, chars, used, number, index)
        if table_lines:
            items.append((table.bbox[1], table_lines))
            index += 1
    rest = [char for i, char in enumerate(chars) if i not in used]
    for group in _group_lines(rest):
        text = _text(group)
        if text:
            items.append((min(c["top"] for c in group), [Line([Cell(text, box=_box(number, _bbox(group)))])]))
    items.sort(key=lambda item: item[0])
    return [line for _, lines in items for line in lines], index


def _find_tables(page) -> list:
    """Ruled tables with at least two columns; where a page has none, whitespace-aligned tables that look like
    number grids (prose also aligns, so a text-found table must have several columns and many numbers)."""
    tables = [t for t in page.find_tables(LINE_TABLES) if _columns(t) >= 2]
    if tables:
        return tables
    found = []
    for table in page.find_tables(TEXT_TABLES):
        texts = [t for row in table.extract() for t in row if t]
        numbers = sum(1 for t in texts if _NUMBER.match(t.strip()))
        if _columns(table) >= 3 and len(table.rows) >= 3 and numbers >= 6 and numbers >= 0.3 * len(texts):
            found.append(table)
    return found


def _columns(table) -> int:
    return len(_clusters([cell[0] for cell in table.cells]))


def _table_lines(table, chars: list[dict], used: set[int], page: int, index: int) -> list[Line]:
    cells = table.cells
    columns = _clusters([cell[0] for cell in cells])
    rows = _clusters([cell[1] for cell in cells])
    contents: list[list[dict]] = [[] for _ in cells]
    x0, top, x1, bottom = table.bbox
    for i, char in enumerate(chars):
        cx, cy = (char["x0"] + char["x1"]) / 2, (char["top"] + char["bottom"]) / 2
        if not (x0 <= cx <= x1 and top <= cy <= bottom):
            continue
        for k, (cx0, ctop, cx1, cbottom) in enumerate(cells):
            if cx0 <= cx <= cx1 and ctop <= cy <= cbottom:
                contents[k].append(char)
                used.add(i)
                break
    by_row: dict[int, list[Cell]] = {}
    for bbox, content in zip(cells, contents):
        row, col = rows[_round(bbox[1])], columns[_round(bbox[0])]
        text = "\n".join(_text(group) for group in _group_lines(content))
        by_row.setdefault(row, []).append(Cell(collapse_whitespace(text), box=_box(page, bbox), row=row, col=col))
    lines = []
    for row in sorted(by_row):
        line_cells = sorted(by_row[row], key=lambda cell: cell.col)
        if any(cell.text for cell in line_cells):
            lines.append(Line(line_cells, table=index))
    return lines


def _round(value: float) -> float:
    return round(value, 3)


def _clusters(values: list[float]) -> dict[float, int]:
    """Grid index of each edge coordinate: coordinates within EDGE_TOLERANCE of a cluster's first one share it."""
    index: dict[float, int] = {}
    start, n = None, -1
    for value in sorted({_round(v) for v in values}):
        if start is None or value - start > EDGE_TOLERANCE:
            start, n = value, n + 1
        index[value] = n
    return index


def _group_lines(chars: list[dict]) -> list[list[dict]]:
    """Characters into visual lines: sorted by top, a new line where a character starts below the current line's
    middle; each line then left to right."""
    lines: list[list[dict]] = []
    for char in sorted(chars, key=lambda c: (c["top"], c["x0"])):
        if lines:
            current = lines[-1]
            middle = (current[0]["top"] + current[0]["bottom"]) / 2
            if char["top"] < middle:
                current.append(char)
                continue
        lines.append([char])
    return [sorted(line, key=lambda c: c["x0"]) for line in lines]


def _text(line: list[dict]) -> str:
    """One visual line's text; a space where the gap between glyphs is wider than a third of the font size
    (collapse_whitespace later drops it between Chinese characters)."""
    parts: list[str] = []
    previous = None
    for char in line:
        if previous is not None and char["x0"] - previous["x1"] > 0.33 * max(char.get("size", 10), 1):
            parts.append(" ")
        parts.append(char["text"])
        previous = char
    return collapse_whitespace(_RADICAL.sub(_nfkc, "".join(parts)))


def _bbox(chars: list[dict]) -> tuple[float, float, float, float]:
    return (min(c["x0"] for c in chars), min(c["top"] for c in chars),
            max(c["x1"] for c in chars), max(c["bottom"] for c in chars))


def _box(page: int, bbox) -> Box:
    x0, top, x1, bottom = bbox
    return Box(page=page, x=x0, y=top, w=x1 - x0, h=bottom - top)
