"""Jobs: a store in SQL (SQLite by default, any SQLAlchemy URL) with uploads on disk, and a bounded worker pool.

Every extraction, the quick synchronous ones included, is a job run by the pool, so the number of extractions at once
is bounded and a document that crashes or hangs its worker process costs that job only:

    upload -> JobStore.create (file in data_dir/uploads, row 'queued') -> a Slot claims it ('running')
           -> its worker process (service.api.worker) extracts
           -> 'done' with the result JSON, or 'failed' with a message

A restart loses nothing: rows and uploads persist, and jobs left 'running' by a dead server are queued again at start.
"""
from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Float, Integer, String, Text, create_engine, event, func, select, update
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from service.api.settings import Settings
from service.api.worker import INTERNAL_ERROR

log = logging.getLogger("nianbao.api")

STATES = ("queued", "running", "done", "failed")
MODEL_LOAD_S = 300.0  # a worker that has not loaded its models by then is restarted
FINAL = ("done", "failed")


class Base(DeclarativeBase):
    pass


class JobRow(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    name: Mapped[str] = mapped_column(String(512))
    kind: Mapped[str] = mapped_column(String(16))
    size: Mapped[int] = mapped_column(Integer)
    pages: Mapped[int] = mapped_column(Integer, default=1)
    pages_done: Mapped[int] = mapped_column(Integer, default=0)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    result: Mapped[str | None] = mapped_column(Text, nullable=True)  # the ExtractionResult as JSON
    frames: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON: OCR pages' box frames (render.py)
    seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[float] = mapped_column(Float, index=True)
    started_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    finished_at: Mapped[float | None] = mapped_column(Float, nullable=True)


@dataclass(frozen=True)
class Job:
    """A snapshot of one row, safe to pass between threads."""
    id: str
    state: str
    name: str
    kind: str
    size: int
    pages: int
    pages_done: int
    progress: float
    attempts: int
    error: str | None
    seconds: float | None
    created_at: float
    started_at: float | None
    finished_at: float | None
    has_result: bool

    @classmethod
    def of(cls, row: JobRow) -> Job:
        return cls(id=row.id, state=row.state, name=row.name, kind=row.kind, size=row.size, pages=row.pages,
                   pages_done=row.pages_done, progress=row.progress, attempts=row.attempts, error=row.error,
                   seconds=row.seconds, created_at=row.created_at, started_at=row.started_at,
                   finished_at=row.finished_at, has_result=row.result is not None)


class QueueFull(Exception):
    pass


class JobStore:
    def __init__(self, url: str, upload_dir: Path):
        self.upload_dir = upload_dir
        self.upload_dir.mkdir(parents=True, exist_ok=True)
        sqlite = url.startswith("sqlite")
        self.engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False} if sqlite else {},
                                    pool_pre_ping=not sqlite)
        if sqlite:
            # WAL lets readers (status polls) go on while a worker writes a result.
            @event.listens_for(self.engine, "connect")
            def _pragmas(conn, _record):
                cur = conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
                cur.close()
        Base.metadata.create_all(self.engine)
        self._admit = threading.Lock()  # the queue-length check and the insert happen as one step

    def upload_path(self, job_id: str) -> Path:
        return self.upload_dir / job_id

    # -- writes ----------------------------------------------------------------------------------------------------
    def create(self, data: bytes, name: str, kind: str, pages: int, max_active: int) -> Job:
        job_id = uuid.uuid4().hex
        path = self.upload_path(job_id)
        tmp = path.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(path)  # the row never points at half a file
        with self._admit, Session(self.engine) as s:
            if self._active(s) >= max_active:
                path.unlink(missing_ok=True)
                raise QueueFull(f"too many jobs: {max_active} are queued or running; try again later")
            row = JobRow(id=job_id, state="queued", name=name, kind=kind, size=len(data), pages=pages,
                         pages_done=0, progress=0.0, attempts=0, created_at=time.time())
            s.add(row)
            s.commit()
            return Job.of(row)

    def claim_next(self) -> Job | None:
        """The oldest queued job, now marked running; the conditional update makes a double claim impossible."""
        with Session(self.engine) as s:
            for job_id in s.scalars(select(JobRow.id).where(JobRow.state == "queued")
                                    .order_by(JobRow.created_at).limit(5)):
                claimed = s.execute(update(JobRow).where(JobRow.id == job_id, JobRow.state == "queued")
                                    .values(state="running", started_at=time.time(), attempts=JobRow.attempts + 1))
                s.commit()
                if claimed.rowcount == 1:
                    return Job.of(s.get(JobRow, job_id, populate_existing=True))
        return None

    def set_progress(self, job_id: str, progress: float, pages_done: int) -> None:
        self._update(job_id, "running", progress=progress, pages_done=pages_done)

    def finish(self, job_id: str, result_json: str, seconds: float, pages: int, frames: list | None = None) -> None:
        self._update(job_id, "running", state="done", result=result_json, seconds=seconds, progress=1.0,
                     pages=pages, pages_done=pages, finished_at=time.time(),
                     frames=json.dumps(frames) if frames else None)

    def fail(self, job_id: str, message: str, seconds: float | None = None) -> None:
        self._update(job_id, None, state="failed", error=message, seconds=seconds, finished_at=time.time())

    def _update(self, job_id: str, only_in_state: str | None, **values) -> None:
        with Session(self.engine) as s:
            q = update(JobRow).where(JobRow.id == job_id)
            if only_in_state:
                q = q.where(JobRow.state == only_in_state)
            s.execute(q.values(**values))
            s.commit()

    def requeue_unfinished(self, max_attempts: int) -> tuple[int, int]:
        """At start: jobs a dead server left running go back to the queue, unless they already had their tries
        (a job that brings the whole server down must not do it forever). Returns (requeued, given up)."""
        with Session(self.engine) as s:
            gave_up = s.execute(update(JobRow).where(JobRow.state == "running", JobRow.attempts >= max_attempts)
                                .values(state="failed", finished_at=time.time(),
                                        error=f"gave up after {max_attempts} attempts: the service stopped "
                                              f"while this job ran, each time")).rowcount
            requeued = s.execute(update(JobRow).where(JobRow.state == "running")
                                 .values(state="queued", progress=0.0, pages_done=0)).rowcount
            s.commit()
        return requeued, gave_up

    def delete(self, job_id: str) -> bool:
        with Session(self.engine) as s:
            row = s.get(JobRow, job_id)
            if row is None:
                return False
            s.delete(row)
            s.commit()
        self.upload_path(job_id).unlink(missing_ok=True)
        return True

    def prune(self, older_than_s: float) -> int:
        cutoff = time.time() - older_than_s
        with Session(self.engine) as s:
            ids = list(s.scalars(select(JobRow.id).where(JobRow.state.in_(FINAL), JobRow.finished_at < cutoff)))
        for job_id in ids:
            self.delete(job_id)
        return len(ids)

    # -- reads -----------------------------------------------------------------------------------------------------
    def get(self, job_id: str) -> Job | None:
        with Session(self.engine) as s:
            row = s.get(JobRow, job_id)
            return Job.of(row) if row else None

    def recent(self, state: str | None = None, limit: int = 50) -> list[Job]:
        with Session(self.engine) as s:
            q = select(JobRow).order_by(JobRow.created_at.desc()).limit(limit)
            if state:
                q = q.where(JobRow.state == state)
            return [Job.of(row) for row in s.scalars(q)]

    def result(self, job_id: str) -> str | None:
        with Session(self.engine) as s:
            return s.scalar(select(JobRow.result).where(JobRow.id == job_id))

    def frames(self, job_id: str) -> list[dict] | None:
        with Session(self.engine) as s:
            text = s.scalar(select(JobRow.frames).where(JobRow.id == job_id))
        return json.loads(text) if text else None

    def counts(self) -> dict[str, int]:
        with Session(self.engine) as s:
            found = dict(s.execute(select(JobRow.state, func.count()).group_by(JobRow.state)).all())
        return {state: found.get(state, 0) for state in STATES}

    def _active(self, s: Session) -> int:
        return s.scalar(select(func.count()).where(JobRow.state.in_(("queued", "running"))))

    def ping(self) -> bool:
        try:
            with Session(self.engine) as s:
                s.execute(select(1))
            return True
        except Exception:
            return False


