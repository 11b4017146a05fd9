"""Stage 1: source bytes -> upright, straight page images (grey, uint8) ready for OCR.

PDF pages are rendered with pypdfium2 at a DPI suited to PP-OCR recognition (body text ~20 px high); a scanned page's
embedded image resolution caps it (rendering a 100 DPI scan at 200 DPI only adds pixels). Images load with their EXIF
orientation applied. Skew is measured by the projection profile (text lines and ruling lines both make it sharp),
quarter-turns by the profile too, and upside-down by the recogniser's confidence (see orient_180).
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import cv2
import numpy as np

from service.document import InputError, Source


@dataclass
class Page:
    number: int  # 1-based
    gray: np.ndarray  # upright, deskewed
    dpi: float
    rotation: int = 0  # quarter-turn applied, degrees clockwise
    skew: float = 0.0  # degrees rotated back
    noise: float = 0.0  # estimated noise sigma (grey levels)
    denoised: bool = False  # isolated specks removed
    warp: np.ndarray | None = None  # perspective matrix applied after deskew (photos taken at an angle)
    paper: np.ndarray | None = None  # perspective matrix that cut the sheet out of a photo, applied first
    flattened: bool = False  # uneven lighting divided out
    cut_size: tuple[int, int] = (0, 0)  # (width, height) of the sheet cut out of a photo
    bent: bool = False  # a bent sheet's rules straightened (boxes then lie within a few px of the scan's)
    bilevel: bool = False  # black and white only (a fax): strokes without grey edges


def load_pages(source: Source, dpi: int = 150, max_pages: int = 60) -> list[tuple[np.ndarray, float]]:
    """Grey page images and their DPI, in page order."""
    if source.kind == "pdf" or source.data[:5] == b"%PDF-":
        return _pdf_pages(source.data, dpi, max_pages)
    return [(_image(source.data), float(dpi))]


def _pdf_pages(data: bytes, dpi: int, max_pages: int) -> list[tuple[np.ndarray, float]]:
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as e:
        raise InputError(f"cannot open the PDF: {e}") from None
    pages = []
    try:
        for i in range(min(len(pdf), max_pages)):
            page = pdf[i]
            width_pt = page.get_width()
            page_dpi = float(dpi)
            # A scan is one big image per page: never render above its own resolution (nor below 100 DPI).
            native = 0.0
            for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2):
                left, _, right, _ = obj.get_bounds()
                if right - left > 0.5 * width_pt:
                    px_w, _ = obj.get_px_size()
                    native = max(native, px_w / ((right - left) / 72.0))
            if native:
                page_dpi = float(min(dpi, max(100.0, round(native))))
            bitmap = page.render(scale=page_dpi / 72.0, grayscale=True)
            arr = bitmap.to_numpy()
            gray = arr if arr.ndim == 2 else cv2.cvtColor(arr, cv2.COLOR_BGR2GRAY)
            pages.append((np.ascontiguousarray(gray), page_dpi))
    finally:
        pdf.close()
    return pages


def _image(data: bytes) -> np.ndarray:
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        img = Image.open(io.BytesIO(data))
        img = ImageOps.exif_transpose(img)
    except (UnidentifiedImageError, OSError) as e:
        raise InputError(f"cannot read the image: {e}") from None
    return np.asarray(img.convert("L"))


# -- noise ------------------------------------------------------------------------------------------------------------
def noise_sigma(gray: np.ndarray) -> float:
    """Immerkaer's fast noise estimate (std of grey levels) from a Laplacian-difference kernel."""
    small = gray if gray.shape[1] <= 1200 else cv2.resize(gray, (1200, int(gray.shape[0] * 1200 / gray.shape[1])),
                                                          interpolation=cv2.INTER_AREA)
    kernel = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float32)
    conv = cv2.filter2D(small.astype(np.float32), -1, kernel)
    h, w = small.shape
    return float(np.sqrt(np.pi / 2) * np.abs(conv[1:-1, 1:-1]).sum() / (6.0 * (w - 2) * (h - 2)))


