"""A first solution for the decoder to start from: each span's plainest reading, rows placed by order kept in order.

The plainest reading of every span on its own puts the rows whose labels are unreadable all on their likeliest row,
which the printed order forbids: the solver then starts from nothing, and on a fax whose section 三 has twenty such
rows it found no solution in its time at all. Here each group of such spans is laid along the template's rows by
dynamic programming over the printed order, each reading costed by itself and by the rules inside its own row (a
row's total), so the first solution is one the order allows and most row sums already hold.
"""
from __future__ import annotations

from service.readings import Option
from service.template import Template
from service.validate import Equation


def row_order(template: Template, section: str) -> dict[str, int]:
    """Each row key's place in the section's printed order; a merged row (（六）其他处理 printed as one) at its first
    row's place."""
    rows = template.sections[section]
    order = {key: i for i, key in enumerate(rows.row_keys())}
    order.update({g.key: order[g.rows[0]] for g in rows.merged})
    return order


def _row_rules(eqs: list[Equation]) -> dict[tuple[str, str], list[Equation]]:
    """Rules whose cells all lie in one row: (section, row) -> rules."""
    out: dict[tuple[str, str], list[Equation]] = {}
    for eq in eqs:
        rows = {(c[0], c[1]) for c in eq.cells}
        if len(rows) == 1:
            out.setdefault(rows.pop(), []).append(eq)
    return out


def _cost(section: str, option: Option, rules: dict, rule: int) -> int:
    """The reading's own cost, and `rule` for each rule inside its row that its numbers break (a cell the rules value
    breaks none)."""
    if option.place is None:
        return option.cost
    values = {(section, *slot): p.value for slot, p in zip(option.place.slots, option.pieces)
              if not p.free and p.kind != "na"}
    broken = 0
    for eq in rules.get((section, option.place.slots[0][0]), []):
        if all(c in values and values[c] is not None for c in eq.cells):
            if abs(sum(values[c] for c in eq.left) - sum(values[c] for c in eq.right)) > 1e-6:
                broken += 1
    return option.cost + rule * broken


def first_reading(template: Template, spans: list, options: list[list[Option]], eqs: list[Equation],
                  barred: set[tuple[int, int]], rule: int, unfilled: int) -> list[int]:
    """The index of one reading per span: the cheapest for a span with its row, and for each group of spans placed
    by the printed order the cheapest readings whose rows rise with it. `barred`: (span, reading) pairs ruled out;
    `rule`, `unfilled`: the decoder's costs of a broken rule and of a cell left unfilled."""
    rules = _row_rules(eqs)
    costs = [[None if (k, j) in barred else _cost(s.section, o, rules, rule) for j, o in enumerate(opts)]
             for k, (s, opts) in enumerate(zip(spans, options))]
    chosen = [min((j for j, c in enumerate(cs) if c is not None), key=lambda j: cs[j], default=0) for cs in costs]
    taken: set[tuple[str, str]] = set()  # rows the spans placed by their labels fill
    for k, s in enumerate(spans):
        if s.group is None and options[k] and options[k][chosen[k]].place is not None:
            taken.add((s.section, options[k][chosen[k]].place.slots[0][0]))
    groups: dict[tuple, list[int]] = {}
    for k, s in enumerate(spans):
        if s.group is not None:
            groups.setdefault(s.group, []).append(k)
    for members in groups.values():
        section = spans[members[0]].section
        rows = template.sections[section].rows
        gap = [0 if (section, r.key) in taken else unfilled * len(r.columns) for r in rows]
        for k, j in zip(members, _along(members, options, costs, row_order(template, section), gap)):
            chosen[k] = j
    return chosen


def _along(members: list[int], options, costs, order: dict[str, int], gap: list[int]) -> list[int]:
    """Dynamic programming over the group's spans in printed order: state = the last template row filled (-1: none
    yet). Each span takes a reading on a later row no label took (gap > 0), or a reading that leaves it out; each
    row passed over costs its gap."""
    n_rows = len(gap)
    INF = float("inf")
    best = {-1: 0.0}  # last row -> least cost so far
    back: list[dict[int, tuple[int, int]]] = []  # per span: new last row -> (previous last row, reading)
    for k in members:
        nxt: dict[int, float] = {}
        how: dict[int, tuple[int, int]] = {}
        for j, (o, c) in enumerate(zip(options[k], costs[k])):
            if c is None:
                continue
            if o.place is None:  # left out: the last row stays
                for last, total in best.items():
                    if total + c < nxt.get(last, INF):
                        nxt[last], how[last] = total + c, (last, j)
                continue
            r = order[o.place.slots[0][0]]
            if not gap[r]:
                continue
            for last, total in best.items():
                if last >= r:
                    continue
                t = total + c + sum(gap[last + 1:r])
                if t < nxt.get(r, INF):
                    nxt[r], how[r] = t, (last, j)
        if not nxt:  # nothing the order allows (no reading leaves it out): its cheapest reading, order broken
            j = min((j for j, c in enumerate(costs[k]) if c is not None), key=lambda j: costs[k][j], default=0)
            nxt, how = dict(best), {last: (last, j) for last in best}
        best = nxt
        back.append(how)
    # Rows never reached after the last placed span count as passed over too.
    last = min(best, key=lambda r: best[r] + sum(gap[r + 1:n_rows]))
    picks = []
    for how in reversed(back):
        last, j = how[last]
        picks.append(j)
    return picks[::-1]
