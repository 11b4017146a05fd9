"""Response models: what the OpenAPI spec promises."""
from __future__ import annotations

from pydantic import BaseModel, Field

from service.api.jobs import Job


class ErrorOut(BaseModel):
    detail: str = Field(description="what was wrong, in one line")


class JobOut(BaseModel):
    id: str
    state: str = Field(description="queued | running | done | failed")
    name: str = Field(description="the uploaded file's name")
    kind: str = Field(description="pdf | image | html | docx | text, detected from the content")
    size: int = Field(description="bytes")
    pages: int
    pages_done: int
    progress: float = Field(description="0 to 1")
    attempts: int = Field(description="how often a worker started it (more than 1 after a restart)")
    error: str | None = Field(None, description="why it failed")
    seconds: float | None = Field(None, description="extraction time")
    created_at: float = Field(description="Unix time")
    started_at: float | None = None
    finished_at: float | None = None
    result_url: str | None = Field(None, description="where the result is, once done")

    @classmethod
    def of(cls, job: Job) -> JobOut:
        fields = {k: getattr(job, k) for k in cls.model_fields if k != "result_url"}
        return cls(**fields, result_url=f"/v1/jobs/{job.id}/result" if job.state == "done" else None)


class PageOut(BaseModel):
    n: int
    width: int = Field(description="pixels of /pages/{n}.png")
    height: int
    scale: float = Field(description="pixels of the page image per provenance box unit")


class PagesOut(BaseModel):
    job_id: str
    kind: str
    units: str = Field(description="the unit of provenance boxes for this kind of document")
    pages: list[PageOut] = Field(description="empty for text, HTML and DOCX: they have no page image")


class HealthOut(BaseModel):
    status: str


class ReadyOut(BaseModel):
    status: str
    workers: int
    workers_ready: int
    database: bool
