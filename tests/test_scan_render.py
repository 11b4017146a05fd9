"""Synthetic scanned pages for the scan reader's tests: a ruled table with merged cells, CJK labels and digits,
drawn with PIL, then degraded (skew, noise, blur, rotation) like a scan. The truth of every cell comes back with it.

Also usable by hand: `.venv/bin/python -m tests.test_scan_render /tmp/page.png`.
"""
from __future__ import annotations

import io
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
PAGE_W, PAGE_H = 1240, 1754  # A4 at 150 DPI


@dataclass
class TruthCell:
    row: int
    col: int
    rowspan: int
    colspan: int
    text: str
    numeric: bool = False


@dataclass
class TruthPage:
    image: np.ndarray  # RGB
    cells: list[TruthCell]
    rows: int
    cols: int
    texts: list[str]  # non-table lines, in reading order
    angle: float = 0.0


def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(FONT, size)


def requests_like_cells(rng: random.Random, body_rows: int = 8, zero_rate: float = 0.5, empty_rate: float = 0.0
                        ) -> tuple[list[TruthCell], int, int]:
    """A table shaped like section 三: three header rows with merges, a label column block and 7 value columns."""
    cells = [
        TruthCell(0, 0, 3, 3, "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）"),
        TruthCell(0, 3, 1, 7, "申请人情况"),
        TruthCell(1, 3, 2, 1, "自然人"),
        TruthCell(1, 4, 1, 5, "法人或其他组织"),
        TruthCell(1, 9, 2, 1, "总计"),
    ]
    for j, name in enumerate(["商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他"]):
        cells.append(TruthCell(2, 4 + j, 1, 1, name))
    labels = ["1.属于国家秘密", "2.其他法律行政法规禁止公开", "3.危及“三安全一稳定”", "4.保护第三方合法权益",
              "5.属于三类内部事务信息", "6.属于四类过程性信息", "7.属于行政执法案卷", "8.属于行政查询事项"]
    r = 3
    cells.append(TruthCell(r, 0, 1, 3, "一、本年新收政府信息公开申请数量"))
    _values(cells, rng, r, zero_rate, empty_rate)
    r += 1
    cells.append(TruthCell(r, 0, body_rows + 1, 1, "三、本年度办理结果"))
    cells.append(TruthCell(r, 1, 1, 2, "（一）予以公开"))
    _values(cells, rng, r, zero_rate, empty_rate)
    r += 1
    cells.append(TruthCell(r, 1, body_rows, 1, "（三）不予公开"))
    for i in range(body_rows):
        cells.append(TruthCell(r + i, 2, 1, 1, labels[i % len(labels)]))
        _values(cells, rng, r + i, zero_rate, empty_rate)
    return cells, r + body_rows, 10


def _values(cells: list[TruthCell], rng: random.Random, row: int, zero_rate: float, empty_rate: float) -> None:
    for c in range(3, 10):
        v = 0 if rng.random() < zero_rate else rng.choice([rng.randint(1, 9), rng.randint(10, 99), rng.randint(100, 2999)])
        text = "" if rng.random() < empty_rate else str(v)
        cells.append(TruthCell(row, c, 1, 1, text, numeric=True))


def draw_page(cells: list[TruthCell], rows: int, cols: int, title: str = "某某市某某区人民政府2023年政府信息公开工作年度报告",
              heading: str = "三、收到和处理政府信息公开申请情况", footer: tuple[str, ...] = ("某某市某某区人民政府", "2024年1月20日"),
              col_widths: list[int] | None = None, row_h: int = 46, line_w: int = 2,
              rules: str = "grid") -> tuple[Image.Image, list[str]]:
    """rules: "grid" draws every cell border; "across" only the horizontal ones (tables ruled by rows only);
    "none" no rules at all."""
    img = Image.new("RGB", (PAGE_W, PAGE_H), "white")
    d = ImageDraw.Draw(img)
    margin = 90
    col_widths = col_widths or ([70, 90, 250] + [102] * 7)
    scale = (PAGE_W - 2 * margin) / sum(col_widths)
    xs = [margin]
    for w in col_widths:
        xs.append(xs[-1] + w * scale)
    y = 110
    tf, hf = _font(34), _font(24)
    if title:
        tw = d.textlength(title, font=tf)
        d.text(((PAGE_W - tw) / 2, y), title, font=tf, fill="black")
        y += 90
    if heading:
        d.text((margin, y), heading, font=hf, fill="black")
        y += 60
    cf = _font(19)
    # Rows grow to fit wrapped labels, as in a real report.
    heights = [row_h] * rows
    for c in cells:
        if c.rowspan == 1:
            n = len(_wrap(d, c.text, cf, xs[c.col + c.colspan] - xs[c.col] - 12))
            heights[c.row] = max(heights[c.row], n * (cf.size + 5) + 14)
    ys = [y]
    for hgt in heights:
        ys.append(ys[-1] + hgt)
    covered = set()
    for c in cells:
        for i in range(c.row, c.row + c.rowspan):
            for j in range(c.col, c.col + c.colspan):
                covered.add((i, j))
        x0, x1, y0, y1 = xs[c.col], xs[c.col + c.colspan], ys[c.row], ys[c.row + c.rowspan]
        _border(d, x0, y0, x1, y1, line_w, rules)
        _draw_wrapped(d, c.text, cf, x0, y0, x1, y1)
    for i in range(rows):  # slots without a cell still get their borders
        for j in range(cols):
            if (i, j) not in covered:
                _border(d, xs[j], ys[i], xs[j + 1], ys[i + 1], line_w, rules)
    y = ys[-1] + 60
    for text in footer:
        tw = d.textlength(text, font=hf)
        d.text((PAGE_W - margin - tw, y), text, font=hf, fill="black")
        y += 44
    return img, [t for t in (title, heading, *footer) if t]


