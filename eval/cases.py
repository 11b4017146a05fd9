"""A benchmark set on disk -> a list of Cases (one input file and its truth).

Three layouts are read:
- the synthetic factory's folder: manifest.jsonl, <doc>.truth.json = {"report", "broken_rules", "files": {kind: name},
  "degradation": {...}} and, for scans, <doc>.scan.cells.json with every cell's box and flat key;
- the seeds: <name>.txt beside <name>.expected.json (the canonical report itself);
- any folder of pairs <name>.<ext> + <name>.expected.json or <name>.truth.json; a truth holding `fields` (flat
  contract keys, e.g. ../shared/real) is scored on those keys only;
and a folder of such folders (a set made in parts, e.g. one per degradation level).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

TRUTH_SUFFIXES = (".truth.json", ".expected.json")
KIND_BY_EXT = {".txt": "text", ".text": "text", ".md": "text", ".html": "html", ".htm": "html", ".docx": "docx", ".pdf": "pdf",
               ".png": "scan", ".jpg": "scan", ".jpeg": "scan", ".tif": "scan", ".tiff": "scan", ".bmp": "scan"}
INPUT_KINDS = ("text", "html", "docx", "pdf", "scan")
CLEAN = "clean"  # the degradation level of every input that was not degraded


@dataclass
class Case:
    id: str  # unique in the set: "<doc>" or "<doc>:<kind>"
    doc: str
    kind: str  # text | html | docx | pdf (text layer) | scan
    path: str
    truth: dict  # the canonical report
    broken_rules: list[dict] | None = None  # None: the truth file does not say
    level: str = CLEAN
    cells: list[dict] | None = None  # [{"page", "box": [x, y, w, h], "text", "key"}] where the set has them
    pages: list = field(default_factory=list)  # page sizes from the cells file, as written there

    def to_dict(self) -> dict:
        return asdict(self)


def template_id(name) -> str | None:
    """A truth may name its template by year alone ("2021"): the shipped template whose id ends so."""
    from service.template import all_templates

    if name is None:
        return None
    ids = [t.id for t in all_templates()]
    return str(name) if str(name) in ids else next((i for i in ids if i.endswith("/" + str(name))), str(name))


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _pdf_has_text(path: Path) -> bool:
    """A digital PDF has a text layer on its first pages; a scan has only images."""
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path))
    except Exception:  # an unreadable PDF is the pipeline's problem to report
        return True
    try:
        chars = 0
        for i in range(min(len(pdf), 3)):
            text = pdf[i].get_textpage()
            chars += text.count_chars()
        return chars >= 20
    finally:
        pdf.close()


def kind_of(path: Path) -> str:
    kind = KIND_BY_EXT.get(path.suffix.lower(), "other")
    if kind == "pdf" and not _pdf_has_text(path):
        return "scan"
    return kind


def _cells(folder: Path, doc: str, kind: str) -> tuple[list[dict] | None, list]:
    path = folder / f"{doc}.{kind}.cells.json"
    if not path.exists():
        return None, []
    data = _read_json(path)
    return data.get("cells", []), data.get("pages", [])


def _level(truth: dict, kind: str) -> str:
    degradation = truth.get("degradation") or {}
    if isinstance(degradation, dict) and kind == "scan":
        # One level for the document's scan; a per-kind mapping is read too, should the factory write one.
        level = degradation.get("level") or (degradation.get(kind) or {}).get("level")
        return str(level) if level else CLEAN
    return CLEAN


def _factory_cases(folder: Path) -> list[Case]:
    docs: list[str] = []
    for line in (folder / "manifest.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            entry = json.loads(line)
            doc = entry.get("id") or entry.get("doc") or entry.get("doc_id")
            if doc and doc not in docs:
                docs.append(doc)
    cases = []
    for doc in docs:
        truth_path = folder / f"{doc}.truth.json"
        if not truth_path.exists():
            continue
        truth = _read_json(truth_path)
        for kind, name in (truth.get("files") or {}).items():
            if kind not in INPUT_KINDS:  # "truth", "scan_cells": not inputs
                continue
            path = folder / name
            if not path.exists():
                continue
            cells, pages = _cells(folder, doc, kind)
            cases.append(Case(id=f"{doc}:{kind}", doc=doc, kind=kind, path=str(path), truth=truth["report"],
                              broken_rules=truth.get("broken_rules"), level=_level(truth, kind), cells=cells,
                              pages=pages))
    return cases


def _pair_cases(folder: Path) -> list[Case]:
    truths: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        for suffix in TRUTH_SUFFIXES:
            if path.name.endswith(suffix):
                truths.setdefault(path.name[: -len(suffix)], path)
    cases = []
    for stem, truth_path in sorted(truths.items()):
        inputs = [p for p in sorted(folder.glob(f"{stem}.*"))
                  if p.suffix.lower() in KIND_BY_EXT and not p.name.endswith(".json")]
        data = _read_json(truth_path)
        report = data.get("report", data)
        if "template" in report:
            report = {**report, "template": template_id(report["template"])}
        broken = data.get("broken_rules") if "report" in data else None
        for path in inputs:
            kind = kind_of(path)
            cells, pages = _cells(folder, stem, kind)
            case_id = stem if len(inputs) == 1 else f"{stem}:{kind}"
            cases.append(Case(id=case_id, doc=stem, kind=kind, path=str(path), truth=report, broken_rules=broken,
                              level=_level(data, kind), cells=cells, pages=pages))
    return cases


def _folder_cases(folder: Path) -> list[Case]:
    """A factory folder, a folder of pairs, or a folder of such folders (a set made in parts)."""
    if (folder / "manifest.jsonl").exists():
        return _factory_cases(folder)
    cases = _pair_cases(folder)
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        cases += _folder_cases(sub)
    return cases


def load_cases(folder: str | Path, kinds: list[str] | None = None, limit: int | None = None) -> list[Case]:
    """Every (input, truth) pair in the folder, in a stable order; `limit` keeps the first N documents."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no such set folder: {folder}")
    cases = _folder_cases(folder)
    if kinds:
        cases = [c for c in cases if c.kind in kinds]
    if limit:
        keep = list(dict.fromkeys(c.doc for c in cases))[:limit]
        cases = [c for c in cases if c.doc in set(keep)]
    return cases
