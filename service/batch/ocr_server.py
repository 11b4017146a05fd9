"""One OCR process (or Ray actor) for all of a batch's workers, so a GPU recognises crops from many pages at once.

The workers rasterise, straighten and find grids on the CPU as before; where their pipeline would run the OCR model
it sends the crops to the shared service instead (`ClientOcrEngine`), and waits for its own readings. The service's
`CropBatcher` gathers the requests that arrive while the model is busy and reads them together (`read_stacked`):
each request's crops are cut into width buckets exactly as a worker's own engine would cut them, and buckets of
equal padded width from all requests go through the model as one batch. A crop's reading depends a little on how
far it is padded (the recogniser attends over the whole width), so this keeps every reading what the worker would
have read alone, whatever else arrives with it. Each request gets its readings back in the order of its crops.
Locally the service runs in its own process behind a Unix socket (`OcrServer`); on Ray it is an actor
(`ray_runner`).
"""
from __future__ import annotations

import logging
import os
import signal
import tempfile
import threading
import time
from dataclasses import dataclass, field
from multiprocessing import connection, get_context
from typing import Callable, Sequence

import numpy as np

from models.ocr import Reading

log = logging.getLogger("nianbao.batch")


@dataclass
class OcrOptions:
    """The shared engine: where it runs, and how many crops one model call may take."""
    device: str = "cpu"
    runtime: str | None = None   # None: onnxruntime on cpu, torch on cuda
    threads: int = 2
    gather: int = 2048           # crops gathered from waiting requests into one round, at most
    stack: int | None = None     # crops of equal-width buckets in one model call (None: 512 on cuda, 64 on cpu)

    def engine(self):
        from models.ocr import RapidOcrEngine

        # The engine cuts each request into buckets as a worker's own engine would (its default budget), so the
        # padding and the readings are the same; `stack` is what makes the model calls big.
        return RapidOcrEngine(device=self.device, threads=self.threads, runtime=self.runtime)


def read_stacked(engine, requests: list[list[np.ndarray]], stack: int) -> list[list[Reading]]:
    """Each request's readings, as `engine.read(crops)` gives them for that request alone, from model calls that
    stack the equal-width batches of all requests (up to `stack` crops a call)."""
    engine._recognizer()
    probs: list[list] = [[None] * len(crops) for crops in requests]
    by_width: dict[int, list] = {}
    for r, crops in enumerate(requests):
        imgs, ratios, plan = engine._plan(crops)
        for idx, width in plan:
            batch, widths = engine._input(imgs, ratios, idx, width)
            by_width.setdefault(width, []).append((r, idx, batch, widths))
    for width, parts in by_width.items():
        while parts:
            chunk, rows = [], 0
            while parts and (not chunk or rows + len(parts[0][1]) <= stack):
                chunk.append(parts.pop(0))
                rows += len(chunk[-1][1])
            preds = engine._session(np.concatenate([batch for _, _, batch, _ in chunk]))
            start = 0
            for r, idx, _, widths in chunk:
                for i, p in zip(idx, engine._frames(preds[start:start + len(idx)], widths, width)):
                    probs[r][i] = p
                start += len(idx)
    engine.calls["rec_crops"] += sum(len(crops) for crops in requests)
    # The value-cell recogniser reads each request's crops as `read` would (its batches, hence its padding, alike).
    return [engine._with_digits(engine._readings(p), [crops]) for p, crops in zip(probs, requests)]


@dataclass
class _Request:
    crops: Sequence[np.ndarray]
    done: threading.Event = field(default_factory=threading.Event)
    readings: list[Reading] | None = None
    error: BaseException | None = None


