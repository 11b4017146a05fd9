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
import unicodedata
from functools import lru_cache

from service.document import Cell, Document, Line, Source
from service.ingest import decode_text
from service.labels import simplified
from service.template import all_templates
from service.values import mark_yuan_amounts

_PIPE = r"[|｜]"
_PIPE_ONLY = re.compile(r"^[\s|｜]*$")
_MD_RULE = re.compile(r"^\s*[|｜]?\s*:?-{3,}:?\s*(?:[|｜]\s*:?-{3,}:?\s*)*[|｜]?\s*$")
# "text |" with optional padding pipes after it: one cell of a one-cell-per-line dump.
_CELL_LINE = re.compile(r"^(?P<text>[^|｜]*[^\s|｜])\s*[|｜][\s|｜]*$")
_VALUE = re.compile(r"^(?:(?:减|增|[-−+])?\s*\d[\d,，]*(?:\.\d+)?\s*(?:万元|元|件|条|个|项)?|[/／\\]|[—–\-－]{1,3}|无)$")


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
    nothing between them at the end ("| 0 | ||") are padding; empty cells before the row's first text or before a
    label are layout: the blanks kept are value positions."""
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
    texts = [p.strip() for p in parts]
    first = next((i for i, t in enumerate(texts) if t), len(texts))
    last_label = max((i for i, t in enumerate(texts) if t and not _is_value(t)), default=-1)
    # A row without a number keeps its blanks only if it is a row of blank values (a header's trailing gap is not).
    values = any(t and _is_value(t) for t in texts) or len(texts) - 1 - last_label >= 3
    return [Cell(text=t, col=i) for i, t in enumerate(texts) if t or (values and i > first and i > last_label)]


def _is_value(text: str) -> bool:
    return not text or bool(_VALUE.match(unicodedata.normalize("NFKC", text).strip()))


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
    return m is not None and _is_value(m.group("text"))


def _label_cell(line: str) -> str | None:
    m = _CELL_LINE.match(line)
    return m.group("text").strip() if m and not _is_value(m.group("text")) else None


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
    headers = _column_headers()
    previous = ""
    for i, s in enumerate(stripped):
        if not s:
            continue
        before, previous = previous, s
        if s in ("|", "｜"):
            after_header = marks and _plain(_label_cell(before) or "") in headers
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
            if row and not _is_value(text) and _is_value(row[-1]):
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
    if not any(t and _is_value(t) for t in texts) and sum(1 for t in texts if not t) < 3:
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
        run = _run_together(cells[0])
        if run:
            return run
    return [Line(cells=[Cell(text=c) for c in cells], table=0 if len(cells) > 1 else None)]


# --- a whole table on one line ----------------------------------------------------------------------------------

_DIGITS = re.compile(r"(?:减|增|(?<=\d)[-−])?\d[\d ]*(?:\.\d+)?(?:万元|元)?")
_ENUM_AFTER = re.compile(r"[.．、]\s*[^\d\s]")


@lru_cache(maxsize=1)
def _known_labels() -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(every printed label of every template, longest first; section titles; the closing section titles)."""
    labels: set[str] = set()
    titles: set[str] = set()
    for t in all_templates():
        for s in t.sections.values():
            titles.add(s.title)
            labels.update([s.title, *s.header])
            for g in s.groups:
                labels.update([g["caption"], *g["header"]])
            for spec in [*s.rows, *s.columns.values()]:
                labels.update([spec.label, *spec.variants, *([spec.parent] if spec.parent else [])])
    labels.update(["三、本年度办理结果", "结果维持", "结果纠正", "其他结果", "尚未审结", "总计"])
    nfkc = {unicodedata.normalize("NFKC", x) for x in labels}
    return (tuple(sorted(nfkc, key=len, reverse=True)), tuple(unicodedata.normalize("NFKC", x) for x in titles),
            ("五、存在的主要问题", "六、其他需要报告的事项"))


def _plain(text: str) -> str:
    return re.sub(r"\s+", "", simplified(unicodedata.normalize("NFKC", text)))


@lru_cache(maxsize=1)
def _column_headers() -> frozenset[str]:
    """Column labels and header cells of every template as printed, less any that is also a row label."""
    out: set[str] = set()
    rows: set[str] = set()
    for t in all_templates():
        for s in t.sections.values():
            out.update(_plain(x) for x in s.header)
            out.update(_plain(h) for g in s.groups for h in g["header"])
            out.update(_plain(x) for c in s.columns.values() for x in (c.label, *c.variants))
            rows.update(_plain(x) for r in s.rows for x in (r.label, *r.variants))
    return frozenset(out - rows - {""})


