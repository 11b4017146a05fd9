"""/v1/jobs: queue an upload, follow it, fetch its result (JSON, CSV or XLSX), delete it."""
from __future__ import annotations

import io
from typing import Annotated, Literal

from fastapi import APIRouter, File, HTTPException, Query, Response, UploadFile
from fastapi.responses import JSONResponse

from service.api.deps import CallerDep, JobDep, PoolDep, SandboxDep, SettingsDep, StoreDep
from service.api.schemas import ErrorOut, JobOut
from service.api.uploads import accept, queue
from service.report import ExtractionResult

router = APIRouter(prefix="/v1/jobs", tags=["jobs"],
                   responses={400: {"model": ErrorOut, "description": "not a multipart upload"},
                              422: {"model": ErrorOut}})

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FileField = Annotated[UploadFile, File(description="PDF, image, HTML, DOCX or text")]


@router.post("", status_code=202, response_model=JobOut,
             responses={413: {"model": ErrorOut}, 429: {"model": ErrorOut}})
async def create_job(response: Response, file: FileField, settings: SettingsDep, store: StoreDep, pool: PoolDep,
                     sandbox: SandboxDep, caller: CallerDep) -> JobOut:
    job = await queue(await accept(file, settings, sandbox), store, pool, settings, caller.owner)
    response.headers["Location"] = f"/v1/jobs/{job.id}"
    return JobOut.of(job)


@router.get("", response_model=list[JobOut])
def list_jobs(store: StoreDep, caller: CallerDep,
              state: Annotated[Literal["queued", "running", "done", "failed"] | None, Query()] = None,
              limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> list[JobOut]:
    """The newest jobs first, optionally in one state: the caller's own (every job for the admin key)."""
    return [JobOut.of(job) for job in store.recent(state, limit, owner=None if caller.admin else caller.owner)]


@router.get("/{job_id}", response_model=JobOut, responses={404: {"model": ErrorOut}})
def get_job(job: JobDep) -> JobOut:
    return JobOut.of(job)


@router.get("/{job_id}/result", response_model=ExtractionResult,
            responses={200: {"content": {"text/csv": {}, XLSX: {}}}, 404: {"model": ErrorOut},
                       409: {"model": ErrorOut, "description": "the job is not done (yet, or it failed)"}})
def get_result(job: JobDep, store: StoreDep,
               format: Annotated[Literal["json", "csv", "xlsx"], Query()] = "json") -> Response:
    if job.state != "done":
        message = f"job {job.id} failed: {job.error}" if job.state == "failed" else f"job {job.id} is {job.state}"
        return JSONResponse({"detail": message}, status_code=409)
    text = store.result(job.id)
    stem = job.name.rsplit(".", 1)[0] or "report"
    if format == "json":
        return Response(text, media_type="application/json")
    result = ExtractionResult.model_validate_json(text)
    if format == "csv":
        return Response(result.to_csv(), media_type="text/csv; charset=utf-8",
                        headers=_attachment(f"{stem}.csv"))
    buf = io.BytesIO()
    result.to_xlsx(buf)
    return Response(buf.getvalue(), media_type=XLSX, headers=_attachment(f"{stem}.xlsx"))


@router.delete("/{job_id}", status_code=204, responses={404: {"model": ErrorOut}})
def delete_job(job: JobDep, store: StoreDep, pool: PoolDep) -> Response:
    if not store.delete(job.id):
        raise HTTPException(404, f"no job {job.id}")
    pool.cancel(job.id)
    return Response(status_code=204)


def _attachment(filename: str) -> dict[str, str]:
    from urllib.parse import quote

    return {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"}
