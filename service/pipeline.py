"""The extraction pipeline, stage by stage.

    source -> read (text layer, or pages -> layout -> cells -> OCR) -> meta (agency, year, template)
           -> decode (labels -> rows, then one constraint model over the template: cuts, blanks, lost cells,
              OCR alternatives, the arithmetic) -> validate -> result

Models load once per Pipeline; `run` is called per document.
"""
from __future__ import annotations

import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from service.assemble import Assembler, Extraction, Reading
from service.document import Document, InputError, Source
from service.labels import FuzzyLabelMatcher, LabelClassifier
from service.meta import detect_template, read_meta
from service.decode import MISSING, RULE, decode
from models.value_prior import ValuePrior
from service.prose import prose_findings, prose_hints, read_prose
from service.report import ExtractionResult, FindingOut, Provenance, RepairOut, SourceInfo
from service.validate import Finding, check, equations, violations

DERIVED = 100  # per cell valued by the rules alone, when two readings of one document are compared
UNCHECKED = 200  # per rule with such a cell, or a null one


@dataclass
class PipelineOptions:
    classifier: str = "auto"  # auto | fuzzy | model | model-torch (load_classifier)
    device: str = "cpu"  # cpu | cuda, for OCR and the classifier
    ocr: bool = True  # False: documents without a text layer fail instead of going through OCR
    # CPU threads for OCR and the classifier; None: OMP_NUM_THREADS (batch workers set their share) or 2.
    threads: int | None = None
    # Scans whose cell grid leaves rows missing or rules broken get a whole-page OCR reading too.
    second_look: bool = True
    # The decoder's time limits for the second reading, as a share of the first's. 0.5 read the same fields as 1.0
    # on real-layout heavy scans and faxes (1555/1600, and 4573/4800 on 24 more heavy scans) and 4 more on the
    # factory's faxes, in 43 s instead of 60 s (session 22); 0.3 lost 6 of 1600 fields in session 5.
    second_look_effort: float = 0.5
    limits: object | None = None  # service.ingest.Limits
    ocr_runtime: str | None = None  # onnxruntime | torch; None: onnxruntime on cpu, torch on cuda
    ocr_engine: object | None = None  # an OcrEngine to use instead of loading one (a batch's shared OCR server)
    # Ties the arithmetic and the prose leave (digits cut several ways) go to a clear favourite of the value prior;
    # False: they stay null.
    value_prior: bool = True


@dataclass
class Timer:
    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = round(self.seconds.get(name, 0.0) + time.perf_counter() - start, 4)


def load_classifier(name: str, device: str = "cpu", threads: int | None = 1) -> LabelClassifier:
    """"fuzzy": the fuzzy matcher. "model": the trained tagger through onnxruntime (through torch on a GPU that
    only torch can use: onnxruntime's CPU build has no CUDA). "model-torch": the tagger through torch and
    transformers. "auto": "model" where its ONNX export ships, else the fuzzy matcher."""
    if name == "fuzzy":
        return FuzzyLabelMatcher()
    from models.label_classifier.classifier import MODEL_DIR, TokenLabelClassifier, has_onnx

    if name == "auto" and not has_onnx(MODEL_DIR):
        return FuzzyLabelMatcher()
    runtime = "torch" if name == "model-torch" else "onnx"
    if runtime == "onnx" and device.startswith("cuda"):
        from models.ocr import onnx_cuda_available

        runtime = "onnx" if onnx_cuda_available() else "torch"
    return TokenLabelClassifier(MODEL_DIR, threads=threads, device=device, runtime=runtime)


