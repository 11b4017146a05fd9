"""Stage 4: each cell's crop, trimmed to its ink and split into text lines, recognised alone.

Recognition needs one text line per crop: a wrapped label is cut into its lines by the horizontal ink profile,
each line read, and the texts joined. Value columns are found after reading (most cells look like numbers) and
their cells take the digit-restricted reading of the same network output.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import cv2
import numpy as np

from models.ocr import DIGIT_ALPHABET, OcrEngine, as_number_text, combine_alternatives, label_like
from service.scan.grid import Grid, GridCell, runs
from service.values import is_value

_CJK = re.compile(r"[\u4e00-\u9fff]")
SURE = 0.9  # a reading at least this confident is taken as printed even where the row around it says otherwise


@dataclass
class Crop:
    """A text line to recognise: its pixels and where it came from (the cell's index, or -1 for free text)."""
    image: np.ndarray
    owner: int
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in page pixels


@dataclass
class CellText:
    table: int
    cell: GridCell
    text: str
    confidence: float
    numeric: bool = False
    alternatives: list[tuple[str, float]] = field(default_factory=list)  # doubtful number cells: top-k readings


def clean_page(gray: np.ndarray, lines_mask: np.ndarray, streaks: np.ndarray | None = None,
               dpi: float = 150) -> np.ndarray:
    """The page with ruling strokes painted white, so crops next to a cell border hold only text. Streaks (part of
    `lines_mask` too) run through text: a grey one is lifted off the page (the ink under it stays), a solid one is
    filled in from the pixels beside it, so a digit it crosses keeps the strokes that cross it."""
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
    grown = cv2.dilate(lines_mask, kernel)
    if streaks is not None and streaks.any():
        across = cv2.dilate(streaks, kernel)
        out, solid = lift_streaks(gray, across, dpi)
        if solid.any():
            out = cv2.inpaint(out, solid, 2, cv2.INPAINT_TELEA)
        grown[across > 0] = 0
    else:
        out = gray.copy()
    out[grown > 0] = 255
    return out


def cleaned(gray: np.ndarray, lines_mask: np.ndarray, text: np.ndarray, streaks: np.ndarray | None,
            dpi: float) -> tuple[np.ndarray, np.ndarray]:
    """The page and its text ink as cells are cut from them (the reader's and the digit training's crops alike)."""
    gray_clean = clean_page(gray, lines_mask, streaks, dpi)
    return gray_clean, ink_under_streaks(text, gray_clean, gray, streaks)


LIFT_DARKEST = 0.45  # a streak darker than this share of the paper hides the ink under it: filled in instead


def lift_streaks(gray: np.ndarray, across: np.ndarray, dpi: float) -> tuple[np.ndarray, np.ndarray]:
    """A dirty drum's grey streak darkens what it crosses by a steady share: divided out along its length (the
    streak's own level, a running median along it, against the paper's beside it), a digit under it is left as
    printed. Inpainting a streak through a column of zeros smeared them into "8"s and bars. Returns the page and
    the streak pixels too dark (or too wide) to lift, for filling in."""
    out = gray.copy()
    solid = across.copy()
    length = max(15, int(dpi / 3)) | 1  # a running median several characters long: a digit is a minority in it
    thin = max(6, int(dpi / 20))  # a streak's width across (a slanted one is followed row by row)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(across, connectivity=8)
    for k in range(1, n):
        x, y, w, h = stats[k, :4]
        if max(w, h) < length:
            continue
        vertical = h >= w
        box = (slice(y, y + h), slice(x, x + w))
        mask, lifted, hole = labels[box] == k, out[box], solid[box]
        if not vertical:
            mask, lifted, hole = mask.T, lifted.T, hole.T
        _lift_one(mask, lifted, hole, gray if vertical else gray.T, (x, y) if vertical else (y, x), length, thin)
    return out, solid


def _lift_one(mask, lifted, hole, whole, origin, length: int, thin: int) -> None:
    """One streak running down `mask` (rows along it, its box at `origin` in `whole`: the page in the same
    orientation); writes `lifted` and clears `hole` where it lifted."""
    rows = np.flatnonzero(mask.any(axis=1))
    first = mask[rows].argmax(axis=1)
    last = mask.shape[1] - 1 - mask[rows, ::-1].argmax(axis=1)
    if len(rows) < length or np.median(last - first + 1) > thin:
        return
    width = int(min(thin, (last - first).max() + 1))
    x0, y0 = origin
    pad = 3
    # The streak straightened: each row's pixels from its left end on, with the paper a few pixels either side.
    cols = first[:, None] + np.arange(-pad, width + pad)[None, :] + x0
    cols = np.clip(cols, 0, whole.shape[1] - 1)
    strip = whole[(rows + y0)[:, None], cols].astype(np.float32)
    level = np.stack([_running_median(strip[:, j], length) for j in range(strip.shape[1])], axis=1)
    paper = np.maximum(level[:, :pad].max(axis=1), level[:, -pad:].max(axis=1))
    share = level / np.maximum(paper, 1)[:, None]
    for j in range(pad, pad + width):
        at = cols[:, j] - x0
        inside = (at >= 0) & (at < mask.shape[1])
        on = inside & mask[rows, np.clip(at, 0, mask.shape[1] - 1)]
        ok = on & (share[:, j] >= LIFT_DARKEST)
        r, c = rows[ok], at[ok]
        # Never lighter than the paper beside it: the streak's edge wobbles by a pixel against the median's.
        lifted[r, c] = np.clip(strip[ok, j] / np.minimum(share[ok, j], 1), 0, paper[ok]).astype(np.uint8)
        hole[r, c] = 0


def _running_median(values: np.ndarray, length: int) -> np.ndarray:
    half = length // 2
    padded = np.pad(values, half, mode="edge")
    return np.median(np.lib.stride_tricks.sliding_window_view(padded, length), axis=1)


def ink_under_streaks(text: np.ndarray, gray_clean: np.ndarray, gray: np.ndarray,
                      streaks: np.ndarray | None) -> np.ndarray:
    """The text ink with what clean_page left of the ink under streaks put back: a streak through a "0" was cut out
    of the ink with the pixels beside it, and the halves of the digit, each too small, were dropped as specks."""
    if streaks is None or not streaks.any():
        return text
    level = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)[0]
    across = cv2.dilate(streaks, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3)))
    back = (across > 0) & (gray_clean < level)
    if not back.any():
        return text
    out = text.copy()
    out[back] = 255
    return out


