"""Random, internally consistent report values for a template, and the rule checker that proves it.

Numbers follow what real reports show: most cells are 0, new applications are heavy-tailed (many offices get a
handful, a few get tens of thousands), natural persons dominate. Every rule of the template holds unless a break
is drawn on purpose; a break is recorded (rule id, cell, printed and correct value) in the truth.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from service.template import Rule, Template

Report = dict  # {"template", "agency", "year", section: {row: {column: number}}}


@dataclass
class Drawn:
    report: Report
    broken_rules: list[dict] = field(default_factory=list)


def _heavy_count(rng: random.Random) -> int:
    """How many new applications an office received in a year."""
    u = rng.random()
    if u < 0.30:
        return 0
    if u < 0.62:
        return rng.randint(1, 20)
    if u < 0.85:
        return rng.randint(21, 300)
    if u < 0.97:
        return int(10 ** rng.uniform(2.5, 4.0))
    return int(10 ** rng.uniform(4.0, 4.8))


def _sparse_int(rng: random.Random, p_zero: float, hi: int) -> int:
    if rng.random() < p_zero:
        return 0
    return int(10 ** rng.uniform(0, max(0.0, math.log10(max(hi, 1)))))


def _split(rng: random.Random, n: int, weights: list[float]) -> list[int]:
    """n items into len(weights) bins, proportionally with noise; exact sum."""
    if n == 0:
        return [0] * len(weights)
    total = sum(weights)
    if total <= 0:
        out = [0] * len(weights)
        out[0] = n
        return out
    if n <= 60:
        out = [0] * len(weights)
        for _ in range(n):
            out[rng.choices(range(len(weights)), weights)[0]] += 1
        return out
    raw = [n * w / total for w in weights]
    out = [int(x) for x in raw]
    rest = n - sum(out)
    order = sorted(range(len(weights)), key=lambda i: raw[i] - out[i], reverse=True)
    for i in order[:rest]:
        out[i] += 1
    return out


def _applicant_weights(rng: random.Random, k: int) -> list[float]:
    """Natural persons dominate; companies are common second; the rest are rare."""
    w = [rng.uniform(0.75, 1.0)] + [0.0] * (k - 1)
    others = [0.25, 0.02, 0.03, 0.05, 0.06][: k - 1]
    for i, base in enumerate(others, start=1):
        if rng.random() < (0.5 if i == 1 else 0.15):
            w[i] = base * rng.uniform(0.1, 1.0)
    return w


def _outcome_weights(rng: random.Random, keys: list[str]) -> list[float]:
    """A few outcome rows carry most of the load: granted, not held, partial, petitions."""
    base = {"granted": 5.0, "partially_granted": 1.2, "unavailable_not_held": 2.5, "unavailable_needs_creation": 0.5,
            "not_processed_petition_complaint": 0.8, "not_processed_duplicate": 0.5, "denied_third_party_rights": 0.3,
            "denied_process_information": 0.3, "other_other": 0.4, "other_handling": 0.6}
    out = []
    for k in keys:
        b = base.get(k, 0.08)
        out.append(b * rng.uniform(0.2, 1.5) if rng.random() < min(0.95, 0.25 + b / 5) else 0.0)
    if not any(out):
        out[0] = 1.0
    return out


def _money(rng: random.Random) -> float:
    u = rng.random()
    if u < 0.55:
        return 0
    if u < 0.75:
        return round(rng.uniform(0.1, 10), rng.choice([1, 2, 2]))
    if u < 0.93:
        return round(rng.uniform(10, 2000), rng.choice([0, 1, 2]))
    return round(rng.uniform(2000, 80000), rng.choice([0, 1, 2]))


def _clean(v: float) -> float | int:
    return int(v) if float(v).is_integer() else v


def draw_proactive(rng: random.Random, template: Template) -> dict:
    sec = template.sections["proactive_disclosure"]
    big_office = rng.random() < 0.3
    out: dict = {}
    for row in sec.rows:
        vals: dict = {}
        for col in row.columns:
            spec = sec.columns[col]
            if spec.decimal:
                vals[col] = _clean(_money(rng))
            elif col in ("issued", "newly_made", "newly_published"):
                vals[col] = 0 if row.key == "regulations" and rng.random() < 0.85 else _sparse_int(rng, 0.5, 30)
            elif col == "repealed":
                vals[col] = _sparse_int(rng, 0.7, 15)
            elif col in ("in_force", "total_published"):
                made = vals.get("issued", vals.get("newly_published", 0))
                vals[col] = made + (0 if row.key == "regulations" and rng.random() < 0.8 else _sparse_int(rng, 0.3, 300))
            elif col == "previous_year_items":
                vals[col] = _sparse_int(rng, 0.4, 2000 if big_office else 200)
            elif col == "change":
                prev = vals.get("previous_year_items", 0)
                ch = 0 if rng.random() < 0.6 else rng.randint(-min(prev, 50), 60)
                vals[col] = ch
            elif col == "decisions":
                hi = {"administrative_licensing": 60000, "administrative_penalty": 8000}.get(row.key, 400)
                vals[col] = _sparse_int(rng, 0.45, hi if big_office else hi // 20)
            elif col == "items":
                vals[col] = _sparse_int(rng, 0.4, 500)
            else:
                vals[col] = _sparse_int(rng, 0.6, 100)
        out[row.key] = vals
    return out


def _rule(template: Template, rule_id: str) -> Rule:
    return next(r for r in template.rules if r.id == rule_id)


def draw_requests(rng: random.Random, template: Template) -> dict:
    sec = template.sections["requests"]
    cols = [c for c in sec.columns if c != "total"]
    outcome_rows = list(_rule(template, "requests.outcome_total").left)
    new = _split(rng, _heavy_count(rng), _applicant_weights(rng, len(cols)))
    carried = [0 if rng.random() < 0.7 else int(n * rng.uniform(0, 0.15)) + (rng.random() < 0.3) for n in new]
    out_w = _outcome_weights(rng, outcome_rows)
    table: dict[str, dict[str, int]] = {r.key: {} for r in sec.rows}
    for i, col in enumerate(cols):
        handled = new[i] + carried[i]
        forward = 0 if rng.random() < 0.6 else int(round(handled * rng.uniform(0, 0.12)))
        done = handled - forward
        parts = _split(rng, done, out_w)
        table["new"][col] = new[i]
        table["carried_over"][col] = carried[i]
        table["carried_forward"][col] = forward
        table["outcome_total"][col] = done
        for key, v in zip(outcome_rows, parts):
            table[key][col] = v
    for row in table.values():
        row["total"] = sum(row[c] for c in cols)
    return {r.key: {c: table[r.key][c] for c in r.columns} for r in sec.rows}


def draw_review(rng: random.Random, template: Template) -> dict:
    sec = template.sections["review_and_litigation"]
    busy = rng.random() < 0.35
    out = {}
    for row in sec.rows:
        vals = {c: (0 if rng.random() < (0.55 if busy else 0.93) else int(10 ** rng.uniform(0, 1.6 if busy else 0.6)))
                for c in row.columns if c != "total"}
        vals["total"] = sum(vals.values())
        out[row.key] = {c: vals[c] for c in row.columns}
    return out


def check_rules(template: Template, report: Report) -> list[dict]:
    """Every violated rule instance: {"rule", "at" (the column or row it was checked for), "left", "right"}."""
    found = []
    for rule in template.rules:
        sec = report[rule.section]
        if rule.across == "rows":
            columns = template.sections[rule.section].row(rule.left[0]).columns
            for col in columns:
                left = sum(sec[r][col] for r in rule.left)
                right = sum(sec[r][col] for r in rule.right)
                if left != right:
                    found.append({"rule": rule.id, "at": col, "left": left, "right": right})
        else:
            for row_key, row in sec.items():
                if all(c in row for c in rule.left + rule.right):
                    left = sum(row[c] for c in rule.left)
                    right = sum(row[c] for c in rule.right)
                    if left != right:
                        found.append({"rule": rule.id, "at": row_key, "left": left, "right": right})
    return found


def break_one_rule(rng: random.Random, template: Template, report: Report) -> dict:
    """Change one printed number so that exactly one rule (family) fails, as in real typos; returns the record."""
    choices = []
    req = template.sections["requests"]
    for row in req.rows:
        choices.append(("requests.applicant_total", "requests", row.key, "total"))
    for col in req.columns:
        choices.append(("requests.outcome_total", "requests", "outcome_total", col))
        choices.append(("requests.balance", "requests", "carried_forward", col))
    for row in template.sections["review_and_litigation"].rows:
        choices.append(("review.total", "review_and_litigation", row.key, "total"))
    rule_id, section, row, col = rng.choice(choices)
    old = report[section][row][col]
    delta = rng.choice([-1, 1]) * rng.choice([1, 1, 2, 3, 10, 100]) if old > 0 else rng.choice([1, 2, 3, 10])
    if old + delta < 0:
        delta = -delta
    report[section][row][col] = old + delta
    return {"rule": rule_id, "cell": f"{section}.{row}.{col}", "printed": old + delta, "correct": old,
            "violations": check_rules(template, report)}


def draw_report(rng: random.Random, template: Template, agency: str, year: int, p_break: float = 0.05) -> Drawn:
    report: Report = {"template": template.id, "agency": agency, "year": year,
                      "proactive_disclosure": draw_proactive(rng, template),
                      "requests": draw_requests(rng, template),
                      "review_and_litigation": draw_review(rng, template)}
    broken = [break_one_rule(rng, template, report)] if rng.random() < p_break else []
    return Drawn(report=report, broken_rules=broken)
