"""Reading of table cells (service/scan/cells.py): what a cell's crop is, and what its reading is taken for."""
from __future__ import annotations

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from models.ocr import Reading
from service.scan.cells import cell_crops, read_grids
from service.scan.grid import Grid, GridCell
from service.scan.raster import binarize
from tests.test_scan_render import FONT


class _Engine:
    """Readings as a recogniser gives them, one per crop, in order."""

    def __init__(self, readings):
        self.readings = readings

    def read(self, crops):
        assert len(crops) == len(self.readings), "one reading per crop"
        return self.readings


def _table(texts: list[list[str]], width: int = 90, height: int = 50) -> tuple[np.ndarray, Grid]:
    """A page with an unruled grid of cells, each cell's text drawn in it."""
    rows, cols = len(texts), len(texts[0])
    img = Image.new("L", (cols * width + 20, rows * height + 20), 255)
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(FONT, 20)
    cells = []
    for r, row in enumerate(texts):
        for c, text in enumerate(row):
            x0, y0 = 10 + c * width, 10 + r * height
            cells.append(GridCell(r, c, 1, 1, x0, y0, x0 + width, y0 + height))
            draw.text((x0 + 12, y0 + 14), text, font=font, fill=0)
    xs = [10 + c * width for c in range(cols + 1)]
    ys = [10 + r * height for r in range(rows + 1)]
    return np.asarray(img), Grid(xs[0], ys[0], xs[-1], ys[-1], ys, xs, cells)


def test_a_blurred_word_in_a_heading_row_is_no_number():
    # The review table's heading row: words over every value column. A blurred 总计 reads "01" at low confidence;
    # forced to digits it became a value and shifted the row of values under it by one cell.
    words = ["结果维持", "结果纠正", "其他结果", "总计", "审结"]
    gray, grid = _table([words, ["复议", "72", "64", "178", "351"], ["诉讼", "13", "4", "8", "26"]])
    readings = [Reading(w, 0.9, "", 0.5) for w in words]
    readings[3] = Reading("01", 0.29, "01", 0.3, [("01", 0.11), ("08", 0.09)])
    readings += [Reading("复议", 0.95, "", 0.5)] + [Reading(v, 0.99, v, 0.99) for v in ("72", "64", "178", "351")]
    readings += [Reading("诉讼", 0.95, "", 0.5)] + [Reading(v, 0.99, v, 0.99) for v in ("13", "4", "8", "26")]
    out = {(ct.cell.row, ct.cell.col): ct for ct in read_grids(gray, binarize(gray), [grid], 0, 150,
                                                               _Engine(readings))}
    assert out[(0, 3)].text == "" and not out[(0, 3)].numeric and not out[(0, 3)].alternatives
    assert out[(0, 1)].text == "结果纠正"
    assert out[(1, 3)].text == "178" and out[(1, 3)].numeric
    assert out[(2, 4)].text == "26" and out[(2, 4)].numeric


def test_a_sure_number_in_a_row_of_words_stays_a_number():
    gray, grid = _table([["行政许可", "行政处罚", "行政强制", "5"], ["a", "1", "2", "3"]])
    readings = [Reading(w, 0.95, "", 0.5) for w in ("行政许可", "行政处罚", "行政强制")]
    readings += [Reading("5", 0.99, "5", 0.99)]
    readings += [Reading("a", 0.9, "", 0.5)] + [Reading(v, 0.99, v, 0.99) for v in "123"]
    out = {(ct.cell.row, ct.cell.col): ct for ct in read_grids(gray, binarize(gray), [grid], 0, 150,
                                                               _Engine(readings))}
    assert out[(0, 3)].text == "5" and out[(0, 3)].numeric


