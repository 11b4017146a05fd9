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

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from service.api.jobs import JobStore, WorkerPool
from service.api.metrics import Metrics
from service.api.routes import extract, health, jobs, pages, templates
from service.api.sandbox import Sandbox
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

    @app.middleware("http")
    async def guard_and_count(request: Request, call_next):
        # A body announced larger than the upload limit is refused before it is read.
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > settings.max_upload_bytes + MULTIPART_OVERHEAD:
            response = JSONResponse({"detail": f"the upload is larger than the limit of "
                                               f"{settings.max_upload_mb:g} MB"}, status_code=413)
        else:
            response = await call_next(request)
        route = request.scope.get("route")
        app.state.metrics.requests.labels(request.method, getattr(route, "path", "other"),
                                          str(response.status_code)).inc()
        return response

    app.include_router(extract.router)
    app.include_router(jobs.router)
    app.include_router(pages.router)
    app.include_router(templates.router)
    app.include_router(health.router)
    app.mount("/", StaticFiles(directory=STATIC, html=True), name="review")
    return app


def serve(host: str = "127.0.0.1", port: int = 8000) -> int:
    import uvicorn

    settings = Settings()
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
    return 0
