"""Scoring: one system's outputs against the truth, as plain numbers.

Everything here is a pure function of plain dicts, so it is tested on hand-made pairs. A record is what one system
produced for one case (see eval.run.record_of): {"values": {flat key: value}, "template", "agency", "year", "valid",
"findings": [{"rule", "cells", "severity"}], "provenance": {flat key: {"page", "x", "y", "w", "h", "text", "how"}},
"timings", "pages", "error"}.
"""
from __future__ import annotations

import re
import statistics
import unicodedata
from collections import Counter, defaultdict

from service.template import SECTIONS, get_template

META = ("template", "agency", "year")


# -- one document ---------------------------------------------------------------------------------------------------

def flatten(report: dict) -> dict[str, float | int | None]:
    """The canonical report's numbers as {section.row.column: value}, the contract's flat keys. A truth that holds
    only the fields a person could read with certainty ({"fields": {flat key: value}}) is scored on those alone."""
    if isinstance(report.get("fields"), dict):
        return dict(report["fields"])
    return {f"{s}.{r}.{c}": v for s in SECTIONS for r, cols in (report.get(s) or {}).items()
            for c, v in cols.items()}


def same_value(truth, got) -> bool:
    """Exact match; null is a value of its own (null where the truth says 0 is wrong, and the reverse)."""
    if truth is None or got is None:
        return truth is None and got is None
    if isinstance(truth, bool) or isinstance(got, bool):
        return False
    return abs(float(truth) - float(got)) < 1e-6


def field_hits(truth: dict, values: dict) -> dict[str, bool]:
    """{flat key: right?} over every field of the truth's report."""
    return {k: same_value(v, values.get(k)) for k, v in flatten(truth).items()}


def _norm_agency(text) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text or "")))


def meta_hits(truth: dict, record: dict) -> dict[str, bool]:
    agency = _norm_agency(truth.get("agency"))
    return {"template": truth.get("template") == record.get("template"),
            # A truth without an agency (none printed): right only when none is made up.
            "agency": agency == _norm_agency(record.get("agency")),
            "year": truth.get("year") == record.get("year")}


def truth_violations(truth: dict) -> set[tuple[str, tuple[str, ...]]]:
    """The rule instances the true numbers break, as (rule, sorted cells): what a perfect reader would report."""
    from service.validate import check, equations

    if not truth.get("template"):
        return set()
    template = get_template(truth["template"])
    values = {tuple(k.split(".")): v for k, v in flatten(truth).items()}
    return {(f.rule, tuple(sorted(f.cells))) for f in check(values, equations(template))}


def reported_violations(truth: dict, findings: list[dict]) -> set[tuple[str, tuple[str, ...]]]:
    """The rule breaks a system reported (its findings that name one of the template's rules)."""
    if not truth.get("template"):
        return set()
    rules = {r.id for r in get_template(truth["template"]).rules}
    return {(f["rule"], tuple(sorted(f.get("cells") or []))) for f in findings if f.get("rule") in rules}


def findings_counts(truth: dict, findings: list[dict]) -> dict[str, int]:
    """tp: a reported break the truth has; fp: a reported break the truth does not have; fn: a true break missed."""
    true, reported = truth_violations(truth), reported_violations(truth, findings)
    return {"tp": len(true & reported), "fp": len(reported - true), "fn": len(true - reported)}


def broken_rule_found(broken: dict, findings: list[dict]) -> bool:
    """A break the factory planted (rule id and the cell it changed) is found when a finding of that rule names the
    cell."""
    cell = broken.get("cell")
    return any(f.get("rule") == broken.get("rule") and (cell is None or cell in (f.get("cells") or []))
               for f in findings)


# -- where a wrong value went wrong ---------------------------------------------------------------------------------

def iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def _prov_box(p: dict | None) -> tuple[int, tuple[float, float, float, float]] | None:
    if not p or any(p.get(k) is None for k in ("x", "y", "w", "h")):
        return None
    return int(p.get("page") or 1), (float(p["x"]), float(p["y"]), float(p["w"]), float(p["h"]))