def test_the_edge_of_a_side_rule_left_in_a_cell_is_not_read():
    # A thick side rule is painted out a little short: a 1 px sliver stays along the cell's inner edge, and the
    # recogniser reads it, alone in its crop, as a confident "1".
    gray, grid = _table([["", "1"]])
    gray = gray.copy()
    empty, digit = grid.cells
    inset = 3  # cell_crops' inset at 150 DPI (2 px) and one more: inside the crop region
    x = int(empty.x1) - inset
    gray[int(empty.y0) + 6:int(empty.y1) - 6, x:x + 1] = 0
    assert cell_crops(gray, binarize(gray), empty, 0, 150) == []
    # a real 1, as thin, a cell's padding away from the rule, is read
    assert len(cell_crops(gray, binarize(gray), digit, 0, 150)) == 1


def test_a_word_in_a_heading_row_read_as_a_dash_is_no_value():
    # "尚未审结" blurred reads "–" at low confidence: taken as "not applicable", it started the row of numbers
    # under it one cell early, and every value of the review table went one column right.
    words = ["结果维持", "结果纠正", "其他结果", "尚未审结"]
    gray, grid = _table([words, ["72", "64", "178", "37"]])
    readings = [Reading(w, 0.9, "", 0.5) for w in words]
    readings[3] = Reading("–", 0.24, "-", 0.3)
    readings += [Reading(v, 0.99, v, 0.99) for v in ("72", "64", "178", "37")]
    out = {(ct.cell.row, ct.cell.col): ct for ct in read_grids(gray, binarize(gray), [grid], 0, 150,
                                                               _Engine(readings))}
    assert out[(0, 3)].text == ""
    assert out[(1, 0)].text == "72" and out[(1, 3)].text == "37"


def _ruled_page(width: int = 900, height: int = 700) -> tuple[np.ndarray, list[int], list[int]]:
    """A ruled table (2 px rules) of 4 x 4 cells on white paper: the page, its column and row lines."""
    gray = np.full((height, width), 250, dtype=np.uint8)
    xs, ys = [100, 400, 550, 700, 850], [100, 170, 240, 310, 380]
    for x in xs:
        gray[ys[0]:ys[-1] + 2, x:x + 2] = 30
    for y in ys:
        gray[y:y + 2, xs[0]:xs[-1] + 2] = 30
    return gray, xs, ys


def _text(gray: np.ndarray, xy: tuple[int, int], text: str, size: int = 20, fill: int = 20) -> np.ndarray:
    img = Image.fromarray(gray)
    ImageDraw.Draw(img).text(xy, text, font=ImageFont.truetype(FONT, size), fill=fill)
    return np.asarray(img).copy()


def _fax_table(xs: list[int], ys: list[int], labels: list[str], values_at: list[int], size: int, bleed: int,
               shape: tuple[int, int] = (700, 800)) -> np.ndarray:
    """A table ruled at xs and ys (2 px rules) as a 100 DPI fax prints it: each row's label, a "0" at each x of
    values_at, black, the ink bled by `bleed` px."""
    gray = np.full(shape, 250, dtype=np.uint8)
    for x in xs:
        gray[ys[0]:ys[-1] + 2, x:x + 2] = 20
    for y in ys:
        gray[y:y + 2, xs[0]:xs[-1] + 2] = 20
    for y, label in zip(ys, labels):
        gray = _text(gray, (xs[0] + 8, y + 3), label, size=size, fill=0)
        for x in values_at:
            gray = _text(gray, (x, y + 3), "0", size=size, fill=0)
    return cv2.erode(gray, np.ones((bleed, bleed), np.uint8))


def _ruled(gray: np.ndarray, dpi: float):
    """The page's rulings and the tables found by them."""
    from service.scan.grid import find_rulings, find_tables

    ink = binarize(gray)
    rulings = find_rulings(ink, dpi)
    return rulings, find_tables(ink, rulings, dpi, text=cv2.bitwise_and(ink, cv2.bitwise_not(rulings.mask())))


