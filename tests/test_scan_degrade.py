"""Scans of real layouts and the degradations that broke the reader: dirty-drum streaks, dark photocopies, page
warps; streaks told from rules; the `scan FILE.pdf` command; the recogniser's alternative readings."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from eval.sets import REAL  # ../shared/real, or $NIANBAO_REAL
from models.ocr import Reading, combine_alternatives, ctc_top_k
from service.scan.cells import read_grids
from service.scan.grid import find_rulings
from service.scan import raster
from service.scan.raster import binarize
from tests.test_scan import grids_of, gray_of, spans
from tests.test_scan_render import FONT, make_page
from training.synth.scan import Curl, _dark_copy, _drum_streaks

ROOT = Path(__file__).resolve().parents[1]


# -- the new degradations, on drawn pages ------------------------------------------------------------------------
def test_drum_streaks_run_through_the_whole_sheet():
    page = make_page(seed=0)
    gray = gray_of(page).copy()
    before = gray.copy()
    ops = _drum_streaks(gray, np.random.default_rng(3), 150)
    vertical = [o for o in ops if o["axis"] == "vertical"]
    assert vertical and all(o["op"] == "drum_streak" for o in ops)
    for o in vertical:
        a, b = max(0, o["at"] - 4), o["at"] + o["width"] + 4  # it drifts a pixel or two down the page
        darker = (gray[:, a:b].astype(int) < before[:, a:b].astype(int)).any(axis=1)
        # down the sheet, through the margins and the table alike (a streak is not a rule that stops at a frame)
        assert darker[: gray.shape[0] // 8].any() or darker[-gray.shape[0] // 8:].any()
        assert darker.mean() > 0.3


def test_dark_copy_has_grey_paper_and_black_borders():
    page = make_page(seed=1)
    f, ops = _dark_copy(gray_of(page).astype(np.float32), np.random.default_rng(5), 150)
    grey = next(o for o in ops if o["op"] == "grey_paper")
    sides = next(o for o in ops if o["op"] == "dark_border")["sides"]
    h, w = f.shape
    middle = f[h // 3: 2 * h // 3, w // 3: 2 * w // 3]
    assert abs(float(np.median(middle)) - grey["paper"]) < 25 and np.median(middle) < 215
    edge = {0: f[:, :2], 1: f[:, -2:], 2: f[:2, :], 3: f[-2:, :]}
    assert all(float(edge[s].mean()) < 80 for s in sides)


def test_page_warp_moves_boxes_with_the_page():
    h, w = 800, 600
    curl = Curl(w, h, wave_y=9.0, freq_y=0.8, phase_y=0.3, bulge=10.0, centre=0.4, wave_x=4.0, freq_x=0.6,
                phase_x=1.0)
    for x, y in [(100, 120), (480, 650), (300, 400)]:
        img = np.full((h, w), 255, np.uint8)
        cv2.circle(img, (x, y), 4, 0, -1)
        warped = curl.apply(img, 255)
        ys, xs = np.nonzero(warped < 128)
        q = curl.forward(np.array([[x, y]], float))[0]
        assert abs(xs.mean() - q[0]) < 1.0 and abs(ys.mean() - q[1]) < 1.0
        assert abs(xs.mean() - x) + abs(ys.mean() - y) > 2  # the warp did move it


# -- streaks told from rules -------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 3, 4, 11])
def test_streaks_through_the_table_are_not_rules(seed):
    page = make_page(seed=seed)
    gray = gray_of(page).copy()
    ops = _drum_streaks(gray, np.random.default_rng(seed), 150)
    assert len(ops) >= 2
    grids = grids_of(gray)
    assert len(grids) == 1
    assert spans(grids[0].cells) == {(c.row, c.col, c.rowspan, c.colspan) for c in page.cells}


def test_a_line_through_text_is_dropped_and_the_rules_stay():
    page = make_page(seed=2)
    gray = gray_of(page).copy()
    clean = find_rulings(binarize(gray), 150)
    grid = grids_of(gray)[0]
    # a dark line straight down through the middle of the label column's text and off the table
    x = int((grid.cols[1] + grid.cols[2]) / 2)
    gray[:, x:x + 2] = 40
    streaked = find_rulings(binarize(gray), 150)
    assert not streaked.vertical[:, x - 1:x + 3].any()
    assert np.array_equal(streaked.vertical[:, : x - 6] > 0, clean.vertical[:, : x - 6] > 0)


def _truth(page) -> set[tuple[int, int, int, int]]:
    return {(c.row, c.col, c.rowspan, c.colspan) for c in page.cells}


def test_a_slanted_streak_across_a_column_rule_leaves_the_rule_and_no_split():
    page = make_page(seed=2)
    gray = gray_of(page).copy()
    grid = grids_of(gray)[0]
    # a copier's streak, straight in the scan, slanted on the deskewed page: it crosses a column rule mid-table and
    # passes under the merged header "法人或其他组织" beside the rule's top end
    x, h = int(grid.cols[5]), gray.shape[0]
    for y in range(h):
        at = x - 20 + int(40 * y / h)
        gray[y, at:at + 2] = 60
    (streaked,) = grids_of(gray)
    assert spans(streaked.cells) == _truth(page)


@pytest.mark.parametrize("seed", [2, 4])
def test_a_column_rule_too_faint_to_see_in_some_rows_still_parts_their_cells(seed):
    page = make_page(seed=seed)
    gray = gray_of(page).copy()
    grid = grids_of(gray)[0]
    x = int(round(grid.cols[6]))
    # the rule is gone from the header rows and the first value rows (stubs stay where it meets the row rules),
    # and what is left of it starts mid-row
    for a, b in zip(grid.rows[:6], grid.rows[1:7]):
        gray[int(a) + 4:int(b) - 4, x - 3:x + 4] = 255
    gray[int(grid.rows[6]) + 4:int(grid.rows[6]) + 23, x - 3:x + 4] = 255
    (faded,) = grids_of(gray)
    assert spans(faded.cells) == _truth(page)


def test_a_rule_with_a_blot_pressing_on_it_in_one_cell_is_no_streak():
    page = make_page(seed=2)
    gray = gray_of(page).copy()
    grid = grids_of(gray)[0]
    y, x = int(round(grid.rows[8])), int(grid.cols[8]) + 8
    cv2.rectangle(gray, (x, y - 6), (x + 30, y + 6), 0, -1)  # a digit blurred over the rule, ink on both sides
    (blotted,) = grids_of(gray)
    assert spans(blotted.cells) == _truth(page)


def _straightened_to_truth(bent: np.ndarray, page) -> None:
    """The straight grid misreads the bent page; unbent, the page's grid is the truth's."""
    from service.scan.grid import find_tables
    from service.scan.reader import unbend_rules

    assert [spans(g.cells) for g in grids_of(bent)] != [_truth(page)]
    ink = binarize(bent)
    rulings = find_rulings(ink, 150)
    text = cv2.bitwise_and(ink, cv2.bitwise_not(cv2.bitwise_or(rulings.horizontal, rulings.vertical)))
    straightened = unbend_rules(bent, 150, ink, rulings, find_tables(ink, rulings, 150, text=text))
    assert straightened is not None
    assert [spans(g.cells) for g in straightened[-1]] == [_truth(page)]


@pytest.mark.parametrize("seed", [1, 5])
def test_a_bent_sheet_has_its_rules_straightened(seed):
    from service.scan.grid import bend_maps

    page = make_page(seed=seed)
    flat = gray_of(page)
    assert bend_maps(find_rulings(binarize(flat), 150), 150, binarize(flat)) is None  # straight rules stay put
    h, w = flat.shape
    # rows bend by a wave and a bulge of 1-2% of the page, columns by a gentler wave: the straight grid loses them
    curl = Curl(w, h, wave_y=0.012 * h, freq_y=0.8, phase_y=0.5, bulge=0.015 * h, centre=0.5, wave_x=0.006 * w,
                freq_x=0.6, phase_x=1.0)
    bent = curl.apply(flat, 255)
    _straightened_to_truth(bent, page)


@pytest.mark.parametrize("seed", [1, 5])
def test_a_sheet_curled_up_at_one_side_has_its_rules_straightened(seed):
    # The right side of the sheet curls up (its rules bend by up to 4% of the page): the straight grid keeps the flat
    # side's columns only, and fits the rules it found about as well as the unbent grid fits its own, but the unbent
    # page holds far more rule pixels on its grid. Kept only where the fit got 0.05 better, it was thrown away (a real
    # layout's warped scan lost 66 of 200 fields).
    page = make_page(seed=seed)
    flat = gray_of(page)
    h, w = flat.shape
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    lift = 0.04 * h * np.clip((xs - 0.55 * w) / (0.45 * w), 0, None) ** 2
    bent = cv2.remap(flat, xs, ys + lift, cv2.INTER_LINEAR, borderValue=255)
    _straightened_to_truth(bent, page)


# -- the scan command on a real layout ---------------------------------------------------------------------------
@pytest.mark.skipif(not (REAL / "js_huaian_szf_2024.pdf").exists(), reason="the real PDF is not here")
def test_scan_command_on_a_real_pdf(tmp_path):
    pdf, truth_path = REAL / "js_huaian_szf_2024.pdf", REAL / "js_huaian_szf_2024.truth.json"
    out = subprocess.run([sys.executable, "-m", "training.synth", "scan", str(pdf), "--truth", str(truth_path),
                          "--levels", "heavy", "--dpi", "100", "--seed", "4", "--out", str(tmp_path), "--quiet"],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)["scans"] == 1
    folder = tmp_path / "heavy"
    stem = "js_huaian_szf_2024-heavy"
    record = json.loads((folder / f"{stem}.truth.json").read_text(encoding="utf-8"))
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    assert record["degradation"]["level"] == "heavy" and record["degradation"]["dpi"] == 100
    report = record["report"]
    assert (report["template"], report["year"]) == (truth["template"], truth["year"])
    flat = {f"{s}.{r}.{c}": v for s in ("proactive_disclosure", "requests", "review_and_litigation")
            for r, cols in report[s].items() for c, v in cols.items()}
    assert flat == truth["fields"]
    cells = json.loads((folder / f"{stem}.scan.cells.json").read_text(encoding="utf-8"))
    assert {c["key"] for c in cells["cells"]} == set(truth["fields"])
    # the scan has no text layer, and each box holds the printed value's ink
    from eval.cases import load_cases

    (case,) = load_cases(tmp_path)
    assert case.kind == "scan" and case.level == "heavy" and case.cells
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(folder / f"{stem}.pdf"))
    pages = {}
    inked = 0
    for c in cells["cells"]:
        if c["page"] not in pages:
            gray = cv2.cvtColor(doc[c["page"] - 1].render(scale=100 / 72).to_numpy()[:, :, :3], cv2.COLOR_BGR2GRAY)
            paper, ink = float(np.percentile(gray, 90)), float(np.percentile(gray, 1))
            pages[c["page"]] = (gray, paper - 0.4 * (paper - ink))
        gray, dark = pages[c["page"]]
        x, y, w, h = (int(round(v)) for v in c["box"])
        inner = gray[y + h // 4: y + 3 * h // 4, x + 3: x + w - 3]
        inked += inner.size > 0 and float(inner.min()) < dark
    assert inked >= 0.95 * len(cells["cells"])


# -- alternative readings for the decoder ------------------------------------------------------------------------
def test_ctc_top_k_sums_paths_and_ranks_readings():
    import itertools

    chars = ["blank", "1", "7"]
    probs = np.array([[0.1, 0.5, 0.4], [0.1, 0.5, 0.4], [0.9, 0.05, 0.05]])
    exact: dict[str, float] = {}
    for path in itertools.product(range(3), repeat=3):  # every frame path, collapsed the CTC way
        text = "".join(chars[c] for i, c in enumerate(path) if c and (i == 0 or path[i - 1] != c))
        exact[text] = exact.get(text, 0.0) + float(np.prod([probs[i, c] for i, c in enumerate(path)]))
    top = ctc_top_k(probs, chars, k=3)
    ranked = sorted(exact.items(), key=lambda kv: -kv[1])[:3]
    assert [t for t, _ in top] == [t for t, _ in ranked] and top[0][0] == "1"
    assert all(p == pytest.approx(q, abs=1e-4) for (_, p), (_, q) in zip(top, ranked))
    assert top[0][1] > top[1][1] > top[2][1]
    joined = combine_alternatives([[("1", 0.6), ("7", 0.4)], [("0", 0.9), ("8", 0.1)]])
    assert joined[0] == ("10", 0.54) and ("78", 0.04) in joined


def _digit_crop(text: str, erase: tuple[int, int, int, int] | None = None) -> np.ndarray:
    font = ImageFont.truetype(FONT, 40)
    img = Image.new("L", (40 + 25 * len(text), 60), 255)
    ImageDraw.Draw(img).text((20, 8), text, font=font, fill=0)
    a = np.array(img)
    if erase:
        x0, y0, x1, y1 = erase
        a[y0:y1, x0:x1] = 255
    return a


def _half_erased_eight() -> np.ndarray:
    """An 8 with the upper left of its strokes worn away: it reads as a 3 about as much as an 8."""
    a = _digit_crop("8")
    cols = np.flatnonzero((a < 128).any(axis=0))
    rows = np.flatnonzero((a < 128).any(axis=1))
    a[rows[0]:rows[0] + int(0.55 * (rows[-1] - rows[0])) + 1, cols[0]:cols[0] + int(0.3 * (cols[-1] - cols[0])) + 1] = 255
    return a


@pytest.fixture(scope="module")
def engine():
    from models.ocr import RapidOcrEngine

    return RapidOcrEngine()


def test_an_ambiguous_crop_gets_alternatives_and_a_clear_one_none(engine):
    (clear,) = engine.read([_digit_crop("38")])
    (doubtful,) = engine.read([_half_erased_eight()])
    assert clear.digits == "38" and clear.digit_alternatives == []
    alts = doubtful.digit_alternatives
    texts = [t for t, _ in alts]
    assert len(alts) >= 2 and doubtful.digits == texts[0]
    assert {"3", "8"} <= set(texts[:3])
    assert all(a[1] >= b[1] for a, b in zip(alts, alts[1:])) and sum(p for _, p in alts) <= 1.0 + 1e-6


class _Engine:
    """Readings as a recogniser gives them, one per crop, in order."""

    def __init__(self, readings):
        self.readings = readings

    def read(self, crops):
        return self.readings[: len(crops)]


def test_doubtful_number_cells_carry_their_alternatives_into_the_document():
    from service.scan.grid import GridCell, Grid
    from service.scan.reader import _table_items

    gray = np.full((200, 400), 255, np.uint8)
    font = ImageFont.truetype(FONT, 28)
    img = Image.fromarray(gray)
    d = ImageDraw.Draw(img)
    cells = []
    for r in range(3):
        for c in range(2):
            cells.append(GridCell(r, c, 1, 1, 10 + 180 * c, 10 + 60 * r, 190 + 180 * c, 70 + 60 * r))
            d.text((60 + 180 * c, 22 + 60 * r), str(r + c), font=font, fill=0)
    gray = np.asarray(img)
    grid = Grid(10, 10, 370, 190, [10, 70, 130, 190], [10, 190, 370], cells)
    ink = binarize(gray)
    readings = [Reading(str(i), 0.99, str(i), 0.99) for i in range(6)]
    readings[3] = Reading("3", 0.6, "3", 0.6, [("3", 0.6), ("8", 0.35)])
    out = read_grids(gray, ink, [grid], 0, 150, _Engine(readings))
    assert sum(1 for ct in out if ct.alternatives) == 1
    items = _table_items(out, 1)
    doc_cells = [c for it in items for c in it.line.cells]
    doubtful = [c for c in doc_cells if c.alternatives]
    assert len(doubtful) == 1 and doubtful[0].text == "3" and doubtful[0].alternatives == [("3", 0.6), ("8", 0.35)]


def test_the_second_look_keeps_a_doubtful_numbers_alternatives():
    from service.scan.page_ocr import PageOcrReader

    class Detector:
        def __call__(self, image, **flags):
            class Found:
                boxes = [np.array([[10, 10], [90, 10], [90, 40], [10, 40]]),
                         np.array([[120, 10], [160, 10], [160, 40], [120, 40]])]
            return Found()

    reader = PageOcrReader.__new__(PageOcrReader)
    reader.detector = Detector()
    reader.engine = _Engine([Reading("不予公开", 0.99, "1", 0.5, [("1", 0.5), ("7", 0.4)]),  # a label: none kept
                             Reading("3", 0.6, "3", 0.6, [("3", 0.6), ("8", 0.35)])])
    boxes = reader.boxes(np.full((60, 200), 255, np.uint8))
    assert [b[4] for b in boxes] == ["不予公开", "3"]
    assert boxes[0][6] == [] and boxes[1][6] == [("3", 0.6), ("8", 0.35)]


def _page_grids(pdf: Path, page: int) -> list[tuple[int, int]]:
    """(rows, columns) of each table the reader finds on a page: straightened, a photographed frame squared up."""
    from service.document import Source
    from service.scan.cells import text_ink
    from service.scan.grid import find_tables, table_quad
    from service.scan.raster import load_pages, straighten, unwarp

    gray, dpi = load_pages(Source(pdf.name, pdf.read_bytes(), "pdf"), 150, 60)[page - 1]
    p = straighten(gray, page, dpi)
    quad = table_quad(find_rulings(binarize(p.gray), p.dpi), p.dpi)
    if quad is not None:
        p.gray, _ = unwarp(p.gray, quad)
    ink = binarize(p.gray)
    rulings = find_rulings(ink, p.dpi)
    text = text_ink(ink, cv2.bitwise_or(rulings.horizontal, rulings.vertical))
    return [(g.n_rows, g.n_cols) for g in find_tables(ink, rulings, p.dpi, text=text)]


@pytest.mark.skipif(not (REAL / "js_huaian_szf_2024.pdf").exists(), reason="the real PDF is not here")
def test_a_streak_on_a_copier_scan_of_a_real_layout_leaves_its_tables_whole(tmp_path):
    # real-layout-scans heavy-2 (copier) page 5, photographed askew: a streak down the page joined the requests
    # table to the review table below it, bent the frame's outline (so the page was not squared up) and hid a column
    # rule it ran along. The clean scan's tables are the measure.
    pdf, truth = REAL / "js_huaian_szf_2024.pdf", REAL / "js_huaian_szf_2024.truth.json"
    for level, copies in (("light", 1), ("heavy", 2)):
        subprocess.run([sys.executable, "-m", "training.synth", "scan", str(pdf), "--truth", str(truth), "--levels",
                        level, "--copies", str(copies), "--seed", "2029", "--out", str(tmp_path), "--quiet"],
                       cwd=ROOT, capture_output=True, check=True)
    clean = next((tmp_path / "light").glob("*.pdf"))
    copier = tmp_path / "heavy" / "js_huaian_szf_2024-heavy-2.pdf"
    assert len(_page_grids(clean, 5)) == 2
    assert _page_grids(copier, 5) == _page_grids(clean, 5)


@pytest.mark.skipif(not (REAL / "js_huaian_szf_2024.pdf").exists(), reason="the real PDF is not here")
def test_a_faint_photo_of_a_real_layout_is_deepened_until_its_rules_are_found(tmp_path, monkeypatch):
    # The factory's third heavy scan of seed 3131 (the phone profile at 200 DPI), page 4, photographed
    # overexposed: the light font's ink lies some 45 grey levels under the paper, and the page-wide level kept only
    # bits of its column rules. Deepened, the requests table is found whole: 16 rows of 3 label and 7 value columns.
    pdf, truth = REAL / "js_huaian_szf_2024.pdf", REAL / "js_huaian_szf_2024.truth.json"
    subprocess.run([sys.executable, "-m", "training.synth", "scan", str(pdf), "--truth", str(truth), "--levels",
                    "heavy", "--copies", "3", "--seed", "3131", "--out", str(tmp_path), "--quiet"],
                   cwd=ROOT, capture_output=True, check=True)
    phone = tmp_path / "heavy" / "js_huaian_szf_2024-heavy-3.pdf"
    assert (16, 10) in _page_grids(phone, 4)
    monkeypatch.setattr(raster, "deepen", lambda g: g)
    assert (16, 10) not in _page_grids(phone, 4)
