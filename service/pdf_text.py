"""Digital-PDF reader: the text layer read as tables (from ruling lines) and prose lines, with boxes in PDF points.

Per page: tables come from pdfplumber's ruling-line finder; each cell takes exactly the characters whose centre
lies in its rectangle. Characters outside every cell are grouped into visual lines and split at wide gaps; runs of
such lines that form aligned columns with numbers are read as a table without rules, the rest as prose (one cell
per gap-separated segment, like the tab-separated cells of a text dump). Items are ordered top to bottom.
Diagonal glyphs (watermarks) are dropped; overprinted "fake bold" duplicates are removed; a sideways page is read
turned upright; a table that goes on over a page break keeps its index, its rows counted on.
A merged cell appears once, at its top-left grid position (the grid is the table's distinct cell edges); an empty
cell is Cell(text="").
When the text layer is missing or garbage (scans, unmapped fonts) the reader returns None and the pipeline OCRs.
"""
from __future__ import annotations

import bisect
import io
import re
import statistics
import unicodedata
from dataclasses import dataclass

from service.document import Box, Cell, Document, Line, Source
from service.ingest import collapse_whitespace, is_cjk
from service.values import mark_yuan_amounts

LINE_TABLES = {"vertical_strategy": "lines", "horizontal_strategy": "lines"}
WIDE_GAP = 0.8          # a gap wider than this many font sizes separates columns on an unruled line
GOOD_PAGE = 0.6          # a page whose text quality is below this needs OCR
MAX_RULING_OBJECTS = 3000   # vector objects on a page beyond which tables are not searched for
TITLE_SIZE = 1.15        # type this much larger than the page's median is title type
BAD_GLYPH_WEIGHT = 5     # each unreadable glyph costs five: 8% unreadable puts a page below GOOD_PAGE
SCAN_GLYPHS = 150        # fewer glyphs than this on a page that is mostly one image: a scan
EDGE_TOLERANCE = 2.0     # points: cell edges closer than this are the same grid line

_CJK_IDEOGRAPH = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_BAD_CHAR = re.compile(r"\(cid:\d+\)|[\ue000-\uf8ff\ufffd\x00-\x08\x0e-\x1f]")
_RADICAL = re.compile(r"[\u2e80-\u2fdf]")   # Kangxi radicals some fonts map instead of the unified ideographs
_PAGE_NUMBER = re.compile(r"[\s\-—–_·.|/第页共PpAaGgEe0-9]*")
_HEADING = re.compile(r"^\s*(?:[一二三四五六七八九十]+、|[（(][一二三四五六七八九十\d]+[)）]|\d+[.．、]|第[一二三四五六七八九十\d]+)")
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
    """The document from its text layer, or None when that layer is unusable (the pipeline then OCRs).

    Pages without a usable layer are left out and named in `warnings` (see page_text_quality to OCR just those).
    A file pdfminer cannot parse (pdfium, which renders for OCR, is more forgiving) also gives None.
    """
    import pdfplumber
    lines: list[Line] = []
    qualities: list[PageQuality] = []
    failures: list[str] = []
    tables = 0
    try:
        pdf = pdfplumber.open(io.BytesIO(source.data))
    except Exception:   # pdfminer raises many types (PDFSyntaxError, PSEOF, KeyError...) on odd files
        return None
    with pdf:
        for number, page in enumerate(pdf.pages, start=1):
            try:
                quality = _page_quality(page, number)
                if not quality.needs_ocr:
                    page_lines, after = _read_page(page.dedupe_chars(), number, tables)
                    if _continue_table(_table_end(lines), page_lines):
                        after -= 1
                    lines.extend(page_lines)
                    tables = after
            except Exception as error:   # one odd page must not sink the file: it goes to OCR, and we say why
                quality = PageQuality(page=number, glyphs=0, quality=0.0, has_images=True)
                failures.append(f"page {number}: text layer unreadable ({type(error).__name__}: {error})"[:200])
            qualities.append(quality)
            page.close()   # drop pdfplumber's per-page caches: long files stay in bounded memory
    if not text_layer_usable(qualities):
        return None
    mark_yuan_amounts(lines)
    document = Document(source=source.name, kind="pdf", lines=lines, pages=len(qualities), method="text-layer")
    document.warnings.extend(failures)
    ocr_pages = [q.page for q in qualities if q.needs_ocr]
    document.needs_ocr = ocr_pages
    if ocr_pages:
        document.warnings.append(f"no usable text layer on pages {', '.join(map(str, ocr_pages))}: they need OCR")
    return document


