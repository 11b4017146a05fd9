"""python -m eval: score the project (and baselines) on a folder of (input, truth) pairs and write a report."""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

EPILOG = """\
sets (--set NAME, or any folder):
{sets}

a folder is read as
  - the synthetic factory's output: manifest.jsonl, doc-N.truth.json, doc-N.<kind files>, doc-N.scan.cells.json
  - pairs <name>.<ext> + <name>.expected.json (the canonical report) or <name>.truth.json ({{"report": ...}})
  - a folder of such folders

baselines (--baseline NAME, repeatable; default: all; --baseline none for the project alone):
{baselines}
  Each baseline's output is mapped to canonical keys by the project's own assembler, so the difference shown is
  the extraction. A baseline whose packages are missing is skipped with a note in the report.

the report (under --out, default eval/reports/<set name>):
  report.md    the command, field accuracy (overall, by kind, by degradation level, by section), documents exactly
               right, validation pass rate, findings precision/recall, worst fields, structure vs OCR errors,
               speed per stage, memory, threads, failures
  report.json  every number above, and per-document results
  (raw outputs per system and case: eval/runs/records/<set name>/, not committed)
  accuracy_by_level.png, time_per_stage.png

examples:
  python -m eval run --set seeds --baseline none
  python -m eval run --set real --baseline none --compare-classifier fuzzy   # token vs fuzzy label evidence
  python -m eval run --set synth-standard --baseline-limit 15
  python -m eval run --set synth-scans --baseline tesseract --baseline rapidocr-page
  python -m eval run --set /data/my-reports --limit 10 --out eval/runs/mine
  python -m eval report eval/runs/records/synth-standard   # the report again from the saved outputs
  python -m eval make synth-scans          # only generate the set into eval/runs/sets/
  python -m eval sets                      # list the standard sets and the commands that make them
"""


def _epilog() -> str:
    from eval.baselines import BASELINES
    from eval.sets import describe

    baselines = "\n".join(f"  {b.name:15} {b.title} (reads: {', '.join(b.kinds)})" for b in BASELINES.values())
    return EPILOG.format(sets=describe(), baselines=baselines)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m eval", description=__doc__, epilog=_epilog(),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run, score and write the report", epilog=_epilog(),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("--set", required=True, help="a standard set name (see below) or a folder")
    r.add_argument("--baseline", action="append", default=None, metavar="NAME",
                   help="a baseline to run beside the project (repeatable); 'all' (default) or 'none'")
    r.add_argument("--limit", type=int, default=None, help="only the first N documents of the set")
    r.add_argument("--baseline-limit", type=int, default=None, metavar="N",
                   help="run the baselines on N documents only, taken in turn from each degradation level (they "
                        "are slow); the side-by-side table compares the project on the same inputs")
    r.add_argument("--kinds", default=None, help="only these input kinds, comma list (text,html,docx,pdf,scan)")
    r.add_argument("--out", default=None, help="report folder (default eval/reports/<set name>)")
    r.add_argument("--classifier", default="auto", choices=("auto", "fuzzy", "model", "model-torch"), help="label classifier")
    r.add_argument("--compare-classifier", default=None, choices=("fuzzy", "model"),
                   help="also run the project with this label classifier, side by side (same inputs)")
    r.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    r.add_argument("--in-process", action="store_true",
                   help="run every system in this process (faster start; memory numbers then add up)")
    r.add_argument("--quiet", action="store_true", help="no progress lines")
    r.add_argument("--records", default=None, metavar="DIR",
                   help="where the raw outputs go (default eval/runs/records/<set name>)")
    rr = sub.add_parser("report", help="write the report again from a run's saved raw outputs (no running)")
    rr.add_argument("records", help="a records folder, e.g. eval/runs/records/synth-standard")
    rr.add_argument("--out", default=None, help="report folder (default: the run's own)")
    m = sub.add_parser("make", help="generate a standard synthetic set into its cache folder")
    m.add_argument("name")
    sub.add_parser("sets", help="list the standard sets")
    return p


def _baselines(values: list[str] | None) -> list[str]:
    from eval.baselines import BASELINES

    if not values or values == ["all"]:
        return list(BASELINES)
    if values == ["none"]:
        return []
    unknown = [v for v in values if v not in BASELINES]
    if unknown:
        raise SystemExit(f"unknown baseline(s) {', '.join(unknown)}; known: {', '.join(BASELINES)}")
    return list(dict.fromkeys(values))


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from eval.sets import SETS, describe, materialize

    if args.cmd == "sets":
        print(describe())
        return 0
    if args.cmd == "make":
        print(materialize(args.name))
        return 0
    from eval.run import RunOptions, benchmark, rereport, summary_line

    if args.cmd == "report":
        data = rereport(args.records, args.out)
        print(summary_line(data))
        return 0

    baselines = _baselines(args.baseline)
    folder = materialize(args.set, quiet=args.quiet)
    name = args.set if args.set in SETS else Path(args.set).name
    out = Path(args.out) if args.out else Path("eval/reports") / name
    command = "python -m eval " + shlex.join(sys.argv[1:] if argv is None else argv)
    options = RunOptions(classifier=args.classifier, compare_classifier=args.compare_classifier,
                         device=args.device, isolate=not args.in_process, quiet=args.quiet)
    kinds = [k.strip() for k in args.kinds.split(",")] if args.kinds else None
    data = benchmark(folder, out, baselines, options, limit=args.limit, kinds=kinds, set_name=name, command=command,
                     baseline_limit=args.baseline_limit, records_dir=args.records)
    print(summary_line(data))
    print(f"report: {out / 'report.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
