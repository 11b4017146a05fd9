"""Text recognition behind a small interface: crops in, (text, confidence) out.

The scan reader recognises each table cell's crop alone (no detection), so the engine's main call is
`read(crops)`: both readings of each crop. `RapidOcrEngine` runs the PP-OCR recognition model shipped inside
rapidocr, batched, and decodes the CTC output itself: the full-alphabet text, and a digit reading restricted to the
value alphabet (an "O" or "l" then cannot win over "0" or "1"). Where the value-cell recogniser ships
(models/digits.py, trained on the factory's degraded value cells), the digit reading mixes both recognisers' top-k
texts (`mix_readings`: half each). Where it is doubtful, the top-k stay as the reading's
alternatives (`Reading.digit_alternatives`), for the decoder to choose among.
"""
from __future__ import annotations

import logging
import math
import re
import threading
from dataclasses import dataclass, field
from typing import Callable, Protocol, Sequence

import cv2
import numpy as np

# What a value cell may contain: counts, amounts (万元 with decimals), and the dashes/slashes printed for "none".
DIGIT_ALPHABET = "0123456789.-/减"
# Common look-alikes mapped when a full-alphabet reading is used for a number.
DIGIT_CONFUSIONS = str.maketrans({"O": "0", "o": "0", "〇": "0", "D": "0", "Q": "0", "l": "1", "I": "1", "|": "1",
                                  "i": "1", "!": "1", "Z": "2", "z": "2", "S": "5", "s": "5", "B": "8", "g": "9",
                                  "q": "9", "—": "-", "－": "-", "–": "-", "一": "-", "。": ".", "，": ".", ",": ".",
                                  "／": "/", "b": "6", "G": "6", "T": "7"})


# A digit reading is doubtful, and gets its alternatives, where some frame's best symbol is less sure than this.
DOUBT = 0.95
TOP_K = 5


@dataclass
class Reading:
    """One crop read two ways from the same network output: with the full alphabet and restricted to digits."""
    text: str
    confidence: float
    digits: str
    digits_confidence: float
    # Doubtful digit readings only: the top-k texts by CTC probability, best first ([] where the reading is sure).
    digit_alternatives: list[tuple[str, float]] = field(default_factory=list)


def ctc_top_k(probs: np.ndarray, chars: Sequence[str], k: int = TOP_K, beam: int = 12, floor: float = 1e-3
              ) -> list[tuple[str, float]]:
    """The k most probable texts of a CTC output (frames x symbols, symbol 0 the blank), by prefix beam search:
    each text's probability sums every frame path that collapses to it. Symbols under `floor` in a frame are not
    tried there."""
    beams: dict[tuple[int, ...], tuple[float, float]] = {(): (1.0, 0.0)}  # prefix -> (ends in blank, in a symbol)
    for row in probs:
        tried = [int(c) for c in np.flatnonzero(row >= floor) if c != 0]
        nxt: dict[tuple[int, ...], list[float]] = {}
        for prefix, (pb, pnb) in beams.items():
            total = pb + pnb
            cell = nxt.setdefault(prefix, [0.0, 0.0])
            cell[0] += total * float(row[0])
            last = prefix[-1] if prefix else -1
            for c in tried:
                p = float(row[c])
                if c == last:
                    cell[1] += pnb * p  # the symbol held over another frame
                    nxt.setdefault(prefix + (c,), [0.0, 0.0])[1] += pb * p  # the same symbol again after a blank
                else:
                    nxt.setdefault(prefix + (c,), [0.0, 0.0])[1] += total * p
        best = sorted(nxt.items(), key=lambda kv: -(kv[1][0] + kv[1][1]))[:beam]
        beams = {pre: (v[0], v[1]) for pre, v in best}
    texts: dict[str, float] = {}
    for prefix, (pb, pnb) in beams.items():
        text = "".join(chars[c] for c in prefix).strip()
        texts[text] = texts.get(text, 0.0) + pb + pnb
    ranked = sorted(texts.items(), key=lambda kv: -kv[1])[:k]
    return [(t, round(p, 4)) for t, p in ranked]


