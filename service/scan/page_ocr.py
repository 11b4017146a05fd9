"""Second look at a scanned page: PP-OCR detection + recognition over the whole page, boxes grouped into rows.

The cell reader (service/scan/reader.py) is faster and more exact where it recovers the table grid; where the grid
fails (rules broken, cells merged), this reading of the same straightened page images often still has every row.
The pipeline runs it only when the cell reading leaves rows missing or rules broken, and keeps whichever reading
the template's arithmetic supports better. Boxes are in the same page frame as the cell reader's.
"""
from __future__ import annotations

import logging
import re

import numpy as np

from models.ocr import OcrEngine, onnx_engine_params
from service.scan.cells import looks_numeric
from service.document import Box, Cell, Document, Line
from service.values import is_number, is_numbers

_CJK = r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef（）]"
_CJK_GAP = re.compile(rf"(?<={_CJK}) +(?={_CJK})")


def clean_text(text: str | None) -> str:
    """OCR engines put spaces between CJK characters; the printed labels have none."""
    return _CJK_GAP.sub("", " ".join((text or "").split()))


TALL_BOX = 4.0  # times the page's median box height (a noisy fax digit's box reaches 3.5)


def group_rows(items: list[tuple], overlap: float = 0.5) -> list[list]:
    """Boxes (x, y, w, h, text, confidence, ...) -> printed rows: a box joins the row whose vertical span it overlaps by
    at least `overlap` of the smaller height; rows top to bottom, boxes left to right."""
    rows: list[list] = []
    spans: list[list[float]] = []  # [top, bottom] per row
    line = float(np.median([b[3] for b in items])) if items else 0.0
    # A box far taller than a line of text and taller than wide is a streak or a rule read as text (or vertical
    # text): it would join every row it crosses into one.
    items = [b for b in items if not (b[3] > TALL_BOX * line and b[3] > 2 * b[2])]
    for item in sorted(items, key=lambda b: b[1] + b[3] / 2):
        y, h = item[1], item[3]
        for row, span in zip(rows, spans):
            shared = min(span[1], y + h) - max(span[0], y)
            if shared >= overlap * min(h, span[1] - span[0]):
                row.append(item)
                span[0], span[1] = min(span[0], y), max(span[1], y + h)
                break
        else:
            rows.append([item])
            spans.append([y, y + h])
    order = sorted(range(len(rows)), key=lambda i: spans[i][0])
    return [sorted(rows[i], key=lambda b: b[0]) for i in order]


NEAR_ROWS = 6  # rows above and below a row looked at for its table's places
SPECK = 0.5  # of the row's median box height: a box neither as wide nor as tall is a speck
ALIGNED = 0.4  # of the gap between a row's neighbouring numbers: how far off a number still sits under one


def columns_under(rows: list[list]) -> list[list[tuple[int, int] | None]]:
    """Per row of boxes, per box that is a number: (i, n), it sits at the i-th of the n places a row of its table
    has for numbers, where that is known, else None. A row's places are its boxes right of its label (numbers, and
    blots read where a number is printed); n is the most places two rows near it have. A row with fewer places
    (detection missed a number) takes the places of such a row that its boxes sit under. Without them, a row's
    missed numbers could be in any of its cells: a row of 4 numbers in 7 columns is 35 readings before any
    recogniser alternative, and a fax's whole-page reading made models the solver's time limit cut off."""
    places = [_places(row) for row in rows]
    out: list[list[tuple[int, int] | None]] = [[None] * len(row) for row in rows]
    for r, row in enumerate(rows):
        mine = places[r]
        if not mine:
            continue
        near = range(max(0, r - NEAR_ROWS), min(len(rows), r + NEAR_ROWS + 1))
        counts = [len(places[q]) for q in near if len(places[q]) > 1]
        # The most places two rows near it share: rows that lost a number are many on a fax, and a photo's doubled
        # row reads nine numbers where the table has seven.
        n = max((k for k in set(counts) if counts.count(k) > 1), default=0)
        if n == len(mine):
            at: tuple[int, ...] | None = tuple(range(n))
        elif n > len(mine):
            fuller = sorted((q for q in near if len(places[q]) == n), key=lambda q: abs(q - r))
            at = next((a for q in fuller if (a := _under([row[i] for i in mine], [rows[q][i] for i in places[q]]))
                       is not None), None)
        else:
            at = None
        if at is not None:
            for i, j in zip(mine, at):
                if is_number(row[i][4]):
                    out[r][i] = (j, n)
    return out


def _places(row: list) -> list[int]:
    """The boxes of a row at places for numbers: every box right of its last label (numbers, and blots or junk read
    where a number is printed: "a", "口", "J050"); none where a box holds several numbers (the places are then
    unknown) or none is a number."""
    labels = [i for i, b in enumerate(row) if _CJK_LABEL.search(b[4]) and not is_number(b[4])]
    # A box far smaller than the row's characters is a speck or a stop: no place of its own.
    line = float(np.median([b[3] for b in row]))
    places = [i for i in range(labels[-1] + 1 if labels else 0, len(row)) if max(row[i][2:4]) >= SPECK * line]
    if any(is_numbers(row[i][4]) for i in places) or not any(is_number(row[i][4]) for i in places):
        return []
    return places


