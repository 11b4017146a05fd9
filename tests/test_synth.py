"""The synthetic report factory (training/synth): determinism, rules, every output kind readable, scan boxes."""
from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from service.template import all_templates, get_template
from training.synth.draw import check_rules, draw_report
from training.synth.factory import KINDS, Job, run

ROOT = Path(__file__).resolve().parents[1]


def _generate(out: Path, n: int = 3, seed: int = 11, **kw) -> list[dict]:
    jobs = [Job(index=i, seed=seed, out=str(out), dpi=kw.get("dpi", 72), levels=kw.get("levels", ("light", "heavy")),
                templates=kw.get("templates", ("2021", "2019")), p_break=kw.get("p_break", 0.05),
                kinds=kw.get("kinds", KINDS)) for i in range(n)]
    run(jobs, workers=1)
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, list[dict]]:
    out = tmp_path_factory.mktemp("synth")
    # Index 0..3 with seed 11: both templates appear (checked below), light and heavy scans.
    return out, _generate(out, n=4)


def test_same_seed_same_bytes(generated, tmp_path):
    out, manifest = generated
    again = tmp_path / "again"
    _generate(again, n=2)
    for entry in manifest[:2]:
        for kind, name in entry["files"].items():
            assert (out / name).read_bytes() == (again / name).read_bytes(), f"{kind} {name} differs"


def test_other_seed_other_report(tmp_path):
    a = _generate(tmp_path / "a", n=1, seed=1, kinds=("text",))
    b = _generate(tmp_path / "b", n=1, seed=2, kinds=("text",))
    ta = json.loads((tmp_path / "a" / a[0]["files"]["truth"]).read_text(encoding="utf-8"))
    tb = json.loads((tmp_path / "b" / b[0]["files"]["truth"]).read_text(encoding="utf-8"))
    assert ta["report"] != tb["report"]


@pytest.mark.parametrize("template", [t.id for t in all_templates()])
def test_drawn_reports_obey_every_rule_unless_broken_on_purpose(template):
    t = get_template(template)
    broken = 0
    for i in range(400):
        drawn = draw_report(random.Random(i), t, "某某区人民政府办公室", 2023, p_break=0.1)
        found = check_rules(t, drawn.report)
        if drawn.broken_rules:
            broken += 1
            record = drawn.broken_rules[0]
            assert found and found == record["violations"]
            assert record["rule"] in {f["rule"] for f in found}
            section, row, col = record["cell"].split(".")
            assert drawn.report[section][row][col] == record["printed"] != record["correct"]
        else:
            assert found == []
        # Shape: exactly the template's cells, integers except decimal columns, signed only where allowed.
        for section, row, col in t.cells():
            v = drawn.report[section][row][col]
            spec = t.sections[section].columns[col]
            assert isinstance(v, (int, float)) and (spec.decimal or isinstance(v, int))
            assert v >= 0 or spec.signed
    assert 10 < broken < 80


def test_distribution_is_realistic():
    t = get_template("gov-info-disclosure/2021")
    news = []
    for i in range(600):
        r = draw_report(random.Random(f"d{i}"), t, "x", 2023, p_break=0).report
        news.append(r["requests"]["new"])
    totals = [n["total"] for n in news]
    assert sum(x <= 20 for x in totals) > 0.5 * len(totals)
    assert any(x >= 10_000 for x in totals) and sum(x >= 10_000 for x in totals) < 0.06 * len(totals)
    big = [n for n in news if n["total"] >= 50]
    assert sum(n["natural_person"] >= 0.5 * n["total"] for n in big) > 0.85 * len(big)


def test_truth_and_manifest_shape(generated):
    out, manifest = generated
    templates = set()
    for entry in manifest:
        truth = json.loads((out / entry["files"]["truth"]).read_text(encoding="utf-8"))
        report = truth["report"]
        assert list(report) == ["template", "agency", "year", "proactive_disclosure", "requests",
                                "review_and_litigation"]
        t = get_template(report["template"])
        templates.add(t.id)
        for section, row, col in t.cells():
            assert report[section][row][col] is not None
        assert 2019 <= report["year"] <= 2025 and (report["year"] >= 2021 or t.first_year == 2019)
        assert set(truth["files"]) == {"text", "html", "docx", "pdf", "scan", "scan_cells", "truth"}
        assert truth["degradation"]["level"] in ("light", "heavy") and truth["degradation"]["ops"]
        assert check_rules(t, report) == (truth["broken_rules"][0]["violations"] if truth["broken_rules"] else [])
        for name in truth["files"].values():
            assert (out / name).is_file()
    assert templates == {t.id for t in all_templates()}


