"""The national report templates, loaded from the data files in service/templates/.

A template is data: sections, their rows and columns with printed labels, and the arithmetic rules.
Parsers, the validator, the synthetic factory and the scorer all read it from here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

TEMPLATE_DIR = Path(__file__).parent / "templates"
SECTIONS = ("proactive_disclosure", "requests", "review_and_litigation")


@dataclass(frozen=True)
class LabelSpec:
    key: str
    label: str
    variants: tuple[str, ...] = ()
    short: str | None = None
    parent: str | None = None


@dataclass(frozen=True)
class ColumnSpec(LabelSpec):
    unit: str | None = None
    decimal: bool = False
    signed: bool = False


@dataclass(frozen=True)
class RowSpec(LabelSpec):
    columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class MergedRow:
    """Rows some reports print as ONE row under their heading: its numbers are the sum of `rows`, which stay unknown
    one by one (unless the sum decides them: a sum of 0 is 0 in each)."""
    key: str
    label: str
    rows: tuple[str, ...]


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    layout: str  # "rows": one printed row per key; "wide": every group in one printed row
    rows: tuple[RowSpec, ...]
    columns: dict[str, ColumnSpec]
    header: tuple[str, ...] = ()
    groups: tuple[dict, ...] = ()
    merged: tuple[MergedRow, ...] = ()

    def row(self, key: str) -> RowSpec:
        return next(r for r in self.rows if r.key == key)

    def row_keys(self) -> list[str]:
        return [r.key for r in self.rows]


@dataclass(frozen=True)
class Rule:
    """sum(left) == sum(right), for every column (across == "rows") or every row (across == "columns")."""
    id: str
    text: str
    section: str
    across: str
    left: tuple[str, ...]
    right: tuple[str, ...]
    printed: bool = False


@dataclass(frozen=True)
class Template:
    id: str
    name: str
    first_year: int
    markers: tuple[str, ...]
    sections: dict[str, Section]
    rules: tuple[Rule, ...] = field(default=())

    def cells(self) -> list[tuple[str, str, str]]:
        """Every scored cell as (section, row, column), in printed order."""
        return [(s.key, r.key, c) for s in self.sections.values() for r in s.rows for c in r.columns]

    def empty_report(self) -> dict[str, dict[str, dict[str, None]]]:
        return {s.key: {r.key: {c: None for c in r.columns} for r in s.rows} for s in self.sections.values()}


def _section(key: str, data: dict) -> Section:
    columns = {k: ColumnSpec(key=k, label=v["label"], variants=tuple(v.get("variants", ())),
                             short=v.get("short"), parent=v.get("parent"), unit=v.get("unit"),
                             decimal=bool(v.get("decimal")), signed=bool(v.get("signed")))
               for k, v in data["columns"].items()}
    rows = tuple(RowSpec(key=k, label=v["label"], variants=tuple(v.get("variants", ())), short=v.get("short"),
                         parent=v.get("parent"), columns=tuple(v.get("columns", list(columns))))
                 for k, v in data["rows"].items())
    return Section(key=key, title=data["title"], layout=data.get("layout", "rows"), rows=rows, columns=columns,
                   header=tuple(data.get("header", ())), groups=tuple(data.get("groups", ())),
                   merged=tuple(MergedRow(key=f"merged:{'+'.join(m['rows'])}", label=m["label"], rows=tuple(m["rows"]))
                                for m in data.get("merged_rows", ())))


def load_template(path: Path) -> Template:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    sections = {k: _section(k, data["sections"][k]) for k in SECTIONS}
    rules = tuple(Rule(id=r["id"], text=r["text"], section=r["section"], across=r["across"],
                       left=tuple(r["left"]), right=tuple(r["right"]), printed=bool(r.get("printed")))
                  for r in data.get("rules", ()))
    return Template(id=data["id"], name=data["name"], first_year=int(data["first_year"]),
                    markers=tuple(data.get("markers", ())), sections=sections, rules=rules)


@lru_cache(maxsize=None)
def all_templates() -> tuple[Template, ...]:
    """Every template shipped, newest first."""
    found = [load_template(p) for p in sorted(TEMPLATE_DIR.glob("*.yaml"))]
    return tuple(sorted(found, key=lambda t: t.first_year, reverse=True))


def get_template(template_id: str) -> Template:
    for t in all_templates():
        if t.id == template_id:
            return t
    raise KeyError(f"unknown template {template_id!r}")