def despeckle(gray: np.ndarray, max_area: int = 3, radius: int = 3) -> np.ndarray:
    """Paint isolated specks white: dark blobs of at most max_area pixels with no other ink within `radius`.

    Unlike a median filter this keeps 1-2 px ruling lines and thin strokes intact, and keeps a decimal point
    (it sits next to digits, so it is not isolated).
    """
    ink = binarize(gray)
    n, labels, stats, cents = cv2.connectedComponentsWithStats(ink, connectivity=8)
    small = np.flatnonzero(stats[:, cv2.CC_STAT_AREA] <= max_area)
    small = small[small > 0]
    if small.size == 0:
        return gray
    k = 2 * radius + 1
    window = cv2.boxFilter((ink > 0).astype(np.float32), -1, (k, k), normalize=False)
    cx = np.clip(np.round(cents[small, 0]).astype(int), 0, gray.shape[1] - 1)
    cy = np.clip(np.round(cents[small, 1]).astype(int), 0, gray.shape[0] - 1)
    isolated = small[window[cy, cx] <= stats[small, cv2.CC_STAT_AREA] + 0.5]
    if isolated.size == 0:
        return gray
    lut = np.zeros(n, dtype=bool)
    lut[isolated] = True
    out = gray.copy()
    out[lut[labels]] = 255
    return out


def clear_pepper(gray: np.ndarray, dpi: float) -> np.ndarray:
    """Paint a fax's pepper white: small dark blobs (up to ~15 px at 150 DPI) that lie away from any larger ink.

    A binarised fax sprinkles the paper with tens of thousands of specks that touch each other, so `despeckle` sees
    none of them as isolated, and a median filter that removes them also fills the holes of 8-pt digits. A speck
    next to a character or rule (a decimal point, the dot of a broken stroke) stays.
    """
    ink = _dark(gray)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    area = stats[:, cv2.CC_STAT_AREA]
    big = area > _speck_area(dpi)
    big[0] = False
    # Only characters shield the specks beside them: pepper stuck to a rule is no decimal point, and left there it
    # presses on the rule from both sides like text on a streak.
    glyph_sized = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]) <= dpi / 2
    reach = max(1, int(round(dpi / 50)))
    near = cv2.dilate(np.where((big & glyph_sized)[labels], 255, 0).astype(np.uint8),
                      cv2.getStructuringElement(cv2.MORPH_RECT, (2 * reach + 1, 2 * reach + 1)))
    keep = big.copy()
    keep[np.unique(labels[(near > 0) & (labels > 0)])] = True
    keep[0] = True
    drop = np.where(keep[labels], 0, 255).astype(np.uint8)
    out = gray.copy()
    out[cv2.dilate(drop, np.ones((3, 3), np.uint8)) > 0] = 255  # the speck's JPEG halo too
    return out


def _speck_area(dpi: float) -> int:
    """The largest blob of pepper, in pixels: about 15 at 150 DPI."""
    return max(4, int(round(15 * (dpi / 150) ** 2)))


def denoise(gray: np.ndarray, dpi: float, heavy: bool, heavy_noise: float) -> np.ndarray:
    """A noisy page cleaned: a fax's pepper cleared; where it is dense (a heavy noise level) and chains into larger
    blobs, only ink near strokes a 3x3 median keeps stays (the median alone fills the holes of small digits). Noise in every
    grey level (not specks) gets the median itself."""
    cleared = clear_pepper(gray, dpi)
    if noise_sigma(cleared) > heavy_noise:
        return despeckle(cv2.medianBlur(gray, 3) if heavy else gray)
    if not heavy:  # the stroke mask loses the thin strokes of small digits at 100 DPI: only for dense pepper
        return cleared
    strokes = _dark(cv2.medianBlur(cleared, 3))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(strokes, connectivity=8)
    real = stats[:, cv2.CC_STAT_AREA] > _speck_area(dpi)  # pepper clusters the median left
    real[0] = False
    near = cv2.dilate(np.where(real[labels], 255, 0).astype(np.uint8), np.ones((3, 3), np.uint8))
    return np.where(near > 0, cleared, 255).astype(np.uint8)


