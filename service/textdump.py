"""Text dumps (pdftotext output, HTML flattened to pipes, one cell per line, markdown, page text) -> Document lines.

A dump has lost most of its grid. What each serialization still says about it is kept:
- tabs: cells of one printed row; empty slots are merged cells, not values;
- pipe rows ("| 821 | 35 |  |  | 2 |"): an empty cell between pipes holds its column's place (a blank cell, col set);
  pipes with nothing between them at the end of a row ("|||") are padding, and empty cells before the first text or
  a label are layout;
- one cell per line ending in " |": a lone "|" line is an empty cell, except the last before a label (padding or a
  row mark); cells are gathered into their printed rows, values right-aligned (labels sit at the left);
- a whole table printed on one line with every cell run together: cut into labels (at the template's labels) and
  runs of digits, one Line per row (the digits stay uncut: their cut needs the table's arithmetic).
Every blank cell emitted is a value position (after its row's label); whether it is 0 is decided later by the
arithmetic.
"""
from __future__ import annotations

import re

from service.document import Cell, Document, Line, Source
from service.ingest import decode_text
from service.textlabels import column_headers, plain, reattach_torn_labels, run_together
from service.values import is_value, mark_yuan_amounts

_PIPE = r"[|｜]"
_PIPE_ONLY = re.compile(r"^[\s|｜]*$")
_MD_RULE = re.compile(r"^\s*[|｜]?\s*:?-{3,}:?\s*(?:[|｜]\s*:?-{3,}:?\s*)*[|｜]?\s*$")
# "text |" with optional padding pipes after it: one cell of a one-cell-per-line dump.
_CELL_LINE = re.compile(r"^(?P<text>[^|｜]*[^\s|｜])\s*[|｜][\s|｜]*$")


def split_cells(line: str) -> list[str]:
    """The non-empty cells of one line (tabs or pipes)."""
    if "\t" in line:
        parts = line.split("\t")
    elif "|" in line or "｜" in line:
        parts = re.split(_PIPE, line)
    else:
        parts = [line]
    return [p.strip() for p in parts if p.strip()]


def _pipe_row(line: str) -> list[Cell]:
    """"| a |  | b |||": the cells of a pipe row, each with its column; an empty cell keeps its place. Pipes with
    nothing between them at the end ("| 0 | ||") are padding; in a row with a label, empty cells before its first text
    or before the label are layout: the blanks kept are value positions."""
    texts = _pipe_texts(line)
    first = next((i for i, t in enumerate(texts) if t), len(texts))
    last_label = max((i for i, t in enumerate(texts) if t and not is_value(t)), default=-1)
    # A row without a number keeps its blanks only if it is a row of blank values: its labels together at the left,
    # three blanks and more after them (a header's trailing gap is not; a header row's labels have gaps between).
    values = any(t and is_value(t) for t in texts) or (
        len(texts) - 1 - last_label >= 3 and all(texts[first:last_label + 1]))
    # A row without a label ("|  |  | 0 |  | 0 |", 四's one row) holds values from its first cell on.
    start = first if last_label >= 0 else -1
    return [Cell(text=t, col=i) for i, t in enumerate(texts) if t or (values and i > start and i > last_label)]


def _pipe_texts(line: str) -> list[str]:
    """The cells of a pipe row as printed, without the closing pipe and the padding after it."""
    parts = re.split(_PIPE, line.strip())
    if parts and not parts[0].strip():
        parts = parts[1:]
    if parts and parts[-1] == "":
        parts = parts[:-1]  # the closing pipe
    if parts and parts[-1] == "":
        while parts and parts[-1] == "":
            parts = parts[:-1]
        if parts and parts[-1] == " ":
            parts = parts[:-1]  # the space before the padding: "| 0 | ||"
    return [p.strip() for p in parts]



# --- one cell per line ----------------------------------------------------------------------------------------

def _cell_per_line(raw: list[str]) -> bool:
    cells = sum(1 for s in raw if _CELL_LINE.match(s.strip()) and s.strip().count("|") + s.strip().count("｜") >= 1
                and not re.search(rf"{_PIPE}\s*[^\s|｜]", s.strip()))
    lone = sum(1 for s in raw if s.strip() in ("|", "｜"))
    return cells >= 8 and lone >= 1


def _value_next(stripped: list[str], i: int) -> bool:
    """Whether the line after a lone "|" continues the row's values (another "|", padding, a value cell)."""
    nxt = next((t for t in stripped[i + 1:] if t), "")
    if not nxt:
        return False
    if _PIPE_ONLY.match(nxt):
        return True
    m = _CELL_LINE.match(nxt)
    return m is not None and is_value(m.group("text"))


def _label_cell(line: str) -> str | None:
    m = _CELL_LINE.match(line)
    return m.group("text").strip() if m and not is_value(m.group("text")) else None


def _row_marks(stripped: list[str]) -> bool:
    """Whether lone "|" lines mark the start of rows: most rows' first labels come right after one."""
    lines = [s for s in stripped if s]
    starts = [i for i, s in enumerate(lines) if i > 0 and _label_cell(s) and not _label_cell(lines[i - 1])]
    marked = sum(1 for i in starts if lines[i - 1] in ("|", "｜"))
    return len(starts) >= 4 and marked >= 0.5 * len(starts)