_IDEOGRAPHS = re.compile(r"[\u4e00-\u9fff]")
# PP-OCR's share of a value cell's digit reading beside the value-cell recogniser's. Even shares: 0.3 read more crops
# right (real-layout scans' heavy and fax crops 93.6/95.0% against 93.1/93.5%), but its surer misreadings cost three
# factory faxes 62 fields, and the real-layout scans' fields came out the same (1553 against 1555 of 1600).
PPOCR_SHARE = 0.5


def mix_readings(ppocr: Sequence[tuple[str, float]], ours: Sequence[tuple[str, float]], share: float = PPOCR_SHARE
                 ) -> tuple[str, float, list[tuple[str, float]]]:
    """Two recognisers' readings of one crop (each its top-k texts with probabilities, or its one sure text) as one:
    each text's probability the weighted mean of the two. Returns the best text, its probability, and the top-k
    where the best is in doubt (else [])."""
    mixed: dict[str, float] = {}
    for alts, weight in ((ppocr, share), (ours, 1.0 - share)):
        for text, p in alts:
            mixed[text] = mixed.get(text, 0.0) + weight * p
    ranked = sorted(mixed.items(), key=lambda kv: -kv[1])[:TOP_K]
    best, p = ranked[0]
    return best, round(p, 4), ([(t, round(q, 4)) for t, q in ranked] if p < DOUBT else [])


def ctc_greedy(ids: np.ndarray, conf: np.ndarray, chars: Sequence[str]) -> tuple[str, float]:
    """The best path's text (repeats merged, blanks dropped) and its kept symbols' mean confidence; for a crop read
    as nothing but blanks, how sure the network is that it is empty."""
    keep = np.ones(len(ids), dtype=bool)
    keep[1:] = ids[1:] != ids[:-1]
    keep &= ids != 0
    text = "".join(chars[i] for i in ids[keep])
    if keep.any():
        return text, round(float(conf[keep].mean()), 4)
    return text, round(float(conf.mean()), 4) if len(conf) else 0.0


def label_like(text: str) -> bool:
    """Two ideographs or more (减, a printed minus, aside): a label, not a number."""
    return len(_IDEOGRAPHS.findall(text.replace("减", ""))) >= 2


def combine_alternatives(parts: Sequence[Sequence[tuple[str, float]]], k: int = TOP_K) -> list[tuple[str, float]]:
    """A cell read as several lines: the top-k joined texts (lines independent: probabilities multiply)."""
    out: list[tuple[str, float]] = [("", 1.0)]
    for alts in parts:
        out = sorted(((a + t, pa * pt) for a, pa in out for t, pt in alts), key=lambda x: -x[1])[:k]
    merged: dict[str, float] = {}
    for t, p in out:
        merged[t] = merged.get(t, 0.0) + p
    return [(t, round(p, 4)) for t, p in sorted(merged.items(), key=lambda kv: -kv[1])]


@dataclass
class TextLine:
    """A line found by detection: quadrilateral points in image pixels, its text and confidence."""
    points: list[tuple[float, float]]
    text: str
    confidence: float


class OcrEngine(Protocol):
    def recognize(self, crops: Sequence[np.ndarray], numeric: Sequence[bool]) -> list[tuple[str, float]]:
        """Recognise each crop (one text line, BGR or grey uint8) alone; numeric ones restricted to digits."""

    def read(self, crops: Sequence[np.ndarray]) -> list[Reading]:
        """Both readings of every crop, from one pass of the network."""

    def read_blended(self, renderings: Sequence[Sequence[np.ndarray]]) -> list[Reading]:
        """Every crop drawn several ways (each rendering a list of the crops, same sizes): both readings of each
        from its renderings' network outputs averaged."""

    def detect(self, image: np.ndarray) -> list[TextLine]:
        """Find and read the text lines of a region (detection + recognition, no angle classifier)."""

    def upside_down(self, crops: Sequence[np.ndarray]) -> list[tuple[bool, float]]:
        """For each text-line crop: is it upside down, and how sure is the classifier."""


