"""Service settings, read from NIANBAO_* environment variables (e.g. NIANBAO_WORKERS=4, NIANBAO_API_KEY=...)."""
from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

MB = 1024 * 1024


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "nianbao"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NIANBAO_", extra="ignore")

    data_dir: Path = Field(default_factory=_default_data_dir, description="uploads and the default SQLite database")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default sqlite:///<data_dir>/jobs.sqlite3")
    # Keys: each client key owns the jobs it creates (sees and deletes only those); the admin key sees all.
    # With any key set, /v1, /metrics and /docs need the header X-API-Key; /healthz and /readyz never do.
    api_key: str | None = Field(None, description="a client key")
    api_keys: str | None = Field(None, description="more client keys, comma-separated")
    admin_key: str | None = Field(None, description="a key that sees and deletes every job")
    allow_open: bool = Field(False, description="serve on a non-loopback address without a key")

    # The worker pool: one process per worker, each with its own Pipeline (models load once per process).
    workers: int = Field(2, ge=1)
    classifier: str = "auto"
    device: str = "cpu"

    # Limits. An upload past max_upload_mb or max_pages is refused (413); a bigger queue than max_queue is 429.
    max_upload_mb: float = 50.0
    max_pages: int = 300
    max_image_pixels: int = 80_000_000
    max_total_pixels: int = Field(400_000_000, description="all pages together, PDFs priced at 200 dpi")
    max_queue: int = Field(100, ge=1, description="jobs queued or running at once")
    job_timeout_s: float = Field(600.0, gt=0, description="a job running longer is stopped and marked failed")
    max_attempts: int = Field(3, ge=1, description="runs a job gets when its worker or server dies under it")
    lease_s: float = Field(30.0, gt=0, description="a running job whose server sent no heartbeat for this long "
                                                   "is taken over by another server")
    shutdown_grace_s: float = Field(5.0, ge=0, description="on stop, running jobs get this long, then are requeued")

    # Slow clients: request headers must arrive within header_timeout_s, a body within body_timeout_s (and no
    # gap between its parts longer than body_idle_s); at most max_connections requests at once.
    header_timeout_s: float = Field(10.0, gt=0)
    body_timeout_s: float = Field(120.0, gt=0)
    body_idle_s: float = Field(15.0, gt=0)
    max_connections: int = Field(512, ge=8)
    sandbox_processes: int = Field(2, ge=1, description="helper processes that check uploads and draw pages")

    # POST /v1/extract answers at once up to these sizes; bigger uploads (or ?async=true) get 202 and a job id.
    sync_max_mb: float = 5.0
    sync_max_pages: int = 20

    render_dpi: int = Field(110, ge=36, le=300, description="page images of the review page")
    keep_hours: float = Field(168.0, description="finished jobs and their uploads are deleted after this")
    slow_down_s: float = Field(0.0, ge=0, description="sleep before each job: for tests and demos only")

    def keys(self) -> dict[str, bool]:
        """Every accepted key -> whether it is the admin key."""
        found = {k.strip(): False for k in [self.api_key or "", *(self.api_keys or "").split(",")] if k.strip()}
        if self.admin_key:
            found[self.admin_key] = True
        return found

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * MB)

    @property
    def sync_max_bytes(self) -> int:
        return int(self.sync_max_mb * MB)

    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'jobs.sqlite3'}"

    @property
    def upload_dir(self) -> Path:
        return self.data_dir / "uploads"
