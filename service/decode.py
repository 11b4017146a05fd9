"""Spans of tokens -> canonical values: one small CP-SAT model per report.

Each Span (a run of numbers and the template cells it fills) has several readings: one number per cell as printed,
run-together digits cut every possible way, blanks that are 0 or not, cells a text dump lost (placed anywhere in the
row, valued by the arithmetic), a recogniser's alternative reading of an OCR'd cell. The model picks one reading per
span; every rule of the template (service.validate.equations) is a soft constraint, broken only where no reading
satisfies it, so printed numbers that break a rule stay as printed and validation reports them.

A value that was not simply read (a cut, a blank, a lost cell, an alternative, a reading chosen among several
placements) is kept only when it is the same in every optimal solution; otherwise it is null with a finding that
lists what it could be. Where the time limit ends the search before a solution is proven optimal, its choices are
kept at lower confidence, with a warning. Figures from the report's prose (`hints`) only break such ties.
"""
from __future__ import annotations

import re
import time
import unicodedata

from service.cpsat import cp_model

from service.assemble import LABEL_COST, Extraction, Place, Reading, RowEvidence, Span
from service.first_reading import first_reading, row_order
from service.neighbourhoods import improve
from service.readings import GAP, UPPER, Option, Piece, forced_spans, options_of
from service.template import MergedRow, Template
from service.validate import Equation, equations, flat
from service.values import Token, parse_number
from models.value_prior import ValuePrior

DECIMAL_SCALE = 10 ** 6  # amounts in 万元 carry up to six decimals (a sum printed in 元)
MAX_PROBES = 12  # re-solves that look for a second optimal value
DETERMINISTIC_PER_SECOND = 2.0  # the solver's deterministic time per second on the 2-core development machine, idle
SOLVE_SECONDS = 5.0  # a report's model, at effort 1 (decode's `effort` scales every limit)
QUICK_SECONDS = 0.5  # the search without the LP relaxation, before the LP is tried
# A probe needs any solution that differs, not the one that differs most: the most it finds in this time. A probe
# that finds none in it counts as none (on a scan's largest models the search for one can outlast any budget).
PROBE_SECONDS = 0.5
# After an unproven search, the neighbourhood search's time (synth faxes: 3893 -> 3937 fields at 2 s, 3979 at 4 s,
# each about 5% more time on them; the models proven in time never get here).
WINDOW_SECONDS = 4.0
UNPROVEN = 0.7  # confidence kept by a choice among readings that the solver's time limit left unproven
PRIOR_SCALE = 100  # the value prior's nats, as integers for the solver
PRIOR_MARGIN = 3.0  # nats: a reading the prior decides is twenty times likelier than any other reading of its cells

# Costs (lower objective is better). A broken rule outweighs any reading choice, so a reading that satisfies the
# arithmetic always wins; among readings, the plainer one wins; ties are what the uniqueness rule is for.
RULE = 1000
BLANK_NONZERO = 50  # a printed blank that is not 0
# A cell some reading could fill, left empty: its rules go unchecked, so leaving a misread row out must cost about
# what the rules it breaks cost, or every row with one misread digit is dropped whole.
UNFILLED = 300
MISSING = 150  # per template cell without a value, when readings of one document are compared


# -- the model ------------------------------------------------------------------------------------------------------

def _scaled(template: Template, cell: tuple[str, str, str], value: float | int) -> int:
    spec = template.sections[cell[0]].columns[cell[2]]
    return round(value * DECIMAL_SCALE) if spec.decimal else round(value)


def _fits(template: Template, cell: tuple[str, str, str], value: float | int) -> bool:
    """A count is whole; an amount has at most the column's decimals (a dotted speck made 2.9015 of a count)."""
    exact = value * DECIMAL_SCALE if template.sections[cell[0]].columns[cell[2]].decimal else value
    return abs(exact - round(exact)) < 1e-6


