"""The tag set: which printed texts the token classifier tells apart.

One tag class per group of printed labels that mean the same target. Targets of both templates that share a
normalised label (2019 and 2021 `requests.row.new`, or `其他` as a column and `3.其他` as a row) fall into one
class, because their text alone cannot tell them apart; the caller narrows by the targets it passes. Parent,
header and caption texts (`（三）不予公开`, `申请人情况`, `第二十条第（一）项`) get classes of their own so that a
label glued behind its parent keeps its meaning; they are no target's label. Tag 0 is "other text".
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Sequence

from service.labels import LabelTarget, normalize, targets_for
from service.template import Template

OTHER = "other"


@dataclass(frozen=True)
class TagClass:
    name: str
    labels: tuple[str, ...]  # normalised label texts that belong to this class
    printed: tuple[str, ...]  # the printed forms (training renders these)
    targets: tuple[str, ...]  # "template:section.kind.key" of every target in it; empty for context classes
    roles: tuple[str, ...]  # row / column / title / parent / header / caption

    @property
    def is_context(self) -> bool:
        return not self.targets


def target_ref(t: LabelTarget) -> str:
    return f"{t.template}:{t.id}"


def _context_texts(template: Template) -> list[tuple[str, str]]:
    """(role, printed text) of every parent, header and caption of the template."""
    out: list[tuple[str, str]] = []
    for s in template.sections.values():
        for spec in (*s.rows, *s.columns.values()):
            if spec.parent:
                out.append(("parent", spec.parent))
        out += [("header", h) for h in s.header]
        for g in s.groups:
            out.append(("caption", g["caption"]))
            out += [("header", h) for h in g.get("header", ())]
    return out


def build_classes(templates: Iterable[Template]) -> list[TagClass]:
    """Union of labels into classes: two labels share a class when one target owns both or they normalise alike."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    def union(a: str, b: str) -> None:
        parent[find(a)] = find(b)

    printed: dict[str, list[str]] = {}
    owners: dict[str, list[tuple[str, str]]] = {}  # normalised label -> (role, target ref or "")
    for template in templates:
        for t in targets_for(template):
            norms = [normalize(label) for label in t.labels]
            for label, n in zip(t.labels, norms):
                printed.setdefault(n, []).append(label)
                owners.setdefault(n, []).append((t.kind, target_ref(t)))
                union(n, norms[0])
        for role, text in _context_texts(template):
            n = normalize(text)
            printed.setdefault(n, []).append(text)
            owners.setdefault(n, []).append((role, ""))
            find(n)
    groups: dict[str, list[str]] = {}
    for n in printed:
        groups.setdefault(find(n), []).append(n)
    classes = []
    for norms in groups.values():
        refs = sorted({ref for n in norms for _, ref in owners[n] if ref})
        roles = sorted({role for n in norms for role, _ in owners[n]})
        texts = list(dict.fromkeys(p for n in norms for p in printed[n]))
        name = refs[0].split(":", 1)[1] if refs else f"context.{roles[0]}.{norms[0]}"
        classes.append(TagClass(name, tuple(sorted(norms)), tuple(texts), tuple(refs), tuple(roles)))
    classes.sort(key=lambda c: (c.is_context, c.name, c.labels))
    # Names are unique: a clash (same key, different labels across templates) gets the template appended.
    seen: dict[str, int] = {}
    out = []
    for c in classes:
        seen[c.name] = seen.get(c.name, 0) + 1
        out.append(c if seen[c.name] == 1 else TagClass(f"{c.name}#{seen[c.name]}", c.labels, c.printed,
                                                        c.targets, c.roles))
    return out


def save_classes(classes: Sequence[TagClass], path: Path) -> None:
    path.write_text(json.dumps([asdict(c) for c in classes], ensure_ascii=False, indent=1), encoding="utf-8")


def load_classes(path: Path) -> list[TagClass]:
    return [TagClass(d["name"], tuple(d["labels"]), tuple(d["printed"]), tuple(d["targets"]), tuple(d["roles"]))
            for d in json.loads(path.read_text(encoding="utf-8"))]
