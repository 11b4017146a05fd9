"""Train the character tagger: a short masked-LM pretraining on label and prose text, then tag fine-tuning.

Examples are generated fresh for every step (generate.py), so the model never sees the same corrupted text twice.
Fixed seeds and step counts make a run reproducible on one machine.
"""
from __future__ import annotations

import json
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from transformers import BertForMaskedLM, BertForTokenClassification

from models.label_classifier.classes import OTHER, build_classes, save_classes
from models.label_classifier.model import Size, export_onnx, save_model
from models.label_classifier.vocab import CharVocab
from service.template import all_templates
from training.labels import prose
from training.labels.generate import Example, LabelBank, Recipe, examples


@dataclass(frozen=True)
class Plan:
    # Chosen by measurement (models/label_classifier/README.md): 128x2 learns as fast per step as 192x3 at half the
    # cost, and 150 masked-LM steps bought nothing on the held-out set, so the shipped run skips them.
    size: Size = Size(hidden=128, layers=2, heads=4)
    pretrain_steps: int = 0
    steps: int = 3000
    batch: int = 64
    lr: float = 1e-3
    seed: int = 20240601
    threads: int = 1  # one thread: on a shared or small machine two threads thrash (8x slower measured)

    @classmethod
    def tiny(cls) -> "Plan":
        return cls(size=Size(hidden=32, layers=1, heads=2), pretrain_steps=5, steps=40, batch=32, lr=3e-3)


def _batches(bank: LabelBank, recipe: Recipe, seed: int, batch: int):
    """Endless batches; each pool of 8 batches is sorted by length so that padding stays small."""
    rng = random.Random(seed)
    k = 0
    while True:
        pool = examples(bank, recipe, seed * 1000 + k, batch * 8)
        k += 1
        pool.sort(key=lambda e: len(e.text))
        chunks = [pool[i:i + batch] for i in range(0, len(pool), batch)]
        rng.shuffle(chunks)
        yield from chunks


def _encode(vocab: CharVocab, batch: list[Example]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    width = max(max(len(e.text) for e in batch), 1)
    ids = torch.zeros((len(batch), width), dtype=torch.long)
    mask = torch.zeros_like(ids)
    tags = torch.full_like(ids, -100)
    for k, e in enumerate(batch):
        n = len(e.text)
        ids[k, :n] = torch.tensor(vocab.encode(e.text))
        mask[k, :n] = 1
        tags[k, :n] = torch.tensor(e.tags)
    return ids, mask, tags


def _mask_tokens(ids: torch.Tensor, mask: torch.Tensor, vocab: CharVocab, gen: torch.Generator):
    """BERT masking: 15% of real tokens; of those 80% [MASK], 10% a random token, 10% unchanged."""
    labels = ids.clone()
    chosen = (torch.rand(ids.shape, generator=gen) < 0.15) & mask.bool()
    labels[~chosen] = -100
    ids = ids.clone()
    r = torch.rand(ids.shape, generator=gen)
    ids[chosen & (r < 0.8)] = vocab.mask
    rand = chosen & (r >= 0.8) & (r < 0.9)
    ids[rand] = torch.randint(len(vocab.tokens) - 1, ids.shape, generator=gen)[rand] + 1
    return ids, labels


def _schedule(opt, steps: int):
    warm = max(1, steps // 20)
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / (steps - warm))))


def _optimizer(model, lr: float):
    decay = [p for n, p in model.named_parameters() if p.ndim > 1 and "LayerNorm" not in n]
    rest = [p for n, p in model.named_parameters() if not (p.ndim > 1 and "LayerNorm" not in n)]
    return torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": rest, "weight_decay": 0.0}], lr=lr)