class _Model:
    def __init__(self, template: Template, spans: list[Span], eqs: list[Equation], effort: float = 1.0,
                 doubts: bool = True):
        self.template = template
        self.model = cp_model.CpModel()
        self.spans = spans
        forced = forced_spans(spans)
        self.options: list[list[Option]] = [
            self._whole_counts(s, self._signs_fit(s, options_of(s, eqs, doubts, id(s) in forced))) for s in spans]
        self.choice: list[list[cp_model.IntVar]] = []
        self.vars: dict[tuple[str, str, str], cp_model.IntVar] = {}
        self.bounds: dict[tuple[str, str, str], tuple[int, int]] = {}
        self.present: dict[tuple[str, str, str], cp_model.IntVar] = {}  # cells that may stay unfilled
        self.terms: list = []
        self.effort = effort  # scales the solver's time limits
        m = self.model
        # No count in a rule exceeds what all the numbers read add up to: a tight bound keeps the solver's
        # propagation through chains of equations short (a bound of 10^9 makes it creep). A cell in no rule needs no
        # such bound, and one count can exceed all the others together (a city's 行政处罚 decisions, in millions).
        self.ruled = {c for eq in eqs for c in eq.cells}
        bound = 2 * sum(min((sum(abs(p.value) for p in o.pieces if p.value is not None) for o in opts if o.place),
                            default=0) for opts in self.options) + 1000
        bound = min(UPPER, round(bound))
        placing: dict[tuple, list] = {}  # cell -> literals of the options that put a piece there
        valued: dict[tuple, list] = {}  # cell -> literals of the options that put a value there (not "n/a")
        sure: set = set()  # cells every reading of some span fills with a value
        putting: dict[tuple, list] = {}  # (cell, value or "blank") -> literals of the options that put it there
        barred: set[tuple[int, int]] = set()  # (span, reading) that a bound rules out
        for k, (s, opts) in enumerate(zip(spans, self.options)):
            lits = [m.new_bool_var(f"s{k}o{j}") for j in range(len(opts))]
            self.choice.append(lits)
            m.add_exactly_one(lits)
            for j, (lit, o) in enumerate(zip(lits, opts)):
                if o.cost:
                    self.terms.append(o.cost * lit)
                if o.place is None:
                    continue
                for (r, c), p in zip(o.place.slots, o.pieces):
                    cell = (s.section, r, c)
                    self._var(cell, bound)
                    placing.setdefault(cell, []).append(lit)
                    if p.kind == "na":
                        continue
                    valued.setdefault(cell, []).append(lit)
                    if p.kind == "doubt":  # an unsure reading may lose or gain a digit, not become any number
                        digits = len(p.token.text.split(".")[0].lstrip("-−+增减"))
                        m.add(self.vars[cell] <= _scaled(template, cell, 10 ** (digits + 1) - 1)).only_enforce_if(lit)
                    if p.kind == "blank":
                        putting.setdefault((cell, "blank"), []).append(lit)
                    elif not p.free:
                        value = _scaled(template, cell, p.value)
                        if self.bounds[cell][0] <= value <= self.bounds[cell][1]:
                            putting.setdefault((cell, value), []).append(lit)
                        else:  # beyond any count in the document: not a reading
                            m.add_bool_or([lit.Not()])
                            barred.add((k, j))
            if len(s.candidates()) == 1 and all(o.place for o in opts):
                for i, slot in enumerate(s.slots):
                    if all(o.pieces[i].kind != "na" for o in opts):
                        sure.add((s.section, *slot))
        # What a cell holds, once per cell and value rather than once per reading: the many readings of a long
        # span (blanks, lost cells placed anywhere) then share their constraints.
        for (cell, what), lits in putting.items():
            here = lits[0] if len(lits) == 1 else m.new_bool_var("")
            if len(lits) > 1:
                m.add(here == sum(lits))  # at most one: one reading per span, one span per cell
            if what == "blank":
                nonzero = m.new_bool_var("")
                m.add(self.vars[cell] == 0).only_enforce_if([here, nonzero.Not()])
                self.terms.append(BLANK_NONZERO * nonzero)
            else:
                m.add(self.vars[cell] == what).only_enforce_if(here)
        for k, j in enumerate(first_reading(template, spans, self.options, eqs, barred, RULE, UNFILLED)):
            for i, lit in enumerate(self.choice[k]):  # a first solution to start from
                m.add_hint(lit, i == j)
        self._keep_order(spans)
        self.within: dict[tuple, tuple] = {}  # a row's cell under a merged row -> the merged row's cell
        for section, group in _merged_in(template, self.vars):
            rows = template.sections[section]
            for c in rows.columns:
                total = (section, group.key, c)
                if total in self.vars:
                    parts = [(section, r, c) for r in group.rows if c in rows.row(r).columns]
                    for cell in parts:
                        self._var(cell, bound)
                        self.within[cell] = total
                    eqs = [*eqs, Equation(f"{section}.merged", f"{group.label} = " + " + ".join(group.rows),
                                          (total,), tuple(parts))]
        for cell, lits in placing.items():
            if len(lits) > 1:
                m.add_at_most_one(lits)  # one printed row per template row
            if cell not in sure and self.within.get(cell) not in sure:
                self.present[cell] = m.new_bool_var("")
                m.add(self.present[cell] == sum(valued.get(cell, [])))
                if valued.get(cell):
                    self.terms.append(UNFILLED * (1 - self.present[cell]))
        for cell, total in self.within.items():
            # Under a merged row that was read, a cell takes part in the rules though no number of its own is.
            if cell in self.present and total in self.present:
                was = self.present[cell]
                self.present[cell] = m.new_bool_var("")
                m.add_max_equality(self.present[cell], [was, self.present[total]])
            elif cell in self.present:
                self.present[cell] = m.new_constant(1)
            elif total in self.present and cell not in placing:
                self.present[cell] = self.present[total]
        for i, eq in enumerate(eqs):
            if not all(c in self.vars for c in eq.cells):
                continue  # a row that was never read: nothing to check it by
            broken = m.new_bool_var(f"broken{i}")
            m.add_hint(broken, True)
            # A cell left unfilled, or printed as not applicable, takes no part: its rule cannot be checked.
            m.add(sum(self.vars[c] for c in eq.left) == sum(self.vars[c] for c in eq.right)) \
                .only_enforce_if([broken.Not(), *[self.present[c] for c in eq.cells if c in self.present]])
            self.terms.append(RULE * broken)
        self.cost = m.new_int_var(0, RULE * (len(eqs) + 1) + 10 ** 9, "cost")
        m.add(self.cost == sum(self.terms))
        m.minimize(self.cost)

    def _signs_fit(self, span: Span, options: list[Option]) -> list[Option]:
        """A number printed with 增/减 sits in a column that takes a sign (the change column), where any reading
        lets it."""
        columns = self.template.sections[span.section].columns
        fit = [o for o in options if o.place is None or all(
            not p.signed or columns[c].signed for (_, c), p in zip(o.place.slots, o.pieces))]
        return fit or options

    def _whole_counts(self, span: Span, options: list[Option]) -> list[Option]:
        """A number with a fraction in a count's cell (a dotted speck read "2.901498948") is no reading of it: the
        rules value that cell, as they value an unread one."""
        out = []
        for o in options:
            bad = [i for i, ((r, c), p) in enumerate(zip(o.place.slots, o.pieces)) if p.value is not None
                   and not _fits(self.template, (span.section, r, c), p.value)] if o.place else []
            if not bad:
                out.append(o)
                continue
            pieces = tuple(Piece("gap", None, p.token, f"'{p.token.text if p.token else p.value}' is no count; the "
                                 "rules give it") if i in bad else p for i, p in enumerate(o.pieces))
            out.append(Option(pieces, o.cost + GAP * len(bad), o.place))
        return out

    def _keep_order(self, spans: list[Span]):
        """Spans of one group fill rows in their printed order."""
        m = self.model
        at_row: list[dict[int, cp_model.IntVar]] = []
        for s, opts, lits in zip(spans, self.options, self.choice):
            rows: dict[int, list] = {}
            if s.group is not None:
                order = row_order(self.template, s.section)
                for o, lit in zip(opts, lits):
                    if o.place:
                        rows.setdefault(order[o.place.slots[0][0]], []).append(lit)
            here = {}
            for r, ls in rows.items():
                here[r] = m.new_bool_var("")
                m.add(here[r] == sum(ls))
            at_row.append(here)
        # Each span of a group placed below the lowest row its group has filled so far, a span left out between
        # them included (pairs of neighbours alone let the rows around a left-out span go out of order).
        reach: dict[tuple, cp_model.IntVar] = {}  # group -> the lowest row filled so far (-1: none)
        for s, here in zip(spans, at_row):
            if s.group is None or not here:
                continue
            top = max(here)
            at = m.new_int_var(-1, top, "")
            m.add(at == sum((r + 1) * b for r, b in here.items()) - 1)
            placed = m.new_bool_var("")
            m.add(placed == sum(here.values()))
            if s.group in reach:
                before = reach[s.group]
                m.add(at > before).only_enforce_if(placed)
                after = m.new_int_var(-1, max(top, before.proto.domain[-1]), "")
                m.add_max_equality(after, [before, at])
                reach[s.group] = after
            else:
                reach[s.group] = at

    def _var(self, cell, bound: int):
        if cell not in self.vars:
            spec = self.template.sections[cell[0]].columns[cell[2]]
            top = UPPER * DECIMAL_SCALE if spec.decimal else bound if cell in self.ruled else UPPER
            self.bounds[cell] = (-top if spec.signed else 0, top)
            self.vars[cell] = self.model.new_int_var(*self.bounds[cell], flat(cell))
        return self.vars[cell]

    def chosen(self, solver) -> list[Option]:
        return [next(o for o, lit in zip(opts, lits) if solver.boolean_value(lit))
                for opts, lits in zip(self.options, self.choice)]

    def fixed_to(self, best: int) -> cp_model.CpModel:
        """A copy whose every solution is optimal: the objective held at its best value."""
        copy = self.model.clone()
        copy.clear_objective()
        copy.add(copy.get_int_var_from_proto_index(self.cost.index) <= best)
        return copy


