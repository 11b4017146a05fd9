"""Digital PDF with a real text layer (reportlab, embedded CJK TrueType subsets), laid out by hand.

Tables are drawn cell by cell so that every cell's rectangle is known: the scan step maps these rectangles through
its geometric degradation to give each cell's box in the scan. Rows never split; a table may run over pages (a
merged label cell is then cut, its text kept in the larger piece). `invariant=1` makes the bytes depend on the
seed only.
"""
from __future__ import annotations

import io
import random
from dataclasses import dataclass, field
from functools import lru_cache

from reportlab.lib.pagesizes import A4, landscape
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen import canvas as rl_canvas

from training.synth import fonts
from training.synth.compose import SynthDoc
from training.synth.seal import seal_image
from training.synth.tables import Table

NO_LINE_START = set("，。、；：？！）》”’,.;:)%")


@dataclass
class PlacedCell:
    page: int  # 1-based
    x: float  # points from the page's left edge
    y: float  # points from the page's top edge
    w: float
    h: float
    text: str
    key: str | None
    section: str


@dataclass
class PdfResult:
    data: bytes
    pages: list[tuple[float, float]] = field(default_factory=list)  # (width, height) in points
    cells: list[PlacedCell] = field(default_factory=list)


@lru_cache(maxsize=200_000)
def _char_width(ch: str, font: str, size: float) -> float:
    return stringWidth(ch, font, size)


def text_width(text: str, font: str, size: float) -> float:
    return sum(_char_width(ch, font, size) for ch in text)


def wrap(text: str, font: str, size: float, width: float, indent: float = 0.0) -> list[str]:
    """Greedy CJK line breaking; runs of ASCII letters/digits stay together, closing punctuation never starts a line."""
    tokens: list[str] = []
    for ch in text:
        if tokens and ch.isascii() and ch.isalnum() and tokens[-1][-1].isascii() and tokens[-1][-1].isalnum():
            tokens[-1] += ch
        elif tokens and ch in NO_LINE_START:
            tokens[-1] += ch
        else:
            tokens.append(ch)
    lines: list[str] = []
    line, used, limit = "", 0.0, max(width - indent, size)
    for tok in tokens:
        w = text_width(tok, font, size)
        if line and used + w > limit:
            lines.append(line)
            line, used, limit = "", 0.0, max(width, size)
        line += tok
        used += w
    if line or not lines:
        lines.append(line)
    return lines


