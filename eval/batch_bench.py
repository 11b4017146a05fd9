"""Benchmark of `nianbao batch`: pages per second with 1 and 2 local workers and with a local Ray cluster.

    .venv/bin/python -m eval.batch_bench [FOLDER...] [--glob '*.scan.pdf'] [--text 24] [--runs local:1,local:2,ray:2]

A FOLDER is any folder of reports (e.g. made by `python -m training.synth --n 20 --kinds scan --out DIR`; its truth
and manifest JSON files are left out); --text N makes a corpus of text reports from the seeds (variations of agency,
year and request counts), the default when no folder is given. Each run starts
from an empty output folder and is timed end to end (worker start-up and model loading included, like a user sees it)
and by the batch's own per-input seconds. Writes eval/reports/batch.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The seed the text variants are made from: the shared seeds, or the copy committed for the tests.
SEED_DIRS = (ROOT.parent / "shared" / "seeds", ROOT / "tests" / "data" / "batch")
SEED = "000_d248623b9f5ab470"
REPORT = ROOT / "eval" / "reports" / "batch.md"

# Rows of the requests table whose applicant counts the variants set (the rest stay 0), as printed in text dumps.
_REQUEST_ROWS = {"new": "一、本年新收", "carried_over": "二、上年结转", "granted": "(一) 予以公开",
                 "outcome_total": "(七) 总计", "carried_forward": "四、结转下年度"}


def vary_report(text: str, agency_from: str, agency_to: str, year_shift: int, carried_over: int, new: int) -> str:
    """A consistent variation of a tab-separated text dump: another agency, every year shifted, and request counts
    that keep every rule (new + carried_over = outcome_total + carried_forward; granted = outcome_total; the
    natural_person column = the row total). Every request is granted except the `new` ones, carried forward."""
    text = text.replace(agency_from, agency_to)
    text = re.sub(r"20\d\d", lambda m: str(int(m.group()) + year_shift), text)
    values = {"new": new, "carried_over": carried_over, "granted": carried_over, "outcome_total": carried_over,
              "carried_forward": new}
    lines = text.split("\n")
    for i, line in enumerate(lines):
        for key, label in _REQUEST_ROWS.items():
            if label in line:
                cells = line.split("\t")
                numeric = [j for j, c in enumerate(cells) if c.strip().isdigit()]
                if len(numeric) >= 7:
                    row = [values[key], 0, 0, 0, 0, 0, values[key]]
                    for j, v in zip(numeric[:7], row):
                        cells[j] = str(v)
                    lines[i] = "\t".join(cells)
    return "\n".join(lines)


def seed_base() -> tuple[str, str, int]:
    """The seed the variants are made from (a clean tab-separated dump), its agency and its year."""
    path = next(d / f"{SEED}.txt" for d in SEED_DIRS if (d / f"{SEED}.txt").exists())
    expected = json.loads(path.with_suffix(".expected.json").read_text(encoding="utf-8"))
    return path.read_text(encoding="utf-8"), expected["agency"], expected["year"]


def make_text_corpus(folder: Path, n: int) -> list[Path]:
    """n text reports: agencies of 3 consecutive years each, carried_over of a year = carried_forward of the last."""
    text, agency, year = seed_base()
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        k, offset = divmod(i, 3)
        name = agency.replace("街道办事处", f"第{k + 1}街道办事处")
        # carried_forward of year y is `new` of year y; the next year's carried_over takes it up.
        body = vary_report(text, agency, name, offset - 2, carried_over=k + offset, new=k + offset + 1)
        path = folder / f"r{k + 1:03d}_{year + offset - 2}.txt"
        path.write_text(body, encoding="utf-8")
        paths.append(path)
    return paths


def list_files(folder: Path, pattern: str, listing: Path) -> int:
    """A file list (one path a line) of the reports in `folder`: truth and manifest JSON files left out."""
    files = sorted(p for p in folder.rglob(pattern) if p.is_file() and p.suffix not in (".json", ".jsonl"))
    listing.write_text("".join(f"{p.resolve()}\n" for p in files), encoding="utf-8")
    return len(files)


def run_batch(inputs: Path, out: Path, workers: int, ray: bool, classifier: str = "auto") -> dict:
    cmd = [sys.executable, "-m", "service.cli", "batch", str(inputs), "--out", str(out), "--workers", str(workers),
           "--classifier", classifier, "--quiet"]
    if ray:
        cmd += ["--ray", "local"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    with sqlite3.connect(out / "manifest.sqlite") as db:
        busy = db.execute("SELECT COALESCE(SUM(seconds), 0) FROM inputs WHERE state = 'done'").fetchone()[0]
        finished = db.execute("SELECT updated, pages FROM inputs WHERE state = 'done' ORDER BY updated").fetchall()
    # Steady rate: pages finished after the first report, over the time since it finished (start-up left out).
    span = finished[-1][0] - finished[0][0] if len(finished) > 1 else 0
    steady = sum(p or 0 for _, p in finished[1:]) / span if span > 0 else None
    return {"mode": "ray" if ray else "local", "workers": workers, "done": summary["done"],
            "failed": summary["failed"], "pages": summary["pages"], "wall_s": round(wall, 2),
            "pages_per_s": round(summary["pages"] / wall, 2),
            "steady_pages_per_s": round(steady, 2) if steady else None, "busy_s": round(busy, 2),
            "errors": [f"{Path(f['source']).name}: {f['error']}" for f in summary["failures"]]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folders", nargs="*", metavar="FOLDER", help="folders of reports (each one its own table)")
    p.add_argument("--glob", default="*", help="which files of each FOLDER to read (e.g. '*.scan.pdf')")
    p.add_argument("--text", type=int, default=None, metavar="N",
                   help="also N text reports made from the seeds (the default, 24, when no folder is given)")
    p.add_argument("--runs", default="local:1,local:2,ray:2", help="mode:workers, comma-separated")
    p.add_argument("--classifier", default="auto", choices=["auto", "fuzzy", "model", "model-torch"])
    p.add_argument("--report", default=str(REPORT))
    p.add_argument("--note", help="a line for the report, e.g. how the folders were made")
    args = p.parse_args(argv)
    if args.text is None and not args.folders:
        args.text = 24
    try:
        import ray  # noqa: F401
        has_ray = True
    except ImportError:
        print("ray is not installed: skipping the Ray runs", file=sys.stderr)
        has_ray = False
    runs = [(mode, int(n)) for mode, n in (spec.split(":") for spec in args.runs.split(","))
            if mode != "ray" or has_ray]
    sections = []
    with tempfile.TemporaryDirectory(prefix="batch_bench_") as tmp:
        corpora = [(Path(f), args.glob, f"files matching {args.glob!r} in {f}") for f in args.folders]
        if args.text:
            make_text_corpus(Path(tmp) / "text", args.text)
            corpora.insert(0, (Path(tmp) / "text", "*", "text reports made from the seeds (make_text_corpus)"))
        for i, (folder, pattern, described) in enumerate(corpora):
            listing = Path(tmp) / f"inputs{i}.lst"
            files = list_files(folder, pattern, listing)
            load_before, rows = os.getloadavg()[0], []
            for mode, workers in runs:
                row = run_batch(listing, Path(tmp) / f"out{i}_{mode}_{workers}", workers, mode == "ray",
                                args.classifier)
                print(json.dumps(row, ensure_ascii=False), file=sys.stderr)
                rows.append(row)
            sections.append((f"{files} {described}", rows, (load_before, os.getloadavg()[0])))
    write_report(Path(args.report), sections, argv if argv is not None else sys.argv[1:], args.classifier, args.note)
    return 0


def _without_note(argv: list[str]) -> list[str]:
    """The command as shown: the note is printed below it, not inside it."""
    out, skip = [], False
    for arg in argv:
        if skip or arg.startswith("--note="):
            skip = False
        elif arg == "--note":
            skip = True
        else:
            out.append(arg)
    return out


def write_report(path: Path, sections: list, argv: list[str], classifier: str, note: str | None = None) -> None:
    lines = ["# Batch throughput", "",
             f"Command: `.venv/bin/python -m eval.batch_bench {shlex.join(_without_note(argv))}`", "",
             *([note, ""] if note else []),
             f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, CPU only; "
             f"label classifier: {classifier}. The load average is the machine's before and after each corpus: other "
             "work on it slows every run alike and takes away what a second worker could add.", "",
             "Wall time is the whole command (start-up, scan, worker start and model loading, tables), so pages/s "
             "is what a user sees; steady pages/s leaves start-up out (pages finished after the first report, over "
             "the time since it finished); busy is the sum of the per-input seconds inside the workers."]
    for described, rows, load in sections:
        lines += ["", f"## {described}", "", f"Load average {load[0]:.1f} before, {load[1]:.1f} after.", "",
                  "| mode | workers | reports | failed | pages | wall s | pages/s | steady pages/s | busy s |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for r in rows:
            lines.append(f"| {r['mode']} | {r['workers']} | {r['done']} | {r['failed']} | {r['pages']} | "
                         f"{r['wall_s']} | {r['pages_per_s']} | {r['steady_pages_per_s']} | {r['busy_s']} |")
        errors = sorted({e for r in rows for e in r["errors"]})
        if errors:
            lines += ["", "Failures: " + "; ".join(errors)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
