"""Repair of misread digits by the template's arithmetic, only where the evidence is unique.

Used on OCR readings, never on a text layer: printed numbers that break a rule are the publisher's, reported as
findings and left as printed.
"""
from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein

from service.assemble import Extraction, Reading
from service.validate import CellKey, Equation, flat, violations

MAX_ROUNDS = 4


@dataclass
class Repair:
    cell: str
    printed: float | int | None
    repaired: float | int
    rules: list[str]
    reason: str


def _implied(values: dict, eq: Equation, cell: CellKey) -> float | None:
    others = [c for c in eq.cells if c != cell]
    if any(values.get(c) is None for c in others):
        return None
    left = sum(values[c] for c in eq.left if c != cell)
    right = sum(values[c] for c in eq.right if c != cell)
    return (right - left) if cell in eq.left else (left - right)


def _candidates(ex: Extraction, values: dict, eqs: list[Equation], bad: list[Equation]):
    cells = {c for eq in bad for c in eq.cells}
    for cell in cells:
        reading = ex.values.get(cell)
        if reading is None or reading.how not in ("read", "split", "order"):
            continue
        implied = {_implied(values, eq, cell) for eq in bad if cell in eq.cells}
        if len(implied) != 1 or None in implied:
            continue
        v = implied.pop()
        if v < 0 or (isinstance(v, float) and not v.is_integer()):
            continue
        trial = dict(values)
        trial[cell] = int(v)
        if violations(trial, [eq for eq in eqs if cell in eq.cells]):
            continue
        if len(violations(trial, eqs)) >= len(bad):
            continue
        yield cell, int(v), [eq.rule for eq in bad if cell in eq.cells]


def repair(ex: Extraction, eqs: list[Equation]) -> list[Repair]:
    repairs: list[Repair] = []
    for _ in range(MAX_ROUNDS):
        values = {k: r.value for k, r in ex.values.items()}
        bad = violations(values, eqs)
        if not bad:
            break
        options = list(_candidates(ex, values, eqs, bad))
        if len(options) > 1:
            # Several cells could each fix it: keep only a one-character misreading, if that is unique.
            near = [o for o in options if Levenshtein.distance(str(ex.values[o[0]].raw), str(o[1])) <= 1]
            options = near
        if len(options) != 1:
            break
        cell, value, rules = options[0]
        old = ex.values[cell]
        reason = f"read '{old.raw}', but {', '.join(sorted(set(rules)))} imply {value}"
        ex.values[cell] = Reading(value, old.raw, old.box, min(old.confidence, 0.8), "repaired", reason)
        repairs.append(Repair(flat(cell), old.value, value, sorted(set(rules)), reason))
    return repairs
