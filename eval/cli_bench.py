"""The CLI as a user meets it: whole `nianbao extract` processes, timed, and their outputs compared across versions.

python -m eval.cli_bench time [--seeds DIR] [--repeat 3] [--report eval/reports/cli.md]
    every seed text with the default classifier (and the first with --classifier fuzzy and model-torch, for
    comparison), a 0-byte file and a corrupt PDF, each a fresh process: wall time, CPU time, the process's own peak RSS, against the targets
python -m eval.cli_bench outputs DIR OUT [--classifier auto]
    every input of DIR (seed texts, or a synthetic set's text/HTML/DOCX/PDF files) extracted to OUT/<file>.json,
    timings left out; run it on two versions of the code, then
python -m eval.cli_bench diff A B
    lists the outputs that differ (exit 1 if any)
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

SEEDS = Path(os.environ.get("NIANBAO_SEEDS", "/work/shared/seeds"))
TARGET_WALL_S, TARGET_RSS_MB, TARGET_BAD_S = 1.0, 150.0, 0.5
INPUT_SUFFIXES = (".txt", ".html", ".htm", ".docx", ".pdf")


def nianbao() -> list[str]:
    """The installed `nianbao` script beside this Python, else the module (same code)."""
    script = Path(sys.executable).parent / "nianbao"
    return [str(script)] if script.exists() else [sys.executable, "-m", "service.cli"]


@dataclass
class Run:
    wall_s: float
    cpu_s: float
    rss_mb: float
    code: int


def run_once(args: list[str]) -> Run:
    """One process; its own peak RSS and CPU time from wait4 (not the largest of all children so far)."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen([*nianbao(), *args], stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, proc.returncode)


@dataclass
class Case:
    name: str
    args: list[str]
    target: str  # "extract" or "bad input"
    runs: list[Run]

    def median(self, field: str) -> float:
        return statistics.median(getattr(r, field) for r in self.runs)

    @property
    def met(self) -> bool:
        if self.target == "extract":
            return (self.median("wall_s") <= TARGET_WALL_S and max(r.rss_mb for r in self.runs) <= TARGET_RSS_MB
                    and all(r.code == 0 for r in self.runs))
        return self.median("wall_s") <= TARGET_BAD_S and all(r.code == 1 for r in self.runs)


def time_cases(seeds: Path, repeat: int, work: Path) -> list[Case]:
    empty, corrupt = work / "empty.pdf", work / "corrupt.pdf"
    empty.write_bytes(b"")
    corrupt.write_bytes(b"%PDF-1.7\n1 0 obj<<>>\nendobj\n")
    cases = []
    texts = sorted(seeds.glob("*.txt"))
    for text in texts:
        cases.append(Case(text.name, ["extract", str(text)], "extract", []))
    for text in texts[:1]:  # the other classifiers, for comparison
        for other in ("fuzzy", "model-torch"):
            cases.append(Case(text.name, ["extract", str(text), "--classifier", other], "compare", []))
    cases += [Case("0-byte file", ["extract", str(empty)], "bad input", []),
              Case("corrupt PDF", ["extract", str(corrupt)], "bad input", [])]
    run_once(["extract", str(empty)])  # warm the file cache once, as a user's second call would be
    for _ in range(repeat):  # rounds, so that a burst of load on a shared machine spreads over all cases
        for case in cases:
            case.runs.append(run_once(case.args))
    return cases


