"""Faxes: dense pepper cleared without filling small digits, dithered shaded rows that must not swallow the rules
around them, bilevel pages told from scans, and number columns whose noisy zeros read as Latin letters."""
from __future__ import annotations

import cv2
import numpy as np

from models.ocr import Reading
from service.scan.cells import read_grids, soften
from service.scan.grid import Grid, GridCell
from service.scan.raster import binarize, clear_pepper, is_bilevel, straighten
from tests.test_scan import grids_of, gray_of, spans
from tests.test_scan_render import make_page
from training.synth.scan import _fax


def _peppered(gray: np.ndarray, share: float, seed: int = 0) -> np.ndarray:
    """Pepper as a fax of grey paper makes it: single black pixels and pairs, touching one another."""
    rng = np.random.default_rng(seed)
    out = gray.copy()
    specks = rng.random(gray.shape) < share
    specks |= np.roll(specks, 1, axis=1) & (rng.random(gray.shape) < 0.5)
    out[specks] = 0
    return out


def _tiny_specks(gray: np.ndarray) -> int:
    n, _, stats, _ = cv2.connectedComponentsWithStats(binarize(gray), connectivity=8)
    return int((stats[1:, cv2.CC_STAT_AREA] <= 3).sum())


def test_dense_pepper_is_cleared_and_the_strokes_stay_as_they_were():
    page = make_page(seed=2)
    clean = gray_of(page)
    noisy = _peppered(clean, 0.04)
    cleared = straighten(noisy, 1, 150).gray
    assert _tiny_specks(cleared) < 0.1 * _tiny_specks(noisy)
    # The characters keep their shape: a median would fill the holes of small digits and thicken every stroke.
    before, after = binarize(clean) > 0, binarize(cleared) > 0
    assert (before & after).sum() / (before | after).sum() > 0.8


def test_pepper_next_to_a_character_is_kept():
    gray = np.full((60, 120), 255, np.uint8)
    cv2.putText(gray, "9617", (5, 40), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 0, 2)
    end = int(np.flatnonzero((gray < 128).any(axis=0))[-1])
    y = int(np.flatnonzero(gray[:, end] < 128)[-1])
    gray[y - 1:y + 1, end + 3:end + 5] = 0  # a decimal point two pixels after the last digit
    gray[10, 115] = 0  # a speck alone in the paper
    out = clear_pepper(gray, 150)
    assert (out[y - 1:y + 1, end + 3:end + 5] == 0).all()
    assert out[10, 115] == 255


def _table_with_dithered_rows(seed: int = 0) -> tuple[np.ndarray, int, int]:
    """Ruled 4-column table, rows 0 and 3 shaded grey (spanning the table) the way a fax dithers them."""
    rng = np.random.default_rng(seed)
    gray = np.full((900, 1240), 255, np.uint8)
    xs, ys = [150, 600, 800, 1000, 1150], [200, 270, 340, 410, 480, 550, 620]
    for r, (a, b) in enumerate(zip(ys, ys[1:])):
        if r in (0, 3):
            gray[a:b, xs[0]:xs[-1]] = 80
        else:
            for c, (x0, x1) in enumerate(zip(xs, xs[1:])):
                cv2.putText(gray, "行" if c == 0 else str(10 * r + c), (x0 + 12, b - 22), cv2.FONT_HERSHEY_SIMPLEX,
                            0.7, 0, 2)
    for y in ys:
        cv2.line(gray, (xs[0], y), (xs[-1], y), 0, 2)
    for x in xs:
        for r, (a, b) in enumerate(zip(ys, ys[1:])):
            if r not in (0, 3) or x in (xs[0], xs[-1]):
                cv2.line(gray, (x, a), (x, b), 0, 2)
    noisy = gray.astype(np.float32) + rng.standard_normal(gray.shape).astype(np.float32) * 60
    fax = np.where(noisy > 128, 255, 0).astype(np.uint8)  # grey becomes dots, black and white stay
    return fax, len(ys) - 1, len(xs) - 1