class CropBatcher:
    """Thread-safe: `read(crops)` from any number of threads; one thread reads what has gathered, with
    `read_many(list of requests' crops) -> list of their readings`.

    Requests are taken whole, oldest first, up to `gather` crops (at least one request) per round."""

    def __init__(self, read_many: Callable[[list[list[np.ndarray]]], list[list[Reading]]], gather: int = 2048):
        self.read_many = read_many
        self.gather = gather
        self.lock = threading.Lock()   # held while the engine runs: one model call at a time
        self._cond = threading.Condition()
        self._queue: list[_Request] = []
        self._closed = False
        self.calls: list[int] = []     # crops per round (for tests and the GPU check)
        self._thread = threading.Thread(target=self._loop, name="ocr-batcher", daemon=True)
        self._thread.start()

    def read(self, crops: Sequence[np.ndarray]) -> list[Reading]:
        if not len(crops):
            return []
        request = _Request(list(crops))
        with self._cond:
            if self._closed:
                raise RuntimeError("the OCR batcher is closed")
            self._queue.append(request)
            self._cond.notify()
        request.done.wait()
        if request.error is not None:
            raise request.error
        return request.readings  # type: ignore[return-value]

    def call(self, fn: Callable, *args):
        """Anything else the engine does (angle classifier, detection), one at a time beside the batches."""
        with self.lock:
            return fn(*args)

    def _take(self) -> list[_Request]:
        with self._cond:
            while not self._queue and not self._closed:
                self._cond.wait()
            taken, count = [], 0
            while self._queue and (not taken or count + len(self._queue[0].crops) <= self.gather):
                request = self._queue.pop(0)
                taken.append(request)
                count += len(request.crops)
            return taken

    def _loop(self) -> None:
        while True:
            taken = self._take()
            if not taken:   # closed and drained
                return
            try:
                with self.lock:
                    readings = self.read_many([r.crops for r in taken])
                self.calls.append(sum(len(r.crops) for r in taken))
            except BaseException as e:   # every waiting request learns of it; the batcher goes on
                for r in taken:
                    r.error = e
                    r.done.set()
                continue
            for r, got in zip(taken, readings):
                r.readings = got
                r.done.set()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout=30)


class OcrService:
    """The engine and its batcher: what the local server process and the Ray actor both hold."""

    def __init__(self, options: OcrOptions):
        from functools import partial

        self.engine = options.engine()
        stack = options.stack or (512 if options.device.startswith("cuda") else 64)
        self.batcher = CropBatcher(partial(read_stacked, self.engine, stack=stack), options.gather)

    def handle(self, kind: str, payload):
        engine = self.engine
        if kind == "read":
            return self.batcher.read(payload)
        if kind == "read_blended":
            return self.batcher.call(engine.read_blended, payload)
        if kind == "upside_down":
            return self.batcher.call(engine.upside_down, payload)
        if kind == "detect":
            return self.batcher.call(engine.detect, payload)
        if kind == "stats":
            return {"calls": list(self.batcher.calls), "runtime": engine.runtime, "device": engine.torch_device}
        raise ValueError(f"unknown OCR request {kind!r}")


class ClientOcrEngine:
    """The OcrEngine interface over a shared service: `send(kind, payload) -> result` carries each call there."""

    runtime = "shared"

    def __init__(self, send: Callable[[str, object], object]):
        self.send = send

    def read(self, crops: Sequence[np.ndarray]) -> list[Reading]:
        return self.send("read", [np.ascontiguousarray(c) for c in crops]) if len(crops) else []

    def read_blended(self, renderings: Sequence[Sequence[np.ndarray]]) -> list[Reading]:
        return self.send("read_blended", [[np.ascontiguousarray(c) for c in r] for r in renderings]) \
            if any(len(r) for r in renderings) else []

    def recognize(self, crops: Sequence[np.ndarray], numeric: Sequence[bool]) -> list[tuple[str, float]]:
        # The digit reading is the network output decoded over the digits: the same as the engine's recognize().
        return [(r.digits, r.digits_confidence) if num else (r.text, r.confidence)
                for r, num in zip(self.read(crops), numeric)]

    def upside_down(self, crops: Sequence[np.ndarray]) -> list[tuple[bool, float]]:
        return self.send("upside_down", [np.ascontiguousarray(c) for c in crops]) if len(crops) else []

    def detect(self, image: np.ndarray):
        return self.send("detect", np.ascontiguousarray(image))


