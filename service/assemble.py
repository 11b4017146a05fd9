"""Document lines -> canonical values, for every input kind.

The lines become a stream of tokens: label text, numbers, blanks. Each run of numbers belongs to the row named by the
label run before it (its last cells: headers and parent labels come first). The label classifier names the row; the
template's row order decides when a label is unreadable. The template says how many columns each row has, so run-together
digits and missing cells are resolved against that count and, where needed, the arithmetic.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from service.document import Box, Document
from service.labels import FuzzyLabelMatcher, LabelClassifier, LabelTarget, targets_for
from service.template import Section, Template
from service.values import Token, parse_number, tokenize

MAX_LABEL_CELLS = 24  # a label split one character per line spans many cells
MAX_LABEL_CHARS = 60  # the longest printed row label has 45 characters
MAX_DIGITS = 9
ACCEPT = 0.55  # label score that names a row on its own
ORDER_ACCEPT = 0.25  # lower score accepted for the row the template order expects next
TITLE_ACCEPT = 0.8
END_TITLES = ("五、存在的主要问题及改进情况", "六、其他需要报告的事项")


@dataclass
class Reading:
    """One value as read, with where it came from."""
    value: float | int | None
    raw: str = ""
    box: Box | None = None
    confidence: float = 1.0
    how: str = "read"  # read | blank | arithmetic | order | split | repaired
    note: str | None = None


@dataclass
class RowEvidence:
    label: str
    score: float
    how: str  # label | order


@dataclass
class Extraction:
    template: Template
    values: dict[tuple[str, str, str], Reading] = field(default_factory=dict)
    rows: dict[tuple[str, str], RowEvidence] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    issues: list[dict] = field(default_factory=list)  # assembly problems, reported as findings
    # Rows (or a wide section, row None) with fewer cells than columns: the arithmetic places them (validate.fill_gaps).
    partial: dict[tuple[str, str | None], tuple[list[tuple[str, str]], list[Reading]]] = field(default_factory=dict)

    def current_values(self) -> dict[tuple[str, str, str], float | int | None]:
        return {k: r.value for k, r in self.values.items()}

    def value(self, section: str, row: str, col: str) -> float | int | None:
        r = self.values.get((section, row, col))
        return None if r is None else r.value


class AmbiguousSplit(Exception):
    pass


@dataclass
class _Event:
    labels: list[Token]
    numbers: list[Token]
    section: str | None


def _events(tokens: list[Token], titles: dict[int, str | None]) -> list[_Event]:
    events: list[_Event] = []
    labels: list[Token] = []
    section: str | None = None
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t.kind == "label":
            if i in titles:
                section, labels = titles[i], []
            else:
                labels.append(t)
            i += 1
            continue
        j = i
        while j < len(tokens) and tokens[j].kind != "label":
            j += 1
        events.append(_Event(labels[-MAX_LABEL_CELLS:], tokens[i:j], section))
        labels, i = [], j
    return events


def _reading(tok: Token, section: Section, col: str) -> Reading:
    box, conf = tok.cell.box, tok.cell.confidence
    if tok.kind == "blank":
        return Reading(0, "", box, conf * 0.9, "blank", "blank cell read as 0")
    if tok.kind == "na":
        return Reading(None, tok.text, box, conf, "read", f"'{tok.text}' means not applicable")
    value, note = parse_number(tok.text)
    if abs(value) >= 10 ** MAX_DIGITS:
        # No count in these tables runs to nine digits: the digits of several merged cells.
        return Reading(None, tok.text, box, 0.0, "read", f"'{tok.text}' is too long for one cell; left null")
    spec = section.columns[col]
    if value < 0 and not spec.signed:
        note = (note + "; " if note else "") + "negative value in a column that cannot be negative"
    if isinstance(value, float) and not spec.decimal:
        note = (note + "; " if note else "") + "decimal value in a count column"
    return Reading(value, tok.text, box, conf, "read", note)


def _digit_splits(texts: list[str], n: int) -> list[list[str]]:
    """Ways to cut run-together digit strings into exactly n numbers (no leading zeros)."""
    def cuts(s: str, parts: int):
        if parts == 1:
            if s and (s == "0" or not s.startswith("0")):
                yield [s]
            return
        for i in range(1, len(s) - parts + 2):
            head = s[:i]
            if head != "0" and head.startswith("0"):
                break
            for rest in cuts(s[i:], parts - 1):
                yield [head, *rest]

    digits = [t for t in texts if t.isdigit()]
    if len(digits) != len(texts):
        return []
    extra = n - len(texts)
    out = []
    # Distribute the extra cuts over the tokens.
    for alloc in itertools.product(range(extra + 1), repeat=len(texts)):
        if sum(alloc) != extra:
            continue
        per_token = [list(cuts(t, a + 1)) for t, a in zip(texts, alloc)]
        for combo in itertools.product(*per_token):
            out.append([p for parts in combo for p in parts])
            if len(out) > 2000:
                return out
    return out


def _value_blanks_only(doc: Document, tokens: list[Token]) -> list[Token]:
    """A blank grid cell counts as a value only in a column where the table prints numbers, and in a row that
    prints some: empty cells in the label columns (under merged headers, beside captions) and in header rows are
    layout, not zeros."""
    value_cols: dict[int | None, set[int]] = {}
    value_lines: set[int] = set()
    for t in tokens:
        if t.kind in ("number", "na"):
            value_cols.setdefault(doc.lines[t.line].table, set()).add(t.cell.col)
            value_lines.add(t.line)
    return [t for t in tokens if t.kind != "blank" or (
        t.line in value_lines and t.cell.col in value_cols.get(doc.lines[t.line].table, ()))]


def _suffixes(labels: list[Token]) -> list[str]:
    """The label run's last cell, last two, ...: a row label sits at the end, after headers and parents."""
    out: list[str] = []
    text = ""
    for tok in reversed(labels):
        if out and len(text) + len(tok.text) > MAX_LABEL_CHARS:
            break
        text = tok.text + text
        out.append(text)
    return out


