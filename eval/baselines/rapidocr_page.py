"""Baseline: PP-OCR (rapidocr, the models shipped in the package) on the whole page, no table structure.

Detection runs on the full page, so a table cell is whatever text box the detector drew; boxes are grouped into
printed rows by their vertical overlap and ordered left to right ("naive line parsing"). Every row is a Line whose
cells are its boxes.
"""
from __future__ import annotations

import logging

import numpy as np

from eval.baselines.pages import clean_text, group_rows, render_pages
from service.document import Box, Cell, Document, Line, Source


def missing() -> str | None:
    try:
        import rapidocr  # noqa: F401
    except ImportError:
        return "rapidocr is not installed"
    return None


class Reader:
    def __init__(self, options=None):
        from rapidocr import RapidOCR

        device = getattr(options, "device", "cpu")
        self.engine = RapidOCR(params={"Global.log_level": "warning",
                                       "EngineConfig.onnxruntime.use_cuda": device == "cuda"})
        logging.getLogger("RapidOCR").setLevel(logging.WARNING)

    def boxes(self, image: np.ndarray) -> list[tuple[float, float, float, float, str, float]]:
        out = self.engine(image[:, :, ::-1].copy(), use_det=True, use_cls=True, use_rec=True)
        if out.boxes is None or out.txts is None:
            return []
        items = []
        for quad, text, score in zip(out.boxes, out.txts, out.scores):
            quad = np.asarray(quad, dtype=float)
            x1, y1 = quad[:, 0].min(), quad[:, 1].min()
            x2, y2 = quad[:, 0].max(), quad[:, 1].max()
            items.append((x1, y1, x2 - x1, y2 - y1, clean_text(text), float(score)))
        return items

    def __call__(self, source: Source) -> Document:
        pages = render_pages(source)
        lines = []
        for number, image in enumerate(pages, 1):
            for row in group_rows(self.boxes(image)):
                cells = [Cell(text, Box(number, x, y, w, h), conf, None, None) for x, y, w, h, text, conf in row]
                lines.append(Line(cells))
        return Document(source=source.name, kind=source.kind, lines=lines, pages=len(pages), method="ocr")
