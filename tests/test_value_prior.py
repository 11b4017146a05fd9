"""The value prior: digit counts per cell, smoothed toward the column and toward every column together."""
from __future__ import annotations

import json

from models.value_prior import PRIOR_FILE, ValuePrior, digits
from training.value_prior import main as fit_main


def test_digits_counts_the_integer_part_and_zero_is_its_own():
    assert [digits(v) for v in (0, 7, 10, 999, 1234.5, 0.25)] == [0, 1, 2, 3, 4, 1]


def test_a_cell_seen_as_zero_prefers_zero_and_an_unseen_cell_falls_back_to_its_column():
    rows = [("s", "a", {"change": 0, "count": n}) for n in (120, 340, 56, 7, 0, 0, 0, 0)] \
        + [("s", "b", {"change": 0, "count": 15}), ("s", "b", {"change": 3, "count": 230})]
    prior = ValuePrior.fit(rows)
    assert prior.cost("s", "a", "change", 0, True) < prior.cost("s", "a", "change", 5, True)
    assert prior.cost("s", "a", "count", 340) < prior.cost("s", "a", "count", 34000)
    # A row the truths never showed takes its column's distribution.
    assert prior.cost("s", "z", "change", 0, True) < prior.cost("s", "z", "change", 8, True)
    # Smoothing: a count never seen is unlikely, not impossible.
    assert prior.cost("s", "a", "change", 123456) < 50
    again = ValuePrior.from_json(json.loads(json.dumps(prior.to_json())))
    assert again.cost("s", "b", "count", 99) == prior.cost("s", "b", "count", 99)


def test_a_row_with_numbers_in_it_makes_a_zero_less_likely():
    """Counts of documents in force are 0 where the row is all 0, rarely where this year's count is not."""
    rows = [("s", "docs", {"issued": 0, "in_force": 0})] * 12 \
        + [("s", "docs", {"issued": n, "in_force": m}) for n, m in ((3, 40), (12, 130), (5, 66), (1, 9), (7, 210))]
    prior = ValuePrior.fit(rows)
    assert prior.cost("s", "docs", "in_force", 0, with_others=False) < prior.cost("s", "docs", "in_force", 0, True)
    # A three-digit count against 0: far likelier beside this year's count than in an empty row.
    def odds(with_others):
        return prior.cost("s", "docs", "in_force", 0, with_others) - prior.cost("s", "docs", "in_force", 120, with_others)
    assert odds(True) > odds(False) + 3


def test_the_training_command_fits_a_folder_of_truths(tmp_path):
    folder = tmp_path / "set"
    folder.mkdir()
    for i, n in enumerate([12, 0, 345]):
        (folder / f"r{i}.txt").write_text("x", encoding="utf-8")
        (folder / f"r{i}.truth.json").write_text(json.dumps({"fields": {
            "requests.new.natural_person": n, "requests.new.commercial_enterprise": 0}}), encoding="utf-8")
    out = tmp_path / "prior.json"
    fit_main([str(folder), "--out", str(out)])
    prior = ValuePrior.load(out)
    assert prior.cost("requests", "new", "commercial_enterprise", 0) < prior.cost("requests", "new",
                                                                                "commercial_enterprise", 40)
    assert "alone:requests.new.natural_person" in prior.columns and "any:requests.natural_person" in prior.columns


def test_the_shipped_prior_loads():
    prior = ValuePrior.load(PRIOR_FILE)
    assert prior is not None and prior.columns
