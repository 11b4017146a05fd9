"""The shared OCR service of a batch (service/batch/ocr_server.py): crops from many pages recognised together, each
reading back to the page that asked for it, in order; the same values as a worker's own engine."""
from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from models.ocr import Reading
from service.batch.ocr_server import ClientOcrEngine, CropBatcher, OcrOptions, OcrServer, OcrService, read_stacked

SAMPLES = Path(__file__).resolve().parent.parent / "training" / "samples"
# Stacking equal-width buckets keeps each crop's padding, so readings match the worker's own engine; only the
# floating point of a bigger model call differs (confidences are rounded to 1e-4).
CONFIDENCE = 2e-4


def crop(page: int, index: int, width: int) -> np.ndarray:
    """A crop that says which page and which crop of it it is (in its first two pixels)."""
    img = np.full((20, width), 255, dtype=np.uint8)
    img[0, 0], img[0, 1] = page, index
    return img


class SortingEngine:
    """Stands in for read_stacked: reads each crop's identity, and (like the real one) works through the crops of
    all requests sorted by width, so a batcher that relied on the engine's order would mix readings up."""

    def __init__(self, fail_page: int | None = None):
        self.calls: list[list[int]] = []
        self.fail_page = fail_page

    def __call__(self, requests):
        sizes = [len(r) for r in requests]
        out = self.read([c for r in requests for c in r])
        return [out[sum(sizes[:k]):sum(sizes[:k + 1])] for k in range(len(sizes))]

    def read(self, crops):
        pages = sorted({int(c[0, 0]) for c in crops})
        self.calls.append(pages)
        if self.fail_page in pages:
            raise RuntimeError("out of memory")
        time.sleep(0.02)   # the model is busy: requests pile up meanwhile
        order = sorted(range(len(crops)), key=lambda i: crops[i].shape[1])
        out: list = [None] * len(crops)
        for i in order:
            out[i] = Reading(f"{crops[i][0, 0]}:{crops[i][0, 1]}", 0.9, "", 0.0)
        return out


def test_every_crop_returns_to_its_page_in_order_under_shuffled_arrival():
    rng = random.Random(7)
    engine = SortingEngine()
    batcher = CropBatcher(engine, gather=200)
    pages = {p: [crop(p, i, rng.randint(10, 300)) for i in range(rng.randint(1, 40))] for p in range(60)}
    got: dict[int, list[str]] = {}
    order = list(pages)
    rng.shuffle(order)

    def ask(p: int, delay: float) -> None:
        time.sleep(delay)
        got[p] = [r.text for r in batcher.read(pages[p])]

    threads = [threading.Thread(target=ask, args=(p, rng.random() * 0.2)) for p in order]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    batcher.close()
    assert got == {p: [f"{p}:{i}" for i in range(len(crops))] for p, crops in pages.items()}
    assert sum(len(crops) for crops in pages.values()) == sum(batcher.calls)
    assert max(len(pages_) for pages_ in engine.calls) > 1, "requests were never batched together"
    assert max(batcher.calls) <= 200


def test_a_failing_model_call_fails_only_the_requests_in_it():
    engine = SortingEngine(fail_page=3)
    batcher = CropBatcher(engine)
    with pytest.raises(RuntimeError, match="out of memory"):
        batcher.read([crop(3, 0, 50)])
    assert [r.text for r in batcher.read([crop(4, 0, 50), crop(4, 1, 20)])] == ["4:0", "4:1"]
    assert batcher.read([]) == []
    batcher.close()


@pytest.fixture(scope="module")
def page_crops(tmp_path_factory):
    from tests.test_ocr_runtime import read_page

    engine, _ = read_page(SAMPLES / "doc-000002.scan.pdf", 1, tmp_path_factory.mktemp("page"))
    return engine, list(engine.crops)   # a copy: the recording engine goes on appending what it reads


def test_stacked_reading_of_several_pages_is_each_page_read_alone(page_crops):
    """Equal-width buckets of three requests through the model together: every reading is the one the request
    gets alone (each crop keeps its padding)."""
    engine, crops = page_crops
    rng = random.Random(3)
    half = len(crops) // 2
    requests = [crops[:half], crops[half:half + 20], [crops[i] for i in rng.sample(range(len(crops)), half)]]
    alone = [engine.read(r) for r in requests]
    calls = engine.calls["rec_crops"]
    together = read_stacked(engine, requests, stack=256)
    assert engine.calls["rec_crops"] - calls == sum(map(len, requests)) > 100
    for a, b in zip(alone, together):
        assert [(x.text, x.digits) for x in a] == [(x.text, x.digits) for x in b]
        assert max(abs(x.confidence - y.confidence) for x, y in zip(a, b)) <= CONFIDENCE
        assert max(abs(x.digits_confidence - y.digits_confidence) for x, y in zip(a, b)) <= CONFIDENCE