def page_text_quality(source: Source) -> list[PageQuality]:
    """Per-page text-layer quality, for a pipeline that OCRs only the pages that need it."""
    import pdfplumber
    out = []
    with pdfplumber.open(io.BytesIO(source.data)) as pdf:
        for number, page in enumerate(pdf.pages, start=1):
            out.append(_page_quality(page, number))
            page.close()
    return out


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


def merge_ocr_pages(text_doc: Document, ocr_doc: Document) -> Document:
    """A PDF with some scanned pages: the text layer's lines, plus the OCR lines of the pages where the text layer
    gave none, in page order. OCR tables get indices after the text layer's, so the two never collide."""
    text_pages = {_line_page(line) for line in text_doc.lines} - {None}
    offset = 1 + max((line.table for line in text_doc.lines if line.table is not None), default=-1)
    by_page: dict[int, list[Line]] = {}
    for line in text_doc.lines:
        by_page.setdefault(_line_page(line) or 0, []).append(line)
    added = set()
    for line in ocr_doc.lines:
        page = _line_page(line)
        if page is None or page in text_pages:
            continue
        added.add(page)
        table = None if line.table is None else line.table + offset
        by_page.setdefault(page, []).append(Line(line.cells, table=table))
    lines = [line for page in sorted(by_page) for line in by_page[page]]
    merged = Document(source=text_doc.source, kind=text_doc.kind, lines=lines, pages=text_doc.pages,
                      method="text-layer+ocr" if added else text_doc.method,
                      warnings=[w for w in text_doc.warnings if "need OCR" not in w] + ocr_doc.warnings,
                      images=ocr_doc.images)
    if added:
        merged.warnings.append(f"pages {', '.join(map(str, sorted(added)))} read by OCR")
    return merged


def _line_page(line: Line) -> int | None:
    return next((cell.box.page for cell in line.cells if cell.box is not None), None)


# --- tables that go on over a page break ------------------------------------------------------------------------

@dataclass
class _TableEnd:
    index: int
    columns: int
    next_row: int


def _page_furniture(line: Line) -> bool:
    """A page number or similar line that sits between the end of a table and its continuation."""
    return line.table is None and bool(_PAGE_NUMBER.fullmatch("".join(cell.text for cell in line.cells)))


def _columns_of(lines: list[Line]) -> int:
    return 1 + max((cell.col or 0) for line in lines for cell in line.cells)


def _table_end(lines: list[Line]) -> _TableEnd | None:
    """The table the text so far ends with, if it ends with one (page furniture aside)."""
    last = next((line for line in reversed(lines) if not _page_furniture(line)), None)
    if last is None or last.table is None:
        return None
    rows = [line for line in lines if line.table == last.table]
    return _TableEnd(last.table, _columns_of(rows), 1 + max((cell.row or 0) for line in rows for cell in line.cells))


def _continue_table(end: _TableEnd | None, page_lines: list[Line]) -> bool:
    """A page that opens with a table of the same column count as the table the previous page ended with goes on
    with that table: same index, rows counted on. Later tables on the page move down one index."""
    first = next((line for line in page_lines if not _page_furniture(line)), None)
    if end is None or first is None or first.table is None:
        return False
    index = first.table
    if _columns_of([line for line in page_lines if line.table == index]) != end.columns:
        return False
    for line in page_lines:
        if line.table == index:
            line.table = end.index
            for cell in line.cells:
                cell.row = (cell.row or 0) + end.next_row
        elif line.table is not None and line.table > index:
            line.table -= 1
    return True


