"""Work the server does on untrusted files itself (checking an upload, rendering a page) runs in a helper process.

pdfium and the image decoders are native code: a crafted file could crash or hang them, and pdfium is not
thread-safe. In a helper process a crash costs one answer, never the server; a hang is cut off after a time limit.
"""
from __future__ import annotations

import asyncio
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path


class SandboxFailed(Exception):
    """The helper process crashed or ran out of time on this file."""


class Sandbox:
    def __init__(self, processes: int = 1, timeout_s: float = 60.0):
        self.processes = processes
        self.timeout_s = timeout_s
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    async def call(self, fn, *args):
        pool = self._get()
        try:
            return await asyncio.wait_for(asyncio.wrap_future(pool.submit(fn, *args)), self.timeout_s)
        except BrokenProcessPool:
            self._discard(pool)
            raise SandboxFailed("the file crashed the document reader") from None
        except TimeoutError:
            self._discard(pool)
            raise SandboxFailed(f"reading the file took longer than {self.timeout_s:g} s") from None

    def warm(self) -> None:
        """Start the helper process and its imports now, not on the first upload."""
        self._get().submit(_imports)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            _kill(pool)

    def _get(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                from service.api.worker import set_process_name

                self._pool = ProcessPoolExecutor(self.processes, mp_context=multiprocessing.get_context("spawn"),
                                                 initializer=set_process_name, initargs=("nianbao-sandbox",))
            return self._pool

    def _discard(self, pool: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is pool:
                self._pool = None
        _kill(pool)


def _kill(pool: ProcessPoolExecutor) -> None:
    # The executor has no public way to stop a running task before Python 3.14: kill its processes.
    for process in list((pool._processes or {}).values()):
        if process.is_alive():
            process.kill()
    pool.shutdown(wait=False, cancel_futures=True)


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
