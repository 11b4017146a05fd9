"""POST /v1/extract: the report at once for a small upload; 202 and a job for a large one or with ?async=true."""
from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from service.api.deps import CallerDep, PoolDep, SandboxDep, SettingsDep, StoreDep
from service.api.routes.jobs import FileField
from service.api.schemas import ErrorOut, JobOut
from service.api.uploads import accept, queue
from service.api.worker import INTERNAL_ERROR
from service.report import ExtractionResult

router = APIRouter(prefix="/v1", tags=["extract"],
                   responses={400: {"model": ErrorOut, "description": "not a multipart upload"},
                              422: {"model": ErrorOut}})


@router.post("/extract", response_model=ExtractionResult,
             responses={202: {"model": JobOut, "description": "queued: large upload, ?async=true, or a long wait"},
                        413: {"model": ErrorOut}, 422: {"model": ErrorOut}, 429: {"model": ErrorOut},
                        500: {"model": ErrorOut}})
async def extract(file: FileField, settings: SettingsDep, store: StoreDep, pool: PoolDep, sandbox: SandboxDep,
                  caller: CallerDep,
                  run_async: Annotated[bool, Query(alias="async", description="always answer 202 with a job")] = False,
                  ) -> Response:
    upload = await accept(file, settings, sandbox)
    large = len(upload.data) > settings.sync_max_bytes or upload.pages > settings.sync_max_pages
    job = await queue(upload, store, pool, settings, caller.owner)
    if run_async or large or pool.draining.is_set():   # a stopping server runs it at its next start
        return _accepted(job)
    # The quick path is a job too (bounded, crash-proof); the request just waits for it.
    job_id = job.id
    done = pool.expect(job_id)
    try:
        job = await run_in_threadpool(store.get, job_id)
        if job is not None and job.state not in ("done", "failed"):
            await asyncio.wait_for(done, settings.job_timeout_s * 2 + 60)
            job = await run_in_threadpool(store.get, job_id)
    except TimeoutError:
        return _accepted(await run_in_threadpool(store.get, job_id))  # queue too long to wait: poll instead
    finally:
        pool.forget(job_id)
    if job is None:
        return JSONResponse({"detail": "the job was deleted while it ran"}, status_code=410)
    if job.state not in ("done", "failed"):   # the server is stopping: the job runs at its next start
        return _accepted(job)
    if job.state == "failed":
        status = 500 if job.error.startswith(INTERNAL_ERROR) else 422
        return JSONResponse({"detail": job.error}, status_code=status, headers={"X-Job-Id": job.id})
    result = await run_in_threadpool(store.result, job.id)
    return Response(result, media_type="application/json", headers={"X-Job-Id": job.id})


def _accepted(job) -> JSONResponse:
    return JSONResponse(JobOut.of(job).model_dump(), status_code=202, headers={"Location": f"/v1/jobs/{job.id}"})
