"""Several servers on one job database (and data directory), on SQLite and on PostgreSQL: a second server never
runs the first one's live jobs, and a killed server's jobs are taken over once its lease expires."""
from __future__ import annotations

import time

import httpx
import pytest

from tests.api_support import Server, pg_schema_url, text_report, wait_job

LEASE_S = "2"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_env(request, tmp_path):
    if request.param == "sqlite":
        yield {}   # the default: data_dir/jobs.sqlite3, shared through the data directory
        return
    url, drop = pg_schema_url()
    if url is None:
        pytest.skip(drop)
    yield {"NIANBAO_DATABASE_URL": url}
    drop()


def test_two_servers_share_the_queue_and_never_run_a_job_twice(tmp_path, db_env):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    env = {**db_env, "NIANBAO_WORKERS": "1", "NIANBAO_LEASE_S": LEASE_S, "NIANBAO_SLOW_DOWN_S": "1.5"}
    first = Server(data_dir, env=env).start()
    second = None
    try:
        with httpx.Client(base_url=first.url, timeout=30) as a:
            jobs = {a.post("/v1/jobs", files={"file": (f"{i}.txt", text_report(i)[0])}).json()["id"]: i
                    for i in range(8)}
            wait_job(a, next(iter(jobs)), until=("running", "done"))
            # The second server starts while the first runs a job: it must leave that job alone.
            second = Server(data_dir, env=env).start()
            with httpx.Client(base_url=second.url, timeout=30) as b:
                for job_id, seed in jobs.items():
                    job = wait_job(b, job_id, timeout=60)
                    assert job["state"] == "done" and job["attempts"] == 1, job   # one run each, never two
                    assert b.get(f"/v1/jobs/{job_id}/result").json()["requests"] == text_report(seed)[1]["requests"]
    finally:
        first.stop()
        if second is not None:
            second.stop()


def test_a_killed_servers_job_is_taken_over_after_its_lease(tmp_path, db_env):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    env = {**db_env, "NIANBAO_WORKERS": "1", "NIANBAO_LEASE_S": LEASE_S}
    doomed = Server(data_dir, env={**env, "NIANBAO_SLOW_DOWN_S": "60"}).start()
    survivor = Server(data_dir, env={**env, "NIANBAO_SLOW_DOWN_S": "0"})
    try:
        with httpx.Client(base_url=doomed.url, timeout=30) as a:
            job_id = a.post("/v1/jobs", files={"file": ("a.txt", text_report(5)[0])}).json()["id"]
            wait_job(a, job_id, until=("running",))
        survivor.start()
        with httpx.Client(base_url=survivor.url, timeout=30) as b:
            time.sleep(float(LEASE_S) * 2)   # past the first lease: the doomed server's heartbeat renews it
            job = b.get(f"/v1/jobs/{job_id}").json()
            assert job["state"] == "running" and job["attempts"] == 1, job   # a live lease: left alone
            doomed.kill()
            job = wait_job(b, job_id, timeout=30)
            assert job["state"] == "done" and job["attempts"] == 2, job
            assert b.get(f"/v1/jobs/{job_id}/result").json()["requests"] == text_report(5)[1]["requests"]
    finally:
        doomed.stop()
        survivor.stop()