def _cut_labels(text: str) -> list[str]:
    """A run of label text cut at the template's labels ("…其他一、本年新收…数量" -> […, 其他, 一、本年新收…数量])."""
    labels = _known_labels()[0]
    marks: list[tuple[int, int]] = []
    for label in labels:
        if len(label) < 2:
            continue
        start = 0
        while (k := text.find(label, start)) >= 0:
            end = k + len(label)
            if not any(a < end and k < b for a, b in marks):
                marks.append((k, end))
            start = k + 1
    marks.sort()
    out: list[str] = []
    pos = 0
    for a, b in marks:
        if text[pos:a].strip():
            out.append(text[pos:a].strip())
        out.append(text[a:b])
        pos = b
    if text[pos:].strip():
        out.append(text[pos:].strip())
    return out


def _only_labels(text: str) -> bool:
    known = set(_known_labels()[0])
    return sum(len(p) for p in _cut_labels(text) if p not in known) <= 4


def _run_together(text: str) -> list[Line] | None:
    """A whole table printed on one line ("…数量713000074二、上年结转…"): one Line per printed row, its label cut at
    the template's labels and its digits kept as one run; prose before and after stays prose. None if no table."""
    # Labels are found in simplified characters (a mirror site may print 繁體).
    norm = simplified(unicodedata.normalize("NFKC", text))
    _, titles, ends = _known_labels()
    starts = [norm.find(t) for t in titles if norm.find(t) >= 0]
    if not starts:
        return None
    start = min(starts)
    stops = [k for e in ends if (k := norm.find(e, start)) >= 0]
    stop = min(stops) if stops else len(norm)
    table = norm[start:stop]
    rows: list[tuple[str, str]] = []
    label_start = 0
    for m in _DIGITS.finditer(table):
        a, b = m.span()
        digits = m.group(0)
        if _ENUM_AFTER.match(table, b) and not digits.rstrip().endswith(("元",)):
            # "…00000002.其他…": the last digit numbers the next label.
            b -= 1
            digits = table[a:b]
        if not digits.strip() or a < label_start:
            continue
        if rows and a == label_start:
            # "396减5181": a signed cell right after the digits of the same row.
            rows[-1] = (rows[-1][0], f"{rows[-1][1]} {digits.strip()}")
        else:
            rows.append((table[label_start:a], digits.strip()))
        label_start = b
    # A table, not a paragraph that quotes a heading: at least two printed row labels right before their digits, or
    # (a table without row labels, 四) nothing but the template's labels before its digits.
    row_labels = _row_labels()[0]
    labelled = sum(any(re.sub(r"\s+", "", label).endswith(r) for r in row_labels) for label, _ in rows)
    if labelled < 2 and not all(_only_labels(label) for label, _ in rows):
        return None
    lines: list[Line] = []
    if norm[:start].strip():
        lines.append(Line(cells=[Cell(text=norm[:start].strip())]))
    for label, digits in rows:
        cells = [Cell(text=c) for c in _cut_labels(label)] + [Cell(text=digits)]
        lines.append(Line(cells=cells, table=0))
    tail = table[label_start:] + norm[stop:]
    for part in _cut_tail(tail):
        lines.append(Line(cells=[Cell(text=part)]))
    return lines


def _cut_tail(text: str) -> list[str]:
    """The prose after the table, cut before each closing section title so they read as titles."""
    _, _, ends = _known_labels()
    cuts = sorted(k for e in ends if (k := text.find(e)) >= 0)
    parts, pos = [], 0
    for k in cuts:
        parts.append(text[pos:k])
        pos = k
    parts.append(text[pos:])
    return [p.strip() for p in parts if p.strip()]


# --- row labels torn from their rows (PDF-to-markdown) -----------------------------------------------------------

@lru_cache(maxsize=1)
def _row_labels() -> tuple[tuple[str, ...], frozenset[str]]:
    """Row labels of every template, longest first; and those another template prints as a group heading
    ("（六）其他处理": a row of the 2019 template, the heading of three rows in the 2021 one)."""
    def norm(x):
        return re.sub(r"\s+", "", unicodedata.normalize("NFKC", x))

    rows = [r for t in all_templates() for s in t.sections.values() if s.layout == "rows" for r in s.rows]
    labels = {norm(r.label) for r in rows}
    return tuple(sorted(labels, key=len, reverse=True)), frozenset(labels & {norm(r.parent) for r in rows if r.parent})