class Pipeline:
    def __init__(self, options: PipelineOptions | None = None):
        self.options = options or PipelineOptions()
        self.threads = self.options.threads or int(os.environ.get("OMP_NUM_THREADS", "2") or 2)
        self.classifier = load_classifier(self.options.classifier, self.options.device, self.threads)
        self.assembler = Assembler(self.classifier)
        self.prior = ValuePrior.load() if self.options.value_prior else None
        self._scanner = None  # the OCR models load on the first document that needs them
        self._page_reader = None

    # -- stages ---------------------------------------------------------------------------------------------------
    def read(self, source: Source) -> Document:
        if source.kind == "text":
            from service.textdump import read_text

            return read_text(source)
        if source.kind == "html":
            from service.html_tables import read_html

            return read_html(source)
        if source.kind == "docx":
            from service.docx_tables import read_docx

            return read_docx(source)
        if source.kind == "pdf":
            from service.pdf_text import read_pdf_text

            doc = read_pdf_text(source)
            if doc is not None and doc.needs_ocr and self.options.ocr:
                from service.pdf_text import merge_ocr_pages

                doc = merge_ocr_pages(doc, self.scanner(source))
            if doc is not None:
                return doc
        if source.kind in ("pdf", "image"):
            if not self.options.ocr:
                raise InputError("the document has no usable text layer and OCR is switched off")
            return self.scanner(source)
        raise InputError(f"unsupported input kind {source.kind!r}")

    def scan_reader(self):
        if self._scanner is None:
            from service.scan.reader import ScanOptions, ScanReader

            self._scanner = ScanReader(ScanOptions(device=self.options.device, threads=self.threads,
                                                   ocr_runtime=self.options.ocr_runtime),
                                       engine=self.options.ocr_engine)
        return self._scanner

    def scanner(self, source: Source) -> Document:
        doc = self.scan_reader().read(source)
        doc.frames = doc.frames or [dict(f) for f in self._scanner.pages]
        doc.timings = {k: round(v, 4) for k, v in getattr(self._scanner, "timings", {}).items()}
        return doc

    def decode(self, doc: Document, template, hints: dict | None = None, effort: float = 1.0,
               sections: set[str] | None = None, doubts: bool = True) -> Extraction:
        """`sections`: decode only these (the rest stay null); sections share no rule. `doubts`: see decode."""
        ex = self.assembler.run(doc, template)
        if sections is not None:
            ex.spans = [s for s in ex.spans if s.section in sections]
        decode(ex, hints, self.prior, effort, doubts)
        return ex

    def second_look(self, doc: Document, ex: Extraction, template, eqs, hints: dict | None, timer: Timer):
        """The cell grid left rows out or rules broken: read the same page images whole, and keep, section by
        section, the reading that breaks fewer rules and leaves fewer cells null. Only the sections the cell grid
        read imperfectly are read again, and only the pages they can lie on."""
        if self._page_reader is None:
            from service.scan.page_ocr import PageOcrReader

            self._page_reader = PageOcrReader(self.scan_reader().engine, device=self.options.device,
                                              threads=self.threads)
        doubtful = {s for s, cost in _section_costs(ex, eqs).items() if cost > 0}
        with timer.stage("second_look.read"):
            alt_doc = self._page_reader.read(doc, _pages_of(ex, doubtful, doc.pages))
        with timer.stage("second_look.decode"):
            # No doubts here: rows placed by order, with doubtful numbers valued by the rules, left the arithmetic
            # too free (cells it could not decide came out null: synth fax doc-32, 153 -> 103 fields).
            alt_ex = self.decode(alt_doc, template, hints, self.options.second_look_effort, doubtful, doubts=False)
        offered = _offered(doc, ex, alt_ex, doubtful)
        if offered is not None:
            with timer.stage("second_look.fuse"):
                # The first reading again, each number the whole-page reading read otherwise offered as one of its
                # cell's alternatives: a digit blurred in one reading is often read right in the other.
                fused = self.decode(offered, template, hints, self.options.second_look_effort, doubtful)
                ex, _ = _by_section(ex, fused, eqs)
        merged, taken = _by_section(ex, alt_ex, eqs)
        if len(taken) == len(template.sections):
            return alt_doc, _with_rows_of(alt_ex, ex, eqs)
        doc.warnings.append(f"a whole-page OCR reading was tried; taken from it: {', '.join(taken)}" if taken else
                            "a whole-page OCR reading was tried and was not better")
        return doc, _with_rows_of(merged, alt_ex, eqs)

    def run(self, source: Source, progress: Callable[[int, int], None] | None = None,
            hints: dict[tuple[str, str, str], float | int] | None = None) -> ExtractionResult:
        """Extract one document; `progress(pages_done, pages_total)` is called as reading advances. `hints`: figures
        the report's prose states for cells, used only to choose among equally good readings of the table."""
        timer = Timer()
        report = progress or (lambda done, total: None)
        with timer.stage("read"):
            report(0, 1)
            doc = self.read(source)
            report(doc.pages, doc.pages)
        with timer.stage("meta"):
            agency, year = read_meta(doc)
            template = detect_template(doc, year)
            prose = read_prose(doc, template, year)
        eqs = equations(template)
        hints = prose_hints(prose) if hints is None else hints
        with timer.stage("decode"):
            ex = self.decode(doc, template, hints)
        if doc.method == "ocr" and self.options.second_look and doc.images and _incomplete(ex, eqs):
            with timer.stage("second_look"):
                doc, ex = self.second_look(doc, ex, template, eqs, hints, timer)
        if not doc.lines:
            raise InputError(f"no text could be read from the document ({doc.method}, {doc.pages} page(s))")
        if not ex.values:
            ex.issues.append({"rule": "document.no_table", "message": "no table of a government information-"
                              f"disclosure annual report was found ({doc.method}, {doc.pages} page(s), "
                              f"{len(doc.lines)} lines read); every value is null", "cells": []})
        with timer.stage("validate"):
            findings = check(ex.current_values(), eqs)
        timer.seconds["decode.solve"] = ex.decode_seconds
        return build_result(source, doc, ex, agency, year, findings, timer, prose)


