"""The value-cell recogniser: a small CRNN (convolutions, a bidirectional GRU, CTC) that reads the digits, points,
dashes and slashes of one value cell's text line.

PP-OCR's recogniser reads every script and learned clean print; a fax's or a bad copy's value cells are 6-8 px high,
blocky or blurred, and it misreads their 3, 5, 8 and 0 with confidence. This one learned only value cells, cut from
the factory's degraded scans the way the page reader cuts them (training/digits). It ships as a torch state dict
(models/digits.pt, what training goes on from) and that state exported to ONNX (models/digits.onnx, what a run on
the CPU reads through onnxruntime: three times torch's speed on one thread, and no torch in the process). On a GPU
it runs on torch.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from models.ocr import DOUBT, TOP_K, ctc_greedy, ctc_top_k

ALPHABET = "0123456789.-/"
# Printed forms of the alphabet's symbols that the renderer and real reports use.
_FORMS = str.maketrans({"—": "-", "－": "-", "–": "-", "一": "-", "／": "/", "．": ".", "。": "."})
HEIGHT = 32
# Crops are drawn 1.5 times as wide as tall as they are: at four columns a frame, a narrow pair such as Times "11"
# had too few frames for CTC's blank between them (read "1").
STRETCH = 1.5
MAX_WIDTH = 768
WEIGHTS = Path(__file__).with_name("digits.pt")
ONNX = WEIGHTS.with_suffix(".onnx")


def to_alphabet(text: str) -> str:
    return text.translate(_FORMS)


@dataclass
class DigitReading:
    text: str
    confidence: float
    alternatives: list[tuple[str, float]] = field(default_factory=list)  # top-k, where doubtful


def as_input(image: np.ndarray) -> np.ndarray:
    """A crop (grey or BGR uint8) at the network's height, ink bright on a dark ground (zero padding is paper)."""
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    h, w = image.shape
    width = int(min(MAX_WIDTH, max(16, round(STRETCH * w * HEIGHT / max(1, h)))))
    resized = cv2.resize(image, (width, HEIGHT), interpolation=cv2.INTER_AREA if h > HEIGHT else cv2.INTER_LINEAR)
    return (255 - resized).astype(np.float32) / 255.0


def batch_of(images: Sequence[np.ndarray]) -> tuple[np.ndarray, list[int]]:
    """Prepared inputs zero-padded to one width (a multiple of 4): n x 1 x HEIGHT x W, and each one's width."""
    widths = [im.shape[1] for im in images]
    width = int(math.ceil(max(widths) / 4) * 4)
    out = np.zeros((len(images), 1, HEIGHT, width), np.float32)
    for k, im in enumerate(images):
        out[k, 0, :, :im.shape[1]] = im
    return out, widths


def build_net():
    import torch
    from torch import nn

    def block(cin: int, cout: int) -> list:
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

    class DigitNet(nn.Module):
        """32 x W in, W/4 frames out, each a distribution over blank + ALPHABET."""

        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(
                *block(1, 32), nn.MaxPool2d(2),                 # 16 x W/2
                *block(32, 64), nn.MaxPool2d(2),                # 8 x W/4
                *block(64, 96), *block(96, 96), nn.MaxPool2d((2, 1)),  # 4
                *block(96, 128), nn.MaxPool2d((2, 1)),          # 2
                nn.Conv2d(128, 128, (2, 1), bias=False), nn.BatchNorm2d(128), nn.ReLU(inplace=True))  # 1
            self.rnn = nn.GRU(128, 96, batch_first=True, bidirectional=True)
            self.head = nn.Linear(192, len(ALPHABET) + 1)

        def forward(self, x: "torch.Tensor") -> "torch.Tensor":
            f = self.features(x).squeeze(2).transpose(1, 2)  # n x frames x 128
            return self.head(self.rnn(f)[0])                  # logits, n x frames x symbols

    return DigitNet()


