"""Page pictures and value crops for the review page, drawn so that provenance boxes land on them.

Every page has a frame: the coordinate system of its provenance boxes (origin top-left, y down).
- text-layer PDF: the page in PDF points (1/72 inch), as pdfplumber measures it;
- OCR (scanned PDF or image): the page image the scan reader read, in its pixels, after the quarter turn it applied
  (the worker records these frames from the reader: width, height, rotation);
- image read otherwise: the image's pixels after its EXIF orientation;
- text, HTML, DOCX: no frame and no picture.
A picture is the page rendered (PDF at `dpi`; an image at its size, shrunk to MAX_SIDE) and turned like its frame,
so one factor, scale = picture width / frame width, maps a box onto it. The reader's deskew (a degree or two) is not
redone: boxes may sit a few pixels off on a skewed scan.

These functions run in the sandbox process (service.api.sandbox): pdfium is not thread-safe, and a malformed file that
crashes it must not take the server down.
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path

MAX_SIDE = 2000      # picture pixels: a huge scan is shown shrunk
CROP_DPI = 200       # PDF crops are rendered sharper than the page picture
CROP_MARGIN = 0.15   # of the box height, around a crop, so the value is seen with its cell's edges


@dataclass(frozen=True)
class Frame:
    width: float
    height: float
    rotation: int = 0   # degrees clockwise the reader turned the page before reading it


@dataclass(frozen=True)
class PageInfo:
    n: int
    width: int       # of the picture served at /pages/{n}.png
    height: int
    scale: float     # picture pixels per box unit


def frames_of(path: Path, kind: str, recorded: list[dict] | None = None) -> list[Frame]:
    """The box frame of every page: as recorded by the worker where it has one, else the kind's default."""
    natural = _natural_sizes(path, kind)
    frames = [Frame(w, h) for w, h in natural]
    for f in recorded or []:
        n = int(f["page"])
        if 1 <= n <= len(frames):
            frames[n - 1] = Frame(float(f["width"]), float(f["height"]), int(f.get("rotation", 0)) % 360)
    return frames


def page_infos(path: Path, kind: str, dpi: int, recorded: list[dict] | None = None) -> list[PageInfo]:
    infos = []
    for n, ((w, h), frame) in enumerate(zip(_natural_sizes(path, kind), frames_of(path, kind, recorded),
                                            strict=True), start=1):
        pw, ph = _picture_size(kind, w, h, dpi)
        exact = w * dpi / 72 if kind == "pdf" else pw   # the picture's width before pdfium rounds it up
        if frame.rotation in (90, 270):
            pw, ph = ph, pw
            exact = h * dpi / 72 if kind == "pdf" else pw
        infos.append(PageInfo(n, pw, ph, exact / frame.width))
    return infos


def page_png(path: Path, kind: str, n: int, dpi: int, recorded: list[dict] | None = None) -> bytes:
    """Page n (1-based) as PNG, at the size page_infos announces."""
    info = _info(path, kind, n, dpi, recorded)
    image = _picture(path, kind, n, dpi, frames_of(path, kind, recorded)[n - 1].rotation)
    if image.size != (info.width, info.height):
        image = image.resize((info.width, info.height))
    return _png(image)


def crop_png(path: Path, kind: str, n: int, x: float, y: float, w: float, h: float,
             recorded: list[dict] | None = None) -> bytes:
    """The rectangle (x, y, w, h), in box units, of page n with a small margin, at crop resolution."""
    _info(path, kind, n, CROP_DPI, recorded)
    frame = frames_of(path, kind, recorded)[n - 1]
    image = _picture(path, kind, n, CROP_DPI, frame.rotation, shrink=False)
    k = image.width / frame.width
    m = CROP_MARGIN * h
    box = (max(0, math.floor((x - m) * k)), max(0, math.floor((y - m) * k)),
           min(image.width, math.ceil((x + w + m) * k)), min(image.height, math.ceil((y + h + m) * k)))
    if box[2] <= box[0] or box[3] <= box[1]:
        raise ValueError("the rectangle is outside the page")
    return _png(image.crop(box))


# --- pictures ---------------------------------------------------------------------------------------------------

def _natural_sizes(path: Path, kind: str) -> list[tuple[float, float]]:
    """Page sizes before any turn: points for a PDF, pixels (EXIF applied) for an image."""
    if kind == "pdf":
        import pypdfium2 as pdfium

        pdf = pdfium.PdfDocument(str(path))
        try:
            return [pdf[i].get_size() for i in range(len(pdf))]
        finally:
            pdf.close()
    if kind == "image":
        from PIL import Image, ImageOps

        sizes = []
        with Image.open(path) as image:
            for i in range(getattr(image, "n_frames", 1)):
                image.seek(i)
                w, h = image.size
                if ImageOps.exif_transpose(image.copy()).size != (w, h):
                    w, h = h, w
                sizes.append((float(w), float(h)))
        return sizes
    return []


def _picture_size(kind: str, w: float, h: float, dpi: int) -> tuple[int, int]:
    if kind == "pdf":
        return math.ceil(w * dpi / 72), math.ceil(h * dpi / 72)   # pdfium rounds the bitmap size up
    shrink = min(1.0, MAX_SIDE / max(w, h))
    return round(w * shrink), round(h * shrink)


def _picture(path: Path, kind: str, n: int, dpi: int, rotation: int, shrink: bool = True):
    if kind == "pdf":
        import pypdfium2 as pdfium

        pdf = pdfium.PdfDocument(str(path))
        try:
            image = pdf[n - 1].render(scale=dpi / 72).to_pil()
        finally:
            pdf.close()
    else:
        from PIL import Image, ImageOps

        with Image.open(path) as source:
            source.seek(n - 1)
            image = ImageOps.exif_transpose(source)
            image = image if image.mode in ("RGB", "L") else image.convert("RGB")
        if shrink:
            size = _picture_size(kind, image.width, image.height, dpi)
            if size != image.size:
                image = image.resize(size)
    return image.rotate(-rotation, expand=True) if rotation else image


def _info(path: Path, kind: str, n: int, dpi: int, recorded: list[dict] | None) -> PageInfo:
    infos = page_infos(path, kind, dpi, recorded)
    if not infos:
        raise LookupError(f"a {kind} document has no page images")
    if not 1 <= n <= len(infos):
        raise LookupError(f"no page {n}: the document has {len(infos)} pages")
    return infos[n - 1]


def _png(image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=3)
    return buf.getvalue()
