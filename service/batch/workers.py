"""Running the pipeline over many inputs: one Pipeline per worker process, built once in the worker's initializer.

`Worker` is what every backend holds (a local process here, a Ray actor in ray_runner.py): bytes in, an Outcome out,
never an exception. `LocalRunner` gives one input at a time to each of N worker processes, so memory stays flat
however large the archive; a worker that dies (a native crash in a reader, the OOM killer) or runs past the time limit
fails just the input it held and is replaced.
"""
from __future__ import annotations

import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing import connection, get_context
from pathlib import Path

log = logging.getLogger("nianbao.batch")


class BackendError(RuntimeError):
    """The machinery running the batch failed (a Ray cluster lost, say), not one input."""


@dataclass
class Outcome:
    sha256: str
    source: str
    ok: bool
    json: str | None = None     # the report, as `nianbao extract` writes it
    error: str | None = None    # one line, for failures
    pages: int | None = None
    seconds: float = 0.0
    kind: str | None = None     # text | html | docx | pdf | image


@dataclass(frozen=True)
class Job:
    sha256: str
    source: str
    data: bytes


def cuda_available() -> bool:
    """Whether this process can run models on a GPU, through torch or onnxruntime."""
    if sys.platform.startswith("linux") and not any(Path("/dev").glob("nvidia*")):
        return False   # no NVIDIA device node: no CUDA, and no need to import torch to learn it
    try:
        import torch

        if torch.cuda.is_available():
            return True
    except ImportError:
        pass
    from models.ocr import onnx_cuda_available

    return onnx_cuda_available()


def resolve_device(requested: str) -> tuple[str, str | None]:
    """The device to use, and a warning when CUDA was asked for but cannot be had (then CPU, not a crash)."""
    if requested == "cuda" and not cuda_available():
        return "cpu", "--device cuda: no usable GPU (torch and onnxruntime see none); running on CPU"
    return requested, None


class Worker:
    """A Pipeline and the code that turns one input's bytes into an Outcome."""

    def __init__(self, device: str = "cpu", classifier: str = "auto", ocr_runtime: str | None = None,
                 ocr: Callable | None = None):
        """ocr: where a shared OCR service takes this worker's crops (service.batch.ocr_server), None for its own."""
        from service.pipeline import Pipeline, PipelineOptions

        device, warning = resolve_device(device)
        if warning:
            log.warning(warning)
        engine = None
        if ocr is not None:
            from service.batch.ocr_server import ClientOcrEngine

            engine = ClientOcrEngine(ocr)
        self.pipeline = Pipeline(PipelineOptions(device=device, classifier=classifier, ocr_runtime=ocr_runtime,
                                                 ocr_engine=engine))

    def process(self, sha: str, source: str, data: bytes) -> Outcome:
        from service.document import InputError
        from service.ingest import load_source, page_count

        start = time.perf_counter()
        name = source.rsplit("/", 1)[-1]
        pages = kind = None
        try:
            doc = load_source(data, name=name)
            kind = doc.kind
            pages = page_count(doc)
            result = self.pipeline.run(doc)
        except InputError as e:
            return Outcome(sha, source, False, error=_one_line(str(e)), pages=pages, kind=kind,
                           seconds=time.perf_counter() - start)
        except Exception as e:   # one bad input must not stop the batch: record it and go on
            log.debug("internal error on %s", source, exc_info=True)
            return Outcome(sha, source, False, error=_one_line(f"internal error: {type(e).__name__}: {e}"),
                           pages=pages, kind=kind, seconds=time.perf_counter() - start)
        return Outcome(sha, source, True, json=result.to_json() + "\n", pages=result.source.pages or pages,
                       kind=result.source.kind, seconds=time.perf_counter() - start)


def _one_line(text: str) -> str:
    return " ".join(text.split())[:500]


# --- the local process pool ------------------------------------------------------------------------------------
# Each worker process holds one input at a time on its own pipe, so when a process dies (a native crash in a reader,
# the OOM killer) or overruns its time, the input it held is known exactly: that one is failed, the process replaced.


