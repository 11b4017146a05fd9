"""The result of one extraction: the contract's canonical report plus confidence, provenance and findings.

One object serves the CLI, the API, the review page, the batch tables and the benchmark.
"""
from __future__ import annotations

import csv
import io
from typing import Any

from pydantic import BaseModel, Field

from service.template import SECTIONS

Number = int | float | None


class Provenance(BaseModel):
    page: int | None = None
    x: float | None = None
    y: float | None = None
    w: float | None = None
    h: float | None = None
    text: str = Field("", description="the cell text as read")
    how: str = Field("read", description="read | blank | arithmetic | order | split | repaired | prose | prior")
    note: str | None = None


class FindingOut(BaseModel):
    rule: str
    severity: str = "error"
    message: str
    cells: list[str] = []
    expected: float | None = None
    printed: float | None = None


class RepairOut(BaseModel):
    cell: str
    printed: Number
    repaired: Number
    rules: list[str]
    reason: str


class SourceInfo(BaseModel):
    name: str
    kind: str
    pages: int = 1
    method: str = Field(description="text | html | docx | text-layer | ocr")
    frames: list[dict] = Field([], description="OCR only: per page, the frame boxes are in (dpi, width, height, turn)")


class ProseFigure(BaseModel):
    value: float | int
    text: str = Field(description="the words that state it, as normalised for reading")
    page: int | None = None
    approximate: bool = Field(False, description="stated with 余/约/多: shown, never compared with the table")


class ExtractionResult(BaseModel):
    template: str | None
    agency: str | None
    year: int | None
    proactive_disclosure: dict[str, dict[str, Number]]
    requests: dict[str, dict[str, Number]]
    review_and_litigation: dict[str, dict[str, Number]]
    valid: bool = Field(description="every rule of the template holds and every value was read")
    confidence: dict[str, float] = Field(description="'overall' and one entry per flat value key")
    provenance: dict[str, Provenance] = {}
    prose: dict[str, ProseFigure] = Field({}, description="figures the prose states, by flat key; a key whose row is "
                                                          "not in the template (requests.denied.total) is a group's sum")
    findings: list[FindingOut] = []
    repairs: list[RepairOut] = []
    warnings: list[str] = []
    source: SourceInfo
    timings: dict[str, float] = Field({}, description="seconds per pipeline stage")

    def contract(self) -> dict[str, Any]:
        """Just the contract's keys."""
        return self.model_dump(include={"template", "agency", "year", *SECTIONS})

    def flat_values(self) -> dict[str, Number]:
        return {f"{s}.{r}.{c}": v for s in SECTIONS for r, cols in getattr(self, s).items() for c, v in cols.items()}

    def to_json(self) -> str:
        return self.model_dump_json(indent=1)

    def to_csv(self) -> str:
        """One line per value: where it sits, what was read, how sure, and where on the page."""
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["key", "value", "confidence", "how", "text", "page", "x", "y", "w", "h"])
        for key, value in self.flat_values().items():
            p = self.provenance.get(key, Provenance())
            w.writerow([key, "" if value is None else value, self.confidence.get(key, ""), p.how, p.text,
                        p.page or "", p.x or "", p.y or "", p.w or "", p.h or ""])
        return buf.getvalue()

    def to_xlsx(self, path) -> None:
        """One sheet per table, laid out as printed, plus the prose's figures and the findings."""
        from openpyxl import Workbook

        wb = Workbook()
        wb.remove(wb.active)
        for section in SECTIONS:
            rows = getattr(self, section)
            ws = wb.create_sheet(section[:31])
            columns = list(dict.fromkeys(c for cols in rows.values() for c in cols))
            ws.append(["row", *columns])
            for row, cols in rows.items():
                ws.append([row, *[cols.get(c) for c in columns]])
        if self.prose:
            ws = wb.create_sheet("prose")
            ws.append(["key", "value", "approximate", "text", "page"])
            for key, fig in self.prose.items():
                ws.append([key, fig.value, fig.approximate, fig.text, fig.page])
        ws = wb.create_sheet("findings")
        ws.append(["rule", "severity", "message", "cells"])
        for f in self.findings:
            ws.append([f.rule, f.severity, f.message, ", ".join(f.cells)])
        meta = wb.create_sheet("report", 0)
        for k in ("template", "agency", "year", "valid"):
            meta.append([k, getattr(self, k)])
        meta.append(["source", self.source.name])
        wb.save(path)
