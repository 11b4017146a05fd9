"""Jobs: a store in SQL (SQLite by default, any SQLAlchemy URL) with uploads on disk, and a bounded worker pool.

Every extraction, the quick synchronous ones included, is a job run by the pool, so the number of extractions at once
is bounded and a document that crashes or hangs its worker process costs that job only:

    upload -> JobStore.create (file in data_dir/uploads, row 'queued') -> a Slot claims it ('running', with a lease)
           -> its worker process (service.api.worker) extracts
           -> 'done' with the result JSON, or 'failed' with a message

Several servers may share one database (and data directory), as job queues do: a running job carries a lease (the
claiming server's id and an expiry that server's heartbeat keeps pushing forward). A job is claimed only while
queued or when its lease has expired (its server died), with SELECT ... FOR UPDATE SKIP LOCKED on PostgreSQL and a
conditional UPDATE (one writer at a time) on SQLite, so no job runs twice at once. A job whose worker or server dies
under it runs again, up to max_attempts runs. A restart loses nothing: rows and uploads persist.
"""
from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import (Float, Integer, String, Text, and_, create_engine, event, func, inspect, or_, select, text,
                        update)
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
    owner: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)  # the client key's hash
    worker: Mapped[str | None] = mapped_column(String(128), nullable=True)  # the server holding the lease
    lease_until: Mapped[float | None] = mapped_column(Float, nullable=True)


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
    owner: str | None = None

    @classmethod
    def of(cls, row: JobRow) -> Job:
        return cls(id=row.id, state=row.state, name=row.name, kind=row.kind, size=row.size, pages=row.pages,
                   pages_done=row.pages_done, progress=row.progress, attempts=row.attempts, error=row.error,
                   seconds=row.seconds, created_at=row.created_at, started_at=row.started_at,
                   finished_at=row.finished_at, has_result=row.result is not None, owner=row.owner)


class QueueFull(Exception):
    pass


