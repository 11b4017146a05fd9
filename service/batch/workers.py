"""Running the pipeline over many inputs: one Pipeline per worker process, built once in the worker's initializer.

`Worker` is what every backend holds (a local process here, a Ray actor in ray_runner.py): bytes in, an Outcome out,
never an exception. `LocalRunner` keeps a bounded number of inputs in flight on a process pool, so memory stays flat
however large the archive, and survives a worker that dies (a native crash in a reader, the OOM killer).
"""
from __future__ import annotations

import logging
import os
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import get_context
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
    try:
        import onnxruntime

        return "CUDAExecutionProvider" in onnxruntime.get_available_providers()
    except ImportError:
        return False


def resolve_device(requested: str) -> tuple[str, str | None]:
    """The device to use, and a warning when CUDA was asked for but cannot be had (then CPU, not a crash)."""
    if requested == "cuda" and not cuda_available():
        return "cpu", "--device cuda: no usable GPU (torch and onnxruntime see none); running on CPU"
    return requested, None


class Worker:
    """A Pipeline and the code that turns one input's bytes into an Outcome."""

    def __init__(self, device: str = "cpu", classifier: str = "auto"):
        from service.pipeline import Pipeline, PipelineOptions

        device, warning = resolve_device(device)
        if warning:
            log.warning(warning)
        self.pipeline = Pipeline(PipelineOptions(device=device, classifier=classifier))

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

_worker: Worker | None = None   # one per worker process, set by the pool's initializer


def _init_worker(make_worker: Callable[[], Worker], threads: int) -> None:
    global _worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C is the main process's to handle
    # N workers share the cores: each gets its share of math-library threads (torch reads this when first imported),
    # unless the user chose a number.
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    logging.basicConfig(level=os.environ.get("NIANBAO_LOG", "WARNING"), format="%(levelname)s %(name)s: %(message)s")
    _worker = make_worker()


def _run_job(job: Job) -> Outcome:
    return _worker.process(job.sha256, job.source, job.data)


class LocalRunner:
    """make_worker: builds the Worker in each process (picklable: a class, or functools.partial(Worker, ...))."""

    def __init__(self, workers: int, make_worker: Callable[[], Worker] = Worker):
        self.workers = max(1, workers)
        self.make_worker = make_worker
        self._pool: ProcessPoolExecutor | None = None

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn: workers start clean (no inherited SQLite handle or half-initialised torch threads).
        return ProcessPoolExecutor(self.workers, mp_context=get_context("spawn"), initializer=_init_worker,
                                   initargs=(self.make_worker, max(1, (os.cpu_count() or 1) // self.workers)))

    def run(self, jobs: Iterable[Job], on_start=lambda job: None) -> Iterator[Outcome]:
        """Outcomes as they finish; at most 2 jobs per worker are held in memory at once.

        When a worker dies, every job in flight is a suspect: each then runs alone, and one that kills its worker
        while alone is failed, while the others finish normally.
        """
        jobs = iter(jobs)
        suspects: deque[Job] = deque()
        in_flight: dict[Future, Job] = {}
        on_trial = False   # a suspect is running alone
        self._pool = self._new_pool()
        try:
            while True:
                if suspects and not in_flight:
                    job = suspects.popleft()
                    on_start(job)
                    in_flight[self._pool.submit(_run_job, job)] = job
                    on_trial = True
                while not suspects and not on_trial and len(in_flight) < 2 * self.workers:
                    job = next(jobs, None)
                    if job is None:
                        break
                    on_start(job)
                    in_flight[self._pool.submit(_run_job, job)] = job
                if not in_flight:
                    break
                finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                lost = []
                for future in finished:
                    job = in_flight.pop(future)
                    try:
                        outcome = future.result()
                    except BrokenProcessPool:
                        lost.append(job)
                        continue
                    yield outcome
                if lost:
                    lost += in_flight.values()   # they went down with the pool
                    in_flight.clear()
                    if len(lost) == 1:   # it was alone: it is the one that kills
                        yield Outcome(lost[0].sha256, lost[0].source, False,
                                      error="the worker process died while reading this input (a crash in a "
                                            "reader, or out of memory)")
                    else:
                        suspects.extend(lost)
                    log.warning("a worker process died; restarting the workers")
                    self._pool.shutdown(wait=False, cancel_futures=True)
                    self._pool = self._new_pool()
                if not in_flight:
                    on_trial = False
        except BaseException:   # Ctrl-C, or the consumer stopped early (GeneratorExit)
            self.close(kill=True)
            raise
        self.close()

    def close(self, kill: bool = False) -> None:
        """kill: stop the workers now; one may be hours into a long scan, and its result would be thrown away."""
        if self._pool is None:
            return
        if kill:
            for process in list((self._pool._processes or {}).values()):
                process.terminate()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool = None
