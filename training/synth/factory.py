"""Generate one synthetic document (all requested kinds + truth) from (seed, index); run many in parallel.

Per document: doc-000001.pdf / .html / .docx / .txt, doc-000001.scan.pdf + doc-000001.scan.cells.json,
doc-000001.truth.json; one line per document in DIR/manifest.jsonl.
"""
from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from training.synth import fonts
from training.synth.compose import compose
from training.synth.render_docx import render_docx
from training.synth.render_html import render_html
from training.synth.render_pdf import render_pdf
from training.synth.render_text import render_text
from training.synth.scan import LEVELS, cells_json, scan

KINDS = ("text", "html", "docx", "pdf", "scan")


@dataclass(frozen=True)
class Job:
    index: int
    seed: int
    out: str
    kinds: tuple[str, ...] = KINDS
    templates: tuple[str, ...] = ("2021", "2019")
    levels: tuple[str, ...] = LEVELS
    dpi: int | None = None
    p_break: float = 0.05
    # Cycle levels and templates by index (a small sample then covers every combination) instead of drawing them.
    cycle: bool = False
    # The text dump in this serialization (render_text.TEXT_STYLES or REAL_TEXT_STYLES) instead of the drawn one.
    text_style: str = ""


def doc_id(index: int) -> str:
    return f"doc-{index + 1:06d}"


def dump_json(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=1) + "\n"


def dump_cells(obj: dict) -> str:
    """One page or cell per line: small, and still readable and diffable."""
    def line(x) -> str:
        return json.dumps(x, ensure_ascii=False, separators=(",", ":"))
    pages = ",\n  ".join(line(p) for p in obj["pages"])
    cells = ",\n  ".join(line(c) for c in obj["cells"])
    return f'{{"pages": [\n  {pages}\n ],\n "cells": [\n  {cells}\n ]}}\n'


def generate(job: Job) -> dict:
    """Write every kind of one document; returns its manifest entry (and `_scan_pages`, `_seconds` for timing)."""
    t0 = time.perf_counter()
    did = doc_id(job.index)
    rng = random.Random(f"{job.seed}-{job.index}")
    templates = list(job.templates)
    if job.cycle:
        templates = [templates[(job.index // len(job.levels)) % len(templates)]]
    doc = compose(did, rng, templates, p_break=job.p_break)
    level = rng.choice(list(job.levels))
    if job.cycle:
        level = job.levels[job.index % len(job.levels)]
    out = Path(job.out)
    files: dict[str, str] = {}

    def write(kind: str, suffix: str, data: bytes | str) -> None:
        name = f"{did}{suffix}"
        path = out / name
        if isinstance(data, str):
            path.write_text(data, encoding="utf-8")
        else:
            path.write_bytes(data)
        files[kind] = name

    if "text" in job.kinds:
        write("text", ".txt", render_text(doc, job.text_style or None))
    if "html" in job.kinds:
        write("html", ".html", render_html(doc))
    if "docx" in job.kinds:
        write("docx", ".docx", render_docx(doc))
    degradation = None
    pdf_pages = 0
    scan_pages = 0
    if "pdf" in job.kinds or "scan" in job.kinds:
        pdf = render_pdf(doc)
        pdf_pages = len(pdf.pages)
        if "pdf" in job.kinds:
            write("pdf", ".pdf", pdf.data)
        if "scan" in job.kinds:
            result = scan(pdf.data, pdf.cells, np.random.default_rng([job.seed, job.index, 7]), level, job.dpi)
            write("scan", ".scan.pdf", result.pdf)
            write("scan_cells", ".scan.cells.json", dump_cells(cells_json(result)))
            degradation = result.degradation()
            scan_pages = len(result.pages)
    truth_name = f"{did}.truth.json"
    files["truth"] = truth_name
    style = doc.style.as_dict() | {"title": doc.title_style, "pages": pdf_pages}
    if job.text_style:
        style["text_style"] = job.text_style
    truth = {"id": did, "report": doc.report, "broken_rules": doc.broken_rules, "prose": doc.prose, "style": style,
             "files": files, "degradation": degradation}
    (out / truth_name).write_text(dump_json(truth), encoding="utf-8")
    entry = {"id": did, "template": doc.template.id, "year": doc.report["year"], "agency": doc.report["agency"],
             "broken": bool(doc.broken_rules), "level": degradation["level"] if degradation else None,
             "pages": pdf_pages, "files": files}
    return entry | {"_scan_pages": scan_pages, "_seconds": time.perf_counter() - t0}


def run(jobs: list[Job], workers: int = 1, progress=None) -> dict:
    """Generate all jobs (in parallel when workers > 1); writes manifest.jsonl in index order; returns timings."""
    if not jobs:
        return {"documents": 0}
    out = Path(jobs[0].out)
    out.mkdir(parents=True, exist_ok=True)
    fonts.ensure_all()  # build the font cache once, before workers start
    t0 = time.perf_counter()
    entries = []
    if workers > 1:
        with get_context("fork").Pool(workers) as pool:
            for e in pool.imap(generate, jobs):
                entries.append(e)
                if progress:
                    progress(e)
    else:
        for job in jobs:
            e = generate(job)
            entries.append(e)
            if progress:
                progress(e)
    wall = time.perf_counter() - t0
    with (out / "manifest.jsonl").open("w", encoding="utf-8") as f:
        for e in entries:
            f.write(json.dumps({k: v for k, v in e.items() if not k.startswith("_")}, ensure_ascii=False) + "\n")
    scan_pages = sum(e["_scan_pages"] for e in entries)
    return {"documents": len(entries), "scan_pages": scan_pages, "wall_s": round(wall, 2),
            "s_per_document": round(wall / len(entries), 3),
            "s_per_scanned_page": round(wall / scan_pages, 3) if scan_pages else None}
