"""What the OCR baselines share: page images from a source, CJK text clean-up, and lines in reading order."""
from __future__ import annotations

import io

import numpy as np

from service.document import InputError, Line, Source
from service.scan.page_ocr import clean_text, group_rows  # noqa: F401  (the baselines share the project's grouping)


def render_pages(source: Source, dpi: int = 200, max_pages: int = 60) -> list[np.ndarray]:
    """RGB page images. A scanned PDF page is rendered at its embedded image's resolution (at most `dpi`, at least
    100): rendering above it only adds pixels."""
    if source.data[:5] != b"%PDF-":
        from PIL import Image, ImageOps

        with Image.open(io.BytesIO(source.data)) as im:
            return [np.array(ImageOps.exif_transpose(im).convert("RGB"))]
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    try:
        pdf = pdfium.PdfDocument(source.data)
    except pdfium.PdfiumError as e:
        raise InputError(f"cannot open the PDF: {e}") from None
    pages = []
    try:
        for i in range(min(len(pdf), max_pages)):
            page = pdf[i]
            width_pt = page.get_width()
            native = 0.0
            for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2):
                left, _, right, _ = obj.get_bounds()
                if right - left > 0.5 * width_pt:
                    native = max(native, obj.get_px_size()[0] / ((right - left) / 72.0))
            page_dpi = min(dpi, max(100.0, round(native))) if native else dpi
            pages.append(page.render(scale=page_dpi / 72.0).to_numpy()[:, :, :3].copy())
    finally:
        pdf.close()
    return pages


def reading_order(placed: list[tuple[int, float, float, Line]]) -> list[Line]:
    """Lines sorted by page, then top, then left."""
    return [line for _, _, _, line in sorted(placed, key=lambda p: (p[0], p[1], p[2]))]
