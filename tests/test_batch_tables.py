"""The batch manifest and the corpus tables built from it, on hand-made reports (no pipeline run)."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd

from service.batch.manifest import Manifest, safe_name
from service.batch.tables import build_tables, value_keys
from service.template import get_template

T2021 = get_template("gov-info-disclosure/2021")


def _report(agency: str, year: int, carried_over: int, carried_forward: int, amount=0) -> dict:
    tables = T2021.empty_report()
    for section in tables.values():
        for cols in section.values():
            for c in cols:
                cols[c] = 0
    tables["requests"]["carried_over"].update(natural_person=carried_over, total=carried_over)
    tables["requests"]["carried_forward"].update(natural_person=carried_forward, total=carried_forward)
    tables["proactive_disclosure"]["administrative_fees"]["amount_10k_yuan"] = amount
    tables["review_and_litigation"][next(iter(tables["review_and_litigation"]))]["total"] = None
    return {"template": T2021.id, "agency": agency, "year": year, **tables, "valid": True,
            "findings": [{"rule": "r1", "severity": "error", "message": "m", "cells": ["requests.new.total"]}]}


def _corpus(tmp_path: Path, reports: dict[str, dict]) -> tuple[Manifest, Path]:
    out = tmp_path / "out"
    (out / "json").mkdir(parents=True)
    manifest = Manifest(out / "manifest.sqlite")
    for i, (source, data) in enumerate(reports.items()):
        sha = f"{i:064x}"
        entry = manifest.register(sha, source, Path(source).name, Path(source).parent.name)
        (out / "json" / f"{entry.json_name}.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        manifest.mark_done(sha, 1, 0.5, "text")
    return manifest, out


def test_equal_names_from_other_folders_get_their_own_json_name(tmp_path):
    manifest = Manifest(tmp_path / "m.sqlite")
    a = manifest.register("a" * 64, "/x/2023/report.pdf", "report.pdf", "2023")
    b = manifest.register("b" * 64, "/x/2024/report.pdf", "report.pdf", "2024")
    c = manifest.register("c" * 64, "/y/2024/report.pdf", "report.pdf", "2024")
    again = manifest.register("a" * 64, "/copy/report.pdf", "report.pdf", "copy")
    assert (a.json_name, b.json_name, c.json_name) == ("report", "2024_report", "report-cccccccc")
    assert again.json_name == "report" and again.source == "/x/2023/report.pdf"   # same content: same report
    assert manifest.duplicates() == [("/copy/report.pdf", "/x/2023/report.pdf", "a" * 64)]
    assert safe_name('a/b:c*?"') == "a_b_c_" and safe_name("..") == "report"


def test_states_attempts_and_errors_are_kept(tmp_path):
    manifest = Manifest(tmp_path / "m.sqlite")
    manifest.register("a" * 64, "/a.pdf", "a.pdf", "")
    manifest.start("a" * 64)
    manifest.mark_failed("a" * 64, "the PDF is damaged", seconds=0.25)
    manifest.start("a" * 64)
    manifest.close()
    entry = Manifest(tmp_path / "m.sqlite").get("a" * 64)   # reopened: the state survived
    assert (entry.state, entry.error, entry.attempts, entry.seconds) == ("failed", "the PDF is damaged", 2, 0.25)


def test_tables_have_one_row_per_report_and_check_carried_over_across_years(tmp_path):
    manifest, out = _corpus(tmp_path, {
        "/c/a2022.txt": _report("甲街道办事处", 2022, carried_over=1, carried_forward=4),
        "/c/a2023.txt": _report("甲街道办事处", 2023, carried_over=5, carried_forward=2),   # 5 != 4: a finding
        "/c/a2024.txt": _report("甲街道 办事处", 2024, carried_over=2, carried_forward=0),  # 2 == 2: none
        "/c/b2023.txt": _report("乙局", 2023, carried_over=9, carried_forward=0, amount=1.5),  # no 2022 for 乙
    })
    manifest.register("f" * 64, "/c/bad.pdf", "bad.pdf", "c")
    manifest.mark_failed("f" * 64, "the PDF is damaged")
    manifest.register(f"{0:064x}", "/c/copy_of_a2022.txt", "copy_of_a2022.txt", "c")
    summary = build_tables(manifest, out)

    frame = pd.read_parquet(out / "reports.parquet")
    assert list(frame.columns) == ["source", "template", "agency", "year", *value_keys()]
    assert sorted(frame["source"]) == ["/c/a2022.txt", "/c/a2023.txt", "/c/a2024.txt", "/c/b2023.txt"]
    assert str(frame["requests.carried_over.total"].dtype) == "Int64"
    assert str(frame["proactive_disclosure.administrative_fees.amount_10k_yuan"].dtype) == "Float64"

    raw = (out / "reports.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")   # the BOM that makes Excel read UTF-8
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    assert len(rows) == 4 and rows[0]["requests.carried_over.total"] == "1"   # integers stay integers
    blank_key = next(k for k in rows[0] if k.startswith("review_and_litigation.") and k.endswith(".total"))
    assert rows[0][blank_key] == ""   # null stays empty, never 0
    assert pd.read_excel(out / "reports.xlsx").shape == (4, len(frame.columns))

    with open(out / "findings.csv", encoding="utf-8-sig") as f:
        findings = list(csv.DictReader(f))
    cross = [f for f in findings if f["rule"] == "corpus.carried_over"]
    assert len(cross) == 1
    assert cross[0]["source"] == "/c/a2023.txt" and cross[0]["other_source"] == "/c/a2022.txt"
    assert cross[0]["expected"] == "4" and cross[0]["printed"] == "5"
    assert "requests.carried_over.total" in cross[0]["cells"]
    dups = [f for f in findings if f["rule"] == "corpus.duplicate"]
    assert [d["source"] for d in dups] == ["/c/copy_of_a2022.txt"]
    assert sum(f["scope"] == "report" for f in findings) == 4   # each report's own finding

    assert summary["done"] == 4 and summary["failed"] == 1 and summary["duplicates"] == 1
    assert summary["by_year"] == {"2022": 1, "2023": 2, "2024": 1}
    assert summary["by_kind"] == {"text": 4} and summary["by_template"] == {T2021.id: 4}
    assert summary["failures"] == [{"source": "/c/bad.pdf", "error": "the PDF is damaged", "attempts": 0}]
    assert summary["cross_report_findings"] == {"corpus.carried_over": 1, "corpus.duplicate": 1}
    assert json.loads((out / "summary.json").read_text(encoding="utf-8")) == summary


def test_a_file_edited_between_runs_has_one_row_with_its_new_content(tmp_path):
    manifest, out = _corpus(tmp_path, {"/c/x.txt": _report("甲", 2022, 1, 1), "/c/y.txt": _report("乙", 2022, 0, 0)})
    new = manifest.register("e" * 64, "/c/x.txt", "x.txt", "c")   # the same path, now another content
    (out / "json" / f"{new.json_name}.json").write_text(json.dumps(_report("甲", 2023, 5, 5)), encoding="utf-8")
    manifest.mark_done("e" * 64, 1, 0.5, "text")
    summary = build_tables(manifest, out)
    frame = pd.read_csv(out / "reports.csv")
    assert sorted(frame["source"]) == ["/c/x.txt", "/c/y.txt"]
    assert frame.set_index("source").loc["/c/x.txt", "year"] == 2023
    assert summary["inputs"] == 2 and summary["duplicates"] == 0


def test_a_missing_report_file_is_named_not_fatal(tmp_path):
    manifest, out = _corpus(tmp_path, {"/c/a.txt": _report("甲", 2023, 0, 0)})
    (out / "json" / "a.json").unlink()
    summary = build_tables(manifest, out)
    assert summary["done"] == 1 and len(summary["problems"]) == 1 and "a.json" in summary["problems"][0]
    assert pd.read_csv(out / "reports.csv").empty