# --- the pool ------------------------------------------------------------------------------------------------------

class Slot(threading.Thread):
    """One place in the pool: a thread that owns one worker process, feeds it jobs and watches it.

    The process is killed and replaced when it dies, overruns the time limit, or its job is deleted while running.
    """

    def __init__(self, number: int, pool: WorkerPool):
        super().__init__(name=f"nianbao-slot-{number}", daemon=True)
        self.pool = pool
        self.settings = pool.settings
        self.process = None
        self.conn = None
        self.ready = False
        self.current: str | None = None
        self.cancelled = False

    def run(self) -> None:
        while not self.pool.stopping.is_set():
            job = None
            try:
                if self.process is None and not self._start_process():
                    self.pool.stopping.wait(5)
                    continue
                job = self.pool.store.claim_next()
                if job is None:
                    self.pool.housekeeping()
                    self.pool.wait_for_work(1.0)
                    continue
                self._run(job)
            except Exception as error:  # the slot itself must never die: log, fail the job, go on afresh
                log.exception("worker slot %s failed", self.name)
                self._kill()
                if job is not None:
                    self._try_fail(job.id, f"{INTERNAL_ERROR} in the job runner: {type(error).__name__}: {error}")
                self.pool.stopping.wait(1)
        self._kill()

    def _start_process(self) -> bool:
        from service.api.worker import worker_main

        ctx = multiprocessing.get_context("spawn")  # never fork a process that runs threads
        parent, child = ctx.Pipe()
        options = {"classifier": self.settings.classifier, "device": self.settings.device}
        self.process = ctx.Process(target=worker_main, args=(child, options), name=self.name, daemon=True)
        self.process.start()
        child.close()
        self.conn = parent
        # Models load before the first job, so their loading does not count against a job's time.
        deadline = time.monotonic() + MODEL_LOAD_S
        while not parent.poll(0.5):
            if self.pool.stopping.is_set() or time.monotonic() > deadline or not self.process.is_alive():
                if not self.pool.stopping.is_set():
                    log.error("worker did not load its models (exit code %s)", self.process.exitcode)
                self._kill()
                return False
        try:
            message = parent.recv()
        except (EOFError, OSError):
            message = ("failed", "the worker process exited while loading models")
        if message[0] == "ready":
            self.ready = True
            return True
        log.error("worker could not start: %s", message[1])
        self._kill()
        return False

    def _run(self, job: Job) -> None:
        self.current, self.cancelled = job.id, False
        start = time.perf_counter()
        deadline = start + self.settings.job_timeout_s
        try:
            self.conn.send(("run", job.id, str(self.pool.store.upload_path(job.id)), job.name,
                            self.pool.limits_dict(), self.settings.slow_down_s))
            while True:
                if self.cancelled or self.pool.stopping.is_set():
                    # Deleted, or the server is stopping: a stopped job stays 'running' and is queued again at start.
                    self._kill()
                    return
                left = deadline - time.perf_counter()
                if left <= 0:
                    self._kill()
                    self._fail(job, f"stopped after {self.settings.job_timeout_s:g} s: the time limit per job",
                               time.perf_counter() - start)
                    return
                if not self.conn.poll(min(left, 0.25)):
                    continue
                message = self.conn.recv()
                if message[0] == "progress":
                    self.pool.store.set_progress(job.id, message[1], message[2])
                    continue
                if message[0] == "done":
                    _, result_json, seconds, pages, frames = message
                    self.pool.store.finish(job.id, result_json, seconds, pages, frames)
                    self.pool.observe("done", seconds)
                else:
                    self._fail(job, message[1], message[2])
                return
        except (EOFError, OSError):
            if self.process is not None:
                self.process.join(2)
            code = self.process.exitcode if self.process else None
            how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
            self._kill()
            self._fail(job, f"the worker process died while extracting ({how}); the document may be malformed, "
                            f"or the worker ran out of memory", time.perf_counter() - start)
        finally:
            self.current = None
            self.pool.resolve(job.id)

    def _fail(self, job: Job, message: str, seconds: float | None) -> None:
        self.pool.store.fail(job.id, message, seconds)
        self.pool.observe("failed", seconds)

    def _try_fail(self, job_id: str, message: str) -> None:
        try:
            self.pool.store.fail(job_id, message)
        except Exception:  # the database itself is the trouble: the job is queued again at the next start
            log.exception("could not mark job %s failed", job_id)
        self.pool.resolve(job_id)

    def _kill(self) -> None:
        self.ready = False
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        if self.process is not None:
            if self.process.is_alive():
                self.process.kill()
            self.process.join(5)
            self.process = None


