"""Baseline: pdfplumber's own table finder on a digital PDF's text layer (default settings, ruled tables).

Each table row becomes a Line of its cells (a merged cell is None after its first position and is skipped); the
text lines outside the tables become prose lines, for the title and signature.
"""
from __future__ import annotations

import io

from eval.baselines.pages import reading_order
from service.document import Box, Cell, Document, InputError, Line, Source


def missing() -> str | None:
    try:
        import pdfplumber  # noqa: F401
    except ImportError:
        return "pdfplumber is not installed"
    return None


def _outside(boxes):
    def keep(obj) -> bool:
        cx, cy = (obj["x0"] + obj["x1"]) / 2, (obj["top"] + obj["bottom"]) / 2
        return not any(x0 <= cx <= x1 and top <= cy <= bottom for x0, top, x1, bottom in boxes)
    return keep


class Reader:
    def __init__(self, options=None):
        pass

    def __call__(self, source: Source) -> Document:
        import pdfplumber

        if source.data[:5] != b"%PDF-":
            raise InputError("pdfplumber reads PDFs only")
        placed = []
        tables_seen = 0
        with pdfplumber.open(io.BytesIO(source.data)) as pdf:
            for number, page in enumerate(pdf.pages, 1):
                tables = page.find_tables()
                for table in tables:
                    texts = table.extract()
                    for r, (row, row_texts) in enumerate(zip(table.rows, texts)):
                        cells = []
                        for c, (bbox, text) in enumerate(zip(row.cells, row_texts)):
                            if bbox is None:
                                continue
                            x0, top, x1, bottom = bbox
                            box = Box(number, x0, top, x1 - x0, bottom - top)
                            cells.append(Cell((text or "").replace("\n", ""), box, 1.0, r, c))
                        if cells:
                            placed.append((number, row.bbox[1], row.bbox[0], Line(cells, table=tables_seen)))
                    tables_seen += 1
                prose = page.filter(_outside([t.bbox for t in tables]))
                for line in prose.extract_text_lines():
                    box = Box(number, line["x0"], line["top"], line["x1"] - line["x0"], line["bottom"] - line["top"])
                    placed.append((number, line["top"], line["x0"], Line([Cell(line["text"], box)])))
            pages = len(pdf.pages)
        return Document(source=source.name, kind=source.kind, lines=reading_order(placed), pages=pages,
                        method="text-layer")
