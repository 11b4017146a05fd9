"""Text dumps as real tools produce them from these reports.

- tabs: pdftotext-like, one printed row per line, cells separated by tabs, merged cells leave empty slots
  (seeds 000-003); a tall merged label may be spread over its rows in pieces ("三、本" / "年度办" / "理结果").
- pipes_cell: HTML flattened one cell per line with a trailing " |", a line of "|" for each row's missing slots
  (seed 004).
- pipes_row: HTML flattened one row per line, "| a | b |" with "|||" padding for merged slots.
- runs: cells run together (label immediately followed by digits, "规章000"); a vertical header comes out one
  character per line.
"""
from __future__ import annotations

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


def render_text(doc: SynthDoc) -> str:
    style = doc.style.text_style
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