def test_dithered_shaded_rows_leave_the_grid_whole():
    gray, rows, cols = _table_with_dithered_rows()
    grids = grids_of(gray)
    assert len(grids) == 1
    g = grids[0]
    assert (g.n_rows, g.n_cols) == (rows, cols)
    shaded = {(0, 0, 1, cols), (3, 0, 1, cols)}
    assert shaded <= spans(g.cells)
    # the shaded rows' dots are not ink any more: nothing in them to read as text
    ink = binarize(gray)
    assert (ink[215:255, 170:1130] > 0).mean() < 0.02


def test_fax_pages_are_bilevel_and_scans_are_not():
    page = make_page(seed=4)
    scan = gray_of(page)
    fax, _ = _fax(scan.copy(), np.random.default_rng(1), scan.shape[1], scan.shape[0], 150)
    assert is_bilevel(fax)
    assert not is_bilevel(scan)
    # A copy on grey paper: its paper (200 here) lies above the old fixed ink level, and its strokes' grey edges lie
    # between the paper and the ink; a copier page of a fresh factory draw (an unruled table: 32 of 198 fields) was
    # read as a fax, its crops blurred and its text lost.
    grey = (scan.astype(np.float32) * (200 / 255)).astype(np.uint8)
    assert not is_bilevel(grey)
    assert is_bilevel((fax.astype(np.float32) * (200 / 255)).astype(np.uint8))


class _Engine:
    def __init__(self, readings):
        self.readings = readings

    def read(self, crops):
        return self.readings[: len(crops)]


def test_zeros_read_as_latin_letters_do_not_outvote_a_number_column():
    gray = np.full((260, 400), 255, np.uint8)
    cells, rows = [], [10, 70, 130, 190, 250]
    for r in range(4):
        for c in range(2):
            cells.append(GridCell(r, c, 1, 1, 10 + 180 * c, rows[r], 190 + 180 * c, rows[r + 1]))
            cv2.putText(gray, "0", (90 + 180 * c, rows[r] + 42), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 0, 2)
    grid = Grid(10, 10, 370, 250, rows, [10, 190, 370], cells)
    # column 1: one clean "0" and three noisy zeros read "a", "à", "a" by the full alphabet
    texts = ["0", "0", "0", "a", "0", "à", "0", "a"]
    readings = [Reading(t, 0.7, "0", 0.6) for t in texts]
    out = read_grids(gray, binarize(gray), [grid], 0, 150, _Engine(readings))
    assert [ct.text for ct in out if ct.cell.col == 1] == ["0", "0", "0", "0"]
    assert all(ct.numeric for ct in out)


def test_a_column_rule_broken_inside_its_cells_is_still_a_column():
    gray = np.full((900, 1240), 255, np.uint8)
    xs, ys = [150, 450, 600, 750, 900], [200 + 60 * i for i in range(9)]
    for y in ys:
        cv2.line(gray, (xs[0], y), (xs[-1], y), 0, 2)
    for x in xs:
        cv2.line(gray, (x, ys[0]), (x, ys[-1]), 0, 2)
    for r, (a, b) in enumerate(zip(ys, ys[1:])):
        for x0 in xs[:-1]:
            cv2.putText(gray, str(r), (x0 + 20, b - 18), cv2.FONT_HERSHEY_SIMPLEX, 0.7, 0, 2)
    for r in (2, 5):  # the rule dropped for 5 px halfway down two cells
        mid = (ys[r] + ys[r + 1]) // 2
        gray[mid - 2:mid + 3, xs[2] - 3:xs[2] + 3] = 255
    grids = grids_of(gray)
    assert len(grids) == 1
    assert (grids[0].n_rows, grids[0].n_cols) == (len(ys) - 1, len(xs) - 1)


def test_pepper_stuck_to_a_rule_is_cleared_and_pepper_by_a_digit_kept():
    gray = np.full((200, 600), 255, np.uint8)
    gray[100:103, 20:580] = 0  # a rule
    cv2.putText(gray, "8", (250, 60), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 0, 2)
    on_rule = [(96, 100), (97, 300), (104, 450), (105, 520)]  # specks a pixel or two off the rule, both sides
    for y, x in on_rule:
        gray[y:y + 2, x:x + 2] = 0
    end = int(np.flatnonzero((gray[:80] < 128).any(axis=0))[-1])
    gray[55:57, end + 2:end + 4] = 0  # a speck touching the digit: a decimal point, or part of the digit
    out = clear_pepper(gray, 150)
    assert all((out[y:y + 2, x:x + 2] == 255).all() for y, x in on_rule)
    assert (out[100:103, 20:580] == 0).all()
    assert (out[55:57, end + 2:end + 4] == 0).all()