class JobStore:
    def __init__(self, url: str, upload_dir: Path):
        self.upload_dir = upload_dir
        self.upload_dir.mkdir(parents=True, exist_ok=True)
        sqlite = url.startswith("sqlite")
        self.engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False} if sqlite else {},
                                    pool_pre_ping=not sqlite)
        self.skip_locked = self.engine.dialect.name == "postgresql"
        if sqlite:
            # WAL lets readers (status polls) go on while a worker writes a result.
            @event.listens_for(self.engine, "connect")
            def _pragmas(conn, _record):
                cur = conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
                cur.close()
        Base.metadata.create_all(self.engine)
        self._add_missing_columns()
        self._admit = threading.Lock()  # the queue-length check and the insert happen as one step

    def _add_missing_columns(self) -> None:
        """A database made by an older version lacks the newer (nullable) columns: add them."""
        have = {c["name"] for c in inspect(self.engine).get_columns(JobRow.__tablename__)}
        with self.engine.begin() as conn:
            for column in JobRow.__table__.columns:
                if column.name not in have:
                    kind = column.type.compile(self.engine.dialect)
                    conn.execute(text(f"ALTER TABLE {JobRow.__tablename__} ADD COLUMN {column.name} {kind}"))

    def upload_path(self, job_id: str) -> Path:
        return self.upload_dir / job_id

    # -- writes ----------------------------------------------------------------------------------------------------
    def create(self, data: bytes, name: str, kind: str, pages: int, max_active: int, owner: str | None = None) -> Job:
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
                         pages_done=0, progress=0.0, attempts=0, created_at=time.time(), owner=owner)
            s.add(row)
            s.commit()
            return Job.of(row)

    def claim_next(self, worker: str, lease_s: float, max_attempts: int) -> Job | None:
        """The oldest job that is queued, or running under an expired lease (its server died), now running under
        `worker`'s lease. A job whose runs are used up fails instead."""
        now = time.time()
        # A running row without a lease was left by a version before leases: as good as expired.
        expired = or_(JobRow.lease_until.is_(None), JobRow.lease_until < now)
        takeable = or_(JobRow.state == "queued", and_(JobRow.state == "running", expired))
        with Session(self.engine) as s:
            q = select(JobRow.id, JobRow.state, JobRow.attempts).where(takeable).order_by(JobRow.created_at)
            if self.skip_locked:  # rows another server is claiming right now are passed over, not waited for
                q = q.limit(1).with_for_update(skip_locked=True)
            else:  # SQLite: one writer at a time; the conditional update below is the claim
                q = q.limit(5)
            for _ in range(5):   # a few rounds: a round may only fail jobs that used up their runs
                rows = s.execute(q).all()
                if not rows:
                    return None
                for job_id, state, attempts in rows:
                    if state == "running" and attempts >= max_attempts:
                        s.execute(update(JobRow).where(JobRow.id == job_id, takeable).values(
                            state="failed", worker=None, lease_until=None, finished_at=now,
                            error=f"gave up after {attempts} attempts: the server running it stopped each time"))
                        s.commit()
                        continue
                    claimed = s.execute(update(JobRow).where(JobRow.id == job_id, takeable).values(
                        state="running", worker=worker, lease_until=now + lease_s, started_at=now, progress=0.0,
                        pages_done=0, attempts=JobRow.attempts + 1))
                    s.commit()
                    if claimed.rowcount == 1:
                        if state == "running":
                            log.warning("job %s: its server's lease expired; taken over (run %d)", job_id,
                                        attempts + 1)
                        return Job.of(s.get(JobRow, job_id, populate_existing=True))
        return None

    def heartbeat(self, worker: str, lease_s: float) -> int:
        """Extend the lease of every job `worker` runs; returns how many."""
        with Session(self.engine) as s:
            n = s.execute(update(JobRow).where(JobRow.worker == worker, JobRow.state == "running")
                          .values(lease_until=time.time() + lease_s)).rowcount
            s.commit()
        return n

    def set_progress(self, job_id: str, worker: str, progress: float, pages_done: int) -> None:
        self._update(job_id, worker, progress=progress, pages_done=pages_done)

    def finish(self, job_id: str, worker: str, result_json: str, seconds: float, pages: int,
               frames: list | None = None) -> bool:
        """False when the job is no longer ours (deleted, or taken over after our lease expired)."""
        return self._update(job_id, worker, state="done", result=result_json, seconds=seconds, progress=1.0,
                            pages=pages, pages_done=pages, finished_at=time.time(), lease_until=None,
                            frames=json.dumps(frames) if frames else None)

    def fail(self, job_id: str, message: str, seconds: float | None = None, worker: str | None = None) -> bool:
        return self._update(job_id, worker, state="failed", error=message, seconds=seconds, finished_at=time.time(),
                            lease_until=None)

    def retry_or_fail(self, job_id: str, worker: str, message: str, max_attempts: int,
                      seconds: float | None = None) -> str:
        """After the job's worker died under it: queued again while it has runs left, else failed."""
        job = self.get(job_id)
        if job is None:
            return "deleted"
        if job.attempts < max_attempts:
            self._update(job_id, worker, state="queued", worker=None, lease_until=None, progress=0.0, pages_done=0)
            return "queued"
        self.fail(job_id, f"{message} (gave up after {job.attempts} attempts)", seconds, worker)
        return "failed"

    def release(self, job_id: str, worker: str) -> bool:
        """The server is stopping: the job goes back to the queue, and this run does not count as an attempt."""
        return self._update(job_id, worker, state="queued", worker=None, lease_until=None, progress=0.0,
                            pages_done=0, attempts=JobRow.attempts - 1)

    def _update(self, job_id: str, holder: str | None, **values) -> bool:
        """Update a running job; with `holder`, only while that server holds its lease."""
        with Session(self.engine) as s:
            q = update(JobRow).where(JobRow.id == job_id, JobRow.state == "running")
            if holder:
                q = q.where(JobRow.worker == holder)
            n = s.execute(q.values(**values)).rowcount
            s.commit()
        return n == 1

    def remove_orphans(self, min_age_s: float = 60.0) -> int:
        """Upload files no job row points at (a crash between writing the file and the row, or mid-write): gone.
        Young files are left alone: another server on this data directory may be writing them right now."""
        cutoff = time.time() - min_age_s
        old = {}
        for path in self.upload_dir.iterdir():
            try:
                if path.is_file() and path.stat().st_mtime < cutoff:
                    old[path] = path.name.removesuffix(".part")
            except FileNotFoundError:
                continue
        known: set[str] = set()
        ids = sorted(set(old.values()))
        with Session(self.engine) as s:
            for i in range(0, len(ids), 500):
                known.update(s.scalars(select(JobRow.id).where(JobRow.id.in_(ids[i:i + 500]))))
        removed = 0
        for path, job_id in old.items():
            if path.suffix == ".part" or job_id not in known:
                path.unlink(missing_ok=True)
                removed += 1
        return removed

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

    def recent(self, state: str | None = None, limit: int = 50, owner: str | None = None) -> list[Job]:
        """The newest jobs; with `owner`, only that owner's."""
        with Session(self.engine) as s:
            q = select(JobRow).order_by(JobRow.created_at.desc()).limit(limit)
            if state:
                q = q.where(JobRow.state == state)
            if owner:
                q = q.where(JobRow.owner == owner)
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
        while not self.pool.draining.is_set():
            job = None
            try:
                if self.process is None and not self._start_process():
                    self.pool.draining.wait(5)
                    continue
                job = self.pool.claim()
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
                self.pool.draining.wait(1)
        self._kill()

    def _start_process(self) -> bool:
        from service.api.worker import worker_main

        ctx = worker_context(self.settings.classifier)
        parent, child = ctx.Pipe()
        options = {"classifier": self.settings.classifier, "device": self.settings.device}
        self.process = ctx.Process(target=worker_main, args=(child, options), name=self.name, daemon=True)
        self.process.start()
        child.close()
        self.conn = parent
        # Models load before the first job, so their loading does not count against a job's time.
        deadline = time.monotonic() + MODEL_LOAD_S
        while not parent.poll(0.5):
            if self.pool.draining.is_set() or time.monotonic() > deadline or not self.process.is_alive():
                if not self.pool.draining.is_set():
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
        store, me = self.pool.store, self.pool.worker_id
        self.current, self.cancelled = job.id, False
        start = time.perf_counter()
        deadline = start + self.settings.job_timeout_s
        try:
            self.conn.send(("run", job.id, str(store.upload_path(job.id)), job.name,
                            self.pool.limits_dict(), self.settings.slow_down_s))
            while True:
                if self.cancelled:
                    self._kill()
                    return
                if self.pool.draining.is_set() and time.monotonic() >= self.pool.stop_deadline:
                    # The server is stopping and the job did not end within the grace time: back to the queue.
                    self._kill()
                    store.release(job.id, me)
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
                    store.set_progress(job.id, me, message[1], message[2])
                    continue
                if message[0] == "done":
                    _, result_json, seconds, pages, frames = message
                    if store.finish(job.id, me, result_json, seconds, pages, frames):
                        self.pool.observe("done", seconds)
                    else:
                        log.warning("job %s ended here but is no longer ours (deleted or taken over)", job.id)
                else:
                    self._fail(job, message[1], message[2])
                return
        except (EOFError, OSError):
            if self.process is not None:
                self.process.join(2)
            code = self.process.exitcode if self.process else None
            how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
            self._kill()
            # The OOM killer or an operator may have ended it: the job runs again while it has runs left.
            outcome = store.retry_or_fail(
                job.id, me, f"the worker process died while extracting ({how}); the document may be malformed, "
                            f"or the worker ran out of memory", self.settings.max_attempts,
                time.perf_counter() - start)
            if outcome == "failed":
                self.pool.observe("failed", time.perf_counter() - start)
            elif outcome == "queued":
                log.warning("job %s: its worker died (%s); queued again", job.id, how)
                self.pool.notify()
        finally:
            self.current = None
            self.pool.resolve(job.id)

    def _fail(self, job: Job, message: str, seconds: float | None) -> None:
        self.pool.store.fail(job.id, message, seconds, self.pool.worker_id)
        self.pool.observe("failed", seconds)

    def _try_fail(self, job_id: str, message: str) -> None:
        try:
            self.pool.store.fail(job_id, message, worker=self.pool.worker_id)
        except Exception:  # the database itself is the trouble: the lease expires and the job runs again
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


