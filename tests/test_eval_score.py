"""The benchmark's scoring on hand-made truth/result pairs."""
import copy
import json
from pathlib import Path

import pytest

from eval.score import (aggregate, box_scale, error_kind, field_hits, findings_counts, flatten, same_value, score_doc,
                        truth_violations)

SEED = Path(__file__).parent / "data" / "eval" / "seeds" / "001_197a97b6ab0bdcc3.expected.json"


@pytest.fixture()
def truth() -> dict:
    return json.loads(SEED.read_text(encoding="utf-8"))


def record(report: dict, **extra) -> dict:
    return {"template": report["template"], "agency": report["agency"], "year": report["year"],
            "values": flatten(report), "valid": True, "findings": [], "provenance": {}, "error": None, **extra}


def case(truth: dict, **extra) -> dict:
    return {"id": "c1", "kind": "text", "level": "clean", "truth": truth, "broken_rules": None, "cells": None,
            **extra}


def test_exact_result_scores_every_field_right(truth):
    doc = score_doc(case(truth), record(truth))
    assert len(doc["hits"]) == len(flatten(truth)) == 200
    assert all(doc["hits"].values()) and doc["exact"] and doc["exact_with_meta"]
    agg = aggregate([doc])
    assert agg["fields"] == {"fields": 200, "right": 200, "accuracy": 1.0}
    assert agg["worst_fields"] == [] and agg["findings"]["precision"] is None


def test_one_wrong_value(truth):
    got = copy.deepcopy(truth)
    got["requests"]["granted"]["natural_person"] += 1
    doc = score_doc(case(truth), record(got))
    wrong = [k for k, ok in doc["hits"].items() if not ok]
    assert wrong == ["requests.granted.natural_person"]
    assert not doc["exact"]
    agg = aggregate([doc, score_doc(case(truth), record(truth))])
    assert agg["fields"]["right"] == 399 and agg["exact"] == 0.5
    assert agg["worst_fields"] == [{"field": "requests.granted.natural_person", "wrong": 1, "of": 2}]
    assert agg["by_section"]["requests"]["right"] == 349


def test_null_and_zero_are_different_values(truth):
    assert not same_value(0, None) and not same_value(None, 0)
    assert same_value(None, None) and same_value(1.5, 1.5000000001) and same_value(3, 3.0)
    got = copy.deepcopy(truth)
    key = next(c for c, v in got["review_and_litigation"]["reconsideration"].items() if v == 0)
    got["review_and_litigation"]["reconsideration"][key] = None
    hits = field_hits(truth, flatten(got))
    assert hits[f"review_and_litigation.reconsideration.{key}"] is False
    assert sum(not ok for ok in hits.values()) == 1


def test_missing_keys_and_failed_runs_count_wrong(truth):
    doc = score_doc(case(truth), {"values": {}, "findings": [], "error": "no table found"})
    assert not any(doc["hits"].values()) and doc["error"] == "no table found"
    assert doc["meta"] == {"template": False, "agency": False, "year": False}
    assert aggregate([doc])["failed"] == 1


def test_meta_is_scored_apart(truth):
    got = copy.deepcopy(truth)
    got["year"] += 1
    got["agency"] = " " + truth["agency"]  # spacing does not matter
    doc = score_doc(case(truth), record(got))
    assert doc["exact"] and not doc["exact_with_meta"]
    assert doc["meta"] == {"template": True, "agency": True, "year": False}


