"""The job store's queue semantics, on SQLite (the embedded default) and on PostgreSQL (a schema of its own on the
local server): claims are exclusive across stores (servers), a live lease is never taken, an expired one is, a job
gets max_attempts runs, a stopping server's job goes back to the queue, orphaned uploads go."""
from __future__ import annotations

import os
import threading
import time

import pytest

from service.api.jobs import JobStore, QueueFull
from tests.api_support import pg_schema_url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
        return
    url, drop = pg_schema_url()
    if url is None:
        pytest.skip(drop)
    yield url
    drop()


def stores(db_url, tmp_path, n=2) -> list[JobStore]:
    return [JobStore(db_url, tmp_path / "uploads") for _ in range(n)]


def test_concurrent_claims_from_two_stores_take_each_job_once(db_url, tmp_path):
    a, b = stores(db_url, tmp_path)
    ids = {a.create(b"x", f"{i}.txt", "text", 1, max_active=100).id for i in range(40)}
    claimed: list[tuple[str, str]] = []
    lock = threading.Lock()

    def drain(store: JobStore, worker: str):
        while (job := store.claim_next(worker, lease_s=60, max_attempts=3)) is not None:
            with lock:
                claimed.append((job.id, worker))

    threads = [threading.Thread(target=drain, args=(s, f"w{i}-{k}")) for i, s in enumerate((a, b)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(job_id for job_id, _ in claimed) == sorted(ids)   # every job, none twice
    assert len({w for _, w in claimed}) > 1
    assert all(a.get(job_id).attempts == 1 for job_id in ids)


def test_live_lease_is_kept_expired_lease_is_taken_over(db_url, tmp_path):
    a, b = stores(db_url, tmp_path)
    job = a.create(b"x", "a.txt", "text", 1, max_active=10)
    assert a.claim_next("server-a", lease_s=1.0, max_attempts=3).id == job.id
    for _ in range(3):   # server a's heartbeat keeps its lease alive past the first expiry
        time.sleep(0.5)
        assert a.heartbeat("server-a", lease_s=1.0) == 1
        assert b.claim_next("server-b", lease_s=1.0, max_attempts=3) is None
    time.sleep(1.2)   # server a died: no heartbeat
    taken = b.claim_next("server-b", lease_s=30, max_attempts=3)
    assert taken.id == job.id and taken.attempts == 2
    assert not a.finish(job.id, "server-a", "{}", 0.1, 1)   # the late result of the dead run is not kept
    assert b.finish(job.id, "server-b", '{"ok": 1}', 0.1, 1)
    assert b.get(job.id).state == "done" and b.result(job.id) == '{"ok": 1}'


def test_a_job_gets_max_attempts_runs(db_url, tmp_path):
    [store] = stores(db_url, tmp_path, 1)
    job = store.create(b"x", "a.txt", "text", 1, max_active=10)
    for attempt in (1, 2):
        claimed = store.claim_next("w", lease_s=0.05, max_attempts=2)
        assert claimed.id == job.id and claimed.attempts == attempt
        time.sleep(0.1)
    assert store.claim_next("w", lease_s=0.05, max_attempts=2) is None
    gone = store.get(job.id)
    assert gone.state == "failed" and "gave up after 2 attempts" in gone.error


def test_a_dead_worker_requeues_until_the_last_attempt(db_url, tmp_path):
    [store] = stores(db_url, tmp_path, 1)
    job = store.create(b"x", "a.txt", "text", 1, max_active=10)
    store.claim_next("w", lease_s=60, max_attempts=2)
    assert store.retry_or_fail(job.id, "w", "worker died", max_attempts=2) == "queued"
    assert store.claim_next("w", lease_s=60, max_attempts=2).attempts == 2
    assert store.retry_or_fail(job.id, "w", "worker died", max_attempts=2) == "failed"
    assert store.get(job.id).error == "worker died (gave up after 2 attempts)"


def test_a_stopping_server_releases_its_job_without_using_an_attempt(db_url, tmp_path):
    a, b = stores(db_url, tmp_path)
    job = a.create(b"x", "a.txt", "text", 1, max_active=10)
    a.claim_next("server-a", lease_s=60, max_attempts=3)
    assert not b.release(job.id, "server-b")   # only the lease holder can
    assert a.release(job.id, "server-a")
    again = b.claim_next("server-b", lease_s=60, max_attempts=3)
    assert again.id == job.id and again.attempts == 1


def test_queue_limit_owner_listing_and_prune(db_url, tmp_path):
    [store] = stores(db_url, tmp_path, 1)
    mine = store.create(b"a", "a.txt", "text", 1, max_active=3, owner="alice")
    store.create(b"b", "b.txt", "text", 1, max_active=3, owner="bob")
    store.create(b"c", "c.txt", "text", 1, max_active=3, owner="bob")
    with pytest.raises(QueueFull):
        store.create(b"d", "d.txt", "text", 1, max_active=3)
    assert len(list((tmp_path / "uploads").iterdir())) == 3   # the refused upload is not kept
    assert [j.id for j in store.recent(owner="alice")] == [mine.id] and len(store.recent()) == 3
    assert store.claim_next("w", 60, 3).id == mine.id   # oldest first
    assert store.finish(mine.id, "w", "{}", 0.1, 1)
    assert store.counts() == {"queued": 2, "running": 0, "done": 1, "failed": 0}
    assert store.prune(older_than_s=-1) == 1 and not store.upload_path(mine.id).exists()


def test_orphaned_uploads_are_removed_young_files_and_live_jobs_kept(db_url, tmp_path):
    [store] = stores(db_url, tmp_path, 1)
    job = store.create(b"kept", "a.txt", "text", 1, max_active=10)
    uploads = tmp_path / "uploads"
    orphan, half, young = uploads / ("f" * 32), uploads / ("e" * 32 + ".part"), uploads / ("d" * 32)
    for path in (orphan, half, young):
        path.write_bytes(b"x" * 1000)
    old = time.time() - 3600
    for path in (orphan, half, store.upload_path(job.id)):
        os.utime(path, (old, old))
    assert store.remove_orphans(min_age_s=60) == 2
    assert sorted(p.name for p in uploads.iterdir()) == sorted([job.id, young.name])


def test_a_job_left_running_by_a_version_without_leases_is_taken(db_url, tmp_path):
    from sqlalchemy import update

    from service.api.jobs import JobRow

    [store] = stores(db_url, tmp_path, 1)
    job = store.create(b"x", "a.txt", "text", 1, max_active=10)
    with store.engine.begin() as conn:
        conn.execute(update(JobRow).where(JobRow.id == job.id).values(state="running", attempts=1))
    taken = store.claim_next("w", lease_s=60, max_attempts=3)
    assert taken.id == job.id and taken.attempts == 2


def test_a_database_from_before_leases_gets_the_new_columns(db_url, tmp_path):
    from sqlalchemy import inspect, text

    [store] = stores(db_url, tmp_path, 1)
    job = store.create(b"x", "a.txt", "text", 1, max_active=10)
    with store.engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_jobs_owner"))
        for column in ("owner", "worker", "lease_until"):
            conn.execute(text(f"ALTER TABLE jobs DROP COLUMN {column}"))
    store.engine.dispose()
    [again] = stores(db_url, tmp_path, 1)
    assert {"owner", "worker", "lease_until"} <= {c["name"] for c in inspect(again.engine).get_columns("jobs")}
    assert again.claim_next("w", lease_s=60, max_attempts=3).id == job.id
