"""The scanned-document reader: a scanned PDF or a photo of a report -> Document (method "ocr").

Stages, per page, in order (each a plain function; seconds per stage are summed in `ScanReader.timings`, and what
was done to each page is in `ScanReader.pages`):
  raster     load_pages; straighten (cut the sheet out of a photo, even the light, despeckle, quarter turn, skew);
             confirm_quarter_turn (recogniser) when the page looked sideways
  rulings    binarize, find_rulings (from the ink, and rules too faint for it from the grey page);
             settle_upside_down (angle classifier + recogniser); unwarp a photographed table frame; unbend the rules
             of a sheet that did not lie flat; find_tables (ruled grids, and grids ruled only across with columns
             from text gaps)
  layout     unruled_tables (layout model; grid from text alignment, structure model as a last resort), only
             where rows of separate numbers lie outside the ruled tables
  cells      read_grids: every cell's lines recognised alone, batched; digit decode in value columns
  text       find_text_lines outside tables, choose_lines (titles, headings, lines by tables, signature), recognise
  assemble   table rows and text lines in reading order; a table that runs onto the next page continues
"""
from __future__ import annotations

import ctypes
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import cv2
import numpy as np

from models.layout import LayoutModel
from models.ocr import OcrEngine
from models.table_structure import TableStructureModel
from service.document import Box, Cell, Document, Line, PageImage, Source
from service.scan.cells import CellText, cleaned, crop_line, read_grids, text_ink, without_tall_strokes
from service.scan.grid import Grid, Rulings, bend_maps, find_rulings, find_tables, on_grid, table_quad
from service.scan.layout import TextBox, choose_lines, count_runs, find_text_lines, unruled_tables
from service.scan.raster import Page, binarize, load_pages, straighten, turn, unbend, unwarp


_CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass
class ScanOptions:
    dpi: int = 150  # body text ~20 px high: PP-OCR rec scales crops to 48 px, more pixels only cost time
    device: str = "cpu"  # "cuda" asks onnxruntime for CUDA and falls back to CPU when absent
    threads: int = 2
    ocr_runtime: str | None = None  # onnxruntime | torch; None: onnxruntime on cpu, torch on cuda
    read_prose: bool = False  # read every text line, not only titles, headings, signatures and lines by tables
    use_layout_model: bool = True  # look for unruled tables with the layout model on pages without ruled ones
    max_pages: int = 60
    keep_images: bool = True


@dataclass
class PageItem:
    """A thing on a page in reading order: a table row or a text line."""
    y: float
    line: Line
    table_key: int | None = None  # page-local table number for rows, None for text