def _border(d: ImageDraw.ImageDraw, x0, y0, x1, y1, line_w: int, rules: str) -> None:
    if rules == "none":
        return
    if rules == "grid":
        d.rectangle([x0, y0, x1, y1], outline="black", width=line_w)
    else:
        d.line([x0, y0, x1, y0], fill="black", width=line_w)
        d.line([x0, y1, x1, y1], fill="black", width=line_w)


def _draw_wrapped(d: ImageDraw.ImageDraw, text: str, font, x0, y0, x1, y1) -> None:
    """Centre the text in its cell, wrapping by characters when it is wider than the cell."""
    lines = _wrap(d, text, font, x1 - x0 - 12)
    lh = font.size + 5
    top = (y0 + y1) / 2 - lh * len(lines) / 2
    for k, line in enumerate(lines):
        tw = d.textlength(line, font=font)
        d.text(((x0 + x1) / 2 - tw / 2, top + k * lh + 2), line, font=font, fill="black")


def _wrap(d: ImageDraw.ImageDraw, text: str, font, width: float) -> list[str]:
    lines, cur = [], ""
    for ch in text:
        if d.textlength(cur + ch, font=font) > width and cur:
            lines.append(cur)
            cur = ch
        else:
            cur += ch
    lines.append(cur)
    return lines


def degrade(img: Image.Image, rng: random.Random, angle: float = 0.0, noise: float = 0.0, blur: float = 0.0,
            jpeg: int | None = None, rotate90: int = 0) -> Image.Image:
    """Make a clean page look scanned: skew by `angle` degrees, Gaussian noise (std in grey levels), blur, JPEG."""
    if angle:
        img = img.rotate(angle, resample=Image.BICUBIC, expand=False, fillcolor="white")
    if blur:
        img = img.filter(ImageFilter.GaussianBlur(blur))
    if noise:
        a = np.asarray(img).astype(np.float32)
        a += np.random.default_rng(rng.randint(0, 2**31)).normal(0, noise, a.shape[:2])[..., None]
        img = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    if jpeg:
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=jpeg)
        img = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    if rotate90:
        img = img.rotate(90 * rotate90, expand=True)
    return img


def make_page(seed: int = 0, angle: float = 0.0, noise: float = 0.0, blur: float = 0.0, jpeg: int | None = None,
              rotate90: int = 0, body_rows: int = 8, empty_rate: float = 0.0, rules: str = "grid",
              **draw) -> TruthPage:
    rng = random.Random(seed)
    cells, rows, cols = requests_like_cells(rng, body_rows=body_rows, empty_rate=empty_rate)
    clean, texts = draw_page(cells, rows, cols, rules=rules, **draw)
    img = degrade(clean, rng, angle=angle, noise=noise, blur=blur, jpeg=jpeg, rotate90=rotate90)
    return TruthPage(np.asarray(img), cells, rows, cols, texts, angle)


def to_pdf(images: list[np.ndarray], dpi: int = 150) -> bytes:
    """Wrap page images into a PDF as a scanner would (one image per page, no text layer)."""
    pil = [Image.fromarray(a) for a in images]
    buf = io.BytesIO()
    pil[0].save(buf, format="PDF", save_all=True, append_images=pil[1:], resolution=dpi)
    return buf.getvalue()


def to_png(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


def test_truth_covers_grid_once():
    page = make_page(seed=3)
    seen = {}
    for c in page.cells:
        for i in range(c.row, c.row + c.rowspan):
            for j in range(c.col, c.col + c.colspan):
                assert (i, j) not in seen
                seen[(i, j)] = c
    assert len(seen) == page.rows * page.cols
    assert page.image.shape == (PAGE_H, PAGE_W, 3)


if __name__ == "__main__":
    import sys
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/scan_page.png")
    Image.fromarray(make_page(seed=1, angle=1.2, noise=12, blur=0.6, jpeg=70).image).save(out)
    print(out)
