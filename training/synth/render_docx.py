"""DOCX (python-docx) with merged table cells, CJK fonts set on the eastAsia slot, landscape sections for tables."""
from __future__ import annotations

import datetime as dt
import io
import zipfile

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt

from training.synth.compose import SynthDoc
from training.synth.fonts import FAMILIES
from training.synth.tables import Table

ALIGN = {"left": WD_ALIGN_PARAGRAPH.LEFT, "center": WD_ALIGN_PARAGRAPH.CENTER, "right": WD_ALIGN_PARAGRAPH.RIGHT}


def _font(run, family: str, size: float, bold: bool = False) -> None:
    run.font.name = family
    run.font.size = Pt(size)
    run.font.bold = bold
    rpr = run._element.get_or_add_rPr()
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(rfonts)
    rfonts.set(qn("w:eastAsia"), family)


def _table(document, table: Table, doc: SynthDoc) -> None:
    st = doc.style
    family = FAMILIES[st.font]
    t = document.add_table(rows=table.nrows, cols=table.ncols)
    if st.rules.get(table.section, "full") != "none":
        t.style = "Table Grid"
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    # Table.cell() rescans the whole table on every call; take the grid once. Merges never overlap, so the
    # wrappers of the cells a merge does not touch stay valid.
    n = table.ncols
    grid = t._cells
    for c in table.cells:
        if c.rowspan > 1 or c.colspan > 1:
            grid[c.row * n + c.col].merge(grid[(c.row + c.rowspan - 1) * n + c.col + c.colspan - 1])
    grid = t._cells
    for c in table.cells:
        para = grid[c.row * n + c.col].paragraphs[0]
        para.alignment = ALIGN["center" if c.header or not c.label else st.label_align]
        _font(para.add_run(c.text), family, st.table_size + 1)


def _landscape_section(document, landscape: bool) -> None:
    section = document.add_section(WD_SECTION.NEW_PAGE)
    w, h = section.page_width, section.page_height
    if landscape != (w > h):
        section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = h, w


def render_docx(doc: SynthDoc) -> bytes:
    st = doc.style
    family = FAMILIES[st.font]
    document = Document()
    normal = document.styles["Normal"]
    normal.font.name = family
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), family)
    landscape = False
    for i, block in enumerate(doc.blocks):
        nxt = doc.blocks[i + 1] if i + 1 < len(doc.blocks) else None
        if block.kind == "title":
            p = document.add_paragraph()
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
            _font(p.add_run(block.text), FAMILIES[st.title_font], st.title_size, bold=True)
        elif block.kind == "heading":
            wants = bool(nxt and nxt.kind == "table" and st.landscape.get(nxt.table.section))
            if wants != landscape:
                _landscape_section(document, wants)
                landscape = wants
            p = document.add_paragraph()
            p.paragraph_format.first_line_indent = Pt(st.body_size * 2)
            _font(p.add_run(block.text), family, st.body_size, bold=st.heading_bold)
        elif block.kind == "para":
            p = document.add_paragraph()
            p.paragraph_format.first_line_indent = Pt(st.body_size * 2)
            _font(p.add_run(block.text), family, st.body_size)
        elif block.kind == "table":
            _table(document, block.table, doc)
        elif block.kind == "sign":
            p = document.add_paragraph()
            p.alignment = ALIGN[st.signature_align]
            _font(p.add_run(block.text), family, st.body_size)
    year = doc.report["year"]
    props = document.core_properties
    props.title = doc.blocks[0].text
    props.author = doc.report["agency"]
    props.created = props.modified = dt.datetime(year + 1, 1, 15, 9, 0, 0)
    props.last_printed = dt.datetime(year + 1, 1, 15, 9, 0, 0)
    props.revision = 1
    buf = io.BytesIO()
    document.save(buf)
    return _fixed_zip(buf.getvalue())


def _fixed_zip(data: bytes) -> bytes:
    """Rewrite the package with fixed member timestamps, so the bytes depend on the seed only."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()
