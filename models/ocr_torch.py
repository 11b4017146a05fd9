"""rapidocr's PP-OCR ONNX models (det, rec, cls) run by PyTorch, so OCR can use a GPU where only CUDA torch is.

`OnnxGraph` reads an ONNX graph (models/onnx_reader.py, no `onnx` package needed) and runs its nodes in order with
torch functions, the initializers loaded as tensors. It knows exactly the ops these three models use (listed in
OPS); an unknown op fails at load, not mid-batch. Why an interpreter of our own rather than onnx2torch: onnx2torch
1.5.15 as shipped converts none of the three (SAME_UPPER padding is not implemented; cls keeps its weights in
Constant nodes), and it imports torchvision, whose PyPI wheel does not load beside the CPU torch build. About thirty
small ops written here need no patches and no extra package (eval/reports/gpu.md has the measurements).

`TorchSession` has the interface rapidocr's sessions have (`session(np.ndarray) -> np.ndarray`), so a loaded
rapidocr model switches runtime by swapping its `.session` (`use_torch`).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

_INT = (torch.int64, torch.int32)


def _same_upper(x: torch.Tensor, kernel, strides, dilations, value: float = 0.0) -> torch.Tensor:
    """ONNX SAME_UPPER: output size ceil(in / stride), the odd pixel of padding at the end."""
    pads = []
    for size, k, s, d in reversed(list(zip(x.shape[2:], kernel, strides, dilations))):
        total = max((math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads, value=value) if any(pads) else x


def _pad(x: torch.Tensor, pads, value: float = 0.0) -> tuple[torch.Tensor, tuple]:
    """ONNX pads [top, left, bottom, right] -> torch padding: symmetric ones go to the op, others are applied."""
    half = len(pads) // 2
    if list(pads[:half]) == list(pads[half:]):
        return x, tuple(pads[:half])
    torch_pads = []
    for begin, end in reversed(list(zip(pads[:half], pads[half:]))):
        torch_pads += [begin, end]
    return F.pad(x, torch_pads, value=value), (0,) * half


def _conv(a: dict) -> Callable:
    strides, dil, group = a.get("strides", [1, 1]), a.get("dilations", [1, 1]), a.get("group", 1)
    auto, pads = a.get("auto_pad", "NOTSET"), a.get("pads", [0, 0, 0, 0])

    def conv(x, w, b=None):
        if auto == "SAME_UPPER":
            x, pad = _same_upper(x, w.shape[2:], strides, dil), 0
        else:
            x, pad = _pad(x, pads)
        return F.conv2d(x, w, b, strides, pad, dil, group)
    return conv


def _conv_transpose(a: dict) -> Callable:
    assert not any(a.get("pads", [0])) and not any(a.get("output_padding", [0]))
    strides, dil, group = a.get("strides", [1, 1]), a.get("dilations", [1, 1]), a.get("group", 1)
    return lambda x, w, b=None: F.conv_transpose2d(x, w, b, strides, 0, 0, group, dil)


def _max_pool(a: dict) -> Callable:
    kernel, strides = a["kernel_shape"], a.get("strides", [1, 1])
    auto, pads = a.get("auto_pad", "NOTSET"), a.get("pads", [0, 0, 0, 0])
    assert not a.get("ceil_mode", 0)

    def pool(x):
        if auto == "SAME_UPPER":
            x, pad = _same_upper(x, kernel, strides, [1, 1], -math.inf), 0
        else:
            x, pad = _pad(x, pads, -math.inf)
        return F.max_pool2d(x, kernel, strides, pad)
    return pool


def _avg_pool(a: dict) -> Callable:
    kernel, strides, pads = a["kernel_shape"], a.get("strides", [1, 1]), a.get("pads", [0, 0, 0, 0])
    assert not any(pads) and not a.get("ceil_mode", 0)
    return lambda x: F.avg_pool2d(x, kernel, strides)


def _resize(a: dict) -> Callable:
    assert a.get("mode", b"nearest") == "nearest" and a.get("nearest_mode", "floor") == "floor"
    assert a.get("coordinate_transformation_mode") == "asymmetric"

    def resize(x, roi=None, scales=None, sizes=None):
        # asymmetric + floor: source pixel floor(dst / scale), which is torch's "nearest" given the same scale.
        if sizes is not None and sizes.numel():
            return F.interpolate(x, size=[int(s) for s in sizes.tolist()[2:]], mode="nearest")
        factors = [float(s) for s in scales.tolist()[2:]]
        return F.interpolate(x, scale_factor=factors, mode="nearest")
    return resize


def _slice(x, starts, ends, axes=None, steps=None):
    starts, ends = starts.tolist(), ends.tolist()
    axes = axes.tolist() if axes is not None else list(range(len(starts)))
    steps = steps.tolist() if steps is not None else [1] * len(starts)
    index = [slice(None)] * x.dim()
    for s, e, ax, st in zip(starts, ends, axes, steps):
        assert st > 0, "negative Slice steps are not used by these models"
        index[ax] = slice(s, e, st)
    return x[tuple(index)]


def _reshape(x, shape):
    dims = [x.shape[i] if d == 0 else d for i, d in enumerate(shape.tolist())]
    return x.reshape(dims)


def _squeeze(a: dict) -> Callable:
    axes = a.get("axes")  # opset 11: an attribute
    return (lambda x: x.squeeze(tuple(axes))) if axes else (lambda x: x.squeeze())


def _unsqueeze(a: dict) -> Callable:
    axes = a["axes"]

    def unsqueeze(x):
        for ax in sorted(ax % (x.dim() + len(axes)) for ax in axes):
            x = x.unsqueeze(ax)
        return x
    return unsqueeze


def _cast(a: dict) -> Callable:
    dtype = {1: torch.float32, 6: torch.int32, 7: torch.int64, 9: torch.bool, 11: torch.float64}[a["to"]]
    return lambda x: x.to(dtype)


def _clip(a: dict) -> Callable:
    def clip(x, lo=None, hi=None):
        lo = a.get("min", lo.item() if isinstance(lo, torch.Tensor) else lo)
        hi = a.get("max", hi.item() if isinstance(hi, torch.Tensor) else hi)
        return torch.clamp(x, lo, hi)
    return clip


def _concat(a: dict) -> Callable:
    axis = a["axis"]

    def concat(*xs):
        device = next((x.device for x in xs if x.device.type != "cpu"), xs[0].device)
        return torch.cat([x.to(device) for x in xs], axis)
    return concat


def _batch_norm(a: dict) -> Callable:
    eps = a.get("epsilon", 1e-5)
    return lambda x, scale, bias, mean, var: F.batch_norm(x, mean, var, scale, bias, False, 0.0, eps)


def _arith(fn: Callable) -> Callable:
    # Shapes are computed on the CPU (Shape gives a CPU tensor); a shape meeting a device tensor moves there.
    def op(x, y):
        if x.device != y.device:
            x, y = (x.to(y.device), y) if x.device.type == "cpu" else (x, y.to(x.device))
        return fn(x, y)
    return op


# op type -> builder(attributes) -> function(*inputs)
OPS: dict[str, Callable[[dict], Callable]] = {
    "Conv": _conv,
    "ConvTranspose": _conv_transpose,
    "MaxPool": _max_pool,
    "AveragePool": _avg_pool,
    "GlobalAveragePool": lambda a: lambda x: x.mean((2, 3), keepdim=True),
    "BatchNormalization": _batch_norm,
    "Resize": _resize,
    "Relu": lambda a: torch.relu,
    "Sigmoid": lambda a: torch.sigmoid,
    "HardSigmoid": lambda a: lambda x: torch.clamp(x * a.get("alpha", 0.2) + a.get("beta", 0.5), 0.0, 1.0),
    "Erf": lambda a: torch.erf,
    "Sqrt": lambda a: torch.sqrt,
    "Softmax": lambda a: lambda x: torch.softmax(x, a.get("axis", 1)),
    "Add": lambda a: _arith(torch.add),
    "Sub": lambda a: _arith(torch.sub),
    "Mul": lambda a: _arith(torch.mul),
    "Div": lambda a: _arith(lambda x, y: torch.div(x, y, rounding_mode="trunc") if x.dtype in _INT else x / y),
    "Pow": lambda a: _arith(torch.pow),
    "MatMul": lambda a: torch.matmul,
    "ReduceMean": lambda a: lambda x: x.mean(tuple(a["axes"]), keepdim=bool(a.get("keepdims", 1))),
    "Concat": _concat,
    "Shape": lambda a: lambda x: torch.tensor(x.shape, dtype=torch.int64),
    "Slice": lambda a: _slice,
    "Reshape": lambda a: _reshape,
    "Squeeze": _squeeze,
    "Unsqueeze": _unsqueeze,
    "Transpose": lambda a: lambda x: x.permute(a["perm"]),
    "Cast": _cast,
    "Clip": _clip,
    "Identity": lambda a: lambda x: x,
}


def _tensor(array: np.ndarray, device: torch.device) -> torch.Tensor:
    t = torch.from_numpy(np.array(array))
    # Integer constants are shapes and axes: they stay on the CPU, where shape arithmetic runs without a sync.
    return t if t.dtype in _INT else t.to(device)


class OnnxGraph:
    """One ONNX model as a sequence of torch calls. `graph(x)` -> the first output (inference only)."""

    def __init__(self, path: str | Path, device: str | torch.device = "cpu"):
        from models.onnx_reader import read_onnx

        graph = read_onnx(path)
        self.device = torch.device(device)
        self.metadata = graph.metadata
        consts = {name: _tensor(array, self.device) for name, array in graph.initializers.items()}
        self.input = next(name for name in graph.inputs if name not in consts)
        self.output = graph.outputs[0]
        unknown = sorted({n.op_type for n in graph.nodes} - set(OPS) - {"Constant"})
        if unknown:
            raise ValueError(f"{Path(path).name}: ONNX ops not supported by the torch runtime: {unknown}")
        steps = []
        alias: dict[str, str] = {}   # an Identity's output -> the value it passes on (no step at run time)
        for node in graph.nodes:
            inputs = [alias.get(n, n) for n in node.inputs]
            if node.op_type == "Constant":
                consts[node.outputs[0]] = _tensor(node.attrs["value"], self.device)
            elif node.op_type == "Identity":
                alias[node.outputs[0]] = inputs[0]
            else:
                steps.append((OPS[node.op_type](node.attrs), inputs, node.outputs))
        self.output = alias.get(self.output, self.output)
        # After each step, drop the values no later step reads (activations of a big batch are large).
        last_use: dict[str, int] = {}
        for i, (_, inputs, _) in enumerate(steps):
            for name in inputs:
                last_use[name] = i
        self.steps = [(fn, inputs, outputs,
                       [n for n in set(inputs) if last_use.get(n) == i and n not in consts and n != self.output])
                      for i, (fn, inputs, outputs) in enumerate(steps)]
        self.consts = consts

    @torch.inference_mode()
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        env = dict(self.consts)
        env[self.input] = x.to(self.device)
        for fn, inputs, outputs, drop in self.steps:
            # An empty input name is an omitted optional input (Resize's roi, say).
            out = fn(*[env[n] if n else None for n in inputs])
            if len(outputs) == 1:
                env[outputs[0]] = out
            else:
                env.update(zip(outputs, out))
            for name in drop:
                del env[name]
        return env[self.output]


class TorchSession:
    """A rapidocr-style session (np.ndarray in, np.ndarray out) running an ONNX model through torch.

    keep: for the recogniser, reduce its output (batch x frames x alphabet) on the device to the columns `keep`,
    then the best symbol's probability and its id (as a float) per frame."""

    def __init__(self, path: str | Path, device: str = "cpu", keep: np.ndarray | None = None):
        self.path = Path(path)
        self.graph = OnnxGraph(path, device)
        if self.graph.device.type == "cpu":
            # One intra-op thread per call, as onnxruntime here: the OCR engine runs its calls side by side. torch's
            # default (every core) spins when the cores are shared: 150 crops took 15.9 s with 2 threads against
            # 3.3 s with 1 on this 2-core machine (load 9). This sets the process's count; the label classifier
            # sets its own around each of its calls (models.label_classifier.model.torch_threads).
            torch.set_num_threads(1)
        self.keep = None if keep is None else torch.as_tensor(np.asarray(keep), device=self.graph.device)

    def reduced(self, keep: np.ndarray) -> "TorchSession":
        """The same model (weights shared), its output reduced to the columns `keep` and the best symbol."""
        session = TorchSession.__new__(TorchSession)
        session.path, session.graph = self.path, self.graph
        session.keep = torch.as_tensor(np.asarray(keep), device=self.graph.device)
        return session

    def run(self, batch: torch.Tensor) -> torch.Tensor:
        out = self.graph(batch)
        if self.keep is None:
            return out
        best = out.max(dim=-1)
        return torch.cat([out.index_select(-1, self.keep), best.values[..., None],
                          best.indices[..., None].to(out.dtype)], dim=-1)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32))
        with torch.inference_mode():
            return self.run(x).float().cpu().numpy()

    def get_character_list(self, key: str = "character") -> list[str]:
        return self.metadata[key].splitlines()

    def have_key(self, key: str = "character") -> bool:
        return key in self.metadata

    @property
    def metadata(self) -> dict:
        return self.graph.metadata


def model_path(model) -> Path:
    """The ONNX file a loaded rapidocr model (TextDetector, TextRecognizer, TextClassifier) was read from."""
    session = model.session
    if isinstance(session, TorchSession):
        return session.path
    path = getattr(getattr(session, "session", None), "_model_path", None)
    if not path:
        raise RuntimeError(f"cannot tell which ONNX file {type(model).__name__} was loaded from")
    return Path(path)


def use_torch(model, device: str = "cpu") -> None:
    """Switch a loaded rapidocr model to the torch runtime (in place); a no-op when it already runs on torch."""
    if not isinstance(model.session, TorchSession):
        model.session = TorchSession(model_path(model), device)


def set_tf32(allowed: bool) -> None:
    """TF32 in CUDA convolutions and matmuls: faster on recent GPUs, about 1e-3 relative error. Off by default
    (torch allows it for cuDNN convolutions unless told otherwise), so CUDA reads like the CPU."""
    torch.backends.cudnn.allow_tf32 = allowed
    torch.backends.cuda.matmul.allow_tf32 = allowed