def test_the_server_process_reads_like_a_workers_own_engine_for_many_clients(page_crops):
    """Two pages' crops from four clients at once, over the local socket: each gets the readings its own engine
    gives, and the server took crops of several requests in one model call."""
    local, crops = page_crops
    halves = [crops[: len(crops) // 2], crops[len(crops) // 2:]] * 2
    want = [local.read(halves[0]), local.read(halves[1])]   # each request as the worker would read it alone
    with OcrServer(OcrOptions(runtime="onnxruntime", threads=1)) as server:
        results: dict[int, list] = {}

        def ask(k: int) -> None:
            engine = server.client().engine()
            results[k] = engine.read(halves[k])

        threads = [threading.Thread(target=ask, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        engine = server.client().engine()
        numeric = [i % 2 == 0 for i in range(len(crops))]
        got, expected = engine.recognize(crops, numeric), local.recognize(crops, numeric)
        assert [t for t, _ in got] == [t for t, _ in expected]
        assert max(abs(a - b) for (_, a), (_, b) in zip(got, expected)) < CONFIDENCE
        assert [f for f, _ in engine.upside_down(crops[:4])] == [f for f, _ in local.upside_down(crops[:4])]
        two = [crops[:6], [c[::-1] for c in crops[:6]]]  # (upside down: another rendering of the same size)
        assert [r.digits for r in engine.read_blended(two)] == [r.digits for r in local.read_blended(two)]
        stats = server.client()("stats", None)
    for k in range(4):
        expected = want[k % 2]
        assert [(r.text, r.digits) for r in results[k]] == [(r.text, r.digits) for r in expected]
        assert max(abs(a.confidence - b.confidence) for a, b in zip(results[k], expected)) < CONFIDENCE
    assert max(stats["calls"]) > len(crops) // 2 + 1, "no model call took crops of more than one request"


def test_a_server_that_cannot_start_says_why():
    from service.batch.ocr_server import ServerError

    with pytest.raises(ServerError, match="tensorrt"):
        OcrServer(OcrOptions(runtime="tensorrt")).start()


def test_client_engine_is_what_the_pipeline_uses():
    service = OcrService.__new__(OcrService)   # no model: a batcher over the stand-in engine
    service.engine, service.batcher = None, CropBatcher(SortingEngine())
    engine = ClientOcrEngine(service.handle)
    assert [t for t, _ in engine.recognize([crop(1, 0, 30), crop(1, 1, 30)], [False, True])] == ["1:0", ""]
    service.batcher.close()


@pytest.mark.parametrize("backend", ["local", "ray"])
def test_batch_with_a_shared_ocr_process_writes_the_values_a_workers_own_engine_reads(tmp_path, backend):
    """`nianbao batch --shared-ocr` (the GPU path, here on the CPU): two workers, a two-page scan and a text
    report; the reports are the ones `nianbao extract` gives."""
    import json

    from tests.test_ocr_runtime import first_pages

    from service.cli import main
    from service.ingest import load_source
    from service.pipeline import Pipeline, PipelineOptions

    if backend == "ray":
        pytest.importorskip("ray")
    inputs = tmp_path / "in"
    inputs.mkdir()
    scan = first_pages(SAMPLES / "doc-000001.scan.pdf", 2, inputs / "two.scan.pdf")
    (inputs / "a.txt").write_bytes((SAMPLES / "doc-000003.txt").read_bytes())
    out = tmp_path / "out"
    args = ["batch", str(inputs), "--out", str(out), "--workers", "2", "--shared-ocr", "--classifier", "fuzzy",
            "--quiet"] + (["--ray", "local"] if backend == "ray" else [])
    assert main(args) == 0
    pipeline = Pipeline(PipelineOptions(classifier="fuzzy"))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["done"] == 2 and summary["failed"] == 0
    for path in (scan, inputs / "a.txt"):
        want = json.loads(pipeline.run(load_source(str(path))).to_json())
        [written] = [json.loads(p.read_text()) for p in (out / "json").glob("*.json")
                     if json.loads(p.read_text())["source"]["name"] == path.name] or [None]
        assert written is not None, path.name
        for key in set(want) - {"timings"}:
            assert written[key] == want[key], (path.name, key)


def test_a_worker_whose_ocr_server_is_gone_gets_a_server_error():
    """The input in hand fails with a clear error (the batch then stops: run.py checks the process)."""
    from service.batch.ocr_server import ServerError

    server = OcrServer(OcrOptions(threads=1)).start()
    client = server.client()
    assert client("stats", None)["runtime"] == "onnxruntime"
    server.close()
    with pytest.raises(ServerError, match="gone"):
        client.engine().read([crop(1, 0, 40)])
