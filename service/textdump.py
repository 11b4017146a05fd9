"""Text dumps (pdftotext output, HTML flattened to pipes, one cell per line, ...) -> Document lines.

A dump has lost its grid, so cells carry no row/col. Tabs and pipes separate cells; empty cells between separators are
padding, not values (a blank is resolved later by the arithmetic, never read as 0 here).
"""
from __future__ import annotations

import re

from service.document import Cell, Document, Line, Source
from service.ingest import decode_text

_PIPE_ONLY = re.compile(r"^[\s|｜]*$")


def split_cells(line: str) -> list[str]:
    if "\t" in line:
        parts = line.split("\t")
    elif "|" in line or "｜" in line:
        parts = re.split(r"[|｜]", line)
    else:
        parts = [line]
    return [p.strip() for p in parts if p.strip()]


def read_text(source: Source) -> Document:
    text = (decode_text(source.data) or source.data.decode("utf-8", "replace")).replace("\r\n", "\n").replace("\r", "\n")
    lines: list[Line] = []
    for raw in text.split("\n"):
        if _PIPE_ONLY.match(raw):
            continue
        cells = split_cells(raw)
        if cells:
            lines.append(Line(cells=[Cell(text=c) for c in cells], table=0 if len(cells) > 1 else None))
    return Document(source=source.name, kind=source.kind, lines=lines, method="text")