class WorkerPool:
    """A fixed number of slots, woken when a job is queued; `wait` lets a request await a job's end."""

    def __init__(self, settings: Settings, store: JobStore, observe: Callable[[str, float | None], None]):
        self.settings = settings
        self.store = store
        self.observe = observe
        self.stopping = threading.Event()
        self._work = threading.Condition()
        self._waiters: dict[str, list[tuple[asyncio.AbstractEventLoop, asyncio.Future]]] = {}
        self._lock = threading.Lock()
        self.slots = [Slot(i, self) for i in range(settings.workers)]
        self._pruned_at = time.monotonic()

    def start(self) -> None:
        for slot in self.slots:
            slot.start()

    def stop(self) -> None:
        self.stopping.set()
        self.notify()
        for slot in self.slots:
            slot.join(10)

    @property
    def ready(self) -> int:
        return sum(slot.ready for slot in self.slots)

    def limits_dict(self) -> dict:
        s = self.settings
        return {"max_bytes": s.max_upload_bytes, "max_pages": s.max_pages, "max_image_pixels": s.max_image_pixels}

    def housekeeping(self) -> None:
        """Hourly, from an idle slot: finished jobs older than keep_hours go, with their uploads."""
        with self._lock:
            if time.monotonic() - self._pruned_at < 3600:
                return
            self._pruned_at = time.monotonic()
        removed = self.store.prune(self.settings.keep_hours * 3600)
        if removed:
            log.info("deleted %d finished jobs older than %g hours", removed, self.settings.keep_hours)

    # -- waking ----------------------------------------------------------------------------------------------------
    def notify(self) -> None:
        with self._work:
            self._work.notify_all()

    def wait_for_work(self, timeout: float) -> None:
        with self._work:
            self._work.wait(timeout)

    def cancel(self, job_id: str) -> None:
        for slot in self.slots:
            if slot.current == job_id:
                slot.cancelled = True

    # -- awaiting a job --------------------------------------------------------------------------------------------
    def expect(self, job_id: str) -> asyncio.Future:
        """A future resolved when the job ends; take it before the job can start, then await it."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        with self._lock:
            self._waiters.setdefault(job_id, []).append((loop, future))
        return future

    def forget(self, job_id: str) -> None:
        with self._lock:
            self._waiters.pop(job_id, None)

    def resolve(self, job_id: str) -> None:
        with self._lock:
            waiters = self._waiters.pop(job_id, [])
        for loop, future in waiters:
            loop.call_soon_threadsafe(lambda f=future: f.done() or f.set_result(None))
