"""Stage 2: where things are on a page: ruled tables (scan/grid.py), unruled tables (layout model + structure model),
and the text lines outside tables, of which only the informative ones are read.

Reading every prose line costs ~0.2 s each on two cores; the report's numbers live in tables, and the assembler needs
only the title (agency, year), the section headings, the lines next to tables and the signature. So a line is read when
it is short (headings, titles, signatures, dates, a paragraph's last line), taller than body text (titles), next to a
table, or among the first and last lines of the document; full-width prose is skipped unless asked for.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from models.layout import LayoutModel
from models.table_structure import TableStructureModel
from service.scan.grid import Grid, GridCell, grid_from_text, runs


@dataclass
class TextBox:
    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def width(self) -> int:
        return self.x1 - self.x0


def find_text_lines(ink: np.ndarray, dpi: float, exclude: list[tuple[float, float, float, float]] = ()) -> list[TextBox]:
    """Text lines by the horizontal ink profile, split where a row has a wide empty gap (a right-aligned date beside
    a left-aligned line). `ink` should have ruling lines removed; `exclude` rectangles (tables) are blanked."""
    ink = ink.copy()
    for x0, y0, x1, y1 in exclude:
        ink[max(0, int(y0) - 2):int(y1) + 3, max(0, int(x0) - 2):int(x1) + 3] = 0
    # Drop specks, then smear characters of a line together so each line is one band.
    ink = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (2, 2)))
    bands = runs(np.flatnonzero(ink.any(axis=1)))
    if not bands:
        return []
    min_h = max(6, int(dpi / 20))
    # A character split across a blank row or two (告 = 生 over 口 in a large title) is one line; lines of text,
    # even in a tight table, are further apart.
    joined = [bands[0]]
    for a, b in bands[1:]:
        pa, pb = joined[-1]
        if a - pb <= max(2, dpi / 75):
            joined[-1] = (pa, b)
        else:
            joined.append((a, b))
    bands = joined
    lines = []
    for a, b in bands:
        if b - a < min_h:
            continue
        cols = np.flatnonzero(ink[a:b].any(axis=0))
        gap = max(3 * (b - a), int(dpi / 2))
        seg_start = prev_c = cols[0]
        for c in cols[1:]:
            if c - prev_c > gap:
                lines.append(TextBox(int(seg_start), int(a), int(prev_c) + 1, int(b)))
                seg_start = c
            prev_c = c
        lines.append(TextBox(int(seg_start), int(a), int(prev_c) + 1, int(b)))
    return [ln for ln in lines if ln.width >= min_h]


def count_runs(ink: np.ndarray, box: TextBox) -> int:
    """Pieces of ink along a line separated by gaps wider than the line is tall (a row of numbers has many)."""
    cols = ink[box.y0:box.y1, box.x0:box.x1].any(axis=0)
    xs = np.flatnonzero(cols)
    if xs.size == 0:
        return 0
    return 1 + int(np.count_nonzero(np.diff(xs) > 1.5 * box.height))


def choose_lines(lines: list[TextBox], tables: list[Grid], page_width: int, first_page: bool, last_page: bool,
                 read_all: bool = False) -> list[TextBox]:
    """The lines worth reading (see the module note)."""
    if read_all or not lines:
        return list(lines)
    body_h = float(np.median([ln.height for ln in lines]))
    left = min(ln.x0 for ln in lines)
    right = max(ln.x1 for ln in lines)
    full = max(1, right - left)
    near = 2.5 * body_h
    chosen = []
    for i, ln in enumerate(lines):
        short = ln.width < 0.7 * full
        tall = ln.height > 1.25 * body_h
        by_table = any(abs(ln.y1 - g.y0) < near or abs(ln.y0 - g.y1) < near for g in tables)
        edge = (first_page and i < 3) or (last_page and i >= len(lines) - 4)
        if short or tall or by_table or edge:
            chosen.append(ln)
    return chosen


def unruled_tables(gray: np.ndarray, grids: list[Grid], layout: LayoutModel, structure: TableStructureModel,
                   text: np.ndarray | None = None, dpi: float = 150, min_score: float = 0.45) -> list[Grid]:
    """Tables the layout model sees where no ruled grid was found. Their grid comes from the alignment of their
    text when `text` (ink without rules) is given and shows columns, else from the structure model (whose boxes
    drift on long tables)."""
    found = []
    for region in layout.regions(gray):
        if region.label != "table" or region.score < min_score:
            continue
        x0, y0, x1, y1 = (int(round(v)) for v in (region.x0, region.y0, region.x1, region.y1))
        if any(_overlap((x0, y0, x1, y1), (g.x0, g.y0, g.x1, g.y1)) > 0.3 for g in grids):
            continue
        x0, y0 = max(0, x0), max(0, y0)
        if text is not None:
            grid = grid_from_text(text, (x0, y0, min(x1, text.shape[1]), min(y1, text.shape[0])), dpi)
            if grid is not None:
                found.append(grid)
                continue
        crop = gray[y0:y1, x0:x1]
        if crop.size == 0:
            continue
        cells = structure.cells(crop)
        if len(cells) < 4:
            continue
        n_rows = max(c.row + c.rowspan for c in cells)
        n_cols = max(c.col + c.colspan for c in cells)
        grid_cells = [GridCell(c.row, c.col, c.rowspan, c.colspan, c.x0 + x0, c.y0 + y0, c.x1 + x0, c.y1 + y0)
                      for c in cells]
        found.append(Grid(x0=x0, y0=y0, x1=x1, y1=y1, rows=[float(y0)] * (n_rows + 1),
                          cols=[float(x0)] * (n_cols + 1), cells=grid_cells))
    return found


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """Intersection over the smaller area."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return w * h / max(1, smaller)
