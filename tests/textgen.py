"""Test reports with known numbers, written in the serializations real text dumps show.

Labels come from the template data, so the tests follow the templates; the numbers obey every rule.
"""
from __future__ import annotations

import random

from service.template import Template, get_template


def consistent_report(template_id: str = "gov-info-disclosure/2021", seed: int = 0, small: bool = False) -> dict:
    """Canonical tables whose numbers obey every rule, with enough non-zeros to catch misplaced values (small: mostly
    zeros and ones, as in small agencies' reports)."""
    t = get_template(template_id)
    rng = random.Random(seed)
    rep = t.empty_report()
    req = rep["requests"]
    outcome_rows = next(r for r in t.rules if r.id == "requests.outcome_total").left
    cols = [c for c in t.sections["requests"].columns if c != "total"]
    for r in req:
        for c in cols:
            req[r][c] = 0
    for r in outcome_rows:
        for c in cols:
            req[r][c] = rng.choice([0, 0, 0, 0, 0, 0, 1] if small else [0, 0, 0, 1, 2, 3, 7, 12]) if c in ("natural_person", "commercial_enterprise") else 0
    for c in cols:
        outcome = sum(req[r][c] for r in outcome_rows)
        req["outcome_total"][c] = outcome
        req["carried_over"][c] = rng.randint(0, min(outcome, 1 if small else 3))
        req["carried_forward"][c] = rng.randint(0, 1 if small else 4)
        req["new"][c] = outcome + req["carried_forward"][c] - req["carried_over"][c]
    for r in req:
        req[r]["total"] = sum(req[r][c] for c in cols)
    for r, cols_ in rep["proactive_disclosure"].items():
        for c in cols_:
            spec = t.sections["proactive_disclosure"].columns[c]
            if small:
                cols_[c] = rng.randint(0, 9)
            else:
                cols_[c] = round(rng.uniform(0, 30), 2) if spec.decimal else rng.randint(-3 if spec.signed else 0, 40)
    for g, cols_ in rep["review_and_litigation"].items():
        parts = [rng.choice([0, 0, 1] if small else [0, 0, 1, 2]) for _ in range(4)]
        cols_.update(dict(zip(["upheld", "corrected", "other", "pending"], parts)), total=sum(parts))
    return {"template": t.id, "agency": "青山区人民政府办公室", "year": 2023 if t.first_year == 2021 else 2020, **rep}


