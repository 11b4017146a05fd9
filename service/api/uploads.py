"""An upload read within the size limit, checked (kind, pages) in the sandbox, and queued as a job."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import HTTPException, UploadFile
from starlette.concurrency import run_in_threadpool

from service.api.jobs import Job, JobStore, QueueFull, WorkerPool
from service.api.sandbox import Sandbox, SandboxFailed, inspect_upload
from service.api.settings import MB, Settings

CHUNK = 1024 * 1024


@dataclass
class Upload:
    data: bytes
    name: str
    kind: str
    pages: int


async def accept(file: UploadFile, settings: Settings, sandbox: Sandbox) -> Upload:
    name = Path(file.filename or "upload").name[:200] or "upload"
    data = await _read_limited(file, settings.max_upload_bytes, name)
    if not data:
        raise HTTPException(422, f"{name}: the file is empty (0 bytes)")
    limits = {"max_bytes": settings.max_upload_bytes, "max_pages": 10**6,  # pages are checked below, for a 413
              "max_image_pixels": settings.max_image_pixels, "max_total_pixels": settings.max_total_pixels}
    try:
        verdict = await sandbox.call(inspect_upload, data, name, limits)
    except SandboxFailed as error:
        raise HTTPException(422, f"{name}: {error}") from None
    if verdict[0] == "error":
        raise HTTPException(422, verdict[1])
    _, kind, pages = verdict
    if pages > settings.max_pages:
        raise HTTPException(413, f"{name}: the document has {pages} pages; the limit is {settings.max_pages}")
    return Upload(data, name, kind, pages)


async def _read_limited(file: UploadFile, limit: int, name: str) -> bytes:
    chunks, size = [], 0
    while chunk := await file.read(CHUNK):
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"{name}: the file is larger than the limit of {limit / MB:g} MB")
        chunks.append(chunk)
    return b"".join(chunks)


async def queue(upload: Upload, store: JobStore, pool: WorkerPool, settings: Settings, owner: str | None) -> Job:
    try:
        job = await run_in_threadpool(store.create, upload.data, upload.name, upload.kind, upload.pages,
                                      settings.max_queue, owner)
    except QueueFull as error:
        raise HTTPException(429, str(error), headers={"Retry-After": "10"}) from None
    pool.notify()
    return job
