"""Text dumps as real tools produce them from these reports.

- tabs: pdftotext-like, one printed row per line, cells separated by tabs, merged cells leave empty slots
  (seeds 000-003); a tall merged label may be spread over its rows in pieces ("三、本" / "年度办" / "理结果").
- pipes_cell: HTML flattened one cell per line with a trailing " |", a line of "|" for each row's missing slots
  (seed 004).
- pipes_row: HTML flattened one row per line, "| a | b |" with "|||" padding for merged slots.
- runs: cells run together (label immediately followed by digits, "规章000"); a vertical header comes out one
  character per line.
Serializations of real page texts (REAL_TEXT_STYLES, chosen by name: the drawn styles above stay as they were):
- slash_cells: one cell per line ending " |", an EMPTY cell is a lone "|" line (the zero parts of 三 and 四 rows,
  which the row's printed total forces back to 0), padding "|"s after the row;
- row_marks: the same, every row starting with a lone "|" line;
- pipes_blank: "| 821 | 35 |  |  | 2 | 1 | 859 |", empty cells keep their column's place;
- one_line: page text whose tables are printed on ONE line with every cell run together;
- markdown_torn: PDF-to-markdown, tables with "|---|" rules in pieces, some row labels torn out of the table into
  wrapped text above the piece;
- vlm_markdown: OCR/VLM markdown, each table a full grid under generic column headers ("| 列1 | 列2 |"), merged
  cells as empty slots, the header rows again as a stray row inside the table.
Each may also carry the quirks real pages add: page chrome before the title, traditional characters, the change
column printed 增N, the fee column in 元.
"""
from __future__ import annotations

import copy
import random

from training.synth.compose import SynthDoc
from training.synth.tables import Table, TCell


def _spaced(text: str, rng: random.Random, narrow: bool) -> str:
    """Wrapped header text comes out with a space where the line broke ("结果 维持")."""
    if narrow and 3 < len(text) <= 6 and rng.random() < 0.5:
        cut = len(text) // 2
        return text[:cut] + " " + text[cut:]
    return text


def _wrapped(text: str, width: int) -> str:
    """A long cell that wrapped in the PDF comes out with a space at each line break ("等 于第三项")."""
    if width <= 0 or len(text) <= width:
        return text
    return " ".join(text[i:i + width] for i in range(0, len(text), width))


def _tall(cell: TCell) -> bool:
    return cell.rowspan >= 3 and cell.label


