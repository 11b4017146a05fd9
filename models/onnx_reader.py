"""Read an ONNX model file without the `onnx` package: its nodes, initializers, inputs, outputs and metadata.

ONNX files are protobuf messages (onnx/onnx.proto3). Only the fields the PP-OCR models use are decoded; the rest are
skipped by wire type. Doing this here keeps the torch OCR runtime free of extra packages, so a GPU machine without
network needs nothing beyond torch and what the project already installs.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# TensorProto.DataType -> numpy
DTYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 5: np.int16, 6: np.int32, 7: np.int64, 9: np.bool_,
          10: np.float16, 11: np.float64}


@dataclass
class Node:
    op_type: str
    inputs: list[str]
    outputs: list[str]
    attrs: dict


@dataclass
class Graph:
    nodes: list[Node] = field(default_factory=list)
    initializers: dict[str, np.ndarray] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7


def _fields(buf: bytes):
    """(field number, wire type, value) of a message: ints for varints, bytes for the rest."""
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 2:
            size, pos = _varint(buf, pos)
            value, pos = buf[pos:pos + size], pos + size
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield number, wire, value


def _signed(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


def _ints(wire: int, value) -> list[int]:
    """A repeated int64 field's entry: one varint, or a packed run of them."""
    if wire == 0:
        return [_signed(value)]
    out, pos = [], 0
    while pos < len(value):
        v, pos = _varint(value, pos)
        out.append(_signed(v))
    return out


def _floats(wire: int, value) -> list[float]:
    if wire == 5:
        return [struct.unpack("<f", value)[0]]
    return list(np.frombuffer(value, dtype="<f4").astype(float))


def _tensor(buf: bytes) -> tuple[str, np.ndarray]:
    dims, dtype, name, raw = [], 1, "", None
    floats, ints, doubles = [], [], []
    for number, wire, value in _fields(buf):
        if number == 1:
            dims += _ints(wire, value)
        elif number == 2:
            dtype = value
        elif number == 4:
            floats += _floats(wire, value)
        elif number in (5, 7):   # int32_data, int64_data
            ints += _ints(wire, value)
        elif number == 8:
            name = value.decode()
        elif number == 9:
            raw = value
        elif number == 10:
            doubles += list(np.frombuffer(value, dtype="<f8")) if wire == 2 else [struct.unpack("<d", value)[0]]
        elif number == 14 and value == 1:
            raise ValueError(f"tensor {name!r} keeps its data in an external file, which is not supported")
    np_type = DTYPES.get(dtype)
    if np_type is None:
        raise ValueError(f"tensor {name!r}: unsupported data type {dtype}")
    if raw is not None:
        array = np.frombuffer(raw, dtype=np.dtype(np_type).newbyteorder("<")).astype(np_type)
    elif dtype in (1, 10):
        array = np.array(floats, dtype=np_type)
    elif dtype == 11:
        array = np.array(doubles, dtype=np_type)
    else:
        array = np.array(ints, dtype=np_type)
    return name, array.reshape(dims)


def _attribute(buf: bytes):
    name, found = "", {}
    floats, ints, strings = [], [], []
    for number, wire, value in _fields(buf):
        if number == 1:
            name = value.decode()
        elif number == 2:
            found["f"] = struct.unpack("<f", value)[0]
        elif number == 3:
            found["i"] = _signed(value)
        elif number == 4:
            found["s"] = value.decode()
        elif number == 5:
            found["t"] = _tensor(value)[1]
        elif number == 7:
            floats += _floats(wire, value)
        elif number == 8:
            ints += _ints(wire, value)
        elif number == 9:
            strings.append(value.decode())
        elif number == 20:
            found["type"] = value
    # AttributeProto.type: 1 float, 2 int, 3 string, 4 tensor, 6 floats, 7 ints, 8 strings
    kind = found.get("type")
    value = {1: found.get("f"), 2: found.get("i"), 3: found.get("s"), 4: found.get("t"),
             6: floats, 7: ints, 8: strings}.get(kind)
    if kind is None:   # very old files leave the type out: whichever field is there
        value = next((found[k] for k in ("f", "i", "s", "t") if k in found), floats or ints or strings)
    return name, value


def _node(buf: bytes) -> Node:
    node = Node("", [], [], {})
    for number, _, value in _fields(buf):
        if number == 1:
            node.inputs.append(value.decode())
        elif number == 2:
            node.outputs.append(value.decode())
        elif number == 4:
            node.op_type = value.decode()
        elif number == 5:
            key, attr = _attribute(value)
            node.attrs[key] = attr
        elif number == 7 and value:
            raise ValueError(f"op {value.decode()!r} domain is not supported")
    return node


def _value_name(buf: bytes) -> str:
    return next((v.decode() for n, _, v in _fields(buf) if n == 1), "")


def read_onnx(path: str | Path) -> Graph:
    graph = Graph()
    data = Path(path).read_bytes()
    for number, _, value in _fields(data):
        if number == 7:   # ModelProto.graph
            for n, _, v in _fields(value):
                if n == 1:
                    graph.nodes.append(_node(v))
                elif n == 5:
                    name, array = _tensor(v)
                    graph.initializers[name] = array
                elif n == 11:
                    graph.inputs.append(_value_name(v))
                elif n == 12:
                    graph.outputs.append(_value_name(v))
        elif number == 14:   # ModelProto.metadata_props
            entry = {n: v.decode() for n, _, v in _fields(value)}
            graph.metadata[entry.get(1, "")] = entry.get(2, "")
    return graph