def _fmt(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def table_rows(report: dict) -> list[tuple[str, list[str]]]:
    """(heading or label, values) in printed order; headings have no values."""
    t: Template = get_template(report["template"])
    out: list[tuple[str, list[str]]] = []
    pro = t.sections["proactive_disclosure"]
    out.append((pro.title, []))
    for group in pro.groups:
        out.append((group["caption"], []))
        out.append(("\t".join(group["header"]), []))
        for r in group["rows"]:
            out.append((pro.row(r).label, [_fmt(v) for v in report["proactive_disclosure"][r].values()]))
    req = t.sections["requests"]
    out.append((req.title, []))
    out.append(("\t".join([*req.header, *(c.label for c in req.columns.values())]), []))
    for r in req.rows:
        label = f"{r.parent}\t{r.label}" if r.parent else r.label
        out.append((label, [_fmt(v) for v in report["requests"][r.key].values()]))
    rev = t.sections["review_and_litigation"]
    out.append((rev.title, []))
    header = [*rev.header, *(r.label for r in rev.rows)] + [c.label for _ in rev.rows for c in rev.columns.values()]
    out.append(("\t".join(header), []))
    out.append(("", [_fmt(v) for g in report["review_and_litigation"].values() for v in g.values()]))
    return out


def prose_head(report: dict) -> list[str]:
    return [f"{report['agency']} {report['year']} 年政府信息公开工作年度报告", "",
            "一、总体情况", f"{report['year']}年，我单位认真贯彻落实《中华人民共和国政府信息公开条例》，共办理群众留言 660 余次。", ""]


def prose_tail(report: dict) -> list[str]:
    return ["", "五、存在的主要问题及改进情况", "一是公开内容不够全面。", "六、其他需要报告的事项", "本年度未收取信息处理费。",
            report["agency"], f"{report['year'] + 1}年1月20日"]


def render(report: dict, style: str) -> str:
    """One serialization of the report's tables, with a title and prose around them."""
    lines = prose_head(report)
    for label, values in table_rows(report):
        cells = [c for c in label.split("\t") if c] if label else []
        if style == "tabs":
            lines.append("\t".join(["", *cells, *values, "", ""]) if values else "\t".join(cells))
        elif style == "pipes":
            lines.append("| " + " | ".join([*cells, *values]) + " |")
            lines.append("| |||")
        elif style == "pipes_no_lead":
            lines.append(" | ".join([*cells, *values]))
        elif style == "cell_per_line":
            lines.extend(f"{c} |" for c in [*cells, *values])
            lines.append("||")
        elif style == "lone_pipes":
            for c in [*cells, *values]:
                lines.extend([c, "|"])
        elif style == "blank_lines":
            for c in [*cells, *values]:
                lines.extend([c, ""])
        elif style == "vertical_headers":
            if values:
                lines.append("\t".join([*cells, *values]))
            elif "\t" in label:  # table headers printed vertically: one character per line
                lines.extend(ch for c in cells for ch in c if not ch.isspace())
            else:
                lines.extend(cells)
        elif style == "run_together":
            # Digits of single-digit rows glued to the label: 规章000.
            if values and all(len(v) == 1 for v in values):
                lines.append("".join(cells) + "".join(values))
            else:
                lines.append("\t".join([*cells, *values]))
        else:
            raise ValueError(style)
    return "\n".join(lines + prose_tail(report)) + "\n"


STYLES = ["tabs", "pipes", "pipes_no_lead", "cell_per_line", "lone_pipes", "blank_lines", "vertical_headers",
          "run_together"]


# --- serializations of real page texts and conversions ---------------------------------------------------------

def small_report(template_id: str = "gov-info-disclosure/2021") -> dict:
    """A consistent report whose every number has one digit: cells run together then cut only one way."""
    for seed in range(500):
        report = consistent_report(template_id, seed=seed, small=True)
        values = [v for s in ("proactive_disclosure", "requests", "review_and_litigation")
                  for cols in report[s].values() for v in cols.values()]
        if all(isinstance(v, int) and 0 <= v <= 9 for v in values) and sum(values) > 20:
            return report
    raise AssertionError("no small report")


def _zero_parts(report: dict, row: str) -> list[bool]:
    """Which cells of a 三 row may print blank: zero parts (the row rule then forces them to 0), never the total."""
    return [c != "total" and v == 0 for c, v in report["requests"][row].items()]


def _request_rows(report: dict) -> list:
    return list(get_template(report["template"]).sections["requests"].rows)


def render_real(report: dict, style: str) -> str:
    """Serializations seen in real page texts (../shared/real): each keeps every number of the report, so the
    extraction must give the report back."""
    if style in ("slash_cells", "row_marks"):
        # One cell per line ending " |"; in 三 the zero parts are EMPTY cells, a lone "|" line each. slash_cells pads
        # a row with "|" (三) or "||" after it; row_marks starts every row with a lone "|" instead.
        lines = prose_head(report)
        req = {r.label: r.key for r in _request_rows(report)}
        for label, values in table_rows(report):
            cells = [c for c in label.split("\t") if c] if label else []
            key = req.get(cells[-1]) if cells else None
            if style == "row_marks":
                lines.append("|")
            lines.extend(f"{c} |" for c in cells)
            for v, blank in zip(values, _zero_parts(report, key) if key else [False] * len(values)):
                lines.append("|" if blank else f"{v} |")
            if style == "slash_cells":
                lines.append("|" if key else "||")
        return "\n".join(lines + prose_tail(report)) + "\n"
    if style == "pipes_blank":
        # "| 821 | 35 |  |  | 2 | 1 | 859 |": zero parts printed as empty cells that keep their column's place.
        lines = prose_head(report)
        req = {r.label: r.key for r in _request_rows(report)}
        for label, values in table_rows(report):
            cells = [c for c in label.split("\t") if c] if label else []
            key = req.get(cells[-1]) if cells else None
            shown = [" " if blank else v for v, blank in
                     zip(values, _zero_parts(report, key) if key else [False] * len(values))]
            lines.append("| " + " | ".join([*cells, *shown]) + " |")
        return "\n".join(lines + prose_tail(report)) + "\n"
    if style == "one_line":
        # Page text: the three tables on ONE line, every cell run together ("…数量713000074二、上年结转…").
        head = prose_head(report)
        table = "".join(label.replace("\t", "") + "".join(values) for label, values in table_rows(report))
        return "\n".join(head[:2] + ["".join(head[2:4]) + table + "".join(prose_tail(report)[1:5])]
                         + prose_tail(report)[5:]) + "\n"
    if style == "table_lines":
        # Each table on its own line, cells run together; section titles start the lines.
        lines = prose_head(report)
        for label, values in table_rows(report):
            text = label.replace("\t", "") + "".join(values)
            if label in {s.title for s in get_template(report["template"]).sections.values()}:
                lines.append(text)
            else:
                lines[-1] += text
        return "\n".join(lines + prose_tail(report)) + "\n"
    if style == "markdown_torn":
        return _markdown_torn(report)
    if style == "vlm_markdown":
        return _vlm_markdown(report)
    raise ValueError(style)


def _markdown_torn(report: dict) -> str:
    """PDF-to-markdown: tables as "| a | b |" with "|---|" rules, split into pieces; some row labels are torn out
    of the table (printed as wrapped text before its piece, the row keeps only its numbers); a stray header row of
    column fragments sits inside the table."""
    lines = prose_head(report)
    rows = table_rows(report)
    piece: list[str] = []
    torn: list[str] = []
    n = 0

    def flush():
        if piece:
            lines.extend(torn)
            lines.append("")
            lines.extend([piece[0], "|" + "---|" * piece[0].count(" | ") + "---|", *piece[1:]])
            lines.append("")
            piece.clear()
            torn.clear()

    for label, values in rows:
        cells = [c for c in label.split("\t") if c] if label else []
        if not values:
            flush()
            lines.append(" ".join(cells))
            continue
        n += 1
        if len(values) == 7 and n % 4 == 0:
            # The label goes above the piece, wrapped at 9 characters; the row keeps its numbers only.
            text = cells[-1]
            torn.extend(text[i:i + 9] for i in range(0, len(text), 9))
            piece.append("| " + " | ".join(values) + " |")
        else:
            piece.append("| " + " | ".join([*cells, *values]) + " |")
        if len(values) == 7 and n % 9 == 0:
            piece.append("| 业 | 构 | 益组织 | 务机构 |  |  |  |")
            flush()
    flush()
    return "\n".join(lines + prose_tail(report)) + "\n"


def _vlm_markdown(report: dict) -> str:
    """OCR/VLM markdown: each table a full grid under a generic header row ("| 列1 | 列2 |"), a merged label leaves
    an empty cell for each column it spans, a single value cell is padded to the table's width, and the column
    headers come again as a stray row inside the table (a page break)."""
    lines = prose_head(report)
    grid: list[list[str]] = []
    top = get_template(report["template"]).sections["requests"].row("granted").parent

    def flush():
        if grid:
            width = max(len(r) for r in grid)
            lines.extend(["", "| " + " | ".join(f"列{i + 1}" for i in range(width)) + " |", "|" + "---|" * width])
            lines.extend("| " + " | ".join(r + [" "] * (width - len(r))) + " |" for r in grid)
            lines.append("")
            grid.clear()

    n = 0
    for label, values in table_rows(report):
        cells = [c for c in label.split("\t") if c] if label else []
        if not values:
            if len(cells) > 3:
                grid.append(cells)  # column headers: a row of the grid
            else:
                flush()
                lines.append(" ".join(cells))
            continue
        if len(values) == 7:
            # The grid's three label columns: 三、本年度办理结果 | （三）不予公开 | 1.属于国家秘密, merged where a
            # label spans them.
            if len(cells) == 2 and cells[0] != top:
                cells = [top, *cells]
            cells = (cells + [" ", " "])[:3]
        grid.append(cells + values)
        n += 1
        if len(values) == 7 and n % 10 == 0:
            grid.append(["申请人情况", " ", " ", "自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "总计"])
    flush()
    return "\n".join(lines + prose_tail(report)) + "\n"


REAL_STYLES = ["slash_cells", "row_marks", "pipes_blank", "one_line", "table_lines", "markdown_torn", "vlm_markdown"]