def frames_of(width: int) -> int:
    return max(1, width // 4)


def export_onnx(weights: str | Path = WEIGHTS, out: str | Path | None = None) -> Path:
    """Write the weights as ONNX (batch and width dynamic, logits out) beside them or to `out`."""
    import warnings

    import torch

    net = build_net()
    net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    out = Path(out) if out else Path(weights).with_suffix(".onnx")
    with torch.no_grad(), warnings.catch_warnings():
        # The TorchScript exporter (it needs the onnx package, not onnxscript); its notes on tracing a GRU are for a
        # person debugging an export: tests/test_digits.py checks the file against the weights.
        warnings.simplefilter("ignore")
        torch.onnx.export(net.eval(), (torch.zeros(2, 1, HEIGHT, 64),), str(out), input_names=["x"],
                          output_names=["logits"], opset_version=17, dynamo=False,
                          dynamic_axes={"x": {0: "n", 3: "width"}, "logits": {0: "n", 1: "frames"}})
    return out


def _onnx_forward(path: Path):
    import onnxruntime as ort

    options = ort.SessionOptions()
    # One thread a call, as the OCR runtimes: pages are read side by side. No spinning between short calls.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return lambda x: session.run(None, {"x": x})[0]


def _torch_forward(net, device: str):
    import torch

    net.eval().to(device)

    def forward(x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return net(torch.from_numpy(x).to(device)).cpu().numpy()
    return forward


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


class DigitReader:
    """Reads value-cell crops; several renderings of the same crops (a fax's two blurs) have their outputs averaged.
    A .onnx file runs on onnxruntime (the CPU), a .pt state dict on torch (a GPU, or a net in training)."""
    chars = [""] + list(ALPHABET)  # CTC's blank first

    def __init__(self, weights: str | Path | None = None, device: str = "cpu"):
        weights = Path(weights) if weights else (WEIGHTS if device != "cpu" else ONNX)
        if weights.suffix == ".onnx":
            self.forward = _onnx_forward(weights)
            return
        import torch

        if device == "cpu":
            # One intra-op thread: pages are read side by side, and torch's default (every core) in each spins.
            torch.set_num_threads(1)
        net = build_net()
        net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
        self.forward = _torch_forward(net, device)

    @classmethod
    def of_net(cls, net, device: str = "cpu") -> "DigitReader":
        """A reader over a net in memory (training's)."""
        reader = cls.__new__(cls)
        reader.forward = _torch_forward(net, device)
        return reader

    def probs(self, renderings: Sequence[Sequence[np.ndarray]], batch: int = 64) -> list[np.ndarray]:
        """Each crop's frames x symbols probabilities, averaged over its renderings."""
        n = len(renderings[0])
        inputs = [[as_input(c) for c in crops] for crops in renderings]
        order = sorted(range(n), key=lambda i: inputs[0][i].shape[1])
        out: list[np.ndarray] = [np.zeros((0, len(self.chars)))] * n
        for s in range(0, n, batch):
            idx = order[s:s + batch]
            total = None
            for ins in inputs:
                x, widths = batch_of([ins[i] for i in idx])
                p = _softmax(self.forward(x))
                total = p if total is None else total + p
            for k, i in enumerate(idx):
                out[i] = total[k, :frames_of(widths[k])] / len(inputs)
        return out

    def read(self, renderings: Sequence[Sequence[np.ndarray]]) -> list[DigitReading]:
        if not renderings or not len(renderings[0]):
            return []
        return [self.decode(p) for p in self.probs(renderings)]

    def decode(self, probs: np.ndarray) -> DigitReading:
        """The best path, and the top-k where some frame is less sure than DOUBT (as PP-OCR's digit readings)."""
        conf = probs.max(1)
        text, c = ctc_greedy(probs.argmax(1), conf, self.chars)
        return DigitReading(text, c, ctc_top_k(probs, self.chars, TOP_K) if float(conf.min()) < DOUBT else [])