def test_a_bilevel_crop_is_thinned_down_the_page_not_across():
    crop = np.full((40, 60), 255, np.uint8)
    crop[10:16, 10:50] = 0  # a bar 6 px thick, 40 px long
    soft = soften(crop, 150)
    dark = soft < 128
    assert len(np.flatnonzero(dark.any(axis=1))) == 5  # a pixel thinner down the page (a fax's lines bleed)
    assert len(np.flatnonzero(dark.any(axis=0))) == 40


def test_a_column_rule_touched_by_a_label_above_it_still_parts_its_rows():
    """A sub-column rule starting under a label: a fax thickens the label's stroke until it touches the rule's top,
    which then ends in the middle of a cell; the rows hanging from the rule must not be lost."""
    gray = np.full((900, 1240), 255, np.uint8)
    xs, ys = [150, 300, 600, 750, 900], [150 + 50 * i for i in range(11)]
    for i, y in enumerate(ys):
        left = xs[1] if 3 <= i <= 9 else xs[0]  # rows 3..9 start at the sub-column rule
        cv2.line(gray, (left, y), (xs[-1], y), 0, 2)
    for x in xs:
        top = ys[2] if x == xs[1] else ys[0]
        cv2.line(gray, (x, top), (x, ys[-1]), 0, 2)
    for r, (a, b) in enumerate(zip(ys, ys[1:])):
        for x0 in xs[2:-1]:
            cv2.putText(gray, str(r), (x0 + 20, b - 15), cv2.FONT_HERSHEY_SIMPLEX, 0.9, 0, 2)
    gray[ys[2] - 18:ys[2], xs[1] - 1:xs[1] + 2] = 0  # a label's stroke in the row above, touching the rule
    grids = grids_of(gray)
    assert len(grids) == 1
    assert (grids[0].n_rows, grids[0].n_cols) == (len(ys) - 1, len(xs) - 1)


def test_a_100_dpi_faxs_column_rules_and_the_rows_beside_a_merged_label_are_found(tmp_path, monkeypatch):
    # A factory fax at 100 DPI: its digits bled onto the column rules in a few cells, and every column rule of the
    # requests table was cut away as a streak; then the row rules that start at the border of a merged label (not
    # a rule down the whole table) were dropped, and the table was read as 11 tall rows.
    import subprocess
    import sys
    import threading
    from pathlib import Path

    import service.scan.reader as reader
    from service.ingest import load_source

    subprocess.run([sys.executable, "-m", "training.synth", "--seed", "7001", "--kinds", "scan", "--n", "1",
                    "--start", "26", "--levels", "fax", "--out", str(tmp_path)], check=True, capture_output=True,
                   cwd=Path(__file__).resolve().parents[1])
    found: dict[int, list] = {}
    page_now = threading.local()  # pages are read side by side, one per thread
    read_page, read_grids = reader.ScanReader._read_page, reader.read_grids

    def on_page(self, page, first, last):
        page_now.n = page.number
        return read_page(self, page, first, last)

    def on_grids(gray_clean, ink_clean, grids, *args, **kwargs):
        found[page_now.n] = grids
        return read_grids(gray_clean, ink_clean, grids, *args, **kwargs)

    monkeypatch.setattr(reader.ScanReader, "_read_page", on_page)
    monkeypatch.setattr(reader, "read_grids", on_grids)
    reader.ScanReader().read(load_source(tmp_path / "doc-000027.scan.pdf"))
    requests = max(found[2], key=lambda g: g.n_rows)
    assert requests.n_cols >= 9  # two label columns and seven of values
    assert requests.n_rows >= 24  # of the table's 27, the 3 heading rows aside
