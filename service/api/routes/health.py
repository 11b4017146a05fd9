"""Liveness, readiness (worker models loaded, database reachable) and Prometheus metrics; the probes never need the
API key, /metrics does when keys are set (service.api.guard)."""
from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from service.api.metrics import CONTENT_TYPE
from service.api.schemas import HealthOut, ReadyOut

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthOut)
def healthz() -> HealthOut:
    return HealthOut(status="ok")


@router.get("/readyz", response_model=ReadyOut, responses={503: {"model": ReadyOut}})
async def readyz(request: Request) -> JSONResponse:
    pool = request.app.state.pool
    database = await run_in_threadpool(request.app.state.store.ping)
    ready = database and pool.ready == len(pool.slots)
    body = ReadyOut(status="ready" if ready else "starting", workers=len(pool.slots), workers_ready=pool.ready,
                    database=database)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE: {}}}})
async def metrics(request: Request) -> Response:
    body = await run_in_threadpool(request.app.state.metrics.render)
    return Response(body, media_type=CONTENT_TYPE)
