"""What routes share, handed over with Depends: settings, the job store, the worker pool, the sandbox, auth.

Routes name them by type: `def route(store: StoreDep, job: JobDep)`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader

from service.api.guard import match_key
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


@dataclass(frozen=True)
class Caller:
    """Who is asking: the owner their jobs are filed under (None without keys), and whether they see all jobs."""
    owner: str | None
    admin: bool

    def may_see(self, job: Job) -> bool:
        return self.admin or job.owner == self.owner


def require_key(settings: SettingsDep, key: Annotated[str | None, Depends(_key_header)]) -> Caller:
    keys = settings.keys()
    if not keys:
        return Caller(None, admin=True)   # an open service: one owner, everybody
    found = match_key(keys, key)
    if found is None:   # the Guard refuses these first; this keeps the route safe without it
        raise HTTPException(401, "missing or wrong API key (send it in the X-API-Key header)")
    return Caller(*found)


CallerDep = Annotated[Caller, Depends(require_key)]


def _job(job_id: str, store: StoreDep, caller: CallerDep) -> Job:
    found = store.get(job_id)
    if found is None or not caller.may_see(found):   # another key's job is as good as absent
        raise HTTPException(404, f"no job {job_id}")
    return found


JobDep = Annotated[Job, Depends(_job)]
