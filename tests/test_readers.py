"""HTML, DOCX and digital-PDF readers on the 2021 requests table printed the way real reports print it
(rowspan/colspan, gridSpan/vMerge, ruled PDF cells): same grid, same merged-cell convention, same reading order."""
from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pytest

from service.document import Document
from service.docx_tables import read_docx
from service.html_tables import read_html
from service.ingest import load_source
from service.pdf_text import page_text_quality, read_pdf_text, text_layer_quality
from service.template import get_template

FONT = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
TITLE = "某某区人民政府2023年政府信息公开工作年度报告"
PROSE = "本年度，我区认真贯彻落实《中华人民共和国政府信息公开条例》。"
OUTRO = "五、政府信息公开工作存在的主要问题及改进情况"
COLUMNS = 10   # three label columns, then seven applicant columns


@dataclass
class Span:
    """A printed cell: its text and its top-left grid position and size."""
    text: str
    row: int
    col: int
    rows: int = 1
    cols: int = 1


@lru_cache(maxsize=None)
def requests_table() -> tuple[Span, ...]:
    """The 三、收到和处理政府信息公开申请情况 table as printed, built from the template's labels."""
    section = get_template("gov-info-disclosure/2021").sections["requests"]
    labels = [section.columns[key].label for key in section.columns]   # 自然人 ... 其他, 总计
    spans = [Span(section.header[0], 0, 0, 3, 3), Span(section.header[1], 0, 3, 1, 7),
             Span(labels[0], 1, 3, 2, 1), Span(section.header[2], 1, 4, 1, 5), Span(labels[-1], 1, 9, 2, 1)]
    spans += [Span(label, 2, 4 + i) for i, label in enumerate(labels[1:-1])]
    # 一/二/四 span all three label columns; the rest sit inside 三、本年度办理结果, grouped by their parent.
    top = [r for r in section.rows if r.parent is None and not r.label.startswith("（")]
    block = [r for r in section.rows if r not in top]
    row = 3
    outcome_parent = block[0].parent
    for spec in section.rows:
        if spec in top:
            spans.append(Span(spec.label, row, 0, 1, 3))
        else:
            if spec is block[0]:
                spans.append(Span(outcome_parent, row, 0, len(block), 1))
            if spec.parent in (None, outcome_parent):
                spans.append(Span(spec.label, row, 1, 1, 2))
            else:
                group = [r for r in block if r.parent == spec.parent]
                if spec is group[0]:
                    spans.append(Span(spec.parent, row, 1, len(group), 1))
                spans.append(Span(spec.label, row, 2))
        for j in range(7):
            spans.append(Span("" if (row + j) % 9 == 0 else str((row * 7 + j) % 13), row, 3 + j))
        row += 1
    return tuple(spans)


# --- fixtures, one per format ------------------------------------------------------------------------------------

def make_html(nested: bool = False) -> str:
    rows: dict[int, list[str]] = {}
    for s in requests_table():
        attrs = (f' rowspan="{s.rows}"' if s.rows > 1 else "") + (f' colspan="{s.cols}"' if s.cols > 1 else "")
        text = s.text.replace("，", "，<br/>\n", 1)   # a line break inside a cell, as editors leave them
        rows.setdefault(s.row, []).append(f"<td{attrs}><p><span>{text}</span></p></td>")
    table = "<table border='1' cellspacing='0'>" + "".join(
        f"<tr>{''.join(cells)}</tr>" for _, cells in sorted(rows.items())) + "</table>"
    body = (f"<div class='nav'><a href='/'>首页</a></div><script>var x = '不应出现';</script>"
            f"<h2 style='text-align:center'>{TITLE}</h2><p>一、总体情况</p><p>{PROSE}<br>第二行。</p>"
            f"<p><strong>三、收到和处理政府信息公开申请情况</strong></p>{table}"
            f"<p style='display:none'>隐藏文字</p><p>{OUTRO}</p>")
    if nested:   # old CMS pages wrap the whole article in a layout table
        body = f"<table width='100%'><tr><td><table><tr><td>{body}</td></tr></table></td></tr></table>"
    return (f"<!DOCTYPE html><html><head><meta http-equiv='Content-Type' content='text/html; charset=gb2312'>"
            f"<title>{TITLE}</title></head><body>{body}</body></html>")