def worker_context(classifier: str):
    """Workers are forked from a fork server that imported the pipeline (and torch, when the model is used) once:
    never forked from the server itself, which runs threads. The fork server ends when the server does, and its
    children with it (service.api.worker.tie_to_parent)."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["service.api.preload" if classifier == "fuzzy" else "service.api.preload_model"])
    return ctx


def start_fork_server(classifier: str) -> None:
    """Start the fork server (and its seconds of imports) now, alongside the server's own start."""
    from multiprocessing import forkserver

    worker_context(classifier)
    forkserver.ensure_running()


class WorkerPool:
    """A fixed number of slots, woken when a job is queued; `wait` lets a request await a job's end.

    The pool holds the lease of the jobs its slots run: a heartbeat thread extends them every lease_s / 3."""

    def __init__(self, settings: Settings, store: JobStore, observe: Callable[[str, float | None], None]):
        self.settings = settings
        self.store = store
        self.observe = observe
        self.worker_id = f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex[:8]}"
        self.draining = threading.Event()   # stop taking work (set first, by the signal)
        self.stop_deadline = float("inf")   # running jobs not done by then go back to the queue
        self._work = threading.Condition()
        self._waiters: dict[str, list[tuple[asyncio.AbstractEventLoop, asyncio.Future]]] = {}
        self._lock = threading.Lock()
        self.slots = [Slot(i, self) for i in range(settings.workers)]
        self._heart = threading.Thread(target=self._heartbeat, name="nianbao-heartbeat", daemon=True)
        self._pruned_at = time.monotonic()

    def start(self) -> None:
        self._heart.start()
        for slot in self.slots:
            slot.start()

    def begin_stop(self) -> None:
        """Stop taking jobs; running ones get shutdown_grace_s to end. Requests waiting for a job are answered
        now (202 and the job), so the HTTP server need not wait for them."""
        with self._lock:
            if self.draining.is_set():
                return
            self.stop_deadline = time.monotonic() + self.settings.shutdown_grace_s
            self.draining.set()
            waiting = list(self._waiters)
        self.notify()
        for job_id in waiting:
            self.resolve(job_id)

    def stop(self) -> None:
        self.begin_stop()
        for slot in self.slots:
            slot.join(self.settings.shutdown_grace_s + 10)
        self._heart.join(2)

    @property
    def ready(self) -> int:
        return sum(slot.ready for slot in self.slots)

    def claim(self) -> Job | None:
        return self.store.claim_next(self.worker_id, self.settings.lease_s, self.settings.max_attempts)

    def _heartbeat(self) -> None:
        while not self.draining.wait(self.settings.lease_s / 3):
            try:
                self.store.heartbeat(self.worker_id, self.settings.lease_s)
            except Exception:  # the database is away: if it stays away past the lease, another server takes over
                log.exception("heartbeat failed")
        # Stopping: leases stay fresh until the slots have ended or released their jobs.
        while any(slot.is_alive() for slot in self.slots):
            try:
                self.store.heartbeat(self.worker_id, self.settings.lease_s)
            except Exception:
                log.exception("heartbeat failed")
            time.sleep(min(1.0, self.settings.lease_s / 3))

    def limits_dict(self) -> dict:
        s = self.settings
        return {"max_bytes": s.max_upload_bytes, "max_pages": s.max_pages, "max_image_pixels": s.max_image_pixels,
                "max_total_pixels": s.max_total_pixels}

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