def _tabs(table: Table, rng: random.Random, spread: bool, wrap_at: int) -> list[str]:
    slots = [[""] * table.ncols for _ in range(table.nrows)]
    for c in table.cells:
        text = _spaced(c.text, rng, c.header and c.colspan == 1)
        if not c.key and not _tall(c):
            text = _wrapped(text, wrap_at)
        if spread and _tall(c):
            # Pieces of 2-3 characters in the middle rows of the span, as pdftotext emits a narrow column.
            size = rng.choice([2, 3])
            pieces = [text[i:i + size] for i in range(0, len(text), size)]
            start = c.row + max(0, (c.rowspan - len(pieces)) // 2)
            for k, piece in enumerate(pieces):
                r = min(start + k, c.row + c.rowspan - 1)
                slots[r][c.col] = (slots[r][c.col] + piece) if k >= c.rowspan else piece
        else:
            slots[c.row][c.col] = text
    lines = []
    for row in slots:
        while len(row) > 1 and row[-1] == "" and rng.random() < 0.3:
            row = row[:-1]
        lines.append("\t".join(row))
    return lines


def _pipes_cell(table: Table, rng: random.Random) -> list[str]:
    lines = []
    for row in table.rows():
        for c in row:
            lines.append(f"{_spaced(c.text, rng, c.header and c.colspan == 1)} |")
        missing = table.ncols - len(row)
        if missing > 0:
            lines.append("|" * missing)
    return lines


def _pipes_row(table: Table, rng: random.Random) -> list[str]:
    lines = []
    for row in table.rows():
        texts = [_spaced(c.text, rng, c.header and c.colspan == 1) for c in row]
        missing = table.ncols - len(row)
        lines.append("| " + " | ".join(texts) + " |" + "|" * missing)
    return lines


def _runs(table: Table, rng: random.Random, sep: str) -> list[str]:
    lines = []
    for row in table.rows():
        vertical = [c for c in row if _tall(c)]
        for c in vertical:
            lines.extend(ch for ch in c.text)
        texts = [c.text for c in row if c not in vertical]
        labels = [t for t, c in zip(texts, [c for c in row if c not in vertical]) if not c.key]
        values = [c.text for c in row if c.key]
        lines.append("".join(labels) + sep.join(values))
    return lines


REAL_TEXT_STYLES = ("slash_cells", "row_marks", "pipes_blank", "one_line", "markdown_torn", "vlm_markdown")


def _blank_ok(cell: TCell) -> bool:
    """A zero part of a row whose total is printed: the row's arithmetic forces it, so it may print empty."""
    if not cell.key or cell.text != "0":
        return False
    section, _, col = cell.key.split(".")
    return section in ("requests", "review_and_litigation") and col != "total"


def _slash_cells(table: Table, rng: random.Random, marks: bool) -> list[str]:
    lines = []
    for row in table.rows():
        if marks:
            lines.append("|")
        for c in row:
            lines.append("|" if _blank_ok(c) else f"{c.text} |")
        missing = table.ncols - len(row)
        if not marks and missing > 0:
            lines.append("|" * missing)
    return lines


def _pipes_blank(table: Table) -> list[str]:
    lines = []
    for row in table.rows():
        texts = [" " if _blank_ok(c) else c.text for c in row]
        lines.append("| " + " | ".join(texts) + " |")
    return lines


def _run_line(table: Table) -> str:
    return "".join(c.text for row in table.rows() for c in row)


def _markdown(table: Table, rng: random.Random) -> list[str]:
    """Pieces of a markdown table; a row label is torn out into the text above its piece now and then."""
    lines: list[str] = []
    piece: list[str] = []
    torn: list[str] = []

    def flush():
        if piece:
            width = max(p.count("|") - 1 for p in piece)
            lines.extend(torn + [""] + [piece[0], "|" + "---|" * width] + piece[1:] + [""])
            piece.clear()
            torn.clear()

    for row in table.rows():
        values = [c for c in row if c.key]
        labels = [c for c in row if not c.key]
        if not values:
            flush()
            lines.append("".join(c.text for c in row))
            continue
        if table.section == "requests" and labels and rng.random() < 0.2:
            text = labels[-1].text
            torn.extend(text[i:i + 9] for i in range(0, len(text), 9))
            labels = []
        piece.append("| " + " | ".join(c.text for c in labels + values) + " |")
        if rng.random() < 0.15:
            flush()
    flush()
    return lines


def _vlm_markdown(table: Table, rng: random.Random) -> list[str]:
    """OCR/VLM markdown: the full grid under a generic header row ("| 列1 | 列2 |"); a merged cell's text in its
    first slot (or repeated down a tall label), empty cells for the rest of its span; the header rows again as a
    stray row inside the table."""
    slots = [[""] * table.ncols for _ in range(table.nrows)]
    repeat = rng.random() < 0.5
    for c in table.cells:
        for r in range(c.row, c.row + (c.rowspan if repeat and c.label else 1)):
            slots[r][c.col] = c.text
    head = slots[:table.header_rows]
    body = slots[table.header_rows:]
    if head and len(body) > 10:
        cut = rng.randint(5, len(body) - 5)
        body = body[:cut] + head + body[cut:]
    rows = head + body
    out = ["", "| " + " | ".join(f"列{i + 1}" for i in range(table.ncols)) + " |", "|" + "---|" * table.ncols]
    out += ["| " + " | ".join(t or " " for t in row) + " |" for row in rows]
    return out + [""]


def _quirks(text: str, doc: SynthDoc, rng: random.Random) -> str:
    """What real pages add around the same tables."""
    if rng.random() < 0.3:
        title = next(b.text for b in doc.blocks if b.kind == "title")
        text = "\n".join([f"标题: {title}", f"发布时间: {doc.report['year'] + 1}-01-20 10:00", "文号:",
                          "栏目: 政府信息公开年报", "当前位置：首页 > 政务公开 > 政府信息公开年报", text])
    if rng.random() < 0.15:
        from opencc import OpenCC

        text = OpenCC("s2t").convert(text)
    return text


def _signed_plus(table: Table, doc: SynthDoc) -> None:
    """The change column printed 增N for a rise (as 减N for a fall)."""
    sec = doc.template.sections[table.section]
    for c in table.cells:
        if c.key and sec.columns[c.key.split(".")[2]].signed and c.text.isdigit() and c.text != "0":
            c.text = "增" + c.text


def _yuan(table: Table) -> None:
    """Amounts printed in 元 instead of 万元: under a header changed to （单位：元）, or with 元 in the cell."""
    headed = False
    for c in table.cells:
        if c.header and "单位：万元" in c.text:
            c.text, headed = c.text.replace("单位：万元", "单位：元"), True
    for c in table.cells:
        if c.key and c.key.endswith("amount_10k_yuan"):
            yuan = f"{float(c.text) * 10000:.2f}".rstrip("0").rstrip(".")
            c.text = yuan if headed else yuan + "元"


def render_real(doc: SynthDoc, style: str) -> str:
    rng = random.Random(f"{doc.doc_id}-text-{style}")
    blocks = copy.deepcopy(doc.blocks)  # the quirks below change cells that the other renderers share
    tables = {b.table.section: b.table for b in blocks if b.kind == "table"}
    if rng.random() < 0.3:
        _signed_plus(tables["proactive_disclosure"], doc)
    if rng.random() < 0.2:
        _yuan(tables["proactive_disclosure"])
    out: list[str] = []
    for block in blocks:
        if block.kind != "table":
            out.append(block.text)
        elif style in ("slash_cells", "row_marks"):
            out.extend(_slash_cells(block.table, rng, style == "row_marks"))
        elif style == "pipes_blank":
            out.extend(_pipes_blank(block.table))
        elif style == "one_line":
            out.append(_run_line(block.table))
        elif style == "markdown_torn":
            out.extend(_markdown(block.table, rng))
        elif style == "vlm_markdown":
            out.extend(_vlm_markdown(block.table, rng))
        else:
            raise ValueError(style)
    if style == "one_line":
        # The page text runs from the first heading to the signature as one line.
        first = next(i for i, b in enumerate(blocks) if b.kind == "heading")
        last = next(i for i, b in enumerate(blocks) if b.kind == "sign")
        body = out[first:last]
        out = out[:first] + ["".join(body)] + out[last:]
    return _quirks("\n".join(out) + "\n", doc, rng)


def render_text(doc: SynthDoc, style: str | None = None) -> str:
    """The text dump of a document in its drawn style, or in `style` (one of TEXT_STYLES or REAL_TEXT_STYLES)."""
    if style in REAL_TEXT_STYLES:
        return render_real(doc, style)
    style = style or doc.style.text_style
    rng = random.Random(f"{doc.doc_id}-text")
    spread = rng.random() < 0.5
    wrap_at = rng.choice([0, 0, 14, 18, 22])  # 0: cells never wrapped (or the tool joined them without a space)
    sep = rng.choice(["", "", " "])
    blank = style == "tabs"
    out: list[str] = ["", ""] if blank else []
    for block in doc.blocks:
        if block.kind == "table":
            t = block.table
            if style == "tabs":
                out.extend(_tabs(t, rng, spread, wrap_at))
            elif style == "pipes_cell":
                out.extend(_pipes_cell(t, rng))
            elif style == "pipes_row":
                out.extend(_pipes_row(t, rng))
            else:
                out.extend(_runs(t, rng, sep))
        else:
            out.append(block.text)
        if blank:
            out.append("")
    return "\n".join(out) + "\n"