def onnx_cuda_available() -> bool:
    """Whether onnxruntime can run on a GPU: only the onnxruntime-gpu build has the CUDA provider."""
    try:
        import onnxruntime
    except ImportError:
        return False
    return "CUDAExecutionProvider" in onnxruntime.get_available_providers()


def onnx_use_cuda(device: str) -> bool:
    """CUDA for the onnx models (OCR, layout, table structure) where asked for and onnxruntime has it. With the CPU
    build of onnxruntime and a GPU for torch (--device cuda puts the classifier there) the onnx models run on the CPU
    either way; asking rapidocr, rapid_layout and rapid_table for CUDA then only makes each model load log a warning
    and installation advice (seen per worker process on an H100 machine, eval/reports/gpu.md)."""
    return device.startswith("cuda") and onnx_cuda_available()


RUNTIMES = ("onnxruntime", "torch")


def default_runtime(device: str) -> str:
    """onnxruntime on the CPU (torch runs these models at about half its speed there), torch on a GPU (the
    onnxruntime here is the CPU build; torch has CUDA). cuda asked for without a usable GPU is the CPU."""
    return "torch" if torch_device(device) != "cpu" else "onnxruntime"


def torch_device(device: str) -> str:
    """Where the torch runtime runs: the GPU asked for when torch can use it, else the CPU."""
    if device.startswith("cuda"):
        import torch

        if torch.cuda.is_available():
            return device
    return "cpu"


def onnx_engine_params(device: str, threads: int) -> dict:
    """rapidocr's onnxruntime settings for a device: CUDA only where onnxruntime has its CUDA provider."""
    return {
        "EngineConfig.onnxruntime.intra_op_num_threads": threads,
        "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        "EngineConfig.onnxruntime.use_cuda": onnx_use_cuda(device),
    }