# --- quality -----------------------------------------------------------------------------------------------------

def _page_quality(page, number: int) -> PageQuality:
    """A page mostly covered by images with only a little text (a scan with a page number or a stamp added
    digitally) has no usable layer either: its content is in the picture."""
    glyphs = [char["text"] for char in page.chars if not char["text"].isspace()]
    quality = char_quality(glyphs)
    if len(glyphs) < SCAN_GLYPHS and _image_cover(page) > 0.5:
        quality = 0.0
    return PageQuality(page=number, glyphs=len(glyphs), quality=quality, has_images=bool(page.images))


def _image_cover(page) -> float:
    """Share of the page under its largest image."""
    area = float(page.width * page.height) or 1.0
    best = 0.0
    for image in page.images:
        w = min(image["x1"], page.width) - max(image["x0"], 0)
        h = min(image["bottom"], page.height) - max(image["top"], 0)
        best = max(best, max(w, 0) * max(h, 0) / area)
    return best


def char_quality(glyphs: list[str]) -> float:
    """Share of glyphs that are real characters, cut hard when a page full of glyphs has almost no Chinese (a font
    whose codes map to Latin garbage), or Chinese made mostly of rare characters (a font whose codes map to the
    wrong ideographs): these are Chinese reports."""
    if not glyphs:
        return 0.0
    bad = sum(1 for glyph in glyphs if _BAD_CHAR.search(glyph))
    quality = max(0.0, 1 - BAD_GLYPH_WEIGHT * bad / len(glyphs))
    chinese = [glyph for glyph in (_RADICAL.sub(_nfkc, g) for g in glyphs) if _CJK_IDEOGRAPH.match(glyph)]
    if len(glyphs) >= 40 and len(chinese) < 0.05 * len(glyphs):
        quality *= 0.25
    elif len(chinese) >= 50 and sum(1 for glyph in chinese if _common(glyph)) < 0.6 * len(chinese):
        quality *= 0.25
    return quality


def _common(glyph: str) -> bool:
    """In GB2312's first level: the 3,755 everyday characters, some 99% of any modern Chinese text but only 18% of
    the ideographs a font with a wrong code map produces."""
    try:
        return 0xB0 <= glyph.encode("gb2312")[0] <= 0xD7
    except UnicodeEncodeError:
        return False


def _mean_quality(qualities: list[PageQuality]) -> float:
    glyphs = sum(q.glyphs for q in qualities)
    return sum(q.quality * q.glyphs for q in qualities) / glyphs if glyphs else 0.0


def _nfkc(match: re.Match) -> str:
    return unicodedata.normalize("NFKC", match.group(0))


# --- one page ----------------------------------------------------------------------------------------------------

def _read_page(page, number: int, first_table: int) -> tuple[list[Line], int]:
    """Lines of one page in reading order, and the next free table index."""
    chars = [char for char in page.chars if not char["text"].isspace() and not _diagonal(char)]
    grids = [_Grid(table.cells, table.bbox) for table in _ruled_tables(page)]
    turn = _Turn.of(chars, page.width, page.height)
    if turn:   # a sideways page: read it turned upright, report boxes on the page as it is
        chars = [turn.char(char) for char in chars]
        grids = [_Grid([turn.bbox(cell) for cell in grid.cells], turn.bbox(grid.bbox)) for grid in grids]
    items: list[tuple[float, list[Line]]] = []
    used: set[int] = set()
    index = first_table
    for grid in grids:
        table_lines = _table_lines(grid, chars, used, number, index)
        if table_lines:
            items.append((grid.bbox[1], table_lines))
            index += 1
    rest = [char for i, char in enumerate(chars) if i not in used]
    for top, lines in _unruled_lines(rest, number):
        if lines[0].table is not None:
            lines = [Line(line.cells, table=index) for line in lines]
            index += 1
        items.append((top, lines))
    items.sort(key=lambda item: item[0])
    lines = [line for _, lines in items for line in lines]
    if turn:
        for line in lines:
            for cell in line.cells:
                cell.box = turn.unturn(cell.box) if cell.box else None
    return lines, index