class ScanReader:
    """Holds the models (loaded once, lazily) and reads documents; `timings` has the last read's seconds per stage."""

    def __init__(self, options: ScanOptions | None = None, engine: OcrEngine | None = None,
                 layout: LayoutModel | None = None, structure: TableStructureModel | None = None):
        self.options = options or ScanOptions()
        self._engine, self._layout, self._structure = engine, layout, structure
        self.timings: dict[str, float] = {}  # summed over pages, which are read two at a time: more than the wall
        self._lock = threading.Lock()  # the page threads share the timings and the lazily loaded models
        self.pages: list[dict] = []  # per page of the last read: dpi, size as rendered, quarter turn, skew

    # -- models ---------------------------------------------------------------------------------------------------
    @property
    def engine(self) -> OcrEngine:
        if self._engine is None:
            from models.ocr import RapidOcrEngine
            self._engine = RapidOcrEngine(device=self.options.device, threads=self.options.threads,
                                          runtime=self.options.ocr_runtime)
        return self._engine

    @property
    def layout(self) -> LayoutModel:
        with self._lock:
            if self._layout is None:
                from models.layout import CdlaLayoutModel
                self._layout = CdlaLayoutModel(device=self.options.device, threads=self.options.threads)
        return self._layout

    @property
    def structure(self) -> TableStructureModel:
        with self._lock:
            if self._structure is None:
                from models.table_structure import SlanetPlusModel
                self._structure = SlanetPlusModel(device=self.options.device)
        return self._structure

    @contextmanager
    def _stage(self, name: str):
        t = time.perf_counter()
        try:
            yield
        finally:
            with self._lock:
                self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - t

    # -- reading --------------------------------------------------------------------------------------------------
    def read(self, source: Source) -> Document:
        self.timings, self.pages = {}, []
        opts = self.options
        with self._stage("raster"):
            raw = load_pages(source, opts.dpi, opts.max_pages)
        lines: list[Line] = []
        images: list[PageImage] = []
        warnings: list[str] = []
        table_count = 0
        last_table: tuple[int, int, int] | None = None  # (table index, n_cols, next row) of the previous page's end
        jobs = [(number, gray, dpi, len(raw)) for number, (gray, dpi) in enumerate(raw, start=1)]
        for (number, gray, dpi, _), (page, items, grids, tabular) in zip(jobs, self._read_pages(jobs)):
            self.pages.append({"page": number, "dpi": dpi, "width": gray.shape[1], "height": gray.shape[0],
                               "rotation": page.rotation, "skew": page.skew, "noise": page.noise,
                               "denoised": page.denoised, "bilevel": page.bilevel,
                               "warp": None if page.warp is None else page.warp.tolist(), "bent": page.bent,
                               "paper": None if page.paper is None else page.paper.tolist(),
                               "cut": list(page.cut_size) if page.paper is not None else None,
                               # what the page holds: ruled tables found, and rows of separate pieces (a table,
                               # found or not), so a second look knows which pages to read whole
                               "tables": len(grids), "tabular": tabular})
            table_count = _number_tables(items, grids, last_table, table_count)
            lines += [it.line for it in items]
            last_table = _last_table(items, grids)
            if page.rotation:
                warnings.append(f"page {number} was turned {page.rotation} degrees")
            if opts.keep_images:
                h, w = page.gray.shape
                images.append(PageImage(number=number, width=w, height=h,
                                        image=np.broadcast_to(page.gray[..., None], (h, w, 3))))
        if not lines:
            warnings.append("no text found on the scanned pages")
        return Document(source=source.name, kind=source.kind, lines=lines, pages=len(raw), method="ocr",
                        warnings=warnings, images=images)

    def _read_pages(self, jobs: list[tuple]) -> list[tuple]:
        """Each page straightened and read, `threads` pages at a time: a page's image work (OpenCV, numpy) and its
        recogniser calls release the GIL, and one page alone left the second core idle for half its read."""
        self.engine  # loaded before the threads share it
        if self.options.threads < 2 or len(jobs) < 2:
            return [self._page(*job) for job in jobs]
        one_malloc_arena()
        with ThreadPoolExecutor(min(self.options.threads, len(jobs)), thread_name_prefix="page") as pool:
            return list(pool.map(lambda job: self._page(*job), jobs))

    def _page(self, number: int, gray: np.ndarray, dpi: float, count: int) -> tuple:
        with self._stage("raster"):
            page = straighten(gray, number, dpi)
            if page.rotation == 90:
                page = confirm_quarter_turn(page, gray, self.engine)
        return (page, *self._read_page(page, first=number == 1, last=number == count))

    def _read_page(self, page: Page, first: bool, last: bool) -> tuple[list[PageItem], list[Grid], bool]:
        opts = self.options
        with self._stage("rulings"):
            ink, rulings, lines_mask, ink_clean = rulings_of(page.gray, page.dpi, page.bilevel)
            turned = settle_upside_down(page, ink_clean, self.engine)
            quad = table_quad(rulings, page.dpi)
            if quad is not None:  # photographed at an angle: square the table up
                page.gray, page.warp = unwarp(page.gray, quad)
            if turned or quad is not None:
                ink, rulings, lines_mask, ink_clean = rulings_of(page.gray, page.dpi, page.bilevel)
            grids = find_tables(ink, rulings, page.dpi, text=ink_clean)
            unbent = unbend_rules(page.gray, page.dpi, ink, rulings, grids, page.bilevel)
            if unbent is not None:  # a sheet that did not lie flat
                page.gray, page.bent = unbent[0], True
                ink, rulings, lines_mask, ink_clean, grids = unbent[1:]
            gray_clean, ink_clean = cleaned(page.gray, lines_mask, ink_clean, rulings.cut, page.dpi)
        with self._stage("text"):
            # Text lines and unruled tables are found without the strokes taller than any character (a streak no
            # rule test caught joins every line it crosses); the cells keep their ink as it is.
            lines_ink = without_tall_strokes(ink_clean, page.dpi)
            text_lines = find_text_lines(lines_ink, page.dpi, [(g.x0, g.y0, g.x1, g.y1) for g in grids])
        runs: dict[tuple[int, int], int] = {}  # a row's pieces, over all its segments
        for b in text_lines:
            runs[(b.y0, b.y1)] = runs.get((b.y0, b.y1), 0) + count_runs(lines_ink, b)
        tabular = any(n >= 5 for n in runs.values()) or sum(1 for n in runs.values() if n >= 3) >= 2
        if opts.use_layout_model and tabular:
            # Rows of separate pieces (numbers in columns) outside the ruled tables: a table without rules. Prose
            # pages never get here, so they do not pay for the layout model.
            with self._stage("layout"):
                found = unruled_tables(page.gray, grids, self.layout, self.structure, text=lines_ink, dpi=page.dpi)
                if found:
                    grids = sorted(grids + found, key=lambda g: (g.y0, g.x0))
                    text_lines = find_text_lines(lines_ink, page.dpi, [(g.x0, g.y0, g.x1, g.y1) for g in grids])
        with self._stage("cells"):
            cell_texts = read_grids(gray_clean, ink_clean, grids, 0, page.dpi, self.engine, page.bilevel)
        with self._stage("text"):
            chosen = choose_lines(text_lines, grids, page.gray.shape[1], first, last, opts.read_prose)
            h, w = page.gray.shape
            crops = [crop_line(gray_clean, (b.x0, b.y0, b.x1, b.y1), (0, 0, w, h)) for b in chosen]
            texts = self.engine.recognize(crops, [False] * len(crops))
        with self._stage("assemble"):
            items = _table_items(cell_texts, page.number)
            body = float(np.median([b.height for b in text_lines])) if text_lines else 0.0
            for box, text, conf in _join_wrapped_titles(chosen, texts, body):
                items.append(PageItem(box.y0, Line([Cell(text, _box(page.number, box), conf)], table=None)))
            items.sort(key=lambda it: it.y)
        return items, grids, tabular