def _find_labels(text: str) -> list[tuple[int, str]]:
    """Row labels spelled out, in order, in text whose lines interleave two columns ("（四）无2.没有现成信息需要另" /
    "法提供行制作"): each label's first three characters together, the rest in order with a few others between;
    where matches overlap, the one with fewest others between wins."""
    found: list[tuple[int, int, int, str]] = []  # (others between, start, end, label)
    for label in _row_labels()[0]:
        start = 0
        while (i := text.find(label[:3], start)) >= 0:
            start = i + 1
            pos, k = i, 0
            limit = i + len(label) + max(6, len(label) // 2)
            while k < len(label) and pos < min(len(text), limit):
                if text[pos] == label[k]:
                    k += 1
                pos += 1
            if k == len(label):
                found.append((pos - i - len(label), i, pos, label))
    taken: list[tuple[int, int, int, str]] = []
    for cand in sorted(found, key=lambda f: (f[0], -len(f[3]))):
        if not any(cand[1] < t[2] and t[1] < cand[2] for t in taken):
            taken.append(cand)
    return sorted((start, label) for _, start, _, label in taken)


def _reattach_torn_labels(blocks: list[tuple[str, list[Line]]]) -> list[Line]:
    """A PDF-to-markdown conversion tears some row labels out of the table: they come as text between the table's
    pieces, and their rows as pipe rows that start with a number. Where the torn labels and the unlabeled rows are
    equally many, each unlabeled row takes the next torn label, and the torn text goes."""
    rows = [i for i, (kind, _) in enumerate(blocks) if kind == "row"]
    if len(rows) < 2:
        return [li for _, ls in blocks for li in ls]
    widths = [sum(_is_value(c.text) and bool(c.text) for c in blocks[i][1][0].cells) for i in rows
              if not _is_value(blocks[i][1][0].cells[0].text)]
    if not widths:
        return [li for _, ls in blocks for li in ls]
    width = max(set(widths), key=widths.count)
    unlabeled = [i for i in rows if _is_value(blocks[i][1][0].cells[0].text)
                 and sum(bool(c.text) for c in blocks[i][1][0].cells) == width]
    torn: list[tuple[int, str]] = []
    groups: list[int] = []
    for i, (kind, ls) in enumerate(blocks):
        if kind != "text" or not rows[0] < i < rows[-1]:
            continue
        text = re.sub(r"\s+", "", simplified(unicodedata.normalize("NFKC", "".join(c.text for li in ls for c in li.cells))))
        labels = _find_labels(text)
        if labels:
            torn.extend((i, label) for _, label in labels)
            groups.append(i)
    if torn and len(torn) != len(unlabeled):
        # A heading of one template that is a row of the other counts only if the numbers agree.
        torn = [(i, label) for i, label in torn if label not in _row_labels()[1]]
    if not torn or len(torn) != len(unlabeled):
        return [li for _, ls in blocks for li in ls]
    for i, (_, label) in zip(unlabeled, torn):
        blocks[i][1][0].cells.insert(0, Cell(text=label))
    titles = _known_labels()[1]

    def title(li: Line) -> bool:
        text = simplified(unicodedata.normalize("NFKC", "".join(c.text for c in li.cells)))
        return any(t in text for t in titles)

    # The torn text goes, but for the section titles among it.
    return [li for i, (_, ls) in enumerate(blocks) for li in ls if i not in groups or title(li)]


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
    label_cols = {c.col for li in table if any(c.text and _is_value(c.text) for c in li.cells)
                  for c in li.cells if c.text and not _is_value(c.text)}
    for li in table:
        li.cells = [c for c in li.cells if c.text or c.col not in label_cols]


def read_text(source: Source) -> Document:
    text = (decode_text(source.data) or source.data.decode("utf-8", "replace")).replace("\r\n", "\n").replace("\r", "\n")
    raw = text.split("\n")
    if _cell_per_line(raw):
        lines = _cell_rows(raw)
    else:
        blocks: list[tuple[str, list[Line]]] = []
        for r in raw:
            ls = _plain_lines(r)
            if not ls:
                continue
            kind = "row" if "\t" not in r and re.search(_PIPE, r) and ls[0].table is not None else "text"
            if kind == "text" and blocks and blocks[-1][0] == "text":
                blocks[-1][1].extend(ls)
            else:
                blocks.append((kind, ls))
        lines = _reattach_torn_labels(blocks)
        # Pipe rows lose the slots of cells merged from the rows above, at the left: columns count from the right.
        kept = {id(li) for li in lines}
        rows = [li for kind, ls in blocks if kind == "row" for li in ls if id(li) in kept]
        width = max((len(li.cells) for li in rows), default=0)
        for li in rows:
            for k, c in enumerate(li.cells):
                c.col = width - len(li.cells) + k
        for table in _tables(blocks, kept):
            _drop_label_gaps(table)
    mark_yuan_amounts(lines)
    return Document(source=source.name, kind=source.kind, lines=lines, method="text")
