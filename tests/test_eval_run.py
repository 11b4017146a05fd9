"""The benchmark end to end: seeds in, report out; the factory's layout; baselines skipped or run; the CLI."""
import json
from pathlib import Path

import numpy as np
import pytest

from eval.__main__ import main
from eval.baselines import BASELINES, Baseline
from eval.baselines.pages import clean_text, group_rows
from eval.cases import load_cases
from eval.run import RunOptions, benchmark, rereport

SEEDS = Path(__file__).parent / "data" / "eval" / "seeds"
FAST = RunOptions(classifier="fuzzy", isolate=False, quiet=True)


def test_seeds_end_to_end(tmp_path):
    out = tmp_path / "report"
    data = benchmark(SEEDS, out, baselines=[], options=FAST, set_name="seeds", command="python -m eval run --set x",
                     records_dir=tmp_path / "records")
    project = data["systems"]["project"]
    assert data["set"]["cases"] == 2 and data["set"]["kinds"] == {"text": 2}
    assert project["summary"]["fields"]["fields"] == 400
    assert project["summary"]["fields"]["accuracy"] >= 0.9
    assert project["speed"]["pages"] == 2 and project["speed"]["pages_per_s"] > 0
    assert {"read", "decode", "validate"} <= set(project["speed"]["stages"])
    assert project["resources"]["peak_rss_mb"] > 0 and project["resources"]["threads_max"] >= 1
    md = (out / "report.md").read_text(encoding="utf-8")
    assert md.startswith("# Benchmark: seeds") and "python -m eval run --set x" in md
    assert "## Speed" in md and "field accuracy" in md
    assert json.loads((out / "report.json").read_text(encoding="utf-8"))["set"]["cases"] == 2
    for png in ("accuracy_by_level.png", "time_per_stage.png"):
        assert (out / png).read_bytes()[:4] == b"\x89PNG"
    # The same report again from the saved raw outputs, without running.
    again = rereport(tmp_path / "records", tmp_path / "again")
    assert again["systems"]["project"]["summary"] == project["summary"]
    assert (tmp_path / "again" / "report.md").exists()


def test_a_baseline_that_cannot_run_is_skipped_with_its_reason(tmp_path, monkeypatch):
    fake = Baseline("nothing", "needs a package that is not here", ("text",), "eval.baselines.no_such_module")
    monkeypatch.setitem(BASELINES, "nothing", fake)
    data = benchmark(SEEDS, tmp_path, baselines=["nothing"], options=FAST, set_name="seeds",
                     records_dir=tmp_path / "records")
    assert "cannot import" in data["systems"]["nothing"]["skipped"]
    assert "## Skipped" in (tmp_path / "report.md").read_text(encoding="utf-8")


def test_factory_folder_with_pdfplumber_baseline(tmp_path):
    factory = pytest.importorskip("training.synth.factory")
    factory.run([factory.Job(index=0, seed=11, out=str(tmp_path / "set"), kinds=("text", "pdf"), p_break=0.0)])
    cases = load_cases(tmp_path / "set")
    assert sorted(c.kind for c in cases) == ["pdf", "text"] and all(c.level == "clean" for c in cases)
    data = benchmark(tmp_path / "set", tmp_path / "out", baselines=["pdfplumber"], options=FAST, set_name="one",
                     records_dir=tmp_path / "records")
    comparison = data["comparison"]["pdfplumber"]
    assert comparison["cases"] == 1
    # Both read the digital PDF's text layer and share the assembler: the baseline gets most fields too.
    assert comparison["baseline"]["fields"]["accuracy"] > 0.5
    assert data["systems"]["pdfplumber"]["speed"]["by_kind"]["pdf"]["reports"] == 1


def test_pair_folder_with_truth_json(tmp_path):
    report = json.loads((SEEDS / "000_d248623b9f5ab470.expected.json").read_text(encoding="utf-8"))
    (tmp_path / "a.txt").write_bytes((SEEDS / "000_d248623b9f5ab470.txt").read_bytes())
    (tmp_path / "a.truth.json").write_text(json.dumps({"report": report, "broken_rules": []}), encoding="utf-8")
    (tmp_path / "lonely.txt").write_text("no truth beside me", encoding="utf-8")
    cases = load_cases(tmp_path)
    assert [(c.id, c.kind, c.broken_rules) for c in cases] == [("a", "text", [])]