def test_a_streak_through_a_cell_is_kept_out_of_its_text_line():
    # A copier's streak runs down the whole page, through a label cell: left in the cell's ink it stretched the
    # label's text line to the cell's full height, and the label was read as noise.
    from service.scan.cells import clean_page, text_ink
    from service.scan.grid import find_rulings

    gray, xs, ys = _ruled_page()
    for y in ys[:-1]:
        gray = _text(gray, (120, y + 25), "行政许可决定数量")
        gray = _text(gray, (420, y + 25), "447")
    gray[20:680, 209:212] = 40  # the streak: top of the page to the bottom, through the label
    ink = binarize(gray)
    rulings = find_rulings(ink, 150)
    assert rulings.cut is not None and rulings.cut[ys[1] + 35, 210] > 0  # cut where it crosses the text
    mask = rulings.mask()
    clean, text = clean_page(gray, mask, rulings.cut), text_ink(ink, mask)
    label = GridCell(1, 0, 1, 1, xs[0], ys[1], xs[1], ys[2])
    crops = cell_crops(clean, text, label, 0, 150)
    assert len(crops) == 1
    x0, y0, x1, y1 = crops[0].box
    assert y1 - y0 <= 30 and x0 < 130 and x1 > 260  # one line of text, all of it
    assert clean[ys[1] + 8, 210] > 200  # filled in from the paper beside it


def test_a_dark_copys_blotches_stay_out_of_a_cells_text_line():
    # A dark copy's patchy toner: grey grain around the number, picked up by the page's binarisation in specks and
    # patches a little darker than the paper. In the crop they stretched the line over the cell and read as
    # characters ("8828卷二分六卷" for 88283).
    rng = np.random.default_rng(3)
    gray, xs, ys = _ruled_page()
    gray = _text(gray, (420, 195), "88283", fill=40)
    patch = (rng.random((60, 90)) < 0.25) * rng.integers(45, 70, (60, 90))  # beside the number, over the cell
    region = gray[175:235, 500:590].astype(int)
    gray[175:235, 500:590] = np.clip(region - patch, 0, 255).astype(np.uint8)
    cell = GridCell(1, 1, 1, 1, xs[1], ys[1], xs[2], ys[2])
    crops = cell_crops(gray, binarize(gray), cell, 0, 150)
    assert len(crops) == 1
    x0, y0, x1, y1 = crops[0].box
    assert y1 - y0 <= 26 and x1 <= 490  # the number only


def test_a_line_of_blurred_bold_characters_is_no_rule():
    # A phone photo blurs a label's characters into one bar through the middle of the line, longer than the
    # long-stroke test allows text: kept as a rule, the label was painted out of the page.
    from service.scan.grid import find_rulings

    gray, xs, ys = _ruled_page()
    gray[202:209, 130:330] = 60  # the bar: 7 px thick where the table's rules are 2, meeting no column rule
    gray = _text(gray, (130, 185), "其他法律行政法规禁止公开", size=18)
    rulings = find_rulings(binarize(gray), 150)
    assert not rulings.horizontal[202:209, 150:310].any()
    assert rulings.horizontal[ys[1]:ys[1] + 2, 150:310].all()  # the rules stay


def test_a_doubtful_line_under_a_sure_number_is_no_part_of_it():
    # A blotch under "31" in a value cell is a second text line; read "924" at low confidence it made 31924.
    gray, grid = _table([["规章", "31"], ["行政许可", "7"]])
    readings = [Reading("规章", 0.95, "", 0.5), Reading("31", 0.997, "31", 0.998), Reading("924", 0.39, "924", 0.4)]
    readings += [Reading("行政许可", 0.95, "", 0.5), Reading("7", 0.99, "7", 0.99)]
    crops = iter([[None], [None, None], [None], [None]])

    def two_lines(gray_clean, ink_clean, cell, owner, dpi, bilevel=False):
        from service.scan.cells import Crop
        return [Crop(np.zeros((10, 10), np.uint8), owner, (0, 0, 1, 1)) for _ in next(crops)]

    import service.scan.cells as cells
    original = cells.cell_crops
    cells.cell_crops = two_lines
    try:
        out = {(ct.cell.row, ct.cell.col): ct for ct in read_grids(gray, binarize(gray), [grid], 0, 150,
                                                                   _Engine(readings))}
    finally:
        cells.cell_crops = original
    assert out[(0, 1)].text == "31" and out[(1, 1)].text == "7"