@dataclass
class _Grid:
    """A ruled table: its cell rectangles and its outline, (x0, top, x1, bottom) in points."""
    cells: list[tuple[float, float, float, float]]
    bbox: tuple[float, float, float, float]


@dataclass
class _Turn:
    """A page whose text runs up or down (a landscape table printed sideways on a portrait page): coordinates
    turned a quarter so the text runs left to right, and back."""
    up: bool          # text runs towards the top of the page (turn clockwise to read)
    width: float
    height: float

    @classmethod
    def of(cls, chars: list[dict], width: float, height: float) -> _Turn | None:
        up = down = 0
        for char in chars:
            a, b = char.get("matrix", (1, 0, 0, 1, 0, 0))[:2]
            if abs(b) > 2 * abs(a):
                up, down = (up + 1, down) if b > 0 else (up, down + 1)
        if max(up, down) <= 0.6 * len(chars):
            return None
        return cls(up=up > down, width=width, height=height)

    def bbox(self, box):
        x0, top, x1, bottom = box
        if self.up:
            return (self.height - bottom, x0, self.height - top, x1)
        return (top, self.width - x1, bottom, self.width - x0)

    def char(self, char: dict) -> dict:
        x0, top, x1, bottom = self.bbox((char["x0"], char["top"], char["x1"], char["bottom"]))
        return {**char, "x0": x0, "top": top, "x1": x1, "bottom": bottom}

    def unturn(self, box: Box) -> Box:
        x0, top, x1, bottom = box.x, box.y, box.x + box.w, box.y + box.h
        if self.up:
            x0, top, x1, bottom = top, self.height - x1, bottom, self.height - x0
        else:
            x0, top, x1, bottom = self.width - bottom, x0, self.width - top, x1
        return Box(page=box.page, x=x0, y=top, w=x1 - x0, h=bottom - top)


def _ruled_tables(page) -> list:
    """Tables from ruling lines (and rectangle edges), with at least two columns: a single boxed cell is a frame.
    A page drawn with thousands of vector objects (a chart, a vectorised scan) is not searched: too slow."""
    if len(page.lines) + len(page.rects) + len(page.curves) > MAX_RULING_OBJECTS:
        return []
    return [table for table in page.find_tables(LINE_TABLES) if _columns(table) >= 2]


def _diagonal(char: dict) -> bool:
    """Watermark glyphs are drawn at an angle; upright and 90-degree text have one zero term in their matrix."""
    a, b = char.get("matrix", (1, 0, 0, 1, 0, 0))[:2]
    return abs(a) > 0.1 * abs(b) and abs(b) > 0.1 * abs(a)


# --- text outside ruled tables: prose lines, and tables aligned by whitespace --------------------------------

@dataclass
class _Segment:
    """A run of glyphs on one visual line with no wide gap inside (or several wrapped lines joined)."""
    text: str
    bbox: tuple[float, float, float, float]
    size: float = 0.0    # font size of its first glyph


