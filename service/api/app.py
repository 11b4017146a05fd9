"""The HTTP service: `create_app(settings)` builds it, `serve(host, port)` runs it (`nianbao serve`).

    /v1/extract, /v1/jobs...      routes/extract.py, routes/jobs.py, routes/pages.py
    /v1/templates                 routes/templates.py (printed labels)
    /healthz /readyz /metrics     routes/health.py
    /                             the review page (static/)
    /docs /openapi.json           FastAPI
"""
from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from service.api.deps import require_key
from service.api.jobs import JobStore, WorkerPool
from service.api.metrics import Metrics
from service.api.routes import extract, health, jobs, pages, templates
from service.api.sandbox import Sandbox
from service.api.schemas import ErrorOut
from service.api.settings import MB, Settings

log = logging.getLogger("nianbao.api")
STATIC = Path(__file__).parent / "static"
MULTIPART_OVERHEAD = 1 * MB


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        store = JobStore(settings.db_url(), settings.upload_dir)
        pruned = store.prune(settings.keep_hours * 3600)
        requeued, gave_up = store.requeue_unfinished(settings.max_attempts)
        if requeued or gave_up or pruned:
            log.warning("start: %d unfinished jobs queued again, %d given up, %d old jobs deleted",
                        requeued, gave_up, pruned)
        app.state.store = store
        app.state.pool = WorkerPool(settings, store, app.state.metrics.observe_job)
        app.state.sandbox = Sandbox(processes=1, timeout_s=min(120.0, settings.job_timeout_s))
        app.state.metrics.watch(store, app.state.pool)
        app.state.pool.start()
        app.state.sandbox.warm()
        try:
            yield
        finally:
            app.state.pool.stop()
            app.state.sandbox.close()
            store.engine.dispose()

    app = FastAPI(title="Nianbao", version="0.1.0", lifespan=lifespan,
                  description="政府信息公开工作年度报告 (PDF, scans, HTML, DOCX, text) to one validated canonical "
                              "report with confidence, provenance and findings.")
    app.state.settings = settings
    app.state.metrics = Metrics()

    @app.exception_handler(RequestValidationError)
    async def one_line_validation_error(request: Request, error: RequestValidationError):
        # Every error answer has the same shape, {"detail": "one line"}, as the spec promises (ErrorOut).
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'] if p != 'body')}: {e['msg']}" for e in error.errors())
        return JSONResponse({"detail": f"invalid request: {problems}"}, status_code=422)

    @app.middleware("http")
    async def guard_and_count(request: Request, call_next):
        # A body announced larger than the upload limit is refused before it is read.
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > settings.max_upload_bytes + MULTIPART_OVERHEAD:
            response = JSONResponse({"detail": f"the upload is larger than the limit of "
                                               f"{settings.max_upload_mb:g} MB"}, status_code=413)
        else:
            response = await call_next(request)
        route = getattr(request.scope.get("route"), "path", None)  # the template (/v1/jobs/{job_id}), not the URL
        app.state.metrics.requests.labels(request.method, route or "static", str(response.status_code)).inc()
        return response

    # The key is asked for (and documented in the OpenAPI spec) only when one is set.
    auth = {"dependencies": [Depends(require_key)], "responses": {401: {"model": ErrorOut}}} \
        if settings.api_key else {}
    for router in (extract.router, jobs.router, pages.router, templates.router):
        app.include_router(router, **auth)
    app.include_router(health.router)
    app.mount("/", StaticFiles(directory=STATIC, html=True), name="review")
    return app


def serve(host: str = "127.0.0.1", port: int = 8000) -> int:
    import os

    import uvicorn

    settings = Settings()
    level = os.environ.get("NIANBAO_LOG", "WARNING").lower()
    uvicorn.run(create_app(settings), host=host, port=port, log_level=level)
    return 0