def test_a_character_cut_across_by_one_blank_row_is_one_line():
    from service.scan.cells import line_bands

    ink = np.zeros((50, 30), np.uint8)
    ink[10:16, 5:15] = 255  # the top of a "5"
    ink[17:22, 5:15] = 255  # its bowl, one blank row below
    assert len(line_bands(ink, 4, 21)) == 1
    ink[30:42, 5:15] = 255  # a line of its own, a few rows further down
    assert len(line_bands(ink, 4, 21)) == 2


def test_specks_far_from_the_text_are_dropped_but_not_a_faint_words_pieces():
    from service.scan.cells import line_bands

    ink = np.zeros((60, 200), np.uint8)
    ink[20:36, 10:40] = 255  # a number in large pieces
    ink[50:53, 150:154] = 255  # a dark speck of a blotch, far below it
    assert line_bands(ink, 8, 21) == [(10, 20, 40, 36)]
    # a faint copy breaks a word into small pieces beside a bolder "1.": they are the text, not specks
    faint = np.zeros((60, 200), np.uint8)
    faint[20:30, 5:9] = 255
    for x in range(30, 190, 20):
        faint[22:25, x:x + 5] = 255
    assert line_bands(faint, 8, 21) == [(5, 20, 175, 30)]


def test_a_lone_zero_in_a_wide_value_cell_read_as_a_letter_is_a_number():
    # Section 二 of a 2021 table gives a row one value across three columns; its "0" read "O" was taken for text and
    # the row had no number.
    gray, grid = _table([["行政许可", "0"], ["行政处罚", "12"]])
    wide = grid.cells[1]
    grid.cells[1] = GridCell(wide.row, wide.col, 1, 3, wide.x0, wide.y0, wide.x1, wide.y1)
    readings = [Reading("行政许可", 0.95, "", 0.5), Reading("O", 0.71, "0", 0.9),
                Reading("行政处罚", 0.95, "", 0.5), Reading("12", 0.99, "12", 0.99)]
    out = {(ct.cell.row, ct.cell.col): ct for ct in read_grids(gray, binarize(gray), [grid], 0, 150,
                                                               _Engine(readings))}
    assert out[(0, 1)].text == "0" and out[(0, 1)].numeric
    assert out[(0, 0)].text == "行政许可" and not out[(0, 0)].numeric


def test_the_last_two_rows_of_a_table_carried_onto_the_next_page_keep_their_column_rules():
    # Two ruled rows alone at the top of a page: each column rule is only two rows long, and the three row rules it
    # crosses were a fifth of its length, taken for text beside it. The column rules were dropped, the middle row
    # rule then taken for a streak, and the rows read as prose.
    from service.scan.grid import find_rulings, find_tables

    gray = np.full((400, 1000), 250, dtype=np.uint8)
    xs, ys = [100, 400, 480, 560, 640, 720, 800, 880], [100, 128, 156]
    for x in xs:  # rules blurred to 5 px, as a 150 DPI scan draws them
        gray[ys[0]:ys[-1] + 5, x:x + 5] = 30
    for y in ys:
        gray[y:y + 5, xs[0]:xs[-1] + 5] = 30
    for y in ys[:-1]:
        gray = _text(gray, (110, y + 8), "四、结转下年度继续办理", size=13)
        for x in xs[1:-1]:
            gray = _text(gray, (x + 30, y + 8), "0", size=13)
    ink = binarize(gray)
    rulings = find_rulings(ink, 150)
    for x in xs[1:-1]:
        assert rulings.vertical[ys[0] + 6:ys[-1] - 2, x:x + 5].any(axis=1).all()
    grids = find_tables(ink, rulings, 150, text=cv2.bitwise_and(ink, cv2.bitwise_not(rulings.mask())))
    assert [(g.n_rows, g.n_cols) for g in grids] == [(2, len(xs) - 1)]