def _unruled_lines(chars: list[dict], page: int) -> list[tuple[float, list[Line]]]:
    """Visual lines split at wide gaps; runs of lines that split into aligned columns with numbers become a table
    (table=0 as a placeholder for the caller's index); other lines are prose, one cell per segment, and wrapped
    lines of one paragraph or title are joined into one line, as the HTML and DOCX readers give them."""
    rows = [segments for segments in (_segments(group) for group in _group_lines(chars)) if segments]
    page_text = _TextBlock.of(chars)
    items: list[tuple[float, list[Line]]] = []
    previous: _Segment | None = None   # the last prose line, when it is a single segment
    paragraph: _Segment | None = None  # the lines joined so far into the last item
    i = 0
    while i < len(rows):
        j = i
        while j < len(rows) and len(rows[j]) >= 2 and (j == i or _close(rows[j - 1], rows[j])):
            j += 1
        block = rows[i:j]
        if _aligned_table(block):
            items.append((block[0][0].bbox[1], _aligned_table_lines(block, page)))
            previous = paragraph = None
            i = j
            continue
        row = rows[i]
        i += 1
        if previous is not None and paragraph is not None and len(row) == 1 and page_text.continues(previous, row[0]):
            paragraph = _Segment(_join(paragraph.text, row[0].text), _union([paragraph.bbox, row[0].bbox]),
                                 paragraph.size)
            items[-1] = (items[-1][0], [Line([Cell(paragraph.text, box=_box(page, paragraph.bbox))])])
            previous = row[0]
            continue
        previous = paragraph = row[0] if len(row) == 1 else None
        items.append((row[0].bbox[1], [Line([Cell(segment.text, box=_box(page, segment.bbox)) for segment in row])]))
    return items


@dataclass
class _TextBlock:
    """Where a page's text runs, and its body type size: enough to tell wrapped lines from new paragraphs."""
    left: float
    right: float
    body_size: float

    @classmethod
    def of(cls, chars: list[dict]) -> _TextBlock:
        if not chars:
            return cls(0.0, 0.0, 0.0)
        return cls(min(c["x0"] for c in chars), max(c["x1"] for c in chars),
                   statistics.median(c.get("size", 0.0) for c in chars))

    def centred(self, segment: _Segment) -> bool:
        return abs((segment.bbox[0] + segment.bbox[2]) / 2 - (self.left + self.right) / 2) <= segment.size

    def continues(self, above: _Segment, line: _Segment) -> bool:
        """`line` goes on from `above`: same type, close below, not a numbered heading; and either title type
        (larger than the body: "某某区人民政府办公室" / "2023年政府信息公开工作年度报告"), or `above` runs to the
        right edge and `line` starts no further right than its paragraph (or both are centred: a wrapped title)."""
        if abs(line.size - above.size) > 0.5 or _HEADING.match(line.text):
            return False
        if line.bbox[1] - above.bbox[3] > above.size:
            return False
        if above.size >= TITLE_SIZE * self.body_size:
            return True
        if above.bbox[2] - above.bbox[0] < 0.7 * (self.right - self.left) or above.bbox[2] < self.right - above.size:
            return False
        return line.bbox[0] <= above.bbox[0] + line.size or (self.centred(above) and self.centred(line))


def _join(first: str, second: str) -> str:
    """Two wrapped lines as one text: no space where the break falls next to a Chinese character."""
    if first and second and (is_cjk(first[-1]) or is_cjk(second[0])):
        return first + second
    return collapse_whitespace(f"{first} {second}")


def _segments(line: list[dict]) -> list[_Segment]:
    segments, current = [], []
    for char in line:
        if current and char["x0"] - current[-1]["x1"] > WIDE_GAP * max(char.get("size", 10), 1):
            segments.append(current)
            current = []
        current.append(char)
    if current:
        segments.append(current)
    out = [_Segment(_text(chars), _bbox(chars), chars[0].get("size", 0.0)) for chars in segments]
    return [segment for segment in out if segment.text]


def _close(upper: list[_Segment], lower: list[_Segment]) -> bool:
    height = max(s.bbox[3] - s.bbox[1] for s in upper)
    return lower[0].bbox[1] - max(s.bbox[3] for s in upper) < 2.5 * height


