"""TokenLabelClassifier: tags every character of a label text with a tag class, then scores targets from the tags.

`tag(texts)` gives the spans (a cell holding a parent and its row, or two neighbouring labels, gives several);
`scores(texts, targets)` implements service.labels.LabelClassifier: for each target, the expected share of the
text's label characters (whitespace, parent, header and caption characters left out) that carry the target's class.
A text that is mostly other text therefore scores low for every target.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from models.label_classifier.classes import OTHER, TagClass, load_classes, target_ref
from models.label_classifier.onnx_runtime import ONNX_FILE, OnnxTagger
from models.label_classifier.vocab import CharVocab
from service.labels import FuzzyLabelMatcher, LabelTarget, normalize

MODEL_DIR = Path(__file__).parent
MAX_LEN = 128  # the model's position embeddings
BATCH = 64
BATCH_CHARS = 1024  # padded characters per forward pass: one long text must not pad sixty short ones
RUNTIMES = ("onnx", "torch")

MEMO = 4096  # label pieces remembered; about 6 KB each


def _length_batches(texts_by_length: list[str]) -> list[list[str]]:
    batches: list[list[str]] = []
    for t in texts_by_length:
        if batches and len(batches[-1]) < BATCH and (len(batches[-1]) + 1) * len(t) <= BATCH_CHARS:
            batches[-1].append(t)
        else:
            batches.append([t])
    return batches


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def has_onnx(folder: Path = MODEL_DIR) -> bool:
    return (Path(folder) / ONNX_FILE).exists()


@dataclass(frozen=True)
class Span:
    start: int
    end: int  # exclusive, in characters of the text
    text: str
    tag: str  # class name, or "other"
    targets: tuple[str, ...]  # "template:section.kind.key" of every target the span may be; () for other/context
    roles: tuple[str, ...]  # row / column / title / parent / header / caption; () for other text
    confidence: float  # mean probability of the tag over the span


class TokenLabelClassifier:
    name = "token"

    def __init__(self, folder: Path | str = MODEL_DIR, threads: int | None = 1, device: str = "cpu",
                 runtime: str = "torch"):
        """runtime "onnx": model.onnx through onnxruntime (what a run uses); "torch": the safetensors weights through
        transformers (training, export, CUDA)."""
        folder = Path(folder)
        # One thread by default: at this model size a second thread gains little and thrashes on a busy machine.
        self.threads = threads
        if runtime == "onnx":
            self.runtime = OnnxTagger(folder, threads, device)
        elif runtime == "torch":
            from models.label_classifier.model import TorchTagger

            self.runtime = TorchTagger(folder, threads, device)
        else:
            raise ValueError(f"runtime {runtime!r}: one of {RUNTIMES}")
        self.device, self.model = self.runtime.device, self.runtime.model
        self.vocab = CharVocab.load(folder / "vocab.txt")
        self.classes: list[TagClass] = load_classes(folder / "classes.json")
        self.names = [OTHER] + [c.name for c in self.classes]
        self.context = np.array([False] + [c.is_context for c in self.classes])
        self.by_ref = {ref: i + 1 for i, c in enumerate(self.classes) for ref in c.targets}
        self.by_norm = {n: i + 1 for i, c in enumerate(self.classes) for n in c.labels}
        self._fallback = FuzzyLabelMatcher()
        self._memo: dict[str, np.ndarray] = {}  # label piece -> its probabilities (see probs)

    # --- per-character probabilities -------------------------------------------------------------------------

    def probs(self, texts: Sequence[str]) -> list[np.ndarray]:
        """(len(text), classes + 1) tag probabilities per text; texts longer than the model's window go in pieces."""
        pieces: list[tuple[int, int, str]] = []  # (text index, offset, piece)
        for i, text in enumerate(texts):
            for off in range(0, max(len(text), 1), MAX_LEN):
                pieces.append((i, off, text[off:off + MAX_LEN]))
        out = [np.zeros((len(t), len(self.names)), dtype=np.float32) for t in texts]
        # Reports print the same template labels again and again: each piece's answer is remembered (a text job's
        # classifier time fell from 0.18 s to 0.03 s in an API worker, same answers).
        found = self._memo
        if len(found) > MEMO:
            found.clear()
        unique = sorted({p[2] for p in pieces if p[2] and p[2] not in found},
                        key=lambda t: (len(t), t))  # stable batches, same answers
        for batch in _length_batches(unique):
            width = max(len(t) for t in batch)
            ids = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for k, t in enumerate(batch):
                ids[k, :len(t)] = self.vocab.encode(t)
                mask[k, :len(t)] = 1
            p = _softmax(self.runtime.logits(ids, mask).astype(np.float32))
            for k, t in enumerate(batch):
                found[t] = p[k, :len(t)]
        for i, off, piece in pieces:
            if piece:
                out[i][off:off + len(piece)] = found[piece]
        return out

    # --- the richer answer: spans ----------------------------------------------------------------------------

    def tag(self, texts: Sequence[str]) -> list[list[Span]]:
        result = []
        for text, p in zip(texts, self.probs(texts)):
            best = p.argmax(-1) if len(text) else np.zeros(0, dtype=int)
            spans: list[Span] = []
            k = 0
            while k < len(text):
                if text[k].isspace():
                    k += 1
                    continue
                end = k + 1
                # A span runs over whitespace inside it while the tag stays the same.
                while end < len(text) and (best[end] == best[k] or text[end].isspace()):
                    end += 1
                while text[end - 1].isspace():
                    end -= 1
                c = int(best[k])
                keep = [j for j in range(k, end) if not text[j].isspace()]
                cls = self.classes[c - 1] if c else None
                spans.append(Span(k, end, text[k:end], self.names[c], cls.targets if cls else (),
                                  cls.roles if cls else (), float(p[keep, c].mean())))
                k = end
            result.append(spans)
        return result

    # --- the LabelClassifier interface -----------------------------------------------------------------------

    def class_of(self, target: LabelTarget) -> int | None:
        found = self.by_ref.get(target_ref(target))
        if found is None:  # a template changed since training: find the class by its printed label
            found = next((self.by_norm[n] for n in map(normalize, target.labels) if n in self.by_norm), None)
        return found

    def _other_templates(self, targets: Sequence[LabelTarget]) -> np.ndarray:
        """Mask of the classes whose targets all belong to templates other than those of `targets`."""
        wanted = {t.template for t in targets}
        mask = np.zeros(len(self.names), dtype=bool)
        for i, c in enumerate(self.classes):
            mask[i + 1] = bool(c.targets) and not any(ref.split(":", 1)[0] in wanted for ref in c.targets)
        return mask

    def scores(self, texts: Sequence[str], targets: Sequence[LabelTarget]) -> list[list[float]]:
        cols = [self.class_of(t) for t in targets]
        known = [j for j, c in enumerate(cols) if c is not None]
        idx = np.array([cols[j] for j in known], dtype=int)
        elsewhere = self._other_templates(targets)
        out = np.zeros((len(texts), len(targets)), dtype=np.float64)
        for i, (text, p) in enumerate(zip(texts, self.probs(texts))):
            keep = np.array([not ch.isspace() for ch in text], dtype=bool)
            if not keep.any():
                continue
            p = p[keep]
            label_mass = (1.0 - p[:, self.context].sum(-1)).sum()
            # Labels only another template prints cannot be meant: condition on that, at most doubling a
            # probability, so 本年新 (2021 new, or 2019 本年新制作数量) reads as new among 2021 targets while a
            # 2019-only label stays low there.
            boost = 1.0 / np.maximum(1.0 - p[:, elsewhere].sum(-1), 0.5)
            if len(idx):
                out[i, known] = (p[:, idx] * boost[:, None]).sum(0) / max(label_mass, 1.0)
        unknown = [j for j, c in enumerate(cols) if c is None]
        if unknown:  # targets the model never saw: the fuzzy matcher answers for them
            fuzzy = np.array(self._fallback.scores(texts, [targets[j] for j in unknown]))
            out[:, unknown] = fuzzy
        return np.clip(out, 0.0, 1.0).tolist()