# --- the local server process ------------------------------------------------------------------------------------

class ServerError(RuntimeError):
    """The shared OCR process failed (or is gone): the input in hand fails with this, the batch goes on."""


class SocketClient:
    """A worker's connection to the local OCR server, opened on first use (picklable: address and key only)."""

    def __init__(self, address: str, authkey: bytes):
        self.address, self.authkey = address, authkey
        self._conn = None
        self._lock = threading.Lock()

    def __getstate__(self):
        return {"address": self.address, "authkey": self.authkey}

    def __setstate__(self, state):
        self.__init__(state["address"], state["authkey"])

    def __call__(self, kind: str, payload):
        with self._lock:
            try:
                if self._conn is None:
                    self._conn = connection.Client(self.address, family="AF_UNIX", authkey=self.authkey)
                self._conn.send((kind, payload))
                status, result = self._conn.recv()
            except (OSError, EOFError) as e:
                self._conn = None
                raise ServerError(f"the shared OCR process is gone: {type(e).__name__}: {e}") from e
        if status != "ok":
            raise ServerError(f"the shared OCR process failed: {result}")
        return result

    def engine(self) -> ClientOcrEngine:
        return ClientOcrEngine(self)


def _serve_connection(conn, service: OcrService) -> None:
    with conn:
        while True:
            try:
                kind, payload = conn.recv()
            except (EOFError, OSError):   # the worker is done (or dead)
                return
            try:
                reply = ("ok", service.handle(kind, payload))
            except Exception as e:   # noqa: BLE001 - the worker reports it against its input
                log.debug("OCR request %s failed", kind, exc_info=True)
                reply = ("error", f"{type(e).__name__}: {e}")
            try:
                conn.send(reply)
            except OSError:
                return


def _server_main(address: str, authkey: bytes, options: OcrOptions, ready) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C is the main process's to handle
    logging.basicConfig(level=os.environ.get("NIANBAO_LOG", "WARNING"), format="%(levelname)s %(name)s: %(message)s")
    try:
        service = OcrService(options)
        listener = connection.Listener(address, family="AF_UNIX", authkey=authkey)
    except Exception as e:   # noqa: BLE001 - told to the main process, which stops with it
        ready.send(f"{type(e).__name__}: {e}")
        return
    ready.send("ok")
    ready.close()
    while True:
        try:
            conn = listener.accept()
        except (OSError, EOFError):   # a client that failed the key, or the listener closed
            continue
        threading.Thread(target=_serve_connection, args=(conn, service), daemon=True).start()


class OcrServer:
    """The shared OCR process of a local batch: `start()`, hand `client()` to the workers, `close()` at the end."""

    def __init__(self, options: OcrOptions):
        self.options = options
        self._dir = tempfile.mkdtemp(prefix="nianbao-ocr-")
        self.address = os.path.join(self._dir, "ocr.sock")
        self.authkey = os.urandom(16)
        self.process = None

    def start(self, timeout: float = 300) -> "OcrServer":
        context = get_context("spawn")
        parent, child = context.Pipe(duplex=False)
        self.process = context.Process(target=_server_main, args=(self.address, self.authkey, self.options, child),
                                       daemon=True, name="nianbao-ocr")
        self.process.start()
        child.close()
        start = time.monotonic()
        while not parent.poll(1.0):
            if not self.process.is_alive() or time.monotonic() - start > timeout:
                self.close()
                raise ServerError("the shared OCR process did not start")
        message = parent.recv()
        if message != "ok":
            self.close()
            raise ServerError(f"the shared OCR process could not start: {message}")
        return self

    def client(self) -> SocketClient:
        return SocketClient(self.address, self.authkey)

    def close(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.join()
            self.process = None
        for name in os.listdir(self._dir) if os.path.isdir(self._dir) else []:
            os.unlink(os.path.join(self._dir, name))
        if os.path.isdir(self._dir):
            os.rmdir(self._dir)

    def __enter__(self) -> "OcrServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()
