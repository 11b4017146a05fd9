"""Test reports with known numbers, written in the serializations real text dumps show.

Labels come from the template data, so the tests follow the templates; the numbers obey every rule.
"""
from __future__ import annotations

import random

from service.template import Template, get_template


def consistent_report(template_id: str = "gov-info-disclosure/2021", seed: int = 0) -> dict:
    """Canonical tables whose numbers obey every rule, with enough non-zeros to catch misplaced values."""
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
            req[r][c] = rng.choice([0, 0, 0, 1, 2, 3, 7, 12]) if c in ("natural_person", "commercial_enterprise") else 0
    for c in cols:
        outcome = sum(req[r][c] for r in outcome_rows)
        req["outcome_total"][c] = outcome
        req["carried_over"][c] = rng.randint(0, min(outcome, 3))
        req["carried_forward"][c] = rng.randint(0, 4)
        req["new"][c] = outcome + req["carried_forward"][c] - req["carried_over"][c]
    for r in req:
        req[r]["total"] = sum(req[r][c] for c in cols)
    for r, cols_ in rep["proactive_disclosure"].items():
        for c in cols_:
            spec = t.sections["proactive_disclosure"].columns[c]
            cols_[c] = round(rng.uniform(0, 30), 2) if spec.decimal else rng.randint(-3 if spec.signed else 0, 40)
    for g, cols_ in rep["review_and_litigation"].items():
        parts = [rng.choice([0, 0, 1, 2]) for _ in range(4)]
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
