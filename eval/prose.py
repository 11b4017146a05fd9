"""python -m eval.prose: how well the prose's figures are read, and how well prose.mismatch finds the contradictions.

On a synthetic set (the factory writes each document's prose figures and its planted contradictions into the truth):
precision and recall of the figures read, and of prose.mismatch. On a folder of real reports with NAME.truth.json
(`fields`: the hand-checked table): every figure read, the pipeline's mismatches, and the prose against the checked
table, so that each reported mismatch can be told a real disagreement or a misread table.

    python -m eval.prose --set synth-digital --real /work/shared/real --out eval/reports/prose.md
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

from eval.score import prose_counts, prose_mismatch_counts

DIGITAL = ("text", "html", "docx", "pdf")


def _rate(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def score_set(folder: Path, kinds: tuple[str, ...] = DIGITAL, limit: int | None = None, pipeline=None) -> dict:
    from eval.cases import load_cases
    from service.ingest import load_source

    pipeline = pipeline or _pipeline()
    figures, mismatches, by_kind = Counter(), Counter(), {}
    misses: list[dict] = []
    cases = load_cases(folder, kinds=list(kinds), limit=limit)
    for case in cases:
        truth = json.loads((Path(case.path).parent / f"{case.doc}.truth.json").read_text(encoding="utf-8"))
        written = truth.get("prose") or {}
        try:
            result = pipeline.run(load_source(case.path))
            got = {k: v.model_dump() for k, v in result.prose.items()}
            findings = [f.model_dump() for f in result.findings]
        except Exception as e:  # a failed document loses every figure its prose states
            got, findings = {}, []
            misses.append({"case": case.id, "error": f"{type(e).__name__}: {e}"})
        f, m = prose_counts(written, got), prose_mismatch_counts(written, findings)
        figures.update(f)
        mismatches.update(m)
        by_kind.setdefault(case.kind, Counter()).update(f)
        if f["fp"] or f["fn"] or m["fp"] or m["fn"]:
            misses.append({"case": case.id, "figures": f, "mismatches": m,
                           "wrong": {k: [written.get(k, {}).get("value"), got.get(k, {}).get("value")]
                                     for k in set(written) | set(got)
                                     if (written.get(k) or {}).get("value") != (got.get(k) or {}).get("value")}})
    return {"cases": len(cases), "figures": _summary(figures), "mismatches": _summary(mismatches),
            "by_kind": {k: _summary(c) for k, c in sorted(by_kind.items())}, "misses": misses}


def _summary(c: Counter) -> dict:
    return {"tp": c["tp"], "fp": c["fp"], "fn": c["fn"], "precision": _rate(c["tp"], c["tp"] + c["fp"]),
            "recall": _rate(c["tp"], c["tp"] + c["fn"])}


def real_reports(folder: Path, pipeline=None) -> list[dict]:
    """Per real report: the figures read, the pipeline's mismatches, and the prose against the hand-checked table."""
    from service.ingest import load_source
    from service.prose import table_value
    from service.template import get_template

    pipeline = pipeline or _pipeline()
    out = []
    for path in sorted(folder.iterdir()):
        truth_path = path.with_name(path.name.rsplit(".", 1)[0] + ".truth.json")
        if path.name.endswith(".json") or not truth_path.exists():
            continue
        truth = json.loads(truth_path.read_text(encoding="utf-8"))
        entry = {"name": path.name, "figures": {}, "mismatches": [], "against_truth": []}
        try:
            result = pipeline.run(load_source(str(path)))
        except Exception as e:
            entry["error"] = f"{type(e).__name__}: {e}"
            out.append(entry)
            continue
        entry["figures"] = {k: v.model_dump() for k, v in result.prose.items()}
        entry["mismatches"] = [f.message for f in result.findings if f.rule == "prose.mismatch"]
        template = get_template(result.template)
        checked = {tuple(k.split(".")): v for k, v in (truth.get("fields") or {}).items()}
        entry["comparable"] = 0
        for key, fig in entry["figures"].items():
            table = table_value(key, template, checked)
            if table is None or fig["approximate"]:
                continue
            entry["comparable"] += 1
            if abs(float(table) - float(fig["value"])) > 1e-6:
                entry["against_truth"].append(f"{key}: prose {fig['value']:g} (“{fig['text']}”), checked table "
                                              f"{table:g}")
        out.append(entry)
    return out