def _truth_boxes(cells: list[dict]) -> dict[str, tuple[int, tuple[float, float, float, float]]]:
    out = {}
    for c in cells:
        if c.get("key") and c.get("box"):
            out[c["key"]] = (int(c.get("page") or 1), tuple(float(v) for v in c["box"]))
    return out


def box_scale(truth_boxes: dict, provenance: dict, right: list[str]) -> float:
    """Provenance and truth may measure pages in different units (points, pixels at some DPI): the ratio of box
    centres over the values read right gives the factor (both measure from the page's top-left corner)."""
    ratios = []
    for key in right:
        t, p = truth_boxes.get(key), _prov_box(provenance.get(key))
        if not t or not p or t[0] != p[0]:
            continue
        (tx, ty, tw, th), (px, py, pw, ph) = t[1], p[1]
        if px + pw / 2 > 1 and py + ph / 2 > 1:
            ratios += [(tx + tw / 2) / (px + pw / 2), (ty + th / 2) / (py + ph / 2)]
    if not ratios:
        return 1.0
    s = statistics.median(ratios)
    return 1.0 if abs(s - 1) < 0.02 else s


def error_kind(key: str, truth_boxes: dict, provenance: dict, scale: float, min_iou: float = 0.3) -> str:
    """Structure errors: "missing" (no cell was found for the value) or "wrong_cell" (another cell was read for it);
    "ocr": the right cell, misread; "derived": no cell was read, the arithmetic or the row order placed the value."""
    p = provenance.get(key) or {}
    box = _prov_box(p)
    if box is None:
        return "derived" if p.get("how") in ("arithmetic", "order", "repaired") else "missing"
    truth = truth_boxes.get(key)
    if truth is None:
        return "wrong_cell"
    page, (x, y, w, h) = box
    scaled = (x * scale, y * scale, w * scale, h * scale)
    cx, cy = scaled[0] + scaled[2] / 2, scaled[1] + scaled[3] / 2
    tx, ty, tw, th = truth[1]
    inside = tx <= cx <= tx + tw and ty <= cy <= ty + th
    if page == truth[0] and (inside or iou(scaled, truth[1]) >= min_iou):
        return "ocr"
    return "wrong_cell"


# -- one system over the set ----------------------------------------------------------------------------------------

def _rate(hit: int, total: int) -> float | None:
    return round(hit / total, 4) if total else None


def score_doc(case: dict, record: dict) -> dict:
    """Everything the aggregate needs from one case: field hits, meta, exactness, findings, error kinds."""
    truth = case["truth"]
    hits = field_hits(truth, record.get("values") or {})
    meta = meta_hits(truth, record)
    counts = findings_counts(truth, record.get("findings") or [])
    broken = case.get("broken_rules")
    if broken is None:
        broken_found = None
    else:
        broken_found = [broken_rule_found(b, record.get("findings") or []) for b in broken]
    kinds: dict[str, str] = {}
    if case.get("cells") and record.get("error"):  # no result at all: every value lost with the input
        kinds = {k: "failed" for k, ok in hits.items() if not ok}
    elif case.get("cells"):
        boxes = _truth_boxes(case["cells"])
        prov = record.get("provenance") or {}
        scale = box_scale(boxes, prov, [k for k, ok in hits.items() if ok])
        kinds = {k: error_kind(k, boxes, prov, scale) for k, ok in hits.items() if not ok}
    return {"case": case["id"], "kind": case["kind"], "level": case["level"], "hits": hits, "meta": meta,
            "exact": all(hits.values()), "exact_with_meta": all(hits.values()) and all(meta.values()),
            "valid": bool(record.get("valid")), "findings": counts, "broken_found": broken_found,
            "error_kinds": kinds, "error": record.get("error")}


def accuracy(docs: list[dict], key=None) -> dict[str, dict]:
    """Field accuracy grouped by key(doc, field) -> group name (None: one group "all")."""
    right, total = Counter(), Counter()
    for d in docs:
        for f, ok in d["hits"].items():
            g = key(d, f) if key else "all"
            total[g] += 1
            right[g] += ok
    return {g: {"fields": total[g], "right": right[g], "accuracy": _rate(right[g], total[g])} for g in total}


