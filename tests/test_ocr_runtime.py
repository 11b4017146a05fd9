"""The torch runtime of the OCR models (models/ocr_torch.py) reads like onnxruntime, on the CPU.

A GPU is not needed: the interpreter is the same code on CUDA (tests/test_gpu.py repeats the comparison there)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

ort = pytest.importorskip("onnxruntime")
torch = pytest.importorskip("torch")

from models.ocr import RapidOcrEngine  # noqa: E402
from models.ocr_torch import OnnxGraph, TorchSession  # noqa: E402

SAMPLES = Path(__file__).resolve().parent.parent / "training" / "samples"
SCAN = SAMPLES / "doc-000001.scan.pdf"


def first_pages(path: Path, count: int, target: Path, start: int = 0) -> Path:
    """`count` pages of a PDF from page `start` (0-based) as a new PDF (the sample scans have 3-5 pages; fewer keep
    a test quick)."""
    import pypdfium2 as pdfium

    src, out = pdfium.PdfDocument(str(path)), pdfium.PdfDocument.new()
    out.import_pages(src, list(range(start, min(start + count, len(src)))))
    out.save(str(target))
    return target


class Recording(RapidOcrEngine):
    """onnxruntime engine that keeps every crop the reader asks it to recognise."""

    def __init__(self):
        super().__init__(runtime="onnxruntime")
        self.crops: list[np.ndarray] = []

    def _outputs(self, renderings, reduce):
        self.crops += list(renderings[0])
        return super()._outputs(renderings, reduce)


def read_page(path: Path, page: int, tmp: Path) -> tuple[Recording, object]:
    """One page of a scan through the scan reader: the engine that saw its crops, and the document."""
    from service.document import Source
    from service.scan.reader import ScanReader

    one = first_pages(path, 1, tmp / "page.pdf", start=page)
    engine = Recording()
    return engine, ScanReader(engine=engine).read(Source(one.name, one.read_bytes(), "pdf"))


@pytest.fixture(scope="module")
def page_crops(tmp_path_factory):
    """The crops the scan reader cuts from a table page of a sample scan, and that page's image."""
    engine, doc = read_page(SCAN, 1, tmp_path_factory.mktemp("page"))
    assert len(engine.crops) > 50
    return engine.crops, doc.images[0].image


@pytest.fixture(scope="module")
def engines():
    return RapidOcrEngine(runtime="onnxruntime", threads=1), RapidOcrEngine(runtime="torch", threads=1)


def test_torch_reads_every_crop_of_a_scanned_page_like_onnxruntime(page_crops, engines):
    crops, _ = page_crops
    ref, tor = engines
    a, b = ref.read(crops), tor.read(crops)
    assert isinstance(tor._recognizer().session, TorchSession)
    assert [(r.text, r.digits) for r in a] == [(r.text, r.digits) for r in b]
    assert max(abs(x.confidence - y.confidence) for x, y in zip(a, b)) < 1e-3
    assert max(abs(x.digits_confidence - y.digits_confidence) for x, y in zip(a, b)) < 1e-3
    # The torch runtime's reduced output: the digit columns, then the best symbol's probability and id.
    digits = ref._digit_ids
    for x, y in zip(ref._probs(crops[:32]), tor._probs(crops[:32])):
        assert y.shape == (len(x), len(digits) + 2)
        assert np.abs(x[:, digits] - y[:, :-2]).max() < 1e-4
        assert np.abs(x.max(axis=1) - y[:, -2]).max() < 1e-4
        assert (x.argmax(axis=1) == y[:, -1]).all()


def test_torch_detection_and_angle_classifier_match_onnxruntime(page_crops, engines):
    crops, page = page_crops
    ref, tor = engines
    a, b = ref.detect(page), tor.detect(page)
    assert len(a) > 10
    assert [line.text for line in a] == [line.text for line in b]
    assert np.abs(np.array([line.points for line in a]) - np.array([line.points for line in b])).max() <= 1.0
    flipped = [np.ascontiguousarray(c[::-1, ::-1]) for c in crops[:8]]
    va, vb = ref.upside_down(crops[:8] + flipped), tor.upside_down(crops[:8] + flipped)
    assert [f for f, _ in va] == [f for f, _ in vb]
    assert max(abs(x - y) for (_, x), (_, y) in zip(va, vb)) < 1e-4


# A tiny ONNX writer (protobuf by hand, as models/onnx_reader.py reads it), for graphs onnxruntime then judges.
def _varint(v: int) -> bytes:
    v &= (1 << 64) - 1
    out = bytearray()
    while True:
        b, v = v & 0x7F, v >> 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def _int(number: int, v: int) -> bytes:
    return _varint(number << 3) + _varint(v)


def _msg(number: int, body: bytes | str) -> bytes:
    body = body.encode() if isinstance(body, str) else body
    return _varint(number << 3 | 2) + _varint(len(body)) + body


def _attr(name: str, value) -> bytes:
    if isinstance(value, str):
        return _msg(1, name) + _int(20, 3) + _msg(4, value)
    if isinstance(value, list):
        return _msg(1, name) + _int(20, 7) + b"".join(_int(8, v) for v in value)
    return _msg(1, name) + _int(20, 2) + _int(3, value)


def _node(op: str, inputs: list[str], outputs: list[str], **attrs) -> bytes:
    return (b"".join(_msg(1, i) for i in inputs) + b"".join(_msg(2, o) for o in outputs) + _msg(4, op)
            + b"".join(_msg(5, _attr(k, v)) for k, v in attrs.items()))


