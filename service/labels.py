"""Label text -> canonical key, behind one small interface.

A `LabelClassifier` scores texts (a label cell, or a run of cells joined) against `LabelTarget`s: the canonical rows,
columns and section titles of a template. The fuzzy matcher here serves by default; the trained token classifier in
models/label_classifier implements the same interface.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol, Sequence

from rapidfuzz.distance import LCSseq

from service.template import Template


@dataclass(frozen=True)
class LabelTarget:
    template: str
    section: str
    kind: str  # "row" | "column" | "title"
    key: str
    labels: tuple[str, ...]  # printed label first, then variants

    @property
    def id(self) -> str:
        return f"{self.section}.{self.kind}.{self.key}"


class LabelClassifier(Protocol):
    """Scores in [0, 1]: how surely each text is (all of) the label of each target."""

    def scores(self, texts: Sequence[str], targets: Sequence[LabelTarget]) -> list[list[float]]: ...


def targets_for(template: Template) -> list[LabelTarget]:
    out: list[LabelTarget] = []
    for s in template.sections.values():
        # A table's own header cells (申请人情况, 行政复议) mark its section as well as the title above it, which a
        # scan can lose.
        out.append(LabelTarget(template.id, s.key, "title", s.key, (s.title, *s.header)))
        for r in s.rows:
            labels = (r.label, *([r.short] if r.short else []), *r.variants)
            out.append(LabelTarget(template.id, s.key, "row", r.key, labels))
        for c in s.columns.values():
            out.append(LabelTarget(template.id, s.key, "column", c.key, (c.label, *c.variants)))
    return out


# --- normalisation --------------------------------------------------------------------------------------------

_ENUM = re.compile(r"^(?:[（(]?[一二三四五六七八九十]+[)）、.．]|[（(]\d{1,2}[)）]|\d{1,2}[.．、](?!\d))")
_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)


@lru_cache(maxsize=1)
def _t2s():
    from opencc import OpenCC  # opencc-python-reimplemented: pure Python, ships its dictionaries

    return OpenCC("t2s")


def simplified(text: str) -> str:
    """Traditional characters as simplified ones (label text of mirror sites in 繁體)."""
    return _t2s().convert(text)


@lru_cache(maxsize=65536)
def normalize(text: str) -> str:
    """Comparable form of a label: NFKC, simplified characters, no enumerator, no punctuation or spaces."""
    text = unicodedata.normalize("NFKC", text).strip()
    text = _t2s().convert(text)
    text = re.sub(r"\s+", "", text)
    while True:
        stripped = _ENUM.sub("", text)
        if stripped == text:
            break
        text = stripped
    return _NOISE.sub("", text)


# --- the fuzzy matcher ----------------------------------------------------------------------------------------

def _similarity(label: str, text: str) -> float:
    """Geometric mean of how much of the label the text covers and how much of the text is label."""
    if not label or not text:
        return 0.0
    common = LCSseq.similarity(label, text)
    return (common / len(label) * common / len(text)) ** 0.5


class FuzzyLabelMatcher:
    """Longest-common-subsequence matching on normalised text: survives dropped, swapped and extra characters."""

    name = "fuzzy"

    def scores(self, texts: Sequence[str], targets: Sequence[LabelTarget]) -> list[list[float]]:
        norm_targets = [[normalize(label) for label in t.labels] for t in targets]
        out = []
        for text in texts:
            n = normalize(text)
            out.append([max(_similarity(label, n) for label in labels) for labels in norm_targets])
        return out
