"""The `nianbao extract` command as users call it: outputs, names, formats, errors and exit codes."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.textgen import consistent_report, render

ROOT = Path(__file__).resolve().parents[1]
NIANBAO = [sys.executable, "-m", "service.cli"]


def nianbao(*args, cwd=ROOT, fuzzy=True):
    # The fuzzy matcher keeps start-up short; the default classifier is exercised in test_single_file_to_stdout.
    extra = ["--classifier", "fuzzy"] if fuzzy and args and args[0] == "extract" else []
    return subprocess.run([*NIANBAO, *map(str, args), *extra], cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    d = tmp_path_factory.mktemp("in")
    a, b = consistent_report(seed=1), consistent_report("gov-info-disclosure/2019", seed=2)
    (d / "a.scan.txt").write_text(render(a, "tabs"), encoding="utf-8")
    (d / "b.txt").write_text(render(b, "cell_per_line"), encoding="utf-8")
    # Named .pdf but a text: the kind comes from the content.
    (d / "c.pdf").write_text(render(a, "pipes"), encoding="utf-8")
    (d / "empty.txt").write_bytes(b"")
    (d / "binary.txt").write_bytes(b"\x7fELF\x02\x01\x01" + bytes(range(256)) * 20)
    return d, a, b


def test_single_file_to_stdout(reports):
    d, a, _ = reports
    p = nianbao("extract", d / "a.scan.txt", fuzzy=False)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["requests"] == a["requests"] and out["template"] == a["template"]
    assert out["valid"] is True and out["confidence"]["overall"] > 0.9


def test_many_files_to_dir_and_failures_do_not_stop_others(reports, tmp_path):
    d, a, b = reports
    p = nianbao("extract", d / "a.scan.txt", d / "empty.txt", d / "b.txt", d / "binary.txt", d / "c.pdf",
                "-o", tmp_path)
    assert p.returncode == 1
    assert sorted(x.name for x in tmp_path.iterdir()) == ["a.scan.json", "b.json", "c.json"]
    assert json.loads((tmp_path / "b.json").read_text(encoding="utf-8"))["requests"] == b["requests"]
    errors = [line for line in p.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 2 and "empty" in errors[0] and "Traceback" not in p.stderr


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_tabular_formats(reports, tmp_path, fmt):
    d, a, _ = reports
    p = nianbao("extract", d / "a.scan.txt", "--format", fmt, "-o", tmp_path)
    assert p.returncode == 0, p.stderr
    out = tmp_path / f"a.scan.{fmt}"
    if fmt == "csv":
        rows = out.read_text(encoding="utf-8").splitlines()
        assert rows[0].startswith("key,value,confidence")
        assert f"requests.new.total,{a['requests']['new']['total']}," in out.read_text(encoding="utf-8")
    else:
        from openpyxl import load_workbook

        wb = load_workbook(out)
        assert {"report", "requests", "findings"} <= set(wb.sheetnames)
        ws = wb["requests"]
        header = [c.value for c in ws[1]]
        new = next(r for r in ws.iter_rows(values_only=True) if r[0] == "new")
        assert new[header.index("total")] == a["requests"]["new"]["total"]


def test_bad_inputs_one_line_error(tmp_path):
    for name, data in [("zero.pdf", b""), ("corrupt.pdf", b"%PDF-1.7\n1 0 obj<<>>\nendobj\n")]:
        (tmp_path / name).write_bytes(data)
        p = nianbao("extract", tmp_path / name)
        assert p.returncode == 1, name
        assert p.stderr.startswith("error:") and len(p.stderr.strip().splitlines()) == 1, p.stderr
    p = nianbao("extract", tmp_path / "missing.pdf")
    assert p.returncode == 1 and "no such file" in p.stderr
    # Prose without a table is a report too: every cell null, and a finding that says why.
    (tmp_path / "prose.txt").write_text("今天天气很好。我们去公园散步。\n", encoding="utf-8")
    p = nianbao("extract", tmp_path / "prose.txt")
    assert p.returncode == 0 and "document.no_table" in p.stdout


def test_usage_errors():
    assert nianbao("extract").returncode == 2
    p = nianbao("extract", "x.txt", "--format", "xlsx")
    assert p.returncode == 2 and "-o" in p.stderr


HEAVY = ("torch", "transformers", "onnxruntime", "cv2", "rapidocr", "service.pipeline")
IMPORTS = ("import json, sys; from service.cli import main; rc = main(sys.argv[1:]); "
           f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]), file=sys.stderr); sys.exit(rc)")


def imported_after(*args) -> tuple[subprocess.CompletedProcess, list[str]]:
    """Run `nianbao ARGS` in a fresh process; its result and which heavy modules it had imported at the end."""
    p = subprocess.run([sys.executable, "-c", IMPORTS, *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                       timeout=300)
    return p, json.loads(p.stderr.strip().splitlines()[-1])


def test_a_bad_input_is_answered_before_anything_heavy_loads(tmp_path):
    for name, data in [("zero.pdf", b""), ("corrupt.pdf", b"%PDF-1.7\n1 0 obj<<>>\nendobj\n")]:
        (tmp_path / name).write_bytes(data)
        p, heavy = imported_after("extract", tmp_path / name)
        assert p.returncode == 1 and p.stderr.startswith("error:"), p.stderr
        assert heavy == [], heavy


def test_the_default_classifier_runs_without_torch(reports):
    d, a, _ = reports
    p, heavy = imported_after("extract", d / "a.scan.txt")
    assert p.returncode == 0 and json.loads(p.stdout)["requests"] == a["requests"]
    assert "onnxruntime" in heavy and "torch" not in heavy and "transformers" not in heavy, heavy
