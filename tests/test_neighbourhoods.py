"""The decoder's neighbourhood search: windows of spans re-solved around an unproven solution."""
from __future__ import annotations

import service.decode as decoder
from service.neighbourhoods import STRIDE, WINDOW, improve, windows
from tests.test_decode import balanced
from tests.test_first_reading import UNREADABLE, _model
from tests.textgen import consistent_report


def test_windows_cover_every_span_of_a_section_and_never_cross_sections():
    sections = ["a"] * 14 + [None] + ["b"] * 4
    ws = windows(sections)
    assert all(len(w) <= WINDOW for w in ws)
    assert {k for w in ws for k in w} == set(range(14)) | set(range(15, 19))  # the fixed span never set free
    assert all(len({sections[k] for k in w}) == 1 for w in ws)
    assert ws[0] == list(range(WINDOW)) and ws[1][0] == STRIDE and ws[-2][-1] == 13


def test_a_poor_unproven_solution_is_improved_window_by_window():
    """Rows with unreadable labels all left out (a solution the solver could hold when its time ran out): the
    windows place them again, on their rows, in order, and the cost falls."""
    report = balanced(consistent_report(seed=24))
    template, spans, model, eqs = _model(report, UNREADABLE)
    ordered = [k for k, s in enumerate(spans) if s.group is not None]
    poor = model.model.clone()
    for k in ordered:  # each order-placed span held to a reading that leaves it out
        out = next(j for j, o in enumerate(model.options[k]) if o.place is None)
        poor.add(poor.get_bool_var_from_proto_index(model.choice[k][out].index) == 1)
    start = decoder._solve(poor, 2.0)
    assert all(o.place is None for o in (model.chosen(start)[k] for k in ordered))
    sections = [s.section if len(opts) > 1 else None for s, opts in zip(spans, model.options)]
    better = improve(model.model, model.choice, sections, model.cost, start, 2.0, decoder._window_run)
    assert better is not start and better.objective_value < start.objective_value
    assert [model.chosen(better)[k].place.slots[0][0] for k in ordered] == UNREADABLE


def test_a_solution_no_window_can_better_is_kept():
    report = balanced(consistent_report(seed=25))
    template, spans, model, eqs = _model(report, UNREADABLE)
    best = decoder._solve(model.model, 2.0)
    assert decoder._proven(best)
    sections = [s.section if len(opts) > 1 else None for s, opts in zip(spans, model.options)]
    kept = improve(model.model, model.choice, sections, model.cost, best, 2.0, decoder._window_run)
    assert kept is best