SURE_READ = 0.99  # a cell read this surely is printed as read: another reading of its page will not change it


def _incomplete(ex: Extraction, eqs) -> bool:
    """Cells left null, or a rule broken where some cell of it was not read surely. A table printed with a broken
    sum, every cell of it read surely, is what the findings report: reading its pages again changes nothing (synth
    scans: 2 second looks of 6 s that changed no value)."""
    if any(ex.value(*cell) is None for cell in ex.template.cells()):
        return True
    return any(not _surely_read(ex.values.get(cell)) for eq in violations(ex.current_values(), eqs) for cell in eq.cells)


def _surely_read(reading: Reading | None) -> bool:
    return reading is not None and reading.how in ("read", "blank") and reading.confidence >= SURE_READ


def _pages_of(ex: Extraction, sections: set[str], last: int) -> set[int]:
    """The pages `sections` can lie on: from the last page the section before each was read on to the first page
    of the section after it (a row the cell grid missed can be on either side of those it read)."""
    pages: dict[str, list[int]] = {}
    for (s, _, _), reading in ex.values.items():
        if reading.box is not None and reading.how != "arithmetic":
            pages.setdefault(s, []).append(reading.box.page)
    order = list(ex.template.sections)
    wanted: set[int] = set()
    for s in sections:
        i = order.index(s)
        before = [max(pages[t]) for t in order[:i] if t in pages] or [1]
        after = [min(pages[t]) for t in order[i + 1:] if t in pages] or [last]
        wanted |= set(range(before[-1], after[0] + 1))
    return wanted


def _offered(doc: Document, ex: Extraction, other: Extraction, sections: set[str]) -> Document | None:
    """`doc`, its number cells in `sections` that `other` (another reading of the same pages) reads as another whole
    number carrying that number; None where there is none to offer."""
    by_box: dict[int, list[tuple]] = {}
    for cell, reading in ex.values.items():
        if cell[0] in sections and reading.box is not None:
            by_box.setdefault(id(reading.box), []).append(cell)
    offers: dict[int, str] = {}
    for box, cells in by_box.items():
        theirs = other.values.get(cells[0])
        if len(cells) > 1 or theirs is None or theirs.how == "arithmetic" or not isinstance(theirs.value, int):
            continue  # a cut token fills several cells; a number the rules made up is no reading
        if theirs.value != ex.value(*cells[0]):
            offers[box] = str(theirs.value)
    if not offers:
        return None
    lines = []
    for line in doc.lines:
        cells = []
        for c in line.cells:
            offer = offers.get(id(c.box)) if c.box is not None else None
            cells.append(c if offer is None else replace(c, other=offer))
        lines.append(replace(line, cells=cells))
    return replace(doc, lines=lines)


