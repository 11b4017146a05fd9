"""Corpus tables, rebuilt from the manifest and the JSON reports at the end of every run (so a resumed run is complete).

reports.parquet / reports.csv (UTF-8 with BOM, for Excel) / reports.xlsx: one wide row per report, `source` then the
flat contract keys, then the figures the prose states (`prose.<key>`, and `prose.approximate`: the keys stated only
approximately). findings.csv: every report's own findings (prose.mismatch among them), plus the checks across reports
(carried-over requests against the same agency's previous year, duplicate inputs). summary.json: counts by template,
year, input kind, and the failures.
"""
from __future__ import annotations

import csv
import json
import os
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from service.batch.manifest import DONE, FAILED, PENDING, Manifest
from service.template import SECTIONS, all_templates

META_KEYS = ("template", "agency", "year")
FINDING_COLUMNS = ("source", "scope", "rule", "severity", "message", "cells", "expected", "printed", "other_source")


@dataclass
class Report:
    source: str
    kind: str | None
    pages: int | None
    data: dict   # the report's JSON


def value_keys() -> list[str]:
    """Every flat value key of every template, newest template's order first, then keys only older ones have."""
    keys: dict[str, None] = {}
    for template in all_templates():
        keys.update((f"{s}.{r}.{c}", None) for s, r, c in template.cells())
    return list(keys)


def prose_keys(reports: list[Report], keys: list[str]) -> list[str]:
    """The prose columns: every key some report's prose states, the table's order first, then group sums."""
    stated = {k for r in reports for k in (r.data.get("prose") or {})}
    order = {k: i for i, k in enumerate(keys)}
    return [f"prose.{k}" for k in sorted(stated, key=lambda k: (order.get(k, len(order)), k))]


def flat_row(report: Report, keys: list[str], prose_columns: list[str] = ()) -> dict:
    row = {"source": report.source, **{k: report.data.get(k) for k in META_KEYS}}
    values = {f"{s}.{r}.{c}": v for s in SECTIONS for r, cols in (report.data.get(s) or {}).items()
              for c, v in cols.items()}
    row.update((k, values.get(k)) for k in keys)
    prose = report.data.get("prose") or {}
    row.update((c, (prose.get(c[len("prose."):]) or {}).get("value")) for c in prose_columns)
    if prose_columns:
        row["prose.approximate"] = ";".join(k for k, f in prose.items() if f.get("approximate"))
    return row


