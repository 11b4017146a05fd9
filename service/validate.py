"""The template's arithmetic (勾稽关系) as equations over cells, and the check of a report against them."""
from __future__ import annotations

from dataclasses import dataclass

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