def _with_rows_of(best: Extraction, other: Extraction, eqs) -> Extraction:
    """`best`, with rows taken from `other` one at a time, in printed order, wherever that lowers the section's
    cost (each reading can lose or misread a row the other has: a label misread in one, a line missed by detection
    or digits blurred in the other)."""
    rows: dict[tuple[str, str], list[str]] = {}
    for s, r, c in best.template.cells():
        rows.setdefault((s, r), []).append(c)
    merged = replace(best, values=dict(best.values), rows=dict(best.rows), issues=list(best.issues),
                     repairs=list(best.repairs))
    costs = _section_costs(merged, eqs)
    taken: set[str] = set()
    for (s, r), cols in rows.items():
        cells = [(s, r, c) for c in cols]
        theirs = _unread(other, cells)
        if theirs > _unread(merged, cells) or 2 * theirs > len(cells) or all(
                merged.value(*c) == other.value(*c) for c in cells):
            continue  # a null hides the rules it is in, a value the rules made up is no reading: neither is traded
        was = {c: merged.values.get(c) for c in cells}
        for c in cells:
            merged.values[c] = other.values.get(c) or Reading(None, how="arithmetic")
        cost = _section_costs(merged, eqs)[s]
        if cost < costs[s]:
            costs[s] = cost
            taken |= {f"{s}.{r}.{c}" for c in cols}
            if (s, r) in other.rows:
                merged.rows[(s, r)] = other.rows[(s, r)]
            continue
        for c, v in was.items():
            if v is None:
                del merged.values[c]
            else:
                merged.values[c] = v

    def inside(keys) -> bool:
        return bool(keys) and set(keys) <= taken

    merged.issues = [i for i in merged.issues if not inside(i.get("cells") or [])] + \
        [i for i in other.issues if inside(i.get("cells") or [])]
    merged.repairs = [x for x in merged.repairs if not inside([x["cell"]])] + \
        [x for x in other.repairs if inside([x["cell"]])]
    return merged


def _unread(ex: Extraction, cells) -> int:
    """Cells of `cells` null or valued by the rules alone."""
    return sum(ex.value(*c) is None or ex.values[c].how == "arithmetic" for c in cells)


def _section_costs(ex: Extraction, eqs) -> dict[str, int]:
    """Per section (every rule lies within one), the decoder's objective for values already chosen: rules broken,
    cells left null, and cells only the rules valued. A reading that lost most numbers can satisfy every rule with
    cells the rules fill: those are no evidence that it read the page. Nor is a rule with such a cell, or a null one,
    evidence that its other cells were read right: it cannot be checked (a fifth of a broken rule: the cell grid's
    readings of a copier's and a phone photo's section 三 broke 5 and 9 of its 39 rules)."""
    costs = dict.fromkeys(ex.template.sections, 0)
    for eq in violations(ex.current_values(), eqs):
        costs[eq.cells[0][0]] += RULE
    for c in ex.template.cells():
        if ex.value(*c) is None:
            costs[c[0]] += MISSING
        elif ex.values[c].how == "arithmetic":
            costs[c[0]] += DERIVED
    for eq in eqs:
        if _unread(ex, eq.cells):
            costs[eq.cells[0][0]] += UNCHECKED
    return costs


def _doubts(ex: Extraction, other: Extraction) -> dict[str, float]:
    """Per section, how unsure `ex` is of the cells where `other` reads another value (1 - confidence, summed)."""
    doubts = dict.fromkeys(ex.template.sections, 0.0)
    for c in ex.template.cells():
        if ex.value(*c) != other.value(*c):
            doubts[c[0]] += 1.0 - (ex.values[c].confidence if c in ex.values else 0.0)
    return {k: round(v, 3) for k, v in doubts.items()}