def _solve(model: cp_model.CpModel, seconds: float = SOLVE_SECONDS, prove: bool = True):
    """A solution of the model, or None. First a quick search without the LP relaxation (small models: probing,
    symmetry detection and the LP cost more than they save; measured on synth-formats: median solve time down by a
    third); where that finds no proven optimum and `prove` asks for one, the full LP relaxation, whose bound proves
    what the search alone did not in 60 s on a scan's largest models."""
    found = (cp_model.OPTIMAL, cp_model.FEASIBLE)
    solver, status = _run(model, min(seconds, QUICK_SECONDS), quick=True)
    if prove and status not in (cp_model.OPTIMAL, cp_model.INFEASIBLE, cp_model.MODEL_INVALID):
        quick = solver if status in found else None
        solver, status = _run(model, seconds, quick=False)
        if status not in found or (quick is not None and status != cp_model.OPTIMAL
                                   and quick.objective_value < solver.objective_value):
            # The LP's search can end with nothing, or worse, where the quick one found a solution.
            return quick
    return solver if status in found else None


def _window_run(model: cp_model.CpModel, seconds: float):
    solver, status = _run(model, seconds, quick=True)
    return solver, status, solver.response_proto.deterministic_time / DETERMINISTIC_PER_SECOND


def _proven(solver) -> bool:
    return solver.response_proto.status == cp_model.OPTIMAL


