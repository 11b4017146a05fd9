"""The label classifier and the OCR models (torch runtime) on CUDA answer as on the CPU (skipped where torch sees no
GPU: CI has none).

Run on a GPU machine: `python -m pytest -q tests/test_gpu.py`; eval/reports/gpu.md says where it last ran.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from models.label_classifier import TokenLabelClassifier  # noqa: E402
from models.label_classifier.model import MODEL_DIR  # noqa: E402
from service.labels import targets_for  # noqa: E402
from service.template import all_templates, get_template  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(not CUDA, reason="torch.cuda.is_available() is False: no GPU (or a CPU-only torch) "
                                                 "here; the CUDA path is checked on a GPU machine (eval/reports/gpu.md)")
SAMPLES = Path(__file__).resolve().parent.parent / "training" / "samples"
HAVE_WEIGHTS = (MODEL_DIR / "model.safetensors").exists()

TEXTS = ["（三）不予公开 1.属于国家秘密", "1.属于国家秘密", "屬於國家秘密", "本年新", "三类内容事务信息",
         "二、上年结转政府信息公开申请数量", "行政复议 结果维持", "申请人情况 自然人", "商业企业", "",
         "   ", "x" * 300, "四、结转下年度继续办理"]


def _texts() -> list[str]:
    out = list(TEXTS)
    for template in all_templates():
        for target in targets_for(template):
            out.extend(target.labels)
    return out


@pytest.fixture(scope="module")
def pair() -> tuple[TokenLabelClassifier, TokenLabelClassifier]:
    if not HAVE_WEIGHTS:
        pytest.skip("the classifier's weights are not shipped here")
    return TokenLabelClassifier(MODEL_DIR, device="cpu"), TokenLabelClassifier(MODEL_DIR, device="cuda")


@needs_cuda
def test_model_sits_on_the_gpu(pair):
    _, gpu = pair
    assert gpu.device.type == "cuda"
    assert next(gpu.model.parameters()).is_cuda


@needs_cuda
def test_cuda_probabilities_and_tags_match_cpu(pair):
    cpu, gpu = pair
    texts = _texts()
    for text, a, b in zip(texts, cpu.probs(texts), gpu.probs(texts)):
        assert a.shape == b.shape
        if len(text):
            assert np.abs(a - b).max() < 1e-3, text
    tags_cpu = [[(s.start, s.end, s.tag) for s in spans] for spans in cpu.tag(texts)]
    tags_gpu = [[(s.start, s.end, s.tag) for s in spans] for spans in gpu.tag(texts)]
    assert tags_cpu == tags_gpu


@needs_cuda
@pytest.mark.parametrize("template_id", ["gov-info-disclosure/2021", "gov-info-disclosure/2019"])
def test_cuda_scores_match_cpu(pair, template_id):
    cpu, gpu = pair
    texts = _texts()
    targets = targets_for(get_template(template_id))
    a, b = np.array(cpu.scores(texts, targets)), np.array(gpu.scores(texts, targets))
    assert np.abs(a - b).max() < 1e-3
    assert (a.argmax(1) == b.argmax(1)).all()


@needs_cuda
@pytest.mark.parametrize("kind", ["html", "docx", "txt"])
def test_pipeline_values_match_cpu(kind):
    """A whole extraction (--device cuda vs cpu) gives the same values for every sample of a text kind."""
    if not HAVE_WEIGHTS:
        pytest.skip("the classifier's weights are not shipped here")
    pytest.importorskip("docx" if kind == "docx" else "lxml")
    from service.ingest import load_source
    from service.pipeline import Pipeline, PipelineOptions

    files = sorted(SAMPLES.glob(f"doc-*.{kind}"))
    if not files:
        pytest.skip(f"no {kind} samples")
    cpu = Pipeline(PipelineOptions(device="cpu", classifier="model"))
    gpu = Pipeline(PipelineOptions(device="cuda", classifier="model"))
    assert gpu.classifier.device.type == "cuda"
    for path in files:
        a, b = cpu.run(load_source(str(path))), gpu.run(load_source(str(path)))
        assert a.flat_values() == b.flat_values(), path.name
        assert (a.template, a.agency, a.year) == (b.template, b.agency, b.year)


@pytest.mark.skipif(CUDA, reason="checks the fallback where no GPU is usable; this machine has one")
def test_cuda_without_a_gpu_falls_back_to_cpu():
    if not HAVE_WEIGHTS:
        pytest.skip("the classifier's weights are not shipped here")
    clf = TokenLabelClassifier(MODEL_DIR, device="cuda")
    assert clf.device.type == "cpu"
    assert len(clf.scores(["本年新"], targets_for(get_template("gov-info-disclosure/2021")))[0]) > 0


# --- OCR on CUDA (models/ocr_torch.py) ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def scan_page(tmp_path_factory):
    """A table page of a sample scan: the crops onnxruntime read on the CPU (its engine), and the page image."""
    from tests.test_ocr_runtime import SCAN, read_page

    engine, doc = read_page(SCAN, 1, tmp_path_factory.mktemp("page"))
    return engine, list(engine.crops), doc.images[0].image


@needs_cuda
def test_torch_ocr_on_cuda_reads_like_onnxruntime_on_the_cpu(scan_page):
    """TF32 off (the default): the same texts and digit readings, confidences within 1e-3, the same lines found."""
    from models.ocr import RapidOcrEngine
    from models.ocr_torch import set_tf32

    cpu, crops, page = scan_page
    set_tf32(False)
    gpu = RapidOcrEngine(device="cuda", runtime="torch")
    a, b = cpu.read(crops), gpu.read(crops)
    assert gpu._session.graph.device.type == "cuda"
    assert [(r.text, r.digits) for r in a] == [(r.text, r.digits) for r in b]
    assert max(abs(x.confidence - y.confidence) for x, y in zip(a, b)) < 1e-3
    assert [line.text for line in cpu.detect(page)] == [line.text for line in gpu.detect(page)]


@needs_cuda
def test_shared_ocr_server_on_cuda_reads_like_the_cpu(scan_page):
    from service.batch.ocr_server import OcrOptions, OcrServer

    cpu, crops, _ = scan_page
    with OcrServer(OcrOptions(device="cuda")) as server:
        got = server.client().engine().read(crops)
        stats = server.client()("stats", None)
    assert stats["runtime"] == "torch" and str(stats["device"]).startswith("cuda")
    assert [(r.text, r.digits) for r in got] == [(r.text, r.digits) for r in cpu.read(crops)]
