"""`nianbao batch ARCHIVE... --out DIR`: reprocess folders, archives and file lists, resumably.

    scan (hash every input, register it in DIR/manifest.sqlite, count pages)
      -> process what is pending (local worker processes, or Ray Data) -> DIR/json/<name>.json, one per content
      -> rebuild the corpus tables from manifest + JSON (reports.parquet/.csv/.xlsx, findings.csv, summary.json)

A rerun after a crash or Ctrl-C skips what is done; failures are kept with their error and retried on request.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from contextlib import closing
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from service.batch.inputs import iter_inputs
from service.batch.manifest import DONE, FAILED, Manifest
from service.batch.tables import build_tables
from service.batch.workers import BackendError, Job, LocalRunner, Outcome, Worker, resolve_device


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="+", metavar="ARCHIVE",
                   help="folders (read recursively), .zip/.tar(.gz|.bz2|.xz) archives, lists of files (.lst, or a "
                        ".txt with one path per line), or single reports")
    p.add_argument("--out", required=True, metavar="DIR", help="where the manifest, JSON reports and tables go")
    p.add_argument("--workers", type=_positive, default=default_workers(), metavar="N",
                   help="worker processes, or Ray actors (default: the number of cores)")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                   help="run OCR and the classifier on the GPU (falls back to CPU, with a warning, without one)")
    p.add_argument("--ocr-runtime", choices=["onnxruntime", "torch"],
                   help="what runs the OCR models (default: onnxruntime on cpu, torch on cuda)")
    p.add_argument("--shared-ocr", action=argparse.BooleanOptionalAction, default=None,
                   help="one OCR process (or Ray actor) recognises the crops of all workers, in batches across pages "
                        "and documents (default: on with --device cuda, off on cpu)")
    p.add_argument("--ray", metavar="ADDRESS", help="run on a Ray cluster: its address, or 'local' to start one here")
    p.add_argument("--retry-failed", action="store_true", help="process inputs that failed in earlier runs again")
    p.add_argument("--classifier", choices=["auto", "fuzzy", "model", "model-torch"], default="auto")
    p.add_argument("--time-limit", type=float, default=120.0, metavar="SECONDS",
                   help="seconds allowed per page (plus one minute per input) before an input is stopped and failed; "
                        "0 for no limit (default: 120; a scanned page takes about 3 s on one CPU core)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


@dataclass
class Todo:
    """An input to process in this run: its first source, where its bytes are, and its pages (for the bar)."""
    sha256: str
    source: str
    locator: str
    json_name: str
    pages: int


@dataclass
class ScanResult:
    todo: dict[str, Todo]
    seen: int = 0         # inputs (names) found
    skipped_done: int = 0
    skipped_failed: int = 0
    duplicates: int = 0   # names whose content was already seen in this run or an earlier one
    refused: int = 0      # inputs whose bytes were refused (too large, unsafe, damaged archive)


def main(args: argparse.Namespace) -> int:
    out = Path(args.out)
    missing = [p for p in args.inputs if not Path(p).exists()]
    if missing:   # a typo in the command, not an input to record as failed
        print(f"error: no such file or folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    (out / "json").mkdir(parents=True, exist_ok=True)
    lock = _lock(out)
    if lock is None:
        print(f"error: another batch is already running on {out}", file=sys.stderr)
        return 2
    with lock:
        for stale in [*out.glob(".*.tmp*"), *(out / "json").glob(".*.tmp")]:   # left by a killed run
            stale.unlink()
        manifest = Manifest(out / "manifest.sqlite")
        try:
            return Batch(args, out, manifest).run()
        finally:
            manifest.close()


class Batch:
    def __init__(self, args: argparse.Namespace, out: Path, manifest: Manifest):
        self.args = args
        self.out = out
        self.manifest = manifest
        self.show_bar = not getattr(args, "quiet", False) and sys.stderr.isatty()
        self.done_now = self.failed_now = self.pages_now = 0

    def run(self) -> int:
        start = time.perf_counter()
        interrupted = False
        scan = None
        stopped = None
        if self.args.ray and importlib.util.find_spec("ray") is None:
            print("error: --ray needs Ray: pip install 'ray[data]'", file=sys.stderr)
            return 2
        try:
            scan = self.scan()
            self.process(scan)
        except KeyboardInterrupt:
            interrupted = True
            print("\ninterrupted: what is done is kept; run the same command again to go on", file=sys.stderr)
        except BackendError as e:
            stopped = str(e)
            print(f"error: {e}; what is done is kept; run the same command again to go on", file=sys.stderr)
        summary = build_tables(self.manifest, self.out)
        self.report(scan, summary, time.perf_counter() - start, interrupted)
        if interrupted:
            return 130
        return 0 if summary["failed"] == 0 and summary["pending"] == 0 and not stopped else 1

    # -- scan: what is there, and what is left to do ---------------------------------------------------------------
    def scan(self) -> ScanResult:
        from tqdm import tqdm

        from service.ingest import load_source, page_count

        result = ScanResult(todo={})
        inputs = iter_inputs(self.args.inputs, exclude=[self.out])
        for item in tqdm(inputs, desc="scan", unit="file", disable=not self.show_bar, leave=False):
            result.seen += 1
            entry = self.manifest.register(item.sha256, item.source, item.name, item.parent,
                                           readable=item.error is None)
            if entry.source != item.source or item.sha256 in result.todo:
                result.duplicates += 1
            if entry.state == DONE:
                result.skipped_done += 1
                continue
            if entry.state == FAILED and not self.args.retry_failed:
                result.skipped_failed += 1
                continue
            if item.error:
                result.refused += 1
                self.manifest.start(item.sha256)
                self.manifest.mark_failed(item.sha256, item.error)
                continue
            if item.sha256 in result.todo:
                continue
            try:
                pages = page_count(load_source(item.data, name=item.name))
            except Exception:   # InputError and the like: the worker meets the same problem and records it
                pages = 1
            result.todo[item.sha256] = Todo(item.sha256, item.source, item.locator.to_json(), entry.json_name, pages)
        return result

    # -- process -------------------------------------------------------------------------------------------------
    def process(self, scan: ScanResult) -> None:
        from tqdm import tqdm

        if not scan.todo:
            return
        bar = tqdm(total=sum(t.pages for t in scan.todo.values()), desc="batch", unit="page", dynamic_ncols=True,
                   disable=not self.show_bar, file=sys.stderr)
        # closing(): on Ctrl-C the workers are stopped here, not whenever the generator is collected.
        with bar, closing(self.outcomes(scan)) as outcomes:
            for outcome in outcomes:
                self.record(outcome, scan.todo[outcome.sha256])
                bar.update(scan.todo[outcome.sha256].pages)
                bar.set_postfix(done=self.done_now, failed=self.failed_now, refresh=False)

    def outcomes(self, scan: ScanResult):
        if self.args.ray:
            from service.batch import ray_runner

            items = [{"sha256": t.sha256, "source": t.source, "locator": t.locator} for t in scan.todo.values()]
            for item in items:
                self.manifest.start(item["sha256"])
            try:
                ray_runner.connect(self.args.ray, self.args.workers)
                device, warning = ray_runner.cluster_device(self.args.device)
                if warning:
                    print(f"warning: {warning}", file=sys.stderr)
                yield from ray_runner.run_ray(items, self.args.workers, device, self.args.classifier,
                                              self.args.ocr_runtime, self._shared_ocr(device))
            finally:
                ray_runner.shutdown()
            return
        device, warning = resolve_device(self.args.device)
        if warning:
            print(f"warning: {warning}", file=sys.stderr)
        per_page = self.args.time_limit
        server = None
        if self._shared_ocr(device):
            from service.batch.ocr_server import OcrOptions, OcrServer, ServerError

            try:
                server = OcrServer(OcrOptions(device, self.args.ocr_runtime)).start()
            except ServerError as e:
                raise BackendError(str(e)) from e
        make_worker = partial(Worker, device, self.args.classifier, self.args.ocr_runtime,
                              server.client() if server else None)
        runner = LocalRunner(min(self.args.workers, len(scan.todo)), make_worker,
                             time_limit=(lambda job: 60 + per_page * scan.todo[job.sha256].pages) if per_page else None)
        outcomes = runner.run(self.jobs(scan), on_start=lambda job: self.manifest.start(job.sha256))
        try:
            for outcome in outcomes:
                yield outcome
                if server and not server.process.is_alive():   # every later input would fail the same way
                    raise BackendError("the shared OCR process died")
        finally:
            outcomes.close()   # stops the workers now when we stop early
            if server:
                server.close()

    def _shared_ocr(self, device: str) -> bool:
        choice = getattr(self.args, "shared_ocr", None)
        return device == "cuda" if choice is None else choice

    def jobs(self, scan: ScanResult):
        """A second pass over the inputs, handing out the bytes of each pending content once, as it streams by."""
        left = set(scan.todo)
        for item in iter_inputs(self.args.inputs, exclude=[self.out]):
            if item.error is None and item.sha256 in left:
                left.discard(item.sha256)
                yield Job(item.sha256, scan.todo[item.sha256].source, item.data)
            if not left:
                return

    def record(self, outcome: Outcome, todo: Todo) -> None:
        if outcome.ok:
            write_atomic(self.out / "json" / f"{todo.json_name}.json", outcome.json)
            self.manifest.mark_done(outcome.sha256, outcome.pages, outcome.seconds, outcome.kind)
            self.done_now += 1
            self.pages_now += outcome.pages or 0
        else:
            self.manifest.mark_failed(outcome.sha256, outcome.error, outcome.pages, outcome.seconds, outcome.kind)
            self.failed_now += 1

    # -- the summary at the end ----------------------------------------------------------------------------------
    def report(self, scan: ScanResult | None, summary: dict, seconds: float, interrupted: bool) -> None:
        rate = f"{self.pages_now / seconds:.2f} pages/s" if seconds > 0 else ""
        where = f"on Ray ({self.args.ray})" if self.args.ray else f"{self.args.workers} workers"
        lines = [f"batch {'(interrupted) ' if interrupted else ''}{self.out}: {summary['inputs']} inputs: "
                 f"{summary['done']} done, {summary['failed']} failed, {summary['pending']} pending; "
                 f"{summary['duplicates']} duplicate names"]
        if scan is not None:
            lines.append(f"  this run: {scan.seen} found, {scan.skipped_done} already done, {self.done_now} processed, "
                         f"{self.failed_now + scan.refused} failed, {scan.skipped_failed} earlier failures skipped; "
                         f"{self.pages_now} pages in {seconds:.1f} s ({rate}, {where})")
        for failure in summary["failures"][:10]:
            lines.append(f"  failed: {failure['source']}: {failure['error']}")
        if len(summary["failures"]) > 10:
            lines.append(f"  ... {len(summary['failures']) - 10} more failures in summary.json")
        if summary["failures"] and not self.args.retry_failed:
            lines.append("  (run again with --retry-failed to retry the failures)")
        for problem in summary["problems"]:
            lines.append(f"  problem: {problem}")
        cross = sum(summary["cross_report_findings"].values())
        lines.append(f"  tables: reports.csv/.parquet/.xlsx ({summary['done']} rows), findings.csv "
                     f"({cross} across reports), summary.json")
        print("\n".join(lines), file=sys.stderr)


def write_atomic(path: Path, text: str) -> None:
    """Temp file + fsync + rename: a reader (or a rerun after a kill) sees the old file or the new, never half."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _lock(out: Path):
    """One batch per output folder at a time: the lock is held while the returned file is open, and the OS drops it
    when the process ends, even on SIGKILL. None when another batch holds it."""
    handle = open(out / ".batch.lock", "w")
    try:
        import fcntl

        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except ImportError:   # not POSIX: no lock
        pass
    except BlockingIOError:
        handle.close()
        return None
    return handle