def make_docx() -> bytes:
    import docx
    document = docx.Document()
    document.add_paragraph(TITLE)
    document.add_paragraph("一、总体情况")
    document.add_paragraph(PROSE)
    document.add_paragraph("三、收到和处理政府信息公开申请情况")
    spans = requests_table()
    table = document.add_table(rows=max(s.row for s in spans) + 1, cols=COLUMNS)
    grid = table._cells   # Table.cell() rescans the table on every call; merges here never overlap
    for s in spans:
        if s.rows > 1 or s.cols > 1:
            grid[s.row * COLUMNS + s.col].merge(grid[(s.row + s.rows - 1) * COLUMNS + s.col + s.cols - 1])
    grid = table._cells
    for s in spans:
        grid[s.row * COLUMNS + s.col].text = s.text.replace("，", "，\n", 1)
    document.add_paragraph(OUTRO)
    small = document.add_table(rows=2, cols=2)
    for (r, c), text in {(0, 0): "行政复议", (0, 1): "行政诉讼", (1, 0): "0", (1, 1): "1"}.items():
        small.cell(r, c).text = text
    document.add_paragraph("六、其他需要报告的事项")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _cjk_font() -> str:
    """Registers the CJK font for reportlab; PDF tests are skipped (not failed) on a machine without it."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    if not Path(FONT).exists():
        pytest.skip(f"CJK font {FONT} not installed (apt-get install fonts-wqy-zenhei)")
    if "WQY" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("WQY", FONT, subfontIndex=0))
    return "WQY"


def make_pdf() -> bytes:
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle
    style = ParagraphStyle("cjk", fontName=_cjk_font(), fontSize=9, leading=12, wordWrap="CJK")
    spans = requests_table()
    grid = [[""] * COLUMNS for _ in range(max(s.row for s in spans) + 1)]
    commands = [("GRID", (0, 0), (-1, -1), 0.5, "black"), ("FONT", (0, 0), (-1, -1), "WQY", 9)]
    for s in spans:
        grid[s.row][s.col] = Paragraph(s.text, style) if len(s.text) > 3 else s.text
        if s.rows > 1 or s.cols > 1:
            commands.append(("SPAN", (s.col, s.row), (s.col + s.cols - 1, s.row + s.rows - 1)))
    table = Table(grid, colWidths=[40, 70, 170] + [50] * 7)
    table.setStyle(TableStyle(commands))
    buffer = io.BytesIO()
    SimpleDocTemplate(buffer, pagesize=(842, 1500)).build(
        [Paragraph(TITLE, style), Paragraph(PROSE, style), Paragraph("三、收到和处理政府信息公开申请情况", style),
         table, Paragraph(OUTRO, style)])
    return buffer.getvalue()


def make_image_pdf(stamp: str | None = None) -> bytes:
    """A scanned page: one picture, no text (or a page number stamped on digitally)."""
    from PIL import Image, ImageDraw
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas
    image = Image.new("RGB", (600, 800), "white")
    ImageDraw.Draw(image).rectangle((50, 50, 550, 750), outline="black", width=3)
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer)
    c.drawImage(ImageReader(image), 20, 20, width=555, height=800)
    if stamp:
        c.setFont(_cjk_font(), 9)
        c.drawString(280, 10, stamp)
    c.showPage()
    c.save()
    return buffer.getvalue()


@lru_cache(maxsize=None)
def read_fixture(kind: str) -> Document:
    if kind == "html":
        return read_html(load_source(make_html().encode("gbk"), name="r.html"))
    if kind == "docx":
        return read_docx(load_source(make_docx(), name="r.docx"))
    return read_pdf_text(load_source(make_pdf(), name="r.pdf"))


# --- the shared conventions --------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["html", "docx", "pdf"])
def test_requests_table_grid_and_merged_cells(kind):
    document = read_fixture(kind)
    assert document is not None and document.kind == kind
    table = [line for line in document.lines if line.table == 0]
    got = {(cell.row, cell.col): cell.text for line in table for cell in line.cells}
    want = {(s.row, s.col): s.text for s in requests_table()}
    assert got == want   # merged text once at its top-left; covered positions absent; empty cells present as ""
    for line in table:   # one Line per printed row, cells left to right
        assert len({cell.row for cell in line.cells}) == 1
        assert [cell.col for cell in line.cells] == sorted(cell.col for cell in line.cells)


@pytest.mark.parametrize("kind", ["html", "docx", "pdf"])
def test_reading_order_prose_then_table_then_prose(kind):
    lines = read_fixture(kind).lines
    prose = [line.cells[0].text for line in lines if line.table is None]
    assert all(len(line.cells) == 1 for line in lines if line.table is None)
    order = [prose.index(TITLE), prose.index(PROSE) if kind == "docx" else
             next(i for i, t in enumerate(prose) if t.startswith(PROSE)),
             prose.index("三、收到和处理政府信息公开申请情况"), prose.index(OUTRO)]
    assert order == sorted(order)
    position = {id(line): i for i, line in enumerate(lines)}
    heading = next(i for i, line in enumerate(lines) if line.cells[0].text == "三、收到和处理政府信息公开申请情况")
    outro = next(i for i, line in enumerate(lines) if line.cells[0].text == OUTRO)
    table_rows = [position[id(line)] for line in lines if line.table == 0]
    assert heading < min(table_rows) and max(table_rows) < outro


def test_html_skips_scripts_hidden_text_and_keeps_title_once():
    text = read_fixture("html").text()
    assert "不应出现" not in text and "隐藏文字" not in text
    prose = [line.cells[0].text for line in read_fixture("html").lines if line.table is None]
    assert prose.count(TITLE) == 1
    assert f"{PROSE}" in prose and "第二行。" in prose   # <br> ends a line


def test_html_gbk_declared_page_with_gbk_only_characters():
    page = make_html().replace("一、总体情况", "一、总体情况（镕）")   # 镕 is in GBK, not in GB2312
    document = read_html(load_source(page.encode("gbk")))
    assert "一、总体情况（镕）" in [line.cells[0].text for line in document.lines]


def test_html_layout_tables_are_not_data_tables():
    document = read_html(load_source(make_html(nested=True).encode("utf-8")))
    assert {line.table for line in document.lines} == {None, 0}
    got = {(cell.row, cell.col): cell.text for line in document.lines if line.table == 0 for cell in line.cells}
    assert got == {(s.row, s.col): s.text for s in requests_table()}
    assert OUTRO in [line.cells[0].text for line in document.lines if line.table is None]


def test_docx_body_order_interleaves_paragraphs_and_tables():
    lines = read_fixture("docx").lines
    sequence = []
    for line in lines:
        tag = f"table{line.table}" if line.table is not None else line.cells[0].text
        if not sequence or sequence[-1] != tag:
            sequence.append(tag)
    assert sequence == [TITLE, "一、总体情况", PROSE, "三、收到和处理政府信息公开申请情况", "table0", OUTRO,
                        "table1", "六、其他需要报告的事项"]
    small = [[(c.row, c.col, c.text) for c in line.cells] for line in lines if line.table == 1]
    assert small == [[(0, 0, "行政复议"), (0, 1, "行政诉讼")], [(1, 0, "0"), (1, 1, "1")]]


def test_pdf_cells_have_boxes_in_points():
    document = read_fixture("pdf")
    assert document.method == "text-layer" and document.pages == 1
    cells = [cell for line in document.lines for cell in line.cells]
    assert all(cell.box is not None and cell.box.page == 1 for cell in cells)
    by_text = {cell.text: cell.box for line in document.lines if line.table == 0 for cell in line.cells}
    natural, total = by_text["自然人"], by_text["总计"]
    assert abs(natural.y - total.y) < 1 and total.x > natural.x + 200   # same printed row, far right
    assert by_text["三、本年度办理结果"].h > 10 * by_text["（一）予以公开"].h / 2   # the tall merged cell


def test_pdf_without_text_layer_returns_none():
    source = load_source(make_image_pdf())
    assert read_pdf_text(source) is None
    assert text_layer_quality(source) == 0.0
    [page] = page_text_quality(source)
    assert page.needs_ocr and page.has_images and page.glyphs == 0
    assert read_pdf_text(load_source(make_image_pdf(stamp="第 1 页 政府信息公开"))) is None


def test_pdf_with_garbage_text_layer_returns_none():
    from reportlab.pdfgen import canvas
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer)
    for i in range(30):   # GBK bytes shown as Latin-1: what a font without a Unicode map extracts as
        c.drawString(40, 800 - 20 * i, "ÕþžýÐÅÏ¢¹«¿ª¹€×÷Äê¶È±šžæ " * 3)
    c.showPage()
    c.save()
    source = load_source(buffer.getvalue())
    assert text_layer_quality(source) < 0.5
    assert read_pdf_text(source) is None


def test_pdf_unruled_table_aligned_by_whitespace_and_watermark_dropped():
    from reportlab.pdfgen import canvas
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer)
    c.setFont(_cjk_font(), 10)
    section = get_template("gov-info-disclosure/2021").sections["review_and_litigation"]
    header = [column.label for column in section.columns.values()]
    lines = [[PROSE], ["四、政府信息公开行政复议、行政诉讼情况"], header, ["1", "0", "2", "0", "3"],
             ["0", "0", "1", "1", "2"], [OUTRO]]
    for i, cells in enumerate(lines):
        for k, text in enumerate(cells):
            c.drawString(60 + 80 * k, 780 - 20 * i, text)
    c.saveState()
    c.translate(300, 400)
    c.rotate(45)
    c.setFont(_cjk_font(), 40)
    c.drawString(0, 0, "内部资料水印")
    c.restoreState()
    c.showPage()
    c.save()
    document = read_pdf_text(load_source(buffer.getvalue()))
    got = [(line.table, [(cell.row, cell.col, cell.text) for cell in line.cells]) for line in document.lines]
    assert got == [(None, [(None, None, PROSE)]),
                   (None, [(None, None, "四、政府信息公开行政复议、行政诉讼情况")]),
                   (0, [(0, k, text) for k, text in enumerate(header)]),
                   (0, [(1, k, text) for k, text in enumerate(["1", "0", "2", "0", "3"])]),
                   (0, [(2, k, text) for k, text in enumerate(["0", "0", "1", "1", "2"])]),
                   (None, [(None, None, OUTRO)])]
    assert "水印" not in document.text()


def test_html_utf8_page_declaring_gbk_and_layout_cells_with_prose():
    article = "".join(f"<p>{PROSE}</p>" for _ in range(20))
    page = (f"<html><head><meta charset='gbk'></head><body><table><tr><td><a>首页</a></td><td>{article}"
            f"<p>{OUTRO}</p></td></tr><tr style='display:none'><td>隐藏</td><td></td></tr></table></body></html>")
    document = read_html(load_source(page.encode("utf-8")))
    assert all(line.table is None for line in document.lines)
    assert [line.cells[0].text for line in document.lines] == ["首页"] + [PROSE] * 20 + [OUTRO]


def test_docx_automatic_numbering_is_printed():
    """Headings numbered by Word lists (三、 and （一） come from numbering.xml, not from the text)."""
    import docx
    from docx.oxml import parse_xml
    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    document = docx.Document()
    numbering = document.part.numbering_part.element
    numbering.insert(0, parse_xml(
        f'<w:abstractNum {w} w:abstractNumId="90">'
        '<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="chineseCounting"/><w:lvlText w:val="%1、"/>'
        '<w:suff w:val="nothing"/></w:lvl>'
        '<w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="chineseCounting"/><w:lvlText w:val="（%2）"/>'
        '</w:lvl></w:abstractNum>'))
    numbering.append(parse_xml(f'<w:num {w} w:numId="90"><w:abstractNumId w:val="90"/></w:num>'))

    def numbered(text: str, level: int) -> None:
        paragraph = document.add_paragraph(text)
        paragraph._p.get_or_add_pPr().append(parse_xml(
            f'<w:numPr {w}><w:ilvl w:val="{level}"/><w:numId w:val="90"/></w:numPr>'))

    numbered("总体情况", 0)
    numbered("主动公开", 1)
    numbered("依申请公开", 1)
    numbered("主动公开政府信息情况", 0)
    numbered("收到和处理政府信息公开申请情况", 0)
    document.add_paragraph("正文。")
    buffer = io.BytesIO()
    document.save(buffer)
    lines = [line.cells[0].text for line in read_docx(load_source(buffer.getvalue())).lines]
    assert lines == ["一、总体情况", "（一）主动公开", "（二）依申请公开", "二、主动公开政府信息情况",
                     "三、收到和处理政府信息公开申请情况", "正文。"]


def test_pdf_text_mapped_to_wrong_ideographs_is_garbage():
    import random
    from reportlab.pdfgen import canvas
    rng = random.Random(0)
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer)
    c.setFont(_cjk_font(), 10)
    for i in range(20):
        c.drawString(40, 800 - 20 * i, "".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(40)))
    c.showPage()
    c.save()
    source = load_source(buffer.getvalue())
    assert text_layer_quality(source) < 0.5 and read_pdf_text(source) is None
    assert text_layer_quality(load_source(make_pdf())) == 1.0


def _sideways_pdf(angle: int) -> bytes:
    """The requests table drawn turned by `angle` degrees on a portrait page (as "print to PDF" leaves a
    landscape page)."""
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfgen import canvas
    from reportlab.platypus import Paragraph, Table, TableStyle
    style = ParagraphStyle("cjk", fontName=_cjk_font(), fontSize=9, leading=12, wordWrap="CJK")
    spans = requests_table()
    grid = [[""] * COLUMNS for _ in range(max(s.row for s in spans) + 1)]
    commands = [("GRID", (0, 0), (-1, -1), 0.5, "black"), ("FONT", (0, 0), (-1, -1), "WQY", 9)]
    for s in spans:
        grid[s.row][s.col] = Paragraph(s.text, style) if len(s.text) > 3 else s.text
        if s.rows > 1 or s.cols > 1:
            commands.append(("SPAN", (s.col, s.row), (s.col + s.cols - 1, s.row + s.rows - 1)))
    table = Table(grid, colWidths=[40, 70, 170] + [45] * 7)
    table.setStyle(TableStyle(commands))
    width, height = table.wrap(2000, 2000)
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pagesize=(height + 100, width + 100))
    if angle == 90:
        c.translate(height + 50, 50)
    else:
        c.translate(50, width + 50)
    c.rotate(angle)
    table.drawOn(c, 0, 0)
    c.showPage()
    c.save()
    return buffer.getvalue()


@pytest.mark.parametrize("angle", [90, -90])
def test_pdf_sideways_page_is_read_turned(angle):
    import pypdfium2 as pdfium
    data = _sideways_pdf(angle)
    want = {(s.row, s.col): s.text for s in requests_table()}
    document = read_pdf_text(load_source(data))
    got = {(cell.row, cell.col): cell.text for line in document.lines if line.table == 0 for cell in line.cells}
    assert got == want
    total = next(cell for line in document.lines for cell in line.cells if cell.text == "总计")
    natural = next(cell for line in document.lines for cell in line.cells if cell.text == "自然人")
    assert abs(total.box.x - natural.box.x) < 1   # boxes stay on the page as printed: one above the other
    pdf = pdfium.PdfDocument(data)   # the same page with /Rotate set, so a viewer shows it upright
    pdf[0].set_rotation(angle % 360)
    buffer = io.BytesIO()
    pdf.save(buffer)
    document = read_pdf_text(load_source(buffer.getvalue()))
    assert {(cell.row, cell.col): cell.text for line in document.lines if line.table == 0
            for cell in line.cells} == want


def test_html_with_a_stray_byte_keeps_its_encoding():
    for encoding in ("utf-8", "gbk"):
        page = make_html().encode(encoding).replace(b"</h2>", b"\xff</h2>")
        lines = [line.cells[0].text for line in read_html(load_source(page)).lines]
        assert OUTRO in lines and any(line.startswith(TITLE) for line in lines), encoding


def test_html_deep_nesting_keeps_text_without_recursion_errors():
    page = "<html><body>" + "<table><tr><td>" * 600 + "深层文字" + "</td></tr></table>" * 600 + f"<p>{OUTRO}</p>"
    lines = [line.cells[0].text for line in read_html(load_source(page.encode())).lines]
    assert lines == ["深层文字", OUTRO]


def test_docx_with_broken_xml_is_an_input_error():
    import zipfile
    from service.document import InputError
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(make_docx())) as original, \
            zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as broken:
        for item in original.infolist():
            data = original.read(item.filename)
            broken.writestr(item, data[: len(data) // 2] if item.filename == "word/document.xml" else data)
    with pytest.raises(InputError, match="DOCX is damaged"):
        read_docx(load_source(buffer.getvalue()))


def test_pdf_table_going_on_over_a_page_break_keeps_one_index():
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle
    style = ParagraphStyle("cjk", fontName=_cjk_font(), fontSize=10, leading=14)
    rows = [["事项", "数量", "备注"]] + [[f"第{i}项事务", str(i), "无"] for i in range(1, 81)]
    table = Table(rows, colWidths=[200, 80, 80])
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, "black"), ("FONT", (0, 0), (-1, -1), "WQY", 10)]))

    def page_number(canvas, doc):
        canvas.setFont("WQY", 9)
        canvas.drawString(290, 30, f"- {doc.page} -")

    buffer = io.BytesIO()
    SimpleDocTemplate(buffer).build([Paragraph(PROSE, style), table, Paragraph(OUTRO, style)],
                                    onFirstPage=page_number, onLaterPages=page_number)
    document = read_pdf_text(load_source(buffer.getvalue()))
    assert document.pages >= 2
    table_lines = [line for line in document.lines if line.table is not None]
    assert {line.table for line in table_lines} == {0}
    assert [line.cells[0].row for line in table_lines] == list(range(81))
    assert [line.cells[0].text for line in table_lines][-1] == "第80项事务"
    assert "-1-" in [line.cells[0].text for line in document.lines if line.table is None]


def test_pdf_title_over_two_lines_in_large_type_is_one_line():
    from reportlab.pdfgen import canvas
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer)
    c.setFont(_cjk_font(), 18)
    c.drawCentredString(300, 780, "某某市某某区人民政府办公室")
    c.drawCentredString(300, 756, "2023年政府信息公开工作年度报告")
    c.drawString(60, 720, "一、总体情况")
    c.setFont(_cjk_font(), 10.5)
    for i in range(8):
        c.drawString(60, 690 - 16 * i, PROSE + "现将有关情况报告如下。")
    c.showPage()
    c.save()
    lines = [line.cells[0].text for line in read_pdf_text(load_source(buffer.getvalue())).lines]
    assert lines[:2] == ["某某市某某区人民政府办公室2023年政府信息公开工作年度报告", "一、总体情况"]
    assert lines[2:] == [(PROSE + "现将有关情况报告如下。") * 8]   # one paragraph, wrapped over 8 lines


def test_pdf_wrapped_paragraphs_join_but_headings_and_signature_stay_apart():
    from reportlab.pdfgen import canvas
    text = (PROSE * 6).replace("《", "").replace("》", "")
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer)
    c.setFont(_cjk_font(), 16)
    y = 780

    def line(x: float, content: str, right: bool = False) -> None:
        nonlocal y
        if right:
            c.drawRightString(520, y, content)
        else:
            c.drawString(x, y, content)
        y -= 28

    line(104, text[:26])              # paragraph 1: indented first line, full
    line(72, text[26:54])             # full continuation
    line(72, text[54:64])             # short last line
    line(104, "二、主动公开政府信息情况")   # heading
    line(104, text[:26])              # paragraph 2
    line(72, text[26:30])
    line(104, text[:26])              # paragraph 3, right after a short last line
    line(72, text[26:54])
    line(0, "某某区人民政府办公室", right=True)
    line(0, "2024年1月20日", right=True)
    c.showPage()
    c.save()
    lines = [ln.cells[0].text for ln in read_pdf_text(load_source(buffer.getvalue())).lines]
    assert lines == [text[:64], "二、主动公开政府信息情况", text[:30], text[:54], "某某区人民政府办公室", "2024年1月20日"]


def test_char_quality_counts_unmapped_glyphs_hard():
    from service.pdf_text import char_quality
    text = list((PROSE + TITLE) * 4)
    assert char_quality(text) == 1.0
    assert char_quality(text + ["(cid:12)"] * 2) > 0.9             # a stray symbol font
    assert char_quality(text[:90] + ["(cid:12)"] * 10) < 0.6       # digits or words lost: OCR instead
    assert char_quality(["\ue001"] * 60) == 0.0                    # private-use code points


def test_docx_package_python_docx_refuses_is_read_from_the_zip():
    """A macro-enabled document (.docm) has another content type; its body is the same."""
    import zipfile
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(make_docx())) as original, \
            zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as docm:
        for item in original.infolist():
            data = original.read(item.filename)
            if item.filename == "[Content_Types].xml":
                data = data.replace(b"document.main+xml", b"document.macroEnabled.main+xml")
            docm.writestr(item, data)
    lines = read_docx(load_source(buffer.getvalue())).lines
    assert [(line.table, [c.text for c in line.cells]) for line in lines] == \
        [(line.table, [c.text for c in line.cells]) for line in read_fixture("docx").lines]


def test_merge_ocr_pages_fills_the_pages_without_text():
    from service.document import Box, Cell, Line
    from service.pdf_text import merge_ocr_pages

    def line(page: int, text: str, table: int | None = None) -> Line:
        return Line([Cell(text, box=Box(page, 0, 0, 1, 1), row=0 if table is not None else None,
                          col=0 if table is not None else None)], table=table)

    text_doc = Document("r.pdf", "pdf", [line(1, "一、总体情况"), line(1, "规章", 0), line(3, OUTRO)], pages=3,
                        method="text-layer", warnings=["no usable text layer on pages 2: they need OCR"])
    ocr_doc = Document("r.pdf", "pdf", [line(1, "一、总休情况"), line(2, "自然人", 0), line(2, "三、收到"),
                                        line(3, "五、存在")], pages=3, method="ocr")
    merged = merge_ocr_pages(text_doc, ocr_doc)
    assert [(ln.cells[0].text, ln.table) for ln in merged.lines] == \
        [("一、总体情况", None), ("规章", 0), ("自然人", 1), ("三、收到", None), (OUTRO, None)]
    assert merged.method == "text-layer+ocr" and merged.warnings == ["pages 2 read by OCR"]