class RapidOcrEngine:
    """PP-OCR (rapidocr's shipped onnx models) on onnxruntime, or on torch (models/ocr_torch.py). Models load lazily:
    reading cells never loads det."""

    def __init__(self, device: str = "cpu", threads: int = 2, batch: int = 4, height: int = 48,
                 squeeze: float = 0.7, runtime: str | None = None, digit_model: bool = True):
        from rapidocr import RapidOCR

        self.runtime = runtime or default_runtime(device)
        if self.runtime not in RUNTIMES:
            raise ValueError(f"unknown OCR runtime {self.runtime!r}: one of {', '.join(RUNTIMES)}")
        # torch: the models' sessions are swapped for models.ocr_torch ones as each model loads (_load).
        self.torch_device = torch_device(device) if self.runtime == "torch" else None

        # One onnxruntime thread per session call, and `threads` calls in flight: small crops parallelise badly
        # inside one call (and spinning workers waste the second core), whole batches side by side do not.
        params = {"Global.log_level": "warning", "Global.use_det": False, "Global.use_cls": False,
                  "Global.use_rec": True, **onnx_engine_params(device, 1)}
        self._ocr = RapidOCR(params=params)
        logging.getLogger("RapidOCR").setLevel(logging.WARNING)
        # A GPU takes one batch at a time; side-by-side calls only help CPU runtimes.
        self.threads = 1 if (self.torch_device or "cpu") != "cpu" else max(1, threads)
        self.batch = batch  # budget of one call: batch x 320 columns at 48 px height
        self.height = height
        # Long lines (labels) are narrowed before recognition: cost is linear in width, and CJK glyphs stay
        # legible to the model when narrowed somewhat (no loss measured at 0.7 on synthetic pages). 1.0 = off.
        self.squeeze = squeeze
        self._rec = None
        self._pool = None
        # Batches in flight at once, over every caller (a scan's pages are read side by side): each holds its full
        # output until reduced, and more at once than cores only adds memory.
        self._running = threading.BoundedSemaphore(self.threads)
        self._digit_ids: np.ndarray | None = None
        self._reduced = False
        # The digit readings come from the value-cell recogniser (models/digits.py) where its weights ship.
        from models.digits import ONNX
        self.digit_model = digit_model and ONNX.exists()
        self._digits = None
        self._digits_lock = threading.Lock()  # the page threads share one model, loaded once
        self.calls = {"rec_crops": 0, "det_calls": 0}

    def _load(self, kind: str):
        """rapidocr's det, rec or cls model, on this engine's runtime."""
        model = getattr(self._ocr, f"_load_{kind}_model")()
        if self.runtime == "torch":
            from models.ocr_torch import use_torch

            use_torch(model, self.torch_device)
        return model

    # -- recognition ---------------------------------------------------------------------------------------------
    def _recognizer(self):
        if self._rec is None:
            # rapidocr's __call__ takes one image at a time without detection; its recogniser takes a batch, and
            # we need the raw CTC probabilities for the digit decode, so we drive the recogniser's session directly.
            self._rec = self._load("rec")
            chars = self._rec.postprocess_op.character
            self._chars = chars
            self._digit_ids = np.array([0] + [i for i, c in enumerate(chars) if c in DIGIT_ALPHABET])
            self._session = self._rec.session
            if self.runtime == "torch":
                # The torch runtime reduces the output where it runs (a GPU): per frame the digit columns, then the
                # best symbol's probability and id, instead of the whole alphabet (18710 floats a frame to copy
                # back and search). `_columns` says where a symbol's probabilities sit. rapidocr's own use of the
                # model (detect) keeps the full output.
                self._session = self._rec.session.reduced(self._digit_ids)
                self._reduced = True
        return self._rec

    def _columns(self, symbols: np.ndarray) -> np.ndarray:
        """The columns of `_probs` output holding these symbols (the digit alphabet, in the reduced output)."""
        if not self._reduced:
            return symbols
        assert symbols is self._digit_ids, "the reduced output keeps the digit alphabet only"
        return np.arange(len(symbols))

    def _plan(self, crops: Sequence[np.ndarray]) -> tuple[list[np.ndarray], list[float], list[tuple[list[int], int]]]:
        """The crops as BGR, their aspect ratios as read, and their batches: crops of similar width, as many as fit
        a budget of columns (small digit crops go 64 at a time), each batch padded to one width."""
        h = self.height
        imgs = [_as_bgr(c) for c in crops]
        ratios = [max(1.0, c.shape[1] / max(1, c.shape[0])) for c in imgs]
        ratios = [r if r < 4 else max(4.0, r * self.squeeze) for r in ratios]
        order = [int(i) for i in np.argsort(ratios)]
        batches, cur = [], []
        for i in order:
            if cur and ((len(cur) + 1) * h * ratios[i] > self.batch * 320 or len(cur) >= 64):
                batches.append(cur)
                cur = []
            cur.append(i)
        if cur:
            batches.append(cur)
        # A crop's reading depends a little on how far it is padded (the recogniser attends over the whole
        # width), so the padded width is part of the plan: a shared GPU server stacks only batches of equal width.
        return imgs, ratios, [(idx, int(math.ceil(h * max(ratios[i] for i in idx) / 8.0) * 8)) for idx in batches]

    def _input(self, imgs: list[np.ndarray], ratios: list[float], idx: list[int], width: int
               ) -> tuple[np.ndarray, list[int]]:
        """One batch as the model takes it (n x 3 x height x width, normalised, zero-padded), and each crop's width."""
        h = self.height
        batch = np.zeros((len(idx), 3, h, width), dtype=np.float32)
        widths = []
        for k, i in enumerate(idx):
            w = min(width, int(math.ceil(h * ratios[i])))
            resized = cv2.resize(imgs[i], (w, h)).astype(np.float32)
            batch[k, :, :, :w] = (resized.transpose(2, 0, 1) / 255.0 - 0.5) / 0.5
            widths.append(w)
        return batch, widths

    @staticmethod
    def _frames(preds: np.ndarray, widths: list[int], width: int) -> list[np.ndarray]:
        """Each crop's output frames, without those of its padding."""
        frames = preds.shape[1]
        return [preds[k, :max(1, int(math.ceil(frames * w / width)))] for k, w in enumerate(widths)]

    def _outputs(self, renderings: Sequence[Sequence[np.ndarray]], reduce: Callable[[int, np.ndarray], object]
                 ) -> list:
        """`reduce(i, output)` for each crop i, its output the CTC probabilities (frames x alphabet, or the torch
        runtime's reduced columns) averaged over its renderings (lists of the same crops, drawn alike in size).
        Crops are batched by similar aspect ratio, and each batch is reduced as it comes: a page's crops held all
        their full outputs at once (18710 symbols a frame), 0.5 GB on a fax."""
        self._recognizer()
        plans = [self._plan(crops) for crops in renderings]
        _, ratios, batches = plans[0]
        out: list = [None] * len(ratios)

        def run(batch_plan: tuple[list[int], int]) -> None:
            with self._running:
                read(batch_plan)

        def read(batch_plan: tuple[list[int], int]) -> None:
            idx, width = batch_plan
            outputs = []
            for imgs, _, _ in plans:  # the renderings have one size: one plan, and their frames line up
                batch, widths = self._input(imgs, ratios, idx, width)
                outputs.append(self._frames(self._session(batch), widths, width))
            for k, i in enumerate(idx):
                frames = [o[k] for o in outputs]
                out[i] = reduce(i, frames[0] if len(frames) == 1 else self._blend(frames))

        if self.threads > 1 and len(batches) > 1:
            if self._pool is None:
                from concurrent.futures import ThreadPoolExecutor
                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="ocr")
            list(self._pool.map(run, batches))  # onnxruntime releases the GIL while it runs
        else:
            for b in batches:
                run(b)
        self.calls["rec_crops"] += len(ratios)
        return out

    def _probs(self, crops: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Each crop's CTC probabilities (see `_outputs`), whole."""
        return self._outputs([crops], lambda i, p: p) if len(crops) else []

    def _decode(self, probs: np.ndarray, allowed: np.ndarray | None) -> tuple[str, float]:
        if allowed is not None:
            sub = probs[:, self._columns(allowed)]
            # Renormalise over the allowed symbols so the confidence says how sure the digit reading is.
            sub = sub / np.maximum(sub.sum(axis=1, keepdims=True), 1e-9)
            best = sub.argmax(axis=1)
            ids, conf = allowed[best], sub.max(axis=1)
        elif self._reduced:
            ids, conf = probs[:, -1].astype(int), probs[:, -2]
        else:
            ids, conf = probs.argmax(axis=1), probs.max(axis=1)
        text, c = ctc_greedy(ids, conf, self._chars)
        return text.strip(), c

    def read(self, crops: Sequence[np.ndarray]) -> list[Reading]:
        if not crops:
            return []
        return self._with_digits(self._outputs([crops], lambda i, p: self._reading(p)), [crops])

    def read_blended(self, renderings: Sequence[Sequence[np.ndarray]]) -> list[Reading]:
        renderings = [r for r in renderings if len(r)]
        if not renderings:
            return []
        return self._with_digits(self._outputs(renderings, lambda i, p: self._reading(p)), renderings)

    def _digit_reader(self):
        with self._digits_lock:
            if self._digits is None:
                from models.digits import DigitReader
                self._digits = DigitReader(device=self.torch_device or "cpu")
        return self._digits

    def _with_digits(self, readings: list[Reading], renderings: Sequence[Sequence[np.ndarray]]) -> list[Reading]:
        """The digit readings taken from the value-cell recogniser (the full-alphabet text stays PP-OCR's)."""
        if not self.digit_model:
            return readings
        # Only crops that may hold a number: a line of two ideographs or more is a label (they are the wide crops,
        # and reading them tripled the time of reading a page's cells).
        numbers = [i for i, r in enumerate(readings) if not label_like(r.text)]
        if not numbers:
            return readings
        picked = [[crops[i] for i in numbers] for crops in renderings]
        for r, d in zip([readings[i] for i in numbers], self._digit_reader().read(picked)):
            r.digits, r.digits_confidence, r.digit_alternatives = mix_readings(
                r.digit_alternatives or [(r.digits, r.digits_confidence)], d.alternatives or [(d.text, d.confidence)],
                PPOCR_SHARE)
        return readings

    def _blend(self, outputs: list[np.ndarray]) -> np.ndarray:
        """One crop's outputs for several renderings, averaged frame by frame (the renderings have one size, so
        their frames line up); the torch runtime's best symbol and its probability come from the surest rendering."""
        mean = sum(outputs) / len(outputs)
        if self._reduced:
            surest = np.stack([o[:, -2] for o in outputs]).argmax(axis=0)
            mean[:, -2:] = np.stack([o[:, -2:] for o in outputs])[surest, np.arange(len(mean))]
        return mean

    def _readings(self, probs: list[np.ndarray]) -> list[Reading]:
        """Both readings of each crop from its `_probs` output."""
        return [self._reading(p) for p in probs]

    def _reading(self, probs: np.ndarray) -> Reading:
        text, conf = self._decode(probs, None)
        digits, dconf = self._decode(probs, self._digit_ids)
        return Reading(text, conf, digits, dconf, self._digit_alternatives(probs))

    def _digit_alternatives(self, probs: np.ndarray) -> list[tuple[str, float]]:
        """Top-k digit readings where some frame is in doubt; [] where every frame is sure."""
        sub = probs[:, self._columns(self._digit_ids)]
        sub = sub / np.maximum(sub.sum(axis=1, keepdims=True), 1e-9)
        if not len(sub) or float(sub.max(axis=1).min()) >= DOUBT:
            return []
        return ctc_top_k(sub, [self._chars[i] for i in self._digit_ids])

    def recognize(self, crops: Sequence[np.ndarray], numeric: Sequence[bool]) -> list[tuple[str, float]]:
        if not crops:
            return []
        if any(numeric) and self.digit_model:  # numbers read as `read` reads them (both recognisers)
            return [(r.digits, r.digits_confidence) if num else (r.text, r.confidence)
                    for r, num in zip(self.read(crops), numeric)]
        return self._outputs([crops], lambda i, p: self._decode(p, self._digit_ids if numeric[i] else None))

    def upside_down(self, crops: Sequence[np.ndarray]) -> list[tuple[bool, float]]:
        if not crops:
            return []
        cls = self._load("cls")
        res = cls([_as_bgr(c).copy() for c in crops])  # it turns the images it judges upside down: give it copies
        return [("180" in str(label), float(score)) for label, score in res.cls_res]

    # -- detection (text outside tables) -------------------------------------------------------------------------
    def detect(self, image: np.ndarray) -> list[TextLine]:
        self.calls["det_calls"] += 1
        self._load("det")
        # The flags are sticky inside rapidocr, so every call states all three.
        res = self._ocr(_as_bgr(image), use_det=True, use_cls=False, use_rec=True)
        if getattr(res, "boxes", None) is None or res.txts is None:
            return []
        return [TextLine([tuple(map(float, p)) for p in box], txt, float(score))
                for box, txt, score in zip(res.boxes, res.txts, res.scores)]


def _as_bgr(img: np.ndarray) -> np.ndarray:
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    return img


def as_number_text(text: str) -> str:
    """Map look-alike letters to digits in a full-alphabet reading of a number cell."""
    return text.translate(DIGIT_CONFUSIONS).replace(" ", "")
