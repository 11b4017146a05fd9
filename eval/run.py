"""Run the project (and the baselines) over a set, score them, and write the report.

Each system runs in its own child process by default, so its peak memory and CPU time are its own; one Pipeline
serves the whole set, through the project's real entry point (load_source -> Pipeline.run).
"""
from __future__ import annotations

import json
import multiprocessing
import os
import resource
import sys
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import zip_longest
from pathlib import Path

from eval.cases import Case, load_cases
from eval.score import aggregate, score_doc

PROJECT = "project"
CLASSIFIER = "labels:"  # the project with another label classifier: "labels:fuzzy", "labels:model"
RECORDS = Path(__file__).resolve().parent / "runs" / "records"  # raw outputs, git-ignored


@dataclass
class RunOptions:
    classifier: str = "auto"
    # Another label classifier to run the project with, side by side ("fuzzy" | "model"), or None.
    compare_classifier: str | None = None
    device: str = "cpu"
    isolate: bool = True  # one child process per system
    quiet: bool = False


@dataclass
class SystemRun:
    name: str
    title: str
    kinds: tuple[str, ...] | None  # None: every kind
    records: dict[str, dict] = field(default_factory=dict)  # case id -> record
    resources: dict = field(default_factory=dict)
    skipped: str | None = None


# -- one system, one process ----------------------------------------------------------------------------------------

def record_of(result, wall: float) -> dict:
    """What the scorer keeps of an ExtractionResult."""
    return {
        "template": result.template, "agency": result.agency, "year": result.year,
        "values": result.flat_values(), "valid": result.valid,
        "findings": [{"rule": f.rule, "cells": f.cells, "severity": f.severity} for f in result.findings],
        "provenance": {k: p.model_dump(include={"page", "x", "y", "w", "h", "text", "how"})
                       for k, p in result.provenance.items()},
        "timings": dict(result.timings), "pages": result.source.pages, "method": result.source.method,
        "wall": round(wall, 4), "error": None,
    }


def error_record(message: str, wall: float) -> dict:
    return {"template": None, "agency": None, "year": None, "values": {}, "valid": False, "findings": [],
            "provenance": {}, "timings": {}, "pages": 0, "method": None, "wall": round(wall, 4), "error": message}


def _threads_now() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Threads:"):
                return int(line.split()[1])
    except OSError:
        pass
    import threading

    return threading.active_count()


def _cpu_seconds() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def make_pipeline(system: str, options: RunOptions):
    from service.pipeline import Pipeline, PipelineOptions

    popts = PipelineOptions(classifier=options.classifier, device=options.device)
    if system == PROJECT:
        return Pipeline(popts)
    if system.startswith(CLASSIFIER):
        return Pipeline(PipelineOptions(classifier=system[len(CLASSIFIER):], device=options.device))
    from eval.baselines import BASELINES, BaselinePipeline

    return BaselinePipeline(BASELINES[system], popts)


