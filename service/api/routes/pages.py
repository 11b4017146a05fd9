"""Page images and value crops of a job's upload, for the review page."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response
from starlette.concurrency import run_in_threadpool

from service.api.deps import JobDep, SandboxDep, SettingsDep, StoreDep
from service.api.sandbox import Sandbox, SandboxFailed, list_pages, render_crop, render_page
from service.api.schemas import ErrorOut, PagesOut

router = APIRouter(prefix="/v1/jobs/{job_id}/pages", tags=["review"],
                   responses={404: {"model": ErrorOut}, 422: {"model": ErrorOut}})

UNITS = {"text-layer": "PDF points (1/72 inch), top-left origin",
         "ocr": "pixels of the page image the scan reader read (its frame), top-left origin",
         "image": "pixels of the uploaded image, top-left origin"}
PNG = {200: {"content": {"image/png": {}}}}


@router.get("", response_model=PagesOut)
async def pages(job: JobDep, settings: SettingsDep, store: StoreDep, sandbox: SandboxDep) -> PagesOut:
    frames = await run_in_threadpool(store.frames, job.id)
    infos = await _call(sandbox, list_pages, str(store.upload_path(job.id)), job.kind, settings.render_dpi, frames)
    units = UNITS["ocr"] if frames else UNITS["text-layer"] if job.kind == "pdf" else UNITS.get(job.kind)
    return PagesOut(job_id=job.id, kind=job.kind, units=units or "no page images", pages=infos)


@router.get("/{n}.png", response_class=Response, responses=PNG)
async def page_image(n: int, job: JobDep, settings: SettingsDep, store: StoreDep, sandbox: SandboxDep) -> Response:
    png = await _call(sandbox, render_page, str(store.upload_path(job.id)), job.kind, n, settings.render_dpi,
                      await run_in_threadpool(store.frames, job.id))
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


@router.get("/{n}/crop", response_class=Response, responses=PNG)
async def crop(n: int, job: JobDep, store: StoreDep, sandbox: SandboxDep,
               x: Annotated[float, Query(description="box units, as in result.provenance")],
               y: float, w: Annotated[float, Query(gt=0)], h: Annotated[float, Query(gt=0)]) -> Response:
    if w * h > 4_000_000:
        raise HTTPException(422, "the crop rectangle is too large")
    png = await _call(sandbox, render_crop, str(store.upload_path(job.id)), job.kind, n, (x, y, w, h),
                      await run_in_threadpool(store.frames, job.id))
    return Response(png, media_type="image/png")


async def _call(sandbox: Sandbox, fn, *args):
    try:
        status, value = await sandbox.call(fn, *args)
    except SandboxFailed as error:
        raise HTTPException(422, str(error)) from None
    if status == "missing":
        raise HTTPException(404, value)
    if status == "bad":
        raise HTTPException(422, value)
    return value
