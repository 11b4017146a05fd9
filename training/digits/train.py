"""Make the crops, train the value-cell recogniser on them, and measure it.

python -m training.digits crops --docs 200 --seed 1 --out DIR/train.pkl
python -m training.digits train --data DIR/train.pkl --val DIR/val.pkl --steps 6000 --out models/digits.pt
python -m training.digits evaluate --data DIR/val.pkl [--weights models/digits.pt]
"""
from __future__ import annotations

import pickle
import random
import sys
import time
from collections import defaultdict
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from models.digits import ALPHABET, DigitReader, as_input, batch_of, build_net, frames_of
from training.digits.crops import Sample, document_samples


def _one(job: tuple) -> list[Sample]:
    return document_samples(*job)


def make_crops(seed: int, docs: int, workers: int = 2, progress: bool = True,
               profiles: list[str] | None = None) -> list[Sample]:
    """Crops of `docs` fresh factory scans; `profiles` ("level/profile", e.g. heavy/dark_copy) taken in turn, where
    given, instead of each scan's drawn level and profile."""
    samples: list[Sample] = []
    jobs = [(seed, i) if not profiles else (seed, i, *_level_profile(profiles[i % len(profiles)]))
            for i in range(docs)]
    t0 = time.perf_counter()
    with get_context("fork").Pool(workers) as pool:
        for k, got in enumerate(pool.imap_unordered(_one, jobs), start=1):
            samples += got
            if progress and (k % 10 == 0 or k == docs):
                print(f"crops: {k}/{docs} documents, {len(samples)} crops, {time.perf_counter() - t0:.0f} s",
                      file=sys.stderr, flush=True)
    return samples


def _level_profile(name: str) -> tuple[str, None, str | None]:
    level, _, profile = name.partition("/")
    return level, None, profile or None


def save(samples: list[Sample], path: str | Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        pickle.dump(samples, f, protocol=pickle.HIGHEST_PROTOCOL)


def load(path: str | Path) -> list[Sample]:
    """The crops saved at `path`, or at each of several paths joined by commas."""
    out: list[Sample] = []
    for one in str(path).split(","):
        with open(one, "rb") as f:
            out += pickle.load(f)
    return out


def fits(sample: Sample) -> bool:
    """Whether the crop is wide enough for its text (a digit is about half as wide as high): a drawn value wider than
    its cell is cut off at the cell's border, and the crop holds its first digits only."""
    return sample.image.shape[1] >= FIT * len(sample.text) * sample.image.shape[0]


FIT = 0.35


def _jitter(image: np.ndarray, rng: random.Random) -> np.ndarray:
    """The crop a little wider or narrower, and its margins a little different, as the reader's cutting varies."""
    import cv2

    h, w = image.shape
    sx = rng.uniform(0.85, 1.15)
    image = cv2.resize(image, (max(4, int(round(w * sx))), h))
    pad = [rng.randint(0, max(1, h // 6)) for _ in range(4)]
    image = cv2.copyMakeBorder(image, pad[0], pad[1], pad[2], pad[3], cv2.BORDER_CONSTANT, value=255)
    return image


def train(samples: list[Sample], steps: int, batch: int = 64, lr: float = 2e-3, seed: int = 0,
          log_every: int = 250, threads: int = 2, init: dict | None = None) -> dict:
    import torch

    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    rng = random.Random(seed)
    index = {ch: i + 1 for i, ch in enumerate(ALPHABET)}
    usable = [s for s in samples if frames_of(as_input(s.image).shape[1]) >= 2 * len(s.text) and fits(s)]
    net = build_net()
    if init is not None:  # go on from earlier weights
        net.load_state_dict(init)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    ctc = torch.nn.CTCLoss(blank=0, zero_infinity=True)
    by_width = sorted(usable, key=lambda s: s.image.shape[1] / max(1, s.image.shape[0]))
    t0 = time.perf_counter()
    net.train()
    for step in range(1, steps + 1):
        # Crops of similar shape together (little padding): a random window of the sorted list.
        start = rng.randrange(0, max(1, len(by_width) - batch))
        chosen = by_width[start:start + batch]
        inputs = [as_input(_jitter(s.image, rng)) for s in chosen]
        x, widths = batch_of(inputs)
        logits = net(torch.from_numpy(x))
        logp = logits.log_softmax(-1).transpose(0, 1)
        targets = torch.tensor([index[ch] for s in chosen for ch in s.text])
        lengths = torch.tensor([frames_of(w) for w in widths])
        loss = ctc(logp, targets, lengths, torch.tensor([len(s.text) for s in chosen]))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        opt.step()
        sched.step()
        if step % log_every == 0 or step == steps:
            print(f"step {step}/{steps} loss {loss.item():.4f} {time.perf_counter() - t0:.0f} s", file=sys.stderr,
                  flush=True)
    net.eval()
    return net.state_dict()


def evaluate(reader: DigitReader, samples: list[Sample]) -> dict:
    """Share of crops read exactly, by level and profile (crops cut short by their cell left out)."""
    samples = [s for s in samples if fits(s)]
    got = reader.read([[s.image for s in samples]])
    right: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for s, r in zip(samples, got):
        for key in ("all", s.level, f"{s.level}/{s.profile}/{s.dpi}"):
            right[key][0] += r.text == s.text
            right[key][1] += 1
    return {k: {"right": a, "crops": n, "share": round(a / n, 4)} for k, (a, n) in sorted(right.items())}
