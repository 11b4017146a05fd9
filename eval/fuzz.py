"""Mangle the real text reports many ways and extract each: crashes and slow extractions are what it reports.

    python -m eval.fuzz --copies 25 --seed 7 [--slow 3] [--out DIR]

Each copy of a real text (../shared/real, ../shared/seeds) is mangled one way, as published pages do: cells run
together, lines lost or doubled, digits replaced by look-alike letters, spaces lost or the whole report on one line,
stray numbers after a row. A crash, or an extraction slower than `--slow` seconds, is printed with the mangled text
saved under `--out`, to replay with `nianbao extract FILE`.
"""
from __future__ import annotations

import argparse
import random
import re
import sys
import time
import traceback
from pathlib import Path

from eval.sets import REAL, SEEDS

WAYS = ("run_together", "lines_lost", "digits_replaced", "lines_doubled", "spaces_lost", "stray_numbers")


def mangle(text: str, way: str, rng: random.Random) -> str:
    """The text mangled one way (rows with digits, or any line, at random)."""
    out = []
    for line in text.split("\n"):
        digits = bool(re.search(r"\d", line))
        if way == "run_together" and digits and rng.random() < 0.5:
            line = re.sub(r"(?<=\d)[\s|,/\t]+(?=\d)", "", line)
        elif way == "lines_lost" and rng.random() < 0.15:
            continue
        elif way == "digits_replaced" and digits and rng.random() < 0.3:
            line = re.sub(r"\d", lambda m: rng.choice("0123456789Oo|l"), line)
        elif way == "lines_doubled" and rng.random() < 0.1:
            out.append(line)
        elif way == "spaces_lost" and rng.random() < 0.5:
            line = re.sub(r"\s+", "", line)
        elif way == "stray_numbers" and digits and rng.random() < 0.3:
            line += " " + " ".join(str(rng.randrange(10 ** rng.randrange(1, 12))) for _ in range(rng.randrange(1, 20)))
        out.append(line)
    if way == "spaces_lost" and rng.random() < 0.5:
        return "".join(out)
    return "\n".join(out)


def texts() -> list[Path]:
    return sorted([*REAL.glob("*.txt"), *REAL.glob("*.md"), *SEEDS.glob("*.txt")])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.fuzz", description=__doc__.split("\n\n")[0])
    ap.add_argument("--copies", type=int, default=5, help="mangled copies of each text (default 5)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--slow", type=float, default=3.0, help="seconds above which an extraction is reported")
    ap.add_argument("--out", default="eval/runs/fuzz", help="where reported texts are saved")
    args = ap.parse_args(argv)
    from service.document import Source
    from service.pipeline import Pipeline, PipelineOptions

    pipeline, rng = Pipeline(PipelineOptions()), random.Random(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    files = texts()
    if not files:
        print(f"no texts found in {REAL} or {SEEDS}", file=sys.stderr)
        return 2
    seconds, crashes = [], 0
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        for i in range(args.copies):
            way = rng.choice(WAYS)
            mangled = mangle(text, way, rng)
            start, status = time.perf_counter(), "ok"
            try:
                pipeline.run(Source(path.name, mangled.encode("utf-8"), "text"))
            except Exception as e:  # a crash is what this looks for
                crashes += 1
                status = f"CRASH {type(e).__name__}: {e}"
                traceback.print_exc()
            took = time.perf_counter() - start
            seconds.append(took)
            if status != "ok" or took > args.slow:
                saved = out / f"{path.stem}.{i}.{way}.txt"
                saved.write_text(mangled, encoding="utf-8")
                print(f"{took:6.1f}s {way:16s} {saved} {status}", flush=True)
    print(f"{len(seconds)} mangled texts, {crashes} crashes; seconds: max {max(seconds):.1f}, "
          f"mean {sum(seconds) / len(seconds):.2f}")
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