def read_scan(source: Source, options: ScanOptions | None = None, reader: ScanReader | None = None) -> Document:
    """Read a scanned PDF or image. Pass a `reader` to reuse its loaded models across documents."""
    return (reader or ScanReader(options)).read(source)


def one_malloc_arena() -> None:
    """glibc gives each new thread a malloc arena of its own, and an arena keeps the page-sized buffers its thread
    freed: two page threads took a fax's read from 0.29 to 0.48 GB peak, one arena 0.34 at the same speed. Process
    wide, and only for arenas made after it; nothing where the C library is not glibc."""
    try:
        ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, 1)
    except (OSError, AttributeError):
        pass


M_ARENA_MAX = -8  # glibc's malloc.h


# -- small stages ------------------------------------------------------------------------------------------------------
def unbend_rules(gray: np.ndarray, dpi: float, ink: np.ndarray, rulings: Rulings, grids: list[Grid],
                 bilevel: bool = False) -> tuple | None:
    """A sheet that did not lie flat bends its rules: the page with them straightened, and its ink, rulings, their
    mask, the ink without them and the grids found there; None when the rules are straight, or straightening them
    does not make the grid fit them clearly better (a streak or a slanted edge can pass for a bend)."""
    maps = bend_maps(rulings, dpi, ink)
    if maps is None:
        return None
    straight = unbend(gray, maps)
    ink, found_rulings, mask, text = rulings_of(straight, dpi, bilevel)
    found = find_tables(ink, found_rulings, dpi, text=text)
    # Straighter rules survive find_rulings' long kernels whole: fewer rule pixels after is a distortion.
    before, after = _rule_pixels(rulings), _rule_pixels(found_rulings)
    if after < before:
        return None
    fit, fit_before = on_grid(found, found_rulings, dpi), on_grid(grids, rulings, dpi)
    # Better: the grid fits the rules clearly better, or as well while holding far more of them (a sheet bent at
    # one side: straightened, that side's rules are found at all, and the grid gains the columns it had lost).
    if fit > fit_before + 0.05 or (fit >= fit_before and after * fit >= MORE_RULES * before * fit_before):
        return straight, ink, found_rulings, mask, text, found
    return None