def text_ink(ink: np.ndarray, lines_mask: np.ndarray) -> np.ndarray:
    grown = cv2.dilate(lines_mask, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3)))
    return cv2.bitwise_and(ink, cv2.bitwise_not(grown))


def without_tall_strokes(text: np.ndarray, dpi: float) -> np.ndarray:
    """Text ink without any stroke running down more than half an inch (no character is that tall): a streak the
    rule tests let go (not anchored on a rule: a copier's streak beside an unruled table) would join every text line
    it crosses into one band as tall as the page."""
    tall = cv2.morphologyEx(text, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, int(dpi / 2))))
    if not tall.any():
        return text
    return cv2.bitwise_and(text, cv2.bitwise_not(cv2.dilate(tall, np.ones((1, 3), np.uint8))))


def line_bands(ink: np.ndarray, min_area: int = 6, line: float = 0) -> list[tuple[int, int, int, int]]:
    """Text lines inside a small region (a cell): (x0, y0, x1, y1) per line, top to bottom, in region pixels.

    Specks smaller than min_area are ignored; a band much thinner than the tallest (the lower half of a split
    character, a stray dot) is merged into its nearest neighbour, and so are two bands one blank row apart that
    together are no taller than `line` (the most one line of text is high).
    """
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    if n <= 1:
        return []
    keep = stats[:, cv2.CC_STAT_AREA] >= min_area
    keep[0] = False
    if not keep.any():
        return []
    keep &= _near_strokes(stats, keep, 4 * min_area)
    mask = keep[labels]
    bands = [list(b) for b in runs(np.flatnonzero(mask.any(axis=1)))]
    for i in range(len(bands) - 1, 0, -1):
        # A character cut across by a blotch or a scratch (one blank pixel row) is one line, not two.
        if bands[i][0] - bands[i - 1][1] <= 1 and bands[i][1] - bands[i - 1][0] <= line:
            bands[i - 1][1] = bands.pop(i)[1]
    tallest = max(b - a for a, b in bands)
    merged = True
    while merged and len(bands) > 1:
        merged = False
        for i, (a, b) in enumerate(bands):
            if b - a < 0.55 * tallest:
                gap_up = a - bands[i - 1][1] if i > 0 else 1 << 30
                gap_dn = bands[i + 1][0] - b if i + 1 < len(bands) else 1 << 30
                j = i - 1 if gap_up <= gap_dn else i + 1
                lo, hi = min(i, j), max(i, j)
                bands[lo] = [min(bands[lo][0], bands[hi][0]), max(bands[lo][1], bands[hi][1])]
                del bands[hi]
                merged = True
                break
    out = []
    for a, b in bands:
        cols = np.flatnonzero(mask[a:b].any(axis=0))
        out.append((int(cols[0]), int(a), int(cols[-1]) + 1, int(b)))
    return out


