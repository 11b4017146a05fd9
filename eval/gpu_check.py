"""The CUDA path, checked and timed: what eval/reports/gpu.md reports was measured with this script.

    python3 -m eval.gpu_check env                                   torch / onnxruntime / GPU, resolve_device("cuda")
    python3 -m eval.gpu_check classifier [--variants 4000]           label classifier: CPU vs CUDA agreement, throughput
    python3 -m eval.gpu_check extract --kinds html,docx,txt,pdf      every sample, --device cpu vs cuda: values, timings
                                  [--only doc-000001,doc-000002]     (just these samples)
    python3 -m eval.gpu_check batch --kinds html,docx,txt,pdf,scan.pdf --copies 2 --runs cpu:1,cuda:1,cpu:4,cuda:4
    python3 -m eval.gpu_check ocr [--pages 8 --crops 6000 --batch-sizes 64,256,512,1024]
                                  OCR runtimes: onnxruntime (cpu) vs torch (cpu, cuda TF32 off/on): same readings?
                                  crops/s: pages read alone, and stacked as the shared OCR process reads them (by
                                  crops per model call)
    python3 -m eval.gpu_check suite [--reduced]                     what a lent GPU machine runs (< 8 minutes): env,
                                  ocr, and `nianbao batch` on a 200-page scan archive, cpu:16 vs cuda:16 (shared OCR
                                  process) vs cuda:16 on Ray; without a GPU it says so and stops, unless --reduced
                                  (a small version of everything, on the CPU, to prove the script works)

Batch runs are DEVICE:WORKERS[:FLAG...], flags: shared / noshared (--shared-ocr / --no-shared-ocr), torch / ort
(--ocr-runtime), ray (--ray local).

Each subcommand prints a readable summary and, with --json FILE, writes what it measured. Inputs are the samples in
training/samples (doc-00000N.<kind>). Without a GPU the cuda side falls back to CPU (and says so): the script still
runs, the numbers then compare CPU with CPU.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "training" / "samples"
KINDS = ("html", "docx", "txt", "pdf", "scan.pdf")


def samples(kinds: list[str]) -> list[Path]:
    out = []
    for kind in kinds:
        for p in sorted(SAMPLES.glob(f"doc-*.{kind}")):
            if kind == "pdf" and p.name.endswith(".scan.pdf"):
                continue
            out.append(p)
    return out


def _sync():
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


# --- env ---------------------------------------------------------------------------------------------------------

def cmd_env(args) -> dict:
    info: dict = {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count()}
    import torch

    info["torch"] = torch.__version__
    info["torch_cuda"] = torch.version.cuda
    info["cuda_available"] = torch.cuda.is_available()
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
        info["gpu_capability"] = ".".join(map(str, torch.cuda.get_device_capability(0)))
    try:
        import onnxruntime

        info["onnxruntime"] = onnxruntime.__version__
        info["onnxruntime_providers"] = onnxruntime.get_available_providers()
    except ImportError as e:
        info["onnxruntime"] = f"missing: {e}"
    import transformers

    info["transformers"] = transformers.__version__
    from service.batch.workers import cuda_available, resolve_device

    info["workers.cuda_available"] = cuda_available()
    info["workers.resolve_device(cuda)"] = list(resolve_device("cuda"))
    missing = []
    for mod in ("rapidocr", "pdfplumber", "pypdfium2", "docx", "pydantic", "omegaconf", "rapidfuzz", "opencc",
                "shapely", "pyclipper", "openpyxl", "colorlog", "rapid_layout", "rapid_table", "lxml", "pandas",
                "pyarrow"):
        try:
            __import__(mod)
        except Exception as e:   # noqa: BLE001 - report every kind of import failure
            missing.append(f"{mod}: {type(e).__name__}: {e}")
    info["import_problems"] = missing
    for k, v in info.items():
        print(f"{k}: {v}")
    return info


# --- the label classifier alone ----------------------------------------------------------------------------------

def _label_texts() -> list[str]:
    """The label texts of every shipped template, plus the row and column texts the pipeline sends the classifier
    for the text-layer samples (read and assembled with the fuzzy matcher, which needs no model)."""
    from service.labels import targets_for
    from service.template import all_templates

    texts: set[str] = set()
    for template in all_templates():
        for target in targets_for(template):
            texts.update(target.labels)
    from service.ingest import load_source
    from service.labels import FuzzyLabelMatcher
    from service.pipeline import Pipeline, PipelineOptions

    seen: list[str] = []

    class Recording(FuzzyLabelMatcher):
        def scores(self, texts_, targets):
            seen.extend(texts_)
            return super().scores(texts_, targets)

    pipe = Pipeline(PipelineOptions(classifier="fuzzy", ocr=False))
    pipe.classifier = Recording()
    pipe.assembler.classifier = pipe.classifier
    for path in samples(["html", "docx", "txt", "pdf"]):
        try:
            pipe.run(load_source(str(path)))
        except Exception as e:   # noqa: BLE001
            print(f"  (collecting texts: {path.name}: {type(e).__name__}: {e})")
    texts.update(t for t in seen if t and t.strip())
    return sorted(texts)


def _time(fn, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        _sync()
        t = time.perf_counter()
        out = fn()
        _sync()
        best = min(best, time.perf_counter() - t)
    return best, out


def cmd_classifier(args) -> dict:
    import numpy as np
    import torch

    from models.label_classifier import TokenLabelClassifier
    from service.labels import targets_for
    from service.template import get_template

    base = _label_texts()
    # Distinct variants (probs() computes each distinct text once, so repeats would measure nothing).
    bulk = list(base)
    i = 0
    while len(bulk) < args.variants:
        t = base[i % len(base)]
        bulk.append(f"{i // len(base)}.{t}" if i % 2 else f"{t}（{i // len(base)}）")
        i += 1
    targets = targets_for(get_template("gov-info-disclosure/2021"))
    res: dict = {"label_texts": len(base), "bulk_texts": len(bulk), "targets": len(targets),
                 "bulk_chars": sum(map(len, bulk)), "runs": {}}
    print(f"{len(base)} label texts, {len(bulk)} bulk texts ({res['bulk_chars']} characters), "
          f"{len(targets)} targets (2021 template)")

    t = time.perf_counter()
    cpu = TokenLabelClassifier(threads=1, device="cpu")
    res["load_s_cpu"] = round(time.perf_counter() - t, 3)
    ref_probs = cpu.probs(base)
    ref_scores = np.array(cpu.scores(base, targets))
    devices = [("cpu", n) for n in args.cpu_threads]
    if torch.cuda.is_available():
        devices.append(("cuda", 1))
    for device, threads in devices:
        key = f"{device}:{threads}" if device == "cpu" else device
        t = time.perf_counter()
        clf = TokenLabelClassifier(threads=threads, device=device)
        load = time.perf_counter() - t
        first, _ = _time(lambda: clf.scores(base[:8], targets), 1)   # CUDA context, kernels, allocator
        labels_s, scores = _time(lambda: clf.scores(base, targets), args.repeat)
        bulk_s, _ = _time(lambda: clf.scores(bulk, targets), args.repeat)
        probs = clf.probs(base)
        scores = np.array(scores)
        diff_p = max(float(np.abs(a - b).max()) if len(a) else 0.0 for a, b in zip(probs, ref_probs))
        tag_diff = sum(int((a.argmax(-1) != b.argmax(-1)).sum()) for a, b in zip(probs, ref_probs))
        best_diff = int((scores.argmax(1) != ref_scores.argmax(1)).sum())
        row = {"device": str(clf.device), "threads": threads, "load_s": round(load, 3), "first_call_s": round(first, 3),
               "label_texts_s": round(labels_s, 4), "bulk_s": round(bulk_s, 4),
               "bulk_texts_per_s": round(len(bulk) / bulk_s, 1), "max_abs_prob_diff_vs_cpu1": diff_p,
               "max_abs_score_diff_vs_cpu1": float(np.abs(scores - ref_scores).max()),
               "char_tags_differing_vs_cpu1": tag_diff, "best_target_differing_vs_cpu1": best_diff}
        res["runs"][key] = row
        print(f"{key:7s} load {row['load_s']:.2f} s, first call {row['first_call_s']:.3f} s; "
              f"{len(base)} label texts {row['label_texts_s']:.3f} s; {len(bulk)} bulk texts {row['bulk_s']:.3f} s "
              f"({row['bulk_texts_per_s']:.0f} texts/s); vs cpu:1 max |dp| {diff_p:.2e}, "
              f"max |dscore| {row['max_abs_score_diff_vs_cpu1']:.2e}, {tag_diff} char tags and {best_diff} best "
              f"targets differ")
    return res


# --- whole extractions, cpu vs cuda ------------------------------------------------------------------------------

def _values(result) -> dict:
    return {"template": result.template, "agency": result.agency, "year": result.year, **result.flat_values()}


def cmd_extract(args) -> dict:
    from service.ingest import load_source
    from service.pipeline import Pipeline, PipelineOptions

    files = [f for f in samples(args.kinds) if not args.only or any(o in f.name for o in args.only)]
    pipes = {}
    for device in ("cpu", "cuda"):
        t = time.perf_counter()
        pipes[device] = Pipeline(PipelineOptions(device=device, threads=args.threads))
        print(f"pipeline {device}: classifier on {getattr(pipes[device].classifier, 'device', 'n/a')}, "
              f"built in {time.perf_counter() - t:.2f} s")
    # Warm both (model load, CUDA context) on the first file so that per-report times are steady-state.
    for device in pipes:
        pipes[device].run(load_source(str(files[0])))
    rows = []
    same_all = True
    for path in files:
        row: dict = {"file": path.name}
        got = {}
        for device, pipe in pipes.items():
            t = time.perf_counter()
            try:
                result = pipe.run(load_source(str(path)))
            except Exception as e:   # noqa: BLE001
                row[device] = {"error": f"{type(e).__name__}: {e}"}
                continue
            wall = time.perf_counter() - t
            got[device] = result
            row[device] = {"wall_s": round(wall, 3), "assemble_s": result.timings.get("decode"),
                           "read_s": result.timings.get("read"), "second_look_s": result.timings.get("second_look"),
                           "valid": result.valid, "pages": result.source.pages, "method": result.source.method}
        if len(got) == 2:
            a, b = _values(got["cpu"]), _values(got["cuda"])
            differing = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
            conf = max((abs(got["cpu"].confidence.get(k, 0) - got["cuda"].confidence.get(k, 0))
                        for k in got["cpu"].confidence), default=0.0)
            row.update(values=len(a), values_differing=differing, max_confidence_diff=round(conf, 6))
            same_all &= not differing
        else:
            same_all = False
        rows.append(row)
        c, g = row.get("cpu", {}), row.get("cuda", {})
        print(f"{path.name:24s} cpu {c.get('wall_s', c.get('error'))} s (assemble {c.get('assemble_s')}) | "
              f"cuda {g.get('wall_s', g.get('error'))} s (assemble {g.get('assemble_s')}) | "
              f"{row.get('values', '?')} values, differing: {row.get('values_differing')}, "
              f"max confidence diff {row.get('max_confidence_diff')}")
    totals = {}
    for device in pipes:
        ok = [r[device] for r in rows if "wall_s" in r.get(device, {})]
        totals[device] = {"files": len(ok), "wall_s": round(sum(r["wall_s"] for r in ok), 3),
                          "assemble_s": round(sum(r["assemble_s"] or 0 for r in ok), 3)}
        print(f"total {device}: {totals[device]}")
    print(f"values identical cpu vs cuda on all {len(rows)} files: {same_all}")
    return {"threads": args.threads, "kinds": args.kinds, "rows": rows, "totals": totals, "identical": same_all}


# --- nianbao batch end to end ------------------------------------------------------------------------------------

def make_corpus(folder: Path, kinds: list[str], copies: int, only: list[str] | None = None) -> int:
    """Every sample of the kinds, `copies` times under different names, each copy's bytes slightly changed (batch
    keys inputs by content, so identical copies would be deduplicated)."""
    folder.mkdir(parents=True, exist_ok=True)
    n = 0
    for path in samples(kinds):
        if only and not any(o in path.name for o in only):
            continue
        for c in range(copies):
            target = folder / f"c{c}-{path.name}"
            shutil.copyfile(path, target)
            if c:
                if path.suffix == ".docx":
                    with zipfile.ZipFile(target, "a") as z:
                        z.comment = f"copy {c}".encode()
                elif path.suffix == ".pdf":
                    with open(target, "ab") as f:
                        f.write(f"\n%copy {c}\n".encode())
                else:
                    with open(target, "ab") as f:
                        f.write(b"\n" * c)
            n += 1
    return n


def _pages(path: Path) -> int:
    if path.suffix != ".pdf":
        return 1
    import pypdfium2 as pdfium

    return len(pdfium.PdfDocument(str(path)))


FLAGS = {"shared": ["--shared-ocr"], "noshared": ["--no-shared-ocr"], "torch": ["--ocr-runtime", "torch"],
         "ort": ["--ocr-runtime", "onnxruntime"], "ray": ["--ray", "local"]}


def cmd_batch(args) -> dict:
    work = Path(args.workdir or tempfile.mkdtemp(prefix="gpu_batch_"))
    inputs = work / "in"
    if inputs.exists():
        shutil.rmtree(inputs)
    copies = args.copies
    if args.pages:   # enough copies of the samples for this many pages (a synthetic archive of that size)
        per_copy = sum(_pages(p) for p in samples(args.kinds)
                       if not getattr(args, "only", None) or any(o in p.name for o in args.only))
        copies = max(1, -(-args.pages // per_copy))
    n = make_corpus(inputs, args.kinds, copies, getattr(args, "only", None))
    pages_in = sum(_pages(p) for p in inputs.iterdir())
    target = inputs
    if args.archive:   # one .zip, as an archive would come
        target = work / "archive.zip"
        with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as z:
            for p in sorted(inputs.iterdir()):
                z.write(p, p.name)
    print(f"corpus: {n} inputs, {pages_in} pages in {target} ({', '.join(args.kinds)}; {copies} copies)")
    res: dict = {"inputs": n, "pages": pages_in, "kinds": args.kinds, "copies": copies, "runs": []}
    outputs = {}
    for spec in args.runs:
        device, workers, *flags = spec.split(":")
        out = work / f"out-{spec.replace(':', '-')}"
        if out.exists():
            shutil.rmtree(out)
        cmd = [sys.executable, "-m", "service.cli", "batch", str(target), "--out", str(out), "--device", device,
               "--workers", workers, "--quiet", *[a for f in flags for a in FLAGS[f]]]
        t = time.perf_counter()
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=args.run_timeout)
        except subprocess.TimeoutExpired as e:
            proc = subprocess.CompletedProcess(cmd, 124, "", f"timed out after {args.run_timeout} s\n"
                                               f"{(e.stderr or b'').decode(errors='replace')[-1500:]}")
        wall = time.perf_counter() - t
        summary = json.loads((out / "summary.json").read_text()) if (out / "summary.json").exists() else {}
        busy = None
        if (out / "manifest.sqlite").exists():
            with sqlite3.connect(out / "manifest.sqlite") as db:
                busy = db.execute("select sum(seconds) from inputs where state = 'done'").fetchone()[0] \
                    if _has_table(db, "inputs") else None
        written = sorted(p.name for p in out.iterdir() if p.is_file() and not p.name.startswith(".")) \
            if out.exists() else []
        line = next((ln.strip() for ln in proc.stderr.splitlines() if "pages in" in ln), "")
        pages = summary.get("pages")
        row = {"spec": spec, "device": device, "workers": int(workers), "rc": proc.returncode, "wall_s": round(wall, 2),
               "done": summary.get("done"), "failed": summary.get("failed"), "pages": pages,
               "pages_per_s_wall": round(pages / wall, 3) if pages else None, "busy_s": busy and round(busy, 2),
               "batch_line": line, "files": written, "json_files": len(list((out / "json").glob("*.json"))),
               "warnings": [ln for ln in proc.stderr.splitlines() if "warning" in ln.lower()][:5]}
        if proc.returncode:
            row["stderr_tail"] = proc.stderr[-2000:]
        res["runs"].append(row)
        outputs[spec] = out
        print(f"{spec}: rc {row['rc']}, {row['done']} done, {row['failed']} failed, {pages} pages in {wall:.1f} s "
              f"wall ({row['pages_per_s_wall']} pages/s), busy {row['busy_s']} s; {line}")
        print(f"   written: {written}; json: {row['json_files']}; warnings: {row['warnings']}")
        if proc.returncode:
            print(proc.stderr[-2000:])
    # Same values whatever the device and the number of workers?
    first = next(iter(outputs.values()), None)
    for spec, out in outputs.items():
        if out is first:
            continue
        differing = []
        if not (first / "json").exists():
            break
        for a in sorted((first / "json").glob("*.json")):
            b = out / "json" / a.name
            va = _json_values(a)
            vb = _json_values(b) if b.exists() else None
            if va != vb:
                differing.append(a.name)
        res.setdefault("differing_vs_first", {})[spec] = differing
        print(f"{spec} vs {args.runs[0]}: {len(differing)} reports with different values {differing[:5]}")
    return res


def _has_table(db, name: str) -> bool:
    return db.execute("select 1 from sqlite_master where type='table' and name=?", (name,)).fetchone() is not None


def _json_values(path: Path) -> dict:
    d = json.loads(path.read_text(encoding="utf-8"))
    return {k: d.get(k) for k in ("template", "agency", "year", "proactive_disclosure", "requests",
                                  "review_and_litigation")}

# --- the OCR models: onnxruntime vs torch, and crops/s by batch size --------------------------------------------

def _scan_crops(pages: int) -> tuple[list, list, int]:
    """The text-line crops the scan reader recognises on whole sample scans (read with onnxruntime) until at least
    `pages` pages are read, `pages` of those page images (for detection), and the pages read."""
    from models.ocr import RapidOcrEngine
    from service.document import Source
    from service.scan.reader import ScanOptions, ScanReader

    crops: list = []

    class Recording(RapidOcrEngine):
        def _outputs(self, renderings, reduce):
            crops.extend(renderings[0])
            return super()._outputs(renderings, reduce)

    reader = ScanReader(ScanOptions(max_pages=4), engine=Recording(runtime="onnxruntime"))
    images: list = []
    for path in samples(["scan.pdf"]):
        doc = reader.read(Source(path.name, path.read_bytes(), "pdf"))
        images += [p.image for p in doc.images]
        if len(images) >= pages:
            break
    return crops, images[:pages], len(images)


def _prob_diff(ref_probs, got_probs, digit_ids) -> float:
    """Largest probability difference; the torch runtime's output is reduced (digit columns, best, its id)."""
    worst = 0.0
    for x, y in zip(ref_probs, got_probs):
        if y.shape == x.shape:
            worst = max(worst, float(abs(x - y).max()))
        else:
            worst = max(worst, float(abs(x[:, digit_ids] - y[:, :-2]).max()), float(abs(x.max(1) - y[:, -2]).max()))
    return worst


