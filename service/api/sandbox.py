"""Work the server does on untrusted files itself (checking an upload, rendering a page) runs in a helper process.

pdfium and the image decoders are native code: a crafted file could crash or hang them, and pdfium is not
thread-safe. In a helper process a crash costs one answer, never the server; a hang is cut off after a time limit.
"""
from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
from pathlib import Path


class SandboxFailed(Exception):
    """The helper process crashed or ran out of time on this file."""


class _Helper:
    """One helper process and the pipe to it; used by one call at a time. A call that crashes it or runs past its
    time kills this process only: the other helpers' calls go on."""

    def __init__(self):
        ctx = multiprocessing.get_context("spawn")  # never fork a process that runs threads
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child, os.getpid()), name="nianbao-sandbox", daemon=True)
        self.process.start()
        child.close()

    def call(self, fn, args: tuple, timeout_s: float):
        try:
            self.conn.send((fn, args))
            if not self.conn.poll(timeout_s):
                self.kill()
                raise SandboxFailed(f"reading the file took longer than {timeout_s:g} s")
            status, value = self.conn.recv()
        except (EOFError, OSError):
            self.kill()
            raise SandboxFailed("the file crashed the document reader") from None
        if status == "raised":
            raise SandboxFailed(f"the document reader failed: {value}")
        return value

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.is_alive()

    def kill(self) -> None:
        self.conn.close()
        if self.process is not None:
            if self.process.is_alive():
                self.process.kill()
            self.process.join(5)
            self.process = None


class Sandbox:
    """`processes` helpers; a call waits for a free one, runs there with a time limit, and a broken helper is
    replaced before the next call."""

    def __init__(self, processes: int = 2, timeout_s: float = 60.0):
        self.processes = processes
        self.timeout_s = timeout_s
        self._free: list[_Helper | None] = [None] * processes   # None: start one when needed
        self._all: set[_Helper] = set()
        self._lock = threading.Lock()
        self._available = threading.Semaphore(processes)
        self._closed = False

    async def call(self, fn, *args):
        return await asyncio.to_thread(self._call, fn, args)

    def _call(self, fn, args: tuple):
        self._available.acquire()
        helper = None
        try:
            helper = self._take()
            return helper.call(fn, args, self.timeout_s)
        finally:
            with self._lock:
                self._free.append(helper if helper is not None and helper.alive else None)
                if helper is not None and not helper.alive:
                    self._all.discard(helper)
            self._available.release()

    def _take(self) -> _Helper:
        with self._lock:
            if self._closed:
                raise SandboxFailed("the service is stopping")
            return self._free.pop() or self._new()

    def warm(self) -> None:
        """Start the helper processes (they import their readers at once), not on the first upload."""
        with self._lock:
            self._free = [h or self._new() for h in self._free]

    def _new(self) -> _Helper:
        helper = _Helper()
        self._all.add(helper)
        return helper

    def close(self) -> None:
        with self._lock:
            self._closed = True
            helpers, self._all = list(self._all), set()
        for helper in helpers:
            helper.kill()


def _serve(conn, parent_pid: int) -> None:
    from service.api.worker import set_process_name, tie_to_parent

    tie_to_parent(parent_pid)
    set_process_name("nianbao-sandbox")
    _imports()
    while True:
        try:
            fn, args = conn.recv()
        except (EOFError, OSError):
            return
        try:
            answer = ("ok", fn(*args))
        except Exception as error:  # a reader's bug on one file: the caller gets a 422, the helper goes on
            answer = ("raised", f"{type(error).__name__}: {error}")
        try:
            conn.send(answer)
        except (BrokenPipeError, OSError):
            return


# --- what runs inside ----------------------------------------------------------------------------------------------

def _imports() -> None:
    import pypdfium2  # noqa: F401
    from PIL import Image  # noqa: F401

    import service.ingest  # noqa: F401


def inspect_upload(data: bytes, name: str, limits: dict) -> tuple[str, str | int]:
    """("ok", kind, pages) for a readable document, ("error", message) for a bad one."""
    from service.document import InputError
    from service.ingest import Limits, load_source, page_count

    try:
        source = load_source(data, name=name, limits=Limits(**limits))
        return "ok", source.kind, page_count(source)
    except InputError as error:
        return "error", str(error)


def render_page(path: str, kind: str, n: int, dpi: int, frames: list | None) -> tuple[str, bytes | str]:
    from service.api.render import page_png

    return _guard(page_png, Path(path), kind, n, dpi, frames)


def render_crop(path: str, kind: str, n: int, box: tuple[float, float, float, float],
                frames: list | None) -> tuple[str, bytes | str]:
    from service.api.render import crop_png

    return _guard(crop_png, Path(path), kind, n, *box, frames)


def list_pages(path: str, kind: str, dpi: int, frames: list | None) -> tuple[str, list | str]:
    from dataclasses import asdict

    from service.api.render import page_infos

    return _guard(lambda: [asdict(p) for p in page_infos(Path(path), kind, dpi, frames)])


def _guard(fn, *args):
    try:
        return "ok", fn(*args)
    except LookupError as error:
        return "missing", str(error)
    except ValueError as error:
        return "bad", str(error)
