"""The scan reader on synthetic scanned pages (tests/test_scan_render.py draws them with their truth)."""
from __future__ import annotations

import unicodedata

import cv2
import numpy as np
import pytest

from service.document import Source
from service.scan.grid import find_rulings, find_tables
from service.scan.raster import binarize, straighten
from service.scan.reader import ScanOptions, ScanReader, rulings_of
from tests.test_scan_render import make_page, to_pdf, to_png


def spans(cells) -> set[tuple[int, int, int, int]]:
    return {(c.row, c.col, c.rowspan, c.colspan) for c in cells}


def norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).replace(" ", "")


def grids_of(gray: np.ndarray, dpi: float = 150):
    ink = binarize(gray)
    rulings = find_rulings(ink, dpi)
    text = cv2.bitwise_and(ink, cv2.bitwise_not(cv2.bitwise_or(rulings.horizontal, rulings.vertical)))
    return find_tables(ink, rulings, dpi, text=text)


def gray_of(page) -> np.ndarray:
    return cv2.cvtColor(page.image, cv2.COLOR_RGB2GRAY)


# -- grid (no OCR: fast) -------------------------------------------------------------------------------------------------
def test_grid_recovers_rows_cols_and_merged_cells():
    page = make_page(seed=1)
    grids = grids_of(gray_of(page))
    assert len(grids) == 1
    g = grids[0]
    assert (g.n_rows, g.n_cols) == (page.rows, page.cols)
    assert spans(g.cells) == {(c.row, c.col, c.rowspan, c.colspan) for c in page.cells}
    # the merged label block: 三、本年度办理结果 spans 9 rows in column 0
    assert (4, 0, 9, 1) in spans(g.cells)


@pytest.mark.parametrize("angle,noise,blur", [(1.5, 12, 0.6), (-2.5, 0, 0), (0.7, 25, 1.0)])
def test_skew_is_corrected_and_grid_survives_noise(angle, noise, blur):
    page = make_page(seed=2, angle=angle, noise=noise, blur=blur, jpeg=70 if noise else None)
    straight = straighten(gray_of(page), 1, 150)
    assert abs(straight.skew + angle) <= 0.15  # rotated back by the opposite angle
    grids = grids_of(straight.gray)
    assert len(grids) == 1
    assert spans(grids[0].cells) == {(c.row, c.col, c.rowspan, c.colspan) for c in page.cells}


def test_sideways_page_is_turned_upright():
    page = make_page(seed=3, angle=1.0, rotate90=1)
    straight = straighten(gray_of(page), 1, 150)
    assert straight.rotation == 90
    assert straight.gray.shape[0] > straight.gray.shape[1]  # portrait again
    assert len(grids_of(straight.gray)) == 1


def test_clean_page_is_not_filtered():
    straight = straighten(gray_of(make_page(seed=1)), 1, 150)
    assert not straight.denoised


def test_table_ruled_only_across_gets_value_columns_from_text():
    page = make_page(seed=5, rules="across", title="", heading="")
    grids = grids_of(gray_of(page))
    assert len(grids) == 1
    g = grids[0]
    assert g.n_rows == page.rows
    # the seven value columns are found from the gaps between the numbers
    cols = sorted(g.cols)
    values = {(c.row, c.col) for c in page.cells if c.numeric}
    got = {(c.row, c.col) for c in g.cells if c.rowspan == 1 and c.colspan == 1 and c.col >= g.n_cols - 7}
    assert g.n_cols >= 9 and len(cols) == g.n_cols + 1
    assert {(r, c - page.cols + g.n_cols) for r, c in values} <= got


def test_stacked_tables_ruled_across_keep_a_column_few_rows_fill():
    """Section 二's four small tables in one frame ruled only across: the first has three value columns, the rest
    one value under a heading wide across the others. The third value column of the first is nearly empty over the
    frame's rows, but a number stands there: it gets a column of its own, not its neighbour's."""
    from service.scan.grid import columns_from_text

    dpi, row_h = 150, 40
    text = np.zeros((row_h * 14, 900), np.uint8)

    def ink(row: int, *pieces: tuple[int, int]) -> None:
        for x0, x1 in pieces:
            text[row * row_h + 11:row * row_h + 29, x0:x1] = 255

    heading = ((330, 400), (420, 470), (490, 540))  # 第二十条第 (一) 项: three pieces
    for row in (0, 4, 7, 11):
        ink(row, *heading)
    ink(1, (20, 140), (300, 420), (500, 620), (700, 820))  # 信息内容 本年制发件数 本年废止件数 现行有效件数
    for row in (2, 3):  # 规章 0 10 1
        ink(row, (20, 140), (350, 362), (550, 574), (760, 772))
    for row in (5, 8):  # 信息内容 本年处理决定数量, wide across the first table's last two value columns
        ink(row, (20, 140), (460, 720))
    for row in (6, 9, 10, 13):  # 行政许可 72
        ink(row, (20, 140), (548, 576))
    ink(12, (20, 140), (400, 460), (480, 540), (560, 620), (640, 720))  # 本年收费金额 (单位: 万元)
    cols, _ = columns_from_text(text, [float(r * row_h) for r in range(15)], 0, 900, dpi, 23.0)
    between = [c for c in cols if 576 < c < 760]
    assert between, cols


