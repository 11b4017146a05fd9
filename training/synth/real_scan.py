"""Scans of real layouts: any digital PDF degraded at the factory's levels, with truth from a hand-checked file.

`python -m training.synth scan FILE.pdf --truth FILE.truth.json --levels light,heavy --out DIR` writes, per level,
DIR/<level>/<stem>-<level>[-<copy>].pdf (the scan), .truth.json ({"report": the canonical report, "degradation": ...}, the
form eval reads beside the factory's) and .scan.cells.json (each value cell's box in scan pixels).

The truth file holds `fields` with the contract's flat keys (only cells a person could read with certainty). Each
cell's box comes from the PDF's words: the text-layer reader (pdfplumber) reads the digital PDF, and a key's box is
kept only where that reading agrees with the truth; keys without one carry no box.
"""
from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np

from training.synth.factory import dump_cells, dump_json
from training.synth.render_pdf import PlacedCell
from training.synth.scan import NAMED_PROFILES, PROFILES, cells_json, scan


def nested_report(truth: dict) -> dict:
    """A truth file's flat `fields` as the canonical report (sections -> rows -> columns), with its meta."""
    report: dict = {k: truth.get(k) for k in ("template", "agency", "year")}
    for key, value in (truth.get("fields") or {}).items():
        section, row, col = key.split(".")
        report.setdefault(section, {}).setdefault(row, {})[col] = value
    return report


def same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(float(a) - float(b)) < 1e-6


def placed_cells(pdf_path: Path, fields: dict) -> list[PlacedCell]:
    """Each truth key's cell box in PDF points, from the digital PDF's text layer where it reads the truth's
    value."""
    from service.document import Source
    from service.pipeline import Pipeline, PipelineOptions

    data = pdf_path.read_bytes()
    result = Pipeline(PipelineOptions(classifier="fuzzy", ocr=False, second_look=False)).run(
        Source(name=pdf_path.name, data=data, kind="pdf"))
    got = result.model_dump()
    cells = []
    for key, value in fields.items():
        section, row, col = key.split(".")
        read = ((got.get(section) or {}).get(row) or {}).get(col)
        p = (got.get("provenance") or {}).get(key) or {}
        if not same(value, read) or p.get("x") is None or not p.get("page"):
            continue
        cells.append(PlacedCell(page=int(p["page"]), x=float(p["x"]), y=float(p["y"]), w=float(p["w"]),
                                h=float(p["h"]), text=str(p.get("text") or ""), key=key, section=section))
    return cells


def scan_file(pdf_path: str | Path, truth_path: str | Path, levels: tuple[str, ...], out: str | Path,
              seed: int = 0, copies: int = 1, dpi: int | None = None) -> list[dict]:
    """Write the scans; returns one entry per scan (path, level, profile, dpi, pages, boxed cells)."""
    pdf_path, out = Path(pdf_path), Path(out)
    truth = json.loads(Path(truth_path).read_text(encoding="utf-8"))
    report = nested_report(truth)
    cells = placed_cells(pdf_path, truth.get("fields") or {})
    data = pdf_path.read_bytes()
    stem = pdf_path.name[:-4] if pdf_path.name.lower().endswith(".pdf") else pdf_path.name
    name_seed = zlib.crc32(stem.encode("utf-8"))
    entries = []
    for level in levels:
        folder = out / level
        folder.mkdir(parents=True, exist_ok=True)
        names = PROFILES[level][0] + NAMED_PROFILES.get(level, [])
        for copy in range(copies):
            # Several copies of a level go through its profiles in turn (heavy: scanner, copier, phone, drum).
            profile = names[copy % len(names)] if copies > 1 else None
            rng = np.random.default_rng([seed, name_seed, zlib.crc32(level.encode()), copy])
            result = scan(data, cells, rng, level, dpi, profile=profile)
            doc = f"{stem}-{level}" if copies == 1 else f"{stem}-{level}-{copy + 1}"
            files = {"scan": f"{doc}.pdf", "scan_cells": f"{doc}.scan.cells.json", "truth": f"{doc}.truth.json"}
            (folder / files["scan"]).write_bytes(result.pdf)
            (folder / files["scan_cells"]).write_text(dump_cells(cells_json(result)), encoding="utf-8")
            record = {"id": doc, "report": report, "broken_rules": None, "source": truth.get("source"),
                      "made_from": pdf_path.name, "files": files, "degradation": result.degradation()}
            (folder / files["truth"]).write_text(dump_json(record), encoding="utf-8")
            entries.append({"path": str(folder / files["scan"]), "level": level, "profile": result.profile,
                            "dpi": result.dpi, "pages": len(result.pages), "cells": len(result.cells)})
    return entries
