"""Repair by the arithmetic: misread digits fixed only where the evidence is unique; the printed reading kept."""
import copy

from service.assemble import Extraction, Reading
from service.repair import repair
from service.template import SECTIONS, get_template
from service.validate import check, equations
from tests.textgen import consistent_report

T = get_template("gov-info-disclosure/2021")
EQS = equations(T)


def extraction(report: dict, misread: dict[tuple, str]) -> Extraction:
    ex = Extraction(template=T)
    for s in SECTIONS:
        for r, cols in report[s].items():
            for c, v in cols.items():
                raw = misread.get((s, r, c), str(v))
                ex.values[(s, r, c)] = Reading(float(raw) if "." in raw else int(raw), raw, None, 0.95)
    return ex


def values(ex):
    return {k: r.value for k, r in ex.values.items()}


def test_single_misread_digit_is_repaired_and_printed_kept():
    report = consistent_report(seed=4)
    report["requests"]["granted"]["natural_person"] = 8
    report = _rebalance(report)
    ex = extraction(report, {("requests", "granted", "natural_person"): "3"})  # 8 read as 3
    assert check(values(ex), EQS)
    repairs = repair(ex, EQS)
    assert [(r.cell, r.printed, r.repaired) for r in repairs] == [("requests.granted.natural_person", 3, 8)]
    fixed = ex.values[("requests", "granted", "natural_person")]
    assert (fixed.value, fixed.raw, fixed.how) == (8, "3", "repaired")
    assert not check(values(ex), EQS)


def test_misread_total_cell_is_repaired():
    report = consistent_report(seed=6)
    true = report["requests"]["new"]["total"]
    ex = extraction(report, {("requests", "new", "total"): str(true + 10)})
    repairs = repair(ex, EQS)
    assert [(r.cell, r.repaired) for r in repairs] == [("requests.new.total", true)]


def test_two_misreads_in_different_rows_and_columns():
    report = consistent_report(seed=8)
    a = ("requests", "granted", "commercial_enterprise")
    b = ("requests", "carried_forward", "natural_person")
    ex = extraction(report, {a: str(report["requests"]["granted"]["commercial_enterprise"] + 7),
                             b: str(report["requests"]["carried_forward"]["natural_person"] + 1)})
    repairs = repair(ex, EQS)
    assert {r.cell for r in repairs} == {"requests.granted.commercial_enterprise",
                                         "requests.carried_forward.natural_person"}
    assert not check(values(ex), EQS)


def test_ambiguous_error_is_left_as_read_with_a_finding():
    report = consistent_report(seed=9)
    # A review group's total: each of its five cells could be the wrong one, and no reading is closer than another.
    group = report["review_and_litigation"]["reconsideration"]
    ex = extraction(report, {("review_and_litigation", "reconsideration", "total"): str(group["total"] + 55)})
    assert repair(ex, EQS) == []
    assert ex.values[("review_and_litigation", "reconsideration", "total")].how == "read"
    assert any(f.rule == "review.total" for f in check(values(ex), EQS))


def test_blank_and_arithmetic_cells_are_not_repair_candidates():
    report = consistent_report(seed=10)
    ex = extraction(report, {})
    cell = ("requests", "granted", "natural_person")
    ex.values[cell] = Reading(report["requests"]["granted"]["natural_person"] + 2, "", None, 0.9, "blank")
    assert repair(ex, EQS) == [] or all(r.cell != "requests.granted.natural_person" for r in repair(ex, EQS))


def _rebalance(report):
    """Recompute the totals after changing an outcome cell, so that the truth obeys every rule again."""
    rep = copy.deepcopy(report)
    req = rep["requests"]
    rule = next(r for r in T.rules if r.id == "requests.outcome_total")
    cols = [c for c in req["new"] if c != "total"]
    for c in cols:
        req["outcome_total"][c] = sum(req[r][c] for r in rule.left)
        req["new"][c] = req["outcome_total"][c] + req["carried_forward"][c] - req["carried_over"][c]
    for r in req:
        req[r]["total"] = sum(req[r][c] for c in cols)
    return rep


def test_a_sure_reading_is_a_publisher_slip_unless_the_digits_are_confusable():
    report = consistent_report(seed=4)
    report["requests"]["granted"]["natural_person"] = 8
    report = _rebalance(report)
    cell = ("requests", "granted", "natural_person")
    ex = extraction(report, {cell: "2"})
    ex.values[cell].confidence = 0.995  # read cleanly: 2 is what was printed
    assert repair(ex, EQS) == []
    ex = extraction(report, {cell: "3"})
    ex.values[cell].confidence = 0.995  # 3 for 8: a confusion PP-OCR makes
    assert [(r.cell, r.repaired) for r in repair(ex, EQS)] == [("requests.granted.natural_person", 8)]
