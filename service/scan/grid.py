"""Stage 3: the cell grid of a ruled table, from its ruling lines.

Long horizontal and vertical strokes are kept by a morphological open with long kernels; their positions are
clustered into row and column lines; every band between neighbouring lines is a grid slot, and two neighbouring
slots belong to one merged cell when the line between them is absent (or mostly absent: scans break lines).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from service.scan.raster import quad_corners


def runs(indices: np.ndarray) -> list[tuple[int, int]]:
    """Runs of consecutive integers in sorted `indices` (rows or columns holding ink), as (first, last + 1)."""
    if len(indices) == 0:
        return []
    breaks = np.flatnonzero(np.diff(indices) > 1)
    return [(int(a), int(b) + 1) for a, b in zip(np.r_[indices[0], indices[breaks + 1]],
                                                 np.r_[indices[breaks], indices[-1]])]


@dataclass
class GridCell:
    row: int
    col: int
    rowspan: int
    colspan: int
    x0: float
    y0: float
    x1: float
    y1: float


@dataclass
class Grid:
    """One ruled table: line positions (page pixels) and its cells, merged ones once at their top-left slot."""
    x0: int
    y0: int
    x1: int
    y1: int
    rows: list[float]  # y of every row line, top to bottom (n_rows + 1)
    cols: list[float]  # x of every column line, left to right (n_cols + 1)
    cells: list[GridCell] = field(default_factory=list)
    columns_from_text: bool = False  # no column rules: columns are where the text leaves gaps

    @property
    def n_rows(self) -> int:
        return len(self.rows) - 1

    @property
    def n_cols(self) -> int:
        return len(self.cols) - 1


@dataclass
class Rulings:
    horizontal: np.ndarray  # masks of the ruling strokes, page-sized, 255 = line
    vertical: np.ndarray
    # Where strokes were judged streaks and cut back (the y span of horizontal ones, the x span of vertical ones): a
    # rule the cut left there may still be the streak, running between the text of every row or column.
    streaks: tuple[list[tuple[int, int]], list[tuple[int, int]]] = ([], [])
    cut: np.ndarray | None = None  # the streaks' pixels cut away (page-sized, 255), None where none was

    def mask(self) -> np.ndarray:
        """Every long stroke to keep out of the text: the rules, and the streaks cut from them (a streak through a
        cell stretches its text line to the cell's height, and reads as a "1" beside the digits)."""
        lines = cv2.bitwise_or(self.horizontal, self.vertical)
        return lines if self.cut is None else cv2.bitwise_or(lines, self.cut)


def find_rulings(ink: np.ndarray, dpi: float, gray: np.ndarray | None = None) -> Rulings:
    """Strokes longer than any character: ~1/25 of the page width across, ~1/6 inch down (one table row).

    Text can still leave long strokes (neighbouring characters' strokes in one row join), so a stroke is kept only
    when both its ends meet a stroke of the other direction (a table's lines always end on or cross another line)
    or when it is far longer than any run of text strokes. With the grey page, rules too faint for the ink (light
    grey rules, a washed-out copy, a noisy photo) join them.
    """
    h, w = ink.shape
    hk = max(25, w // 25)
    vk = max(12, int(dpi / 6.5))
    # Close tiny breaks first (scans and JPEG nibble thin lines), then keep only long runs.
    horiz = cv2.morphologyEx(ink, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (5, 1)))
    horiz = cv2.morphologyEx(horiz, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (hk, 1)))
    vert = cv2.morphologyEx(ink, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (1, 5)))
    vert = cv2.morphologyEx(vert, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, vk)))
    reach = max(3, int(dpi / 25))
    side = max(2, int(dpi / 40))
    thick = max(5.0, dpi / 20)  # mean thickness: rules blur to 4-5 px in heavy scans, bold text bars are thicker
    if gray is None:
        return drop_streaks(Rulings(_keep_anchored(horiz, vert, ink, 0, 4 * hk, reach, side, thick),
                                    _keep_anchored(vert, horiz, ink, 1, 6 * vk, reach, side, thick)), ink, dpi)
    # Kept on their own tests, then joined to the ink's rules (a faint stroke beside an ink rule, its grey edge,
    # would make it too thick for a rule); they anchor the ink's strokes too.
    fh, fv = faint_lines(gray, dpi, hk, vk, thick, reach, horiz, vert)
    kept_h = _keep_anchored(horiz, cv2.bitwise_or(vert, fv), ink, 0, 4 * hk, reach, side, thick)
    kept_v = _keep_anchored(vert, cv2.bitwise_or(horiz, fh), ink, 1, 6 * vk, reach, side, thick)
    return drop_streaks(Rulings(cv2.bitwise_or(kept_h, fh), cv2.bitwise_or(kept_v, fv)), ink, dpi)