def run_system(system: str, cases: list[dict], options: RunOptions) -> dict:
    """Run one system over the cases it reads; returns {"records": {case id: record}, "resources": {...}}."""
    from service.document import InputError
    from service.ingest import load_source

    cpu0, start = _cpu_seconds(), time.perf_counter()
    pipeline = make_pipeline(system, options)
    load_s = time.perf_counter() - start
    records, threads = {}, _threads_now()
    for i, case in enumerate(cases, 1):
        t0 = time.perf_counter()
        try:
            result = pipeline.run(load_source(case["path"]))
            records[case["id"]] = record_of(result, time.perf_counter() - t0)
        except InputError as e:
            records[case["id"]] = error_record(str(e), time.perf_counter() - t0)
        except Exception as e:  # a crash is a result too: counted, shown, and the run goes on
            tb = traceback.extract_tb(e.__traceback__)[-1]
            records[case["id"]] = error_record(f"{type(e).__name__}: {e} ({Path(tb.filename).name}:{tb.lineno})",
                                               time.perf_counter() - t0)
        threads = max(threads, _threads_now())
        if not options.quiet:
            r = records[case["id"]]
            status = "error: " + r["error"][:80] if r["error"] else f"{r['wall']:.2f}s"
            print(f"[{system}] {i}/{len(cases)} {case['id']} {status}", file=sys.stderr, flush=True)
    wall = time.perf_counter() - start
    torch_threads = None
    if "torch" in sys.modules:
        torch_threads = sys.modules["torch"].get_num_threads()
    return {"records": records, "resources": {
        "wall_s": round(wall, 3), "load_s": round(load_s, 3), "cpu_s": round(_cpu_seconds() - cpu0, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "threads_max": threads, "torch_threads": torch_threads, "cpu_count": os.cpu_count()}}


def _run_isolated(system: str, cases: list[dict], options: RunOptions) -> dict:
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(run_system, system, cases, options).result()


# -- the benchmark --------------------------------------------------------------------------------------------------

def systems_for(baselines: list[str], compare_classifier: str | None = None) -> list[SystemRun]:
    from eval.baselines import BASELINES

    runs = [SystemRun(PROJECT, "Nianbao (this project)", None)]
    if compare_classifier:
        title = {"fuzzy": "Nianbao, fuzzy label matcher", "model": "Nianbao, token label classifier"}
        runs.append(SystemRun(CLASSIFIER + compare_classifier, title.get(compare_classifier, compare_classifier), None))
    for name in baselines:
        b = BASELINES[name]
        runs.append(SystemRun(name, b.title, b.kinds, skipped=b.missing()))
    return runs


def spread_docs(cases: list[Case], n: int) -> list[str]:
    """n documents, one from each level in turn (the set's order within a level), so a small sample covers them all."""
    level_of: dict[str, str] = {}
    for c in cases:  # a document's first case names its level (its text and HTML cases are "clean")
        level_of.setdefault(c.doc, c.level)
    by_level: dict[str, list[str]] = {}
    for doc, level in level_of.items():
        by_level.setdefault(level, []).append(doc)
    turns = zip_longest(*by_level.values())
    return [doc for turn in turns for doc in turn if doc is not None][:n]


def run_all(cases: list[Case], baselines: list[str], options: RunOptions,
            baseline_limit: int | None = None) -> list[SystemRun]:
    """Every system over the cases of the kinds it reads; baselines over `baseline_limit` documents only, taken in
    turn from each degradation level (they are slow; the side-by-side table compares the project on exactly those
    inputs)."""
    runs = systems_for(baselines, options.compare_classifier)
    first_docs = set(spread_docs(cases, baseline_limit)) if baseline_limit else None
    for run in runs:
        mine = [c.to_dict() for c in cases if (run.kinds is None or c.kind in run.kinds)
                and (run.name == PROJECT or run.name.startswith(CLASSIFIER) or first_docs is None
                     or c.doc in first_docs)]
        if run.skipped:
            continue
        if not mine:
            run.skipped = "no input of the kinds it reads (" + ", ".join(run.kinds or ()) + ")"
            continue
        try:
            out = (_run_isolated if options.isolate else run_system)(run.name, mine, options)
        except Exception as e:  # a baseline that cannot start is skipped with its reason, not a crash
            if run.name == PROJECT:
                raise
            run.skipped = f"failed to run: {type(e).__name__}: {e}"
            continue
        run.records, run.resources = out["records"], out["resources"]
    return runs


def score_run(run: SystemRun, cases: list[Case]) -> list[dict]:
    by_id = {c.id: c.to_dict() for c in cases}
    return [score_doc(by_id[cid], rec) for cid, rec in run.records.items()]


def benchmark(set_dir: str | Path, out_dir: str | Path, baselines: list[str], options: RunOptions,
              limit: int | None = None, kinds: list[str] | None = None, set_name: str | None = None,
              command: str | None = None, baseline_limit: int | None = None,
              records_dir: str | Path | None = None) -> dict:
    """Run, keep the raw outputs, score and write the report; returns the report's data."""
    cases = load_cases(set_dir, kinds=kinds, limit=limit)
    if not cases:
        raise SystemExit(f"no (input, truth) pairs found in {set_dir}")
    started = time.time()
    runs = run_all(cases, baselines, options, baseline_limit)
    from eval.report import git_commit

    info = {"set_dir": str(set_dir), "set_name": set_name, "command": command, "started": started,
            "kinds": kinds, "limit": limit, "out": str(out_dir), "commit": git_commit(),
            "load_avg_1m_at_end": round(os.getloadavg()[0], 2)}
    records_dir = Path(records_dir) if records_dir else RECORDS / (set_name or Path(set_dir).name)
    save_runs(runs, info, records_dir)  # first: a report can be made again from these without running again
    return report_from(cases, runs, info)


def report_from(cases: list[Case], runs: list[SystemRun], info: dict) -> dict:
    from eval.report import build_report, write_report

    scored = {run.name: score_run(run, cases) for run in runs if not run.skipped}
    data = build_report(cases, runs, scored, set_dir=info["set_dir"], set_name=info["set_name"],
                        command=info["command"], started=info["started"], commit=info.get("commit"),
                        load=info.get("load_avg_1m_at_end"))
    write_report(data, Path(info["out"]))
    return data


def save_runs(runs: list[SystemRun], info: dict, folder: Path) -> None:
    """Every system's raw output per case (values, provenance, findings, timings) and how the run was made: for
    digging into a number, and for `python -m eval report` (eval/runs/ is not committed)."""
    folder.mkdir(parents=True, exist_ok=True)
    systems = [{"name": r.name, "title": r.title, "kinds": r.kinds, "skipped": r.skipped, "resources": r.resources}
               for r in runs]
    (folder / "run.json").write_text(json.dumps({**info, "systems": systems}, ensure_ascii=False, indent=1),
                                     encoding="utf-8")
    for run in runs:
        with (folder / f"{run.name}.jsonl").open("w", encoding="utf-8") as f:
            for case, record in run.records.items():
                f.write(json.dumps({"case": case, **record}, ensure_ascii=False) + "\n")


def rereport(records_dir: str | Path, out_dir: str | Path | None = None) -> dict:
    """The report again from saved raw outputs (after a change to the scoring or the report), without running."""
    folder = Path(records_dir)
    info = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    if out_dir:
        info["out"] = str(out_dir)
    runs = []
    for s in info["systems"]:
        run = SystemRun(s["name"], s["title"], tuple(s["kinds"]) if s["kinds"] else None, skipped=s["skipped"],
                        resources=s["resources"])
        path = folder / f"{run.name}.jsonl"
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                rec = json.loads(line)
                run.records[rec.pop("case")] = rec
        runs.append(run)
    cases = load_cases(info["set_dir"], kinds=info.get("kinds"), limit=info.get("limit"))
    return report_from(cases, runs, info)


def summary_line(data: dict) -> str:
    s = data["systems"][PROJECT]["summary"]
    return (f"{data['set']['cases']} cases: field accuracy {s['fields']['accuracy']:.2%}, exact {s['exact']:.0%}, "
            f"valid {s['valid']:.0%}" if s["fields"]["accuracy"] is not None else "no fields scored")


__all__ = ["RunOptions", "SystemRun", "benchmark", "aggregate", "run_all", "run_system", "record_of"]