def _compare(ref, got, ref_probs, got_probs, digit_ids) -> dict:
    return {"crops": len(ref),
            "texts_differing": sum(a.text != b.text for a, b in zip(ref, got)),
            "digits_differing": sum(a.digits != b.digits for a, b in zip(ref, got)),
            "max_confidence_diff": max((abs(a.confidence - b.confidence) for a, b in zip(ref, got)), default=0.0),
            "max_digits_confidence_diff": max((abs(a.digits_confidence - b.digits_confidence)
                                               for a, b in zip(ref, got)), default=0.0),
            "max_prob_diff": _prob_diff(ref_probs, got_probs, digit_ids)}


def cmd_ocr(args) -> dict:
    import torch

    from models.ocr import RapidOcrEngine
    from models.ocr_torch import set_tf32

    t = time.perf_counter()
    crops, images, read = _scan_crops(args.pages)
    print(f"{len(crops)} crops from {read} pages of the sample scans, detection on {len(images)} "
          f"({time.perf_counter() - t:.1f} s)")
    ref = RapidOcrEngine(runtime="onnxruntime", threads=args.threads)
    ref_read, ref_probs = ref.read(crops), ref._probs(crops[:64])
    ref_det = [ref.detect(img) for img in images]
    res: dict = {"crops": len(crops), "pages": len(images), "equivalence": {}, "speed": []}
    # torch on the CPU is what CI checks (tests/test_ocr_runtime.py); with a GPU its minutes go to CUDA.
    configs = [("torch-cuda-tf32-off", "cuda", False), ("torch-cuda-tf32-on", "cuda", True)]
    if not torch.cuda.is_available():
        print("no GPU: equivalence on the CPU only")
        configs = [("torch-cpu", "cpu", None)]
    for name, device, tf32 in configs:
        if tf32 is not None:
            set_tf32(tf32)
        engine = RapidOcrEngine(device=device, runtime="torch", threads=args.threads)
        row = _compare(ref_read, engine.read(crops), ref_probs, engine._probs(crops[:64]), ref._digit_ids)
        det = [engine.detect(img) for img in images]
        row["det_lines"] = [len(d) for d in ref_det]
        row["det_lines_differing"] = sum(len(a) != len(b) for a, b in zip(ref_det, det))
        row["det_texts_differing"] = sum(x.text != y.text for a, b in zip(ref_det, det) for x, y in zip(a, b))
        res["equivalence"][name] = row
        print(f"{name}: {row}")
    set_tf32(False)
    # Speed: the crops repeated up to --crops and cut into "pages" of 150, read as the batch reads them: each page
    # alone (a worker's own engine), or the pages stacked by equal-width buckets (the shared OCR process), by stack.
    from service.batch.ocr_server import read_stacked

    bulk = (crops * (args.crops // max(1, len(crops)) + 1))[:args.crops]
    pages = [bulk[i:i + 150] for i in range(0, len(bulk), 150)]
    device = "cuda" if torch.cuda.is_available() else "cpu"
    runs = [("onnxruntime", "cpu", None), ("torch", device, None)] + [("torch", device, n) for n in args.batch_sizes]
    for runtime, dev, stack in runs:
        engine = RapidOcrEngine(device=dev, runtime=runtime, threads=args.threads)
        read = (lambda: [engine.read(p) for p in pages]) if stack is None else \
            (lambda: read_stacked(engine, pages, stack))
        engine.read(pages[0][:16])   # load, CUDA context, kernels
        model_s = [0.0]
        session = engine._session

        def timed(batch, session=session, model_s=model_s):
            t = time.perf_counter()
            out = session(batch)   # returns host arrays: the device work is done when it returns
            model_s[0] += time.perf_counter() - t
            return out
        engine._session = timed
        best, best_model = float("inf"), 0.0
        for _ in range(args.repeat):
            model_s[0] = 0.0
            _sync()
            t = time.perf_counter()
            read()
            _sync()
            if time.perf_counter() - t < best:
                best, best_model = time.perf_counter() - t, model_s[0]
        # The rest (crop resizing, padding, CTC decoding) is CPU work in the one OCR process: with the model fast,
        # it is the shared process's limit.
        row = {"runtime": runtime, "device": dev, "stack": stack, "crops": len(bulk), "pages": len(pages),
               "seconds": round(best, 3), "crops_per_s": round(len(bulk) / best, 1),
               "model_s": round(best_model, 3), "other_s": round(best - best_model, 3)}
        if dev == "cuda":
            row["max_memory_mib"] = round(torch.cuda.max_memory_allocated() / 2**20)
            torch.cuda.reset_peak_memory_stats()
        res["speed"].append(row)
        how = "each page alone" if stack is None else f"pages stacked, up to {stack} crops a model call"
        print(f"{runtime:11s} {dev:4s} {how:45s}: {row['crops_per_s']:8.1f} crops/s ({best:.2f} s, of which "
              f"model {best_model:.2f} s)")
    return res


# --- what a lent GPU machine runs -------------------------------------------------------------------------------

def cmd_suite(args) -> dict:
    import torch

    cuda = torch.cuda.is_available()
    if not cuda and not args.reduced:
        print("no GPU here (torch.cuda.is_available() is False): nothing measured; --reduced runs a small version "
              "of every step on the CPU")
        return {"skipped": "no GPU"}
    start = time.perf_counter()
    res: dict = {"reduced": args.reduced, "env": cmd_env(args)}
    ns = argparse.Namespace
    workers = str(args.workers or (os.cpu_count() or 1))
    if args.reduced:
        ocr = ns(pages=1, crops=300, batch_sizes=[64], repeat=1, threads=1)
        batch = ns(kinds=["scan.pdf"], only=["doc-000002"], copies=1, pages=3, archive=True, workdir=args.workdir,
                   run_timeout=900, runs=["cpu:2:noshared", "cpu:2:shared:torch", "cpu:2:shared:ray"])
    else:
        ocr = ns(pages=8, crops=6000, batch_sizes=[64, 256, 512, 1024], repeat=2, threads=4)
        batch = ns(kinds=["scan.pdf"], copies=1, pages=200, archive=True, workdir=args.workdir, run_timeout=200,
                   runs=[f"cuda:{workers}", f"cpu:{workers}:noshared", f"cuda:{workers}:ray"])
    print("\n== ocr ==")
    res["ocr"] = cmd_ocr(ocr)
    print(f"\n== batch ({time.perf_counter() - start:.0f} s so far) ==")
    res["batch"] = cmd_batch(batch)
    res["seconds"] = round(time.perf_counter() - start, 1)
    print(f"\nsuite: {res['seconds']} s")
    return res


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval.gpu_check", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", metavar="FILE", help="write the measurements here")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("env")
    c = sub.add_parser("classifier")
    c.add_argument("--variants", type=int, default=4000, help="distinct texts in the bulk run")
    c.add_argument("--repeat", type=int, default=3, help="timed repeats (the best is kept)")
    c.add_argument("--cpu-threads", type=lambda s: [int(x) for x in s.split(",")], default=[1, 4])
    e = sub.add_parser("extract")
    e.add_argument("--kinds", type=lambda s: s.split(","), default=["html", "docx", "txt", "pdf"])
    e.add_argument("--threads", type=int, default=4, help="CPU threads per pipeline (OCR and the CPU classifier)")
    e.add_argument("--only", type=lambda s: s.split(","), help="only the samples whose names contain one of these")
    b = sub.add_parser("batch")
    b.add_argument("--kinds", type=lambda s: s.split(","), default=list(KINDS))
    b.add_argument("--copies", type=int, default=2)
    b.add_argument("--runs", type=lambda s: s.split(","), default=["cpu:1", "cuda:1", "cpu:4", "cuda:4"])
    b.add_argument("--workdir", help="where the corpus and the outputs go (default: a new temporary folder)")
    b.add_argument("--pages", type=int, help="copies of the samples up to this many pages (instead of --copies)")
    b.add_argument("--archive", action="store_true", help="hand batch one .zip of the corpus")
    b.add_argument("--only", type=lambda s: s.split(","), help="only the samples whose names contain one of these")
    b.add_argument("--run-timeout", type=int, default=900, help="seconds one batch command may take")
    o = sub.add_parser("ocr")
    o.add_argument("--pages", type=int, default=8, help="pages of the sample scans whose crops are read")
    o.add_argument("--crops", type=int, default=4000, help="crops in the speed runs (the page crops repeated)")
    o.add_argument("--batch-sizes", type=lambda s: [int(x) for x in s.split(",")], default=[64, 128, 256, 512, 1024],
                   help="crops per model call of the stacked runs")
    o.add_argument("--repeat", type=int, default=2)
    o.add_argument("--threads", type=int, default=4, help="CPU threads of the onnxruntime baseline")
    u = sub.add_parser("suite")
    u.add_argument("--reduced", action="store_true", help="a small version on the CPU, when there is no GPU")
    u.add_argument("--workers", type=int, help="batch workers (default: the number of cores)")
    u.add_argument("--workdir", help="where the batch corpus and outputs go")
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    result = {"env": cmd_env, "classifier": cmd_classifier, "extract": cmd_extract, "batch": cmd_batch, "ocr": cmd_ocr,
              "suite": cmd_suite}[args.command](args)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, ensure_ascii=False, indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
