"""The local process pool: outcomes for every job, and a worker that dies or hangs takes down only its own input."""
from __future__ import annotations

import os
import time

from service.batch.workers import Job, LocalRunner, Outcome, resolve_device


class CrashingWorker:
    """Stands in for Worker (no models): b"crash" kills the process the way a native crash or the OOM killer does."""

    def process(self, sha: str, source: str, data: bytes) -> Outcome:
        if data == b"crash":
            os._exit(1)
        if data == b"hang":
            time.sleep(600)
        return Outcome(sha, source, True, json=data.decode(), pages=1)


def test_a_dying_worker_fails_its_input_and_the_rest_go_on():
    jobs = [Job(f"{i}", f"/in/{i}", b"crash" if i in (2, 7) else f"report {i}".encode()) for i in range(10)]
    started = []
    runner = LocalRunner(2, CrashingWorker)
    outcomes = {o.sha256: o for o in runner.run(jobs, on_start=lambda j: started.append(j))}
    assert runner._slots == []   # the workers are gone once the last outcome is out
    assert set(outcomes) == {str(i) for i in range(10)}
    assert started == jobs   # each started once: a death is pinned on the input that process held
    for i in (2, 7):
        assert not outcomes[str(i)].ok and "worker process died" in outcomes[str(i)].error
    assert all(outcomes[str(i)].ok and outcomes[str(i)].json == f"report {i}" for i in range(10) if i not in (2, 7))


def test_an_input_past_its_time_limit_is_stopped_and_the_rest_go_on():
    jobs = [Job(f"{i}", f"/in/{i}", b"hang" if i == 1 else f"report {i}".encode()) for i in range(4)]
    runner = LocalRunner(2, CrashingWorker, time_limit=lambda job: 3)
    start = time.monotonic()
    outcomes = {o.sha256: o for o in runner.run(jobs)}
    assert time.monotonic() - start < 60
    assert not outcomes["1"].ok and "time limit (3 s)" in outcomes["1"].error
    assert all(outcomes[str(i)].ok for i in (0, 2, 3))


class BrokenWorker:
    def __init__(self):
        raise FileNotFoundError("models/label_classifier/model.safetensors")


def test_a_worker_that_cannot_start_fails_each_input_with_the_reason():
    outcomes = list(LocalRunner(1, BrokenWorker).run([Job("a", "/in/a", b"x"), Job("b", "/in/b", b"y")]))
    assert [o.ok for o in outcomes] == [False, False]
    assert all("could not start: FileNotFoundError" in o.error for o in outcomes)


def test_cuda_is_never_asked_of_a_machine_without_it():
    device, warning = resolve_device("cpu")
    assert (device, warning) == ("cpu", None)
    device, warning = resolve_device("cuda")
    assert device in ("cpu", "cuda") and (warning is None) == (device == "cuda")
