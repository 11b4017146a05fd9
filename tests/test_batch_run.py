"""`nianbao batch` end to end on a small corpus of text reports in a folder, a zip and a tar: outputs, resuming after
SIGKILL, duplicates, failures and --retry-failed, the CUDA fallback, and the Ray backend when Ray is installed."""
from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pytest

from eval.batch_bench import make_text_corpus, seed_base, vary_report
from service.cli import main as cli_main

ROOT = Path(__file__).resolve().parent.parent
CORRUPT_PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n" + b"\x00garbage" * 50


def _nianbao() -> list[str]:
    script = Path(sys.executable).parent / "nianbao"
    return [str(script)] if script.exists() else [sys.executable, "-m", "service.cli"]


def _build_inputs(tmp_path: Path) -> tuple[list[Path], int]:
    """A folder, a zip and a tar of text reports, a duplicate, equal names in two folders and a corrupt PDF.

    Returns the inputs to give the batch and the number of distinct readable reports among them."""
    reports = make_text_corpus(tmp_path / "made", 9)   # 3 agencies x 3 years, carried over consistently
    folder = tmp_path / "folder"
    (folder / "2023").mkdir(parents=True)
    (folder / "2024").mkdir()
    for p in reports[:3]:
        shutil.copy(p, folder / p.name)
    # Equal names, different contents and folders; the 2024 one breaks the carried-over chain of agency 1.
    text, agency, _ = seed_base()
    shutil.copy(reports[3], folder / "2023" / "report.txt")
    (folder / "2024" / "report.txt").write_text(
        vary_report(text, agency, agency.replace("街道办事处", "第1街道办事处"), 1, carried_over=7, new=0),
        encoding="utf-8")
    (folder / "bad.pdf").write_bytes(CORRUPT_PDF)
    with zipfile.ZipFile(tmp_path / "more.zip", "w", zipfile.ZIP_DEFLATED) as z:
        for p in reports[4:7]:
            z.write(p, f"zipped/{p.name}")
        z.write(reports[0], "copy_of_first.txt")   # same content as folder/r001_2021.txt: processed once
    with tarfile.open(tmp_path / "more.tar.gz", "w:gz") as t:
        for p in reports[7:9]:
            t.add(p, p.name)
    return [folder, tmp_path / "more.zip", tmp_path / "more.tar.gz"], 10


def _manifest(out: Path) -> dict[str, dict]:
    with sqlite3.connect(out / "manifest.sqlite") as db:
        db.row_factory = sqlite3.Row
        return {r["source"]: dict(r) for r in db.execute("SELECT * FROM inputs")}


def _csv_sources(out: Path) -> list[str]:
    with open(out / "reports.csv", encoding="utf-8-sig") as f:
        return [row["source"] for row in csv.DictReader(f)]


def _assert_each_report_once(out: Path, distinct: int) -> None:
    manifest = _manifest(out)
    done = {s: e for s, e in manifest.items() if e["state"] == "done"}
    assert len(done) == distinct
    assert sorted(p.name for p in (out / "json").iterdir()) == sorted(f"{e['json_name']}.json" for e in done.values())
    assert sorted(_csv_sources(out)) == sorted(done)
    assert [e["state"] for e in manifest.values()].count("failed") == 1


def test_batch_writes_every_report_once_and_resumes_without_redoing_anything(tmp_path, capsys):
    inputs, distinct = _build_inputs(tmp_path)
    out = tmp_path / "out"
    args = ["batch", *map(str, inputs), "--out", str(out), "--workers", "2", "--classifier", "fuzzy"]
    assert cli_main(args) == 1   # one input failed
    _assert_each_report_once(out, distinct)
    manifest = _manifest(out)
    bad = manifest[str(inputs[0] / "bad.pdf")]
    assert bad["state"] == "failed" and "damaged" in bad["error"] and bad["attempts"] == 1
    assert {e["json_name"] for s, e in manifest.items() if s.endswith("report.txt")} == {"report", "2024_report"}

    # The JSON is what `nianbao extract` writes for that input (timings aside).
    first = json.loads((out / "json" / "r001_2021.json").read_text(encoding="utf-8"))
    assert cli_main(["extract", str(inputs[0] / "r001_2021.txt"), "-o", str(tmp_path / "x"),
                     "--classifier", "fuzzy"]) == 0
    extracted = json.loads((tmp_path / "x" / "r001_2021.json").read_text(encoding="utf-8"))
    assert {**first, "timings": None} == {**extracted, "timings": None}

    with open(out / "findings.csv", encoding="utf-8-sig") as f:
        cross = [r for r in csv.DictReader(f) if r["scope"] == "corpus"]
    assert sorted(r["rule"] for r in cross) == ["corpus.carried_over", "corpus.duplicate"]
    assert [r["source"] for r in cross if r["rule"] == "corpus.duplicate"] == [f"{inputs[1]}!/copy_of_first.txt"]
    mismatch = next(r for r in cross if r["rule"] == "corpus.carried_over")
    assert mismatch["source"] == str(inputs[0] / "2024" / "report.txt") and mismatch["printed"] == "7"
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["by_year"] == {"2021": 3, "2022": 3, "2023": 3, "2024": 1} and summary["by_kind"] == {"text": 10}

    # A rerun finds everything done: nothing is processed again, the failure is kept.
    stamps = {s: (e["attempts"], e["updated"]) for s, e in manifest.items()}
    capsys.readouterr()
    assert cli_main(args) == 1
    assert {s: (e["attempts"], e["updated"]) for s, e in _manifest(out).items()} == stamps
    err = capsys.readouterr().err
    assert "0 processed" in err and "--retry-failed" in err
    _assert_each_report_once(out, distinct)

    # --retry-failed tries the failure again (the same bytes fail the same way), and only that.
    assert cli_main([*args, "--retry-failed"]) == 1
    after = _manifest(out)
    assert after[str(inputs[0] / "bad.pdf")]["attempts"] == 2
    assert all(after[s]["attempts"] == 1 for s, e in after.items() if e["state"] == "done")