class Assembler:
    def __init__(self, classifier: LabelClassifier):
        self.classifier = classifier
        self.title_matcher = FuzzyLabelMatcher()

    def run(self, doc: Document, template: Template) -> Extraction:
        ex = Extraction(template=template)
        tokens = _value_blanks_only(doc, [t for i, line in enumerate(doc.lines) for c in line.cells
                                          for t in tokenize(c, i)])
        targets = targets_for(template)
        titles = self._titles(tokens, template, targets)
        events = _events(tokens, titles)
        row_targets = [t for t in targets if t.kind == "row" and template.sections[t.section].layout == "rows"]
        self._assign(events, template, row_targets, ex)
        return ex

    # -- section titles ---------------------------------------------------------------------------------------
    def _titles(self, tokens: list[Token], template: Template, targets: list[LabelTarget]) -> dict[int, str | None]:
        title_targets = [t for t in targets if t.kind == "title"]
        ends = [LabelTarget(template.id, "", "title", "", (e,)) for e in END_TITLES]
        idx = [i for i, t in enumerate(tokens) if t.kind == "label" and 4 <= len(t.text) <= 40]
        if not idx:
            return {}
        # Section headings are long printed lines: the cheap fuzzy matcher reads them as well as any model.
        scores = self.title_matcher.scores([tokens[i].text for i in idx], title_targets + ends)
        found: dict[int, str | None] = {}
        for i, row in zip(idx, scores):
            best = max(range(len(row)), key=row.__getitem__)
            if row[best] >= TITLE_ACCEPT:
                found[i] = title_targets[best].section if best < len(title_targets) else None
        return found

    # -- rows -------------------------------------------------------------------------------------------------
    def _assign(self, events: list[_Event], template: Template, row_targets: list[LabelTarget], ex: Extraction):
        # Score every suffix of every label run in one batch (the classifier may be a neural model).
        suffixes = [_suffixes(ev.labels) for ev in events]
        flat = [s for group in suffixes for s in group]
        flat_scores = self.classifier.scores(flat, row_targets) if flat else []
        pos = 0
        last: dict[str, int] = {}
        wide_cursor: dict[str, int] = {}
        section_of_last: str | None = None
        unplaced: list[_Event] = []  # numbers whose label matched no row, since the last row placed
        for ev, group in zip(events, suffixes):
            scores = flat_scores[pos: pos + len(group)]
            pos += len(group)
            section = ev.section or section_of_last
            if section and template.sections[section].layout == "wide":
                self._fill_wide(ev, template.sections[section], wide_cursor, ex)
                continue
            choice = self._choose(ev, section, scores, group, row_targets, template, last, ex)
            if choice is None:
                if any(n.kind == "number" for n in ev.numbers) and section:
                    unplaced.append(ev)
                continue
            target, label, score, how = choice
            section_of_last = target.section
            sec = template.sections[target.section]
            self._place_between(unplaced, sec, last.get(sec.key, -1), sec.row_keys().index(target.key), last, ex)
            unplaced = []
            self._fill_rows(ev.numbers, sec, target.key, label, score, how, last, ex)
        for ev in unplaced:
            self._warn_unplaced(ev, ex)

    def _place_between(self, unplaced: list[_Event], section: Section, before: int, after: int,
                       last: dict[str, int], ex: Extraction):
        """Rows whose labels could not be read, between two rows that could: when exactly as many rows are missing
        in the template's order, each takes its place."""
        missing = [section.rows[i] for i in range(before + 1, after)]
        fits = len(missing) == len(unplaced) and all(
            (section.key, r.key) not in ex.rows and len([n for n in ev.numbers if n.kind != "blank"]) > 0
            and len(ev.numbers) == len(r.columns) for r, ev in zip(missing, unplaced))
        if not fits:
            for ev in unplaced:
                self._warn_unplaced(ev, ex)
            return
        for r, ev in zip(missing, unplaced):
            label = "".join(t.text for t in ev.labels)[-40:]
            ex.warnings.append(f"row {section.key}.{r.key}: label '{label}' unreadable; placed by the rows around it")
            self._fill_rows(ev.numbers, section, r.key, f"row {r.key} by neighbours", 0.0, "order", last, ex)

    @staticmethod
    def _warn_unplaced(ev: _Event, ex: Extraction):
        ex.warnings.append(f"numbers {' '.join(n.text for n in ev.numbers)[:60]} after "
                           f"'{''.join(t.text for t in ev.labels)[-30:]}' match no row; ignored")

    def _choose(self, ev, section, scores, texts, row_targets, template, last, ex):
        if not ev.labels:
            return None
        order = {s: template.sections[s].row_keys() for s in template.sections}
        best = None
        sections = list(template.sections)
        for k, row in enumerate(scores):
            for j, target in enumerate(row_targets):
                # A missed section title must not strand the rows after it: later sections compete, at a cost.
                if section and sections.index(target.section) < sections.index(section):
                    continue
                keys = order[target.section]
                idx = keys.index(target.key)
                s = row[j]
                expected = last.get(target.section, -1) + 1
                adj = s + (0.08 if idx == expected else 0)
                # Skipping rows needs a clear label: a glued header ("总计" + "本年新") must not jump ahead.
                adj -= min(0.15, 0.02 * max(0, idx - expected))
                adj -= 0.2 if (target.section, target.key) in ex.rows else 0
                adj -= 0.1 if section and target.section != section else 0
                cand = (adj, -k, s, j, texts[k])
                if best is None or cand[:2] > best[:2]:
                    best = cand
        if best is None:
            return None
        adj, _, s, j, text = best
        if s >= ACCEPT and adj >= ACCEPT:
            return row_targets[j], text, s, "label"
        # An unreadable label: the row the template order expects next, if the text is at least a little like it.
        if section and ev.numbers:
            keys = order[section]
            nxt = last.get(section, -1) + 1
            if nxt < len(keys):
                j = next(i for i, t in enumerate(row_targets) if t.section == section and t.key == keys[nxt])
                s_next = max(row[j] for row in scores)
                if s_next >= ORDER_ACCEPT:
                    return row_targets[j], text, s_next, "order"
        return None

    def _fill_rows(self, numbers: list[Token], section: Section, key: str, label: str, score: float, how: str,
                   last: dict[str, int], ex: Extraction):
        keys = section.row_keys()
        idx = keys.index(key)
        remaining = list(numbers)
        solid = [t for t in numbers if t.kind != "blank"]
        if len(numbers) > len(section.rows[idx].columns) == len(solid) and len({t.line for t in numbers}) == 1:
            # One printed row with more cells than the row has columns, and exactly its columns' worth besides the
            # blanks: the blanks are a column of another group of the table (二's groups differ in columns).
            remaining = solid
        while remaining and idx < len(keys):
            spec = section.rows[idx]
            n = len(spec.columns)
            take = remaining[:n]
            remaining = remaining[n:]
            if (section.key, spec.key) in ex.rows:
                ex.warnings.append(f"row {section.key}.{spec.key} printed twice; the later reading is kept")
            ex.rows[(section.key, spec.key)] = RowEvidence(label, score, how)
            last[section.key] = idx
            if how == "order" and not label.startswith("row "):
                ex.warnings.append(f"row {section.key}.{spec.key}: label '{label[-40:]}' unreadable; placed by order")
            self._fill_row(take, section, spec.key, score, how, ex)
            if not remaining:
                break
            # More numbers than columns: the next row's label was not read. Only whole rows are taken by order.
            idx += 1
            if idx < len(keys) and len(remaining) >= len(section.rows[idx].columns) \
                    and (section.key, keys[idx]) not in ex.rows:
                label, score, how = f"row {keys[idx]} by order", 0.0, "order"
                ex.warnings.append(f"row {section.key}.{keys[idx]} has no readable label; assigned by order")
                continue
            ex.warnings.append(f"extra numbers after row {section.key}.{spec.key} ignored: "
                               f"{' '.join(t.text for t in remaining)[:60]}")
            break

    def _fill_row(self, toks: list[Token], section: Section, row: str, score: float, how: str, ex: Extraction):
        cols = section.row(row).columns
        if len(toks) < len(cols):
            try:
                split = self._split_run_together(toks, section, [(row, c) for c in cols], ex.template.rules)
            except AmbiguousSplit as e:
                ex.issues.append({"rule": "assembly.ambiguous_digits", "message": f"{section.key}.{row}: {e}",
                                  "cells": [f"{section.key}.{row}.{c}" for c in cols]})
                for c in cols:
                    ex.values[(section.key, row, c)] = Reading(None, "".join(t.text for t in toks),
                                                               toks[0].cell.box, 0.0, "read", str(e))
                return
            if split is not None:
                for col, r in zip(cols, split):
                    ex.values[(section.key, row, col)] = r
                return
            # Fewer cells than columns: the arithmetic places them later (validate.fill_gaps).
            slots = [(row, c) for c in cols]
            ex.partial[(section.key, row)] = (slots, [_reading(t, section, c) for t, c in zip(toks, cols)])
            return
        for col, tok in zip(cols, toks):
            r = _reading(tok, section, col)
            r.confidence *= min(1.0, 0.5 + score)
            if how == "order" and r.how == "read":
                r.how = "order"
            ex.values[(section.key, row, col)] = r

    def _split_run_together(self, toks: list[Token], section: Section, slots: list[tuple[str, str]], rules):
        """Digits of several cells printed together ("规章000"): cut them by the column count, and where several
        cuts are possible, by the row rules of the template; None unless exactly one cut remains."""
        texts = [t.text for t in toks]
        options = _digit_splits(texts, len(slots))
        if not options:
            return None
        for rule in rules:
            if rule.section != section.key or rule.across != "columns":
                continue
            for row in dict.fromkeys(r for r, _ in slots):
                idx = {c: i for i, (r, c) in enumerate(slots) if r == row}
                if all(c in idx for c in rule.left + rule.right):
                    options = [o for o in options if sum(int(o[idx[c]]) for c in rule.left)
                               == sum(int(o[idx[c]]) for c in rule.right)]
        distinct = {tuple(o) for o in options}
        if len(distinct) > 1:
            cuts = ", ".join("/".join(o) for o in sorted(distinct)[:3])
            raise AmbiguousSplit(f"run-together digits '{''.join(texts)}' can be cut {len(distinct)} ways "
                                 f"({cuts}{', ...' if len(distinct) > 3 else ''}); left null")
        if not distinct:
            return None
        cell = toks[0].cell
        return [Reading(int(p), p, cell.box, cell.confidence * 0.9, "split",
                        f"run-together digits '{''.join(texts)}' split by the column count") for p in distinct.pop()]

    def _fill_wide(self, ev: _Event, section: Section, cursor: dict[str, int], ex: Extraction):
        """Every group of the section in one printed row: numbers fill group after group."""
        slots = [(r.key, c) for r in section.rows for c in r.columns]
        start = cursor.get(section.key, 0)
        numbers = ev.numbers
        if start == 0 and len(numbers) < len(slots):
            try:
                split = self._split_run_together(numbers, section, slots, ex.template.rules)
            except AmbiguousSplit:
                split = None
            if split is not None:
                for (row, col), r in zip(slots, split):
                    ex.values[(section.key, row, col)] = r
                cursor[section.key] = len(slots)
                return
            ex.partial[(section.key, None)] = (slots, [_reading(t, section, c) for (_, c), t in zip(slots, numbers)])
            cursor[section.key] = len(numbers)
            return
        for (row, col), tok in zip(slots[start:], numbers):
            ex.values[(section.key, row, col)] = _reading(tok, section, col)
            ex.rows.setdefault((section.key, row), RowEvidence("".join(t.text for t in ev.labels)[-40:], 1.0, "label"))
        cursor[section.key] = start + len(numbers)