def _aligned_table(block: list[list[_Segment]]) -> bool:
    if len(block) < 2 or max(len(row) for row in block) < 3:
        return False
    texts = [segment.text for row in block for segment in row]
    numbers = sum(1 for text in texts if _NUMBER.match(text))
    return numbers >= 4 and numbers >= 0.3 * len(texts)


def _aligned_table_lines(block: list[list[_Segment]], page: int) -> list[Line]:
    """Columns are the x-extents of the rows with the most segments; every segment goes to the column it overlaps
    most (a header over several columns lands on one of them: the grid is approximate without rules)."""
    widest = max(len(row) for row in block)
    intervals: list[list[float]] = []
    for row in (row for row in block if len(row) == widest):
        for segment in row:
            x0, x1 = segment.bbox[0], segment.bbox[2]
            for interval in intervals:
                if x0 <= interval[1] and x1 >= interval[0]:
                    interval[0], interval[1] = min(interval[0], x0), max(interval[1], x1)
                    break
            else:
                intervals.append([x0, x1])
    intervals.sort()
    lines = []
    for r, row in enumerate(block):
        by_column: dict[int, list[_Segment]] = {}
        for segment in row:
            by_column.setdefault(_best_column(segment, intervals), []).append(segment)
        cells = [Cell(collapse_whitespace(" ".join(s.text for s in segments)),
                      box=_box(page, _union([s.bbox for s in segments])), row=r, col=col)
                 for col, segments in sorted(by_column.items())]
        lines.append(Line(cells, table=0))
    return lines


def _best_column(segment: _Segment, intervals: list[list[float]]) -> int:
    x0, x1 = segment.bbox[0], segment.bbox[2]
    centre = (x0 + x1) / 2

    def score(k: int) -> tuple[float, float]:
        a, b = intervals[k]
        return (min(x1, b) - max(x0, a), -abs(centre - (a + b) / 2))
    return max(range(len(intervals)), key=score)


def _union(boxes: list[tuple[float, float, float, float]]) -> tuple[float, float, float, float]:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


# --- ruled tables --------------------------------------------------------------------------------------------------

def _columns(table) -> int:
    return len(_clusters([cell[0] for cell in table.cells]))


def _table_lines(table, chars: list[dict], used: set[int], page: int, index: int) -> list[Line]:
    cells = table.cells
    columns = _clusters([cell[0] for cell in cells])
    rows = _clusters([cell[1] for cell in cells])
    contents: list[list[dict]] = [[] for _ in cells]
    # Horizontal bands between consecutive cell edges, each with the cells crossing it: a character is then
    # tested against one band's cells only (a 40x40 grid has 1600 cells, a page a few thousand characters).
    edges = sorted({cell[1] for cell in cells} | {cell[3] for cell in cells})
    bands: list[list[int]] = [[] for _ in edges]
    for k, (_, ctop, _, cbottom) in enumerate(cells):
        for band in range(bisect.bisect_left(edges, ctop), bisect.bisect_left(edges, cbottom)):
            bands[band].append(k)
    for i, char in enumerate(chars):
        cx, cy = (char["x0"] + char["x1"]) / 2, (char["top"] + char["bottom"]) / 2
        band = bisect.bisect_right(edges, cy) - 1
        if not 0 <= band < len(edges) - 1:
            continue
        for k in bands[band]:
            cx0, ctop, cx1, cbottom = cells[k]
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
        parts.append("\ufffd" if char["text"].startswith("(cid:") else char["text"])   # an unmapped glyph
        previous = char
    return collapse_whitespace(_RADICAL.sub(_nfkc, "".join(parts)))


def _bbox(chars: list[dict]) -> tuple[float, float, float, float]:
    return (min(c["x0"] for c in chars), min(c["top"] for c in chars),
            max(c["x1"] for c in chars), max(c["bottom"] for c in chars))


def _box(page: int, bbox) -> Box:
    x0, top, x1, bottom = bbox
    return Box(page=page, x=x0, y=top, w=x1 - x0, h=bottom - top)
