"""The network: a small BERT over characters with a per-character tag head (transformers BertForTokenClassification).

Built from config.json and loaded from model.safetensors in this folder; nothing is fetched from a network.
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from transformers import BertConfig, BertForTokenClassification

MODEL_DIR = Path(__file__).parent
MAX_LEN = 128


@dataclass(frozen=True)
class Size:
    hidden: int = 128
    layers: int = 2
    heads: int = 4

    def config(self, vocab_size: int, num_labels: int) -> BertConfig:
        return BertConfig(vocab_size=vocab_size, hidden_size=self.hidden, num_hidden_layers=self.layers,
                          num_attention_heads=self.heads, intermediate_size=self.hidden * 4,
                          max_position_embeddings=MAX_LEN, type_vocab_size=1, num_labels=num_labels,
                          hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1, pad_token_id=0)


def save_model(model: BertForTokenClassification, out: Path, extra: dict | None = None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    config = model.config.to_dict()
    config["nianbao"] = extra or {}
    (out / "config.json").write_text(json.dumps(config, indent=1, ensure_ascii=False), encoding="utf-8")
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(out / "model.safetensors"))


def load_model(folder: Path = MODEL_DIR) -> BertForTokenClassification:
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    config.pop("nianbao", None)
    model = BertForTokenClassification(BertConfig(**config))
    model.load_state_dict(load_file(str(folder / "model.safetensors")))
    return model.eval()


@contextmanager
def torch_threads(n: int | None):
    """Run with n torch threads, then give back the process's setting (other stages share the process)."""
    if not n:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
