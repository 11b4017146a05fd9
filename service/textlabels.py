"""Template labels found in text that lost its cells: a table printed on one line with every cell run together
(cut into rows at the template's labels), and row labels a PDF-to-markdown conversion tore out of its table (given
back to the rows they belong to)."""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from service.document import Cell, Line
from service.labels import simplified
from service.template import all_templates
from service.values import is_value

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
    nfkc = {unicodedata.normalize("NFKC", x) for x in labels}
    return (tuple(sorted(nfkc, key=len, reverse=True)), tuple(unicodedata.normalize("NFKC", x) for x in titles),
            ("五、存在的主要问题", "六、其他需要报告的事项"))


def plain(text: str) -> str:
    return re.sub(r"\s+", "", simplified(unicodedata.normalize("NFKC", text)))


@lru_cache(maxsize=1)
def column_headers() -> frozenset[str]:
    """Column labels and header cells of every template as printed, less any that is also a row label."""
    out: set[str] = set()
    rows: set[str] = set()
    for t in all_templates():
        for s in t.sections.values():
            out.update(plain(x) for x in s.header)
            out.update(plain(h) for g in s.groups for h in g["header"])
            out.update(plain(x) for c in s.columns.values() for x in (c.label, *c.variants))
            rows.update(plain(x) for r in s.rows for x in (r.label, *r.variants))
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


def run_together(text: str) -> list[Line] | None:
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


def reattach_torn_labels(blocks: list[tuple[str, list[Line]]]) -> list[Line]:
    """A PDF-to-markdown conversion tears some row labels out of the table: they come as text between the table's
    pieces, and their rows as pipe rows that start with a number. Where the torn labels and the unlabeled rows are
    equally many, each unlabeled row takes the next torn label, and the torn text goes."""
    rows = [i for i, (kind, _) in enumerate(blocks) if kind == "row"]
    if len(rows) < 2:
        return [li for _, ls in blocks for li in ls]
    widths = [sum(is_value(c.text) and bool(c.text) for c in blocks[i][1][0].cells) for i in rows
              if not is_value(blocks[i][1][0].cells[0].text)]
    if not widths:
        return [li for _, ls in blocks for li in ls]
    width = max(set(widths), key=widths.count)
    unlabeled = [i for i in rows if is_value(blocks[i][1][0].cells[0].text)
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