def _cell_rows(raw: list[str]) -> list[Line]:
    """Gather one-cell-per-line cells into printed rows: a label after a value, a padding line or a row mark ends a
    row. Lone "|" lines are empty cells, except the last one before a label (padding, or the mark of a new row) and,
    where lone "|" lines mark rows, one right after a column header (the mark of a row without a label)."""
    items: list[tuple[str, str]] = []  # (kind, text): cell | end | prose
    stripped = [s.strip() for s in raw]
    marks = _row_marks(stripped)
    headers = column_headers()
    previous = ""
    for i, s in enumerate(stripped):
        if not s:
            continue
        before, previous = previous, s
        if s in ("|", "｜"):
            after_header = marks and plain(_label_cell(before) or "") in headers
            items.append(("cell", "") if _value_next(stripped, i) and not after_header else ("end", ""))
        elif _PIPE_ONLY.match(s):
            items.append(("end", ""))
        else:
            m = _CELL_LINE.match(s)
            if m and not re.search(rf"{_PIPE}\s*[^\s|｜]", s):
                items.append(("cell", m.group("text").strip()))
                if re.search(rf"{_PIPE}\s*{_PIPE}", s):  # "0 | ||": the row's padding follows its last cell
                    items.append(("end", ""))
            elif re.search(_PIPE, s) or "\t" in s:
                items.append(("row", s))
            else:
                items.append(("prose", s))
    lines: list[Line] = []
    row: list[str] = []

    def flush():
        if row:
            line = _aligned(row)
            if line.cells:
                lines.append(line)
            row.clear()

    for kind, text in items:
        if kind == "cell":
            if row and not is_value(text) and is_value(row[-1]):
                flush()
            row.append(text)
        elif kind == "end":
            flush()
        else:
            flush()
            lines.extend(_plain_lines(text))
    flush()
    width = max((len(li.cells) for li in lines if li.table is not None), default=0)
    for li in lines:
        if li.table is not None:
            for k, c in enumerate(li.cells):
                c.col = width - len(li.cells) + k
    return lines


def _aligned(texts: list[str]) -> Line:
    """One printed row from a one-cell-per-line dump (columns are set once the widest row is known). A row without a
    number keeps its empty cells only if it is a row of blank values (three or more after its label)."""
    if not any(t and is_value(t) for t in texts) and sum(1 for t in texts if not t) < 3:
        texts = [t for t in texts if t]
    if len(texts) == 1:
        return Line(cells=[Cell(text=texts[0])], table=None)
    return Line(cells=[Cell(text=t) for t in texts], table=0)


# --- plain lines ----------------------------------------------------------------------------------------------

def _plain_lines(raw: str) -> list[Line]:
    if _PIPE_ONLY.match(raw) or _MD_RULE.match(raw):
        return []
    if "\t" not in raw and re.search(_PIPE, raw):
        cells = _pipe_row(raw)
        if len([c for c in cells if c.text]) > 1:
            return [Line(cells=cells, table=0)]
        cells = [c for c in cells if c.text]
        return [Line(cells=[Cell(text=c.text) for c in cells], table=None)] if cells else []
    cells = split_cells(raw)
    if not cells:
        return []
    if len(cells) == 1 and len(cells[0]) > 30:
        run = run_together(cells[0])
        if run:
            return run
    return [Line(cells=[Cell(text=c) for c in cells], table=0 if len(cells) > 1 else None)]


def _tables(blocks: list[tuple[str, list[Line]]], kept: set[int]) -> list[list[Line]]:
    """Runs of consecutive pipe rows: one printed table (or one piece of it) each."""
    out: list[list[Line]] = [[]]
    for kind, ls in blocks:
        if kind == "row":
            out[-1].extend(li for li in ls if id(li) in kept)
        elif out[-1]:
            out.append([])
    return [t for t in out if t]


def _drop_label_gaps(table: list[Line]) -> None:
    """A blank in a column where the table's data rows print labels is the gap a merged label cell leaves (OCR and
    VLM markdown print an empty cell for each column a label spans), not a value."""
    label_cols = {c.col for li in table if any(c.text and is_value(c.text) for c in li.cells)
                  for c in li.cells if c.text and not is_value(c.text)}
    for li in table:
        li.cells = [c for c in li.cells if c.text or c.col not in label_cols]


def read_text(source: Source) -> Document:
    text = (decode_text(source.data) or source.data.decode("utf-8", "replace")).replace("\r\n", "\n").replace("\r", "\n")
    raw = text.split("\n")
    if _cell_per_line(raw):
        lines = _cell_rows(raw)
    else:
        blocks: list[tuple[str, list[Line]]] = []
        widths: dict[int, int] = {}  # pipe row -> its cells as printed, blanks and all
        for r in raw:
            ls = _plain_lines(r)
            if not ls:
                continue
            kind = "row" if "\t" not in r and re.search(_PIPE, r) and ls[0].table is not None else "text"
            if kind == "row":
                widths[id(ls[0])] = len(_pipe_texts(r))
            if kind == "text" and blocks and blocks[-1][0] == "text":
                blocks[-1][1].extend(ls)
            else:
                blocks.append((kind, ls))
        lines = reattach_torn_labels(blocks)
        # Pipe rows lose the slots of cells merged from the rows above, at the left: columns count from the right.
        # A full grid (OCR/VLM markdown: every row as many cells) keeps each cell's printed column.
        kept = {id(li) for li in lines}
        rows = [li for kind, ls in blocks if kind == "row" for li in ls if id(li) in kept]
        width = max((len(li.cells) for li in rows), default=0)
        printed = {id(li): [c.col for c in li.cells] for li in rows}
        for li in rows:
            for k, c in enumerate(li.cells):
                c.col = width - len(li.cells) + k
        for table in _tables(blocks, kept):
            grid = {widths.get(id(li)) for li in table}
            if len(table) >= 3 and len(grid) == 1 and None not in grid \
                    and all(None not in printed[id(li)] for li in table):
                shift = width - grid.pop()
                for li in table:
                    for c, col in zip(li.cells, printed[id(li)]):
                        c.col = col + shift
            _drop_label_gaps(table)
    mark_yuan_amounts(lines)
    return Document(source=source.name, kind=source.kind, lines=lines, method="text")
