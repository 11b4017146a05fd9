"""The benchmark's report: one JSON with every number, a Markdown page for people, and the plots."""
from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import time
from collections import Counter, defaultdict
from pathlib import Path

from eval.cases import Case
from eval.score import aggregate

PROJECT = "project"
LEVEL_ORDER = ("clean", "light", "moderate", "heavy")


# -- numbers --------------------------------------------------------------------------------------------------------

def speed(records: dict[str, dict], kind_of: dict[str, str]) -> dict:
    """Seconds per page and per report, for each stage and each input kind; pages per second over the set."""
    ok = {cid: r for cid, r in records.items() if not r["error"]}
    pages = sum(r["pages"] for r in ok.values())
    walls = [r["wall"] for r in records.values()]
    stages: dict[str, float] = defaultdict(float)
    for r in ok.values():
        for stage, s in r["timings"].items():
            stages[stage] += s
    by_kind: dict[str, dict] = {}
    for kind in sorted({kind_of[c] for c in ok}):
        rs = [r for c, r in ok.items() if kind_of[c] == kind]
        kp, kw = sum(r["pages"] for r in rs), sum(r["wall"] for r in rs)
        kind_stages: dict[str, float] = defaultdict(float)
        for r in rs:
            for stage, sec in r["timings"].items():
                kind_stages[stage] += sec
        by_kind[kind] = {"reports": len(rs), "pages": kp, "s_per_page": round(kw / kp, 4) if kp else None,
                         "s_per_report": round(kw / len(rs), 4),
                         "stages_s_per_page": {st: round(sec / kp, 4) if kp else None
                                               for st, sec in kind_stages.items()}}
    n = len(ok)
    return {
        "reports": n, "pages": pages, "wall_s": round(sum(walls), 3),
        "pages_per_s": round(pages / sum(r["wall"] for r in ok.values()), 3) if pages else None,
        "s_per_report_median": round(statistics.median(walls), 4) if walls else None,
        "s_per_report_p90": round(sorted(walls)[int(0.9 * (len(walls) - 1))], 4) if walls else None,
        "stages": {st: {"s_total": round(s, 3), "s_per_page": round(s / pages, 4) if pages else None,
                        "s_per_report": round(s / n, 4) if n else None,
                        "s_per_report_median": round(statistics.median(
                            r["timings"].get(st, 0.0) for r in ok.values()), 4) if n else None}
                   for st, s in stages.items()},
        "by_kind": by_kind,
    }


def git_commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              timeout=5).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def build_report(cases: list[Case], runs, scored: dict[str, list[dict]], set_dir: str, set_name: str | None,
                 command: str | None, started: float, commit: str | None = None,
                 load: float | None = None) -> dict:
    kind_of = {c.id: c.kind for c in cases}
    root = Path(__file__).resolve().parent.parent
    if Path(set_dir).is_absolute() and Path(set_dir).is_relative_to(root):
        set_dir = str(Path(set_dir).relative_to(root))  # the cache folder, the same on every checkout
    systems = {}
    for run in runs:
        docs = scored.get(run.name, [])
        entry = {"title": run.title, "kinds": list(run.kinds) if run.kinds else "all", "skipped": run.skipped}
        if not run.skipped:
            entry.update({
                "summary": aggregate(docs),
                "speed": speed(run.records, kind_of),
                "resources": run.resources,
                "failures": [{"case": d["case"], "error": d["error"]} for d in docs if d["error"]],
                "docs": [{"case": d["case"], "kind": d["kind"], "level": d["level"],
                          "right": sum(d["hits"].values()), "fields": len(d["hits"]), "exact": d["exact"],
                          "valid": d["valid"], "meta": d["meta"], "error": d["error"],
                          "wall": run.records[d["case"]]["wall"], "pages": run.records[d["case"]]["pages"],
                          **{f"{k.replace('.', '_')}_s": run.records[d["case"]].get("timings", {}).get(k)
                             for k in ("second_look", "second_look.read", "second_look.decode")}}
                         for d in docs],
            })
        systems[run.name] = entry
    # Side by side: the project on exactly the cases each baseline read.
    comparison = {}
    project_docs = {d["case"]: d for d in scored.get(PROJECT, [])}
    for name, docs in scored.items():
        if name == PROJECT or not docs:
            continue
        mine = [project_docs[d["case"]] for d in docs if d["case"] in project_docs]
        comparison[name] = {"cases": len(docs), "project": aggregate(mine), "baseline": aggregate(docs)}
    return {
        "command": command,
        "set": {"name": set_name, "path": set_dir, "cases": len(cases), "documents": len({c.doc for c in cases}),
                "kinds": dict(Counter(c.kind for c in cases)), "levels": dict(Counter(c.level for c in cases)),
                "with_cell_boxes": sum(1 for c in cases if c.cells)},
        "created": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
        "commit": commit or git_commit(),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "load_avg_1m_at_end": load if load is not None else round(os.getloadavg()[0], 2)},
        "systems": systems,
        "comparison": comparison,
    }