def _near_strokes(stats: np.ndarray, keep: np.ndarray, big_area: int) -> np.ndarray:
    """Which components may make a text line: the large ones, and small ones (a dot, a stroke of a character
    apart from the rest) within half a large one's height of it. A small piece far from any stroke is a speck of
    the paper, and would stretch the line's box over the empty cell. Only where the large pieces hold most of the
    ink: a faint copy breaks its characters into small pieces."""
    area = stats[:, cv2.CC_STAT_AREA]
    big = keep & (area >= big_area)
    if area[big].sum() < 0.5 * area[keep].sum():
        return keep
    x, y, w, h = (stats[:, k].astype(float) for k in (cv2.CC_STAT_LEFT, cv2.CC_STAT_TOP, cv2.CC_STAT_WIDTH,
                                                      cv2.CC_STAT_HEIGHT))
    small = np.flatnonzero(keep & ~big)
    b = np.flatnonzero(big)
    if not len(small):
        return keep
    dx = np.maximum(0, np.maximum(x[b][None, :] - (x[small] + w[small])[:, None],
                                  x[small][:, None] - (x[b] + w[b])[None, :]))
    dy = np.maximum(0, np.maximum(y[b][None, :] - (y[small] + h[small])[:, None],
                                  y[small][:, None] - (y[b] + h[b])[None, :]))
    near = (np.maximum(dx, dy) <= 0.5 * h[b][None, :]).any(axis=1)
    out = keep.copy()
    out[small[~near]] = False
    return out


def crop_line(gray: np.ndarray, box: tuple[int, int, int, int], bound: tuple[int, int, int, int]) -> np.ndarray:
    """The line's pixels with a margin of about a quarter of its height (PP-OCR rec was trained on such crops),
    never reaching outside `bound` (the cell's inner rectangle); white beyond it."""
    x0, y0, x1, y1 = box
    m = max(3, int(round((y1 - y0) * 0.25)))
    bx0, by0, bx1, by1 = bound
    h, w = y1 - y0 + 2 * m, x1 - x0 + 2 * m
    out = np.full((h, w), 255, dtype=np.uint8)
    sx0, sy0, sx1, sy1 = max(bx0, x0 - m), max(by0, y0 - m), min(bx1, x1 + m), min(by1, y1 + m)
    out[sy0 - (y0 - m):sy1 - (y0 - m), sx0 - (x0 - m):sx1 - (x0 - m)] = gray[sy0:sy1, sx0:sx1]
    return out


