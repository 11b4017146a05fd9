"""The tagger's forward pass through onnxruntime: model.onnx, exported from the torch weights by the training command.

Needs only onnxruntime and numpy, so a run loads in a fraction of a second and a few tens of MB (torch and
transformers are for training, export and the optional torch runtime).
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

log = logging.getLogger("nianbao.classifier")

ONNX_FILE = "model.onnx"


class OnnxTagger:
    def __init__(self, folder: Path, threads: int | None = 1, device: str = "cpu"):
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # No busy-waiting between the short forward passes: spinning threads only take CPU from the rest of the run.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        providers = ["CPUExecutionProvider"]
        self.device = "cpu"
        if (device or "cpu").lower().startswith("cuda"):
            if "CUDAExecutionProvider" in ort.get_available_providers():
                providers.insert(0, "CUDAExecutionProvider")
                self.device = "cuda"
            else:
                log.warning("classifier: %s asked for but onnxruntime has no CUDA provider; running on CPU", device)
        self.model = ort.InferenceSession(str(Path(folder) / ONNX_FILE), options, providers=providers)

    def logits(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """(batch, width) int64 token ids and attention mask -> (batch, width, tags) float32 logits."""
        return self.model.run(["logits"], {"input_ids": ids, "attention_mask": mask})[0]