def aggregate(docs: list[dict], worst: int = 15) -> dict:
    """One system's numbers over the scored cases."""
    n = len(docs)
    tp = sum(d["findings"]["tp"] for d in docs)
    fp = sum(d["findings"]["fp"] for d in docs)
    fn = sum(d["findings"]["fn"] for d in docs)
    planted = [ok for d in docs if d["broken_found"] is not None for ok in d["broken_found"]]
    per_field_wrong, per_field_total = Counter(), Counter()
    for d in docs:
        for f, ok in d["hits"].items():
            per_field_total[f] += 1
            per_field_wrong[f] += not ok
    worst_fields = [{"field": f, "wrong": w, "of": per_field_total[f]}
                    for f, w in sorted(per_field_wrong.items(), key=lambda kv: (-kv[1], kv[0])) if w][:worst]
    error_kinds = Counter(k for d in docs for k in d["error_kinds"].values())
    by_level = accuracy(docs, lambda d, f: d["level"])
    return {
        "cases": n,
        "failed": sum(1 for d in docs if d["error"]),
        "fields": accuracy(docs).get("all", {"fields": 0, "right": 0, "accuracy": None}),
        "by_section": accuracy(docs, lambda d, f: f.split(".", 1)[0]),
        "by_kind": accuracy(docs, lambda d, f: d["kind"]),
        "by_level": by_level,
        "meta": {m: _rate(sum(d["meta"][m] for d in docs), n) for m in META},
        "exact": _rate(sum(d["exact"] for d in docs), n),
        "exact_with_meta": _rate(sum(d["exact_with_meta"] for d in docs), n),
        "valid": _rate(sum(d["valid"] for d in docs), n),
        "findings": {"tp": tp, "fp": fp, "fn": fn, "precision": _rate(tp, tp + fp), "recall": _rate(tp, tp + fn),
                     "planted": len(planted), "planted_found": sum(planted)},
        "worst_fields": worst_fields,
        "error_kinds": dict(error_kinds),
    }


def group_by(docs: list[dict], name: str) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = defaultdict(list)
    for d in docs:
        out[d[name]].append(d)
    return dict(out)


# -- the prose's figures ----------------------------------------------------------------------------------------------

def prose_key_of(cells: list[str]) -> str | None:
    """The prose key a prose.mismatch finding is about: its one cell, or the group its cells share (the rows'
    common prefix: requests.denied_*.total -> requests.denied.total)."""
    if not cells:
        return None
    if len(cells) == 1:
        return cells[0]
    parts = [c.split(".") for c in cells]
    rows = [p[1] for p in parts]
    prefix = rows[0]
    for r in rows[1:]:
        while not r.startswith(prefix):
            prefix = prefix[:-1]
    return f"{parts[0][0]}.{prefix.rstrip('_')}.{parts[0][2]}"


def prose_counts(truth: dict, got: dict) -> dict[str, int]:
    """Figures read from the prose against the figures the factory wrote: a hit needs the key, the value and the
    approximate flag right. tp, fp (read but not written, or read wrong), fn (written but not read right)."""
    hits = {k for k, t in truth.items() if k in got and same_value(t["value"], got[k]["value"])
            and bool(t.get("approximate")) == bool(got[k].get("approximate"))}
    return {"tp": len(hits), "fp": len(set(got) - hits), "fn": len(set(truth) - hits)}


def prose_mismatch_counts(truth: dict, findings: list[dict]) -> dict[str, int]:
    """prose.mismatch findings against the contradictions the factory planted (exact figures only)."""
    planted = {k for k, t in truth.items() if t.get("contradicts") and not t.get("approximate")}
    reported = {prose_key_of(f.get("cells") or []) for f in findings if f.get("rule") == "prose.mismatch"}
    return {"tp": len(planted & reported), "fp": len(reported - planted), "fn": len(planted - reported)}