class Writer:
    """A cursor over pages: y grows downwards from the top margin."""

    def __init__(self, doc: SynthDoc):
        self.doc = doc
        self.style = doc.style
        self.buf = io.BytesIO()
        self.c = rl_canvas.Canvas(self.buf, pagesize=A4, invariant=1, pageCompression=1)
        self.c.setTitle(doc.blocks[0].text)
        self.c.setAuthor("")
        self.c.setCreator("")
        self.c.setProducer("")
        self.body = fonts.register(self.style.font)
        self.title_font = fonts.register(self.style.title_font)
        self.values = fonts.register(self.style.value_font) if self.style.value_font else self.body
        self.pages: list[tuple[float, float]] = [A4]
        self.cells: list[PlacedCell] = []
        self.y = self.style.margin
        self.landscape = False

    # -- pages -------------------------------------------------------------------------------------------------
    @property
    def size(self) -> tuple[float, float]:
        return self.pages[-1]

    @property
    def bottom(self) -> float:
        return self.size[1] - self.style.margin

    @property
    def width(self) -> float:
        return self.size[0] - 2 * self.style.margin

    def _seal(self, top: float, bottom: float) -> None:
        """The red seal over the signature and date (centred on the signature block)."""
        from reportlab.lib.utils import ImageReader

        st = self.style
        rng = random.Random(f"{self.doc.doc_id}-seal")
        diameter = rng.uniform(110, 130)  # about 4 cm, as real seals
        width = max(text_width(b.text, self.body, st.body_size) for b in self.doc.blocks if b.kind == "sign")
        if st.signature_align == "center":
            cx = self.style.margin + self.width / 2
        else:
            cx = self.style.margin + self.width - st.body_size * 2 - width / 2
        cx += rng.uniform(-15, 15)
        cy = (top + bottom) / 2 + rng.uniform(-10, 10)
        image = seal_image(self.doc.report["agency"], rng)
        self.c.drawImage(ImageReader(image), cx - diameter / 2, self.size[1] - cy - diameter / 2, diameter, diameter,
                         mask="auto")

    def _footer(self) -> None:
        w = self.size[0]
        label = f"- {len(self.pages)} -"
        self.c.setFont(self.body, 9)
        self.c.drawCentredString(w / 2, self.style.margin * 0.45, label)

    def new_page(self, landscape_page: bool | None = None) -> None:
        if landscape_page is None:
            landscape_page = self.landscape
        self._footer()
        self.c.showPage()
        size = landscape(A4) if landscape_page else A4
        self.c.setPageSize(size)
        self.pages.append(size)
        self.landscape = landscape_page
        self.y = self.style.margin

    def ensure(self, height: float) -> None:
        if self.y + height > self.bottom and self.y > self.style.margin + 1:
            self.new_page()

    # -- text --------------------------------------------------------------------------------------------------
    def draw_text(self, x: float, top: float, text: str, font: str, size: float, bold: bool = False) -> None:
        baseline = self.size[1] - (top + size * 0.86)
        # Bold is fill+stroke; the render mode is graphics state that reportlab does not reset, so it lives
        # inside q/Q.
        if bold:
            self.c.saveState()
            self.c.setLineWidth(size * 0.03)
        t = self.c.beginText(x, baseline)
        t.setFont(font, size)
        if bold:
            t.setTextRenderMode(2)
        t.textOut(text)
        self.c.drawText(t)
        if bold:
            self.c.restoreState()

    def paragraph(self, text: str, font: str, size: float, align: str = "left", indent: float = 0.0,
                  bold: bool = False, after: float = 0.0) -> None:
        lead = size * self.style.leading
        for i, line in enumerate(wrap(text, font, size, self.width, indent)):
            self.ensure(lead)
            w = text_width(line, font, size)
            x = self.style.margin + (indent if i == 0 else 0)
            if align == "center":
                x = self.style.margin + (self.width - w) / 2
            elif align == "right":
                x = self.style.margin + self.width - w - size * 2
            self.draw_text(x, self.y + (lead - size) / 2, line, font, size, bold)
            self.y += lead
        self.y += after

    # -- tables ------------------------------------------------------------------------------------------------
    def table(self, table: Table) -> None:
        """Rows are planned first (which page each goes on), then drawn page by page as the pages are emitted."""
        plan = _plan_rows(self, table)
        st = self.style
        size, lead = plan["size"], plan["lead"]
        xs, heights, lines, row_page = plan["xs"], plan["heights"], plan["lines"], plan["row_page"]
        ruling = st.rules.get(table.section, "full")
        if plan["break_first"]:
            self.new_page()
        row_top: dict[int, float] = {}
        for p in range(max(row_page) + 1):
            if p > 0:
                self.new_page()
            for r in [r for r in range(table.nrows) if row_page[r] == p]:
                row_top[r] = self.y
                self.y += heights[r]
            self.c.setLineWidth(st.line_width)
            self.c.setStrokeGray(0.0)
            page = len(self.pages)
            bx0 = by0 = float("inf")
            bx1 = by1 = float("-inf")
            for idx, cell in enumerate(table.cells):
                pieces: dict[int, list[int]] = {}
                for r in range(cell.row, cell.row + cell.rowspan):
                    pieces.setdefault(row_page[r], []).append(r)
                if p not in pieces:
                    continue
                # A merged cell cut by a page break keeps its text in its larger piece.
                best = max(pieces, key=lambda q: (sum(heights[r] for r in pieces[q]), -q))
                rows = pieces[p]
                x0, x1 = xs[cell.col], xs[cell.col + cell.colspan]
                top = row_top[rows[0]]
                h = sum(heights[r] for r in rows)
                text = cell.text if p == best else ""
                self.cells.append(PlacedCell(page, x0, top, x1 - x0, h, text, cell.key if text else None,
                                             table.section))
                bx0, by0, bx1, by1 = min(bx0, x0), min(by0, top), max(bx1, x1), max(by1, top + h)
                self._draw_cell(x0, top, x1 - x0, h, lines[idx] if text else [], cell, size, lead, ruling)
            if ruling == "partial" and bx1 > bx0:
                self.c.rect(bx0, self.size[1] - by1, bx1 - bx0, by1 - by0)
        self.y += size

    def _draw_cell(self, x, top, w, h, text_lines, cell, size, lead, ruling) -> None:
        st = self.style
        pad = size * 0.35
        page_h = self.size[1]
        if ruling == "full":
            self.c.rect(x, page_h - top - h, w, h)
        elif ruling in ("partial", "horizontal"):
            self.c.line(x, page_h - top, x + w, page_h - top)
            self.c.line(x, page_h - top - h, x + w, page_h - top - h)
        y = top + (h - len(text_lines) * lead) / 2
        align = "center" if cell.header else (st.label_align if cell.label else st.value_align)
        font = self.values if cell.key else self.body
        for line in text_lines:
            tw = text_width(line, font, size)
            if align == "center":
                tx = x + (w - tw) / 2
            elif align == "right":
                tx = x + w - tw - pad * 2
            else:
                tx = x + pad * 2
            self.draw_text(tx, y + (lead - size) / 2, line, font, size)
            y += lead

    # -- document ----------------------------------------------------------------------------------------------
    def render(self) -> PdfResult:
        st = self.style
        blocks = self.doc.blocks
        first_sign = True
        for i, block in enumerate(blocks):
            nxt = blocks[i + 1] if i + 1 < len(blocks) else None
            if block.kind == "title":
                self.y += st.body_size
                self.paragraph(block.text, self.title_font, st.title_size, align="center", bold=True,
                               after=st.title_size)
            elif block.kind == "heading":
                wants_landscape = bool(nxt and nxt.kind == "table" and st.landscape.get(nxt.table.section))
                if wants_landscape != self.landscape:
                    self.new_page(wants_landscape)
                self.ensure(st.body_size * st.leading * 2 + (90 if nxt and nxt.kind == "table" else 0))
                self.y += st.body_size * 0.4
                heading_font = fonts.register("sans") if st.heading_bold and st.font != "wqy" else self.body
                self.paragraph(block.text, heading_font, st.body_size, indent=st.body_size * 2,
                               bold=st.heading_bold, after=st.body_size * 0.4)
            elif block.kind == "para":
                self.paragraph(block.text, self.body, st.body_size, indent=st.body_size * 2)
            elif block.kind == "table":
                self.table(block.table)
            elif block.kind == "sign":
                if first_sign:
                    self.ensure(st.body_size * st.leading * 2 + st.body_size * 2)
                    self.y += st.body_size * 2
                    first_sign = False
                    sign_top = self.y
                self.paragraph(block.text, self.body, st.body_size, align=st.signature_align)
                if st.seal and (nxt is None or nxt.kind != "sign"):
                    self._seal(sign_top, self.y)
        self._footer()
        self.c.showPage()
        self.c.save()
        return PdfResult(self.buf.getvalue(), self.pages, self.cells)