def _dark(gray: np.ndarray) -> np.ndarray:
    """Otsu's ink mask as it is: shaded rows left solid (`binarize` clears them, and they would count as paper)."""
    return cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)[1]


# -- binarisation -----------------------------------------------------------------------------------------------------
def binarize(gray: np.ndarray) -> np.ndarray:
    """Ink mask (255 = ink). Otsu on the whole page, guarded against a page with almost no ink."""
    thresh, ink = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    if thresh > 220 and not _clear_of_paper(gray, thresh):
        # nearly blank page: Otsu splits paper noise; use a fixed level
        _, ink = cv2.threshold(gray, 160, 255, cv2.THRESH_BINARY_INV)
    return _unfill(gray, ink)


def _unfill(gray: np.ndarray, ink: np.ndarray) -> np.ndarray:
    """Shaded table rows, a dark copy's black borders: areas of solid "ink" thicker than any stroke. Inside them,
    ink is what is clearly darker than the shading itself (the text and rules printed on it), so a shaded header
    row neither swallows the rules around it nor hides its labels."""
    k = max(9, gray.shape[1] // 80)  # ~15 px on an A4 page at 150 DPI: thicker than any stroke or rule
    square = cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))
    out = _clear_dithered_rows(ink, k)
    fill = cv2.morphologyEx(out, cv2.MORPH_OPEN, square)
    if not fill.any():
        return out
    n, labels, stats, _ = cv2.connectedComponentsWithStats(fill, connectivity=4)
    for i in range(1, n):
        x, y, w, h, _ = stats[i]
        sl = (slice(y, y + h), slice(x, x + w))
        region = labels[sl] == i
        values = gray[sl][region].astype(np.float32)
        shade = float(np.median(values))
        if shade < 40:  # black: nothing printed on it can be told apart
            out[sl][region] = 0
            continue
        grain = 1.4826 * float(np.median(np.abs(values - shade)))
        darker = gray[sl] < shade - max(12.0, 4.0 * grain)
        out[sl][region] = np.where(darker[region], 255, 0)
    return out