def test_table_without_rules_gets_rows_and_columns_from_text():
    from service.scan.grid import grid_from_text

    page = make_page(seed=6, rules="none", title="", heading="", footer=())
    gray = gray_of(page)
    ink = binarize(gray)
    ys, xs = np.nonzero(ink)
    grid = grid_from_text(ink, (int(xs.min()) - 5, int(ys.min()) - 5, int(xs.max()) + 5, int(ys.max()) + 5), 150)
    assert grid is not None
    # every body row of numbers is a row of its own, with its seven numbers in seven columns
    number_rows = [r for r in range(page.rows) if any(c.numeric and c.row == r for c in page.cells)]
    assert grid.n_rows >= len(number_rows) and grid.n_cols >= 9
    by_row: dict[int, int] = {}
    for c in grid.cells:
        if c.col >= grid.n_cols - 7 and c.colspan == 1:
            by_row[c.row] = by_row.get(c.row, 0) + 1
    assert sum(1 for n in by_row.values() if n == 7) >= len(number_rows)


# -- OCR (one shared reader: models load once) ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def reader():
    return ScanReader(ScanOptions(use_layout_model=False))


def table_cells(doc):
    return {(c.row, c.col): c for line in doc.lines if line.table is not None for c in line.cells}


def test_read_scan_digits_labels_and_conventions(reader):
    page = make_page(seed=7, angle=1.2, noise=10, blur=0.5, jpeg=75, body_rows=4, empty_rate=0.15)
    doc = reader.read(Source("scan.png", to_png(page.image), "image"))
    assert doc.method == "ocr" and doc.pages == 1 and len(doc.images) == 1
    got = table_cells(doc)
    truth = {(c.row, c.col): c for c in page.cells}
    # merged cells appear once at their top-left slot; covered slots are omitted
    assert set(got) == set(truth)
    digits = [k for k, c in truth.items() if c.numeric]
    wrong = [(truth[k].text, got[k].text) for k in digits if got[k].text != truth[k].text]
    assert not wrong, wrong
    assert any(truth[k].text == "" for k in digits)  # empty cells are Cell(text="")
    labels = [k for k, c in truth.items() if not c.numeric]
    right = sum(norm(got[k].text) == norm(truth[k].text) for k in labels)
    assert right >= 0.7 * len(labels)
    # rows are Lines in reading order with grid positions and boxes in page pixels
    rows = [line for line in doc.lines if line.table is not None]
    assert [line.cells[0].row for line in rows] == sorted(line.cells[0].row for line in rows)
    assert all(c.box and c.box.page == 1 and c.box.w > 0 for line in rows for c in line.cells)
    assert all(0.0 <= c.confidence <= 1.0 for line in rows for c in line.cells)
    # text outside the table: title and heading before the table, signature after it, each a one-cell Line
    prose = [line for line in doc.lines if line.table is None]
    assert all(len(line.cells) == 1 for line in prose)
    texts = [norm(line.cells[0].text) for line in prose]
    assert any("2023年政府信息公开工作年度报告" in t for t in texts)
    assert any("收到和处理政府信息公开申请情况" in t for t in texts)
    first_table = next(i for i, line in enumerate(doc.lines) if line.table is not None)
    assert any("申请情况" in norm(line.cells[0].text) for line in doc.lines[:first_table])
    assert any("2024年1月20日" in t for t in texts[-2:])
    assert set(reader.timings) >= {"raster", "rulings", "cells", "text"}


def test_pages_read_side_by_side_read_as_one_at_a_time(reader):
    """Two page threads share the recogniser and the timings; the document is the same, its pages in order."""
    from pathlib import Path

    scan = Path(__file__).resolve().parent.parent / "training" / "samples" / "doc-000001.scan.pdf"
    source = Source(scan.name, scan.read_bytes(), "pdf")
    alone = ScanReader(ScanOptions(use_layout_model=False, threads=1), engine=reader.engine).read(source)
    paired = ScanReader(ScanOptions(use_layout_model=False, threads=2), engine=reader.engine)
    both = paired.read(source)
    assert both.pages == alone.pages >= 3
    lines = [[(c.text, c.box.page, c.box.y, c.row, c.col) for c in line.cells] for line in both.lines]
    assert lines == [[(c.text, c.box.page, c.box.y, c.row, c.col) for c in line.cells] for line in alone.lines]
    assert [p["page"] for p in paired.pages] == list(range(1, both.pages + 1))
    assert paired.timings["cells"] > 0