def cell_crops(gray_clean: np.ndarray, ink_clean: np.ndarray, cell: GridCell, owner: int, dpi: float,
               bilevel: bool = False) -> list[Crop]:
    inset = max(2, int(dpi / 60))
    x0, y0 = int(cell.x0) + inset, int(cell.y0) + inset
    x1, y1 = int(cell.x1) - inset, int(cell.y1) - inset
    if x1 - x0 < 4 or y1 - y0 < 4:
        return []
    min_area = max(4, int((dpi / 75) ** 2 * 2))
    crops = []
    # The page's Otsu level is pulled dark by heavy rules: thin, light strokes then binarise into specks. Anything
    # clearly darker than this cell's own paper is ink too (the rules are already painted out of gray_clean).
    cell_gray = gray_clean[y0:y1, x0:x1]
    paper = float(np.percentile(cell_gray, 90))
    grain = 1.48 * float(np.median(np.abs(cell_gray[cell_gray >= np.median(cell_gray)] - paper)))
    dark = np.where(cell_gray < paper - max(45.0, 5 * grain), 255, 0).astype(np.uint8)
    region = ink_clean[y0:y1, x0:x1]
    if grain <= 6:   # on grainy paper (copies, photos) the page's own binarisation stays: it already saw the strokes
        region = cv2.bitwise_or(region, dark)
    region = drop_specks(region, cell_gray, min_area)
    if bilevel:
        # A fax's rules are ragged: their hairs reach past the painted-out rule and would stretch the text line
        # to the cell's edge. The text is found away from the edge; the crop's margin takes the edge back.
        region = region.copy()
        edge = max(2, int(round(dpi / 50)))
        region[:edge], region[-edge:], region[:, :edge], region[:, -edge:] = 0, 0, 0, 0
    bands = line_bands(region, min_area, dpi / 7)
    if not bands and grain > 6:
        # Nothing seen on grainy paper: a last look for strokes darker than the paper by well over its grain (a
        # photo's shadow can lift faint digits above the page's Otsu level).
        bands = line_bands(dark, min_area, dpi / 7)
    sliver = max(2, int(dpi / 50))
    for bx0, by0, bx1, by1 in bands:
        if by1 - by0 < dpi / 40:  # a leftover of a ruling line, not text
            continue
        if bx1 - bx0 <= sliver and (bx0 == 0 or bx1 == x1 - x0):
            continue  # the edge of a thick or bent side rule, left beside the cell's border: read, it is a "1"
        box = (bx0 + x0, by0 + y0, bx1 + x0, by1 + y0)
        crops.append(Crop(crop_line(gray_clean, box, (x0, y0, x1, y1)), owner, box))
    return crops


