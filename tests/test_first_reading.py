"""The decoder's first solution: rows whose labels are unreadable laid along the template in their printed order."""
from __future__ import annotations

import service.decode as decoder
from service.assemble import Assembler
from service.document import Source
from service.first_reading import first_reading
from service.labels import FuzzyLabelMatcher
from service.template import get_template
from service.textdump import read_text
from service.validate import equations
from tests.test_decode import T2021, balanced
from tests.textgen import consistent_report

UNREADABLE = ["denied_state_secret", "denied_prohibited_by_law", "denied_security_stability",
              "denied_third_party_rights", "denied_internal_affairs", "denied_process_information",
              "denied_enforcement_case_file", "denied_administrative_inquiry"]


def _model(report: dict, blotted: list[str]):
    template = get_template(T2021)
    section = template.sections["requests"]
    lines = [f"{report['agency']}{report['year']}年政府信息公开工作年度报告", section.title]
    for r in section.rows:
        label = "□□□□□□" if r.key in blotted else r.label
        lines.append("\t".join([label, *(str(v) for v in report["requests"][r.key].values())]))
    text = "\n".join(lines) + "\n"
    ex = Assembler(FuzzyLabelMatcher()).run(read_text(Source("scan.txt", text.encode("utf-8"), "text")), template)
    spans = decoder._spans(ex)
    decoder._merged_places(template, spans)
    eqs = equations(template)
    return template, spans, decoder._Model(template, spans, eqs), eqs


def test_rows_with_unreadable_labels_start_on_the_rows_of_their_printed_order():
    """Eight rows in a run, every label unreadable: each row's own plainest reading could sit on any of them, and
    on their own they would all take the same one. The first solution lays them one per row, in order, and their
    row totals hold."""
    report = balanced(consistent_report(seed=21))
    template, spans, model, eqs = _model(report, UNREADABLE)
    ordered = [k for k, s in enumerate(spans) if s.group is not None]
    assert len(ordered) == len(UNREADABLE) and all(len(spans[k].candidates()) > 1 for k in ordered)
    cheapest = [min(range(len(model.options[k])), key=lambda j: model.options[k][j].cost) for k in ordered]
    assert len({model.options[k][j].place.slots[0][0] for k, j in zip(ordered, cheapest)}) < len(UNREADABLE)
    hint = first_reading(template, spans, model.options, eqs, set(), decoder.RULE, decoder.UNFILLED)
    rows = [model.options[k][hint[k]].place.slots[0][0] for k in ordered]
    assert rows == UNREADABLE
    values = [[p.value for p in model.options[k][hint[k]].pieces] for k in ordered]
    assert values == [list(report["requests"][r].values()) for r in UNREADABLE]


def test_two_runs_of_unreadable_rows_around_a_row_read_by_its_label_keep_their_rows():
    """Two runs of order-placed rows around one row read by its label: each run stays between its neighbours."""
    report = balanced(consistent_report(seed=22))
    blotted = UNREADABLE[:3] + UNREADABLE[4:]
    template, spans, model, eqs = _model(report, blotted)
    hint = first_reading(template, spans, model.options, eqs, set(), decoder.RULE, decoder.UNFILLED)
    placed = [model.options[k][hint[k]].place for k, s in enumerate(spans) if s.group is not None]
    assert [p.slots[0][0] for p in placed] == blotted


def test_the_quick_search_s_solution_stands_where_the_full_search_finds_none(monkeypatch):
    """The full search (with the LP) can end its time with no solution where the quick search found one: the
    quick one is kept, not nothing."""
    report = balanced(consistent_report(seed=23))
    template, spans, model, eqs = _model(report, UNREADABLE)
    run = decoder._run

    def lp_finds_nothing(m, seconds, quick):
        # The quick search's solution, not proven; the full search's time out with nothing.
        solver, status = run(m, seconds, True)
        return solver, decoder.cp_model.FEASIBLE if quick else decoder.cp_model.UNKNOWN

    monkeypatch.setattr(decoder, "_run", lp_finds_nothing)
    solver = decoder._solve(model.model, 1.0)
    assert solver is not None
    assert [o.place.slots[0][0] for o, s in zip(model.chosen(solver), spans) if s.group is not None] == UNREADABLE
