"""Running the batch on a Ray cluster through Ray Data: from_items -> map_batches(PipelineActor) -> rows back.

The items carry where each input's bytes are (a Locator), not the bytes: the driver stays small however large the
archive, and each actor reads its inputs itself. On a cluster of several machines the inputs must therefore sit on a
file system every node sees at the same path. Ray is optional: it is imported here only, when --ray is given.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator

from service.batch.inputs import Locator, sha256
from service.batch.workers import BackendError, Outcome, Worker

FIELDS = ("sha256", "source", "ok", "json", "error", "pages", "seconds", "kind")


class PipelineActor:
    """One Pipeline per Ray actor, built once; each call processes a batch of rows (of one input, usually).

    ocr: the batch's shared OCR actor (service.batch.ocr_server.OcrService on Ray), or None for an engine of its own."""

    def __init__(self, device: str = "cpu", classifier: str = "auto", ocr_runtime: str | None = None, ocr=None):
        send = None
        if ocr is not None:
            import ray

            def send(kind, payload):
                return ray.get(ocr.handle.remote(kind, payload))
        self.worker = Worker(device, classifier, ocr_runtime, send)

    def __call__(self, batch: dict) -> dict:
        out = {name: [] for name in FIELDS}
        for sha, source, locator in zip(batch["sha256"], batch["source"], batch["locator"]):
            outcome = self._one(str(sha), str(source), str(locator))
            for name in FIELDS:
                out[name].append(getattr(outcome, name))
        return out

    def _one(self, sha: str, source: str, locator: str) -> Outcome:
        try:
            data = Locator.from_json(locator).read()
        except (OSError, ValueError, KeyError) as e:
            return Outcome(sha, source, False, error=f"cannot be read on the Ray worker: {e}")
        if sha256(data) != sha:
            return Outcome(sha, source, False, error="the input changed since the batch scanned it; run it again")
        return self.worker.process(sha, source, data)


def connect(address: str, workers: int) -> None:
    import ray

    if ray.is_initialized():
        return
    if address == "local":
        ray.init(num_cpus=workers, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False)
    else:
        ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False)


def cluster_device(requested: str) -> tuple[str, str | None]:
    """CUDA on the cluster when it has GPUs; the driver's own GPU does not matter."""
    import ray

    if requested != "cuda":
        return requested, None
    if ray.cluster_resources().get("GPU", 0) > 0:
        return "cuda", None
    return "cpu", "--device cuda: the Ray cluster has no GPU; running on CPU"


def run_ray(items: list[dict], workers: int, device: str = "cpu", classifier: str = "auto",
            ocr_runtime: str | None = None, shared_ocr: bool = False) -> Iterator[Outcome]:
    """items: {"sha256", "source", "locator" (Locator JSON)}; outcomes stream back as actors finish them.

    shared_ocr: one OCR actor (on half a GPU with cuda) recognises the crops of all pipeline actors, which then run
    on the CPUs (with the rest of the GPU shared among them for the classifier). Call connect() first, and
    cluster_device() for the device."""
    import ray
    import ray.data

    if not items:
        return
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False   # the batch draws its own bar
    logging.getLogger("ray.data").setLevel(logging.ERROR)   # no INFO/notice lines between the bar and the summary
    gpus = 1 if device == "cuda" else 0
    actors = workers if not gpus else max(1, min(workers, int(ray.cluster_resources().get("GPU", 1))))
    ocr = None
    if shared_ocr:
        from service.batch.ocr_server import OcrOptions, OcrService

        actors = workers
        ocr = ray.remote(OcrService).options(num_gpus=0.5 * gpus, num_cpus=0, max_concurrency=workers + 4).remote(
            OcrOptions(device, ocr_runtime))
        gpus = 0.5 * gpus / min(actors, len(items))
    dataset = ray.data.from_items(items, override_num_blocks=len(items)).map_batches(
        PipelineActor,
        fn_constructor_kwargs={"device": device, "classifier": classifier, "ocr_runtime": ocr_runtime, "ocr": ocr},
        batch_size=1,
        compute=ray.data.ActorPoolStrategy(size=min(actors, len(items))),
        num_gpus=gpus,
        num_cpus=1,
    )
    try:
        for row in dataset.iter_rows():
            yield Outcome(**{name: _plain(row[name]) for name in FIELDS})
    except ray.exceptions.RayError as e:   # the cluster, not an input: what is done so far stays done
        raise BackendError(f"the Ray run stopped: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")


def _plain(value):
    """numpy scalars from Ray Data back to Python values."""
    return value.item() if hasattr(value, "item") else value


def shutdown() -> None:
    import ray

    if ray.is_initialized():
        ray.shutdown()