MORE_RULES = 1.3  # rule pixels on the grid's lines, unbent against as found


def _rule_pixels(rulings: Rulings) -> int:
    return int(np.count_nonzero(rulings.horizontal)) + int(np.count_nonzero(rulings.vertical))


def rulings_of(gray: np.ndarray, dpi: float, bilevel: bool = False
               ) -> tuple[np.ndarray, Rulings, np.ndarray, np.ndarray]:
    """The page's ink, its rulings, their mask, and the ink without them. Rules too faint for the ink are looked
    for on the grey page, but for a black-and-white one (a fax): its ink is all there is, and along a fax's
    broken rules and bled text rows the grey page shows ridges that are no rules."""
    ink = binarize(gray)
    rulings = find_rulings(ink, dpi, None if bilevel else gray)
    lines_mask = rulings.mask()
    return ink, rulings, lines_mask, text_ink(ink, lines_mask)


def _line_confidence(gray: np.ndarray, dpi: float, engine: OcrEngine, samples: int = 8) -> float:
    """How well a page's widest text lines read as Chinese: mean confidence, counting only lines read with two or
    more ideographs (a column of numbers turned on its side reads confidently as "0000")."""
    # The ink's own rules are enough to keep them out of a few lines' crops: no search of the grey page.
    text = rulings_of(gray, dpi, bilevel=True)[3]
    ink = without_tall_strokes(text, dpi)
    lines = [b for b in find_text_lines(ink, dpi) if 2 <= b.width / max(1, b.height) <= 14]
    if not lines:
        return 0.0
    lines = sorted(lines, key=lambda b: -b.width)[:samples]
    h, w = gray.shape
    crops = [crop_line(gray, (b.x0, b.y0, b.x1, b.y1), (0, 0, w, h)) for b in lines]
    readings = engine.read(crops)
    return float(np.mean([r.confidence if len(_CJK.findall(r.text)) >= 2 else 0.0 for r in readings]))


def confirm_quarter_turn(page: Page, original: np.ndarray, engine: OcrEngine) -> Page:
    """The profile test calls a page sideways when columns of numbers outweigh its text lines (a table without
    rules). Read a few lines of the page as it came and turned, each either way up, and keep the best reading
    (as it came unless turning clearly reads better)."""
    as_is = straighten(original, page.number, page.dpi, allow_turn=False)
    best, best_score = as_is, -1.0
    for candidate, bonus in ((as_is, 0.05), (page, 0.0)):
        for flip in (False, True):
            gray = cv2.rotate(candidate.gray, cv2.ROTATE_180) if flip else candidate.gray
            score = _line_confidence(gray, page.dpi, engine) + bonus
            if score > best_score:
                best_score = score
                best = Page(**{**candidate.__dict__, "gray": gray,
                               "rotation": (candidate.rotation + (180 if flip else 0)) % 360})
    return best


