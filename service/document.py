"""Plain typed objects that flow between the pipeline's stages.

source bytes -> Source -> Document (lines of cells, from a text layer or from OCR) -> Extraction (values with
provenance) -> validated report. Every reader, text or scan, ends in the same Document, so one assembler serves all.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class InputError(ValueError):
    """Bad input: the message is one clear line for the user (no traceback)."""


@dataclass(frozen=True)
class Box:
    """Where a text was read: page number (1-based) and a rectangle in that page's pixels or PDF points."""
    page: int
    x: float
    y: float
    w: float
    h: float

    def as_dict(self) -> dict[str, float]:
        return {"page": self.page, "x": round(self.x, 1), "y": round(self.y, 1),
                "w": round(self.w, 1), "h": round(self.h, 1)}


@dataclass
class Cell:
    text: str
    box: Box | None = None
    confidence: float = 1.0
    # Position in its table grid where the reader knows it (HTML, DOCX, PDF, scans); None in text dumps.
    row: int | None = None
    col: int | None = None
    # OCR'd cells: the recogniser's other readings, best first, as (text, probability); the decoder may choose one.
    alternatives: list[tuple[str, float]] = field(default_factory=list)
    # A number another reading of the same page (a whole-page OCR second look) read in this cell, where it differs.
    other: str | None = None
    # Whole-page OCR: (i, n), the number printed at the i-th of the n places its table's rows have for numbers
    # (service.scan.page_ocr.columns_under): the cells a row's missed numbers leave are then known.
    under: tuple[int, int] | None = None


@dataclass
class Line:
    """One printed row of a table (several cells), or one paragraph of prose (one cell, table None)."""
    cells: list[Cell]
    table: int | None = None


@dataclass
class Source:
    """The raw input and what kind of document it is, detected from its content."""
    name: str
    data: bytes
    kind: str  # text | html | docx | pdf | image


@dataclass
class PageImage:
    number: int
    width: int
    height: int
    image: Any = None  # numpy array (H, W, 3), kept out of serialised output


@dataclass
class Document:
    source: str
    kind: str
    lines: list[Line]
    pages: int = 1
    # How the lines were read: "text-layer", "ocr", "html", "docx", "text".
    method: str = "text"
    warnings: list[str] = field(default_factory=list)
    images: list[PageImage] = field(default_factory=list)
    # Per OCR'd page: the frame its boxes are in (dpi, width, height, quarter turn, skew), for drawing them.
    frames: list[dict] = field(default_factory=list)
    # PDF pages whose text layer is unusable (scanned pages inside a digital PDF): they need OCR.
    needs_ocr: list[int] = field(default_factory=list)
    # Seconds per sub-stage of reading (the scan reader's raster, rulings, cells, ...).
    timings: dict[str, float] = field(default_factory=dict)

    def text(self) -> str:
        return "\n".join("\t".join(c.text for c in line.cells) for line in self.lines)