def _run(model: cp_model.CpModel, seconds: float, quick: bool):
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    # The limit in the solver's own deterministic units, so that a loaded machine gets the same readings as an idle
    # one (wall time cut heavy scans' models off at different points run to run); wall time only as a backstop.
    solver.parameters.max_deterministic_time = seconds * DETERMINISTIC_PER_SECOND
    solver.parameters.max_time_in_seconds = seconds * 4
    if quick:
        solver.parameters.cp_model_probing_level = 0
        solver.parameters.symmetry_level = 0
        solver.parameters.linearization_level = 0
    else:
        solver.parameters.linearization_level = 2
    return solver, solver.solve(model)


def _others(base: cp_model.CpModel, model: "_Model", values: dict, cells: list) -> dict:
    """Cells that take another value, or stay unfilled, in some solution of `base` (every one of whose solutions
    is optimal): {cell: other values (None: unfilled)}. Each probe asks for a solution that differs in at least one
    cell not yet known to."""
    found: dict = {}
    for _ in range(MAX_PROBES):
        rest = [c for c in cells if c not in found]
        if not rest:
            break
        probe = base.clone()
        vars_ = {c: probe.get_int_var_from_proto_index(model.vars[c].index) for c in rest}
        present = {c: probe.get_bool_var_from_proto_index(model.present[c].index) for c in rest if c in model.present}
        differs = []
        for c in rest:
            d = probe.new_bool_var("")
            probe.add(vars_[c] != values[c]).only_enforce_if(d)
            if c in present:
                probe.add_implication(d, present[c])
                gone = probe.new_bool_var("")
                probe.add_implication(gone, present[c].Not())
                differs.append(gone)
            differs.append(d)
        probe.add_bool_or(differs)
        # As many cells at once as can differ: the ambiguous cuts of independent rows then take one probe, not one
        # each.
        probe.maximize(sum(differs))
        solver = _solve(probe, PROBE_SECONDS * model.effort, prove=False)
        if solver is None:
            break
        for c in rest:
            if c in present and not solver.boolean_value(present[c]):
                found.setdefault(c, set()).add(None)
            elif solver.value(vars_[c]) != values[c]:
                found.setdefault(c, set()).add(solver.value(vars_[c]))
    return found


# -- rows printed as one --------------------------------------------------------------------------------------------

_ENUMERATOR = re.compile(r"^(?:[(（][一二三四五六七八九十\d]+[)）]|[一二三四五六七八九十\d]+[、.．])")