def test_cells_are_recognised_without_detection(reader):
    page = make_page(seed=8, body_rows=2)
    reader.read(Source("scan.png", to_png(page.image), "image"))
    engine = reader.engine
    assert engine.calls["det_calls"] == 0
    assert engine._ocr.text_det is None  # the detection model was never even loaded
    assert engine.calls["rec_crops"] > 0


def test_digit_decode_restricts_the_alphabet(reader):
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 22)
    crops = []
    for text in ["2093", "0", "105", "0.5", "17"]:
        img = Image.new("L", (20 + 14 * len(text), 34), 255)
        ImageDraw.Draw(img).text((10, 5), text, font=font, fill=0)
        crops.append(np.asarray(img))
    out = reader.engine.recognize(crops, [True] * len(crops))
    assert [t for t, _ in out] == ["2093", "0", "105", "0.5", "17"]
    assert all(set(t) <= set("0123456789.-/减") for t, _ in out)
    assert all(c > 0.5 for _, c in out)


def test_upside_down_pdf_scan_and_table_continued_on_next_page(reader):
    first = make_page(seed=9, body_rows=3, footer=())
    second = make_page(seed=10, body_rows=3, title="", heading="", rotate90=2)
    doc = reader.read(Source("scan.pdf", to_pdf([first.image, second.image]), "pdf"))
    assert doc.pages == 2
    assert reader.pages[1]["rotation"] == 180
    tables = {line.table for line in doc.lines if line.table is not None}
    assert tables == {0}  # the table at the top of page 2 continues the one that ended page 1
    rows = [c.row for line in doc.lines if line.table is not None for c in line.cells[:1]]
    assert rows == sorted(rows) and max(rows) == first.rows + second.rows - 1
    page2 = [c for line in doc.lines if line.table is not None for c in line.cells if c.box.page == 2]
    truth = {(c.row + first.rows, c.col): c.text for c in second.cells if c.numeric}
    read = {(c.row, c.col): c.text for c in page2}
    assert sum(read.get(k) == v for k, v in truth.items()) >= 0.95 * len(truth)


def test_rows_running_past_the_frame_add_no_column():
    # A bent sheet's frame, straightened, leaves its row rules running a few px past the column rule that is its
    # frame now: no cell fits there, so the rows' ends are no frame of an empty column.
    page = make_page(seed=1)
    gray = gray_of(page).copy()
    (clean,) = grids_of(gray)
    left = int(round(clean.cols[0]))
    for y in clean.rows:
        gray[int(round(y)) - 1:int(round(y)) + 1, left - 14:left] = 0
    (doubled,) = grids_of(gray)
    assert (doubled.n_rows, doubled.n_cols) == (clean.n_rows, clean.n_cols)