def report(cases: list[Case], argv: list[str], load: tuple[float, float], diffs: list[str] = (),
           note: str | None = None) -> str:
    rows = ["| input | command | runs | wall s, median (min-max) | CPU s, median | peak RSS MB, max | target | met |",
            "|---|---|---|---|---|---|---|---|"]
    for c in cases:
        walls = [r.wall_s for r in c.runs]
        target = {"extract": f"<= {TARGET_WALL_S:g} s, <= {TARGET_RSS_MB:g} MB",
                  "bad input": f"<= {TARGET_BAD_S:g} s, exit 1", "compare": "-"}[c.target]
        command = "nianbao " + " ".join(a if not a.startswith("/") else Path(a).name for a in c.args)
        met = "-" if c.target == "compare" else ("yes" if c.met else "**no**")
        rows.append(f"| {c.name} | `{command}` | {len(c.runs)} | {c.median('wall_s'):.2f} ({min(walls):.2f}-"
                    f"{max(walls):.2f}) | {c.median('cpu_s'):.2f} | {max(r.rss_mb for r in c.runs):.0f} | {target} "
                    f"| {met} |")
    judged = [c for c in cases if c.target != "compare"]
    return "\n".join([
        "# The CLI: time and memory of whole processes",
        "",
        f"Made by `python -m eval.cli_bench {shlex.join(argv)}` on {os.cpu_count()} CPUs, load average "
        f"{load[0]:.1f} before and {load[1]:.1f} after, niceness {os.nice(0)} (on a shared machine wall time includes "
        "waiting for a CPU, CPU time does not; a negative niceness puts the runs ahead of the other jobs, nearer a "
        "quiet machine). Each run is a fresh process (`nianbao extract FILE`, output discarded); peak RSS "
        "is the process's own (wait4). Targets: a seed text extracted in at most 1 s wall and 150 MB; a bad input "
        "answered in at most 0.5 s. The fuzzy and model-torch rows are for comparison.",
        "",
        *rows,
        "",
        f"Targets met: {sum(c.met for c in judged)} of {len(judged)}.",
        *(["", "Outputs of two versions of the code (`python -m eval.cli_bench outputs` on each, then `diff`):", "",
            *diffs] if diffs else []),
        *(["", note] if note else []),
    ]) + "\n"


# --- outputs before and after a change ------------------------------------------------------------------------

def inputs_of(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in INPUT_SUFFIXES and ".scan." not in p.name)


def write_outputs(folder: Path, out: Path, classifier: str) -> int:
    from service.document import InputError
    from service.ingest import load_source
    from service.pipeline import Pipeline, PipelineOptions

    pipeline = Pipeline(PipelineOptions(classifier=classifier))
    out.mkdir(parents=True, exist_ok=True)
    files = inputs_of(folder)
    for path in files:
        try:
            result = json.loads(pipeline.run(load_source(path)).to_json())
            result.pop("timings", None)
        except InputError as e:
            result = {"error": str(e)}
        name = str(path.relative_to(folder)).replace(os.sep, "__")
        (out / f"{name}.json").write_text(json.dumps(result, ensure_ascii=False, indent=1, sort_keys=True),
                                          encoding="utf-8")
    print(f"{len(files)} outputs in {out}")
    return 0


def diff(a: Path, b: Path) -> tuple[list[str], int]:
    """The names that differ, and how many there are in all."""
    names = sorted({p.name for p in a.glob("*.json")} | {p.name for p in b.glob("*.json")})
    differ = [n for n in names if not (a / n).exists() or not (b / n).exists()
              or json.loads((a / n).read_text(encoding="utf-8")) != json.loads((b / n).read_text(encoding="utf-8"))]
    return differ, len(names)


def diff_line(a: Path, b: Path) -> str:
    differ, n = diff(a, b)
    return (f"- {a} vs {b}: {n - len(differ)} of {n} outputs the same"
            + (f"; differ: {', '.join(differ)}" if differ else ""))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(prog="python -m eval.cli_bench", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    t = sub.add_parser("time")
    t.add_argument("--seeds", type=Path, default=SEEDS)
    t.add_argument("--repeat", type=int, default=3)
    t.add_argument("--report", type=Path)
    t.add_argument("--diff", nargs=2, type=Path, action="append", default=[], metavar=("BEFORE", "AFTER"),
                   help="also report how many outputs of two `outputs` folders are the same (repeatable)")
    t.add_argument("--note", help="a paragraph for the end of the report")
    o = sub.add_parser("outputs")
    o.add_argument("folder", type=Path)
    o.add_argument("out", type=Path)
    o.add_argument("--classifier", default="auto")
    d = sub.add_parser("diff")
    d.add_argument("a", type=Path)
    d.add_argument("b", type=Path)
    args = ap.parse_args(argv)
    if args.command == "outputs":
        return write_outputs(args.folder, args.out, args.classifier)
    if args.command == "diff":
        print(diff_line(args.a, args.b))
        return 1 if diff(args.a, args.b)[0] else 0
    before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as work:
        cases = time_cases(args.seeds, args.repeat, Path(work))
    text = report(cases, argv, (before, os.getloadavg()[0]), [diff_line(a, b) for a, b in args.diff], args.note)
    print(text)
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(text, encoding="utf-8")
    return 0 if all(c.met for c in cases if c.target != "compare") else 1


if __name__ == "__main__":
    sys.exit(main())
