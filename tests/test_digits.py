"""The value-cell recogniser: its training crops, a short training run, the shipped weights, the engine's use."""
import numpy as np
import pytest

from models.digits import ALPHABET, WEIGHTS, DigitReader, as_input, batch_of
from training.digits.crops import document_samples, value_text

shipped = pytest.mark.skipif(not WEIGHTS.exists(), reason="models/digits.pt not shipped")  # and digits.onnx beside it


def test_inputs_are_the_network_height_stretched_ink_bright_and_padded_to_a_multiple_of_four():
    crop = np.full((20, 50), 255, np.uint8)
    crop[5:15, 10:20] = 0
    x = as_input(crop)
    assert x.shape == (32, 120) and x.max() == pytest.approx(1.0) and x[0, 0] == 0.0
    batch, widths = batch_of([x, as_input(crop[:, :21])])
    assert batch.shape == (2, 1, 32, 120) and widths == [120, 50]


def test_value_texts_keep_the_alphabet_and_blank_cells_only():
    assert value_text("1,234") is None and value_text("减4") is None and value_text("—") == "-"
    assert value_text(" ") == "" and value_text("12.5") == "12.5"


def test_crops_of_a_factory_scan_carry_their_cells_printed_text():
    # (document 0 of this draw has its tables' pages fed in turned a quarter: its crops are left out, standing on
    # their side)
    assert len(document_samples(11, 0, "heavy")) < 50
    samples = document_samples(11, 2, "heavy")
    assert len(samples) > 150
    assert all(set(s.text) <= set(ALPHABET) and s.image.dtype == np.uint8 and s.image.ndim == 2 for s in samples)
    assert len({s.text for s in samples}) > 40  # the drawn values, not a report's zeros
    assert {s.level for s in samples} == {"heavy"}
    dark = document_samples(11, 1, "heavy", profile="dark_copy")  # a profile asked for by name (crops --profiles)
    assert dark and {(s.level, s.profile) for s in dark} == {("heavy", "dark_copy")}


def test_a_short_training_run_learns_to_read_its_crops():
    import torch
    from training.digits.train import train

    samples = [s for s in document_samples(12, 0, "light") if s.text]
    torch.manual_seed(0)
    from models.digits import build_net
    untrained = DigitReader.of_net(build_net())
    net = build_net()
    net.load_state_dict(train(samples, steps=150, batch=32, lr=3e-3, log_every=10_000))
    trained = DigitReader.of_net(net)

    def share(reader):
        return np.mean([r.text == s.text for r, s in zip(reader.read([[s.image for s in samples]]), samples)])
    # An untrained net may read every crop "0" (a fifth of them are): what counts is what training added.
    before, after = share(untrained), share(trained)
    print(f"untrained {before:.3f}, trained {after:.3f}")
    assert after > 0.3 and after > before + 0.2


@shipped
def test_the_shipped_onnx_file_is_the_shipped_weights_exported(tmp_path):
    # models/digits.onnx is what a CPU run reads; a retrained digits.pt without a fresh export would fail here.
    from models.digits import ONNX, export_onnx

    samples = document_samples(9_997, 0, "heavy")[:60]
    crops = [[s.image for s in samples]]
    shipped_onnx, torch_run = DigitReader(ONNX).probs(crops), DigitReader(WEIGHTS).probs(crops)
    assert max(float(np.abs(a - b).max()) for a, b in zip(shipped_onnx, torch_run)) < 1e-4
    fresh = DigitReader(export_onnx(WEIGHTS, tmp_path / "d.onnx")).probs(crops)
    assert max(float(np.abs(a - b).max()) for a, b in zip(fresh, torch_run)) < 1e-4


@shipped
def test_the_shipped_recogniser_reads_a_fresh_fax_better_than_ppocr_digits():
    from models.ocr import RapidOcrEngine

    samples = [s for s in document_samples(9_999, 0, "fax", dpi=150) if s.text]
    ours = DigitReader().read([[s.image for s in samples]])
    ppocr = RapidOcrEngine(digit_model=False).read([s.image for s in samples])
    right = np.mean([r.text == s.text for r, s in zip(ours, samples)])
    theirs = np.mean([r.digits == s.text for r, s in zip(ppocr, samples)])
    assert right >= 0.85 and right > theirs


@shipped
def test_the_engine_takes_digit_readings_from_the_value_recogniser_and_text_from_ppocr():
    from models.ocr import RapidOcrEngine

    samples = document_samples(9_998, 0, "moderate")[:40]
    crops = [s.image for s in samples]
    with_model = RapidOcrEngine().read(crops)
    without = RapidOcrEngine(digit_model=False).read(crops)
    ours = DigitReader().read([crops])
    for r, d, pp in zip(with_model, ours, without):
        if d.text == pp.digits and not d.alternatives and not pp.digit_alternatives:
            assert r.digits == d.text and not r.digit_alternatives
        else:
            assert r.digits in {d.text, pp.digits} | {t for t, _ in d.alternatives + pp.digit_alternatives}
    assert [r.text for r in with_model] == [r.text for r in without]
    # A label (two ideographs or more) keeps PP-OCR's digit reading: the value recogniser does not read it.
    label = RapidOcrEngine().read([_label_crop()])[0]
    plain = RapidOcrEngine(digit_model=False).read([_label_crop()])[0]
    assert len(label.text) >= 2 and (label.digits, label.digits_confidence) == (plain.digits, plain.digits_confidence)


def _label_crop() -> np.ndarray:
    from PIL import Image, ImageDraw, ImageFont

    from training.synth.fonts import WQY
    img = Image.new("L", (160, 40), 255)
    ImageDraw.Draw(img).text((6, 6), "申请人情况", font=ImageFont.truetype(str(WQY), 26), fill=0)
    return np.array(img)


def test_two_readings_mix_by_their_shares_and_keep_alternatives_only_in_doubt():
    from models.ocr import mix_readings

    assert mix_readings([("8", 0.99)], [("8", 0.98)]) == ("8", 0.985, [])
    best, p, alts = mix_readings([("8", 0.99)], [("3", 0.9), ("8", 0.1)], share=0.3)
    assert best == "3" and p == pytest.approx(0.63) and [t for t, _ in alts] == ["3", "8"]
    assert alts[1][1] == pytest.approx(0.367)
    best, p, alts = mix_readings([("8", 0.99)], [("3", 0.9), ("8", 0.1)])  # even shares: the 8 has more in all
    assert best == "8" and p == pytest.approx(0.545) and [t for t, _ in alts] == ["8", "3"]
