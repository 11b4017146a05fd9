"""The worker process: builds one Pipeline (its models load once) and runs the jobs its slot sends it.

Messages over the pipe, parent -> worker: ("run", job_id, upload_path, name, limits, slow_down_s).
Worker -> parent: ("ready",) once, then per job ("progress", fraction, pages_done)* and
("done", result_json, seconds, pages, frames) or ("failed", message, seconds).
The worker exits when the pipe closes, and the kernel kills it when the server process dies (tie_to_parent).
"""
from __future__ import annotations

import inspect
import os
import signal
import time
from pathlib import Path

INTERNAL_ERROR = "internal error"  # how a failure message starts when the fault is ours, not the document's


def set_process_name(name: str) -> None:
    """Name the process in ps/top (Linux /proc/PID/comm, at most 15 bytes); best effort elsewhere."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(15, name.encode()[:15], 0, 0, 0)  # 15: PR_SET_NAME
    except (OSError, AttributeError):
        pass


def tie_to_parent(parent_pid: int | None = None) -> None:
    """Die with the parent (the server, or the fork server that ends with it): Linux sends SIGKILL to this process
    when its parent exits, however it exits (SIGKILL included), so no worker or sandbox process runs on after a
    crash. parent_pid: the parent expected, where known."""
    parent_pid = parent_pid or os.getppid()
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent_pid:  # the parent died before the line above
        os._exit(1)


def one_thread_each() -> None:
    """One compute thread per worker process: the pool runs one worker per core, and torch's OpenMP threads in
    every worker fighting over the same cores made a 50 ms text job take 0.5-2 s (measured). Set before torch and
    onnxruntime are imported."""
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = "1"


def _let_the_fork_server_end() -> None:
    """A child of multiprocessing's fork server inherits the pipe by which the fork server learns that the server
    has ended; held open here, it would keep the fork server (and so, through tie_to_parent, this worker) alive
    after a crash. Private to multiprocessing, hence the care."""
    try:
        from multiprocessing import forkserver

        fd = getattr(forkserver._forkserver, "_forkserver_alive_fd", None)
        if fd is not None:
            os.close(fd)
            forkserver._forkserver._forkserver_alive_fd = None
    except (AttributeError, OSError):
        pass


def worker_main(conn, options: dict) -> None:
    tie_to_parent()
    _let_the_fork_server_end()
    set_process_name("nianbao-worker")
    one_thread_each()
    try:
        from service.pipeline import Pipeline, PipelineOptions

        pipeline = Pipeline(PipelineOptions(**options))
    except Exception as error:
        conn.send(("failed", f"models did not load: {type(error).__name__}: {error}", None))
        return
    conn.send(("ready",))
    # A pipeline that reports progress per page gets a callback; one that does not is run as it is.
    takes_progress = "progress" in inspect.signature(pipeline.run).parameters
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        _, _job_id, upload, name, limits, slow_down_s = message
        try:
            conn.send(run_job(pipeline, takes_progress, conn, Path(upload), name, limits, slow_down_s))
        except (BrokenPipeError, OSError):
            return


def run_job(pipeline, takes_progress: bool, conn, upload: Path, name: str, limits: dict, slow_down_s: float):
    from service.document import InputError
    from service.ingest import Limits, load_source

    start = time.perf_counter()
    try:
        source = load_source(upload.read_bytes(), name=name, limits=Limits(**limits))
        if slow_down_s:
            time.sleep(slow_down_s)
        conn.send(("progress", 0.05, 0))
        if takes_progress:
            result = pipeline.run(source, progress=lambda done, total: conn.send(
                ("progress", round(0.05 + 0.9 * done / max(total, 1), 3), done)))
        else:
            result = pipeline.run(source)
        return ("done", result.model_dump_json(), time.perf_counter() - start, result.source.pages,
                ocr_frames(pipeline, result))
    except InputError as error:
        return "failed", str(error), time.perf_counter() - start
    except MemoryError:
        return "failed", "the document needs more memory than this worker has", time.perf_counter() - start
    except Exception as error:  # one document's bug must not end the worker
        return ("failed", f"{INTERNAL_ERROR} while extracting: {type(error).__name__}: {error}",
                time.perf_counter() - start)


def ocr_frames(pipeline, result) -> list[dict] | None:
    """For OCR results: each page's box frame (the page image the scan reader read), so the review page can draw
    the boxes on its own rendering of the page (service.api.render). The scan reader keeps per-page facts of its
    last read (dpi, size before any turn, quarter turn applied); the frame is that size, turned."""
    if result.source.method != "ocr":
        return None
    pages = getattr(getattr(pipeline, "_scanner", None), "pages", None) or []
    frames = []
    for p in pages:
        rotation = int(p.get("rotation", 0)) % 360
        w, h = (p["height"], p["width"]) if rotation in (90, 270) else (p["width"], p["height"])
        frames.append({"page": p["page"], "width": w, "height": h, "rotation": rotation})
    return frames or None
