"""Jobs survive what servers go through: a killed worker, a killed server (the job finishes after the restart),
a full queue, a job past its time limit; and the API key."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.api_support import Server, alive, descendants, text_report, wait_job

KEY = "test-key-123"


def worker_processes(pid: int) -> list[int]:
    """The job worker processes of server pid (they name themselves nianbao-worker; their parent is the fork
    server, a child of the server)."""
    found = []
    for child in descendants(pid):
        try:
            name = Path(f"/proc/{child}/comm").read_text().strip()
        except OSError:
            continue
        if name == "nianbao-worker" and alive(child):
            found.append(child)
    return found


def submit(client: httpx.Client, name: str, seed: int) -> str:
    r = client.post("/v1/jobs", files={"file": (name, text_report(seed)[0])})
    assert r.status_code == 202, r.text
    return r.json()["id"]


def test_crash_queue_limit_auth_and_restart(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    slow = {"NIANBAO_WORKERS": "1", "NIANBAO_SLOW_DOWN_S": "2.5", "NIANBAO_MAX_QUEUE": "2", "NIANBAO_API_KEY": KEY,
            "NIANBAO_MAX_ATTEMPTS": "2", "NIANBAO_LEASE_S": "2"}
    server = Server(data_dir, env=slow).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as anonymous:
            r = anonymous.post("/v1/jobs", files={"file": ("a.txt", b"x")})
            assert r.status_code == 401 and "X-API-Key" in r.json()["detail"]
            assert anonymous.get("/v1/jobs/whatever", headers={"X-API-Key": "wrong"}).status_code == 401
            assert anonymous.get("/healthz").status_code == 200   # probes need no key

        client = httpx.Client(base_url=server.url, timeout=30, headers={"X-API-Key": KEY})
        # A worker process that dies mid-job (the OOM killer) costs that run: the job runs again on a fresh
        # worker, up to max_attempts runs, then fails with the reason.
        doomed = submit(client, "doomed.txt", 1)
        for attempt in (1, 2):
            deadline = time.monotonic() + 60
            while not ((job := client.get(f"/v1/jobs/{doomed}").json())["state"] == "running"
                       and job["attempts"] == attempt and worker_processes(server.process.pid)):
                assert time.monotonic() < deadline, job
                time.sleep(0.1)
            [worker] = worker_processes(server.process.pid)
            os.kill(worker, signal.SIGKILL)
        failed = wait_job(client, doomed)
        assert failed["state"] == "failed" and failed["attempts"] == 2, failed
        assert "worker process died while extracting (killed by signal 9)" in failed["error"]
        assert "gave up after 2 attempts" in failed["error"]
        assert client.get("/healthz").status_code == 200

        # Two jobs fill the queue (max 2 queued or running): the third is refused with 429.
        first, second = submit(client, "first.txt", 2), submit(client, "second.txt", 3)
        r = client.post("/v1/jobs", files={"file": ("third.txt", text_report(4)[0])})
        assert r.status_code == 429 and "too many jobs" in r.json()["detail"] and r.headers["retry-after"]

        # The server dies while `first` runs and `second` waits.
        wait_job(client, first, until=("running",), timeout=30)
        server.kill()
        client.close()

        server = Server(data_dir, env={**slow, "NIANBAO_SLOW_DOWN_S": "0"}).start()
        client = httpx.Client(base_url=server.url, timeout=30, headers={"X-API-Key": KEY})
        for job_id, seed, attempts in ((first, 2, 2), (second, 3, 1)):
            job = wait_job(client, job_id, timeout=30)
            assert job["state"] == "done" and job["attempts"] == attempts, job
            result = client.get(f"/v1/jobs/{job_id}/result").json()
            assert result["requests"] == text_report(seed)[1]["requests"]
        assert client.get(f"/v1/jobs/{doomed}").json()["state"] == "failed"   # kept as it was
        client.close()
    finally:
        server.stop()


def test_job_past_its_time_limit_is_stopped(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    server = Server(data_dir, env={"NIANBAO_WORKERS": "1", "NIANBAO_SLOW_DOWN_S": "30",
                                   "NIANBAO_JOB_TIMEOUT_S": "1.5"}).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            start = time.monotonic()
            r = client.post("/v1/extract", files={"file": ("slow.txt", text_report(0)[0])})
            assert r.status_code == 422 and "time limit" in r.json()["detail"]
            assert time.monotonic() - start < 20   # the 1.5 s limit, not the 30 s job
            job = client.get(f"/v1/jobs/{r.headers['x-job-id']}").json()
            assert job["state"] == "failed" and job["seconds"] >= 1.5
            assert client.get("/healthz").status_code == 200
            deadline = time.monotonic() + 30   # the stopped worker is replaced
            while client.get("/readyz").status_code != 200:
                assert time.monotonic() < deadline
                time.sleep(0.2)
    finally:
        server.stop()


def test_graceful_stop_requeues_the_running_job_for_the_next_start(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    env = {"NIANBAO_WORKERS": "1", "NIANBAO_SLOW_DOWN_S": "60", "NIANBAO_SHUTDOWN_GRACE_S": "1"}
    server = Server(data_dir, env=env).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            job_id = submit(client, "long.txt", 5)
            wait_job(client, job_id, until=("running",))
        start = time.monotonic()
        server.stop()   # SIGINT: the job gets the 1 s grace, then goes back to the queue
        assert server.process.returncode == 0 and time.monotonic() - start < 15   # not the 60 s job
        server = Server(data_dir, env={**env, "NIANBAO_SLOW_DOWN_S": "0"}).start()
        with httpx.Client(base_url=server.url, timeout=30) as client:
            job = wait_job(client, job_id, timeout=10)   # at once: no lease to wait out
            assert job["state"] == "done" and job["attempts"] == 1   # the interrupted run does not count
    finally:
        server.stop()


@pytest.mark.skipif(os.environ.get("NIANBAO_TEST_SCAN") != "1",
                    reason="OCR through the API takes about a minute on 2 CPU cores: set NIANBAO_TEST_SCAN=1")
def test_scanned_page_through_the_api_with_boxes_on_the_picture(tmp_path):
    pytest.importorskip("service.scan.reader")
    import io

    import pypdfium2 as pdfium
    from PIL import Image

    from tests.api_support import pdf_report

    data, report = pdf_report(seed=9)
    scan = io.BytesIO()
    pdfium.PdfDocument(data)[0].render(scale=150 / 72).to_pil().convert("L").save(scan, format="PNG")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    server = Server(data_dir, env={"NIANBAO_WORKERS": "1"}).start()
    try:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            job_id = client.post("/v1/jobs", files={"file": ("scan.png", scan.getvalue())}).json()["id"]
            assert wait_job(client, job_id, timeout=400)["state"] == "done"
            result = client.get(f"/v1/jobs/{job_id}/result").json()
            assert result["source"]["method"] == "ocr"
            assert result["requests"]["new"]["total"] == report["requests"]["new"]["total"]
            [page] = client.get(f"/v1/jobs/{job_id}/pages").json()["pages"]
            picture = Image.open(io.BytesIO(client.get(f"/v1/jobs/{job_id}/pages/1.png").content)).convert("L")
            assert picture.size == (page["width"], page["height"])
            box = result["provenance"]["requests.new.total"]
            # The cell's left edge is a printed ruling line: dark on the picture, where the box says.
            x, y = box["x"] * page["scale"], (box["y"] + box["h"] / 2) * page["scale"]
            assert min(picture.getpixel((round(x) + dx, round(y))) for dx in range(-3, 4)) < 128
    finally:
        server.stop()


def test_a_runner_error_fails_its_job_and_the_pool_goes_on(tmp_path):
    from service.api.jobs import FINAL, JobStore, WorkerPool
    from service.api.settings import Settings

    class FlakyStore(JobStore):
        broken = True

        def finish(self, *args, **kwargs):
            if FlakyStore.broken:
                FlakyStore.broken = False
                raise RuntimeError("disk full")
            super().finish(*args, **kwargs)

    def run(store, pool, name):
        job = store.create(text_report(1)[0], name, "text", 1, max_active=10)
        pool.notify()
        deadline = time.monotonic() + 60
        while store.get(job.id).state not in FINAL:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        return store.get(job.id)

    settings = Settings(data_dir=tmp_path, workers=1, classifier="fuzzy")
    store = FlakyStore(settings.db_url(), settings.upload_dir)
    pool = WorkerPool(settings, store, lambda outcome, seconds: None)
    pool.start()
    try:
        first = run(store, pool, "a.txt")
        assert first.state == "failed" and first.error == "internal error in the job runner: RuntimeError: disk full"
        assert run(store, pool, "b.txt").state == "done"
    finally:
        pool.stop()
