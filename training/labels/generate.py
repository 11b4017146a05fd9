"""Synthetic training and held-out examples: label texts as reports print them, corrupted, with per-character tags.

Every example is a few segments (a label, its parent, a neighbouring label, other text), joined the way cells of a
run are joined, then corrupted character by character (noise.py) so that each character keeps its tag.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import lru_cache

from models.label_classifier.classes import TagClass
from models.label_classifier.vocab import gb2312_chars
from service.labels import normalize
from service.template import Template
from training.labels import noise, prose

MAX_CHARS = 120


@dataclass(frozen=True)
class Entry:
    """One printed label of a template: the class it tags as, and where it sits."""
    cls: int
    text: str
    template: str
    section: str
    kind: str  # row | column | title | context
    parent: str | None = None


@dataclass
class Example:
    text: str
    tags: list[int]
    truth: int  # class of the label the text is about (0: other text); -1 when it holds two labels
    template: str | None


@dataclass(frozen=True)
class Recipe:
    """How often each kind of example is made, and the character noise on top."""
    single: float = 0.45
    glued: float = 0.17  # a label with other text before or after
    pair: float = 0.10  # two labels in one text (parent + row, neighbours)
    partial: float = 0.10  # a piece of a label (truncated, or split over two cells)
    other: float = 0.18  # no label at all
    with_parent: float = 0.3
    enum_drop: float = 0.15
    cell_break: float = 0.08
    mix: noise.NoiseMix = field(default_factory=noise.NoiseMix)


# A different and harsher mix, for the held-out set.
HELD_OUT = Recipe(single=0.4, glued=0.2, pair=0.1, partial=0.12, other=0.18, with_parent=0.4, enum_drop=0.25,
                  cell_break=0.12,
                  mix=noise.NoiseMix(confuse=0.06, typo=0.03, drop=0.04, dup=0.02, junk=0.015, split=0.015,
                                     merge=0.015, space=0.05, punct=0.5, traditional=0.12, traditional_chars=0.08,
                                     vertical=0.06, clean=0.2))


@lru_cache(maxsize=1)
def common_chars() -> str:
    return "".join(gb2312_chars()[:3755])  # GB2312 level 1: the common characters


class LabelBank:
    def __init__(self, templates: tuple[Template, ...], classes: list[TagClass]):
        self.classes = classes
        self.by_norm = {n: i + 1 for i, c in enumerate(classes) for n in c.labels}
        self.entries: list[Entry] = []
        self.context: list[Entry] = []
        for t in templates:
            for s in t.sections.values():
                self._add(s.title, t.id, s.key, "title")
                for r in s.rows:
                    for text in (r.label, *([r.short] if r.short else []), *r.variants):
                        self._add(text, t.id, s.key, "row", r.parent)
                for c in s.columns.values():
                    for text in (c.label, *c.variants):
                        self._add(text, t.id, s.key, "column", c.parent)
        for i, c in enumerate(classes):
            if c.is_context:
                self.context += [Entry(i + 1, text, "", "", "context") for text in c.printed]
        self.printed = [(text, i + 1) for i, c in enumerate(classes) for text in c.printed]
        self.by_section: dict[tuple[str, str, str], list[Entry]] = {}
        for e in self.entries:
            self.by_section.setdefault((e.template, e.section, e.kind), []).append(e)
        self.norm_labels: dict[str, set[tuple[str, int]]] = {}
        for e in self.entries:
            self.norm_labels.setdefault(e.template, set()).add((normalize(e.text), e.cls))

    def _add(self, text: str, template: str, section: str, kind: str, parent: str | None = None) -> None:
        self.entries.append(Entry(self.by_norm[normalize(text)], text, template, section, kind, parent))

    def unique_head(self, piece: str, cls: int) -> bool:
        """Whether an enumerator and the first characters (四、结转) start only labels of its own class."""
        return all(not text.startswith(piece) or i == cls for text, i in self.printed)

    def cls_of(self, text: str) -> int:
        return self.by_norm[normalize(text)]

    def unique_piece(self, piece: str, cls: int, template: str) -> bool:
        """Whether a piece of a label still names only its own class among its template's labels (本年新 is the
        2021 `new` row, though 2019 also prints 本年新制作数量)."""
        n = normalize(piece)
        return len(n) >= 3 and all(n not in label or i == cls for label, i in self.norm_labels[template])


def _tagged(text: str, tag: int) -> noise.Tagged:
    return [(ch, tag) for ch in text]


def _sep(rng: random.Random) -> str:
    return rng.choice(["", "", " ", "\t", "\n", "  "])


class ExampleMaker:
    def __init__(self, bank: LabelBank, recipe: Recipe, seed: int):
        self.bank = bank
        self.recipe = recipe
        self.rng = random.Random(seed)
        self.common = common_chars()

    def label(self, e: Entry) -> noise.Tagged:
        """A label as some report prints it: enumerator restyled, maybe split over two cells."""
        rng = self.rng
        text = noise.restyle_enumerator(e.text, rng, self.recipe.enum_drop)
        if rng.random() < self.recipe.cell_break and len(text) > 3:
            k = rng.randint(1, len(text) - 1)
            text = text[:k] + rng.choice([" ", "\t", "\n"]) + text[k:]
        return _tagged(text, e.cls)

    def parent(self, e: Entry) -> noise.Tagged:
        if not e.parent:
            return []
        p = noise.restyle_enumerator(e.parent, self.rng, self.recipe.enum_drop)
        return _tagged(p, self.bank.cls_of(e.parent)) + _tagged(_sep(self.rng), 0)

    def other(self) -> noise.Tagged:
        return _tagged(prose.other_text(self.rng, self.common), 0)

    def make(self) -> Example:
        rng, r = self.rng, self.recipe
        e = rng.choice(self.bank.entries)
        kind = rng.choices(["single", "glued", "pair", "partial", "other"],
                           [r.single, r.glued, r.pair, r.partial, r.other])[0]
        truth = e.cls
        if kind == "other":
            if rng.random() < 0.25:
                c = rng.choice(self.bank.context)
                text = noise.restyle_enumerator(c.text, rng, r.enum_drop)
                if rng.random() < 0.3 and len(text) > 4:  # a parent split over cells: 三、本 | 年度办 | 理结果
                    a = rng.randint(0, len(text) - 3)
                    text = text[a:a + rng.randint(3, len(text) - a)]
                chars, truth = _tagged(text, c.cls), 0
            else:
                chars, truth = self.other(), 0
        elif kind == "partial":
            chars = self.partial(e)
            if chars is None:
                chars = self.label(e)
        else:
            chars = self.label(e)
            if rng.random() < r.with_parent:
                chars = self.parent(e) + chars
            if kind == "glued":
                before = rng.random() < 0.5
                if rng.random() < 0.7:
                    glue = self.other()
                else:
                    c = rng.choice(self.bank.context)
                    glue = _tagged(c.text, c.cls)
                sep = _tagged(_sep(rng), 0)
                chars = glue + sep + chars if before else chars + sep + glue
            elif kind == "pair":
                near = [x for x in self.bank.by_section[(e.template, e.section, e.kind)] if x.cls != e.cls]
                if near:
                    n = rng.choice(near)
                    sep = _tagged(_sep(rng), 0)
                    chars = chars + sep + self.label(n) if rng.random() < 0.5 else self.label(n) + sep + chars
                    truth = -1
        chars = noise.corrupt(chars, rng, r.mix, self.common)
        text, tags = noise.to_text(chars)
        if len(text) > MAX_CHARS:
            text, tags = text[:MAX_CHARS], tags[:MAX_CHARS]
        return Example(text, tags, truth, e.template)

    def partial(self, e: Entry) -> noise.Tagged | None:
        """A truncated label (本年新) or the tail of one split over two cells; only pieces that stay unambiguous."""
        text = e.text
        m = noise.ENUM_RE.match(text)
        start = m.end() if m else 0
        body = text[start:]
        if len(body) < 5:
            return None
        if m and (m.group(1) or m.group(2)) and self.rng.random() < 0.2:
            # 一、本年 | 新收政府…: a section enumerator and a word (digits alone are too easily misread to trust)
            piece = text[:start + self.rng.randint(2, 3)]
            if self.bank.unique_head(piece, e.cls):
                return _tagged(piece, e.cls)
        for _ in range(4):
            if self.rng.random() < 0.6:
                k = self.rng.randint(3, len(body) - 1)
                piece = text[:start + k] if self.rng.random() < 0.5 else body[:k]
            else:
                k = self.rng.randint(1, len(body) - 3)
                piece = body[k:]
            if self.bank.unique_piece(piece, e.cls, e.template):
                return _tagged(piece, e.cls)
        return None


def examples(bank: LabelBank, recipe: Recipe, seed: int, n: int) -> list[Example]:
    maker = ExampleMaker(bank, recipe, seed)
    return [maker.make() for _ in range(n)]