def _value_info(name: str, dims: list | None) -> bytes:
    shape = b"" if dims is None else _msg(2, b"".join(
        _msg(1, _int(1, d) if isinstance(d, int) else _msg(2, d)) for d in dims))
    return _msg(1, name) + _msg(2, _msg(1, _int(1, 1) + shape))


def _tiny_model(path: Path, op: str) -> Path:
    """A 2x2, stride-1 Conv and MaxPool with SAME_UPPER padding (as in PP-OCR), or an op the runtime lacks."""
    w = np.random.default_rng(1).normal(size=(4, 3, 2, 2)).astype(np.float32)
    if op == "same_upper":
        nodes = [_node("Conv", ["x", "w"], ["c"], kernel_shape=[2, 2], auto_pad="SAME_UPPER"),
                 _node("MaxPool", ["c"], ["y"], kernel_shape=[2, 2], strides=[1, 1], auto_pad="SAME_UPPER")]
    else:
        nodes = [_node(op, ["x"], ["y"])]
    weight = b"".join(_int(1, d) for d in w.shape) + _int(2, 1) + _msg(8, "w") + _msg(9, w.tobytes())
    graph = (b"".join(_msg(1, n) for n in nodes) + _msg(2, "tiny") + (_msg(5, weight) if op == "same_upper" else b"")
             + _msg(11, _value_info("x", [1, 3, "h", "w"])) + _msg(12, _value_info("y", None)))
    path.write_bytes(_int(1, 7) + _msg(7, graph) + _msg(8, _msg(1, "") + _int(2, 11)))
    return path


@pytest.mark.parametrize("size", [(7, 9), (8, 8), (1, 5)])
def test_same_upper_padding_matches_onnxruntime_on_odd_and_even_sizes(tmp_path, size):
    path = _tiny_model(tmp_path / "same.onnx", "same_upper")
    x = np.random.default_rng(2).normal(size=(1, 3, *size)).astype(np.float32)
    want = ort.InferenceSession(str(path)).run(None, {"x": x})[0]
    got = TorchSession(path)(x)
    assert got.shape == want.shape == (1, 4, *size)
    assert np.abs(got - want).max() < 1e-5


def test_an_op_the_runtime_does_not_know_fails_at_load_with_its_name(tmp_path):
    with pytest.raises(ValueError, match="NonZero"):
        OnnxGraph(_tiny_model(tmp_path / "nz.onnx", "NonZero"))


def test_unknown_runtime_is_refused():
    with pytest.raises(ValueError, match="tensorrt"):
        RapidOcrEngine(runtime="tensorrt")


def test_cli_extract_with_the_torch_runtime_gives_the_onnxruntime_values(tmp_path, monkeypatch):
    """`nianbao extract --ocr-runtime torch` on two pages of a sample scan: torch does run, and the values are the
    ones onnxruntime reads."""
    from service.cli import main
    from service.ingest import load_source
    from service.pipeline import Pipeline, PipelineOptions

    scan = first_pages(SCAN, 2, tmp_path / "two.scan.pdf")
    want = Pipeline(PipelineOptions(classifier="fuzzy")).run(load_source(str(scan)))
    calls = []
    real_call = TorchSession.__call__
    monkeypatch.setattr(TorchSession, "__call__", lambda self, x: calls.append(x.shape) or real_call(self, x))
    assert main(["extract", str(scan), "--ocr-runtime", "torch", "--classifier", "fuzzy", "-o", str(tmp_path)]) == 0
    got = json.loads((tmp_path / "two.scan.json").read_text(encoding="utf-8"))
    assert calls, "the torch runtime was not used"
    want = json.loads(want.to_json())
    assert want["requests"], "two pages of the sample hold the requests table"
    for key in set(want) - {"timings", "confidence"}:
        assert got[key] == want[key], key
    assert max(abs(got["confidence"][k] - c) for k, c in want["confidence"].items()) < 1e-3


def test_default_runtime_is_onnxruntime_on_the_cpu_and_torch_where_cuda_works():
    from models.ocr import default_runtime

    assert default_runtime("cpu") == "onnxruntime"
    assert default_runtime("cuda") == ("torch" if torch.cuda.is_available() else "onnxruntime")


def test_blended_readings_average_the_outputs_of_a_crops_renderings(page_crops, engines):
    """A fax's crops are read from two blurs at once: the network's outputs for both, averaged frame by frame."""
    import cv2

    crops = page_crops[0][:24]
    blurred = [cv2.GaussianBlur(c, (5, 5), 1.5) for c in crops]
    ref, tor = engines
    assert [(r.text, r.digits) for r in ref.read_blended([crops, crops])] == [(r.text, r.digits) for r in ref.read(crops)]
    mixed = ref.read_blended([crops, blurred])
    average = [(a + b) / 2 for a, b in zip(ref._probs(crops), ref._probs(blurred))]
    assert [(r.text, r.digits, r.digits_confidence) for r in mixed] == \
        [(r.text, r.digits, r.digits_confidence) for r in ref._with_digits(ref._readings(average), [crops, blurred])]
    # The torch runtime's reduced output blends its digit columns the same way.
    assert [r.digits for r in tor.read_blended([crops, blurred])] == [r.digits for r in mixed]