def faint_lines(gray: np.ndarray, dpi: float, hk: int, vk: int, thick: float, reach: int,
                horiz: np.ndarray, vert: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Long thin strokes darker than the paper beside them: light grey rules on grey, noisy or unevenly lit paper
    (a phone's photo, a washed-out copy) fall above the page-wide Otsu level and break up under any level set pixel
    by pixel. On the grey page itself a rule is dark all along its length (text is dark in strokes a character
    long) and narrow across it: the darkness held over a rule's length, less the paper's just beside it.

    Such a stroke is a rule only where both its ends meet a stroke across (these or the ink's `horiz` and `vert`:
    a dirty drum's grey streaks run the sheet's length, through the tables and off them), and half an inch long at
    least (a blurred digit's stroke between two row rules is one row high)."""
    dark = cv2.bitwise_not(gray)
    across = 2 * reach + 1  # a rule and the paper beside it
    grain = max(3, int(dpi / 30))
    thin = []
    for axis, (kx, ky) in ((0, (hk, 1)), (1, (1, vk))):
        smooth = cv2.blur(dark, (grain, 1) if axis == 0 else (1, grain))  # the paper's grain, along the rule
        held = cv2.morphologyEx(smooth, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (kx, ky)))
        el = cv2.getStructuringElement(cv2.MORPH_RECT, (1, across) if axis == 0 else (across, 1))
        ridge = cv2.morphologyEx(held, cv2.MORPH_TOPHAT, el)
        counts = np.bincount(ridge.ravel(), minlength=256)
        level = _median_of_counts(counts)
        spread = 1.4826 * _median_of_counts(np.bincount(np.abs(np.arange(256) - int(level)), weights=counts))
        _, m = cv2.threshold(ridge, level + max(8.0, 5.0 * spread), 255, cv2.THRESH_BINARY)
        m = cv2.morphologyEx(m, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (kx, ky)))
        # Only thin strokes: the edges of a shaded row come out as thick bars, and would swallow a rule beside them.
        # Measured across at half its own depth, a blurred rule is as thin as a sharp one.
        n, labels, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
        centre = ridge >= cv2.dilate(ridge, el) // 2
        labels[~centre] = 0  # the rule is its centre (its grey shoulders, taken out of the cells' ink, take digits)
        core = np.bincount(labels.ravel(), minlength=n)
        length = np.maximum(1, stats[:, cv2.CC_STAT_WIDTH if axis == 0 else cv2.CC_STAT_HEIGHT])
        # (across: an inch, for the strokes of a row of characters in one narrow cell, held along its width,
        # pass for a line from rule to rule)
        keep = (core / length <= thick / 2) & (length >= (dpi if axis == 0 else dpi / 2))
        keep[0] = False
        thin.append((labels, stats, keep, _components(labels, stats, keep)))
    out = []
    for axis, (labels, stats, keep, _), other in ((0, thin[0], cv2.bitwise_or(vert, thin[1][3])),
                                                  (1, thin[1], cv2.bitwise_or(horiz, thin[0][3]))):
        for i in np.flatnonzero(keep):
            x, y, w, h, _ = stats[i]
            keep[i] = _both_ends_meet(other, x, y, w, h, axis, reach)
        out.append(_components(labels, stats, keep))
    return out[0], out[1]


def _components(labels: np.ndarray, stats: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """A mask of the kept components (few and small: drawn box by box, not looked up pixel by pixel)."""
    out = np.zeros(labels.shape, np.uint8)
    for i in np.flatnonzero(keep):
        x, y, w, h, _ = stats[i]
        box = (slice(y, y + h), slice(x, x + w))
        out[box][labels[box] == i] = 255
    return out


def _median_of_counts(counts: np.ndarray) -> float:
    """The median of values 0, 1, 2, ... seen `counts` times each (a page's grey levels: faster than sorting)."""
    cum = np.cumsum(counts)
    return float(np.searchsorted(cum, cum[-1] / 2))


def drop_streaks(rulings: Rulings, ink: np.ndarray, dpi: float) -> Rulings:
    """Streaks (a dirty drum, dust on a scanner's glass) are long thin lines like rules, but they run through text
    and off the tables: a rule lies between cells, the cells' text kept off it, and ends at the table's frame."""
    lines = cv2.bitwise_or(rulings.horizontal, rulings.vertical)
    text = cv2.bitwise_and(ink, cv2.bitwise_not(cv2.dilate(lines, np.ones((3, 3), np.uint8))))
    glyph = glyph_height(text, dpi)
    # On a speckled page (a fax's salt and pepper: tens of thousands of specks, where a scan has a few hundred at
    # most) the specks pressing on a rule are no characters.
    n, labels, stats, _ = cv2.connectedComponentsWithStats(text, connectivity=8)
    area = stats[:, cv2.CC_STAT_AREA]
    if int((area[1:] <= 4).sum()) > 2000:
        big = area >= int((dpi / 30) ** 2)
        big[0] = False
        text = np.where(big[labels], 255, 0).astype(np.uint8)
    near = max(2, int(dpi / 50))
    reach = max(3, int(dpi / 25))
    horizontal, across = _cut_streaks(rulings.horizontal, rulings.vertical, text, 0, near, reach, glyph,
                                      4 * dpi, dpi)
    vertical, down = _cut_streaks(rulings.vertical, rulings.horizontal, text, 1, near, reach, glyph,
                                  1.5 * dpi, dpi)
    cut = None
    if across or down:
        cut = cv2.bitwise_or(cv2.bitwise_and(rulings.horizontal, cv2.bitwise_not(horizontal)),
                             cv2.bitwise_and(rulings.vertical, cv2.bitwise_not(vertical)))
    return Rulings(horizontal, vertical, (across, down), cut)


def _cut_streaks(mask: np.ndarray, other: np.ndarray, text: np.ndarray, axis: int, near: int, reach: int,
                 glyph: float, bridge: float, overshoot: float) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """A stroke with characters pressing on it from both sides, over more than a character's height in all, or (a
    vertical one) running on more than `overshoot` past the last stroke of the other direction it crosses, is a streak (a rule
    ends at the table's frame). It may lie on a rule (the two are one stroke then): the stroke is cut at its crossings with the other
    direction's strokes into runs (crossings closer than `bridge`: one table); a run that cuts no characters is a
    rule the streak ran along and stays; the rest goes."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    H, W = mask.shape
    out = mask
    cut: list[tuple[int, int]] = []
    pad = near + 3
    limit = 0.8 * glyph
    ax = 0 if axis == 0 else 1  # summing over `ax` collapses the window across the stroke
    framed_ends = _shared_ends(stats, axis, reach, H if axis == 1 else W, limit)
    for i in range(1, n):
        x, y, w, h, _ = stats[i]
        if (w if axis == 0 else h) < limit:
            continue
        ya, yb, xa, xb = (max(0, y - pad), min(H, y + h + pad), x, x + w) if axis == 0 else \
            (y, y + h, max(0, x - pad), min(W, x + w + pad))
        own = labels[ya:yb, xa:xb] == i
        txt = text[ya:yb, xa:xb] > 0
        cuts = _pressed(own, own, txt, ax, near)
        if axis == 0 and cuts.any():
            cuts = cuts & ~_between_rows(cuts, text, x, y, h, glyph)
        centres = [(a + b) // 2 for a, b in _crossings(other, x, y, w, h, axis, reach)]
        # An end shared with other rules is on the table's frame, though that frame rule was too faint to find.
        length = w if axis == 0 else h
        if framed_ends[i][0] and (not centres or centres[0] > reach):
            centres.insert(0, 0)
        if framed_ends[i][1] and (not centres or centres[-1] < length - 1 - reach):
            centres.append(length - 1)
        # Only vertical strokes: rows of a table ruled across start right of a merged label, where no column rule
        # is; and a stroke that crosses nothing runs on past nothing (the rules of a table ruled only across).
        overrun = axis == 1 and bool(centres) and (centres[0] > overshoot or len(cuts) - centres[-1] > overshoot)
        # A horizontal stroke running on past the table's frame on both sides: a streak across the page.
        overrun = overrun or (axis == 0 and len(centres) >= 2 and centres[0] > overshoot / 2
                              and len(cuts) - centres[-1] > overshoot / 2)
        if int(cuts.sum()) <= limit and not overrun:
            continue
        # A column stroke that starts and ends on rules across, as a table's column rule does (a streak runs on
        # past the frame): characters pressing on it in a few cells are digits bled onto it (a 100-DPI fax's
        # column rules were all cut, every value of the requests table lost).
        framed = axis == 1 and bool(centres) and centres[0] <= reach and len(cuts) - 1 - centres[-1] <= reach
        # A slanted streak that crosses a rule is one stroke with it, spread over more than a character's width
        # (a streak alone wobbles by a few px): whether the rule is there is judged by the characters pressing on
        # the stroke's densest line only (the rule), not along the slant through the text.
        spread = (h if axis == 0 else w) > 2 * limit
        line = _densest_line(own, axis) if spread else own
        on_line = cuts if line is own else _pressed(line, own, txt, ax, near)
        keep = np.zeros(len(cuts), dtype=bool)
        start = 0
        for k in range(1, len(centres) + 1):
            if k == len(centres) or centres[k] - centres[k - 1] > bridge:
                lo, hi = max(0, centres[start] - reach), min(len(cuts), centres[k - 1] + reach + 1)
                # (across: characters pressing on it in a cell or two are a digit blurred onto a rule, for a streak
                # through a row of text presses in most of its cells; a streak down a column of numbers may miss
                # most of them)
                pressed = sum(int(on_line[a:b].sum()) > 2 for a, b in zip(centres[start:k - 1], centres[start + 1:k]))
                few = (axis == 0 or framed) and pressed <= (k - start - 1) // 4
                if k - start >= 3 and (int(on_line[lo:hi].sum()) <= limit / 4 or few):
                    keep[lo:hi] = True
                start = k
        if out is mask:
            out = mask.copy()
        sl = (slice(y, y + h), slice(x, x + w))
        kept = keep[None, :] if axis == 0 else keep[:, None]
        if line is not own:  # of a rule crossed by a slanted streak, only the rule stays
            kept = kept & (line[y - ya:y - ya + h, :] if axis == 0 else line[:, x - xa:x - xa + w])
        drop = (labels[sl] == i) & ~kept
        if not drop.any():
            continue  # kept whole: a rule, no streak
        out[sl][drop] = 0
        cut.append((int(y), int(y + h)) if axis == 0 else (int(x), int(x + w)))
    return out, cut


def _shared_ends(stats: np.ndarray, axis: int, reach: int, size: int, least: float) -> list[tuple[bool, bool]]:
    """For each stroke, whether its start and its end line up with the ends of two other strokes beside it (not in
    line with it), away from the page's edge: a table's rules end together on its frame. A streak runs on to the
    edge, or fades out where nothing else ends."""
    pos, start, length = (1, 0, 2) if axis == 0 else (0, 1, 3)
    a = stats[:, start].astype(int)
    b = a + stats[:, length].astype(int)
    across = stats[:, pos].astype(int)
    real = stats[:, length] >= least
    real[0] = False
    out = [(False, False)] * len(stats)
    for i in np.flatnonzero(real):
        beside = real & (np.abs(across - across[i]) > 2 * reach)
        ends = []
        for e, edge in ((a, a[i] > reach), (b, b[i] < size - reach)):
            ends.append(bool(edge and int((beside & (np.abs(e - e[i]) <= reach)).sum()) >= 2))
        out[i] = (ends[0], ends[1])
    return out


def _between_rows(cuts: np.ndarray, text: np.ndarray, x: int, y: int, h: int, glyph: float) -> np.ndarray:
    """Where characters press on a horizontal stroke from both sides because it lies between two rows of text (a
    fax's bled characters touch the rules above and below them): the ink above runs a character's height up from
    the stroke, and the ink below a character's height down. A streak through one row of text splits its
    characters instead: less than a character's height on each side, or a sliver on one."""
    out = np.zeros(len(cuts), dtype=bool)
    H = text.shape[0]
    span, wide = int(2 * glyph), int(glyph)  # (a band a few characters wide: one has gaps across it, 二)
    gap = max(2, int(glyph / 6))
    for a, b in runs(np.flatnonzero(cuts)):
        lo, hi = max(0, x + a - wide), x + b + wide
        ups = text[max(0, y - span):y, lo:hi].any(axis=1)[::-1]
        downs = text[y + h:min(H, y + h + span), lo:hi].any(axis=1)
        if min(_ink_extent(ups, gap), _ink_extent(downs, gap)) >= 0.7 * glyph:
            out[a:b] = True
    return out


def _ink_extent(inked: np.ndarray, gap: int) -> int:
    """Rows of ink from the first row on (rows without ink at the start, where the ink stops short of the stroke,
    are allowed), up to the first run of more than `gap` rows without ink: the gaps inside a character are
    shorter."""
    rows = np.flatnonzero(inked)
    if not len(rows) or rows[0] > 4:
        return 0
    breaks = np.flatnonzero(np.diff(rows) > gap + 1)
    end = rows[breaks[0]] if len(breaks) else rows[-1]
    return int(end - rows[0] + 1)


def _pressed(line: np.ndarray, own: np.ndarray, text: np.ndarray, ax: int, near: int) -> np.ndarray:
    """Along the stroke: where characters come within `near` px of `line` (part of the stroke `own`) on both
    sides."""
    sides = []
    for sign in (-1, 1):
        ring = np.zeros_like(line)
        for d in range(2, near + 3):
            ring |= np.roll(line, sign * d, axis=ax)
        ring &= ~own
        sides.append((ring & text).any(axis=ax))
    return sides[0] & sides[1]


def _densest_line(own: np.ndarray, axis: int, half: int = 2) -> np.ndarray:
    """The stroke `own` cut down to the few px around its densest row (axis 0) or column (axis 1), when it is much
    thicker than a rule; else the stroke itself."""
    counts = own.sum(axis=1 if axis == 0 else 0)
    if np.count_nonzero(counts) <= 2 * half + 2:
        return own
    at = int(np.argmax(counts))
    band = np.zeros_like(own)
    if axis == 0:
        band[max(0, at - half):at + half + 1, :] = True
    else:
        band[:, max(0, at - half):at + half + 1] = True
    return own & band


def _keep_anchored(mask: np.ndarray, other: np.ndarray, ink: np.ndarray, axis: int, long_enough: int, reach: int,
                   side: int, thick: int) -> np.ndarray:
    """Keep thin strokes that end on strokes of the other direction and have mostly paper on both sides (a
    character's stroke has the rest of the character beside it)."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    keep = np.zeros(n, dtype=bool)
    H, W = mask.shape

    pen = _pen_width(stats, axis, long_enough)
    for i in range(1, n):
        x, y, w, h, area = stats[i]
        length = w if axis == 0 else h
        # The edge of the sheet in a photo (or a scanner lid's shadow): long, and hugging the border.
        if axis == 1 and h > 0.5 * H and (x < 0.025 * W or x + w > 0.975 * W):
            continue
        if axis == 0 and w > 0.5 * W and (y < 0.02 * H or y + h > 0.98 * H):
            continue
        if area / max(1, length) > thick:  # a bar of bold text, not a rule
            continue
        if length >= long_enough:  # far longer than any run of text: a rule, unless ink fills both its sides
            # (or it is far thicker than the page's rules and meets none of them: a line of blurred bold
            # characters run together, in the middle of a cell)
            # A streak laid over a rule is thicker than the rules too, but crosses the table's rules of the other
            # direction on its way: no characters' bar does.
            bar = (area / max(1, length) > 1.5 * pen and not _meets(other, x, y, w, h, axis, reach)
                   and len(_crossings(other, x, y, w, h, axis, reach)) < 2)
            if not bar and (axis == 1 and not _stacked_strokes(ink[y:y + h, x:x + w])
                            or axis == 0 and _bare_somewhere(labels == i, ink, x, y, w, h, side)):
                keep[i] = True
            continue
        if not _both_ends_meet(other, x, y, w, h, axis, reach):  # (cheap: tested first)
            continue
        # Paper beside the stroke, following it (scans bend long lines): near = just beside, far = a few px out.
        pad = 3 * side + 2
        ya, yb, xa, xb = max(0, y - pad), min(H, y + h + pad), max(0, x - pad), min(W, x + w + pad)
        own = labels[ya:yb, xa:xb] == i
        paper = ink[ya:yb, xa:xb] == 0
        near = [_beside_density(own, paper, axis, sign, 1, side) for sign in (-1, 1)]
        if max(near) > 0.45:  # a rule has paper on both sides, bar where text touches it
            continue
        if axis == 1:  # a stroke inside a line of text has the neighbouring characters left and right of it
            # The row rules it crosses are no characters: on a column rule two rows long (a table's last rows,
            # carried onto the next page) they are a fifth of its length. Only for a stroke two rows long, no
            # thicker than the page's rules, crossing a rule between its ends, its ink unbroken: the strokes of a
            # fax's characters, joined to the rules around them, are shorter or blotchier, or break off at each.
            lines = other[ya:yb, xa:xb] > 0
            crossing = lines[:, :pad].any(axis=1) & lines[:, -pad:].any(axis=1)
            top, row = y - ya, long_enough // 6  # (long_enough: six rows)
            if h >= 2 * row and w <= 1.5 * pen + 1 and crossing[top + row // 2:top + h - row // 2].any() \
                    and not _stacked_strokes(ink[y:y + h, x:x + w], least=2):
                paper = paper | (lines & crossing[:, None])
            far = [_beside_density(own, paper, axis, sign, 1, 3 * side) for sign in (-1, 1)]
            if min(far) > 0.2:
                continue
        keep[i] = True
    return np.where(keep[labels], 255, 0).astype(np.uint8)


def _both_ends_meet(other: np.ndarray, x: int, y: int, w: int, h: int, axis: int, reach: int) -> bool:
    """Whether both ends of a stroke lie on (or within `reach` of) a stroke of the other direction."""
    H, W = other.shape

    def touches(xa: int, xb: int, ya: int, yb: int) -> bool:
        return bool(other[max(0, ya):min(H, yb), max(0, xa):min(W, xb)].any())

    if axis == 0:
        return (touches(x - reach, x + reach + 1, y - reach, y + h + reach)
                and touches(x + w - 1 - reach, x + w + reach, y - reach, y + h + reach))
    return (touches(x - reach, x + w + reach, y - reach, y + reach + 1)
            and touches(x - reach, x + w + reach, y + h - 1 - reach, y + h + reach))


def _stacked_strokes(strip: np.ndarray, least: int = 3) -> bool:
    """A vertical stroke made of the strokes of characters one above the other (the left sides of a column of "0"s,
    row after row, closed over the gaps between them and the row rules): its ink breaks off above and below every
    character. A rule's ink runs on, bar a nibbled pixel or two."""
    inked = strip.any(axis=1)
    gaps = [(a, b) for a, b in runs(np.flatnonzero(~inked)) if b - a >= 2]
    return len(gaps) >= least and sum(b - a for a, b in gaps) >= 0.08 * len(inked)


def _pen_width(stats: np.ndarray, axis: int, long_enough: int) -> float:
    """The thickness of the page's rules: the length-weighted median of the long strokes' mean thickness (one pen
    draws a table's rules)."""
    length = stats[1:, cv2.CC_STAT_WIDTH if axis == 0 else cv2.CC_STAT_HEIGHT].astype(float)
    long = length >= long_enough
    if not long.any():
        return float("inf")
    width = stats[1:, cv2.CC_STAT_AREA][long] / length[long]
    order = np.argsort(width)
    weight = np.cumsum(length[long][order])
    return float(width[order][np.searchsorted(weight, weight[-1] / 2)])


def _meets(other: np.ndarray, x: int, y: int, w: int, h: int, axis: int, reach: int) -> bool:
    """Whether either end of a stroke lies on a stroke of the other direction."""
    H, W = other.shape
    if axis == 0:
        ends = ((x - reach, x + reach + 1), (x + w - 1 - reach, x + w + reach))
        return any(other[max(0, y - reach):min(H, y + h + reach), max(0, a):min(W, b)].any() for a, b in ends)
    ends = ((y - reach, y + reach + 1), (y + h - 1 - reach, y + h + reach))
    return any(other[max(0, a):min(H, b), max(0, x - reach):min(W, x + w + reach)].any() for a, b in ends)


def _crossings(other: np.ndarray, x: int, y: int, w: int, h: int, axis: int, reach: int) -> list[tuple[int, int]]:
    """Where strokes of the other direction cross (or touch) a stroke, as spans along its length."""
    H, W = other.shape
    if axis == 0:
        along = other[max(0, y - reach):min(H, y + h + reach), x:x + w].any(axis=0)
    else:
        along = other[y:y + h, max(0, x - reach):min(W, x + w + reach)].any(axis=1)
    return runs(np.flatnonzero(along))


def _bare_somewhere(own: np.ndarray, ink: np.ndarray, x: int, y: int, w: int, h: int, side: int) -> bool:
    """A long horizontal stroke is a rule when paper lies along it just above or just below: a bar that bold
    characters run together into has their other strokes on both sides."""
    H, W = ink.shape
    pad = side + 1
    ya, yb = max(0, y - pad), min(H, y + h + pad)
    own = own[ya:yb, x:x + w]
    paper = ink[ya:yb, x:x + w] == 0
    return min(_beside_density(own, paper, 0, sign, 1, side) for sign in (-1, 1)) <= 0.45


def _beside_density(own: np.ndarray, paper: np.ndarray, axis: int, sign: int, start: int, stop: int) -> float:
    """Share of ink in the pixels `start`..`stop` px beside the stroke `own` (above/below for horizontal strokes,
    left/right for vertical ones), not counting the stroke itself."""
    ring = np.zeros_like(own)
    for d in range(start, stop + 1):
        ring |= np.roll(own, sign * d, axis=0 if axis == 0 else 1)
    ring &= ~own
    total = int(ring.sum())
    return float((ring & ~paper).sum()) / total if total else 0.0


def _segments(mask: np.ndarray, axis: int) -> list[tuple[float, int, int, int]]:
    """Line segments as (position across, start along, end along, thickness); axis 0 = horizontal lines."""
    n, labels, stats, cents = cv2.connectedComponentsWithStats(mask, connectivity=8)
    segs = []
    for i in range(1, n):
        x, y, w, h, _ = stats[i]
        pos = float(cents[i][1] if axis == 0 else cents[i][0])
        across = h if axis == 0 else w
        if axis == 1 and across >= 6:  # a wavering streak joined to a rule: the rule is where the stroke is densest
            own = labels[y:y + h, x:x + w] == i
            counts = own.sum(axis=1 if axis == 0 else 0)
            pos = float((y if axis == 0 else x) + int(np.argmax(counts)))
        if axis == 0:
            segs.append((pos, int(x), int(x + w), int(h)))
        else:
            segs.append((pos, int(y), int(y + h), int(w)))
    return segs


def _join_broken(segs: list[tuple[float, int, int, int]], tol: float, max_gap: float
                 ) -> list[tuple[float, int, int, int]]:
    """Pieces of one rule broken by the scan (a fax drops pixels of thin lines), end to end at the same position
    with a gap shorter than a character, as one segment: each piece alone may stop in the middle of a cell."""
    lines: list[list[tuple[float, int, int, int]]] = []  # pieces at one position
    for seg in sorted(segs):
        if lines and seg[0] - lines[-1][-1][0] <= tol:
            lines[-1].append(seg)
        else:
            lines.append([seg])
    out = []
    for pieces in lines:
        cur = None
        for pos, start, end, thick in sorted(pieces, key=lambda s: s[1]):
            if cur and start - cur[2] <= max_gap:
                a, b = cur[2] - cur[1], end - start
                cur = [(cur[0] * a + pos * b) / max(1, a + b), cur[1], max(cur[2], end), max(cur[3], thick)]
            else:
                if cur:
                    out.append(tuple(cur))
                cur = [pos, start, end, thick]
        out.append(tuple(cur))
    return [(p, int(a), int(b), int(t)) for p, a, b, t in out]


def _cluster(values: list[tuple[float, float]], tol: float, min_gap: float = 0.0) -> list[float]:
    """Weighted 1-D clustering: positions closer than tol are one line (weights = segment lengths). Then lines
    closer than min_gap (a double rule, text touching a line) keep only the better supported one."""
    if not values:
        return []
    values = sorted(values)
    groups, cur = [], [values[0]]
    for v in values[1:]:
        if v[0] - cur[-1][0] <= tol:
            cur.append(v)
        else:
            groups.append(cur)
            cur = [v]
    groups.append(cur)
    lines = [(sum(p * w for p, w in g) / sum(w for _, w in g), sum(w for _, w in g)) for g in groups]
    out = [lines[0]]
    for pos, weight in lines[1:]:
        if pos - out[-1][0] < min_gap:
            if weight > out[-1][1]:
                out[-1] = (pos, weight)
        else:
            out.append((pos, weight))
    return [p for p, _ in out]


def find_tables(ink: np.ndarray, rulings: Rulings, dpi: float, min_rows: int = 2, min_cols: int = 2,
                text: np.ndarray | None = None) -> list[Grid]:
    """Every ruled table on the page, top to bottom. With `text` (the ink without rulings), a table ruled only
    across (no column rules) gets its columns from the gaps between its text."""
    h, w = ink.shape
    glyph = glyph_height(text, dpi) if text is not None else dpi / 7.5
    frame = cv2.bitwise_or(rulings.horizontal, rulings.vertical)
    # Join the rules of one table, also rows ruled only across (most rows are under ~0.45 inch tall).
    frame = cv2.dilate(frame, cv2.getStructuringElement(cv2.MORPH_RECT, (5, max(5, int(dpi * 0.45)))))
    n, _, stats, _ = cv2.connectedComponentsWithStats(frame, connectivity=8)
    boxes = [(x, y, x + bw, y + bh) for x, y, bw, bh, _ in stats[1:] if bw >= w * 0.2]
    grids = []
    regions = []
    for x0, y0, x1, y1 in _join_tall_rows(boxes, text, dpi):
        if y1 - y0 >= dpi * 0.25:
            regions += _split_at_unruled_bands(rulings, (x0, y0, x1, y1), 1.5 * glyph, text)
    for region in regions:
        grid = grid_in_region(rulings, region, dpi, text=text, glyph=glyph)
        # A lone ruled row of several cells is a table too: the last row of one, carried onto the next page.
        lone_row = grid and grid.n_rows == 1 and grid.n_cols >= 3 and not grid.columns_from_text
        if grid and (grid.n_rows >= min_rows and grid.n_cols >= min_cols or lone_row):
            grids.append(grid)
    grids.sort(key=lambda g: (g.y0, g.x0))
    return _join_split_tables(grids, rulings, dpi, text, glyph)


def _join_tall_rows(boxes: list[tuple[int, int, int, int]], text: np.ndarray | None, dpi: float
                    ) -> list[tuple[int, int, int, int]]:
    """Rows taller than the join distance (labels of three lines) cut a table into pieces. Two pieces one above the
    other with the same right edge are one table when the band between them has ink at its right end: the numbers
    of the total column. A heading between two tables leaves that end empty."""
    out: list[tuple[int, int, int, int]] = []
    tol = max(6, int(dpi / 15))
    for box in sorted(boxes, key=lambda b: b[1]):
        if out and text is not None:
            x0, y0, x1, y1 = out[-1]
            bx0, by0, bx1, by1 = box
            right = min(x1, bx1)
            band = text[y1:by0, right - max(tol, (right - max(x0, bx0)) // 8):right - tol // 2]
            if (abs(x1 - bx1) <= tol and 0 <= by0 - y1 <= dpi * 0.8 and band.size
                    and np.count_nonzero(band) >= (dpi / 25) ** 2):
                out[-1] = (min(x0, bx0), y0, max(x1, bx1), by1)
                continue
        out.append(box)
    return out


def _split_at_headings(rulings: Rulings, region: tuple[int, int, int, int], text: np.ndarray | None, line: float
                       ) -> list[tuple[int, int, int, int]]:
    """Tables ruled only across, one under the other with a heading between: they come apart at a band between two
    rules taller than a row of one line whose right part is empty (a heading sits left; a table's rows have their
    numbers there, its header rows their column labels)."""
    x0, y0, x1, y1 = region
    if text is None:
        return [region]
    ruled = np.flatnonzero(rulings.horizontal[y0:y1, x0:x1].any(axis=1))
    if ruled.size < 2:
        return [region]
    lines = [a for a, _ in runs(ruled)]
    right = text[y0:y1, x0 + int(0.6 * (x1 - x0)):x1]
    out, start = [], 0
    for a, b in zip(lines, lines[1:]):
        # (line: a text line's height with its padding; a few specks of a grainy scan are not numbers)
        if b - a >= 1.7 * line and np.count_nonzero(right[a + 3:b - 2]) < line:
            cut = (a + b) // 2
            out.append((x0, y0 + start, x1, y0 + cut))
            start = cut
    out.append((x0, y0 + start, x1, y1))
    return out


def _split_at_unruled_bands(rulings: Rulings, region: tuple[int, int, int, int], min_run: float,
                            text: np.ndarray | None = None) -> list[tuple[int, int, int, int]]:
    """Two ruled tables joined by the row-joining dilation (a heading between them) come apart where no column
    rule at all crosses a band taller than a text line. Tables without column rules: see _split_at_headings."""
    x0, y0, x1, y1 = region
    vmask = rulings.vertical[y0:y1, x0:x1]
    if not vmask.any():
        return _split_at_headings(rulings, region, text, min_run)
    # Every row of a ruled table is crossed by two strokes at least (its side frame); a band crossed by one alone
    # is a gap between two tables that a streak runs through. What is left of a streak cut back is no crossing
    # (two streaks through the gap joined two tables).
    vmask = vmask > 0
    for a, b in rulings.streaks[1]:
        vmask[:, max(0, a - x0):max(0, b - x0)] = False
    edges = np.diff(vmask.astype(np.int8), axis=1, prepend=0)
    crossed = (edges == 1).sum(axis=1) >= 2
    out, start, y = [], 0, 0
    n = len(crossed)
    while y < n:
        if not crossed[y]:
            run = y
            while y < n and not crossed[y]:
                y += 1
            if y - run >= min_run and run > 0 and y < n:
                cut = (run + y) // 2
                out.append((x0, y0 + start, x1, y0 + cut))
                start = cut
        y += 1
    out.append((x0, y0 + start, x1, y1))
    return out


def glyph_height(text: np.ndarray, dpi: float, fallback: float | None = None) -> float:
    """Median height of the characters on the page (px): the unit for the smallest row or column. A photo or a
    small font makes it smaller than the DPI suggests."""
    n, _, stats, _ = cv2.connectedComponentsWithStats(text, connectivity=8)
    hs = stats[1:, cv2.CC_STAT_HEIGHT]
    ws = stats[1:, cv2.CC_STAT_WIDTH]
    ok = (hs >= dpi / 30) & (hs <= dpi / 2) & (ws <= 3 * hs)
    if ok.sum() < 20:
        return fallback or dpi / 7.5
    return float(np.percentile(hs[ok], 75))


def _join_split_tables(grids: list[Grid], rulings: Rulings, dpi: float, text: np.ndarray | None,
                       glyph: float) -> list[Grid]:
    """Rows taller than the join distance (three-line labels) split a table ruled only across into pieces; pieces
    one above the other, with the same left and right edges, and whose union has the same columns, are one table."""
    out: list[Grid] = []
    tol = max(4.0, dpi / 30.0)
    for g in grids:
        prev = out[-1] if out else None
        if (prev and prev.columns_from_text and g.columns_from_text and 0 <= g.y0 - prev.y1 <= dpi * 0.8
                and abs(g.x0 - prev.x0) <= 2 * tol and abs(g.x1 - prev.x1) <= 2 * tol):
            union = grid_in_region(rulings, (min(prev.x0, g.x0), prev.y0, max(prev.x1, g.x1), g.y1), dpi, text=text,
                                   glyph=glyph)
            if union and union.n_cols == prev.n_cols and union.n_rows >= prev.n_rows + g.n_rows:
                out[-1] = union
                continue
        out.append(g)
    return out


def grid_in_region(rulings: Rulings, region: tuple[int, int, int, int], dpi: float, present: float = 0.55,
                   text: np.ndarray | None = None, glyph: float | None = None) -> Grid | None:
    x0, y0, x1, y1 = region
    hmask = rulings.horizontal[y0:y1, x0:x1]
    vmask = rulings.vertical[y0:y1, x0:x1]
    tol = max(4.0, dpi / 30.0)
    reach = max(3.0, dpi / 30.0)  # how far a rule's end may stop short of the rule it meets
    if text is not None:  # a table's text can be smaller than the page's: measure it inside the table
        glyph = glyph_height(text[y0:y1, x0:x1], dpi, fallback=glyph)
    glyph = glyph or dpi / 7.5
    gap = 1.15 * glyph  # no row or column is narrower than a line of text with its padding
    hsegs = [s for s in _segments(hmask, 0) if s[2] - s[1] >= (x1 - x0) * 0.04]
    vsegs = [s for s in _join_broken(_segments(vmask, 1), tol / 2, glyph) if s[2] - s[1] >= dpi / 8]
    vsegs = [_trim_to_rules(s, hmask, tol, reach, 1.2 * glyph) for s in vsegs]
    # A ruling runs from one line of the other direction to another; a text stroke that slipped through the
    # masks does not. Rows first (long, reliable), then columns between rows, then rows again between columns.
    rows = _cluster([(p, e - s) for p, s, e, _ in hsegs], tol, gap)
    if hsegs:  # a rule ends at the frame (the outer long rules): a stroke running on past it is a streak joined to it
        longest = max(e - s for _, s, e, _ in hsegs)
        frame = [p for p, s, e, _ in hsegs if e - s >= 0.3 * longest]
        top, bottom = int(min(frame)), int(round(max(frame))) + 1
        vsegs = [(p, max(s, top), min(e, bottom), t) for p, s, e, t in vsegs]
        vsegs = [s for s in vsegs if s[2] - s[1] >= dpi / 8]
    whole = [s for s in vsegs if _spans(s, rows, reach) and _ends_on_rules(s, hmask, tol, reach)]
    # Every rule down, whole or not: where a faded rule may lie, and where a row rule may start or end (the border
    # of a merged label beside some rows only: a 100-DPI fax lost the rows under it with it).
    stops = [p for p, _, _, _ in vsegs]
    if len(_cluster([(p, e - s) for p, s, e, _ in whole], tol, gap)) >= 4:
        # A table ruled down (its frame and two inner rules at least; a streak across a table ruled only across is
        # no evidence of one) may have a rule that fades out mid-row.
        inner_text = text[y0:y1, x0:x1] if text is not None else None
        faded = [_faded_rule(s, rows, stops, reach, inner_text, glyph) for s in vsegs if s not in whole]
        whole += [s for s in faded if s is not None and _spans(s, rows, reach) and _ends_on_rules(s, hmask, tol, reach)]
    vsegs = whole
    cols = _cluster([(p, e - s) for p, s, e, _ in vsegs], tol, gap)
    if len(cols) >= 3:  # (with no column rules inside, rows under a merged label start further right: keep them)
        hsegs = [s for s in hsegs if _spans(s, sorted({*cols, *stops}), reach)] or hsegs
    rows = _cluster([(p, e - s) for p, s, e, _ in hsegs], tol, gap)
    # A table always has its outer frame; when the scan lost an edge, the extent of the other lines stands in. Not
    # within a line of text of the outermost rule found: no cell fits there, the rule is the frame (a bent sheet's
    # frame, straightened, leaves two rules a few px apart, and the rows' ends reach the outer one).
    if hsegs and vsegs:
        top, bottom = min(s[1] for s in vsegs), max(s[2] for s in vsegs)
        left, right = min(s[1] for s in hsegs), max(s[2] for s in hsegs)
        edge = max(tol * 2, gap)
        if not rows or rows[0] - top > edge:
            rows.insert(0, float(top))
        if rows[-1] < bottom - edge:
            rows.append(float(bottom))
        if not cols or cols[0] - left > edge:
            cols.insert(0, float(left))
        if cols[-1] < right - edge:
            cols.append(float(right))
    if text is not None and rows and cols and (rulings.streaks[0] or rulings.streaks[1]):
        # A streak that slipped through between the text of every row (or column) splits off a band holding none.
        # Only where a streak was cut: a band without text is otherwise a real one (blank cells, a narrow margin
        # between separately ruled cells).
        inner = text[y0:y1, x0:x1]
        cols = _drop_empty_splits(cols, inner[int(rows[0]):int(rows[-1]) + 1], 1, dpi,
                                  [(a - x0, b - x0) for a, b in rulings.streaks[1]], tol)
        rows = _drop_empty_splits(rows, inner[:, int(cols[0]):int(cols[-1]) + 1], 0, dpi,
                                  [(a - y0, b - y0) for a, b in rulings.streaks[0]], tol)
    from_text = False
    if len(cols) < 3 and len(rows) >= 4 and text is not None and hsegs:
        # Ruled across only: columns where the rows' text leaves a gap.
        left, right = min(s[1] for s in hsegs), max(s[2] for s in hsegs)
        cols, vmask = columns_from_text(text[y0:y1, x0:x1], rows, left, right, dpi, gap)
        from_text = True
    if len(rows) < 2 or len(cols) < 2:
        return None
    thick = max(2, int(round(tol / 2)))
    if text is not None and not from_text and len(cols) >= 4:
        rows, hmask = _split_stacked_rows(rows, cols, text[y0:y1, x0:x1], hmask, glyph, thick)
    nr, nc = len(rows) - 1, len(cols) - 1

    def has_vline(x: float, ya: float, yb: float) -> bool:
        xi = int(round(x))
        m = int((yb - ya) * 0.15)
        strip = vmask[int(ya) + m:int(yb) - m, max(0, xi - thick):xi + thick + 1]
        return strip.size > 0 and (strip.max(axis=1) > 0).mean() >= present

    inner = text[y0:y1, x0:x1] if text is not None and not from_text else None
    clear = max(4, int(0.4 * glyph))  # no character of a cell comes this close to its border
    some_ink = max(6, int((glyph / 4) ** 2))

    def parted_by_text(x: float, xa: float, xb: float, ya: float, yb: float) -> bool:
        """A column rule too faint to see between two cells that both hold text, none of it across the rule's
        place: the numbers of neighbouring value cells keep to their own cells, a label merged over both crosses."""
        if inner is None:
            return False
        m = max(3, int(0.15 * (yb - ya)))  # (stubs of the faint rule stay where it meets the row rules)
        band = inner[int(ya) + m:int(yb) - m]
        xi = int(round(x))
        if np.count_nonzero(band[:, max(0, xi - clear):xi + clear + 1]) > 4:  # (a speck or two may lie there)
            return False
        left = band[:, int(xa) + 3:max(int(xa) + 3, xi - clear)]
        right = band[:, xi + clear + 1:int(xb) - 2]
        return _text_ink(left) >= some_ink and _text_ink(right) >= some_ink

    def has_hline(y: float, xa: float, xb: float) -> bool:
        yi = int(round(y))
        m = int((xb - xa) * 0.15)
        strip = hmask[max(0, yi - thick):yi + thick + 1, int(xa) + m:int(xb) - m]
        return strip.size > 0 and (strip.max(axis=0) > 0).mean() >= present

    parent = list(range(nr * nc))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for r in range(nr):
        for c in range(nc):
            if c + 1 < nc and not (has_vline(cols[c + 1], rows[r], rows[r + 1])
                                   or parted_by_text(cols[c + 1], cols[c], cols[c + 2], rows[r], rows[r + 1])):
                parent[find(r * nc + c + 1)] = find(r * nc + c)
            if r + 1 < nr and not has_hline(rows[r + 1], cols[c], cols[c + 1]):
                parent[find((r + 1) * nc + c)] = find(r * nc + c)
    groups: dict[int, list[tuple[int, int]]] = {}
    for r in range(nr):
        for c in range(nc):
            groups.setdefault(find(r * nc + c), []).append((r, c))
    cells, taken = [], set()

    def add(r0: int, r1: int, c0: int, c1: int) -> None:
        cells.append(GridCell(r0, c0, r1 - r0 + 1, c1 - c0 + 1, cols[c0] + x0, rows[r0] + y0,
                              cols[c1 + 1] + x0, rows[r1 + 1] + y0))

    for slots in sorted(groups.values(), key=lambda s: min(s)):
        r0, r1 = min(r for r, _ in slots), max(r for r, _ in slots)
        c0, c1 = min(c for _, c in slots), max(c for _, c in slots)
        # A non-rectangular group (a label crossing a missing column line, a broken line leaking) would swallow other
        # cells as its bounding rectangle: each column's run of its slots is a cell instead.
        box = {(r, c) for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)}
        if box & taken or len(box) > len(slots):
            for c in sorted({c for _, c in slots}):
                for a, b in runs(np.array(sorted(r for r, cc in slots if cc == c and (r, cc) not in taken))):
                    add(a, b - 1, c, c)
                    taken |= {(r, c) for r in range(a, b)}
            continue
        taken |= box
        add(r0, r1, c0, c1)
    cells.sort(key=lambda g: (g.row, g.col))
    # The table's own extent (its outer lines), not the region searched, which may reach further.
    return Grid(x0=int(cols[0] + x0), y0=int(rows[0] + y0), x1=int(round(cols[-1] + x0)),
                y1=int(round(rows[-1] + y0)), rows=[r + y0 for r in rows], cols=[c + x0 for c in cols], cells=cells,
                columns_from_text=from_text)


def _split_stacked_rows(rows: list[float], cols: list[float], text: np.ndarray, hmask: np.ndarray, glyph: float,
                        thick: int) -> tuple[list[float], np.ndarray]:
    """A row rule lost to noise (a fax's faded line) leaves two rows as one: most of its cells then hold two lines
    of text, one above the other, parted at one height. A label wrapped over two lines is one cell of a row; the
    numbers beside it keep to one line. The row is cut there, and the cut drawn as a rule in the cells whose text
    it does not cross (a label merged over both rows stays one cell)."""
    heights = np.diff(rows)
    if len(heights) < 3:
        return rows, hmask
    usual = float(np.median(heights))
    out, mask = [rows[0]], hmask
    for a, b in zip(rows, rows[1:]):
        if b - a >= max(1.6 * usual, 2.2 * glyph):
            cut = _stacked_cut(text[int(a) + thick + 1:int(b) - thick], cols, glyph, thick)
            if cut is not None:
                y = int(a) + thick + 1 + cut
                if mask is hmask:
                    mask = hmask.copy()
                for c0, c1 in zip(cols, cols[1:]):
                    if not text[y - 1:y + 2, int(c0) + thick + 1:int(c1) - thick].any():
                        mask[max(0, y - 1):y + 2, int(c0):int(c1) + 1] = 255
                out.append(float(y))
        out.append(b)
    return out, mask


def _stacked_cut(band: np.ndarray, cols: list[float], glyph: float, thick: int) -> int | None:
    """The height (in `band`) between two lines of text that most of the row's cells hold one above the other;
    None where they do not."""
    gaps, inked = [], 0
    for c0, c1 in zip(cols, cols[1:]):
        cell = band[:, int(c0) + thick + 1:int(c1) - thick]
        lines = [(a, b) for a, b in runs(np.flatnonzero((cell > 0).sum(axis=1) >= 2)) if b - a >= 0.4 * glyph]
        lines = _close_runs(lines, max(1, int(glyph / 8)))
        if lines:
            inked += 1
        if len(lines) == 2:
            gaps.append((lines[0][1], lines[1][0]))
    # Three cells at least; two where the table has three or four columns (section 二's small tables share the
    # columns of the one above them: a label and one value under a heading, the value's cell over three columns).
    least = 2 if len(cols) <= 5 else 3
    if len(gaps) < least or len(gaps) < 0.6 * inked:
        return None
    mid = int(np.median([(a + b) / 2 for a, b in gaps]))
    return mid if sum(a <= mid <= b for a, b in gaps) >= 0.8 * len(gaps) else None


def _close_runs(spans: list[tuple[int, int]], gap: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in spans:
        if out and a - out[-1][1] <= gap:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def columns_from_text(text: np.ndarray, rows: list[float], left: int, right: int, dpi: float, gap: float
                      ) -> tuple[list[float], np.ndarray]:
    """Column lines of a table without column rules: x positions left empty by the text of most rows; and a
    stand-in mask of column rules, drawn in each row where no text crosses (so a label spanning columns merges)."""
    h, w = text.shape
    # Drop specks; characters (and the space in "(三) 不予") of one cell are close: smear them into one run.
    text = cv2.morphologyEx(text, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (2, 2)))
    smear = cv2.dilate(text, cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, int(dpi / 12)), 1)))
    bands = [(int(a) + 2, int(b) - 2) for a, b in zip(rows, rows[1:]) if b - a > dpi / 10]
    if not bands:
        return [float(left), float(right)], np.zeros_like(text)
    occupied = np.array([smear[a:b, :].any(axis=0) for a, b in bands])  # bands x width
    inked = occupied.any(axis=1)
    if inked.sum() < 2:
        return [float(left), float(right)], np.zeros_like(text)
    # Rows of numbers (many separate runs) say more about the columns than header rows whose labels span several.
    # (squared: one row of numbers under a two-level header must outvote the header rows whose labels span columns)
    pieces_per_row = np.array([max(1, int(np.count_nonzero(np.diff(o.astype(np.int8)) == 1))) for o in occupied],
                              dtype=float)
    weights = pieces_per_row ** 2 * inked
    empty = 1.0 - (occupied * weights[:, None]).sum(axis=0) / weights.sum()
    # A number in a row of numbers has a column of its own, however few rows have text there: tables of different
    # columns stacked in one frame (section 二) leave their last value column nearly empty.
    # (A row of numbers: a label, then pieces a few digits wide and one line high; not a row of wrapped headings.)
    for (top, bottom), o in zip(bands, occupied):
        values = runs(np.flatnonzero(o))[1:]
        if len(values) >= 2 and all(b - a <= 3 * gap and _one_line(text[top:bottom, a:b], gap) for a, b in values):
            for a, b in values:
                empty[a:b] = np.minimum(empty[a:b], 0.5)
    lo = max(left, int(np.argmax(occupied.any(axis=0))))
    hi = min(right, w - int(np.argmax(occupied.any(axis=0)[::-1])))
    cols = [float(left)]
    x, min_run = lo, max(3, int(dpi / 25))
    while x < hi:
        if empty[x] >= 0.6:
            start = x
            while x < hi and empty[x] >= 0.6:
                x += 1
            if x - start >= min_run and x < hi:
                # Where the most rows are empty (header labels are wider than the numbers below them); a wide run
                # over sparse label columns can hold several such places, each a column line.
                run = empty[start:x]
                best = np.flatnonzero(run >= run.max() - 0.05)
                pieces = runs(best)
                if len(pieces) > 1:  # several places only where (nearly) every row is empty there
                    pieces = [(a, b) for a, b in pieces if run[a:b].max() >= 0.9] or pieces[:1]
                cols.extend(start + (a + b - 1) / 2.0 for a, b in pieces)
        x += 1
    cols.append(float(right))
    # No column is narrower than a character with its padding: of two lines closer, keep the emptier.
    spaced: list[float] = []
    for c in cols[1:-1]:
        if c - cols[0] < gap or cols[-1] - c < gap:
            continue
        if spaced and c - spaced[-1] < gap:
            if empty[int(c)] > empty[int(spaced[-1])]:
                spaced[-1] = c
            continue
        spaced.append(c)
    cols = [cols[0], *spaced, cols[-1]]
    # A column with text in no row is a gap split in two (specks, ragged text): keep one line in its middle.
    kept = [cols[0]]
    for c in cols[1:]:
        a, b = int(kept[-1]), int(c)
        if len(kept) > 1 and not occupied[:, a + 1:max(a + 2, b - 1)].any():
            kept[-1] = (kept[-1] + c) / 2.0
        else:
            kept.append(c)
    if len(kept) > 2 and not occupied[:, int(kept[-2]) + 1:int(kept[-1]) - 1].any():
        del kept[-2]
    cols = kept
    vmask = np.zeros_like(text)
    for c in cols:
        ci = int(round(c))
        for (a, b), occ in zip(bands, occupied):
            if not occ[max(0, ci - 1):ci + 2].any():
                vmask[a - 2:b + 2, max(0, ci - 1):ci + 1] = 255
    return cols, vmask


def _one_line(piece: np.ndarray, gap: float) -> bool:
    inked = np.flatnonzero(piece.any(axis=1))
    return len(inked) > 0 and inked[-1] - inked[0] < gap


def _spans(seg: tuple[float, int, int, int], lines: list[float], tol: float) -> bool:
    """Does the segment start at one line and end at another (or cross lines on the way)? It may stop short of a
    line by 2 * tol (an end a bend or a light copy left faint) and run past it (a crossing, a serif of the scan) by
    3 * tol."""
    _, start, end, _ = seg
    inside = [v for v in lines if start - tol <= v <= end + tol]
    if len(inside) < 2:
        return False
    first = min(lines, key=lambda v: abs(v - start))
    last = min(lines, key=lambda v: abs(v - end))
    return first < last and -2 * tol <= first - start <= 3 * tol and -2 * tol <= end - last <= 3 * tol


def _text_ink(band: np.ndarray) -> int:
    """Ink pixels of a row's band that could be text: not in the pixel columns inked nearly all the way down the
    band (a streak crossing the row)."""
    if band.size == 0:
        return 0
    inked = band > 0
    # (a streak wobbles by a pixel: a column and its neighbours together)
    near = cv2.dilate(band, np.ones((1, 3), np.uint8)) > 0
    tall = cv2.dilate((near.mean(axis=0) >= 0.8).astype(np.uint8)[None, :], np.ones((1, 3), np.uint8))[0] > 0
    return int(np.count_nonzero(inked[:, ~tall]))


def _faded_rule(seg: tuple[float, int, int, int], rows: list[float], others: list[float], tol: float,
                text: np.ndarray | None, glyph: float) -> tuple[float, int, int, int] | None:
    """A column rule that fades out part way down a row (a light rule on a bad copy) still parts the cells of the
    rows it crosses whole: the segment cut back to the first and last row lines it crosses, when it crosses two or
    more and every row it crosses has text on both sides of it, up to the next rules (`others`): numbers in both
    neighbouring cells (a streak's remnant runs beside an empty margin). None otherwise."""
    pos, start, end, thick = seg
    crossed = [r for r in rows if start - tol <= r <= end + tol]
    if len(crossed) < 2 or text is None:
        return None
    x, clear, far = int(round(pos)), max(4, int(0.4 * glyph)), 6 * glyph
    lo = max([o for o in others if pos - far <= o < pos - clear] or [pos - far])
    hi = min([o for o in others if pos + clear < o <= pos + far] or [pos + far])
    for a, b in zip(crossed, crossed[1:]):
        band = text[int(a) + 3:int(b) - 2]
        left, right = band[:, max(0, int(lo) + 3):max(0, x - clear)], band[:, x + clear + 1:max(0, int(hi) - 2)]
        if _text_ink(left) < 6 or _text_ink(right) < 6:
            return None
    return pos, int(round(crossed[0])), int(round(crossed[-1])), thick


def _drop_empty_splits(lines: list[float], text: np.ndarray, axis: int, dpi: float,
                       streaks: list[tuple[int, int]], tol: float) -> list[float]:
    """Inner lines with no text at all on one side, up to the next line, in the whole table: every real row and
    column holds a label or a number somewhere; a streak between two rules makes a band with nothing in it."""
    min_ink = max(4, int((dpi / 50) ** 2))
    out = list(lines)
    i = 1
    while i < len(out) - 1:
        def ink(a: float, b: float) -> int:
            lo, hi = int(a) + 3, int(b) - 2
            band = text[lo:hi] if axis == 0 else text[:, lo:hi]
            return int(np.count_nonzero(band)) if hi > lo else 0
        on_streak = any(a - tol <= out[i] <= b + tol for a, b in streaks)
        if on_streak and (ink(out[i - 1], out[i]) < min_ink or ink(out[i], out[i + 1]) < min_ink):
            # Of the two lines around the empty band, drop the one whose removal leaves a band nearest the usual
            # width (a streak splits one cell of an even run of columns; the frame stays).
            j = i + 1 if ink(out[i], out[i + 1]) < min_ink and i + 1 < len(out) - 1 else i
            if j != i:
                usual = float(np.median(np.diff(out)))
                if abs(out[i + 1] - out[i - 1] - usual) <= abs(out[j + 1] - out[j - 1] - usual):
                    j = i
            del out[j]
        else:
            i += 1
    return out


def _trim_to_rules(seg: tuple[float, int, int, int], hmask: np.ndarray, tol: float, reach: float, limit: float
                   ) -> tuple[float, int, int, int]:
    """A vertical rule with one end on a row rule and the other running on past the last rule it crosses, by less
    than a character, into a cell: the stroke of a character there touches the rule (a fax thickens strokes until
    they do). That end is the rule. (A piece of a streak ends in the open at both ends, and stays as it is.)"""
    pos, start, end, thick = seg
    h, w = hmask.shape
    across = hmask[:, max(0, int(pos - reach)):min(w, int(pos + reach) + 1)].any(axis=1)
    bands = runs(np.flatnonzero(across[max(0, start):min(h, end)]))
    if not bands:
        return seg
    first, last = bands[0][0] + start, bands[-1][1] + start
    top = bool(across[max(0, int(start - tol)):max(0, int(start + 3 * tol) + 1)].any())
    bottom = bool(across[max(0, int(end - 3 * tol)):max(0, int(end + tol) + 1)].any())
    if bottom and not top and tol < first - start <= limit:
        start = int(first)
    elif top and not bottom and tol < end - last <= limit:
        end = int(last)
    return (pos, start, end, thick)


def _ends_on_rules(seg: tuple[float, int, int, int], other: np.ndarray, tol: float, reach: float) -> bool:
    """Both ends of a vertical segment on a stroke of the across rules at its own x (not merely level with a row
    line found elsewhere): a piece of a streak crossing a tall merged cell ends in the open."""
    pos, start, end, _ = seg
    h, w = other.shape
    xa, xb = max(0, int(pos - reach)), min(w, int(pos + reach) + 1)

    def on(ya: float, yb: float) -> bool:
        return bool(other[max(0, int(ya)):min(h, int(yb) + 1), xa:xb].any())

    return on(start - tol, start + 3 * tol) and on(end - 3 * tol, end + tol)


def table_quad(rulings: Rulings, dpi: float) -> np.ndarray | None:
    """Corners (tl, tr, br, bl) of the largest table frame when it is a visibly non-rectangular quadrilateral
    (a photo taken at an angle); None when the frame is missing or already square to the page."""
    frame = cv2.bitwise_or(rulings.horizontal, rulings.vertical)
    frame = cv2.dilate(frame, cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5)))
    contours, _ = cv2.findContours(frame, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    h, w = frame.shape
    # The tables as solid blobs, thin strokes off them (streaks running on past the frame, which bend its hull
    # into a false quadrilateral) opened away.
    solid = np.zeros_like(frame)
    cv2.drawContours(solid, contours, -1, 255, cv2.FILLED)
    k = max(9, int(dpi / 8))
    solid = cv2.morphologyEx(solid, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    contours, _ = cv2.findContours(solid, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    biggest = max(contours, key=cv2.contourArea)
    if cv2.contourArea(biggest) < 0.1 * h * w:
        return None
    ordered = quad_corners(biggest)
    if ordered is None:
        return None
    x0, y0 = ordered[:, 0].min(), ordered[:, 1].min()
    x1, y1 = ordered[:, 0].max(), ordered[:, 1].max()
    box = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float32)
    if np.abs(ordered - box).max() < max(4.0, dpi / 25):
        return None
    # Every side of the quadrilateral must be a drawn rule (a table ruled only across has no side rules, and its
    # hull can cut a corner where short rows start).
    lines = cv2.dilate(cv2.bitwise_or(rulings.horizontal, rulings.vertical),
                       cv2.getStructuringElement(cv2.MORPH_RECT, (7, 7)))
    for a, b in zip(ordered, np.roll(ordered, -1, axis=0)):
        n = int(max(abs(b - a))) + 1
        xs = np.clip(np.linspace(a[0], b[0], n).round().astype(int), 0, w - 1)
        ys = np.clip(np.linspace(a[1], b[1], n).round().astype(int), 0, h - 1)
        if (lines[ys, xs] > 0).mean() < 0.8:
            return None
    return ordered


def grid_from_text(text: np.ndarray, region: tuple[int, int, int, int], dpi: float,
                   glyph: float | None = None) -> Grid | None:
    """The grid of a table without any rules (found by the layout model): a row per line of text, row lines
    halfway between them, columns where the rows' text leaves gaps. A wrapped label becomes two rows, the second
    without numbers."""
    x0, y0, x1, y1 = region
    ink = cv2.morphologyEx(text[y0:y1, x0:x1], cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (2, 2)))
    bands = [b for b in runs(np.flatnonzero(ink.any(axis=1))) if b[1] - b[0] >= max(3, dpi / 30)]
    if len(bands) < 3:
        return None
    cuts = [max(0, bands[0][0] - 3)] + [(a[1] + b[0]) // 2 for a, b in zip(bands, bands[1:])] + \
        [min(y1 - y0 - 1, bands[-1][1] + 3)]
    horizontal = np.zeros_like(text)
    for c in cuts:
        horizontal[y0 + c, x0:x1] = 255
    rulings = Rulings(horizontal, np.zeros_like(text))
    grid = grid_in_region(rulings, (x0, max(0, y0 - 2), x1, min(text.shape[0], y1 + 2)), dpi, text=text,
                          glyph=glyph or glyph_height(text, dpi))
    return grid if grid and grid.n_cols >= 3 else None


# -- a sheet that did not lie flat ---------------------------------------------------------------------------------------
def _rule_samples(mask: np.ndarray, other: np.ndarray, axis: int, min_len: float, reach: int,
                  step: int = 4) -> list[np.ndarray]:
    """Centre lines of the long table rules in `mask` (axis 0: horizontal), each as an array of (along, across)
    points every `step` px; only lines that meet three or more rules of the other direction (a copier's dark
    border, a stroke of text meet none). Breaks a rule picks up in a scan are closed first, so one rule is one
    line."""
    k = (31, 3) if axis == 0 else (3, 31)
    joined = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, k))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    H, W = mask.shape
    lines = []
    for i in range(1, n):
        x, y, w, h, _ = stats[i]
        length, thickness = (w, h) if axis == 0 else (h, w)
        if length < min_len or thickness > length / 8:
            continue
        own = (labels[y:y + h, x:x + w] == i) & (mask[y:y + h, x:x + w] > 0)
        if axis == 0:
            crossing = other[max(0, y - reach):min(H, y + h + reach), x:x + w].any(axis=0)
        else:
            crossing = other[y:y + h, max(0, x - reach):min(W, x + w + reach)].any(axis=1)
            own = own.T
        met = runs(np.flatnonzero(crossing))
        if len(met) < 3 or met[-1][1] - met[0][0] < min_len:
            continue
        along = np.arange(0, own.shape[1], step)
        cols = own[:, along]
        count = cols.sum(axis=0)
        ok = count > 0
        if ok.sum() < 8:
            continue
        centre = (cols * np.arange(own.shape[0])[:, None]).sum(axis=0)[ok] / count[ok]
        start, across = (x, y) if axis == 0 else (y, x)
        lines.append(np.stack([along[ok] + start, centre + across], axis=1).astype(np.float64))
    return lines