def test_pdf_has_text_layer_with_labels(generated):
    import pdfplumber

    out, manifest = generated
    for entry in manifest[:2]:
        with pdfplumber.open(out / entry["files"]["pdf"]) as pdf:
            text = "".join((p.extract_text() or "") for p in pdf.pages).replace("\n", "")
        for label in ("一、本年新收政府信息公开申请数量", "结转下年度继续办理", "行政复议", "信息内容", "申请人情况"):
            assert label in text, label
        assert entry["agency"] in text


def test_html_has_merged_cells_and_every_value(generated):
    from bs4 import BeautifulSoup

    out, manifest = generated
    entry = manifest[0]
    soup = BeautifulSoup((out / entry["files"]["html"]).read_text(encoding="utf-8"), "html.parser")
    tables = soup.find_all("table")
    assert len(tables) == 3
    assert soup.find("td", attrs={"rowspan": "8"}) is not None  # （三）不予公开 spans its 8 rows
    assert soup.find("td", string=lambda s: s and "申请人情况" in s, attrs={"colspan": True}) is not None
    template = get_template(entry["template"])
    n_values = sum(1 for td in tables[1].find_all("td") if td.get_text().lstrip("-减").replace(".", "").isdigit())
    assert n_values == len(template.sections["requests"].rows) * len(template.sections["requests"].columns)


def test_docx_opens_with_merged_tables(generated):
    from docx import Document

    out, manifest = generated
    doc = Document(str(out / manifest[0]["files"]["docx"]))
    assert len(doc.tables) == 3
    requests = doc.tables[1]
    first_row = [c.text for c in requests.rows[0].cells]
    assert first_row.count("申请人情况") >= 5  # merged across the applicant columns
    assert "一、本年新收政府信息公开申请数量" in {c.text for r in requests.rows for c in r.cells}


def test_text_dump_has_labels_and_numbers(generated):
    out, manifest = generated
    for entry in manifest:
        text = (out / entry["files"]["text"]).read_text(encoding="utf-8")
        joined = text.replace(" ", "").replace("\n", "")  # wrapped cells carry a space; vertical ones newlines
        assert "二、上年结转政府信息公开申请数量" in joined
        assert "1.属于国家秘密" in joined  # a tall merged label ((三)不予公开) may come out in pieces
        assert "五、存在的主要问题及改进情况" in text


def test_scan_boxes_inside_pages_and_value_cells_match_truth(generated):
    import pypdfium2 as pdfium

    from training.synth.tables import Format, fmt_value

    out, manifest = generated
    for entry in manifest:
        cells = json.loads((out / entry["files"]["scan_cells"]).read_text(encoding="utf-8"))
        truth = json.loads((out / entry["files"]["truth"]).read_text(encoding="utf-8"))
        pages = {p["page"]: p for p in cells["pages"]}
        pdf = pdfium.PdfDocument(str(out / entry["files"]["scan"]))
        assert len(pdf) == len(pages) == entry["pages"]
        for i, page in enumerate(pdf, start=1):
            img = page.render(scale=pages[i]["dpi"] / 72).to_numpy()
            assert img.shape[:2] == (pages[i]["height"], pages[i]["width"])
        pdf.close()
        keyed = {}
        for c in cells["cells"]:
            x, y, w, h = c["box"]
            p = pages[c["page"]]
            assert 0 <= x and 0 <= y and x + w <= p["width"] + 0.01 and y + h <= p["height"] + 0.01
            if c["key"]:
                assert w > 0 and h > 0
                keyed[c["key"]] = c["text"]
        template = get_template(truth["report"]["template"])
        assert set(keyed) == {".".join(k) for k in template.cells()}
        neg = truth["style"]["negative"]
        for key, text in keyed.items():
            section, row, col = key.split(".")
            assert text == fmt_value(truth["report"][section][row][col], Format(negative=neg))