def test_a_streak_laid_over_a_column_rule_leaves_the_rule():
    # A dirty drum's streak down the whole page that lands on a column rule makes one stroke with it, thicker than
    # the page's rules and meeting no rule at its ends: it was taken for a bar of characters run together and
    # dropped whole, rule and all (real-layout drum scan: two columns of the requests table read as one). It crosses
    # every row rule of the table: the part between the frame's rules stays.
    page = make_page(seed=1)
    gray = gray_of(page).copy()
    (clean,) = grids_of(gray)
    x = int(round(clean.cols[len(clean.cols) // 2]))
    gray[5:-5, x - 1:x + 4] = np.minimum(gray[5:-5, x - 1:x + 4], 70)
    rulings = find_rulings(binarize(gray), 150)
    top, bottom = int(clean.rows[0]), int(clean.rows[-1])
    assert (rulings.vertical[top:bottom, x - 2:x + 6] > 0).any(axis=1).mean() > 0.9
    assert not (rulings.vertical[:top - 40, x - 2:x + 6] > 0).any()  # the streak above the table goes
    assert [(g.n_rows, g.n_cols) for g in grids_of(gray)] == [(clean.n_rows, clean.n_cols)]


def test_a_sheet_of_one_grey_level_is_no_photographed_sheet_and_warns_nothing():
    # A photo that is all desk (or a black image) has no bright sheet: the median of its empty bright part warned
    # "Mean of empty slice" on every such upload.
    import warnings

    from service.scan.raster import find_paper

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert find_paper(np.zeros((300, 200), np.uint8)) is None
        assert find_paper(np.full((300, 200), 255, np.uint8)) is None


def test_a_streak_no_rule_test_caught_does_not_join_the_text_lines():
    # A copier's streak beside an unruled table, anchored on no rule, stays out of the rulings: left in the text ink
    # it ran through every line, and the page read as one band of text as tall as the page (a fresh factory copy:
    # 32 of 198 fields). No character runs down half an inch: such a stroke is no text.
    from service.scan.cells import without_tall_strokes
    from service.scan.layout import find_text_lines

    page = make_page(seed=6, rules="none", title="", heading="", footer=())
    gray = gray_of(page).copy()
    lines = find_text_lines(without_tall_strokes(binarize(gray), 150), 150)
    gray[20:-20, 300:302] = 30
    ink = binarize(gray)
    assert len(find_text_lines(without_tall_strokes(ink, 150), 150)) == len(lines) > 20
    assert len(find_text_lines(ink, 150)) == 1  # the streak left in: one band as tall as the page


def _erase_rule(gray: np.ndarray, x: int, top: int, bottom: int, tone: int | None = None) -> None:
    """Paint a column rule's pixels paper white (tone None) or a light grey."""
    band = gray[top:bottom, x - 3:x + 4]
    band[band < 128] = 255 if tone is None else tone


def test_a_frame_too_faint_to_find_leaves_the_rules_that_end_on_it():
    # A copier washed out a table's frame: the rules across end where it was, together, far past the last column
    # rule they cross. They are the table's rules, not streaks across the page run on past its frame.
    page = make_page(seed=1)
    gray = gray_of(page).copy()
    (clean,) = grids_of(gray)
    top, bottom = int(clean.rows[0]) - 3, int(clean.rows[-1]) + 4
    for x in (clean.cols[0], clean.cols[-1]):
        _erase_rule(gray, int(round(x)), top, bottom)
    before, after = find_rulings(binarize(gray_of(page)), 150), find_rulings(binarize(gray), 150)
    assert after.streaks[0] == []
    left, right = int(clean.cols[0]) + 4, int(clean.cols[-1]) - 3
    for y in clean.rows:
        band = slice(int(y) - 2, int(y) + 3), slice(left, right)
        assert (after.horizontal[band] > 0).any(axis=0).mean() >= (before.horizontal[band] > 0).any(axis=0).mean() - 0.01


def test_rules_too_light_for_the_ink_are_found_on_the_grey_page():
    # A phone's photo of a light print: grey paper, grain, and rules a little darker than the paper that no page-wide
    # ink level keeps. Along their length they are dark throughout, and narrow across. (A grey streak down the
    # page beside them stays no column.)
    page = make_page(seed=1)
    gray = gray_of(page).copy()
    (clean,) = grids_of(gray)
    top, bottom = int(clean.rows[0]) - 3, int(clean.rows[-1]) + 4
    for x in clean.cols[:3]:
        _erase_rule(gray, int(round(x)), top, bottom, tone=190)
    streak = int((clean.cols[-2] + clean.cols[-3]) / 2)
    gray[:, streak:streak + 2] = np.minimum(gray[:, streak:streak + 2], 190)
    rng = np.random.default_rng(0)
    gray = np.clip(gray.astype(np.float32) * 0.85 + rng.normal(0, 6, gray.shape), 0, 255).astype(np.uint8)
    shape = (clean.n_rows, clean.n_cols)
    ink = binarize(gray)
    assert [(g.n_rows, g.n_cols) for g in find_tables(ink, find_rulings(ink, 150), 150)] != [shape]
    ink, rulings, _, text = rulings_of(gray, 150)  # the reader's
    assert [(g.n_rows, g.n_cols) for g in find_tables(ink, rulings, 150, text=text)] == [shape]


def test_two_tables_a_pair_of_streaks_runs_through_stay_two():
    # A dirty drum's streaks run down the whole sheet, through both tables and the heading between them: cut back,
    # what is left of two of them crossed the gap, and the two tables were read as one grid.
    page = make_page(seed=1)
    gray = gray_of(page)
    (clean,) = grids_of(gray)
    top, bottom = int(clean.rows[0]) - 5, int(clean.rows[-1]) + 5
    table = gray[top:bottom]
    margin, gap = np.full((300, gray.shape[1]), 255, np.uint8), np.full((120, gray.shape[1]), 255, np.uint8)
    sheet = np.vstack([margin, table, gap, table, margin])
    for k in (3, 5):
        x = int(clean.cols[k]) + 5  # in the cells' blank margin: no character presses on it
        sheet[:, x:x + 3] = np.minimum(sheet[:, x:x + 3], 60)
    assert [(g.n_rows, g.n_cols) for g in grids_of(sheet)] == [(clean.n_rows, clean.n_cols)] * 2