def test_row_grouping_and_cjk_cleanup():
    boxes = [(300, 102, 40, 20, "0", 0.9), (10, 100, 200, 24, "予以 公开", 0.9),
             (10, 140, 200, 22, "部分公开", 0.9), (300, 141, 40, 20, "3", 0.9)]
    rows = group_rows(boxes)
    assert [[b[4] for b in row] for row in rows] == [["予以 公开", "0"], ["部分公开", "3"]]
    assert clean_text(" 予以 公开\n情况 ") == "予以公开情况" and clean_text("12 34") == "12 34"


def test_sauvola_stand_in_matches_a_plain_threshold():
    from eval.baselines.tesseract import _sauvola
    cv2 = pytest.importorskip("cv2")
    img = np.full((40, 40), 230, np.uint8)
    img[10:30, 18:22] = 20  # a dark stroke on paper
    out = _sauvola(img, 255, cv2.THRESH_BINARY_INV, 15, 0.2)
    assert out.dtype == np.uint8 and out[20, 20] == 255 and out[2, 2] == 0


def test_cli_help_explains_sets_baselines_and_examples(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    for word in ("synth-standard", "tesseract", "rapidocr-page", "pdfplumber", "examples:", "--limit"):
        assert word in text


def test_baseline_sample_takes_documents_from_every_level_in_turn():
    from eval.cases import Case
    from eval.run import spread_docs

    cases = [Case(id=f"d{i}:scan", doc=f"d{i}", kind="scan", path="", truth={}, level=level)
             for i, level in enumerate(["heavy"] * 3 + ["light"] * 3 + ["moderate"] * 3)]
    assert spread_docs(cases, 4) == ["d0", "d3", "d6", "d1"]
    assert sorted(spread_docs(cases, 20)) == sorted(f"d{i}" for i in range(9))


def test_speed_by_level_says_where_the_second_look_ran_and_what_it_cost():
    from eval.report import _level_speed

    docs = [{"level": "heavy", "pages": 4, "wall": 8.0, "error": None, "second_look_s": 2.0,
             "second_look_read_s": 0.6, "second_look_decode_s": 1.2},
            {"level": "heavy", "pages": 2, "wall": 4.0, "error": None, "second_look_s": None},
            {"level": "light", "pages": 3, "wall": 3.0, "error": None, "second_look_s": None}]
    rows = {r[0]: r for r in _level_speed(docs)}
    assert rows["heavy"][1:] == [2, 6, "2.000", "1 reports, 4 pages", "0.333", "0.100", "0.200", "16.7%"]
    assert rows["light"][4:] == ["0 reports, 0 pages", "0.000", "0.000", "0.000", "0.0%"]


def test_fuzz_mangles_each_way_and_reports_what_crashed(tmp_path, monkeypatch, capsys):
    # The fuzzer's mangled texts differ from the original in the way named, and a crash is counted, printed and
    # saved (the pipeline made to crash on every text).
    import random

    import eval.fuzz as fuzz

    text = "三、收到和处理政府信息公开申请情况\n（一）予以公开 | 12 | 3 | 0 | 15\n（二）部分公开 | 4 | 0 | 0 | 4"
    for way in fuzz.WAYS:
        changed = [fuzz.mangle(text, way, random.Random(s)) != text for s in range(20)]
        assert any(changed), way
    assert any("1230" in fuzz.mangle(text, "run_together", random.Random(s)) for s in range(10))

    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "a.txt").write_text(text, encoding="utf-8")
    monkeypatch.setattr(fuzz, "REAL", tmp_path / "real")
    monkeypatch.setattr(fuzz, "SEEDS", tmp_path / "none")
    code = fuzz.main(["--copies", "6", "--seed", "3", "--out", str(tmp_path / "ok")])
    assert code == 0 and "6 mangled texts, 0 crashes" in capsys.readouterr().out

    from service.pipeline import Pipeline

    def run(self, source, *a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr(Pipeline, "run", run)
    code = fuzz.main(["--copies", "3", "--seed", "3", "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 1 and out.count("CRASH RuntimeError: boom") == 3 and "3 mangled texts, 3 crashes" in out
    assert len(list((tmp_path / "out").glob("a.*.txt"))) == 3