def _worker_main(conn, make_worker: Callable[[], Worker], threads: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C is the main process's to handle
    # N workers share the cores: each gets its share of math-library threads (torch reads this when first imported),
    # unless the user chose a number.
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    logging.basicConfig(level=os.environ.get("NIANBAO_LOG", "WARNING"), format="%(levelname)s %(name)s: %(message)s")
    try:
        worker, broken = make_worker(), None
    except Exception as e:   # a setup problem (weights missing, say): every input says so instead of a silent death
        worker, broken = None, _one_line(f"the worker could not start: {type(e).__name__}: {e}")
    while True:
        try:
            job = conn.recv()
        except EOFError:   # the main process is gone
            return
        if job is None:
            return
        conn.send(worker.process(job.sha256, job.source, job.data) if worker else
                  Outcome(job.sha256, job.source, False, error=broken))


@dataclass
class _Slot:
    process: object
    conn: object
    job: Job | None = None
    deadline: float = 0.0


class LocalRunner:
    """make_worker: builds the Worker in each process (picklable: a class, or functools.partial(Worker, ...)).

    time_limit(job) -> seconds: an input still running after that is failed and its process replaced (None: no limit).
    """

    def __init__(self, workers: int, make_worker: Callable[[], Worker] = Worker,
                 time_limit: Callable[[Job], float] | None = None):
        self.workers = max(1, workers)
        self.make_worker = make_worker
        self.time_limit = time_limit
        self._slots: list[_Slot] = []
        # spawn: workers start clean (no inherited SQLite handle or half-initialised torch threads).
        self._context = get_context("spawn")

    def _start(self) -> _Slot:
        parent, child = self._context.Pipe()
        threads = max(1, (os.cpu_count() or 1) // self.workers)
        process = self._context.Process(target=_worker_main, args=(child, self.make_worker, threads), daemon=True)
        process.start()
        child.close()
        return _Slot(process, parent)

    def run(self, jobs: Iterable[Job], on_start=lambda job: None) -> Iterator[Outcome]:
        """Outcomes as they finish; one input per worker is held in memory at a time."""
        jobs = iter(jobs)
        more = True
        try:
            self._slots = [self._start() for _ in range(self.workers)]
            while True:
                for slot in self._slots:
                    if slot.job is None and more:
                        job = next(jobs, None)
                        if job is None:
                            more = False
                            break
                        on_start(job)
                        self._give(slot, job)
                busy = [slot for slot in self._slots if slot.job is not None]
                if not busy:
                    break
                timeout = max(0.0, min(slot.deadline for slot in busy) - time.monotonic())
                ready = connection.wait([s.conn for s in busy] + [s.process.sentinel for s in busy],
                                        timeout=min(timeout, 3600))
                for slot in busy:
                    outcome = self._collect(slot, ready)
                    if outcome is not None:
                        yield outcome
        except BaseException:   # Ctrl-C, or the consumer stopped early (GeneratorExit)
            self.close(kill=True)
            raise
        self.close()

    def _give(self, slot: _Slot, job: Job) -> None:
        slot.job = job
        limit = self.time_limit(job) if self.time_limit else None
        slot.deadline = time.monotonic() + limit if limit else float("inf")
        try:
            slot.conn.send(job)
        except (BrokenPipeError, ConnectionResetError):   # it died before the job got there: caught in _collect
            pass

    def _collect(self, slot: _Slot, ready: list) -> Outcome | None:
        """The slot's outcome if its input is finished, failed or out of time; None while it is still running."""
        job = slot.job
        if slot.conn in ready:
            try:
                outcome = slot.conn.recv()
            except (EOFError, ConnectionResetError):
                outcome = None
            if outcome is not None:
                slot.job = None
                return outcome
        if slot.process.is_alive() and time.monotonic() < slot.deadline:
            return None
        if slot.process.is_alive():
            error = f"took longer than the time limit ({self.time_limit(job):.0f} s); stopped"
        else:
            error = "the worker process died while reading this input (a crash in a reader, or out of memory)"
        log.warning("%s: %s; starting a new worker", job.source, error)
        self._stop(slot)
        self._slots[self._slots.index(slot)] = self._start()
        return Outcome(job.sha256, job.source, False, error=error)

    @staticmethod
    def _stop(slot: _Slot, kill: bool = True) -> None:
        if kill:
            slot.process.kill()
        else:
            try:
                slot.conn.send(None)
            except OSError:
                pass
        slot.process.join(timeout=None if kill else 30)
        if slot.process.is_alive():
            slot.process.kill()
            slot.process.join()
        slot.conn.close()

    def close(self, kill: bool = False) -> None:
        """kill: stop the workers now; one may be hours into a long scan, and its result would be thrown away."""
        for slot in self._slots:
            self._stop(slot, kill=kill or slot.job is not None)
        self._slots = []
