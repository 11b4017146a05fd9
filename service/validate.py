"""The template's arithmetic (勾稽关系) as equations over cells: checking, and placing cells a dump lost."""
from __future__ import annotations

import itertools
from dataclasses import dataclass

from service.assemble import Extraction, Reading
from service.template import Template

CellKey = tuple[str, str, str]


@dataclass(frozen=True)
class Equation:
    rule: str
    text: str
    left: tuple[CellKey, ...]
    right: tuple[CellKey, ...]

    @property
    def cells(self) -> tuple[CellKey, ...]:
        return self.left + self.right


@dataclass
class Finding:
    rule: str
    message: str
    cells: list[str]
    expected: float | None = None
    printed: float | None = None
    severity: str = "error"


def flat(cell: CellKey) -> str:
    return ".".join(cell)


def equations(template: Template) -> list[Equation]:
    out = []
    for rule in template.rules:
        section = template.sections[rule.section]
        if rule.across == "rows":
            columns = [c for c in section.columns if all(c in section.row(r).columns for r in rule.left + rule.right)]
            for c in columns:
                out.append(Equation(rule.id, rule.text, tuple((section.key, r, c) for r in rule.left),
                                    tuple((section.key, r, c) for r in rule.right)))
        else:
            for row in section.rows:
                if all(c in row.columns for c in rule.left + rule.right):
                    out.append(Equation(rule.id, rule.text, tuple((section.key, row.key, c) for c in rule.left),
                                        tuple((section.key, row.key, c) for c in rule.right)))
    return out


def _sum(values: dict, cells) -> float | None:
    vals = [values.get(c) for c in cells]
    return None if any(v is None for v in vals) else sum(vals)


def violations(values: dict[CellKey, float | None], eqs: list[Equation]) -> list[Equation]:
    bad = []
    for eq in eqs:
        left, right = _sum(values, eq.left), _sum(values, eq.right)
        if left is not None and right is not None and abs(left - right) > 1e-6:
            bad.append(eq)
    return bad


def check(values: dict[CellKey, float | None], eqs: list[Equation]) -> list[Finding]:
    findings = []
    for eq in violations(values, eqs):
        left, right = _sum(values, eq.left), _sum(values, eq.right)
        total = eq.right[-1] if len(eq.right) == 1 else None
        cells = [flat(c) for c in eq.cells]
        if total is not None:
            msg = f"{eq.text}: {flat(total)} is {right:g} but the parts add up to {left:g}"
            findings.append(Finding(eq.rule, msg, cells, expected=left, printed=right))
        else:
            msg = f"{eq.text}: {' + '.join(flat(c) for c in eq.left)} = {left:g} but " \
                  f"{' + '.join(flat(c) for c in eq.right)} = {right:g}"
            findings.append(Finding(eq.rule, msg, cells, expected=left, printed=right))
    return findings


def _solve(values: dict[CellKey, float | None], unknown: set[CellKey], eqs: list[Equation]) -> bool:
    """Fill unknown cells from equations with exactly one unknown; False when the values contradict a rule."""
    changed = True
    while unknown and changed:
        changed = False
        for eq in eqs:
            missing = [c for c in eq.cells if c in unknown]
            if len(missing) != 1:
                continue
            others = [c for c in eq.cells if c not in unknown]
            if any(values.get(c) is None for c in others):
                continue
            cell = missing[0]
            left = sum(values[c] for c in eq.left if c != cell)
            right = sum(values[c] for c in eq.right if c != cell)
            values[cell] = (right - left) if cell in eq.left else (left - right)
            unknown.discard(cell)
            changed = True
    touched = [eq for eq in eqs if all(values.get(c) is not None for c in eq.cells)]
    return not violations(values, touched)


def fill_gaps(ex: Extraction) -> None:
    """Rows that lost cells (a text dump drops blanks): try every placement of the cells read; keep the one the
    arithmetic allows, and the missing values it implies, when all allowed placements agree."""
    eqs = equations(ex.template)
    for (section, row), (slots, readings) in ex.partial.items():
        current = ex.current_values()
        results = set()
        chosen: dict[tuple, tuple] = {}
        combos = itertools.combinations(range(len(slots)), len(readings))
        for placement in itertools.islice(combos, 5000):
            values = dict(current)
            placed = {(section, *slots[i]): r.value for i, r in zip(placement, readings)}
            if any(v is None for v in placed.values()):
                continue
            values.update(placed)
            unknown = {(section, *s) for i, s in enumerate(slots) if i not in placement}
            for c in unknown:
                values[c] = None
            if not _solve(values, set(unknown), eqs) or any(values[c] is None or values[c] < 0 for c in unknown):
                continue
            vector = tuple(values[(section, *s)] for s in slots)
            results.add(vector)
            chosen[vector] = placement
        if len(results) == 1:
            vector = results.pop()
            placement = chosen[vector]
            reading_at = dict(zip(placement, readings))
            for i, (r, c) in enumerate(slots):
                if i in reading_at:
                    ex.values[(section, r, c)] = reading_at[i]
                else:
                    ex.values[(section, r, c)] = Reading(vector[i], "", None, 0.9, "arithmetic",
                                                         "blank cell; value implied by the template's arithmetic")
        else:
            where = f"{section}.{row}" if row else section
            ex.issues.append({"rule": "assembly.missing_cells",
                              "message": f"{where}: {len(readings)} values read for {len(slots)} columns and the "
                                         f"arithmetic does not say which are missing; left null",
                              "cells": [f"{section}.{r}.{c}" for r, c in slots]})
            for r, c in slots:
                ex.values.setdefault((section, r, c), Reading(None, "", None, 0.0, "read", "not read"))