def pretrain(model: BertForMaskedLM, vocab: CharVocab, bank: LabelBank, plan: Plan, log, started: float) -> list[float]:
    """Masked-LM on label texts (clean and corrupted) and prose, so the encoder knows the characters first."""
    gen = torch.Generator().manual_seed(plan.seed)
    rng = random.Random(plan.seed)
    batches = _batches(bank, Recipe(other=0.3), plan.seed + 1, plan.batch)
    opt = _optimizer(model, plan.lr)
    sched = _schedule(opt, plan.pretrain_steps)
    model.train()
    losses = []
    for step in range(plan.pretrain_steps):
        batch = next(batches)
        for e in batch[: len(batch) // 4]:  # a quarter of the rows become prose lines
            e.text = prose.snippet(rng)[:120]
            e.tags = [0] * len(e.text)
        ids, mask, _ = _encode(vocab, batch)
        ids, labels = _mask_tokens(ids, mask, vocab, gen)
        # The vocabulary head runs on the masked positions only: a full-width head costs more than the encoder.
        hidden = model.bert(input_ids=ids, attention_mask=mask).last_hidden_state
        chosen = labels != -100
        logits = model.cls(hidden[chosen])
        loss = torch.nn.functional.cross_entropy(logits, labels[chosen])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step(), sched.step(), opt.zero_grad()
        losses.append(loss.item())
        if step % 50 == 0 or step == plan.pretrain_steps - 1:
            recent = losses[-50:]
            log(f"{time.time() - started:6.0f}s pretrain {step:5d} mlm loss {sum(recent) / len(recent):.3f}")
    return losses


def finetune(model: BertForTokenClassification, vocab: CharVocab, bank: LabelBank, plan: Plan, log,
             dev: list[Example], started: float) -> list[float]:
    batches = _batches(bank, Recipe(), plan.seed + 2, plan.batch)
    opt = _optimizer(model, plan.lr)
    sched = _schedule(opt, plan.steps)
    losses = []
    for step in range(plan.steps):
        model.train()
        ids, mask, tags = _encode(vocab, next(batches))
        loss = model(input_ids=ids, attention_mask=mask, labels=tags).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step(), sched.step(), opt.zero_grad()
        losses.append(loss.item())
        if step % 200 == 0 or step == plan.steps - 1:
            log(f"{time.time() - started:6.0f}s finetune {step:5d} loss {sum(losses[-50:]) / len(losses[-50:]):.4f} "
                f"dev char accuracy {char_accuracy(model, vocab, dev):.4f}")
    return losses


def char_accuracy(model, vocab: CharVocab, dev: list[Example]) -> float:
    model.eval()
    right = total = 0
    with torch.inference_mode():
        for i in range(0, len(dev), 128):
            ids, mask, tags = _encode(vocab, dev[i:i + 128])
            pred = model(input_ids=ids, attention_mask=mask).logits.argmax(-1)
            real = tags != -100
            right += int((pred[real] == tags[real]).sum())
            total += int(real.sum())
    return right / max(total, 1)


def train(out: Path, plan: Plan, log=print) -> dict:
    torch.manual_seed(plan.seed)
    torch.set_num_threads(plan.threads)
    templates = all_templates()
    classes = build_classes(templates)
    vocab = CharVocab.build(c for cls in classes for c in cls.printed)
    bank = LabelBank(templates, classes)
    config = plan.size.config(len(vocab), len(classes) + 1)
    config.id2label = dict(enumerate([OTHER] + [c.name for c in classes]))
    config.label2id = {v: k for k, v in config.id2label.items()}
    started = time.time()
    mlm = BertForMaskedLM(config)
    pre_losses = pretrain(mlm, vocab, bank, plan, log, started) if plan.pretrain_steps else []
    model = BertForTokenClassification(config)
    if plan.pretrain_steps:
        missing = model.bert.load_state_dict(mlm.bert.state_dict(), strict=False)
        assert not missing.unexpected_keys, missing
    dev = examples(bank, Recipe(), plan.seed + 3, 512)
    losses = finetune(model, vocab, bank, plan, log, dev, started)
    seconds = time.time() - started
    info = {"plan": asdict(plan), "train_seconds": round(seconds, 1),
            "dev_char_accuracy": char_accuracy(model, vocab, dev),
            "first_loss": sum(losses[:10]) / len(losses[:10]), "last_loss": sum(losses[-10:]) / len(losses[-10:]),
            "pretrain_last_loss": sum(pre_losses[-10:]) / max(len(pre_losses[-10:]), 1)}
    out.mkdir(parents=True, exist_ok=True)
    save_model(model, out, {"training": info})
    export_onnx(out)  # what a run loads (onnxruntime); the safetensors stay for torch
    vocab.save(out / "vocab.txt")
    save_classes(classes, out / "classes.json")
    (out / "training.json").write_text(json.dumps(info, indent=1), encoding="utf-8")
    log(f"saved to {out} after {seconds:.0f}s: {json.dumps(info)}")
    return info
