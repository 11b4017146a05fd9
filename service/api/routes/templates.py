"""/v1/templates: the national templates' printed labels, so clients (the review page) show rows as printed."""
from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from service.api.schemas import ErrorOut
from service.template import all_templates

router = APIRouter(prefix="/v1/templates", tags=["templates"], responses={422: {"model": ErrorOut}})


class LabelOut(BaseModel):
    key: str
    label: str
    parent: str | None = None


class SectionOut(BaseModel):
    key: str
    title: str
    rows: list[LabelOut]
    columns: list[LabelOut]


class TemplateOut(BaseModel):
    id: str
    name: str
    sections: list[SectionOut]


@router.get("", response_model=list[TemplateOut])
def templates() -> list[TemplateOut]:
    return [TemplateOut(id=t.id, name=t.name, sections=[
        SectionOut(key=key, title=s.title,
                   rows=[LabelOut(key=r.key, label=r.label, parent=r.parent) for r in s.rows],
                   columns=[LabelOut(key=c.key, label=c.label, parent=c.parent) for c in s.columns.values()])
        for key, s in t.sections.items()]) for t in all_templates()]