def _clear_dithered_rows(ink: np.ndarray, k: int) -> np.ndarray:
    """A fax dithers a shaded table row into dots: ink dense over a wide rectangle, its paper in specks. Its text is
    lost in the dots; the row is cleared and its rectangle drawn as ink (its edges are the rules of the rows
    around it)."""
    dense = np.where(cv2.blur(ink, (k, k)) >= 160, 255, 0).astype(np.uint8)
    dense = cv2.morphologyEx(dense, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    out = ink.copy()
    if not dense.any():
        return out
    n, labels, stats, _ = cv2.connectedComponentsWithStats(dense, connectivity=4)
    for i in range(1, n):
        x, y, w, h, area = stats[i]
        if area < 0.8 * w * h or w < 3 * h or h < 2 * k or w >= 0.95 * ink.shape[1] or h >= 0.2 * ink.shape[0]:
            continue  # not a row of a table (a line of text on it): a dark copy's border, a blot, bold text
        sl = (slice(y, y + h), slice(x, x + w))
        region = labels[sl] == i
        if not _dithered(ink[sl], region):
            continue
        out[sl][region] = 0
        cv2.rectangle(out, (int(x), int(y)), (int(x + w - 1), int(y + h - 1)), 255, 2)
    return out


def _dithered(ink: np.ndarray, region: np.ndarray) -> bool:
    """Is the paper inside the region in pockets (dither), not in the gaps between characters of bold text, which
    run the height of the line?"""
    paper = np.where(region & (ink == 0), 255, 0).astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(paper, connectivity=4)
    tallest = int(stats[1:, cv2.CC_STAT_HEIGHT].max()) if n > 1 else 0
    return tallest < 0.5 * region.shape[0]


def _clear_of_paper(gray: np.ndarray, thresh: float) -> bool:
    """Is a high Otsu level still well below the paper's own grain? A clean scan of a thin, light font (strokes
    averaging 190-215 at 150 DPI) has it so, and the fixed level would lose every stroke; on a nearly blank page
    Otsu splits the paper's noise, and the level lies inside it."""
    small = gray[::4, ::4]
    paper = float(np.median(small))
    upper = small[small >= paper]
    grain = 1.4826 * float(np.median(np.abs(upper.astype(np.float32) - paper))) if upper.size else 0.0
    return thresh <= paper - max(12.0, 6.0 * grain) and float(np.mean(small < thresh)) >= 0.01


# -- skew and quarter turns --------------------------------------------------------------------------------------------
def _profile_score(ink_small: np.ndarray, angle: float) -> float:
    h, w = ink_small.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    rot = cv2.warpAffine(ink_small, m, (w, h), flags=cv2.INTER_NEAREST, borderValue=0)
    rows = rot.sum(axis=1, dtype=np.float64)
    return float(np.square(np.diff(rows)).sum())


def _small_ink(gray: np.ndarray, width: int = 800) -> np.ndarray:
    scale = min(1.0, width / gray.shape[1])
    small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else gray
    return (binarize(small) > 0).astype(np.uint8)


def estimate_skew(gray: np.ndarray, limit: float = 6.0) -> float:
    """Angle in degrees (counter-clockwise positive, cv2 convention) that makes text rows horizontal.

    Coarse search on a small image, refined on a larger one: the profile is sharp only near the right angle.
    """
    coarse, fine = _small_ink(gray, 400), _small_ink(gray, 900)
    best = max(np.arange(-limit, limit + 1e-9, 1.0), key=lambda a: _profile_score(coarse, float(a)))
    for step, span, ink in ((0.25, 0.75, coarse), (0.05, 0.2, fine)):
        centre = float(best)
        best = max(np.arange(centre - span, centre + span + 1e-9, step), key=lambda a: _profile_score(ink, float(a)))
    return round(float(best), 3)


def rotate(gray: np.ndarray, angle: float) -> np.ndarray:
    h, w = gray.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    return cv2.warpAffine(gray, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_CONSTANT, borderValue=255)


def is_sideways(gray: np.ndarray) -> bool:
    """True when text runs vertically. Characters of a line, smeared a little along the line, join into long thin
    runs: count the run length lying across against the run length standing up, ruling lines taken out first (a
    table's rules run both ways). On the synthetic scans turned pages score 4 and more, upright ones 2.3 at most."""
    ink = (_small_ink(gray, 800) * 255).astype(np.uint8)
    rules = cv2.bitwise_or(cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((1, 40), np.uint8)),
                           cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((40, 1), np.uint8)))
    ink = cv2.bitwise_and(ink, cv2.bitwise_not(cv2.dilate(rules, np.ones((3, 3), np.uint8))))
    across = _run_length(cv2.dilate(ink, np.ones((1, 5), np.uint8)), axis=0)
    standing = _run_length(cv2.dilate(ink, np.ones((5, 1), np.uint8)), axis=1)
    return standing > 3.0 * max(across, 1.0)


def _run_length(smeared: np.ndarray, axis: int) -> float:
    """Summed length of the blobs at least three times longer (along `axis`: 0 across, 1 down) than thick."""
    _, _, stats, _ = cv2.connectedComponentsWithStats(smeared, connectivity=8)
    long, thin = (stats[1:, 2], stats[1:, 3]) if axis == 0 else (stats[1:, 3], stats[1:, 2])
    ok = (long >= 3 * thin) & (long >= 15) & (thin >= 4)
    return float(long[ok].sum())


def turn(gray: np.ndarray, degrees_cw: int) -> np.ndarray:
    codes = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}
    return cv2.rotate(gray, codes[degrees_cw]) if degrees_cw % 360 else gray