def test_cli_help_and_small_run(tmp_path):
    help_text = subprocess.run([sys.executable, "-m", "training.synth", "--help"], cwd=ROOT, capture_output=True,
                               text=True, check=True).stdout
    assert "--kinds" in help_text and "--levels" in help_text
    res = subprocess.run([sys.executable, "-m", "training.synth", "--n", "2", "--seed", "3", "--out", str(tmp_path),
                          "--kinds", "text,html", "--templates", "2019", "--workers", "1", "--quiet"],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(res.stdout)["documents"] == 2
    lines = (tmp_path / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["template"] for x in lines] == ["gov-info-disclosure/2019"] * 2
    assert not list(tmp_path.glob("*.pdf"))


def test_committed_sample_is_complete():
    sample = ROOT / "training" / "samples"
    manifest = sample / "manifest.jsonl"
    if not manifest.exists():
        pytest.skip("sample not generated")
    entries = [json.loads(x) for x in manifest.read_text(encoding="utf-8").splitlines()]
    assert {e["template"] for e in entries} == {t.id for t in all_templates()}
    assert {e["level"] for e in entries} == {"light", "moderate", "heavy"}
    for e in entries:
        for name in e["files"].values():
            assert (sample / name).is_file(), name
    assert sum(p.stat().st_size for p in sample.iterdir()) < 5_500_000


def _content(folder: Path, files: dict) -> dict:
    """A document of the factory apart from how a library compresses it: its truth, its drawn geometry (scan cell
    boxes, the digital PDF's rules and where each word stands) and the text of every output."""
    import pdfplumber
    import pypdfium2 as pdfium
    from docx import Document

    def json_of(kind):
        return json.loads((folder / files[kind]).read_text(encoding="utf-8"))

    out = {"truth": json_of("truth"), "scan_cells": json_of("scan_cells")}
    for kind in ("text", "html"):
        out[kind] = (folder / files[kind]).read_text(encoding="utf-8")
    doc = Document(str(folder / files["docx"]))
    out["docx"] = ([p.text for p in doc.paragraphs],
                   [[[c.text for c in row.cells] for row in table.rows] for table in doc.tables])
    with pdfplumber.open(folder / files["pdf"]) as pdf:
        out["pdf"] = [(round(page.width, 1), round(page.height, 1),
                       [(w["text"], round(w["x0"], 1), round(w["top"], 1)) for w in page.extract_words()],
                       sorted((round(e["x0"], 1), round(e["top"], 1), round(e["x1"], 1), round(e["bottom"], 1))
                              for e in page.lines + page.rects))
                      for page in pdf.pages]
    scan = pdfium.PdfDocument(str(folder / files["scan"]))
    out["scan"] = [tuple(round(x, 1) for x in scan.get_page_size(i)) for i in range(len(scan))]
    scan.close()
    return out


def test_committed_sample_matches_its_command(tmp_path):
    """The README's command regenerates the committed sample (checked on its first document): the same truth, the
    same drawn geometry and the same text in every output. Not the same bytes: those depend on the compressor of
    the PDF library's version."""
    sample = ROOT / "training" / "samples"
    if not (sample / "manifest.jsonl").exists():
        pytest.skip("sample not generated")
    run([Job(index=0, seed=2026, out=str(tmp_path), dpi=110, p_break=0.3, cycle=True)], workers=1)
    entry = json.loads((sample / "manifest.jsonl").read_text(encoding="utf-8").splitlines()[0])
    made, committed = _content(tmp_path, entry["files"]), _content(sample, entry["files"])
    for key in committed:
        assert made[key] == committed[key], key
    # Words and rules were found (the tables' pages are ruled): the comparison has teeth.
    assert all(page[2] for page in committed["pdf"]) and any(page[3] for page in committed["pdf"])


def test_value_cells_print_in_the_styles_value_font_and_labels_stay_in_the_body_font():
    import io

    import pdfplumber

    from training.synth.compose import compose
    from training.synth.fonts import LATIN
    from training.synth.render_pdf import render_pdf

    if not LATIN["times"].exists():
        pytest.skip("fonts-liberation not installed")
    doc = compose("doc-font", random.Random(3), ["2021"])
    doc.style.value_font = "times"
    pdf = render_pdf(doc)
    with pdfplumber.open(io.BytesIO(pdf.data)) as p:
        chars = [c for page in p.pages for c in page.chars]
    digits = {c["fontname"].split("+")[-1] for c in chars if c["text"].isdigit()}
    cjk = {c["fontname"].split("+")[-1] for c in chars if "\u4e00" <= c["text"] <= "\u9fff"}
    assert any("Liberation" in f for f in digits) and not any("Liberation" in f for f in cjk)
