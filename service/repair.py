"""Repair of misread digits by the template's arithmetic, only where the evidence is unique.

Used on OCR readings, never on a text layer: printed numbers that break a rule are the publisher's, reported as
findings and left as printed. A cell is repaired when changing it alone makes every broken rule hold and no other cell
could do the same; where several could, a one-character misreading of the printed text must single one out.
"""
from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein

from service.assemble import Extraction, Reading
from service.validate import CellKey, Equation, flat, violations

MAX_ROUNDS = 4
REPAIRABLE = ("read", "split", "order")
# A reading this sure is taken as printed: a rule it breaks is the publisher's slip, reported, not repaired...
SURE = 0.97
# ...unless the change is one digit PP-OCR is known to confuse with the one it read.
CONFUSABLE = {frozenset(p) for p in ("06", "08", "09", "17", "38", "56", "58", "68", "89", "35", "14", "49")}


def _plausible_misreading(reading: Reading, value: int) -> bool:
    if reading.confidence < SURE:
        return True
    printed, fixed = reading.raw.replace(" ", ""), str(value)
    if len(printed) != len(fixed):
        return False
    diff = [frozenset((a, b)) for a, b in zip(printed, fixed) if a != b]
    return len(diff) == 1 and diff[0] in CONFUSABLE


@dataclass
class Repair:
    cell: str
    printed: float | int | None
    repaired: float | int
    rules: list[str]
    reason: str


def _implied(values: dict, eq: Equation, cell: CellKey) -> float | None:
    if any(values.get(c) is None for c in eq.cells if c != cell):
        return None
    left = sum(values[c] for c in eq.left if c != cell)
    right = sum(values[c] for c in eq.right if c != cell)
    return (right - left) if cell in eq.left else (left - right)


def _fixes(ex: Extraction, values: dict, eqs: list[Equation], bad: list[Equation]):
    """(cell, value, broken rules it mends, rules still broken after) for every single-cell change that mends all
    the broken rules it takes part in without breaking another."""
    for cell in {c for eq in bad for c in eq.cells}:
        reading = ex.values.get(cell)
        if reading is None or reading.how not in REPAIRABLE:
            continue
        mine = [eq for eq in bad if cell in eq.cells]
        implied = {_implied(values, eq, cell) for eq in mine}
        if len(implied) != 1 or None in implied:
            continue
        v = implied.pop()
        if v < 0 or not float(v).is_integer() or not _plausible_misreading(reading, int(v)):
            continue
        trial = dict(values)
        trial[cell] = int(v)
        if violations(trial, [eq for eq in eqs if cell in eq.cells]):
            continue
        yield cell, int(v), mine, len(violations(trial, eqs))


def _choose(ex: Extraction, options: list) -> tuple | None:
    complete = [o for o in options if o[3] == 0]
    if len(complete) == 1:
        return complete[0]
    if not complete:
        # Several errors: a cell where two broken rules cross (a row and a column), if no other cell mends the same.
        by_rules: dict[frozenset, list] = {}
        for o in options:
            by_rules.setdefault(frozenset(map(id, o[2])), []).append(o)
        unique = [group[0] for key, group in by_rules.items() if len(key) >= 2 and len(group) == 1]
        return unique[0] if unique else None
    near = [o for o in complete if Levenshtein.distance(ex.values[o[0]].raw.replace(" ", ""), str(o[1])) <= 1]
    return near[0] if len(near) == 1 else None


def repair(ex: Extraction, eqs: list[Equation]) -> list[Repair]:
    repairs: list[Repair] = []
    for _ in range(MAX_ROUNDS):
        values = ex.current_values()
        bad = violations(values, eqs)
        if not bad:
            break
        choice = _choose(ex, list(_fixes(ex, values, eqs, bad)))
        if choice is None:
            break
        cell, value, mended, _ = choice
        rules = sorted({eq.rule for eq in mended})
        old = ex.values[cell]
        reason = f"read '{old.raw}', but {', '.join(rules)} allow only {value}"
        ex.values[cell] = Reading(value, old.raw, old.box, min(old.confidence, 0.8), "repaired", reason)
        repairs.append(Repair(flat(cell), old.value, value, rules, reason))
    return repairs
