"""Cell accuracy and seconds per page of the scan reader on the synthetic factory's scans.

    .venv/bin/python -m service.scan.bench /tmp/synth        (reads doc-*.scan.pdf, compares with doc-*.scan.cells.json)

A truth cell is matched to the read cell whose box holds the truth box's centre (mapped through the reader's render
DPI, quarter turn and deskew); texts are compared after NFKC and without spaces.
"""
from __future__ import annotations

import argparse
import json
import math
import time
import unicodedata
from pathlib import Path

from service.document import Document, Source
from service.scan.reader import ScanOptions, ScanReader


def norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).replace(" ", "")


def map_point(x: float, y: float, truth_dpi: float, info: dict) -> tuple[float, float]:
    s = info["dpi"] / truth_dpi
    x, y = x * s, y * s
    w, h = info["width"], info["height"]
    if info.get("paper"):
        x, y = _apply(info["paper"], x, y)
        w, h = info["cut"]
    rot = info["rotation"]
    if rot == 90:
        x, y, w, h = h - y, x, h, w
    elif rot == 180:
        x, y = w - x, h - y
    elif rot == 270:
        x, y, w, h = y, w - x, h, w
    a = math.radians(info["skew"])
    cx, cy = w / 2, h / 2
    dx, dy = x - cx, y - cy
    # cv2.getRotationMatrix2D(angle) maps (dx, dy) -> (cos*dx + sin*dy, -sin*dx + cos*dy)
    x, y = cx + math.cos(a) * dx + math.sin(a) * dy, cy - math.sin(a) * dx + math.cos(a) * dy
    if info.get("warp"):
        x, y = _apply(info["warp"], x, y)
    return x, y


def _apply(m: list[list[float]], x: float, y: float) -> tuple[float, float]:
    d = m[2][0] * x + m[2][1] * y + m[2][2]
    return (m[0][0] * x + m[0][1] * y + m[0][2]) / d, (m[1][0] * x + m[1][1] * y + m[1][2]) / d


def score(doc: Document, pages: list[dict], truth: dict) -> dict:
    dpi_of = {p["page"]: p["dpi"] for p in truth["pages"]}
    read = [c for line in doc.lines if line.table is not None for c in line.cells if c.box]
    counts = {"digit": [0, 0], "text": [0, 0], "missing": 0}
    errors = []
    for t in truth["cells"]:
        if not t["text"].strip():
            continue
        info = pages[t["page"] - 1]
        x, y, w, h = t["box"]
        px, py = map_point(x + w / 2, y + h / 2, dpi_of[t["page"]], info)
        hits = [c for c in read if c.box.page == t["page"] and c.box.x <= px <= c.box.x + c.box.w
                and c.box.y <= py <= c.box.y + c.box.h]
        kind = "digit" if t.get("key") else "text"
        counts[kind][1] += 1
        if not hits:
            counts["missing"] += 1
            errors.append((t["text"], None))
            continue
        got = min(hits, key=lambda c: c.box.w * c.box.h)
        if norm(got.text) == norm(t["text"]):
            counts[kind][0] += 1
        else:
            errors.append((t["text"], got.text))
    return {"counts": counts, "errors": errors}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", type=Path)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--show", type=int, default=10, help="errors to print per document")
    args = ap.parse_args()
    reader = ScanReader(ScanOptions())
    total = {"digit": [0, 0], "text": [0, 0], "missing": 0}
    seconds, n_pages = 0.0, 0
    scans = sorted(args.folder.glob("doc-*.scan.pdf"))[: args.limit or None]
    for pdf in scans:
        truth = json.loads(pdf.with_name(pdf.name.replace(".scan.pdf", ".scan.cells.json")).read_text())
        t = time.perf_counter()
        doc = reader.read(Source(pdf.name, pdf.read_bytes(), "pdf"))
        dt = time.perf_counter() - t
        if pdf is not scans[0]:  # the first document pays for loading the models
            seconds, n_pages = seconds + dt, n_pages + doc.pages
        res = score(doc, reader.pages, truth)
        for k in ("digit", "text"):
            total[k][0] += res["counts"][k][0]
            total[k][1] += res["counts"][k][1]
        total["missing"] += res["counts"]["missing"]
        c = res["counts"]
        print(f"{pdf.name}: {doc.pages} pages {dt:.2f}s digits {c['digit'][0]}/{c['digit'][1]} "
              f"text {c['text'][0]}/{c['text'][1]} missing {c['missing']} "
              f"stages {{{', '.join(f'{k}: {v:.2f}' for k, v in reader.timings.items())}}}")
        for want, got in res["errors"][: args.show]:
            print(f"    {want!r} -> {got!r}")
    d, tx = total["digit"], total["text"]
    print(f"digit cells {d[0]}/{d[1]} = {d[0] / max(1, d[1]):.3f}; text cells {tx[0]}/{tx[1]} = "
          f"{tx[0] / max(1, tx[1]):.3f}; missing {total['missing']}; "
          f"{seconds / max(1, n_pages):.2f} s/page (after the first document)")


if __name__ == "__main__":
    main()
