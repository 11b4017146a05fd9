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

from models.ocr import onnx_engine_params
from service.document import Box, Cell, Document, Line

_CJK = r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef（）]"
_CJK_GAP = re.compile(rf"(?<={_CJK}) +(?={_CJK})")


def clean_text(text: str | None) -> str:
    """OCR engines put spaces between CJK characters; the printed labels have none."""
    return _CJK_GAP.sub("", " ".join((text or "").split()))


def group_rows(items: list[tuple[float, float, float, float, str, float]], overlap: float = 0.5) -> list[list]:
    """Boxes (x, y, w, h, text, confidence) -> printed rows: a box joins the row whose vertical span it overlaps by
    at least `overlap` of the smaller height; rows top to bottom, boxes left to right."""
    rows: list[list] = []
    spans: list[list[float]] = []  # [top, bottom] per row
    for item in sorted(items, key=lambda b: b[1] + b[3] / 2):
        _, y, _, h, _, _ = item
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


class PageOcrReader:
    def __init__(self, device: str = "cpu", threads: int = 2):
        from rapidocr import RapidOCR

        params = {"Global.log_level": "warning", **onnx_engine_params(device, threads)}
        self.engine = RapidOCR(params=params)
        logging.getLogger("RapidOCR").setLevel(logging.WARNING)

    def boxes(self, image: np.ndarray) -> list[tuple[float, float, float, float, str, float]]:
        # use_det/use_cls/use_rec are sticky in rapidocr: always say all three.
        out = self.engine(np.ascontiguousarray(image), use_det=True, use_cls=False, use_rec=True)
        if out.boxes is None or out.txts is None:
            return []
        items = []
        for quad, text, score in zip(out.boxes, out.txts, out.scores):
            quad = np.asarray(quad, dtype=float)
            x1, y1, x2, y2 = quad[:, 0].min(), quad[:, 1].min(), quad[:, 0].max(), quad[:, 1].max()
            items.append((x1, y1, x2 - x1, y2 - y1, clean_text(text), float(score)))
        return items

    def read(self, scanned: Document) -> Document:
        """The pages of `scanned` that hold tables, read whole from its straightened images; its other pages as
        they were read."""
        def page_of(line: Line) -> int:
            return next((c.box.page for c in line.cells if c.box), 0)

        table_pages = {page_of(line) for line in scanned.lines if line.table is not None} \
            or {p.number for p in scanned.images}
        lines: list[Line] = []
        for page in scanned.images:
            if page.number not in table_pages:
                lines += [line for line in scanned.lines if page_of(line) == page.number]
                continue
            for row in group_rows(self.boxes(page.image)):
                cells = [Cell(text, Box(page.number, x, y, w, h), conf) for x, y, w, h, text, conf in row if text]
                if cells:
                    lines.append(Line(cells, table=None if len(cells) == 1 else 0))
        return Document(source=scanned.source, kind=scanned.kind, lines=lines, pages=scanned.pages, method="ocr",
                        warnings=[*scanned.warnings, "tables read by whole-page OCR (the cell grid was incomplete)"],
                        images=scanned.images, frames=scanned.frames)
