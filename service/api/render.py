"""Page images and value crops for the review page.

Coordinate units (the convention every reader is assumed to follow, so a provenance box lands on its page image):
- PDF (text layer or OCR): PDF points (1/72 inch), origin at the page's top-left corner, y down. The picture of a
  page rendered at `dpi` shows a box at scale dpi / 72.
- image input: pixels of the image as uploaded (top-left origin). The picture may be shrunk to MAX_SIDE; its scale
  says by how much.
- text, HTML, DOCX: no page image; boxes (if any) are not drawn.

These functions run in the sandbox process (service.api.sandbox): pdfium is not thread-safe, and a malformed file that
crashes it must not take the server down.
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path

MAX_SIDE = 2000      # pixels: a huge scan is shown shrunk
CROP_DPI = 200       # crops are shown sharper than the page
CROP_MARGIN = 6.0    # box units around a crop, so the value is seen with its cell's edges


@dataclass(frozen=True)
class PageInfo:
    n: int
    width: int       # of the picture served at /pages/{n}.png
    height: int
    scale: float     # picture pixels per box unit


def page_infos(path: Path, kind: str, dpi: int) -> list[PageInfo]:
    if kind == "pdf":
        import pypdfium2 as pdfium

        pdf = pdfium.PdfDocument(str(path))
        try:
            infos = []
            for i in range(len(pdf)):
                w, h = pdf[i].get_size()  # points
                # pdfium rounds the picture size up
                infos.append(PageInfo(i + 1, math.ceil(w * dpi / 72), math.ceil(h * dpi / 72), dpi / 72))
            return infos
        finally:
            pdf.close()
    if kind == "image":
        from PIL import Image

        with Image.open(path) as image:
            frames = getattr(image, "n_frames", 1)
            infos = []
            for i in range(frames):
                image.seek(i)
                w, h = image.size
                scale = min(1.0, MAX_SIDE / max(w, h))
                infos.append(PageInfo(i + 1, round(w * scale), round(h * scale), scale))
            return infos
    return []


def page_png(path: Path, kind: str, n: int, dpi: int) -> bytes:
    """Page n (1-based) as PNG, at the size page_infos announces."""
    info = _info(path, kind, n, dpi)
    if kind == "pdf":
        import pypdfium2 as pdfium

        pdf = pdfium.PdfDocument(str(path))
        try:
            image = pdf[n - 1].render(scale=info.scale).to_pil()
        finally:
            pdf.close()
    else:
        image = _frame(path, n)
        if info.scale < 1:
            image = image.resize((info.width, info.height))
    return _png(image)


def crop_png(path: Path, kind: str, n: int, x: float, y: float, w: float, h: float) -> bytes:
    """The rectangle (x, y, w, h), in box units, of page n with a small margin."""
    _info(path, kind, n, 72)
    x0, y0, x1, y1 = x - CROP_MARGIN, y - CROP_MARGIN, x + w + CROP_MARGIN, y + h + CROP_MARGIN
    if kind == "pdf":
        import pypdfium2 as pdfium

        pdf = pdfium.PdfDocument(str(path))
        try:
            page = pdf[n - 1]
            pw, ph = page.get_size()
            x0, y0, x1, y1 = max(0.0, x0), max(0.0, y0), min(pw, x1), min(ph, y1)
            if x1 <= x0 or y1 <= y0:
                raise ValueError("the rectangle is outside the page")
            # pdfium's crop is what to cut off each side: left, bottom, right, top.
            image = page.render(scale=CROP_DPI / 72, crop=(x0, ph - y1, pw - x1, y0)).to_pil()
        finally:
            pdf.close()
    else:
        image = _frame(path, n)
        box = (max(0, int(x0)), max(0, int(y0)), min(image.width, int(x1 + 1)), min(image.height, int(y1 + 1)))
        if box[2] <= box[0] or box[3] <= box[1]:
            raise ValueError("the rectangle is outside the page")
        image = image.crop(box)
    return _png(image)


def _info(path: Path, kind: str, n: int, dpi: int) -> PageInfo:
    infos = page_infos(path, kind, dpi)
    if not infos:
        raise LookupError(f"a {kind} document has no page images")
    if not 1 <= n <= len(infos):
        raise LookupError(f"no page {n}: the document has {len(infos)} pages")
    return infos[n - 1]


def _frame(path: Path, n: int):
    from PIL import Image, ImageOps

    with Image.open(path) as image:
        image.seek(n - 1)
        # EXIF rotation applied, as the scan reader does, so boxes and picture agree.
        image = ImageOps.exif_transpose(image)
        return image if image.mode in ("RGB", "L") else image.convert("RGB")


def _png(image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=False, compress_level=3)
    return buf.getvalue()