def _plain_label(label: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", label))


def _names(label: str, heading: str) -> bool:
    """The label is the heading alone: as printed, or ending a label run that took in the end of the row above
    ("…已获取信息（六）其他处理")."""
    label, heading = _plain_label(label), _plain_label(heading)
    return label.endswith(heading) or _ENUMERATOR.sub("", label) == _ENUMERATOR.sub("", heading)


def _merged_places(template: Template, spans: list[Span]) -> None:
    """A span whose label is a merged row's heading alone (（六）其他处理 with no 1./2./3. under it) may fill that
    row: the sum of its rows. Its other places stay, at their cost, in case the arithmetic says otherwise."""
    for span in spans:
        for group in template.sections[span.section].merged:
            if span.label and _names(span.label, group.label):
                columns = template.sections[span.section].row(group.rows[0]).columns
                others = [Place(p.slots, max(p.cost, LABEL_COST // 2), p.label) for p in span.candidates()]
                span.places = [Place([(group.key, c) for c in columns], 0, group.label), *others]


def _merged_in(template: Template, cells) -> list[tuple[str, MergedRow]]:
    """The merged rows some reading fills."""
    rows = {(c[0], c[1]) for c in cells}
    return [(s.key, g) for s in template.sections.values() for g in s.merged if (s.key, g.key) in rows]


# -- decoding ---------------------------------------------------------------------------------------------------------

def _unscale(template: Template, cell, value: int) -> float | int:
    if template.sections[cell[0]].columns[cell[2]].decimal:
        v = value / DECIMAL_SCALE
        return int(v) if v.is_integer() else v
    return value


def _spans(ex: Extraction) -> list[Span]:
    """The spans, a cell read twice kept from its later reading."""
    seen: set = set()
    out = []
    for s in reversed(ex.spans):
        cells = {(s.section, *slot) for slot in s.slots}
        if cells & seen or not s.tokens:
            continue
        seen |= cells
        out.append(s)
    return out[::-1]


def decode(ex: Extraction, hints: dict[tuple[str, str, str], float | int] | None = None,
           prior: ValuePrior | None = None, effort: float = 1.0, doubts: bool = True) -> None:
    """Fill ex.values (and its issues, repairs, cost) from ex.spans. Ties among optimal readings are broken by the
    prose's figures (`hints`), then by the value prior where it clearly favours one reading; what neither decides
    stays null. `effort` scales the solver's time limits (a second reading of a scan gets less); `doubts`: numbers
    read unsurely may be valued by the rules instead (service.readings)."""
    start = time.perf_counter()
    template = ex.template
    eqs = equations(template)
    spans = _spans(ex)
    _merged_places(template, spans)
    model = _Model(template, spans, eqs, effort, doubts)
    solver = _solve(model.model, SOLVE_SECONDS * effort)
    if solver is None:
        # No reading at all in the time: the numbers as read, without the recogniser's alternatives (a fax whose
        # labels are illegible, its rows placed by order alone, had every cell null with them).
        cells = {id(t.cell): t.cell for s in spans for t in s.tokens}
        kept = {k: c.alternatives for k, c in cells.items()}
        for c in cells.values():
            c.alternatives = []
        try:
            model = _Model(template, spans, eqs, effort, doubts)
            solver = _solve(model.model, SOLVE_SECONDS * effort)
        finally:
            for k, c in cells.items():
                c.alternatives = kept[k]
    proven = solver is not None and _proven(solver)
    if solver is not None and not proven:
        # The search ended unproven: windows of spans re-solved one after another (service/neighbourhoods.py).
        sections = [s.section if len(opts) > 1 else None for s, opts in zip(spans, model.options)]
        solver = improve(model.model, model.choice, sections, model.cost, solver, WINDOW_SECONDS * effort,
                         _window_run)
    if solver is None:
        ex.warnings.append("the decoder found no reading within its time limit")
        ex.cost = float("inf")  # no reading: never the better of two (a second look must not win by having none)
        ex.decode_seconds = round(time.perf_counter() - start, 4)
        return
    best = solver.value(model.cost)
    chosen = model.chosen(solver)
    values = {c: solver.value(v) for c, v in model.vars.items()}
    piece_of = {(s.section, *slot): (p, s, o) for s, o in zip(spans, chosen) if o.place
                for slot, p in zip(o.place.slots, o.pieces)}
    readings = {id(s): len(opts) for s, opts in zip(spans, model.options)}
    uncertain = [c for c, (p, s, o) in piece_of.items() if p.kind != "na" and (readings[id(s)] > 1 or p.free)]
    uncertain += [c for c in model.within if c not in piece_of]
    unproven: set = set()
    if not proven:
        # Time ran out before the reading was proven best: other solutions at its cost are then no ties but
        # readings not yet ruled out, and probing for them spends the time again to null cells. The reading stands,
        # its choices marked unproven.
        unproven, uncertain = set(uncertain), []
        ex.warnings.append(f"the decoder's time ran out before its reading was proven the best; {len(unproven)} "
                           f"cells chosen among several readings are kept, at lower confidence")
    base = model.fixed_to(best) if uncertain else None  # a clone of the model: only for cells to probe
    ambiguous = _others(base, model, values, uncertain) if uncertain else {}
    prose: set = set()
    if ambiguous and hints:
        prose = _by_hints(base, model, hints, values, ambiguous)
        ambiguous = {c: v for c, v in ambiguous.items() if c not in prose}
    likeliest: dict = {}  # cell -> the other values it could take
    if ambiguous and prior is not None:
        first = dict(values)
        likeliest = {c: ({first[c], *ambiguous[c]} - {values[c]}) for c in _by_prior(base, model, prior, values, ambiguous)}
        ambiguous = {c: v for c, v in ambiguous.items() if c not in likeliest}
    _write(ex, eqs, spans, chosen, piece_of, values, ambiguous, prose, likeliest, unproven, model.ruled)
    _write_merged(ex, model, values, ambiguous)
    # Comparable between two readings of one document (the scan's second look): numbers left out are not counted,
    # a whole-page reading holds more of them (prose) without being worse.
    left_out = sum(o.cost for o in chosen if o.place is None)
    ex.cost = best - left_out + MISSING * sum(ex.value(*c) is None for c in template.cells())
    ex.decode_seconds = round(time.perf_counter() - start, 4)


def _by_hints(base: cp_model.CpModel, model: _Model, hints: dict, values: dict, ambiguous: dict) -> set:
    """Ambiguous cells that the prose's figures decide: the most figures agreeing, and the cell the same in every
    such solution. `base` keeps the agreement (the prior then chooses only among readings the prose allows);
    `values` takes the decided values."""
    template = model.template
    matches = []
    for cell, h in hints.items():
        low, high = model.bounds.get(cell, (1, 0))
        if low <= _scaled(template, cell, h) <= high:
            b = base.new_bool_var("")
            base.add(base.get_int_var_from_proto_index(model.vars[cell].index) == _scaled(template, cell, h)) \
                .only_enforce_if(b)
            if cell in model.present:
                base.add_implication(b, base.get_bool_var_from_proto_index(model.present[cell].index))
            matches.append(b)
    if not matches:
        return set()
    base.maximize(sum(matches))
    solver = _solve(base, SOLVE_SECONDS * model.effort)
    base.clear_objective()
    if solver is None or solver.objective_value <= 0:
        return set()
    base.add(sum(matches) >= round(solver.objective_value))
    return _settle(base, model, solver, values, ambiguous)


def _by_prior(base: cp_model.CpModel, model: _Model, prior: ValuePrior, values: dict, ambiguous: dict) -> set:
    """Ambiguous cells that the value prior decides: the readings of least prior cost, and the cell the same in
    every reading within PRIOR_MARGIN of it (a clear favourite, not a coin toss)."""
    spans = {id(s) for s in model.spans
             if any((s.section, *slot) in ambiguous for place in s.candidates() for slot in place.slots)}
    terms = []
    for s, opts, lits in zip(model.spans, model.options, model.choice):
        if id(s) not in spans:
            continue
        costs = [_prior_cost(prior, s, o) for o in opts]
        low = min(costs)
        terms += [(c - low) * base.get_bool_var_from_proto_index(lit.index) for lit, c in zip(lits, costs) if c > low]
    if not terms:
        return set()
    base = base.clone()
    base.minimize(sum(terms))
    solver = _solve(base, SOLVE_SECONDS * model.effort)
    if solver is None:
        return set()
    base.clear_objective()
    base.add(sum(terms) <= round(solver.objective_value) + round(PRIOR_MARGIN * PRIOR_SCALE))
    return _settle(base, model, solver, values, ambiguous)


def _prior_cost(prior: ValuePrior, span: Span, option: Option) -> int:
    """The prior cost of the numbers a reading puts into cells, in PRIOR_SCALE units of nats."""
    if option.place is None:
        return 0
    # Cuts of run-together digits only: between a recogniser's readings, or rows to place a span on, the evidence
    # is the image and the labels, and a prior of magnitudes would overrule it (a blurred 447 read as 4).
    if not any(p.kind == "split" for p in option.pieces):
        return 0
    known = [(c, p.value) for (_, c), p in zip(option.place.slots, option.pieces)
             if p.value is not None and p.kind in ("read", "split")]
    row = option.place.slots[0][0]
    nats = sum(prior.cost(span.section, row, c, v, any(w != 0 for d, w in known if d != c)) for c, v in known)
    return round(nats * PRIOR_SCALE)


def _settle(base: cp_model.CpModel, model: _Model, solver, values: dict, ambiguous: dict) -> set:
    """The ambiguous cells whose value in `solver`'s solution no other solution of `base` changes; their values
    go into `values`."""
    chosen = {c: solver.value(base.get_int_var_from_proto_index(model.vars[c].index)) for c in ambiguous}
    still = _others(base, model, chosen, list(ambiguous))
    decided = {c for c in ambiguous if c not in still}
    values.update({c: chosen[c] for c in decided})
    return decided


def _write(ex: Extraction, eqs: list[Equation], spans, chosen, piece_of, values, ambiguous, prose, likeliest,
           unproven: set, ruled: set):
    template = ex.template
    for span, o in zip(spans, chosen):
        numbers = " ".join(t.text for t in span.tokens)[:60]
        if o.place is None:
            ex.warnings.append(f"numbers {numbers} match no row; ignored")
        elif span.places is not None:
            row = o.place.slots[0][0]
            ex.rows[(span.section, row)] = RowEvidence(o.place.label, 0.0, "order")
            printed = f"label '{span.label[-30:]}' unreadable or out of order" if span.label else "no label"
            ex.warnings.append(f"row {span.section}.{row}: {printed}; numbers {numbers} placed by the printed order "
                               f"and the arithmetic")
    for cell, (p, span, _) in piece_of.items():
        tok = p.token
        raw = tok.text if tok else ""
        box = tok.cell.box if tok else None
        mark = UNPROVEN if cell in unproven else 1.0
        conf = (tok.cell.confidence if tok else 0.9) * span.confidence * mark
        value = _unscale(template, cell, values[cell])
        if p.free and cell not in ruled and not (p.kind == "blank" and value == 0):
            # No rule values this cell: any value fits. Probing says so where the solver's time allows; an unproven
            # solution held an arbitrary one (a fax's blotted 变化情况 cell came out as the solver's bound, -10^9).
            ex.values[cell] = Reading(None, raw, box, 0.0, "arithmetic",
                                      "unreadable, and in no rule of the template that could give its value; left null")
            continue
        if cell in ambiguous:
            options = sorted({value, *(_unscale(template, cell, v) for v in ambiguous[cell] if v is not None)})
            shown = ", ".join(f"{v:g}" for v in options[:4]) + (", ..." if len(options) > 4 else "")
            if None in ambiguous[cell]:
                shown += " or no value"
            ex.values[cell] = Reading(None, raw, box, 0.0, p.kind if p.kind not in ("gap", "doubt") else "arithmetic",
                                      f"could be {shown}; left null")
            continue
        if cell in prose:
            ex.values[cell] = Reading(value, raw, box, conf * 0.8, "prose",
                                      "several readings fit the table; the figure stated in the report's text chose")
        elif cell in likeliest:
            ex.values[cell] = Reading(value, raw, box, conf * 0.6, "prior",
                                      f"'{raw}' can be read several ways that fit the table; {value:g} is by far the "
                                      f"likeliest for this column (value prior)")
        elif p.kind == "na":
            ex.values[cell] = Reading(None, raw, box, conf, "read", p.note)
        elif p.kind == "read":
            ex.values[cell] = Reading(p.value, raw, box, conf, "order" if span.how == "order" else "read", p.note)
        elif p.kind == "split":
            ex.values[cell] = Reading(p.value, raw, box, conf * 0.9, "split", p.note)
        elif p.kind == "repaired":
            ex.values[cell] = Reading(p.value, raw, box, min(conf, 0.8), "repaired", p.note)
            ex.repairs.append(_repair(cell, tok, p.value, eqs, f"read '{raw}', but the rules allow only {p.value:g}"))
        elif p.kind == "doubt":
            # "arithmetic", not "repaired": the value is the rules', not a reading of the image (a second look
            # compares readings by what they read).
            ex.values[cell] = Reading(value, raw, box, min(conf, 0.6), "arithmetic",
                                      f"{p.note}; value implied by the template's arithmetic")
            ex.repairs.append(_repair(cell, tok, value, eqs,
                                      f"read '{raw}' unsurely, and the rules allow only {value:g}"))
        elif p.kind == "blank" and value == 0:
            ex.values[cell] = Reading(0, raw, box, conf * 0.9, "blank", "blank cell read as 0")
        else:
            what = "blank cell" if p.kind == "blank" else "unreadable cell" if tok else "cell lost in the text"
            ex.values[cell] = Reading(value, raw, box, 0.9 * mark, "arithmetic",
                                      f"{what}; value implied by the template's arithmetic")
    _name_ties(ex, piece_of, ambiguous, likeliest)


def _write_merged(ex: Extraction, model: _Model, values: dict, ambiguous: dict):
    """A merged row is no row of the output: its printed sums go into a finding; the rows under it get what the sums
    decide (0 each under a sum of 0) or stay null."""
    template = ex.template
    for section, group in _merged_in(template, ex.values):
        sums = {c: ex.values.pop((section, group.key, c)) for c in template.sections[section].columns
                if (section, group.key, c) in ex.values}
        printed = ", ".join(f"{c} {r.value:g}" for c, r in sums.items() if r.value is not None)
        unsure = [c for c, r in sums.items() if r.value is None]
        if unsure:
            printed += ("; " if printed else "") + f"{', '.join(unsure)} not read for sure"
        cells = [(section, r, c) for r in group.rows for c in sums
                 if (section, r, c) in model.within and (section, r, c) not in ex.values]
        known = [c for c in cells if c not in ambiguous]
        for cell in cells:
            if cell in known:
                ex.values[cell] = Reading(_unscale(template, cell, values[cell]), "", None, 0.9, "arithmetic",
                                          f"printed only within '{group.label}' (one row for {len(group.rows)}); "
                                          f"its sum decides this cell")
            else:
                ex.values[cell] = Reading(None, "", None, 0.0, "arithmetic",
                                          f"printed only within '{group.label}' (one row for {len(group.rows)}); "
                                          f"left null")
        ex.issues.append({"rule": "decode.merged_rows", "severity": "info",
                          "message": f"'{group.label}' is printed as one row ({printed}): the sum of "
                                     f"{', '.join(group.rows)}; {len(known)} of their {len(cells)} cells follow "
                                     f"from it, the rest are null",
                          "cells": [flat(c) for c in cells if c not in known]})


def _name_ties(ex: Extraction, piece_of: dict, ambiguous: dict, likeliest: dict):
    """One finding per span of ties: the cells left null with what they could be, and the cells the value prior
    chose with what else they could have been."""
    template = ex.template
    order = {c: i for i, c in enumerate(template.cells())}
    for cells, rule in ((likeliest, "decode.likeliest"), (ambiguous, "decode.ambiguous")):
        by_span: dict[int, list] = {}
        for cell in cells:
            # A merged row's sums and the cells under it have their own finding (_write_merged)
            if cell in piece_of and cell in order:
                by_span.setdefault(id(piece_of[cell][1]), []).append(cell)
        for group in by_span.values():
            group.sort(key=order.__getitem__)
            raw = " ".join(dict.fromkeys(piece_of[c][0].token.text for c in group if piece_of[c][0].token))
            if rule == "decode.ambiguous":
                shown = "; ".join(f"{flat(c)}: {ex.values[c].note.removeprefix('could be ').removesuffix('; left null')}"
                                  for c in group)
                message = f"'{raw}' can be read several ways that fit the arithmetic equally well ({shown}); left null"
            else:
                shown = "; ".join(f"{flat(c)} = {_shown(ex.values[c].value)} (else "
                                  + ", ".join(_shown(None if v is None else _unscale(template, c, v))
                                              for v in sorted(cells[c], key=lambda v: (v is None, v or 0)))[:80]
                                  + ")" for c in group)
                message = (f"'{raw}' can be read several ways that fit the arithmetic equally well; the likeliest "
                           f"values for these columns were kept: {shown}")
            ex.issues.append({"rule": rule, "message": message, "cells": [flat(c) for c in group],
                              "severity": "warning" if rule == "decode.ambiguous" else "info"})


def _shown(value: float | int | None) -> str:
    return "no value" if value is None else f"{value:g}"  # the prior may favour leaving a cell unfilled


def _repair(cell, tok: Token, value, eqs: list[Equation], reason: str) -> dict:
    return {"cell": flat(cell), "printed": _printed(tok), "repaired": value,
            "rules": sorted({eq.rule for eq in eqs if cell in eq.cells}), "reason": reason}


def _printed(tok: Token) -> float | int | None:
    try:
        return parse_number(tok.text)[0]
    except ValueError:
        return None