# -- Markdown -------------------------------------------------------------------------------------------------------

def _pct(x) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def _num(x, digits: int = 3) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def _table(header: list[str], rows: list[list]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out + [""]


def _levels(keys) -> list[str]:
    return sorted(keys, key=lambda k: (LEVEL_ORDER.index(k) if k in LEVEL_ORDER else 99, k))


def _acc_cell(group: dict | None) -> str:
    if not group:
        return "–"
    return f"{_pct(group['accuracy'])} ({group['right']}/{group['fields']})"


def _level_speed(docs: list[dict]) -> list[list]:
    rows = []
    for level in _levels({d["level"] for d in docs if d.get("level")}):
        ds = [d for d in docs if d.get("level") == level and not d["error"]]
        pages, wall = sum(d["pages"] for d in ds), sum(d["wall"] for d in ds)
        looked = [d for d in ds if d.get("second_look_s") is not None]
        second = sum(d["second_look_s"] for d in looked)
        read = sum(d.get("second_look_read_s") or 0.0 for d in looked)
        decoded = sum(d.get("second_look_decode_s") or 0.0 for d in looked)
        rows.append([level, len(ds), pages, _num(wall / pages if pages else None, 3),
                     f"{len(looked)} reports, {sum(d['pages'] for d in looked)} pages",
                     _num(second / pages if pages else None, 3), _num(read / pages if pages else None, 3),
                     _num(decoded / pages if pages else None, 3), _pct(second / wall if wall else None)])
    return rows


def markdown(data: dict) -> str:
    systems = {k: v for k, v in data["systems"].items() if not v.get("skipped")}
    project = systems.get(PROJECT, {})
    s = project.get("summary", {})
    st = data["set"]
    lines = [f"# Benchmark: {st['name'] or st['path']}", ""]
    if data.get("command"):
        lines += ["Made by:", "", "```", data["command"], "```", ""]
    lines += [f"Set `{st['path']}`: {st['cases']} inputs from {st['documents']} documents; kinds "
              + ", ".join(f"{k} {n}" for k, n in sorted(st["kinds"].items())) + "; degradation "
              + ", ".join(f"{k} {st['levels'][k]}" for k in _levels(st["levels"]))
              + f"; {st['with_cell_boxes']} with cell boxes.",
              f"Run {data['created']} at commit {data['commit']} on {data['machine']['cpus']} CPUs "
              f"({data['machine']['platform']}; load average {data['machine'].get('load_avg_1m_at_end')} at the end: "
              "other work on the machine slows every timing).", ""]

    lines += ["## Summary (this project)", ""]
    if s:
        f = s["findings"]
        rows = [["field accuracy (every number of the three tables)", _acc_cell(s["fields"])],
                ["documents exactly right (every number)", _pct(s["exact"])],
                ["documents exactly right (numbers + template, agency, year)", _pct(s["exact_with_meta"])],
                ["documents that pass validation", _pct(s["valid"])],
                ["template / agency / year right",
                 f"{_pct(s['meta']['template'])} / {_pct(s['meta']['agency'])} / {_pct(s['meta']['year'])}"],
                ["findings precision (reported rule breaks the truth has)",
                 f"{_pct(f['precision'])} ({f['tp']} of {f['tp'] + f['fp']})"],
                ["findings recall (true rule breaks reported)",
                 f"{_pct(f['recall'])} ({f['tp']} of {f['tp'] + f['fn']})"],
                ["planted rule breaks found (cell named)", f"{f['planted_found']} of {f['planted']}"],
                ["inputs that failed (no result)", f"{s['failed']} of {s['cases']}"]]
        sp = project["speed"]
        rows.append(["speed", f"{_num(sp['pages_per_s'], 2)} pages/s, median {_num(sp['s_per_report_median'], 2)} "
                              f"s/report, peak memory {project['resources']['peak_rss_mb']} MB"])
        lines += _table(["metric", "value"], rows)

    names = list(systems)
    lines += ["## Field accuracy by input kind", ""]
    kinds = sorted({k for v in systems.values() for k in v["summary"]["by_kind"]})
    lines += _table(["kind"] + names, [[k] + [_acc_cell(systems[n]["summary"]["by_kind"].get(k)) for n in names]
                                       for k in kinds])
    lines += ["## Field accuracy by degradation level", ""]
    levels = _levels({k for v in systems.values() for k in v["summary"]["by_level"]})
    lines += _table(["level"] + names, [[lv] + [_acc_cell(systems[n]["summary"]["by_level"].get(lv)) for n in names]
                                        for lv in levels])
    if s:
        lines += ["## Field accuracy by section (this project)", ""]
        lines += _table(["section", "accuracy"], [[k, _acc_cell(v)] for k, v in s["by_section"].items()])

    if data["comparison"]:
        lines += ["## Side by side (same inputs)", "",
                  "Each baseline's text goes through the project's own assembler, decoder and validation,"
                  " so the difference is the extraction; a `labels:` row is the project itself with another label"
                  " classifier as the decoder's label evidence.", ""]
        rows = []
        for name, comp in data["comparison"].items():
            for who, agg in ((PROJECT, comp["project"]), (name, comp["baseline"])):
                sp = systems[who]["speed"] if who != PROJECT else None
                rows.append([f"{name} inputs ({comp['cases']})", who, _acc_cell(agg["fields"]), _pct(agg["exact"]),
                             _pct(agg["valid"]), _pct(agg["meta"]["year"]),
                             f"{_pct(agg['findings']['precision'])} / {_pct(agg['findings']['recall'])}",
                             agg["failed"], _num(sp["pages_per_s"], 2) if sp else "see Speed"])
        lines += _table(["inputs", "system", "field accuracy", "exact docs", "valid", "year right",
                         "findings P / R", "failed", "pages/s"], rows)
        lines += ["By degradation level, on the same inputs (this project / the baseline):", ""]
        comps = list(data["comparison"].items())
        levels = _levels({lv for _, c in comps for lv in c["baseline"]["by_level"]})
        lines += _table(["level"] + [name for name, _ in comps],
                        [[lv] + [f"{_acc_cell(c['project']['by_level'].get(lv))} / "
                                 f"{_acc_cell(c['baseline']['by_level'].get(lv))}" for _, c in comps]
                         for lv in levels])

    if s:
        lines += ["## Worst fields (this project)", ""]
        if s["worst_fields"]:
            lines += _table(["field", "wrong"], [[w["field"], f"{w['wrong']} of {w['of']}"]
                                                  for w in s["worst_fields"]])
        else:
            lines += ["(every field right)", ""]
        lines += ["## Wrong values: structure or OCR", "",
                  "Wrong values of inputs whose truth has cell boxes (scans), by where they went wrong. Structure: "
                  "*not found* = no cell was mapped to the value; *wrong cell* = another cell was read for it "
                  "(provenance box vs the truth's box, by IoU >= 0.3 or centre inside). *OCR* = the right cell, "
                  "misread. *Derived* = no cell read, the arithmetic or the row order placed it. *Failed* = the "
                  "input gave no result at all.", ""]
        kinds = ("missing", "wrong_cell", "ocr", "derived", "failed")
        rows = [[n] + [systems[n]["summary"]["error_kinds"].get(k, 0) for k in kinds]
                for n in names if systems[n]["summary"]["error_kinds"]]
        lines += _table(["system", "structure: not found", "structure: wrong cell", "ocr", "derived",
                         "failed input"], rows) if rows else ["(no input with cell boxes had a wrong value)", ""]

    lines += ["## Speed", ""]
    if project:
        sp = project["speed"]
        lines += [f"This project: {sp['reports']} reports, {sp['pages']} pages in {sp['wall_s']} s: "
                  f"{_num(sp['pages_per_s'], 2)} pages/s; per report median {_num(sp['s_per_report_median'], 3)} s, "
                  f"p90 {_num(sp['s_per_report_p90'], 3)} s.", ""]
        lines += _table(["stage", "s/page", "s/report", "median s/report", "total s"],
                        [[k, _num(v["s_per_page"], 4), _num(v["s_per_report"], 4),
                          _num(v.get("s_per_report_median"), 4), v["s_total"]] for k, v in sp["stages"].items()])
        lines += ["", "`decode` is the decoder stage (label evidence, then the constraint model); `decode.solve` is "
                  "the model alone (building it, solving it on one core, and the re-solves of the uniqueness rule).",
                  ""]
    if project and any(d.get("level") for d in project["docs"]):
        lines += ["By degradation level (this project; the second look is the whole-page reading a scan gets where its "
                  "cell grid left cells null or rules broken):", ""]
        lines += _table(["level", "reports", "pages", "s/page", "second look ran on", "second look s/page",
                         "its page reading s/page", "its decoding s/page", "second look share of the time"],
                        _level_speed(project["docs"]))
    stage_names = list(dict.fromkeys(st for n in names for v in systems[n]["speed"]["by_kind"].values()
                                     for st in v["stages_s_per_page"]))
    rows = [[n, k, v["reports"], v["pages"], _num(v["s_per_page"], 3), _num(v["s_per_report"], 3)]
            + [_num(v["stages_s_per_page"].get(st), 3) for st in stage_names]
            for n in names for k, v in systems[n]["speed"]["by_kind"].items()]
    lines += ["By input kind (wall time per page and per report; then seconds per page in each stage):", ""]
    lines += _table(["system", "kind", "reports", "pages", "s/page", "s/report"]
                    + [f"{st} s/page" for st in stage_names], rows)
    rows = []
    for n in names:
        r = systems[n]["resources"]
        busy = r["cpu_s"] / r["wall_s"] if r.get("wall_s") else None
        rows.append([n, r["wall_s"], r["load_s"], r["cpu_s"], _num(busy, 2), r["peak_rss_mb"], r["threads_max"],
                     r["torch_threads"] if r["torch_threads"] is not None else "–"])
    lines += ["Resources per system (each in its own process; CPU includes child processes such as tesseract):", ""]
    lines += _table(["system", "wall s", "model load s", "CPU s", "cores busy", "peak RSS MB", "threads (max)",
                     "torch threads"], rows)

    failures = [(n, f) for n in names for f in systems[n]["failures"]]
    if failures:
        lines += ["## Failures", ""]
        lines += _table(["system", "input", "error"], [[n, f["case"], f["error"].replace("|", "/")[:160]]
                                                         for n, f in failures[:30]])
        if len(failures) > 30:
            lines += [f"... and {len(failures) - 30} more in report.json", ""]
    skipped = {k: v["skipped"] for k, v in data["systems"].items() if v.get("skipped")}
    if skipped:
        lines += ["## Skipped", ""] + [f"- {k}: {v}" for k, v in skipped.items()] + [""]
    lines += ["## Plots", "", "![accuracy by degradation level](accuracy_by_level.png)", "",
              "![time per stage](time_per_stage.png)", ""]
    return "\n".join(lines)


def write_report(data: dict, out_dir: Path) -> None:
    from eval.plots import accuracy_by_level, time_per_stage

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "report.json").write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    (out_dir / "report.md").write_text(markdown(data), encoding="utf-8")
    accuracy_by_level(data, out_dir / "accuracy_by_level.png")
    time_per_stage(data, out_dir / "time_per_stage.png")
