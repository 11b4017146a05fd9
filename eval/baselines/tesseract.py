"""Baseline: Tesseract (chi_sim) reads the whole page, img2table finds the ruled tables and puts the words in cells.

Words outside every table become prose lines (the title and signature the meta stage reads); each table row becomes a
Line of its cells, a cell spanning several columns or rows kept once. Settings are img2table's defaults (psm 11,
ruled tables) except the language and min_confidence 30: at the default 50, chi_sim's word confidences on these
scans leave so few words that img2table drops every table. Pages are read at the scan's own resolution (rendering
a 150 DPI scan at 300 DPI made img2table find no ruling lines at all).
"""
from __future__ import annotations

import io
import re
import shutil
import subprocess
import tempfile
import types
from collections import defaultdict

import numpy as np

from eval.baselines.pages import clean_text, reading_order, render_pages
from service.document import Box, Cell, Document, Line, Source

LANG = "chi_sim"
MIN_CONFIDENCE = 30
_NONE = re.compile(r"\bNone\b")  # img2table joins a word without text as "None"


def missing() -> str | None:
    if shutil.which("tesseract") is None:
        return "the tesseract binary is not installed (apt-get install tesseract-ocr tesseract-ocr-chi-sim)"
    langs = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True).stdout.split()
    if LANG not in langs:
        return f"tesseract has no {LANG} data (apt-get install tesseract-ocr-chi-sim)"
    try:
        import img2table  # noqa: F401
    except ImportError:
        return "img2table is not installed (pip install --no-deps img2table xlsxwriter)"
    return None


def _sauvola(src, max_value, kind, block_size, k, binarizationMethod=None, r=128.0):
    """cv2.ximgproc.niBlackThreshold (Sauvola) for OpenCV builds without the contrib modules, which img2table
    calls and the project's opencv-python-headless lacks: same output, a binary image."""
    import cv2

    img = src.astype(np.float64)
    mean = cv2.boxFilter(img, -1, (block_size, block_size), borderType=cv2.BORDER_REPLICATE)
    sq = cv2.boxFilter(img * img, -1, (block_size, block_size), borderType=cv2.BORDER_REPLICATE)
    std = np.sqrt(np.maximum(sq - mean * mean, 0))
    thresh = mean * (1 + k * (std / r - 1))
    inv = kind == cv2.THRESH_BINARY_INV
    below = img <= thresh
    return np.where(below if inv else ~below, max_value, 0).astype(np.uint8)


def _ensure_ximgproc() -> None:
    import cv2

    if not hasattr(cv2, "ximgproc"):
        cv2.ximgproc = types.SimpleNamespace(niBlackThreshold=_sauvola, BINARIZATION_SAUVOLA=1)


PAGE_SECONDS = 180  # tesseract once ran 18 CPU-minutes on one fax page without finishing


def _time_limited(ocr) -> None:
    """img2table runs tesseract with no time limit: the same command under one (a page over it fails its input)."""
    import cv2

    def hocr(image: np.ndarray) -> str:
        with tempfile.TemporaryDirectory() as tmp:
            path = f"{tmp}/page.jpg"
            cv2.imwrite(path, image)
            out = subprocess.run(["tesseract", path, "stdout", "--psm", str(ocr.psm), "-l", ocr.lang, "hocr"],
                                 env=ocr.env, capture_output=True, timeout=PAGE_SECONDS, check=True)
        return out.stdout.decode()

    ocr.hocr = hocr


class Reader:
    def __init__(self, options=None):
        from img2table.ocr import TesseractOCR

        _ensure_ximgproc()
        self.ocr = TesseractOCR(n_threads=1, lang=LANG)
        _time_limited(self.ocr)

    def _page(self, number: int, image: np.ndarray) -> list[tuple[int, float, float, Line]]:
        from img2table.document import Image
        from img2table.document._types import MockDocument
        from PIL import Image as PILImage

        ocr_data = self.ocr.of(MockDocument(images=[image]))
        if ocr_data:  # img2table's own title step fails on a word without text: drop those first
            ocr_data.records = {p: [w for w in words if w.get("value")] for p, words in ocr_data.records.items()}
        buf = io.BytesIO()
        PILImage.fromarray(image).save(buf, format="PNG")
        tables = []
        if ocr_data:
            tables = Image(src=buf.getvalue(), ocr_data=ocr_data).extract_tables(min_confidence=MIN_CONFIDENCE)
        placed = []
        regions = []
        for t in tables:
            b = t.bbox
            regions.append((b.x1, b.y1, b.x2, b.y2))
            seen = set()
            for r, (_, cells) in enumerate(t.content.items()):
                out = []
                for c, cell in enumerate(cells):
                    key = (cell.bbox.x1, cell.bbox.y1, cell.bbox.x2, cell.bbox.y2)
                    if key in seen:  # a merged cell repeats in every row and column it spans
                        continue
                    seen.add(key)
                    box = Box(number, cell.bbox.x1, cell.bbox.y1, cell.bbox.x2 - cell.bbox.x1,
                              cell.bbox.y2 - cell.bbox.y1)
                    out.append(Cell(clean_text(_NONE.sub("", cell.value or "")), box, 1.0, r, c))
                if out:
                    top = min(c.box.y for c in out)
                    placed.append((number, top, b.x1, Line(out, table=len(regions) - 1)))
        # Words outside the tables, grouped by the hOCR line they belong to.
        words = defaultdict(list)
        for w in (ocr_data.records.get(0, []) if ocr_data else []):
            if not w.get("value"):
                continue
            cx, cy = (w["x1"] + w["x2"]) / 2, (w["y1"] + w["y2"]) / 2
            if any(x1 <= cx <= x2 and y1 <= cy <= y2 for x1, y1, x2, y2 in regions):
                continue
            words[w.get("parent")].append(w)
        for group in words.values():
            group.sort(key=lambda w: w["x1"])
            x1, y1 = min(w["x1"] for w in group), min(w["y1"] for w in group)
            x2, y2 = max(w["x2"] for w in group), max(w["y2"] for w in group)
            text = clean_text(" ".join(w["value"] for w in group))
            conf = float(np.mean([w["confidence"] or 0 for w in group])) / 100
            placed.append((number, y1, x1, Line([Cell(text, Box(number, x1, y1, x2 - x1, y2 - y1), conf)])))
        return placed

    def __call__(self, source: Source) -> Document:
        pages = render_pages(source)
        placed = [p for i, image in enumerate(pages, 1) for p in self._page(i, image)]
        return Document(source=source.name, kind=source.kind, lines=reading_order(placed), pages=len(pages),
                        method="ocr")
