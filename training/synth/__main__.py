"""python -m training.synth --n N --seed S --out DIR [--kinds ...] [--templates ...] [--levels ...] [--text-styles ...]
[--workers W]
python -m training.synth scan FILE.pdf --truth FILE.truth.json --levels ... --out DIR [--copies N] [--seed S]"""
from __future__ import annotations

import argparse
import json
import os
import sys

from training.synth.factory import KINDS, Job, run
from training.synth.render_text import REAL_TEXT_STYLES
from training.synth.scan import EXTRA_LEVELS, LEVELS
from training.synth.style import TEXT_STYLES


def _list(value: str, allowed: tuple[str, ...], what: str) -> tuple[str, ...]:
    items = tuple(v.strip() for v in value.split(",") if v.strip())
    bad = [v for v in items if v not in allowed]
    if bad or not items:
        raise argparse.ArgumentTypeError(f"expected some of {','.join(allowed)}, got {value!r}")
    return items


def scan_main(argv: list[str]) -> int:
    from training.synth.real_scan import scan_file

    p = argparse.ArgumentParser(prog="python -m training.synth scan",
                                description="Degrade a real digital PDF at the factory's scan levels, with the truth "
                                            "taken from a hand-checked truth file (flat `fields`).")
    p.add_argument("pdf", help="a digital PDF (with a text layer)")
    p.add_argument("--truth", required=True, help="its truth file: {template, agency, year, fields: {flat key: value}}")
    p.add_argument("--levels", default=",".join(LEVELS + EXTRA_LEVELS),
                   type=lambda v: _list(v, LEVELS + EXTRA_LEVELS, "--levels"),
                   help="comma list of levels (default: every level, fax included)")
    p.add_argument("--out", required=True, help="output folder: one sub-folder per level")
    p.add_argument("--copies", type=int, default=1,
                   help="scans per level; several go through the level's profiles in turn (default 1: one drawn)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dpi", type=int, default=None, help="fix the scan DPI (default: drawn per level)")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    if args.copies < 1:
        p.error("--copies must be >= 1")
    entries = scan_file(args.pdf, args.truth, args.levels, args.out, seed=args.seed, copies=args.copies, dpi=args.dpi)
    if not args.quiet:
        for e in entries:
            print(f"{e['path']} level={e['level']} profile={e['profile']} dpi={e['dpi']} pages={e['pages']} "
                  f"cells={e['cells']}", file=sys.stderr)
    print(json.dumps({"scans": len(entries), "pages": sum(e["pages"] for e in entries)}))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "scan":
        return scan_main(argv[1:])
    p = argparse.ArgumentParser(prog="python -m training.synth",
                                description="Synthetic government information-disclosure annual reports with truth: "
                                            "digital PDF, HTML, DOCX, text dumps and degraded scans.")
    p.add_argument("--n", type=int, required=True, help="number of documents")
    p.add_argument("--seed", type=int, default=0, help="seed; the same seed gives the same files")
    p.add_argument("--out", required=True, help="output folder (manifest.jsonl and doc-NNNNNN.* files)")
    p.add_argument("--kinds", default=",".join(KINDS), type=lambda v: _list(v, KINDS, "--kinds"),
                   help=f"comma list of {','.join(KINDS)} (default: all)")
    p.add_argument("--templates", default="2021,2019", type=lambda v: _list(v, ("2021", "2019"), "--templates"),
                   help="templates to draw from (default: 2021,2019)")
    p.add_argument("--levels", default=",".join(LEVELS), type=lambda v: _list(v, LEVELS + EXTRA_LEVELS, "--levels"),
                   help="scan degradation levels to draw from (default: light,moderate,heavy; also: fax)")
    p.add_argument("--dpi", type=int, default=None, help="fix the scan DPI (default: drawn per level, 120-300; fax 100-200)")
    styles = TEXT_STYLES + REAL_TEXT_STYLES
    p.add_argument("--text-styles", default=(), type=lambda v: _list(v, styles, "--text-styles"),
                   help=f"text dumps in these serializations, taken in turn by document index (default: the drawn "
                        f"one); any of {','.join(styles)}")
    p.add_argument("--start", type=int, default=0, help="index of the first document (ids continue from it)")
    p.add_argument("--p-break", type=float, default=0.05, help="share of reports with one rule broken on purpose")
    p.add_argument("--cycle", action="store_true",
                   help="cycle levels and templates by document index instead of drawing them (for small samples)")
    p.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1), help="parallel processes")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    if args.n < 0:
        p.error("--n must be >= 0")
    jobs = [Job(index=i, seed=args.seed, out=args.out, kinds=args.kinds, templates=args.templates,
                levels=args.levels, dpi=args.dpi, p_break=args.p_break, cycle=args.cycle,
                text_style=args.text_styles[i % len(args.text_styles)] if args.text_styles else "")
            for i in range(args.start, args.start + args.n)]

    def progress(entry: dict) -> None:
        if not args.quiet:
            print(f"{entry['id']} {entry['template']} {entry['year']} pages={entry['pages']} "
                  f"level={entry['level']} {entry['_seconds']:.2f}s", file=sys.stderr)

    stats = run(jobs, workers=args.workers, progress=progress)
    print(json.dumps(stats, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