def test_rules_between_rows_of_a_faxs_bled_characters_are_no_streaks():
    # A dark 100 DPI fax: characters bled into blobs fill each row and touch the rules above and below. Pressed on
    # from both sides, every row rule was taken for a streak through text and cut away, and the requests table was
    # read as a few tall rows of run-together cells. A streak runs through one row's characters; these rules lie
    # between two rows of them.
    xs, ys = [60, 740], list(range(80, 80 + 22 * 20, 22))
    gray = _fax_table(xs, ys, ["行政机关不予公开政府信息"] * (len(ys) - 1), list(range(420, 720, 50)), 14, 3)
    rulings, grids = _ruled(gray, 100)
    for y in ys[1:-1]:
        assert rulings.horizontal[y - 2:y + 4, 300:700].any(axis=0).mean() > 0.9, y
    assert [g.n_rows for g in grids] == [len(ys) - 1]


def test_two_rows_whose_rule_a_fax_lost_are_cut_apart_where_their_cells_text_parts():
    # A fax faded one row rule away: two rows of numbers became one tall row, each value cell holding two numbers
    # one above the other, read as one ("1" over "0": "10"). A row whose label wraps over two lines keeps its
    # numbers on one line, and stays one row.
    from service.scan.grid import find_rulings, find_tables

    gray = np.full((600, 1000), 250, dtype=np.uint8)
    xs, ys = [100, 400, 500, 600, 700, 800], [100, 140, 180, 220, 260, 340, 380]
    lost = 220
    for x in xs:
        gray[ys[0]:ys[-1] + 3, x:x + 3] = 30
    for y in ys:
        if y != lost:
            gray[y:y + 3, xs[0]:xs[-1] + 3] = 30
    for y0, y1 in zip(ys, ys[1:]):
        if y1 - y0 > 40:  # the wrapped label: two lines, one number per cell
            gray = _text(gray, (110, y0 + 8), "行政机关不予公开", size=20)
            gray = _text(gray, (110, y0 + 42), "政府信息", size=20)
            for x in xs[1:-1]:
                gray = _text(gray, (x + 40, y0 + 25), "0", size=20)
        else:
            gray = _text(gray, (110, y0 + 8), "本年新收申请数量", size=20)
            for x in xs[1:-1]:
                gray = _text(gray, (x + 40, y0 + 8), "1", size=20)
    ink = binarize(gray)
    rulings = find_rulings(ink, 150)
    grids = find_tables(ink, rulings, 150, text=cv2.bitwise_and(ink, cv2.bitwise_not(rulings.mask())))
    assert len(grids) == 1
    grid = grids[0]
    assert grid.n_rows == len(ys) - 1  # the lost rule's row cut in two, the wrapped label's row left whole
    assert any(abs(r - lost) <= 8 for r in grid.rows)
    assert all(c.rowspan == 1 for c in grid.cells)