def find_paper(gray: np.ndarray) -> np.ndarray | None:
    """Corners (tl, tr, br, bl) of a sheet photographed on a darker background; None for a scan (the sheet is the
    whole image) or when no clear four-cornered sheet is seen."""
    scale = 500.0 / max(gray.shape)
    small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (5, 5), 0)
    # Paper in a shadow is still far brighter than the desk: cut near the dark end, not at Otsu's middle.
    desk, paper = np.percentile(small, [3, 90])
    _, bright = cv2.threshold(small, desk + 0.35 * (paper - desk), 255, cv2.THRESH_BINARY)
    dark = small[bright == 0]
    if dark.size < 0.03 * small.size or dark.size == small.size \
            or np.median(small[bright > 0]) - np.median(dark) < 40:
        return None  # no dark surround: a scan, or a page too faint to tell from its background
    bright = cv2.morphologyEx(bright, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (9, 9)))
    contours, _ = cv2.findContours(bright, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    sheet = max(contours, key=cv2.contourArea)
    area = cv2.contourArea(sheet)
    if not 0.25 * small.size < area < 0.97 * small.size:
        return None
    ordered = quad_corners(sheet)
    return None if ordered is None else (ordered / scale).astype(np.float32)


def quad_corners(contour: np.ndarray) -> np.ndarray | None:
    """The contour's convex hull as four corners (tl, tr, br, bl), float32; None when it is not four-cornered."""
    hull = cv2.convexHull(contour)
    quad = cv2.approxPolyDP(hull, 0.02 * cv2.arcLength(hull, True), True).reshape(-1, 2).astype(np.float32)
    if len(quad) != 4:
        return None
    s, d = quad.sum(axis=1), np.diff(quad, axis=1).ravel()
    return np.array([quad[np.argmin(s)], quad[np.argmin(d)], quad[np.argmax(s)], quad[np.argmax(d)]],
                    dtype=np.float32)


def cut_paper(gray: np.ndarray, quad: np.ndarray, dpi: float) -> tuple[np.ndarray, np.ndarray]:
    """The sheet alone, squared up, at its own aspect, as wide as it appeared in the photo."""
    tl, tr, br, bl = quad
    width = max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl))
    height = max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr))
    target = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], dtype=np.float32)
    m = cv2.getPerspectiveTransform(quad, target)
    out = cv2.warpPerspective(gray, m, (int(round(width)), int(round(height))), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)
    # The sheet's own edge (its shadow, a sliver of table top) would read as a long rule: paint a thin margin.
    mx, my = max(3, int(0.006 * out.shape[1])), max(3, int(0.006 * out.shape[0]))
    out[:my, :] = 255
    out[-my:, :] = 255
    out[:, :mx] = 255
    out[:, -mx:] = 255
    return out, m


def flatten_light(gray: np.ndarray) -> np.ndarray | None:
    """Divide out uneven lighting (shadows, a lamp's falloff) and grey paper: None when the paper is evenly lit
    and white. (Grey paper must go too: the white margin straighten paints would be Otsu's "paper" and the whole
    sheet its "ink".)"""
    scale = 400.0 / max(gray.shape)
    small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    background = cv2.morphologyEx(small, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (9, 9)))
    background = cv2.medianBlur(background, 9)
    lo, hi = np.percentile(background, [5, 95])
    if hi - lo < 35 and hi >= 215:
        return None
    background = cv2.resize(background, (gray.shape[1], gray.shape[0]), interpolation=cv2.INTER_LINEAR)
    out = gray.astype(np.float32) * 255.0 / np.maximum(background.astype(np.float32), 1.0)
    return np.clip(out, 0, 255).astype(np.uint8)


DEEPEN_MAX = 4.0  # the most the ink's depth is multiplied (the paper's grain is, too)
FAINT_PAGE = 100  # grey levels between a page's darkest ink and its paper below which its print is faint


def deepen(gray: np.ndarray) -> np.ndarray:
    """A faint page (an overexposed photo of a light font: ink 40 levels under the paper) with its ink's depth under
    the paper multiplied, at most DEEPEN_MAX times, the paper kept: the page-wide binarisation and the cells' own
    ink tests then see its rules and digits as they see a plain scan's."""
    ink, paper = (float(v) for v in np.percentile(gray[::2, ::2], (0.5, 90)))
    if paper - ink >= FAINT_PAGE or paper - ink < 10:
        return gray
    out = paper - (paper - gray.astype(np.float32)) * min(DEEPEN_MAX, paper / (paper - ink))
    return np.clip(out, 0, 255).astype(np.uint8)