def settle_upside_down(page: Page, text: np.ndarray, engine: OcrEngine, samples: int = 8) -> bool:
    """Turn the page 180 degrees (in place; True when turned) when the angle classifier says most of its text lines
    are upside down and the recogniser agrees (reads them more confidently turned). Two opinions, because a wrong
    turn loses the page. `text` is the page's ink without ruling lines, so table cells give lines too."""
    lines = [b for b in find_text_lines(text, page.dpi) if 1.5 <= b.width / max(1, b.height) <= 14]
    if len(lines) < 2:
        return False
    lines = sorted(lines, key=lambda b: -b.width)[:samples]
    h, w = page.gray.shape
    crops = [crop_line(page.gray, (b.x0, b.y0, b.x1, b.y1), (0, 0, w, h)) for b in lines]
    votes = engine.upside_down(crops)
    if sum(1 for flipped, score in votes if flipped and score >= 0.8) < 0.6 * len(votes):
        return False
    readings = engine.read(crops + [cv2.rotate(c, cv2.ROTATE_180) for c in crops])
    upright = np.mean([r.confidence for r in readings[:len(crops)]])
    flipped = np.mean([r.confidence for r in readings[len(crops):]])
    if flipped <= upright:
        return False
    page.gray = turn(page.gray, 180)
    page.rotation = (page.rotation + 180) % 360
    return True


def _join_wrapped_titles(boxes: list[TextBox], texts: list[tuple[str, float]], body: float
                         ) -> list[tuple[TextBox, str, float]]:
    """A title set larger than the body and wrapped over two lines ("…年度报" / "告") is one line of text."""
    out: list[tuple[TextBox, str, float]] = []
    for box, (text, conf) in zip(boxes, texts):
        if not text:
            continue
        if out:
            prev, ptext, pconf = out[-1]
            tall = body and prev.height > 1.2 * body and box.height > 1.2 * body
            if tall and 0 <= box.y0 - prev.y1 < 0.8 * prev.height and abs(box.height - prev.height) < 0.3 * prev.height:
                joined = TextBox(min(prev.x0, box.x0), prev.y0, max(prev.x1, box.x1), box.y1)
                out[-1] = (joined, ptext + text, min(pconf, conf))
                continue
        out.append((box, text, conf))
    return out


def _box(page: int, b: TextBox) -> Box:
    return Box(page, float(b.x0), float(b.y0), float(b.width), float(b.height))


def _table_items(cell_texts: list[CellText], page: int) -> list[PageItem]:
    """One Line per grid row of each table, cells left to right; a merged cell only in its top-left row."""
    rows: dict[tuple[int, int], list[CellText]] = {}
    for ct in cell_texts:
        rows.setdefault((ct.table, ct.cell.row), []).append(ct)
    items = []
    for (table, row), cts in rows.items():
        cts.sort(key=lambda c: c.cell.col)
        cells = [Cell(c.text, Box(page, c.cell.x0, c.cell.y0, c.cell.x1 - c.cell.x0, c.cell.y1 - c.cell.y0),
                      c.confidence, row=c.cell.row, col=c.cell.col, alternatives=c.alternatives) for c in cts]
        y = min(c.cell.y0 for c in cts)
        items.append(PageItem(y + 0.01 * row, Line(cells, table=None), table_key=table))
    return items


def _number_tables(items: list[PageItem], grids: list[Grid], last_table: tuple[int, int, int] | None,
                   table_count: int) -> int:
    """Give the page's tables document-wide numbers (returns the new count). A table at the very top of a page
    with the column count of the table that ended the previous page is its continuation: same number, rows
    counting on."""
    mapping: dict[int, int] = {}
    continued, row_offset = None, 0
    if items and items[0].table_key is not None and last_table:
        first_key = items[0].table_key
        if grids[first_key].n_cols == last_table[1]:
            continued, row_offset = first_key, last_table[2]
            mapping[first_key] = last_table[0]
    for key in range(len(grids)):
        if key not in mapping:
            mapping[key] = table_count
            table_count += 1
    for it in items:
        if it.table_key is not None:
            it.line.table = mapping[it.table_key]
            if it.table_key == continued:
                for c in it.line.cells:
                    c.row = (c.row or 0) + row_offset
    return table_count


def _last_table(items: list[PageItem], grids: list[Grid]) -> tuple[int, int, int] | None:
    """(table index, column count, next row index) when the page ends with a table, else None."""
    if not items or items[-1].table_key is None:
        return None
    key = items[-1].table_key
    rows = [it for it in items if it.table_key == key]
    next_row = max((c.row or 0) for it in rows for c in it.line.cells) + 1
    return rows[-1].line.table, grids[key].n_cols, next_row
