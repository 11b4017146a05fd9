"""The local process pool: outcomes for every job, and a worker that dies takes down only its own input."""
from __future__ import annotations

import os

from service.batch.workers import Job, LocalRunner, Outcome, resolve_device


class CrashingWorker:
    """Stands in for Worker (no models): b"crash" kills the process the way a native crash or the OOM killer does."""

    def process(self, sha: str, source: str, data: bytes) -> Outcome:
        if data == b"crash":
            os._exit(1)
        return Outcome(sha, source, True, json=data.decode(), pages=1)


def test_a_dying_worker_fails_its_input_and_the_rest_go_on():
    jobs = [Job(f"{i}", f"/in/{i}", b"crash" if i in (2, 7) else f"report {i}".encode()) for i in range(10)]
    started = []
    runner = LocalRunner(2, CrashingWorker)
    outcomes = {o.sha256: o for o in runner.run(jobs, on_start=lambda j: started.append(j))}
    assert runner._pool is None   # the workers are gone once the last outcome is out
    assert set(outcomes) == {str(i) for i in range(10)}
    for i in (2, 7):
        assert not outcomes[str(i)].ok and "worker process died" in outcomes[str(i)].error
        assert started.count(jobs[i]) in (1, 2)   # alone at once, or again alone after dying among others
    assert all(outcomes[str(i)].ok and outcomes[str(i)].json == f"report {i}" for i in range(10) if i not in (2, 7))


def test_cuda_is_never_asked_of_a_machine_without_it():
    device, warning = resolve_device("cpu")
    assert (device, warning) == ("cpu", None)
    device, warning = resolve_device("cuda")
    assert device in ("cpu", "cuda") and (warning is None) == (device == "cuda")
