"""Reading of table cells (service/scan/cells.py): what a cell's crop is, and what its reading is taken for."""
from __future__ import annotations

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
