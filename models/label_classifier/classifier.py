"""TokenLabelClassifier: tags every character of a label text with a tag class, then scores targets from the tags.

`tag(texts)` gives the spans (a cell holding a parent and its row, or two neighbouring labels, gives several);
`scores(texts, targets)` implements service.labels.LabelClassifier: for each target, the expected share of the
text's label characters (whitespace, parent, header and caption characters left out) that carry the target's class.
A text that is mostly other text therefore scores low for every target.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from models.label_classifier.classes import OTHER, TagClass, load_classes, target_ref
from models.label_classifier.model import MAX_LEN, MODEL_DIR, load_model, torch_threads
from models.label_classifier.vocab import CharVocab
from service.labels import FuzzyLabelMatcher, LabelTarget, normalize

log = logging.getLogger("nianbao.classifier")

BATCH = 64
BATCH_CHARS = 1024  # padded characters per forward pass: one long text must not pad sixty short ones


def _length_batches(texts_by_length: list[str]) -> list[list[str]]:
    batches: list[list[str]] = []
    for t in texts_by_length:
        if batches and len(batches[-1]) < BATCH and (len(batches[-1]) + 1) * len(t) <= BATCH_CHARS:
            batches[-1].append(t)
        else:
            batches.append([t])
    return batches


def torch_device(requested: str | None) -> torch.device:
    """"cpu", "cuda" or "cuda:N"; CUDA that torch cannot use (a CPU-only build, no GPU) is CPU, with a warning."""
    requested = (requested or "cpu").strip().lower()
    if requested.startswith("cuda"):
        if torch.cuda.is_available():
            return torch.device(requested)
        log.warning("classifier: %s asked for but torch sees no usable GPU; running on CPU", requested)
        return torch.device("cpu")
    return torch.device(requested)


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

    def __init__(self, folder: Path | str = MODEL_DIR, threads: int | None = 1, device: str = "cpu"):
        folder = Path(folder)
        # One thread by default: at this model size a second thread gains little and thrashes on a busy machine.
        self.threads = threads
        self.device = torch_device(device)
        self.model = load_model(folder).to(self.device)
        self.vocab = CharVocab.load(folder / "vocab.txt")
        self.classes: list[TagClass] = load_classes(folder / "classes.json")
        self.names = [OTHER] + [c.name for c in self.classes]
        self.context = np.array([False] + [c.is_context for c in self.classes])
        self.by_ref = {ref: i + 1 for i, c in enumerate(self.classes) for ref in c.targets}
        self.by_norm = {n: i + 1 for i, c in enumerate(self.classes) for n in c.labels}
        self._fallback = FuzzyLabelMatcher()

    # --- per-character probabilities -------------------------------------------------------------------------

    def probs(self, texts: Sequence[str]) -> list[np.ndarray]:
        """(len(text), classes + 1) tag probabilities per text; texts longer than the model's window go in pieces."""
        pieces: list[tuple[int, int, str]] = []  # (text index, offset, piece)
        for i, text in enumerate(texts):
            for off in range(0, max(len(text), 1), MAX_LEN):
                pieces.append((i, off, text[off:off + MAX_LEN]))
        out = [np.zeros((len(t), len(self.names)), dtype=np.float32) for t in texts]
        unique = sorted({p[2] for p in pieces if p[2]}, key=lambda t: (len(t), t))  # stable batches, same answers
        found: dict[str, np.ndarray] = {}
        with torch.inference_mode(), torch_threads(self.threads):
            for batch in _length_batches(unique):
                width = max(len(t) for t in batch)
                ids = torch.zeros((len(batch), width), dtype=torch.long)
                mask = torch.zeros((len(batch), width), dtype=torch.long)
                for k, t in enumerate(batch):
                    ids[k, :len(t)] = torch.tensor(self.vocab.encode(t))
                    mask[k, :len(t)] = 1
                logits = self.model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device)).logits
                p = logits.float().softmax(-1).cpu().numpy()
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