def render_pdf(doc: SynthDoc) -> PdfResult:
    return Writer(doc).render()


def _plan_rows(w: Writer, table: Table) -> dict:
    st = w.style
    size = st.table_size
    font = w.body
    pad = size * 0.35
    lead = size * 1.25
    jitter = random.Random(f"{w.doc.doc_id}-{table.section}-widths")
    widths = [cw * (1 + st.col_jitter * jitter.uniform(-1, 1)) for cw in table.col_weights]
    scale = w.width / sum(widths)
    widths = [cw * scale for cw in widths]
    xs = [st.margin]
    for cw in widths:
        xs.append(xs[-1] + cw)
    lines: dict[int, list[str]] = {}
    heights = [size * 1.9] * table.nrows
    for idx, cell in enumerate(table.cells):
        inner = xs[cell.col + cell.colspan] - xs[cell.col] - 2 * pad
        lines[idx] = wrap(cell.text, w.values if cell.key else font, size, inner) if cell.text else [""]
        if cell.rowspan == 1:
            heights[cell.row] = max(heights[cell.row], len(lines[idx]) * lead + 2 * pad)
    for idx, cell in enumerate(table.cells):
        if cell.rowspan > 1:
            span = range(cell.row, cell.row + cell.rowspan)
            need = len(lines[idx]) * lead + 2 * pad
            have = sum(heights[r] for r in span)
            if need > have:
                for r in span:
                    heights[r] += (need - have) / cell.rowspan
    # The header and the first data row stay together.
    keep = sum(heights[: table.header_rows + 1])
    y = w.y
    break_first = y + keep > w.bottom and y > st.margin + 1
    if break_first:
        y = st.margin
    page = 0
    row_page = []
    for r in range(table.nrows):
        if y + heights[r] > w.bottom and y > st.margin + 1:
            page += 1
            y = st.margin
        row_page.append(page)
        y += heights[r]
    return {"size": size, "pad": pad, "lead": lead, "xs": xs, "heights": heights, "lines": lines,
            "row_page": row_page, "break_first": break_first}