def _bend_terms(along: np.ndarray, across: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The smooth bend's terms at points (along a rule, across it), in page fractions: powers 1-4 along times
    powers 0-2 across (a wave along the rules, a bulge growing towards one side). No term without the along
    coordinate: a rule's own offset is its position, not a bend."""
    u, v = along / size[0], across / size[1]
    return np.stack([u ** j * v ** k for j in range(1, 5) for k in range(3)], axis=1)


def _fit_bend(lines: list[np.ndarray], size: tuple[int, int], min_shift: float) -> np.ndarray | None:
    """Coefficients of the bend shared by all the rules, each rule with its own offset (taken out by centring
    every rule's points on their mean), robust to a stray piece. None when the rules are straight: the bend moves
    them less than `min_shift` px, or explains less than half their wavering (a scan's jitter, a wobbling streak)."""
    if len(lines) < 3:
        return None
    pts = np.concatenate(lines)
    which = np.concatenate([np.full(len(line), i) for i, line in enumerate(lines)])
    terms = _bend_terms(pts[:, 0], pts[:, 1], size)
    keep = np.ones(len(pts), dtype=bool)
    coef = np.zeros(terms.shape[1])
    for _ in range(2):  # refit without the points far off the first fit (a streak or text stroke joined to a rule)
        count = np.maximum(np.bincount(which, weights=keep, minlength=len(lines)), 1)
        mean_t = np.stack([np.bincount(which, weights=terms[:, j] * keep, minlength=len(lines))
                           for j in range(terms.shape[1])], axis=1) / count[:, None]
        mean_y = np.bincount(which, weights=pts[:, 1] * keep, minlength=len(lines)) / count
        t, y = terms - mean_t[which], pts[:, 1] - mean_y[which]
        tk = t[keep]
        coef = np.linalg.solve(tk.T @ tk + 1e-9 * np.eye(tk.shape[1]), tk.T @ y[keep])
        resid = np.abs(t @ coef - y)
        keep = resid <= max(1.5, 3.0 * float(np.median(resid[keep])))
    bend = (t @ coef)[keep]
    straight, bent = float(np.sqrt(np.mean(y[keep] ** 2))), float(np.sqrt(np.mean((bend - y[keep]) ** 2)))
    if np.ptp(bend) < min_shift or bent > 0.5 * straight:
        return None
    return coef


def bend_maps(rulings: Rulings, dpi: float, ink: np.ndarray | None = None, min_shift: float | None = None
              ) -> tuple[np.ndarray, np.ndarray] | None:
    """A sheet that did not lie flat (a curled or creased page on the glass) bends a table's rules smoothly: fit
    that bend from the long rules of both directions and return the cv2.remap maps that straighten them; None when
    the rules are straight to within `min_shift` px (a flat scan). With the page's `ink`, rules are looked for
    with shorter kernels than find_rulings' (a steeply bent rule breaks into short pieces there)."""
    h, w = rulings.horizontal.shape
    min_shift = min_shift if min_shift is not None else max(2.0, dpi / 60)
    reach = max(3, int(dpi / 25))
    horizontal, vertical = rulings.horizontal, rulings.vertical
    if ink is not None:
        k = max(9, int(dpi / 10))
        horizontal = cv2.bitwise_or(horizontal, cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((1, k), np.uint8)))
        vertical = cv2.bitwise_or(vertical, cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((k, 1), np.uint8)))
    rows = _rule_samples(horizontal, rulings.vertical, 0, 0.25 * w, reach)
    cols = _rule_samples(vertical, rulings.horizontal, 1, 0.1 * h, reach)
    fits = []
    for lines, size in ((rows, (w, h)), (cols, (h, w))):
        coef = _fit_bend(lines, size, min_shift)
        if coef is None:
            fits.append(None)
            continue
        pts = np.concatenate(lines)
        span = (pts[:, 0].min(), pts[:, 0].max(), pts[:, 1].min(), pts[:, 1].max())
        fits.append((coef, span, size))
    if fits[0] is None and fits[1] is None:
        return None
    step = 8  # the bend is smooth: worked out every few px and scaled up
    ys, xs = np.arange(0, h + step, step, dtype=np.float64), np.arange(0, w + step, step, dtype=np.float64)
    yy, xx = np.meshgrid(ys, xs, indexing="ij")
    shifts = [np.zeros_like(xx), np.zeros_like(xx)]
    for k, (fit, along, across) in enumerate(zip(fits, (xx, yy), (yy, xx))):
        if fit is not None:
            coef, span, size = fit
            shifts[k] = _bend_shift(coef, along, across, span, size, 0.1 * size[0])
    dy, dx = (cv2.resize(s.astype(np.float32), (len(xs) * step, len(ys) * step), interpolation=cv2.INTER_LINEAR)
              [:h, :w] for s in shifts)
    # (resize puts coarse point i at fine pixel i * step + (step - 1) / 2: close enough for a smooth bend)
    return dx + np.arange(w, dtype=np.float32)[None, :], dy + np.arange(h, dtype=np.float32)[:, None]