def straighten(gray: np.ndarray, number: int, dpi: float, noise_threshold: float = 7.0,
               heavy_noise: float = 18.0, allow_turn: bool = True) -> Page:
    """Cut the sheet out of a photo, even out its lighting, despeckle if noisy, turn sideways pages upright (up to
    180, settled later by OCR), deskew."""
    paper, cut_size = None, (0, 0)
    bilevel = is_bilevel(gray)
    quad = find_paper(gray)
    if quad is not None:
        gray, paper = cut_paper(gray, quad, dpi)
        cut_size = (gray.shape[1], gray.shape[0])
    gray, flat, sigma, denoised = even_out(gray, dpi, bilevel, noise_threshold, heavy_noise)
    # Scanner-lid shadows and sheet edges hug the border (and would sway the turn and skew tests); printed matter
    # never sits in the outer 1%.
    gray = gray.copy()
    my, mx = max(2, int(0.01 * gray.shape[0])), max(2, int(0.01 * gray.shape[1]))
    gray[:my, :] = 255
    gray[-my:, :] = 255
    gray[:, :mx] = 255
    gray[:, -mx:] = 255
    rotation, angle = 0, 0.0
    # A page with a line or two (a date, a page number) says nothing reliable about turns or skew.
    if _small_ink(gray, 600).mean() > 0.0015:
        if allow_turn and is_sideways(gray):
            gray, rotation = turn(gray, 90), 90
        angle = estimate_skew(gray)
        if abs(angle) >= 0.1:
            gray = rotate(gray, angle)
    return Page(number=number, gray=gray, dpi=dpi, rotation=rotation, skew=angle, noise=round(sigma, 2),
                denoised=denoised, paper=paper, flattened=flat, cut_size=cut_size, bilevel=bilevel)


def even_out(gray: np.ndarray, dpi: float, bilevel: bool, noise_threshold: float = 7.0, heavy_noise: float = 18.0
             ) -> tuple[np.ndarray, bool, float, bool]:
    """The sheet's lighting evened out, its ink deepened, and its noise cleared where there is much (a fax's light
    pepper where there is little): (gray, lighting flattened, noise sigma, denoised). Nothing moves: boxes stay."""
    flat = flatten_light(gray)
    if flat is not None:
        gray = flat
    gray = deepen(gray)
    sigma = noise_sigma(gray)
    denoised = sigma > noise_threshold
    if denoised:
        gray = denoise(gray, dpi, sigma > heavy_noise, heavy_noise)
    elif bilevel:  # a fax's light pepper: too little to raise the noise level, enough to widen every cell's text
        gray = clear_pepper(gray, dpi)
    return gray, flat is not None, sigma, denoised


def is_bilevel(gray: np.ndarray) -> bool:
    """A fax (or a thresholded scan): its ink has almost no grey edge; a scan's strokes fade into the paper. Ink is
    what is clearly darker than the page's own paper: a copy's grey paper (200) is no ink without grey edges."""
    small = gray[::2, ::2]
    paper = float(np.percentile(small, 90))
    ink = small[small < min(235.0, paper - 20)]
    return ink.size > 0 and float(((ink > 70) & (ink < 190)).mean()) < 0.06


def unwarp(gray: np.ndarray, quad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Warp the page so the quadrilateral `quad` (tl, tr, br, bl) becomes an upright rectangle of its mean size,
    anchored at its top-left corner. Returns the page and the 3x3 matrix used."""
    tl, tr, br, bl = quad
    width = (np.linalg.norm(tr - tl) + np.linalg.norm(br - bl)) / 2
    height = (np.linalg.norm(bl - tl) + np.linalg.norm(br - tr)) / 2
    x0, y0 = float(min(tl[0], bl[0])), float(min(tl[1], tr[1]))
    target = np.array([[x0, y0], [x0 + width, y0], [x0 + width, y0 + height], [x0, y0 + height]], dtype=np.float32)
    m = cv2.getPerspectiveTransform(quad.astype(np.float32), target)
    h, w = gray.shape
    out = cv2.warpPerspective(gray, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                              borderValue=255)
    return out, m


def unbend(gray: np.ndarray, maps: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """The page remapped by `maps` (see grid.bend_maps): each pixel taken from where the bent sheet shows it."""
    return cv2.remap(gray, maps[0], maps[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=255)