def test_a_heading_row_over_one_value_whose_rule_a_fax_lost_is_cut_from_the_row_under_it():
    # Section 二's small tables under the one of three values, in its columns: a label and one value, the value's
    # cell over the three columns. The rule under such a heading row faded: "信息内容" over a row label and
    # "本年处理决定数量" over its number were read as one cell each, the number joined to the heading. A label
    # wrapped over two lines beside a number on one line stays one row.
    from service.scan.grid import find_rulings, find_tables

    gray = np.full((560, 900), 250, dtype=np.uint8)
    xs, ys = [100, 400, 530, 660, 790], [100, 140, 180, 220, 260, 300, 380, 420]
    lost, split = 220, 180  # the inner column rules end at `split`: the three value columns merged below
    for x in xs:
        gray[ys[0]:(ys[-1] if x in (xs[0], xs[-1]) else split) + 3, x:x + 3] = 30
    for y in ys:
        if y != lost:
            gray[y:y + 3, xs[0]:xs[-1] + 3] = 30
    gray = _text(gray, (110, ys[0] + 8), "信息内容", size=20)
    for x, v in zip(xs[1:], ("1", "0", "11")):
        gray = _text(gray, (x + 40, ys[1] + 8), v, size=20)
    gray = _text(gray, (110, ys[1] + 8), "规章", size=20)
    rows = [("信息内容", "本年处理决定数量"), ("行政许可", "447228"), ("行政处罚", "3985"), ("行政强制", "88"), None,
            ("行政诉讼", "7")]
    for y0, row in zip(ys[2:], rows):
        if row is None:  # the wrapped label
            gray = _text(gray, (110, y0 + 8), "行政事业性收费", size=20)
            gray = _text(gray, (110, y0 + 42), "金额", size=20)
            gray = _text(gray, (xs[1] + 40, y0 + 25), "961", size=20)
            continue
        gray = _text(gray, (110, y0 + 8), row[0], size=20)
        gray = _text(gray, (xs[1] + 40, y0 + 8), row[1], size=20)
    ink = binarize(gray)
    rulings = find_rulings(ink, 150)
    grids = find_tables(ink, rulings, 150, text=cv2.bitwise_and(ink, cv2.bitwise_not(rulings.mask())))
    assert len(grids) == 1
    grid = grids[0]
    assert grid.n_rows == len(ys) - 1
    assert any(abs(r - lost) <= 8 for r in grid.rows)


def test_a_column_of_zeros_on_a_fax_is_no_column_rule():
    # At 100 DPI a column of "0"s, one per row, bled a little: the left sides of the digits and the row rules
    # between them close into one long vertical stroke, anchored on the rules, which split every value cell
    # through its digit. A rule's ink runs on; this stroke's breaks off above and below every digit.
    xs, ys = [60, 300, 400, 500, 600, 700], list(range(80, 80 + 20 * 22, 20))
    gray = _fax_table(xs, ys, ["行政机关"] * (len(ys) - 1), [x + 45 for x in xs[1:-1]], 13, 2)
    _, grids = _ruled(gray, 100)
    assert [(g.n_rows, g.n_cols) for g in grids] == [(len(ys) - 1, len(xs) - 1)]


def test_a_one_digit_cell_read_unlike_its_lookalikes_on_the_page_is_read_as_they_are():
    # A fax's "0" read "6", surely: every "0" of the page is the same printed glyph, and the misread one looks like
    # the other "0"s, not like the page's real "6"s. It is read "0", with "6" kept as its alternative.
    from service.scan.cells import CellText, Crop, _agree_with_lookalikes

    def glyph(ch: str, shift: int) -> np.ndarray:
        img = _text(np.full((24, 20), 255, dtype=np.uint8), (4 + shift % 2, 2), ch, size=16, fill=0)
        return np.where(img < 160, 0, 255).astype(np.uint8)  # a fax's black and white

    printed = ["0"] * 7 + ["6"] * 5
    read = ["0"] * 6 + ["6"] + ["6"] * 5  # the seventh "0" misread
    cells = [CellText(0, GridCell(i, 1, 1, 1, 0, 0, 10, 10), r, 0.97, True) for i, r in enumerate(read)]
    crops = {i: Crop(glyph(p, i), i, (0, 0, 20, 24)) for i, p in enumerate(printed)}
    _agree_with_lookalikes(cells, crops)
    assert [c.text for c in cells] == printed
    assert cells[6].alternatives[0][0] == "0" and cells[6].alternatives[1][0] == "6"
    assert all(not c.alternatives for i, c in enumerate(cells) if i != 6)