def _start_and_wait(cmd: list[str], out: Path, done: int) -> subprocess.Popen:
    """Start the batch in its own process group and return once `done` reports are recorded (or it ended)."""
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if (out / "manifest.sqlite").exists():
            try:
                if sum(e["state"] == "done" for e in _manifest(out).values()) >= done:
                    break
            except sqlite3.OperationalError:   # the schema is being created
                pass
        time.sleep(0.05)
    return proc


def test_sigkill_in_the_middle_then_rerun_leaves_each_report_exactly_once(tmp_path):
    folder = tmp_path / "corpus"
    make_text_corpus(folder, 36)
    (folder / "zz_bad.pdf").write_bytes(CORRUPT_PDF)
    out = tmp_path / "out"
    cmd = [*_nianbao(), "batch", str(folder), "--out", str(out), "--workers", "1", "--classifier", "fuzzy"]
    proc = _start_and_wait(cmd, out, 3)
    os.killpg(proc.pid, signal.SIGKILL)   # the batch and its worker processes, mid-flight
    proc.communicate()
    before = _manifest(out)
    done_before = {s: e for s, e in before.items() if e["state"] == "done"}
    assert 3 <= len(done_before) < 36, "the kill should land in the middle of the batch"

    rerun = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 1, rerun.stderr   # the corrupt PDF
    _assert_each_report_once(out, 36)
    after = _manifest(out)
    for source, entry in done_before.items():   # what was done before the kill was not done again
        assert (after[source]["attempts"], after[source]["updated"]) == (entry["attempts"], entry["updated"])
    assert not list(out.glob("**/.*.tmp*"))


def _group_gone(pgid: int, wait: float = 10) -> bool:
    """Whether every process of the group has ended (multiprocessing's resource tracker takes a moment)."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def test_ctrl_c_stops_the_workers_and_leaves_complete_tables_of_what_is_done(tmp_path):
    folder = tmp_path / "corpus"
    make_text_corpus(folder, 36)
    out = tmp_path / "out"
    cmd = [*_nianbao(), "batch", str(folder), "--out", str(out), "--workers", "1", "--classifier", "fuzzy"]
    proc = _start_and_wait(cmd, out, 2)
    os.killpg(proc.pid, signal.SIGINT)   # what a terminal sends to the whole group on Ctrl-C
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted" in err
    assert _group_gone(proc.pid), "a worker process was left behind"
    done = sorted(s for s, e in _manifest(out).items() if e["state"] == "done")
    assert 2 <= len(done) < 36 and sorted(_csv_sources(out)) == done


def test_cuda_without_a_gpu_falls_back_to_cpu_with_a_warning(tmp_path, capsys):
    make_text_corpus(tmp_path / "c", 1)
    out = tmp_path / "out"
    from service.batch.workers import cuda_available

    if cuda_available():
        pytest.skip("this machine has a GPU")
    assert cli_main(["batch", str(tmp_path / "c"), "--out", str(out), "--workers", "1", "--device", "cuda",
                     "--classifier", "fuzzy"]) == 0
    assert "running on CPU" in capsys.readouterr().err
    assert len(list((out / "json").glob("*.json"))) == 1


def test_a_second_batch_on_the_same_folder_is_refused(tmp_path, capsys):
    fcntl = pytest.importorskip("fcntl")
    out = tmp_path / "out"
    out.mkdir()
    with open(out / ".batch.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)   # as a running batch holds it
        assert cli_main(["batch", str(tmp_path), "--out", str(out)]) == 2
    assert "already running" in capsys.readouterr().err
    assert not (out / "manifest.sqlite").exists()


def test_ray_data_backend_writes_the_same_outputs(tmp_path):
    pytest.importorskip("ray")
    inputs, distinct = _build_inputs(tmp_path)
    out = tmp_path / "ray_out"
    from service.batch.workers import cuda_available

    # --device cuda on a cluster without GPUs: CPU actors and a warning (GPU actors would wait for ever).
    cmd = [*_nianbao(), "batch", *map(str, inputs), "--out", str(out), "--ray", "local", "--workers", "2",
           "--classifier", "fuzzy", "--device", "cuda"]
    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 1, run.stderr   # the corrupt PDF, recorded as failed
    assert "on Ray (local)" in run.stderr
    assert cuda_available() or "the Ray cluster has no GPU; running on CPU" in run.stderr
    _assert_each_report_once(out, distinct)
    reports = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in (out / "json").iterdir()}
    assert reports["r001_2022.json"]["requests"]["carried_over"]["total"] == 1
    assert all(r["valid"] for name, r in reports.items() if name.startswith("r0"))
