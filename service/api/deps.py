"""What routes share, handed over with Depends: settings, the job store, the worker pool, the sandbox, auth.

Routes name them by type: `def route(store: StoreDep, job: JobDep)`.
"""
from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader

from service.api.jobs import Job, JobStore, WorkerPool
from service.api.sandbox import Sandbox
from service.api.settings import Settings

_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="needed when NIANBAO_API_KEY is set")


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _store(request: Request) -> JobStore:
    return request.app.state.store


def _pool(request: Request) -> WorkerPool:
    return request.app.state.pool


def _sandbox(request: Request) -> Sandbox:
    return request.app.state.sandbox


SettingsDep = Annotated[Settings, Depends(_settings)]
StoreDep = Annotated[JobStore, Depends(_store)]
PoolDep = Annotated[WorkerPool, Depends(_pool)]
SandboxDep = Annotated[Sandbox, Depends(_sandbox)]


def require_key(settings: SettingsDep, key: Annotated[str | None, Depends(_key_header)]) -> None:
    if settings.api_key and not (key and secrets.compare_digest(key.encode(), settings.api_key.encode())):
        raise HTTPException(401, "missing or wrong API key (send it in the X-API-Key header)")


def _job(job_id: str, store: StoreDep) -> Job:
    found = store.get(job_id)
    if found is None:
        raise HTTPException(404, f"no job {job_id}")
    return found


JobDep = Annotated[Job, Depends(_job)]