def _bend_shift(coef: np.ndarray, along: np.ndarray, across: np.ndarray, span: tuple[float, float, float, float],
                size: tuple[int, int], reach: float) -> np.ndarray:
    """How far (across the rules) the bend moves each point, relative to the rules' middle. Past the rules' ends
    it carries on straight for `reach` px (the steepest ends of strongly bent rules do not survive find_rulings'
    long kernels: a table's last column), then holds: the polynomial would run away there."""
    a0, a1, c0, c1 = span
    a, c = np.clip(along, a0, a1).ravel(), np.clip(across, c0, c1).ravel()
    over = np.clip(along.ravel(), a0 - reach, a1 + reach) - a

    def bend(at: np.ndarray) -> np.ndarray:
        return (_bend_terms(at, c, size) - _bend_terms(np.full(at.size, (a0 + a1) / 2), c, size)) @ coef

    here = bend(a)
    inward = np.sign(over) * 4.0
    slope = (here - bend(a - inward)) / 4.0
    return (here + slope * over).reshape(along.shape)


def on_grid(grids: list[Grid], rulings: Rulings, dpi: float) -> float:
    """Share of the page's rule pixels that lie on a line of the grids found: how well straight grid lines fit the
    rules (bent rules wander off them, and a grid that lost rows or columns leaves their rules off it)."""
    tol = int(max(4.0, dpi / 30.0))
    total = int(np.count_nonzero(rulings.horizontal)) + int(np.count_nonzero(rulings.vertical))
    if not total:
        return 0.0
    on = 0
    for g in grids:
        ys, xs = slice(g.y0, g.y1 + 1), slice(g.x0, g.x1 + 1)
        near_row = np.zeros(g.y1 + 1 - g.y0, dtype=bool)
        for r in g.rows:
            near_row[max(0, int(r) - g.y0 - tol):max(0, int(r) - g.y0 + tol + 1)] = True
        near_col = np.zeros(g.x1 + 1 - g.x0, dtype=bool)
        for c in g.cols:
            near_col[max(0, int(c) - g.x0 - tol):max(0, int(c) - g.x0 + tol + 1)] = True
        horizontal, vertical = rulings.horizontal[ys, xs] > 0, rulings.vertical[ys, xs] > 0
        on += int(np.count_nonzero(horizontal[near_row[:horizontal.shape[0]]]))
        on += int(np.count_nonzero(vertical[:, near_col[:vertical.shape[1]]]))
    return on / total
