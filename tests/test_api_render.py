"""Page pictures and crops for the review page: provenance boxes, in each reader's units, land on the picture."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from service.api.render import crop_png, page_infos, page_png

DPI = 100


def _pdf_with_block(tmp_path):
    """An A4 page (595 x 842 pt) with a black block at x 100-200 pt, y 150-180 pt from the top."""
    from reportlab.pdfgen import canvas

    path = tmp_path / "page.pdf"
    c = canvas.Canvas(str(path), pagesize=(595, 842))
    c.rect(100, 842 - 180, 100, 30, fill=1)
    c.showPage()
    c.save()
    return path


def _dark(png: bytes, x: float, y: float) -> bool:
    return Image.open(io.BytesIO(png)).convert("L").getpixel((round(x), round(y))) < 100


def test_text_layer_boxes_are_points(tmp_path):
    path = _pdf_with_block(tmp_path)
    [info] = page_infos(path, "pdf", DPI)
    assert info.scale == pytest.approx(DPI / 72) and (info.width, info.height) == (827, 1170)
    png = page_png(path, "pdf", 1, DPI)
    assert _dark(png, 150 * info.scale, 165 * info.scale) and not _dark(png, 250 * info.scale, 165 * info.scale)
    crop = Image.open(io.BytesIO(crop_png(path, "pdf", 1, 100, 150, 100, 30))).convert("L")
    assert crop.getpixel((crop.width // 2, crop.height // 2)) < 100   # the block, in the middle of its crop
    assert crop.getpixel((2, 2)) > 200                                # and the margin around it


def test_ocr_boxes_in_a_turned_150_dpi_frame_land_on_the_block(tmp_path):
    path = _pdf_with_block(tmp_path)
    # The scan reader read this page at 150 DPI and turned it 90 degrees clockwise: its frame is 1754 x 1240 px.
    k = 150 / 72
    raw_w, raw_h = 595 * k, 842 * k
    frames = [{"page": 1, "width": raw_h, "height": raw_w, "rotation": 90}]
    # A point (x, y) of the raw page is at (raw_h - y, x) once turned clockwise.
    bx, by, bw, bh = (raw_h - 180 * k), 100 * k, 30 * k, 100 * k
    [info] = page_infos(path, "pdf", DPI, frames)
    assert (info.width, info.height) == (1170, 827) and info.scale == pytest.approx(DPI / 150)
    png = page_png(path, "pdf", 1, DPI, frames)
    assert Image.open(io.BytesIO(png)).size == (1170, 827)
    assert _dark(png, (bx + bw / 2) * info.scale, (by + bh / 2) * info.scale)
    assert not _dark(png, (bx - bw) * info.scale, (by + bh / 2) * info.scale)
    crop = Image.open(io.BytesIO(crop_png(path, "pdf", 1, bx, by, bw, bh, frames))).convert("L")
    assert crop.getpixel((crop.width // 2, crop.height // 2)) < 100


def test_large_image_is_shrunk_and_boxes_scale_with_it(tmp_path):
    image = Image.new("L", (2400, 1800), 255)
    image.paste(0, (600, 600, 840, 720))
    path = tmp_path / "scan.png"
    image.save(path)
    [info] = page_infos(path, "image", DPI)
    assert (info.width, info.height) == (2000, 1500) and info.scale == pytest.approx(2000 / 2400)
    png = page_png(path, "image", 1, DPI)
    assert _dark(png, 720 * info.scale, 660 * info.scale) and not _dark(png, 900 * info.scale, 660 * info.scale)
    crop = Image.open(io.BytesIO(crop_png(path, "image", 1, 600, 600, 240, 120)))
    assert crop.size == (276, 156)   # native pixels, 0.15 box heights of margin each side


def test_documents_without_pages_and_missing_pages(tmp_path):
    path = _pdf_with_block(tmp_path)
    text = tmp_path / "r.txt"
    text.write_text("report")
    assert page_infos(text, "text", DPI) == []
    with pytest.raises(LookupError):
        page_png(text, "text", 1, DPI)
    with pytest.raises(LookupError):
        page_png(path, "pdf", 2, DPI)
    with pytest.raises(ValueError):
        crop_png(path, "pdf", 1, 5000, 5000, 10, 10)