_CJK_LABEL = re.compile(rf"{_CJK}.*\S|\S.*{_CJK}")  # two characters or more, one of them Chinese


def _under(boxes: list, fuller: list) -> tuple[int, ...] | None:
    """The numbers of `fuller` that `boxes` sit under, one each in order, by left edges, centres or right edges
    (numbers are printed left-aligned, centred or right-aligned), whichever lies closest; None where none fits."""
    best = None
    for edge in (0.0, 0.5, 1.0):
        theirs = [b[0] + edge * b[2] for b in fuller]
        reach = [ALIGNED * min(abs(theirs[j] - theirs[k]) for k in (j - 1, j + 1) if 0 <= k < len(theirs))
                 for j in range(len(theirs))]
        at, off = [], 0.0
        for b in boxes:
            x = b[0] + edge * b[2]
            j = min(range(len(theirs)), key=lambda k: abs(theirs[k] - x))
            if abs(theirs[j] - x) > reach[j] or (at and j <= at[-1]):
                break
            at.append(j)
            off += abs(theirs[j] - x)
        else:
            if best is None or off < best[0]:
                best = (off, tuple(at))
    return None if best is None else best[1]


# Detection on the page scaled to 1280 px at most (0.35 s instead of 0.85 s, the same lines found); a lower box
# threshold than rapidocr's 0.5 keeps lone thin digits ("1") of tables without rules.
DET_SIZE = {"Det.limit_type": "max", "Det.limit_side_len": 1280, "Det.box_thresh": 0.3}


class PageOcrReader:
    """PP-OCR's detection finds the text lines of the page; `engine` (the cell reader's recogniser, batched) reads
    them. rapidocr's own recognition of ~200 lines a page took 2.9 s against 0.7 s this way (2 cores)."""

    def __init__(self, engine: OcrEngine, device: str = "cpu", threads: int = 2):
        from rapidocr import RapidOCR

        params = {"Global.log_level": "warning", **DET_SIZE,
                  **onnx_engine_params(device, threads)}
        self.detector = RapidOCR(params=params)
        if getattr(engine, "runtime", None) == "torch":   # detection on the recogniser's runtime (and GPU)
            from models.ocr_torch import use_torch

            use_torch(self.detector._load_det_model(), engine.torch_device)
        self.engine = engine
        logging.getLogger("RapidOCR").setLevel(logging.WARNING)

    def boxes(self, image: np.ndarray) -> list[tuple[float, float, float, float, str, float, list]]:
        """(x, y, w, h, text, confidence, alternatives) per line found; alternatives: a doubtful number's top-k
        digit readings (see models.ocr), else []."""
        # use_det/use_cls/use_rec are sticky in rapidocr: always say all three.
        found = self.detector(np.ascontiguousarray(image), use_det=True, use_cls=False, use_rec=False)
        if found.boxes is None or not len(found.boxes):
            return []
        gray = image[:, :, 0] if image.ndim == 3 else image
        h, w = gray.shape
        rects, crops = [], []
        for quad in found.boxes:
            quad = np.asarray(quad, dtype=float)
            x0, y0 = max(0, int(quad[:, 0].min())), max(0, int(quad[:, 1].min()))
            x1, y1 = min(w, int(np.ceil(quad[:, 0].max()))), min(h, int(np.ceil(quad[:, 1].max())))
            if x1 - x0 >= 2 and y1 - y0 >= 2:
                rects.append((x0, y0, x1, y1))
                crops.append(gray[y0:y1, x0:x1])
        readings = self.engine.read(crops) if crops else []
        return [(x0, y0, x1 - x0, y1 - y0, clean_text(r.text), float(r.confidence),
                 r.digit_alternatives if looks_numeric(r.text) else [])
                for (x0, y0, x1, y1), r in zip(rects, readings)]

    def read(self, scanned: Document, pages: set[int] | None = None) -> Document:
        """The pages of `scanned` that hold tables (and are in `pages`, where given), read whole from its
        straightened images; its other pages as they were read. `scanned.frames` (the reader's notes per page) say
        which pages look like tables."""
        def page_of(line: Line) -> int:
            return next((c.box.page for c in line.cells if c.box), 0)

        # Pages with a table the cell reader found, or rows of separate pieces where it found none (a table without
        # rules that the layout model missed too).
        table_pages = {page_of(line) for line in scanned.lines if line.table is not None} \
            | {f["page"] for f in scanned.frames if f.get("tables") or f.get("tabular")} \
            or {p.number for p in scanned.images}
        if pages is not None:
            table_pages &= pages
        lines: list[Line] = []
        for page in scanned.images:
            if page.number not in table_pages:
                lines += [line for line in scanned.lines if page_of(line) == page.number]
                continue
            rows = group_rows(self.boxes(page.image))
            for row, under in zip(rows, columns_under(rows)):
                cells = [Cell(text, Box(page.number, x, y, w, h), conf, alternatives=alts, under=at)
                         for (x, y, w, h, text, conf, alts), at in zip(row, under) if text]
                if cells:
                    lines.append(Line(cells, table=None if len(cells) == 1 else 0))
        return Document(source=scanned.source, kind=scanned.kind, lines=lines, pages=scanned.pages, method="ocr",
                        warnings=[*scanned.warnings, "tables read by whole-page OCR (the cell grid was incomplete)"],
                        images=scanned.images, frames=scanned.frames)
