"""Page troubles seen on the synthetic scans (eval/reports/synth-scans), each on a drawn page: no OCR, fast."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

from service.assemble import Assembler
from service.decode import decode
from service.document import Box, Cell, Document, Line, Source
from service.labels import FuzzyLabelMatcher
from service.scan.grid import find_rulings
from service.scan.raster import binarize, is_sideways, load_pages, straighten
from service.template import get_template
from tests.test_scan import grids_of, gray_of, spans
from tests.test_scan_render import make_page

ROOT = Path(__file__).resolve().parents[1]


def synth_page(tmp_path, level: str, index: int, page: int) -> np.ndarray:
    """One page of a synthetic scan from the benchmark's set (python -m eval make synth-scans: seed 2027), as the
    reader rasterises it: the factory is deterministic, so this is the very page the benchmark got wrong."""
    subprocess.run([sys.executable, "-m", "training.synth", "--n", "1", "--start", str(index), "--seed", "2027",
                    "--kinds", "scan", "--levels", level, "--out", str(tmp_path), "--quiet"], check=True,
                   cwd=ROOT, capture_output=True)
    pdf = next(tmp_path.glob("*.scan.pdf")).read_bytes()
    gray, _ = load_pages(Source("x.pdf", pdf, "pdf"), 150, 60)[page - 1]
    return gray


def test_grey_paper_of_a_phone_photo_is_evened_out(tmp_path):
    # synth-scans heavy doc-000022 page 2: the sheet is grey all over; the white margin straighten paints made Otsu
    # call the whole sheet ink, and no rule was found.
    page = straighten(synth_page(tmp_path, "heavy", 21, 2), 2, 150)
    assert (binarize(page.gray) > 0).mean() < 0.3
    assert [(g.n_rows, g.n_cols) for g in grids_of(page.gray)][-1][1] == 10


def test_a_landscape_page_fed_sideways_is_turned(tmp_path):
    # synth-scans moderate doc-000012 page 4: the review table alone, turned a quarter, ruled only across.
    assert straighten(synth_page(tmp_path, "moderate", 11, 4), 4, 150).rotation == 90
    assert not is_sideways(gray_of(make_page(seed=4, rules="across")))


def test_bold_text_is_not_a_rule_and_rows_start_right_of_merged_labels(tmp_path):
    # synth-scans moderate doc-000017 page 2: the requests table has only its frame and rules across; the rows
    # under 三、本年度办理结果 start right of the merged label, and bold labels ran together into rule-like bars.
    # The table runs on over page 3: every one of its rows (25, under two or three header rows) is found.
    first = grids_of(straighten(synth_page(tmp_path / "2", "moderate", 16, 2), 2, 150).gray)[-1]
    rest = grids_of(straighten(synth_page(tmp_path / "3", "moderate", 16, 3), 3, 150).gray)[0]
    # The label columns and the seven value columns (page 3's 10th column was a speck's sliver between two value
    # columns, gone since a number in a row of numbers keeps its column).
    assert first.n_cols >= 9 and rest.n_cols >= 9
    assert first.n_rows + rest.n_rows >= 27


def test_table_ruled_only_across_keeps_rows_under_a_merged_label():
    # Rows of 三、本年度办理结果 start right of the merged label: no column rule crosses them, yet they are rows.
    # With the table's outer frame drawn too: its two side rules are then the only columns ruled.
    page = make_page(seed=5, rules="across", title="", heading="")
    gray = gray_of(page)
    ys, xs = np.nonzero(find_rulings(binarize(gray), 150).horizontal)
    for x in (xs.min(), xs.max()):
        cv2.line(gray, (int(x), int(ys.min())), (int(x), int(ys.max())), 0, 2)
    g = grids_of(gray)[0]
    assert g.n_rows == page.rows
    merged = [c for c in page.cells if c.rowspan > 1 and c.col == 0 and c.colspan == 1]
    assert merged and all((c.row, 0, c.rowspan, 1) in spans(g.cells) for c in merged)


def _cells(row: int, texts: list[str]) -> Line:
    return Line([Cell(t, Box(1, 40.0 * i, 20.0 * row, 40, 20), 0.99, row=row, col=i) for i, t in enumerate(texts)
                 if t is not None], table=0)


def test_blank_cells_of_a_header_row_are_not_zeros():
    # The review table: a two-level header whose empty cells lie in value columns, then the one row of numbers.
    template = get_template("gov-info-disclosure/2021")
    numbers = ["0", "1", "0", "2", "3", "4", "0", "0", "1", "5", "0", "0", "0", "6", "6"]
    doc = Document("scan.pdf", "pdf", method="ocr", lines=[
        Line([Cell("四、政府信息公开行政复议、行政诉讼情况", Box(1, 0, 0, 400, 20))]),
        _cells(1, ["行政复议", "", "", "", "", "行政诉讼", "", "", "", "", "", "", "", "", ""]),
        _cells(2, ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计", "未经复议直接起诉", "", "", "", "",
                   "复议后起诉", "", "", "", ""]),
        _cells(3, [None] * 5 + ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"] * 2),
        _cells(4, numbers),
    ])
    ex = Assembler(FuzzyLabelMatcher()).run(doc, template)
    decode(ex)
    section = template.sections["review_and_litigation"]
    got = [ex.value("review_and_litigation", r.key, c) for r in section.rows for c in r.columns]
    assert got == [int(n) for n in numbers]


def test_tables_ruled_only_across_come_apart_at_the_heading_between_them(tmp_path):
    # synth-scans heavy doc-000025 page 1: 二 and 三, both ruled only across, were one grid with shared columns.
    page = straighten(synth_page(tmp_path, "heavy", 24, 1), 1, 150)
    assert [g.n_cols >= 5 for g in grids_of(page.gray)] == [True, True]


def test_a_lone_ruled_row_carried_onto_the_next_page_is_a_table():
    # The last row of 三 (四、结转下年度继续办理 and its seven numbers) carried alone onto the next page, as the
    # factory's heavy scans print it: one ruled row of eight cells under a paragraph.
    page = np.full((1754, 1240), 255, np.uint8)
    cv2.putText(page, "continued from the previous page", (120, 200), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 0, 2)
    cv2.putText(page, "4. carried forward", (130, 342), cv2.FONT_HERSHEY_SIMPLEX, 0.8, 0, 2)
    top, bottom, xs = 300, 360, [120, 420, 520, 620, 720, 820, 920, 1020, 1120]
    for x in xs:
        cv2.line(page, (x, top), (x, bottom), 0, 2)
    for y in (top, bottom):
        cv2.line(page, (xs[0], y), (xs[-1], y), 0, 2)
    for x, n in zip(xs[1:], "3 0 1 0 0 2 6".split()):
        cv2.putText(page, n, (x + 35, bottom - 18), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 0, 2)
    assert [(g.n_rows, g.n_cols) for g in grids_of(page)] == [(1, 8)]


def test_a_blank_in_another_groups_column_does_not_push_a_number_out():
    # synth-scans heavy doc-000021: 二's groups print 3 or 2 value columns, so the grid has a column some rows leave
    # blank; "规范性文件 0 17 _ 53" is three values, not four.
    template = get_template("gov-info-disclosure/2019")
    doc = Document("scan.pdf", "pdf", method="ocr", lines=[
        Line([Cell("二、主动公开政府信息情况", Box(1, 0, 0, 400, 20))]),
        _cells(1, ["规章", "0", "2", "", "5"]),
        _cells(2, ["规范性文件", "0", "17", "", "53"]),
        _cells(3, ["行政事业性收费", "31", "", "", "-4"]),
    ])
    ex = Assembler(FuzzyLabelMatcher()).run(doc, template)
    decode(ex)
    value = lambda row, col: ex.value("proactive_disclosure", row, col)  # noqa: E731
    assert [value("normative_documents", c) for c in ("newly_made", "newly_published", "total_published")] \
        == [0, 17, 53]
    assert [value("regulations", c) for c in ("newly_made", "newly_published", "total_published")] == [0, 2, 5]
    assert [value("administrative_fees", c) for c in ("previous_year_items", "change")] == [31, -4]


def test_a_scan_from_another_renderer_keeps_every_column():
    # The API tests' digital report (every row a ruled row of separate cells, narrow empty bands between them),
    # page 1 as a 150 dpi grey scan: a band holding no text is still a column (dropping its rule merged cells).
    import io

    import pypdfium2 as pdfium

    from service.ingest import load_source
    from service.pipeline import Pipeline, PipelineOptions
    from tests.api_support import pdf_report

    data, report = pdf_report(seed=100)
    buf = io.BytesIO()
    pdfium.PdfDocument(data)[0].render(scale=150 / 72).to_pil().convert("L").save(buf, format="PNG")
    result = Pipeline(PipelineOptions(classifier="fuzzy")).run(load_source(buf.getvalue(), name="page.png"))
    assert result.requests["new"] == report["requests"]["new"]
    assert result.requests["granted"] == report["requests"]["granted"]