def drop_specks(region: np.ndarray, cell_gray: np.ndarray, min_area: int) -> np.ndarray:
    """The cell's ink without the grain of a dark copy's blotches: specks and patches the page's binarisation
    picked up where the toner is patchy. A printed stroke has a dark core along it; a patch of grain is only a
    little darker than the paper, bar a pixel or two. Pieces with hardly any pixels at least halfway from the
    paper to the cell's darkest ink go."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(region, connectivity=8)
    if n <= 2:
        return region
    on = region > 0
    lab, val = labels[on], cell_gray[on]
    darkest = np.full(n, 255, dtype=np.uint8)
    np.minimum.at(darkest, lab, val)
    area = stats[:, cv2.CC_STAT_AREA]
    big = area >= min_area
    big[0] = False
    if not big.any():
        return region
    paper = float(np.median(cell_gray))
    # The ink's level: the darkest pixel of most of the ink by area (one dark speck or a bold "1." beside faint
    # characters does not set it).
    order = np.argsort(darkest[big])
    weight = np.cumsum(area[big][order])
    ink = float(darkest[big][order][np.searchsorted(weight, weight[-1] / 2)])
    if paper - ink < 60:  # no clearly printed stroke to measure against (a blank cell, a faint copy)
        return region
    cores = np.bincount(lab, weights=val < paper - 0.5 * (paper - ink), minlength=n)
    keep = (cores >= 1) & (cores >= 0.05 * area)
    keep[0] = False
    return np.where(keep[labels], 255, 0).astype(np.uint8)


def looks_numeric(text: str) -> bool:
    t = as_number_text(text)
    return bool(t) and all(ch in DIGIT_ALPHABET for ch in t) and any(ch.isdigit() for ch in t)


def soften(image: np.ndarray, dpi: float, blur: float = 1.0) -> np.ndarray:
    """Grey edges for a black-and-white crop: the recogniser learned antialiased glyphs, and reads a fax's jagged
    small digits better blurred by about a pixel (cells read right on two faxes: 270 -> 287 of 397). A fax scans
    half as many lines down as dots across, and each line's black bleeds into the next: its strokes are a pixel
    too thick down the page, and closes the gaps of 5, 6, 8 and 0 (thinned first: 733 -> 761 cells read right on
    five faxes)."""
    thinned = cv2.dilate(image, np.ones((2, 1), np.uint8))
    return cv2.GaussianBlur(thinned, (5, 5), blur * dpi / 150)


# How far a fax's crops are blurred, in pixels at 150 DPI: the grey edges a jagged glyph had before it was scanned
# are not known, and each blur misreads other digits. The recogniser's outputs for both are averaged (12 faxes:
# 2077 -> 2111 fields, none worse; the larger blur alone: 2095, one fax 8 worse).
FAX_BLURS = (1.0, 1.5)


# Grey levels between a crop's ink and its paper: below FAINTEST no stroke worth stretching; from CLEAR on, black on
# white already (stretching a fax-like crop's few grey pixels changed its readings for the worse).
FAINTEST, CLEAR = 40, 200


def stretch(image: np.ndarray) -> np.ndarray:
    """The crop's darkest ink made black and its paper white. A light or dark copy's strokes are grey on grey; the
    recogniser, which learned black on white, then misreads their digits (0 as 6, 25 as 26) or drops them."""
    # (The paper's level where a fifth of the crop is lighter: a copy's grain darker than it, stretched too, makes
    # the digits' background mottled; phone photo 163 -> 168 fields against the 90th percentile.)
    ink, paper = np.percentile(image, (1, 80))
    if not FAINTEST <= paper - ink < CLEAR:
        return image
    out = (image.astype(np.float32) - ink) * (255.0 / (paper - ink))
    return np.clip(out, 0, 255).astype(np.uint8)


def read_grids(gray_clean: np.ndarray, ink_clean: np.ndarray, grids: list[Grid], first_table: int, dpi: float,
               engine: OcrEngine, bilevel: bool = False) -> list[CellText]:
    """Read every cell of the page's tables in one batched recognition call (a bilevel page's crops softened)."""
    owners: list[tuple[int, GridCell]] = []
    crops: list[Crop] = []
    for t, grid in enumerate(grids):
        for cell in grid.cells:
            crops += cell_crops(gray_clean, ink_clean, cell, len(owners), dpi, bilevel)
            owners.append((first_table + t, cell))
    if bilevel:
        readings = engine.read_blended([[soften(c.image, dpi, blur) for c in crops] for blur in FAX_BLURS])
    else:
        readings = engine.read([stretch(c.image) for c in crops])
    per_cell: dict[int, list] = {}
    for crop, reading in zip(crops, readings):
        per_cell.setdefault(crop.owner, []).append(reading)
    numeric_cols = _numeric_columns(owners, per_cell)
    heading_rows = _heading_rows(owners, per_cell)
    out = []
    for i, (table, cell) in enumerate(owners):
        rs = per_cell.get(i, [])
        if not rs:
            out.append(CellText(table, cell, "", 1.0))
            continue
        full = "".join(r.text for r in rs)
        # A wide cell holds one value where a table gives a row a single number across its columns (section 二 of
        # the 2021 table): a lone "0" there read "O" is a number too.
        numeric = ((table, cell.col) in numeric_cols and cell.colspan == 1) or (cell.colspan > 1 and _number_like(rs))
        if (table, cell.row) in heading_rows and not _sure_number(rs):
            # A row of headings holds no values: a blurred word in a value column ("总计" read "01") is no number.
            numeric = False
            if looks_numeric(full) or is_value(full):  # what the word says is not known (a blurred word read
                # "—" would be a "not applicable" value that shifts the row of numbers under it)
                out.append(CellText(table, cell, "", round(float(min(r.confidence for r in rs)), 4)))
                continue
        alternatives: list[tuple[str, float]] = []
        if numeric and not label_like(full):
            rs = _one_number(rs)
            text = "".join(r.digits for r in rs)
            conf = min(r.digits_confidence for r in rs)
            if any(getattr(r, "digit_alternatives", None) for r in rs):
                alternatives = combine_alternatives([r.digit_alternatives or [(r.digits, r.digits_confidence)]
                                                     for r in rs])
        else:
            numeric = False
            text = full
            conf = sum(r.confidence * max(1, len(r.text)) for r in rs) / sum(max(1, len(r.text)) for r in rs)
        out.append(CellText(table, cell, text, round(float(conf), 4), numeric, alternatives))
    if bilevel:
        lines = Counter(c.owner for c in crops)
        _agree_with_lookalikes(out, {c.owner: c for c in crops if lines[c.owner] == 1})
    return out


LOOKALIKE = 0.8  # correlation of two digits' normalised images above which they are the same printed glyph
NEIGHBOURS = 5
AGREE = 0.6


def _agree_with_lookalikes(cells: list[CellText], crops: dict[int, Crop]) -> None:
    """A fax's low resolution makes the recogniser read some "0"s as 6, 8 or 9, surely; but every "0" of a page is
    the same printed glyph, and looks like the others more than like any other digit. A one-digit value cell whose
    nearest look-alikes on the page mostly read another digit is read as theirs, its own reading kept as the
    alternative (on faxes: 14 of 27 misread one-digit cells mended, none broken)."""
    single = [(i, ct) for i, ct in enumerate(cells) if ct.numeric and len(ct.text) == 1 and i in crops]
    feats = [(i, ct, _glyph(crops[i].image)) for i, ct in single]
    feats = [(i, ct, f) for i, ct, f in feats if f is not None]
    if len(feats) < NEIGHBOURS + 1:
        return
    sim = np.stack([f for _, _, f in feats])
    sim = sim @ sim.T
    np.fill_diagonal(sim, -1.0)
    texts = [ct.text for _, ct, _ in feats]
    for k, (i, ct, _) in enumerate(feats):
        near = [j for j in np.argsort(-sim[k])[:NEIGHBOURS] if sim[k, j] > LOOKALIKE]
        if len(near) < 3:
            continue
        best, count = Counter(texts[j] for j in near).most_common(1)[0]
        share = count / len(near)
        if best != ct.text and share >= AGREE:
            cells[i] = CellText(ct.table, ct.cell, best, round(share, 4), True,
                                [(best, share), (ct.text, round(1.0 - share, 4))])


def _glyph(image: np.ndarray, size: tuple[int, int] = (12, 16)) -> np.ndarray | None:
    """The crop's ink, cut to its extent and scaled to a fixed size, zero-mean and unit-length."""
    ys, xs = np.nonzero(image < 128)
    if not len(ys):
        return None
    f = cv2.resize(image[ys.min():ys.max() + 1, xs.min():xs.max() + 1].astype(np.float32), size,
                   interpolation=cv2.INTER_AREA).ravel()
    f -= f.mean()
    n = float(np.linalg.norm(f))
    return f / n if n else None