def load_reports(manifest: Manifest, json_dir: Path) -> tuple[list[Report], list[str]]:
    """Every done input's report, and a note for each done input whose JSON is missing or unreadable."""
    reports, problems = [], []
    for entry in manifest.entries(DONE):
        path = json_dir / f"{entry.json_name}.json"
        try:
            reports.append(Report(entry.source, entry.kind, entry.pages, json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError) as e:
            problems.append(f"{entry.source}: report {path.name} missing or unreadable ({e}); rerun to redo it")
    return reports, problems


# --- checks across reports --------------------------------------------------------------------------------------

def _agency_key(agency: str | None) -> str:
    return re.sub(r"\s+", "", agency or "")


def carried_over_findings(reports: list[Report]) -> list[dict]:
    """requests.carried_over.* of year N against requests.carried_forward.* of the same agency's year N-1."""
    by_agency_year: dict[tuple[str, int], list[Report]] = defaultdict(list)
    for r in reports:
        agency, year = _agency_key(r.data.get("agency")), r.data.get("year")
        if agency and isinstance(year, int):
            by_agency_year[(agency, year)].append(r)
    findings = []
    for (agency, year), current in sorted(by_agency_year.items()):
        for this in current:
            for previous in by_agency_year.get((agency, year - 1), []):
                over = (this.data.get("requests") or {}).get("carried_over") or {}
                forward = (previous.data.get("requests") or {}).get("carried_forward") or {}
                cells = [c for c in over if c in forward and over[c] is not None and forward[c] is not None
                         and over[c] != forward[c]]
                if not cells:
                    continue
                detail = ", ".join(f"{c}: {over[c]} vs {forward[c]}" for c in cells)
                findings.append({
                    "source": this.source, "scope": "corpus", "rule": "corpus.carried_over", "severity": "warning",
                    "message": f"{this.data.get('agency')} {year}: carried over from last year does not match the "
                               f"{year - 1} report's carried forward ({detail})",
                    "cells": ";".join(f"requests.carried_over.{c}" for c in cells),
                    "expected": forward[cells[0]], "printed": over[cells[0]], "other_source": previous.source})
    return findings


def duplicate_findings(manifest: Manifest) -> list[dict]:
    return [{"source": dup, "scope": "corpus", "rule": "corpus.duplicate", "severity": "info",
             "message": f"same content as {kept} (sha256 {sha[:12]}); processed once", "other_source": kept}
            for dup, kept, sha in manifest.duplicates()]


def report_findings(reports: list[Report]) -> list[dict]:
    rows = []
    for r in reports:
        for f in r.data.get("findings") or []:
            rows.append({"source": r.source, "scope": "report", "rule": f.get("rule"), "severity": f.get("severity"),
                         "message": f.get("message"), "cells": ";".join(f.get("cells") or []),
                         "expected": f.get("expected"), "printed": f.get("printed")})
    return rows


# --- writing -----------------------------------------------------------------------------------------------------

def build_tables(manifest: Manifest, out: Path) -> dict:
    """Write every table and summary.json under `out`; returns the summary."""
    import pandas as pd

    reports, problems = load_reports(manifest, out / "json")
    keys = value_keys()
    prose_columns = prose_keys(reports, keys)
    extra = [*prose_columns, "prose.approximate"] if prose_columns else []
    frame = pd.DataFrame([flat_row(r, keys, prose_columns) for r in reports],
                         columns=["source", *META_KEYS, *keys, *extra])
    frame = _typed(frame, keys + prose_columns)
    _atomic(out / "reports.parquet", lambda p: frame.to_parquet(p, index=False))
    _atomic(out / "reports.csv", lambda p: frame.to_csv(p, index=False, encoding="utf-8-sig"))
    _atomic(out / "reports.xlsx", lambda p: _write_xlsx(frame, p))

    cross = carried_over_findings(reports) + duplicate_findings(manifest)
    findings = report_findings(reports) + cross

    def write_findings(path: Path) -> None:
        with open(path, "w", encoding="utf-8-sig", newline="") as f:
            w = csv.DictWriter(f, FINDING_COLUMNS, extrasaction="ignore")
            w.writeheader()
            w.writerows(findings)

    _atomic(out / "findings.csv", write_findings)
    summary = summarise(manifest, reports, cross, problems)
    _atomic(out / "summary.json", lambda p: p.write_text(json.dumps(summary, ensure_ascii=False, indent=1) + "\n",
                                                         encoding="utf-8"))
    return summary


def summarise(manifest: Manifest, reports: list[Report], cross: list[dict], problems: list[str]) -> dict:
    entries = manifest.entries()
    states = Counter(e.state for e in entries)
    return {
        "inputs": len(entries),
        "done": states[DONE],
        "failed": states[FAILED],
        "pending": states[PENDING],
        "duplicates": sum(1 for f in cross if f["rule"] == "corpus.duplicate"),
        "valid": sum(1 for r in reports if r.data.get("valid")),
        "pages": sum(e.pages or 0 for e in entries if e.state == DONE),
        "seconds": round(sum(e.seconds or 0 for e in entries), 2),
        "by_template": _count(r.data.get("template") for r in reports),
        "by_year": _count(r.data.get("year") for r in reports),
        "by_kind": _count(r.kind for r in reports),
        "cross_report_findings": _count(f["rule"] for f in cross),
        "failures": [{"source": e.source, "error": e.error, "attempts": e.attempts}
                     for e in entries if e.state == FAILED],
        "problems": problems,
    }


def _count(values) -> dict[str, int]:
    return dict(sorted(Counter("unknown" if v is None else str(v) for v in values).items()))


def _typed(frame, keys: list[str]):
    """Whole numbers as nullable integers (no 3.0 in the CSV), decimals as floats, nulls left empty."""
    import pandas as pd

    for key in ["year", *keys]:
        numbers = pd.to_numeric(frame[key], errors="coerce")
        whole = numbers.dropna()
        frame[key] = numbers.astype("Int64") if (whole == whole.round()).all() else numbers.astype("Float64")
    return frame


def _write_xlsx(frame, path: Path) -> None:
    import pandas as pd

    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        frame.to_excel(writer, sheet_name="reports", index=False)
        writer.sheets["reports"].freeze_panes = "B2"


def _atomic(path: Path, write) -> None:
    """Write through a temporary file in the same folder and rename it over the target: never half a table."""
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")   # the suffix kept: writers check it
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
