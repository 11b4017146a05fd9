"""The network: a small BERT over characters with a per-character tag head (transformers BertForTokenClassification).

Built from config.json and loaded from model.safetensors in this folder; nothing is fetched from a network. This is
the torch side: training, the ONNX export (model.onnx, what runs by default) and the optional torch runtime.
"""
from __future__ import annotations

import json
import logging
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from transformers import BertConfig, BertForTokenClassification

from models.label_classifier.classifier import MAX_LEN, MODEL_DIR
from models.label_classifier.onnx_runtime import ONNX_FILE

log = logging.getLogger("nianbao.classifier")

__all__ = ["MAX_LEN", "MODEL_DIR", "Size", "export_onnx", "load_model", "save_model", "TorchTagger"]


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


def load_model(folder: Path = MODEL_DIR, attention: str | None = None) -> BertForTokenClassification:
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    config.pop("nianbao", None)
    bert_config = BertConfig(**config)
    if attention:
        bert_config._attn_implementation = attention
    model = BertForTokenClassification(bert_config)
    model.load_state_dict(load_file(str(folder / "model.safetensors")))
    return model.eval()


class _Logits(torch.nn.Module):
    """The model with plain tensors in and out, for the exporter."""

    def __init__(self, model: BertForTokenClassification):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        return self.model(input_ids=input_ids, attention_mask=attention_mask).logits


def export_onnx(folder: Path = MODEL_DIR) -> Path:
    """Write folder/model.onnx from the weights in folder: batch and width dynamic, logits out."""
    # Eager attention: plain matmuls and a softmax in the graph.
    model = load_model(folder, attention="eager")
    ids = torch.tensor([[5, 6, 7, 0], [8, 9, 10, 11]], dtype=torch.long)
    mask = (ids != 0).long()
    out = folder / ONNX_FILE
    with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
        # The exporter's notes on tracing and on its own deprecation are for a person debugging an export; this one
        # is checked against the weights by tests/test_label_classifier.py.
        warnings.simplefilter("ignore")
        # The TorchScript exporter (it needs the onnx package, not onnxscript): this model has no control flow that
        # tracing would miss, and its scores match the weights' (tests/test_label_classifier.py).
        torch.onnx.export(_Logits(model), (ids, mask), str(out), input_names=["input_ids", "attention_mask"],
                          output_names=["logits"], opset_version=17, dynamo=False,
                          dynamic_axes={"input_ids": {0: "batch", 1: "width"},
                                        "attention_mask": {0: "batch", 1: "width"},
                                        "logits": {0: "batch", 1: "width"}})
    return out


class TorchTagger:
    """The forward pass through torch: the optional runtime (`--classifier model-torch`), and CUDA."""

    def __init__(self, folder: Path, threads: int | None = 1, device: str = "cpu"):
        self.threads = threads
        self.device = torch_device(device)
        self.model = load_model(folder).to(self.device)

    def logits(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        with torch.inference_mode(), torch_threads(self.threads):
            out = self.model(input_ids=torch.from_numpy(ids).to(self.device),
                             attention_mask=torch.from_numpy(mask).to(self.device)).logits
            return out.float().cpu().numpy()


def torch_device(requested: str | None) -> torch.device:
    """"cpu", "cuda" or "cuda:N"; CUDA that torch cannot use (a CPU-only build, no GPU) is CPU, with a warning."""
    requested = (requested or "cpu").strip().lower()
    if requested.startswith("cuda"):
        if torch.cuda.is_available():
            return torch.device(requested)
        log.warning("classifier: %s asked for but torch sees no usable GPU; running on CPU", requested)
        return torch.device("cpu")
    return torch.device(requested)


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