def _pipeline():
    from service.pipeline import Pipeline, PipelineOptions

    return Pipeline(PipelineOptions(classifier="fuzzy"))


def _pct(x) -> str:
    return "n/a" if x is None else f"{x:.1%}"


def markdown(command: str, synth: dict | None, real: list[dict] | None) -> str:
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = ["# The prose's figures", "", f"Made by `{command}` ({when}).", ""]
    if synth:
        f, m = synth["figures"], synth["mismatches"]
        lines += ["## Synthetic documents", "",
                  f"{synth['cases']} inputs. A figure is right when its key, value and approximate flag are right; a "
                  "mismatch is right when it names a contradiction the factory planted.", "",
                  "| | tp | fp | fn | precision | recall |", "|---|---|---|---|---|---|",
                  f"| figures read | {f['tp']} | {f['fp']} | {f['fn']} | {_pct(f['precision'])} | "
                  f"{_pct(f['recall'])} |",
                  f"| prose.mismatch | {m['tp']} | {m['fp']} | {m['fn']} | {_pct(m['precision'])} | "
                  f"{_pct(m['recall'])} |"]
        for kind, s in synth["by_kind"].items():
            lines.append(f"| figures, {kind} | {s['tp']} | {s['fp']} | {s['fn']} | {_pct(s['precision'])} | "
                         f"{_pct(s['recall'])} |")
        if synth["misses"]:
            lines += ["", "Inputs with a wrong figure or mismatch (truth, read):", ""]
            lines += [f"- {json.dumps(x, ensure_ascii=False)}" for x in synth["misses"][:30]]
        lines.append("")
    if real is not None:
        lines += ["## Real reports", "",
                  "Figures read from the prose; `prose.mismatch` as the pipeline reports it (against the table it "
                  "read); and the prose against the hand-checked table of the truth file.", ""]
        figures = sum(len(e["figures"]) for e in real)
        comparable = sum(e.get("comparable", 0) for e in real)
        differ = sum(len(e["against_truth"]) for e in real)
        reported = sum(len(e["mismatches"]) for e in real)
        lines += [f"{len(real)} reports, {figures} figures read; {comparable} of them have a hand-checked table cell "
                  f"(or group of cells) to compare with, and {differ} differ from it; the pipeline reported {reported} "
                  "prose.mismatch findings against the tables it read.", ""]
        for e in real:
            lines.append(f"### {e['name']}")
            if e.get("error"):
                lines += [f"- error: {e['error']}", ""]
                continue
            figs = ", ".join(f"{k.split('.', 1)[1]} {v['value']:g}" + (" (approx.)" if v["approximate"] else "")
                             for k, v in e["figures"].items()) or "none"
            lines.append(f"- figures: {figs}")
            lines += [f"- mismatch reported: {m}" for m in e["mismatches"]] or ["- mismatch reported: none"]
            lines += [f"- prose vs checked table: {m}" for m in e["against_truth"]]
            lines.append("")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval.prose", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--set", default=None, help="a synthetic set name (eval.sets) or factory folder")
    p.add_argument("--kinds", default=",".join(DIGITAL))
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--real", default=None, help="a folder of real reports with NAME.truth.json")
    p.add_argument("--out", default="eval/reports/prose.md")
    args = p.parse_args(argv)
    command = "python -m eval.prose " + " ".join(sys.argv[1:] if argv is None else argv)
    pipeline = _pipeline()
    synth = None
    if args.set:
        from eval.sets import materialize

        synth = score_set(materialize(args.set, quiet=True), tuple(args.kinds.split(",")), args.limit, pipeline)
        print(json.dumps({k: synth[k] for k in ("cases", "figures", "mismatches")}, ensure_ascii=False))
    real = real_reports(Path(args.real), pipeline) if args.real else None
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(markdown(command, synth, real), encoding="utf-8")
    print(f"report: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