def test_the_aligned_first_strokes_of_two_labels_on_a_fax_are_no_column_rule():
    # Two rows of a 100 DPI fax whose labels both begin with 行: its left strokes, one above the other and closed
    # over the row rule between them, made a stroke two rows long crossing a rule, kept as the column rule of a
    # table's last two rows carried onto a page. It split each label in two ("1" | "政许可"). A rule's ink runs on;
    # these strokes break off above and below the characters.
    xs, ys = [60, 260, 420, 580, 740], [100, 120, 140]
    gray = _fax_table(xs, ys, ["行政许可", "行政处罚"], [x + 60 for x in xs[1:-1]], 13, 2, shape=(400, 800))
    _, grids = _ruled(gray, 100)
    assert [(g.n_rows, g.n_cols) for g in grids] == [(2, len(xs) - 1)]


def test_a_light_copys_grey_digits_reach_the_recogniser_black_on_white():
    # A light copy prints grey on grey paper; the recogniser learned black on white and misread such digits (0 as 6,
    # 25 as 26). Each crop is stretched from its darkest ink to its paper.
    class Capture(_Engine):
        def read(self, crops):
            self.crops = crops
            return super().read(crops)

    img = Image.new("L", (300, 70), 215)
    ImageDraw.Draw(img).text((22, 24), "25", font=ImageFont.truetype(FONT, 20), fill=150)
    ImageDraw.Draw(img).text((112, 24), "0", font=ImageFont.truetype(FONT, 20), fill=150)
    gray = np.asarray(img)
    cells = [GridCell(0, c, 1, 1, 10 + 90 * c, 10, 100 + 90 * c, 60) for c in range(3)]
    grid = Grid(10, 10, 280, 60, [10, 60], [10, 100, 190, 280], cells)
    engine = Capture([Reading(t, 0.99, t, 0.99) for t in ("25", "0")])
    read_grids(gray, binarize(gray), [grid], 0, 150, engine)
    assert len(engine.crops) == 2  # the empty third cell has no crop
    for crop in engine.crops:
        assert crop.min() <= 10 and np.percentile(crop, 90) >= 245


def test_a_grey_streak_through_a_column_of_zeros_is_lifted_and_the_zeros_stay():
    # A dirty drum's grey streak runs down a column of numbers, through each "0". Filled in from beside it, the zeros
    # came out as bars and "8"s; divided out along its length, the ink under it stays and the streak is paper.
    from service.scan.cells import cleaned, text_ink
    from service.scan.grid import find_rulings

    gray, xs, ys = _ruled_page()
    for y in ys[:-1]:
        gray = _text(gray, (120, y + 25), "行政许可决定数量")
        gray = _text(gray, (460, y + 22), "0", size=24, fill=60)
    x = 465
    glyph = gray[ys[1] + 15:ys[2] - 15, x - 8:x + 18].copy()
    streak = np.zeros_like(gray, dtype=bool)
    streak[20:680, x:x + 4] = True
    gray = np.where(streak, (gray * 0.5).astype(np.uint8), gray)  # a grey streak: it darkens what it crosses
    ink = binarize(gray)
    rulings = find_rulings(ink, 150)
    assert rulings.cut is not None and rulings.cut[ys[1] + 35, x + 1] > 0
    mask = rulings.mask()
    clean, text = cleaned(gray, mask, text_ink(ink, mask), rulings.cut, 150)
    got = clean[ys[1] + 15:ys[2] - 15, x - 8:x + 18]
    on_streak = streak[ys[1] + 15:ys[2] - 15, x - 8:x + 18]
    # The digit's pixels under the streak are as dark as printed, the streak's pixels off the digit are paper.
    assert np.abs(got[on_streak].astype(int) - glyph[on_streak].astype(int)).mean() < 12
    cell = GridCell(1, 1, 1, 1, xs[1], ys[1], xs[2], ys[2])
    crops = cell_crops(clean, text, cell, 0, 150)
    assert len(crops) == 1
    x0, _, x1, _ = crops[0].box
    assert x0 <= x - 2 and x1 >= x + 8  # the whole "0" in one line, not a half of it
