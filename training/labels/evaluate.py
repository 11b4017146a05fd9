"""Measure a label classifier on the held-out set, beside the fuzzy matcher, and time it per report.

For every held-out text about one label (or about none), the prediction is the best-scoring target among its
template's targets, or "other" when the best score is under the classifier's threshold (chosen on a dev set made
with the training recipe). A prediction is right when it is a target of the text's class: targets that share a
printed label (总计 of two sections) count as one, for both classifiers alike.

python -m training.labels.evaluate [--model models/label_classifier] [--n 3000]
    [--report eval/reports/label_classifier.md] [--seeds /work/shared/seeds]
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.label_classifier.classes import load_classes, target_ref
from models.label_classifier.classifier import TokenLabelClassifier
from models.label_classifier.model import MODEL_DIR
from service.labels import FuzzyLabelMatcher, LabelClassifier, targets_for
from service.template import all_templates, get_template
from training.labels.generate import HELD_OUT, Example, LabelBank, Recipe, examples

HELD_OUT_SEED = 777
DEV_SEED = 31337
THRESHOLDS = [round(x, 2) for x in np.arange(0.05, 0.95, 0.05)]


@dataclass
class Result:
    name: str
    threshold: float
    label_accuracy: float  # texts about a label: the right target
    other_recall: float  # texts about no target: called other
    other_precision: float
    overall: float
    n_label: int
    n_other: int


def _score_matrix(clf: LabelClassifier, data: list[Example]) -> list[tuple[Example, list, np.ndarray]]:
    out = []
    by_template: dict[str, list[Example]] = {}
    for e in data:
        by_template.setdefault(e.template, []).append(e)
    for tid, group in by_template.items():
        targets = targets_for(get_template(tid))
        s = np.array(clf.scores([e.text for e in group], targets))
        out += [(e, targets, row) for e, row in zip(group, s)]
    return out


def _judge(scored, truth_refs, threshold: float, name: str) -> Result:
    label_right = label_n = other_right = other_n = called_other = called_other_right = 0
    for e, targets, row in scored:
        best = int(row.argmax())
        pred = None if row[best] < threshold else target_ref(targets[best])
        refs = truth_refs(e)
        if refs:
            label_n += 1
            label_right += pred in refs
        else:
            other_n += 1
            other_right += pred is None
        if pred is None:
            called_other += 1
            called_other_right += not refs
    return Result(name, threshold, label_right / max(label_n, 1), other_right / max(other_n, 1),
                  called_other_right / max(called_other, 1), (label_right + other_right) / max(label_n + other_n, 1),
                  label_n, other_n)


def evaluate(model_dir: Path = MODEL_DIR, n: int = 3000, log=print) -> dict:
    classes = load_classes(model_dir / "classes.json")
    templates = all_templates()
    bank = LabelBank(templates, classes)

    def truth_refs(e: Example) -> set[str]:
        return set(classes[e.truth - 1].targets) if e.truth > 0 else set()

    held = [e for e in examples(bank, HELD_OUT, HELD_OUT_SEED, n) if e.truth >= 0]
    dev = [e for e in examples(bank, Recipe(), DEV_SEED, 1000) if e.truth >= 0]
    results = {}
    timings = {}
    for clf in (TokenLabelClassifier(model_dir), FuzzyLabelMatcher()):
        dev_scored = _score_matrix(clf, dev)
        threshold = float(max(THRESHOLDS, key=lambda t: _judge(dev_scored, truth_refs, t, clf.name).overall))
        results[clf.name] = _judge(_score_matrix(clf, held), truth_refs, threshold, clf.name)
        timings[clf.name] = time_per_report(clf, held)
        printed = [Example(t.labels[0], [], 0, t.template) for t in targets_for(all_templates()[0])]
        timings[clf.name]["printed_cpu_median_ms"] = time_per_report(clf, printed)["cpu_median_ms"]
        log(f"{clf.name}: {results[clf.name]} ms/report {timings[clf.name]}")
    return {"results": results, "timings": timings, "n_held_out": len(held)}


def time_per_report(clf: LabelClassifier, data: list[Example], texts_per_report: int = 60, reports: int = 15) -> dict:
    """Milliseconds to score one report's ~60 label texts against its template's targets (median of runs)."""
    targets = targets_for(get_template(all_templates()[0].id))
    wall, cpu = [], []
    for r in range(reports):
        texts = [data[(r * texts_per_report + j) % len(data)].text for j in range(texts_per_report)]
        t, c = time.perf_counter(), time.process_time()
        clf.scores(texts, targets)
        wall.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    # CPU time as well as wall time: on a busy machine the wall time mostly measures the other processes.
    return {"median_ms": round(statistics.median(wall), 1), "max_ms": round(max(wall), 1),
            "cpu_median_ms": round(statistics.median(cpu), 1)}


def report_markdown(summary: dict, extra: str = "") -> str:
    rows = ["| classifier | threshold | label accuracy | other recall | other precision | overall "
            "| ms/report wall (median, max) | CPU ms/report (median) | CPU ms, 60 printed labels |",
            "|---|---|---|---|---|---|---|---|---|"]
    for name, r in summary["results"].items():
        t = summary["timings"][name]
        rows.append(f"| {name} | {r.threshold:.2f} | {r.label_accuracy:.3f} | {r.other_recall:.3f} | "
                    f"{r.other_precision:.3f} | {r.overall:.3f} | {t['median_ms']}, {t['max_ms']} | "
                    f"{t['cpu_median_ms']} | "
                    f"{t['printed_cpu_median_ms']} |")
    first = next(iter(summary["results"].values()))
    return "\n".join([
        f"Held-out set: {summary['n_held_out']} texts ({first.n_label} about one label, {first.n_other} about no "
        f"target), seed {HELD_OUT_SEED}, the harsher HELD_OUT corruption mix of training/labels/generate.py. "
        "Threshold: below it the best target is called other; chosen for each classifier on a dev set of the "
        "training mix. Time: scoring one report's 60 texts against the 2021 template's targets, one thread; "
        "wall time on a machine shared with other jobs, so CPU time too. The last column times the 60 printed "
        "labels of the template (short texts, as most real cells are).",
        "", *rows, "", extra]).strip() + "\n"


def seed_cells(folder: Path) -> list[tuple[str, str]]:
    """(template id, text) of the label-like cells of real text dumps: table cells holding a CJK character."""
    out = []
    for path in sorted(folder.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        template = max(all_templates(), key=lambda t: sum(m in text for m in t.markers)).id
        cells = {c.strip() for line in text.splitlines() if "\t" in line for c in line.split("\t")}
        out += [(template, c) for c in sorted(cells) if any("\u4e00" <= ch <= "\u9fff" for ch in c)]
    return out


def compare_on_seeds(folder: Path, summary: dict, model_dir: Path = MODEL_DIR) -> str:
    """Where the two classifiers disagree on real label cells (no truth here: a list for a person to read)."""
    cells = seed_cells(folder)
    picks = {}
    for clf in (TokenLabelClassifier(model_dir), FuzzyLabelMatcher()):
        threshold = summary["results"][clf.name].threshold
        got = []
        for template, text in cells:
            targets = targets_for(get_template(template))
            row = clf.scores([text], targets)[0]
            k = int(np.argmax(row))
            got.append((targets[k].id if row[k] >= threshold else "other", row[k]))
        picks[clf.name] = got
    agree = sum(a[0] == b[0] for a, b in zip(picks["token"], picks["fuzzy"]))
    lines = [f"Real label cells of {folder}: {len(cells)} label-like cells (distinct within each dump); the two "
             f"agree on {agree}. The distinct cells where they differ "
             "(no truth here: for a person to read):", "",
             "| cell | token | fuzzy |", "|---|---|---|"]
    shown = set()
    for (_, text), (a, sa), (b, sb) in zip(cells, picks["token"], picks["fuzzy"]):
        if a != b and text not in shown:
            shown.add(text)
            lines.append(f"| {text[:40]} | {a} ({sa:.2f}) | {b} ({sb:.2f}) |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m training.labels.evaluate", description=__doc__)
    ap.add_argument("--model", type=Path, default=MODEL_DIR)
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--report", type=Path)
    ap.add_argument("--seeds", type=Path, help="a folder of real text dumps (*.txt) to compare the two on")
    args = ap.parse_args(argv)
    summary = evaluate(args.model, args.n)
    text = report_markdown(summary, compare_on_seeds(args.seeds, summary, args.model) if args.seeds else "")
    print(text)
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        info = json.loads((args.model / "training.json").read_text(encoding="utf-8"))
        size, plan = info["plan"]["size"], info["plan"]
        try:
            shown = args.model.resolve().relative_to(Path.cwd().resolve())
        except ValueError:
            shown = args.model
        head = (f"# Label classifier: held-out accuracy and speed\n\nModel: {shown} (character BERT, hidden "
                f"{size['hidden']}, {size['layers']} layers), {plan['steps']} steps of batch {plan['batch']} in "
                f"{info['train_seconds']:.0f} s on one thread. Made by `python -m training.labels.evaluate "
                f"--report {args.report}{' --seeds ' + str(args.seeds) if args.seeds else ''}`.\n\n")
        args.report.write_text(head + text, encoding="utf-8")


if __name__ == "__main__":
    main()
