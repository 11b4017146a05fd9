"""The three tables of a report as grids of merged cells, built from the template (never a hard-coded row list).

Every renderer (PDF, HTML, DOCX, text) draws the same grid, so the truth of each cell (its canonical key) is
known in every output. Layouts follow the national templates: 三、本年度办理结果 spans the outcome rows, (三)不予公开
spans its 8 rows, 申请人情况 / 法人或其他组织 are merged header cells, the review table has a two-level header.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from service.template import Template


@dataclass
class TCell:
    text: str
    row: int
    col: int
    rowspan: int = 1
    colspan: int = 1
    key: str | None = None  # "requests.new.natural_person" for value cells
    header: bool = False
    label: bool = False


@dataclass
class Table:
    section: str
    nrows: int
    ncols: int
    cells: list[TCell] = field(default_factory=list)
    col_weights: list[float] = field(default_factory=list)
    header_rows: int = 0

    def add(self, cell: TCell) -> None:
        self.cells.append(cell)

    def rows(self) -> list[list[TCell]]:
        """Cells that start in each row, left to right."""
        out: list[list[TCell]] = [[] for _ in range(self.nrows)]
        for c in self.cells:
            out[c.row].append(c)
        for r in out:
            r.sort(key=lambda c: c.col)
        return out


@dataclass
class Format:
    """How numbers and labels are printed in one document."""
    negative: str = "-"  # "-" prints -4, "减" prints 减4
    half_parens: bool = False  # (一) instead of （一）
    total_outside: bool = False  # requests header: 总计 beside 申请人情况 instead of under it
    variants: bool = False  # use a recorded label variant where the template has one
    merged: bool = False  # the template's merged_rows printed as one row each (（六）其他处理 on a 2021 table)


def fmt_value(value, fmt: Format) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.2f}".rstrip("0").rstrip(".") if len(f"{value}") > 8 else f"{value}"
    value = int(value)
    if value < 0:
        return f"{fmt.negative}{-value}" if fmt.negative == "减" else f"-{-value}"
    return str(value)


def fmt_label(text: str, fmt: Format) -> str:
    if fmt.half_parens:
        text = text.replace("（", "(").replace("）", ")")
    return text


def _label(spec, fmt: Format) -> str:
    text = spec.variants[0] if fmt.variants and spec.variants else spec.label
    return fmt_label(text, fmt)


def proactive_table(template: Template, values: dict, fmt: Format) -> Table:
    sec = template.sections["proactive_disclosure"]
    width = 1 + max(len(g["header"]) - 1 for g in sec.groups)
    t = Table(section=sec.key, nrows=0, ncols=width, col_weights=[1.3] + [1.0] * (width - 1))
    r = 0
    for group in sec.groups:
        t.add(TCell(fmt_label(group["caption"], fmt), r, 0, colspan=width, header=True))
        r += 1
        heads = group["header"]
        for i, h in enumerate(heads):
            span = width - i if i == len(heads) - 1 else 1
            t.add(TCell(fmt_label(h, fmt), r, i, colspan=span, header=True))
        r += 1
        for row_key in group["rows"]:
            row = sec.row(row_key)
            t.add(TCell(_label(row, fmt), r, 0, label=True))
            for i, col in enumerate(row.columns, start=1):
                span = width - i if i == len(row.columns) else 1
                t.add(TCell(fmt_value(values[row_key][col], fmt), r, i, colspan=span,
                            key=f"{sec.key}.{row_key}.{col}"))
            r += 1
    t.nrows = r
    t.header_rows = 0
    return t


def requests_table(template: Template, values: dict, fmt: Format) -> Table:
    sec = template.sections["requests"]
    cols = list(sec.columns)
    note, applicants, organisations = sec.header
    rules = {rule.id: rule for rule in template.rules}
    outcome_rows = list(rules["requests.outcome_total"].left) + list(rules["requests.outcome_total"].right)
    top = sec.row(outcome_rows[0]).parent  # 三、本年度办理结果
    lab = 3
    ncols = lab + len(cols)
    merged = {m.rows[0]: m for m in sec.merged} if fmt.merged else {}
    nrows = 3 + len(sec.rows) - sum(len(m.rows) - 1 for m in merged.values())
    t = Table(section=sec.key, nrows=nrows, ncols=ncols,
              col_weights=[0.9, 1.5, 4.2] + [0.95] * (len(cols) - 1) + [0.95], header_rows=3)
    t.add(TCell(fmt_label(note, fmt), 0, 0, rowspan=3, colspan=lab, header=True))
    first, last = cols[0], cols[-1]
    org_cols = cols[1:-1]
    if fmt.total_outside:
        t.add(TCell(applicants, 0, lab, colspan=len(cols) - 1, header=True))
        t.add(TCell(sec.columns[last].label, 0, ncols - 1, rowspan=3, header=True))
    else:
        t.add(TCell(applicants, 0, lab, colspan=len(cols), header=True))
        t.add(TCell(sec.columns[last].label, 1, ncols - 1, rowspan=2, header=True))
    t.add(TCell(sec.columns[first].label, 1, lab, rowspan=2, header=True))
    t.add(TCell(organisations, 1, lab + 1, colspan=len(org_cols), header=True))
    for i, c in enumerate(org_cols):
        t.add(TCell(sec.columns[c].label, 2, lab + 1 + i, header=True))

    r = 3
    outcome_start = None
    i = 0
    rows = list(sec.rows)
    while i < len(rows):
        row = rows[i]
        if row.key in outcome_rows:
            if outcome_start is None:
                outcome_start = r
            if row.key in merged:
                # One row for several: their sums, under the heading alone. Its cells are value cells (every
                # renderer prints them so), keyed by the merged row, which no truth holds.
                m = merged[row.key]
                t.add(TCell(fmt_label(m.label, fmt), r, 1, colspan=2, label=True))
                for j, col in enumerate(cols):
                    t.add(TCell(fmt_value(sum(values[k][col] for k in m.rows), fmt), r, lab + j,
                                key=f"{sec.key}.{m.key}.{col}"))
                r += 1
                i += len(m.rows)
                continue
            if row.parent and row.parent != top:
                # A sub-group such as （三）不予公开: its parent label spans its rows.
                group = [x for x in rows[i:] if x.parent == row.parent]
                t.add(TCell(fmt_label(row.parent, fmt), r, 1, rowspan=len(group), label=True))
                for k, sub in enumerate(group):
                    t.add(TCell(_label(sub, fmt), r + k, 2, label=True))
                    _values(t, sec.key, sub, cols, values, r + k, lab, fmt)
                r += len(group)
                i += len(group)
                continue
            t.add(TCell(_label(row, fmt), r, 1, colspan=2, label=True))
        else:
            t.add(TCell(_label(row, fmt), r, 0, colspan=lab, label=True))
        _values(t, sec.key, row, cols, values, r, lab, fmt)
        r += 1
        i += 1
    n_outcome = sum(1 for x in rows if x.key in outcome_rows) - sum(len(m.rows) - 1 for m in merged.values())
    t.add(TCell(fmt_label(top, fmt), outcome_start, 0, rowspan=n_outcome, label=True))
    return t


def _values(t: Table, section: str, row, cols: list[str], values: dict, r: int, lab: int, fmt: Format) -> None:
    for j, col in enumerate(cols):
        t.add(TCell(fmt_value(values[row.key][col], fmt), r, lab + j, key=f"{section}.{row.key}.{col}"))


def review_table(template: Template, values: dict, fmt: Format) -> Table:
    sec = template.sections["review_and_litigation"]
    cols = list(sec.columns)
    groups = list(sec.rows)
    n = len(cols)
    t = Table(section=sec.key, nrows=4, ncols=n * len(groups), col_weights=[1.0] * (n * len(groups)), header_rows=3)
    c = 0
    parents_done = set()
    for g in groups:
        if g.parent is None:
            t.add(TCell(g.label, 0, c, rowspan=1, colspan=n, header=True))
            for j, col in enumerate(cols):
                t.add(TCell(sec.columns[col].label, 1, c + j, rowspan=2, header=True))
        else:
            if g.parent not in parents_done:
                span = n * sum(1 for x in groups if x.parent == g.parent)
                t.add(TCell(g.parent, 0, c, colspan=span, header=True))
                parents_done.add(g.parent)
            t.add(TCell(g.label, 1, c, colspan=n, header=True))
            for j, col in enumerate(cols):
                t.add(TCell(sec.columns[col].label, 2, c + j, header=True))
        for j, col in enumerate(cols):
            t.add(TCell(fmt_value(values[g.key][col], fmt), 3, c + j, key=f"{sec.key}.{g.key}.{col}"))
        c += n
    return t


def build_tables(template: Template, report: dict, fmt: Format) -> dict[str, Table]:
    return {"proactive_disclosure": proactive_table(template, report["proactive_disclosure"], fmt),
            "requests": requests_table(template, report["requests"], fmt),
            "review_and_litigation": review_table(template, report["review_and_litigation"], fmt)}