def _one_number(readings: list) -> list:
    """A value cell holds one number on one line: beside a line read surely, a line read with little confidence is
    a blotch or a scratch under the number ("31" over a blotch read "924"), not more of its digits."""
    if len(readings) < 2 or max(r.digits_confidence for r in readings) < SURE:
        return readings
    return [r for r in readings if r.digits_confidence >= 0.5]


def _sure_number(readings: list) -> bool:
    return looks_numeric("".join(r.text for r in readings)) and min(r.confidence for r in readings) >= SURE


def _heading_rows(owners: list[tuple[int, GridCell]], per_cell: dict[int, list]) -> set[tuple[int, int]]:
    """(table, row) pairs that read as a row of headings: three or more cells of words, and more of them than cells
    that look like numbers. A row of values has one label, or two, beside its numbers."""
    words: dict[tuple[int, int], int] = {}
    numbers: dict[tuple[int, int], int] = {}
    for i, (table, cell) in enumerate(owners):
        full = "".join(r.text for r in per_cell.get(i, []))
        if looks_numeric(full):
            numbers[(table, cell.row)] = numbers.get((table, cell.row), 0) + 1
        elif _CJK.search(full):
            words[(table, cell.row)] = words.get((table, cell.row), 0) + 1
    return {row for row, n in words.items() if n >= 3 and n > numbers.get(row, 0)}


def _numeric_columns(owners: list[tuple[int, GridCell]], per_cell: dict[int, list]) -> set[tuple[int, int]]:
    """(table, col) pairs where most non-empty single-column cells read as numbers."""
    votes: dict[tuple[int, int], list[bool]] = {}
    for i, (table, cell) in enumerate(owners):
        rs = per_cell.get(i)
        if rs and cell.colspan == 1:
            votes.setdefault((table, cell.col), []).append(_number_like(rs))
    return {k for k, v in votes.items() if sum(v) >= max(1, 0.5 * len(v))}


def _number_like(readings: list) -> bool:
    """A cell that reads as a number, or as a short run of Latin letters whose digit reading is not empty: on a
    noisy fax a small "0" with a speck beside it reads "a" or "à", and such cells must not outvote the column."""
    text = "".join(r.text for r in readings)
    if looks_numeric(text):
        return True
    short = 0 < len(text.replace(" ", "")) <= 3 and not any(ord(ch) > 0x2FF for ch in text)
    return short and bool("".join(r.digits for r in readings))
