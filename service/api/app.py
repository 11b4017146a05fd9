"""The HTTP service: `create_app(settings)` builds it, `serve(host, port)` runs it (`nianbao serve`).

    /v1/extract, /v1/jobs...      routes/extract.py, routes/jobs.py, routes/pages.py
    /v1/templates                 routes/templates.py (printed labels)
    /healthz /readyz /metrics     routes/health.py
    /                             the review page (static/)
    /docs /openapi.json           FastAPI

service.api.guard checks the key and caps the body before any route runs.
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
from service.api.guard import Guard, guarded_h11
from service.api.jobs import JobStore, WorkerPool, start_fork_server
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
        # Jobs a dead server left running are not touched here: their lease expires and a slot takes them over.
        pruned, orphans = store.prune(settings.keep_hours * 3600), store.remove_orphans()
        if pruned or orphans:
            log.warning("start: %d old jobs and %d orphaned upload files deleted", pruned, orphans)
        app.state.store = store
        app.state.pool = WorkerPool(settings, store, app.state.metrics.observe_job)
        app.state.sandbox = Sandbox(processes=settings.sandbox_processes, timeout_s=min(120.0, settings.job_timeout_s))
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
    async def count(request: Request, call_next):
        response = await call_next(request)
        route = getattr(request.scope.get("route"), "path", None)  # the template (/v1/jobs/{job_id}), not the URL
        app.state.metrics.requests.labels(request.method, route or "static", str(response.status_code)).inc()
        return response

    # The key is asked for (and documented in the OpenAPI spec) only when one is set.
    auth = {"dependencies": [Depends(require_key)], "responses": {401: {"model": ErrorOut}}} \
        if settings.keys() else {}
    for router in (extract.router, jobs.router, pages.router, templates.router):
        app.include_router(router, **auth)
    app.include_router(health.router)
    app.mount("/", StaticFiles(directory=STATIC, html=True), name="review")
    # Outermost: the key and the body limits come before everything else, the metrics middleware included.
    app.add_middleware(Guard, keys=settings.keys(), max_body=settings.max_upload_bytes + MULTIPART_OVERHEAD,
                       body_timeout_s=settings.body_timeout_s, body_idle_s=settings.body_idle_s)
    return app


LOOPBACK = ("127.0.0.1", "::1", "localhost")


def serve(host: str = "127.0.0.1", port: int = 8000) -> int:
    import os
    import sys
    import threading

    import uvicorn

    settings = Settings()
    if host not in LOOPBACK and not host.startswith("127.") and not settings.keys() and not settings.allow_open:
        print(f"error: refusing to serve on {host} without an API key: anyone who can reach it could read and "
              f"delete every job. Set NIANBAO_API_KEY (or NIANBAO_ADMIN_KEY), or NIANBAO_ALLOW_OPEN=1 to serve "
              f"openly anyway.", file=sys.stderr)
        return 2
    start_fork_server(settings.classifier)   # the workers' imports overlap the server's start
    app = create_app(settings)

    class Server(uvicorn.Server):
        def handle_exit(self, sig, frame):
            # Stop taking jobs at the signal itself: uvicorn runs the app's shutdown only after open requests end,
            # and a request waiting for its job must not keep the server up (it is answered 202 instead).
            # In a thread: a signal handler that took the pool's lock could deadlock on the interrupted holder.
            pool = getattr(app.state, "pool", None)
            if pool is not None:
                threading.Thread(target=pool.begin_stop, name="nianbao-stop", daemon=True).start()
            super().handle_exit(sig, frame)

    level = os.environ.get("NIANBAO_LOG", "WARNING").lower()
    config = uvicorn.Config(app, host=host, port=port, log_level=level, http=guarded_h11(settings.header_timeout_s),
                            timeout_keep_alive=5, limit_concurrency=settings.max_connections,
                            timeout_graceful_shutdown=int(settings.shutdown_grace_s) + 2)
    try:
        Server(config).run()
    except KeyboardInterrupt:  # uvicorn re-raises the signal it handled once it has shut down
        pass
    return 0
