"""What routes share, handed over with Depends: settings, the job store, the worker pool, the sandbox, auth."""
from __future__ import annotations

import secrets

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader

from service.api.jobs import Job, JobStore, WorkerPool
from service.api.sandbox import Sandbox
from service.api.settings import Settings

_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="needed when NIANBAO_API_KEY is set")


def settings(request: Request) -> Settings:
    return request.app.state.settings


def store(request: Request) -> JobStore:
    return request.app.state.store


def pool(request: Request) -> WorkerPool:
    return request.app.state.pool


def sandbox(request: Request) -> Sandbox:
    return request.app.state.sandbox


def require_key(request: Request, key: str | None = Depends(_key_header)) -> None:
    expected = request.app.state.settings.api_key
    if expected and not (key and secrets.compare_digest(key.encode(), expected.encode())):
        raise HTTPException(401, "missing or wrong API key (send it in the X-API-Key header)")


def job(job_id: str, store: JobStore = Depends(store)) -> Job:
    found = store.get(job_id)
    if found is None:
        raise HTTPException(404, f"no job {job_id}")
    return found
