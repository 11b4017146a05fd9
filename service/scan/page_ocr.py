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
            for row in group_rows(self.boxes(page.image)):
                cells = [Cell(text, Box(page.number, x, y, w, h), conf, alternatives=alts)
                         for x, y, w, h, text, conf, alts in row if text]
                if cells:
                    lines.append(Line(cells, table=None if len(cells) == 1 else 0))
        return Document(source=scanned.source, kind=scanned.kind, lines=lines, pages=scanned.pages, method="ocr",
                        warnings=[*scanned.warnings, "tables read by whole-page OCR (the cell grid was incomplete)"],
                        images=scanned.images, frames=scanned.frames)