def _by_section(first: Extraction, second: Extraction, eqs) -> tuple[Extraction, list[str]]:
    """`first`, with each section `second` reads better taken from it. The sections share no rule, and a page the
    cell grid reads well can sit beside one only the whole-page reading gets (a fax's shaded table, a bent sheet)."""
    ours, theirs = _section_costs(first, eqs), _section_costs(second, eqs)
    doubt_ours, doubt_theirs = _doubts(first, second), _doubts(second, first)
    # A section both read as well goes with the reading surer of the cells where they differ, then with the reading
    # that is better over the whole document.
    overall = sum(theirs.values()) < sum(ours.values())
    taken = [s for s in first.template.sections
             if (theirs[s], doubt_theirs[s], not overall) < (ours[s], doubt_ours[s], overall)]
    if not taken:
        return first, []

    def inside(flat_keys) -> bool:
        return bool(flat_keys) and all(k.split(".")[0] in taken for k in flat_keys)

    merged = replace(first, values={c: r for c, r in first.values.items() if c[0] not in taken},
                     rows={k: v for k, v in first.rows.items() if k[0] not in taken},
                     issues=[i for i in first.issues if not inside(i.get("cells") or [])],
                     repairs=[r for r in first.repairs if not inside([r["cell"]])])
    merged.values.update({c: r for c, r in second.values.items() if c[0] in taken})
    merged.rows.update({k: v for k, v in second.rows.items() if k[0] in taken})
    merged.issues += [i for i in second.issues if inside(i.get("cells") or [])]
    merged.repairs += [r for r in second.repairs if inside([r["cell"]])]
    return merged, taken


def build_result(source: Source, doc: Document, ex: Extraction, agency, year, findings: list[Finding],
                 timer: Timer, prose: dict | None = None) -> ExtractionResult:
    template = ex.template
    tables = template.empty_report()
    confidence: dict[str, float] = {}
    provenance: dict[str, Provenance] = {}
    for (s, r, c), reading in ex.values.items():
        if c not in tables[s].get(r, {}):
            continue
        tables[s][r][c] = reading.value
        key = f"{s}.{r}.{c}"
        confidence[key] = round(reading.confidence if reading.value is not None else 0.0, 3)
        box = reading.box.as_dict() if reading.box else {}
        provenance[key] = Provenance(**box, text=reading.raw, how=reading.how, note=reading.note)
    broken = {c for f in findings for c in f.cells}
    uncut = {k: r.raw for k, r in ex.values.items() if r.value is None and r.how == "split"}
    out_findings = [FindingOut(**f.__dict__) for f in findings + prose_findings(prose or {}, template,
                                                                                ex.current_values(), broken, uncut)]
    for issue in ex.issues:
        out_findings.append(FindingOut(rule=issue["rule"], severity=issue.get("severity", "warning"),
                                       message=issue.get("message", issue["rule"]), cells=issue.get("cells", [])))
    never_read = [f"{s}.{r}.{c}" for s, r, c in template.cells() if f"{s}.{r}.{c}" not in provenance]
    missing_rows = sorted({k.rsplit(".", 1)[0] for k in never_read})
    if missing_rows:
        out_findings.append(FindingOut(rule="document.incomplete", severity="warning",
                                       message=f"{len(missing_rows)} rows not found (truncated or unreadable): "
                                               + ", ".join(missing_rows[:8]) + (" ..." if len(missing_rows) > 8 else ""),
                                       cells=missing_rows))
    all_keys = [f"{s}.{r}.{c}" for s, r, c in template.cells()]
    overall = sum(confidence.get(k, 0.0) for k in all_keys) / len(all_keys)
    confidence = {"overall": round(overall, 3), **confidence}
    valid = not findings and all(v is not None for rows in tables.values() for cols in rows.values()
                                 for v in cols.values())
    return ExtractionResult(
        template=template.id, agency=agency, year=year, **tables, valid=valid,
        confidence=confidence, provenance=provenance, prose=prose or {}, findings=out_findings,
        repairs=[RepairOut(**r) for r in ex.repairs], warnings=doc.warnings + ex.warnings,
        source=SourceInfo(name=Path(source.name).name, kind=source.kind, pages=doc.pages, method=doc.method,
                          frames=doc.frames),
        timings={**timer.seconds, **{f"read.{k}": v for k, v in doc.timings.items()}})