def test_findings_precision_and_recall(truth):
    broken = copy.deepcopy(truth)
    broken["requests"]["granted"]["total"] += 1  # breaks the row total and the outcome total of that column
    true = truth_violations(broken)
    assert {rule for rule, _ in true} == {"requests.applicant_total", "requests.outcome_total"}
    found = [{"rule": rule, "cells": list(cells), "severity": "error"} for rule, cells in sorted(true)][:1]
    false_alarm = {"rule": "review.total", "cells": ["review_and_litigation.reconsideration.total"]}
    unrelated = {"rule": "document.incomplete", "cells": ["requests.new"]}  # not a rule of the template
    counts = findings_counts(broken, found + [false_alarm, unrelated])
    assert counts == {"tp": 1, "fp": 1, "fn": len(true) - 1}
    assert findings_counts(truth, [false_alarm]) == {"tp": 0, "fp": 1, "fn": 0}
    planted = [{"rule": "requests.applicant_total", "cell": "requests.granted.total"}]
    doc = score_doc(case(broken, broken_rules=planted), record(broken, findings=found + [false_alarm]))
    agg = aggregate([doc])["findings"]
    assert agg["precision"] == 0.5 and agg["recall"] == round(1 / len(true), 4)
    assert agg["planted"] == 1 and agg["planted_found"] == int(found[0]["rule"] == "requests.applicant_total")


def test_structure_and_ocr_errors_from_boxes():
    truth_boxes = {"a": (1, (100.0, 100.0, 50.0, 20.0)), "b": (1, (150.0, 100.0, 50.0, 20.0)),
                   "c": (1, (200.0, 100.0, 50.0, 20.0))}
    # Provenance measured at half the scale (e.g. 75 DPI vs 150 DPI): the right cells read right give the factor.
    prov = {"a": {"page": 1, "x": 50, "y": 50, "w": 25, "h": 10, "how": "read"},
            "b": {"page": 1, "x": 75, "y": 50, "w": 25, "h": 10, "how": "read"},  # right box, wrong text
            "c": {"page": 1, "x": 75, "y": 50, "w": 25, "h": 10, "how": "read"},  # b's box read for c
            "d": {"page": None, "how": "arithmetic"}}
    scale = box_scale(truth_boxes, prov, ["a"])
    assert scale == pytest.approx(2.0)
    assert error_kind("b", truth_boxes, prov, scale) == "ocr"
    assert error_kind("c", truth_boxes, prov, scale) == "wrong_cell"
    assert error_kind("d", truth_boxes, prov, scale) == "derived"
    assert error_kind("e", truth_boxes, prov, scale) == "missing"  # never found
    assert error_kind("b", truth_boxes, {"b": {**prov["b"], "page": 2}}, scale) == "wrong_cell"


def test_error_kinds_in_a_scored_document(truth):
    got = copy.deepcopy(truth)
    got["requests"]["new"]["natural_person"] += 7
    keys = ["requests.new.natural_person", "requests.new.total"]
    cells = [{"page": 1, "box": [10.0 * i, 10.0, 10.0, 10.0], "text": "", "key": k} for i, k in enumerate(keys)]
    prov = {k: {"page": 1, "x": 10.0 * i, "y": 10.0, "w": 10.0, "h": 10.0, "how": "read"} for i, k in enumerate(keys)}
    doc = score_doc(case(truth, kind="scan", level="light", cells=cells), record(got, provenance=prov))
    assert doc["error_kinds"] == {"requests.new.natural_person": "ocr"}
    agg = aggregate([doc])
    assert agg["error_kinds"] == {"ocr": 1} and agg["by_level"]["light"]["right"] == 199
    failed = score_doc(case(truth, kind="scan", cells=cells), {"values": {}, "findings": [], "error": "no table"})
    assert set(failed["error_kinds"].values()) == {"failed"} and len(failed["error_kinds"]) == 200


def test_a_truth_of_fields_scores_those_keys_only_and_a_missing_key_is_wrong(tmp_path):
    from eval.cases import load_cases

    (tmp_path / "r.txt").write_text("x", encoding="utf-8")
    fields = {"requests.new.total": 5, "requests.new.natural_person": 0}
    (tmp_path / "r.truth.json").write_text(json.dumps({"template": "2021", "fields": fields}), encoding="utf-8")
    [case] = load_cases(tmp_path)
    assert case.truth["template"] == "gov-info-disclosure/2021"
    scored = score_doc(case.to_dict(), {"values": {"requests.new.total": 5}, "findings": []})
    assert scored["hits"] == {"requests.new.total": True, "requests.new.natural_person": False}
