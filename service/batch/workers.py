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
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

log = logging.getLogger("nianbao.batch")

CRASHES_BEFORE_FAILING = 2   # an input in flight when a worker died twice is taken to be the cause


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


def _init_worker(device: str, classifier: str) -> None:
    global _worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C is the main process's to handle
    logging.basicConfig(level=os.environ.get("NIANBAO_LOG", "WARNING"), format="%(levelname)s %(name)s: %(message)s")
    _worker = Worker(device, classifier)


def _run_job(job: Job) -> Outcome:
    return _worker.process(job.sha256, job.source, job.data)


class LocalRunner:
    def __init__(self, workers: int, device: str = "cpu", classifier: str = "auto"):
        self.workers = max(1, workers)
        self.device = device
        self.classifier = classifier
        self._pool: ProcessPoolExecutor | None = None

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn: workers start clean (no inherited SQLite handle or half-initialised torch threads).
        return ProcessPoolExecutor(self.workers, mp_context=get_context("spawn"), initializer=_init_worker,
                                   initargs=(self.device, self.classifier))

    def run(self, jobs: Iterable[Job], on_start=lambda job: None) -> Iterator[Outcome]:
        """Outcomes as they finish; at most 2 jobs per worker are held in memory at once."""
        jobs = iter(jobs)
        retry: deque[Job] = deque()
        crashes: dict[str, int] = {}
        in_flight: dict[Future, Job] = {}
        self._pool = self._new_pool()
        try:
            while True:
                while len(in_flight) < 2 * self.workers:
                    job = retry.popleft() if retry else next(jobs, None)
                    if job is None:
                        break
                    on_start(job)
                    in_flight[self._pool.submit(_run_job, job)] = job
                if not in_flight:
                    return
                finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                broken = False
                for future in finished:
                    job = in_flight.pop(future)
                    try:
                        yield future.result()
                    except BrokenProcessPool:
                        broken = True
                        crashes[job.sha256] = crashes.get(job.sha256, 0) + 1
                        if crashes[job.sha256] >= CRASHES_BEFORE_FAILING:
                            yield Outcome(job.sha256, job.source, False,
                                          error="a worker process died while reading this input "
                                                f"({crashes[job.sha256]} times)")
                        else:
                            retry.append(job)
                if broken:
                    # Every job still in flight went down with the pool: run them again on a fresh one.
                    for future, job in in_flight.items():
                        crashes[job.sha256] = crashes.get(job.sha256, 0) + 1
                        retry.append(job)
                    in_flight.clear()
                    self._pool.shutdown(wait=False, cancel_futures=True)
                    log.warning("a worker process died; restarting the pool and retrying %d inputs", len(retry))
                    self._pool = self._new_pool()
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
