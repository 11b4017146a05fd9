"""Document lines -> the decoder's evidence, for every input kind.

The lines become a stream of tokens: label text, numbers, blanks. Each run of numbers belongs to the row named by the
label run before it (its last cells: headers and parent labels come first). The label classifier names the row; the
template's row order decides when a label is unreadable. Each run becomes a Span over its row's cells; how the numbers
fill those cells (run-together digits, blanks, lost cells, OCR alternatives) is decided by service.decode.
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field, replace

from service.document import Box, Document
from service.labels import FuzzyLabelMatcher, LabelClassifier, LabelTarget, targets_for
from service.template import Section, Template
from service.values import Token, tokenize

MAX_LABEL_CELLS = 24  # a label split one character per line spans many cells
MAX_LABEL_CHARS = 60  # the longest printed row label has 45 characters
MAX_RUN_CELLS = 6  # a label wrapped over at most this many lines
ACCEPT = 0.55  # label score that names a row on its own
ORDER_ACCEPT = 0.25  # lower score accepted for the row the template order expects next
TIE = 0.02  # label scores this close name either row
TITLE_ACCEPT = 0.8
MAX_TITLE_CHARS = 40
MAX_UNREAD_CHARS = 3  # a misread number cell; a label is longer
# Numbers on a line read whole (no grid cells) that make it a table's one row of values, where a glyph among them
# is a number misread: the review table prints ten or more. Not a row of the requests table (seven numbers, its
# label in pieces): on a fax whole-page reading its zeros read "a", and taken as unread values they let a wrong
# reading balance (real-layout fax 188 -> 177 fields with four).
ROW_NUMBERS = 10
LABEL_COST = 60  # placing a run of numbers on a row, per unit of label score below 1
OUT_OF_ORDER = 30  # placing it on a row outside the printed order of the rows around it
# A row's worth of numbers the row order leaves no room for, against an anchor's weight (1 for a clear label): three
# such runs outweigh one label (a garbled label read as the row after them, real-layout copier scan).
STRANDED = 0.4
TITLE_PREFIXES = (14, 20, 26)  # lengths of a long cell's head compared with the titles
_DASHES = re.compile(r"^:?-{3,}:?$")
_ENUM_DOT = re.compile(r"^[.．、][\u4e00-\u9fff]")
END_TITLES = ("五、存在的主要问题及改进情况", "六、其他需要报告的事项")


@dataclass
class Reading:
    """One value as read, with where it came from."""
    value: float | int | None
    raw: str = ""
    box: Box | None = None
    confidence: float = 1.0
    how: str = "read"  # read | blank | arithmetic | order | split | repaired | prose | prior
    note: str | None = None


@dataclass
class Place:
    """Cells (row, column) a span may fill, and what putting it there costs (an unlike label)."""
    slots: list[tuple[str, str]]
    cost: int = 0
    label: str = ""


@dataclass
class Span:
    """A run of number tokens and the template cells (row, column) it fills, in printed order. The decoder decides
    how the tokens map onto the cells: one per cell, digits cut, blanks, cells the dump lost; and, for a span whose
    row the labels and the printed order leave open, which of its `places` it fills, or none."""
    section: str
    slots: list[tuple[str, str]]
    tokens: list[Token]
    confidence: float = 1.0  # how sure the row assignment is
    how: str = "read"  # read | order
    places: list[Place] | None = None  # None: `slots` only
    optional: bool = False  # may be left out (numbers that fit no row)
    scores: dict[str, float] = field(default_factory=dict)  # row key -> label score, for placing it
    group: tuple | None = None  # spans of one group keep their printed order among themselves
    label: str = ""  # the label text printed before it, for the warnings

    def candidates(self) -> list[Place]:
        return self.places if self.places is not None else [Place(self.slots)]


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
    # The evidence for the decoder: each run of numbers with the cells it was assigned to.
    spans: list[Span] = field(default_factory=list)
    # The decoder's objective for this reading (lower is better), comparable between readings of one document.
    cost: float = 0.0
    decode_seconds: float = 0.0
    repairs: list[dict] = field(default_factory=list)  # OCR readings replaced by an alternative the rules chose

    def current_values(self) -> dict[tuple[str, str, str], float | int | None]:
        return {k: r.value for k, r in self.values.items()}

    def value(self, section: str, row: str, col: str) -> float | int | None:
        r = self.values.get((section, row, col))
        return None if r is None else r.value


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
                # A title with more text glued after it (a table printed on one line) also ends in a row label.
                section, labels = titles[i], [t] if len(t.text) > MAX_TITLE_CHARS else []
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


def _rule_line(line) -> bool:
    """A markdown table's |---|---| line: layout, not cells printed as not applicable."""
    return len(line.cells) > 1 and all(_DASHES.match(c.text.strip()) for c in line.cells)


def _has_row_lines(events: list[_Event]) -> bool:
    """Some printed line holds a label and several numbers: the table prints its rows as lines."""
    return sum(1 for ev in events if ev.labels and ev.numbers and ev.labels[-1].line == ev.numbers[0].line
               and len(ev.numbers) >= 2) >= 3


def _stacked(ev: _Event, section: Section) -> bool:
    widths = {len(r.columns) for r in section.rows}
    numbers = [t for t in ev.numbers if t.kind != "blank"]
    return (section.layout == "rows" and len(widths) == 1 and len(numbers) >= 2 * min(widths)
            and len({t.line for t in numbers}) == 1)


def _torn(ev: _Event, doc: Document) -> bool:
    first = ev.numbers[0].line
    return bool(ev.labels) and ev.labels[-1].line != first and len(ev.numbers) >= 2 and all(
        tokenize(c, first)[0].kind != "label" for c in doc.lines[first].cells if c.text.strip())


def _enumerators_back(tokens: list[Token]) -> list[Token]:
    """Cells run together: "...属于国家秘密0000000" + "2.其他法律..." comes out as number "00000002" and label
    ".其他法律...". A digit right before a label that starts with its enumerator's dot is that enumerator."""
    out = list(tokens)
    for i in range(len(out) - 1):
        num, label = out[i], out[i + 1]
        if (num.kind == "number" and label.kind == "label" and num.line == label.line and num.text.isdigit()
                and _ENUM_DOT.match(label.text)):
            out[i] = replace(num, text=num.text[:-1], kind="number" if len(num.text) > 1 else "gone")
            out[i + 1] = replace(label, text=num.text[-1] + label.text)
    return [t for t in out if t.kind != "gone"]


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
    # One cell per line: a lone blank cell is a cell; whether it is a row's value is for the label before it to say
    # (blanks after a header or a caption name no row, and blanks alone are never placed by order). The text
    # readers emit blanks only at value positions.
    return [t for t in tokens if t.kind != "blank" or doc.method == "text" or len(doc.lines[t.line].cells) == 1 or (
        t.line in value_lines and t.cell.col in value_cols.get(doc.lines[t.line].table, ()))]


def _unread_values(doc: Document, tokens: list[Token]) -> list[Token]:
    """A few characters of text among a scanned row's numbers (numbers before it, no label after it in the line)
    are a number the recogniser misread ("章" for 1): a cell whose value is unknown, not a label that parts the row.
    On a line read whole (no grid cells), only between numbers on a line of many: prose has dates ("2024年3月")."""
    lines: dict[int, list[int]] = {}
    for i, t in enumerate(tokens):
        lines.setdefault(t.line, []).append(i)
    out = list(tokens)
    for at in lines.values():
        line = [tokens[i] for i in at]
        numbers = sum(u.kind == "number" for u in line)
        for k, (i, t) in enumerate(zip(at, line)):
            in_row = t.cell.col is not None or (numbers >= ROW_NUMBERS
                                                and any(u.kind == "number" for u in line[k + 1:]))
            if (t.kind == "label" and len(t.text.strip()) <= MAX_UNREAD_CHARS and k and in_row
                    and line[k - 1].kind != "label" and all(
                        u.kind != "label" or len(u.text.strip()) <= MAX_UNREAD_CHARS for u in line[k + 1:])):
                # A speck or a stroke read as punctuation is an empty cell; a glyph is a digit misread.
                out[i] = replace(t, kind="unread" if any(ch.isalnum() for ch in t.text) else "blank")
    return out


def _suffixes(labels: list[Token], heads: frozenset[str] = frozenset()) -> list[str]:
    """The label run's last cell, last two, ...: a row label sits at the end, after headers and parents. A long
    last cell (headers and label run together) also gives its tails that start like a row label of the template."""
    out: list[str] = []
    text = ""
    for tok in reversed(labels):
        if out and len(text) + len(tok.text) > MAX_LABEL_CHARS:
            break
        text = tok.text + text
        out.append(text)
    if labels and len(labels[-1].text) > MAX_LABEL_CHARS // 3:
        last = labels[-1].text
        out += [last[i:] for i in range(1, len(last) - 1) if last[i:i + 2] in heads]
    return out


class Assembler:
    def __init__(self, classifier: LabelClassifier):
        self.classifier = classifier
        self.title_matcher = FuzzyLabelMatcher()

    def run(self, doc: Document, template: Template) -> Extraction:
        ex = Extraction(template=template)
        self._pending: list[tuple[_Event, str, tuple[int | None, str | None]]] = []
        tokens = _value_blanks_only(doc, _enumerators_back([t for i, line in enumerate(doc.lines) if not _rule_line(line)
                                                            for c in line.cells for t in tokenize(c, i)]))
        if doc.method == "ocr":
            tokens = _unread_values(doc, tokens)
        targets = targets_for(template)
        titles = self._titles(tokens, template, targets)
        events = _events(tokens, titles)
        row_targets = [t for t in targets if t.kind == "row" and template.sections[t.section].layout == "rows"]
        self._assign(events, template, row_targets, ex, doc)
        return ex

    # -- section titles ---------------------------------------------------------------------------------------
    def _titles(self, tokens: list[Token], template: Template, targets: list[LabelTarget]) -> dict[int, str | None]:
        title_targets = [t for t in targets if t.kind == "title"]
        ends = [LabelTarget(template.id, "", "title", "", (e,)) for e in END_TITLES]
        idx = [i for i, t in enumerate(tokens) if t.kind == "label" and 4 <= len(t.text) <= MAX_TITLE_CHARS]
        # A table printed on one line: the title starts a longer cell.
        idx += [i for i, t in enumerate(tokens) if t.kind == "label" and len(t.text) > MAX_TITLE_CHARS
                for _ in TITLE_PREFIXES]
        texts = [tokens[i].text if len(tokens[i].text) <= MAX_TITLE_CHARS else tokens[i].text[:n]
                 for i, n in zip(idx, itertools.cycle(TITLE_PREFIXES))]
        if not idx:
            return {}
        # Section headings are long printed lines: the cheap fuzzy matcher reads them as well as any model.
        scores = self.title_matcher.scores(texts, title_targets + ends)
        found: dict[int, str | None] = {}
        for i, row in zip(idx, scores):
            if i in found:
                continue
            best = max(range(len(row)), key=row.__getitem__)
            if row[best] >= TITLE_ACCEPT:
                found[i] = title_targets[best].section if best < len(title_targets) else None
        return found

    # -- rows -------------------------------------------------------------------------------------------------
    def _assign(self, events: list[_Event], template: Template, row_targets: list[LabelTarget], ex: Extraction,
                doc: Document):
        row_lines = _has_row_lines(events)
        # A scan whose tables the cell grid read: numbers in its prose ("2024年，共收到政府信息公开申请365件") are no
        # table row; a sentence taken for one set the section for the table rows after it.
        gridded = doc.method == "ocr" and any(c.row is not None for line in doc.lines for c in line.cells)
        # Score every suffix of every label run in one batch (the classifier may be a neural model).
        heads = frozenset(label[:2] for t in row_targets for label in t.labels if len(label) >= 2)
        suffixes = [_suffixes(ev.labels, heads) for ev in events]
        flat = [s for group in suffixes for s in group]
        flat_scores = self.classifier.scores(flat, row_targets) if flat else []
        pos = 0
        last: dict[str, int] = {}
        wide_cursor: dict[str, int] = {}
        section_of_last: str | None = None
        # (printed table, section of the headings above it) -> the sections its rows' labels placed them in: the
        # section of the table's rows no label places (a misread heading leaves the section before it in force; a
        # grid run across two tables has the heading between them inside it)
        went: dict[tuple[int | None, str | None], set[str]] = {}
        for ev, group in zip(events, suffixes):
            scores = flat_scores[pos: pos + len(group)]
            pos += len(group)
            section = ev.section or section_of_last
            if section and template.sections[section].layout == "wide":
                self._fill_wide(ev, template.sections[section], wide_cursor, ex)
                continue
            choice = self._choose(ev, section, scores, group, row_targets, template, last, ex)
            where = (doc.lines[ev.numbers[0].line].table, ev.section) if ev.numbers else (None, None)
            known = _one(went.get(where))
            if known and known != section and (choice is None or choice[3] == "order"):
                # No label read: the section of the rows of its printed table whose labels were read
                section = known
                choice = self._choose(ev, section, scores, group, row_targets, template, last, ex)
            row_scores = {t.key: max((row[j] for row in scores), default=0.0)
                          for j, t in enumerate(row_targets) if t.section == (choice[0].section if choice else section)}
            if choice is not None and _stacked(ev, template.sections[choice[0].section]):
                # Several rows' numbers on one printed line after one label run (rows merged by the reader): the
                # labels in the run and the printed order place each row's worth, not the last label alone.
                choice = None
            if choice is not None and choice[3] == "label" and _tied(row_scores, choice[0].key):
                # The label fits another row as well (two rows ending in the same words, their heads unread): the
                # printed order and the arithmetic choose between them.
                choice = None
            if choice is not None and row_lines and _torn(ev, doc):
                # A label on lines of its own, above a row of bare numbers, in a table whose rows print their
                # labels beside their numbers: a label torn from its row, evidence for the decoder, not a verdict.
                choice = None
            if choice is not None and gridded and ev.numbers and all(doc.lines[n.line].table is None
                                                                     for n in ev.numbers):
                choice = None  # placed, if at all, by the printed order and the arithmetic
            if choice is None:
                if any(n.kind == "number" for n in ev.numbers) and section:
                    self._pending.append((ev, section, where))
                continue
            target, label, score, how = choice
            section_of_last = target.section
            if how == "label" and where[0] is not None:
                went.setdefault(where, set()).add(target.section)
            sec = template.sections[target.section]
            first = len(ex.spans)
            self._fill_rows(ev.numbers, sec, target.key, label, score, how, last, ex)
            if len(ex.spans) > first:
                ex.spans[first].scores = row_scores
        # Numbers no label placed: free spans, placed by the printed order among the rows around them.
        for ev, section, where in self._pending:
            section = _one(went.get(where)) or section
            row_scores = self._run_scores(ev, section, row_targets)
            ex.spans.insert(self._position(ex, ev), Span(section, [], ev.numbers, 0.5, "order", places=[],
                                                         optional=True, scores=row_scores,
                                                         label="".join(t.text for t in ev.labels)[-40:]))
        _order_rows(ex)

    def _run_scores(self, ev: _Event, section: str, row_targets: list[LabelTarget]) -> dict[str, float]:
        """Row key -> best score over every run of the label cells: labels torn from their rows pile up, several
        rows' labels in one run, so any run may name a row, not only its end."""
        targets = [t for t in row_targets if t.section == section]
        cells = [t.text for t in ev.labels[-MAX_LABEL_CELLS:]]
        runs = list(dict.fromkeys("".join(cells[i:j]) for i in range(len(cells))
                                  for j in range(i + 1, min(len(cells), i + MAX_RUN_CELLS) + 1)
                                  if len("".join(cells[i:j])) <= MAX_LABEL_CHARS))
        if not runs or not targets:
            return {}
        scores = self.classifier.scores(runs, targets)
        return {t.key: max(row[j] for row in scores) for j, t in enumerate(targets)}

    @staticmethod
    def _position(ex: Extraction, ev: _Event) -> int:
        """Where the event's span goes among the spans, in printed order."""
        line = ev.numbers[0].line
        return next((i for i, s in enumerate(ex.spans) if s.tokens and s.tokens[0].line > line), len(ex.spans))

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
        if section and any(n.kind == "number" for n in ev.numbers):
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
        """Whole rows by the column count where a run holds more numbers than its row has columns (the labels of the
        rows after it were not read); the rest is one span for the decoder to place, cut or complete."""
        keys = section.row_keys()
        idx = keys.index(key)
        remaining = list(numbers)
        solid = [t for t in numbers if t.kind != "blank"]
        if len(numbers) > len(section.rows[idx].columns) == len(solid) and len({t.line for t in numbers}) == 1:
            # One printed row with more cells than the row has columns, and exactly its columns' worth besides the
            # blanks: the blanks are a column of another group of the table (二's groups differ in columns).
            remaining = solid
        one_line = len({t.line for t in remaining}) == 1
        while remaining and idx < len(keys):
            spec = section.rows[idx]
            n = len(spec.columns)
            # One printed line is one row: more numbers than columns there are cell borders gone wrong (a number
            # broken over two cells), for the decoder to read, not the next row.
            take = remaining if len(remaining) <= n or (one_line and len(remaining) < 2 * n) else remaining[:n]
            remaining = remaining[len(take):]
            if (section.key, spec.key) in ex.rows:
                ex.warnings.append(f"row {section.key}.{spec.key} printed twice; the later reading is kept")
                ex.spans = [s for s in ex.spans if not s.slots or (s.section, s.slots[0][0]) != (section.key, spec.key)]
            ex.rows[(section.key, spec.key)] = RowEvidence(label, score, how)
            last[section.key] = idx
            if how == "order" and not label.startswith("row "):
                ex.warnings.append(f"row {section.key}.{spec.key}: label '{label[-40:]}' unreadable; placed by order")
            ex.spans.append(Span(section.key, [(spec.key, c) for c in spec.columns], take, min(1.0, 0.5 + score),
                                 "order" if how == "order" else "read", label=label[-40:]))
            if not remaining:
                break
            # More numbers than columns: the next row's label was not read. Only whole rows are taken by order.
            idx += 1
            if idx < len(keys) and len(remaining) >= len(section.rows[idx].columns) \
                    and (section.key, keys[idx]) not in ex.rows:
                label, score, how = f"row {keys[idx]} by order", 0.0, "order"
                ex.warnings.append(f"row {section.key}.{keys[idx]} has no readable label; assigned by order")
                continue
            # The rest: numbers whose label was not read, placed by the decoder among the rows around them.
            if any(t.kind == "number" for t in remaining):
                ex.spans.append(Span(section.key, [], remaining, 0.5, "order", places=[], optional=True))
            break

    def _fill_wide(self, ev: _Event, section: Section, cursor: dict[str, int], ex: Extraction):
        """Every group of the section in one printed row: numbers fill group after group; a first run with fewer
        numbers than cells is one span for the decoder (cells run together, or blanks the dump lost)."""
        slots = [(r.key, c) for r in section.rows for c in r.columns]
        start = cursor.get(section.key, 0)
        numbers = ev.numbers
        if start >= len(slots) or not numbers:
            return
        if all(t.kind != "number" for t in numbers) and len(numbers) < len(slots):
            return  # a dash or blank among the headers ("尚未审结" read as "–"), not the row of numbers
        whole = _full_line(numbers, len(slots))
        if whole is not None:
            # One printed line with a value for every cell is the row itself, wherever the cursor stood: digits in
            # the headers of a scan ("英想656") or stray lines beside the table had moved it on.
            start, numbers = 0, whole
        span = slots[start:] if start == 0 and len(numbers) < len(slots) else slots[start: start + len(numbers)]
        ex.spans.append(Span(section.key, span, numbers[: len(span)], 1.0, "read"))
        for row in dict.fromkeys(r for r, _ in span):
            ex.rows.setdefault((section.key, row), RowEvidence("".join(t.text for t in ev.labels)[-40:], 1.0, "label"))
        # A first run shorter than the section takes all its cells, yet a later run continues after its numbers
        # (the decoder keeps the later of two runs over the same cells).
        cursor[section.key] = start + min(len(span), len(numbers))


def _full_line(tokens: list[Token], width: int) -> list[Token] | None:
    """The tokens of the one printed line that holds exactly `width` of them, some read as numbers."""
    rows = [ts for ts in _by_line(tokens) if len(ts) == width and sum(t.kind == "number" for t in ts) * 2 > width]
    return rows[0] if len(rows) == 1 else None


def _tied(scores: dict[str, float], key: str) -> bool:
    """Another row scores as high as the chosen one."""
    return any(k != key and v >= scores.get(key, 0.0) - TIE for k, v in scores.items())


def _by_line(tokens: list[Token]) -> list[list[Token]]:
    """The tokens grouped by printed line, lines in order of first appearance."""
    lines: dict[int, list[Token]] = {}
    for t in tokens:
        lines.setdefault(t.line, []).append(t)
    return list(lines.values())


def _rows_of(tokens: list[Token], width: int) -> list[list[Token]]:
    """A run of several rows' numbers, one chunk per row: by printed line, else by the column count."""
    lines = _by_line(tokens)
    if len(lines) > 1 and all(len(ts) <= width + 1 for ts in lines):
        return lines
    if len(tokens) % width == 0:
        return [tokens[i: i + width] for i in range(0, len(tokens), width)]
    return [tokens]


def _one(sections: set[str] | None) -> str | None:
    return next(iter(sections)) if sections and len(sections) == 1 else None


def _anchors(items: list[tuple[int | None, float, bool]], n_rows: int) -> set[int]:
    """Indices of the heaviest chain of items printed in the template's row order. An item is (row index, or None
    for a run no label placed; weight; whether it holds a row's worth of numbers). Each row's worth left between two
    anchors with no row free between them costs the chain STRANDED: the decoder places a run only between its
    anchors, so a garbled label read as the row after a page of unread ones would leave their numbers out. An item
    out of the chain is placed again by the decoder, its label still weighing there."""
    ends = [i for i, (r, _, _) in enumerate(items) if r is not None] + [len(items)]
    row = {i: r for i, (r, _, _) in enumerate(items) if r is not None} | {-1: -1, len(items): n_rows}
    full = [0]  # full[k]: the row's worths among the first k items
    for _, _, whole in items:
        full.append(full[-1] + whole)

    def stranded(i: int, j: int) -> float:
        return STRANDED * max(0, full[j] - full[i + 1] - (row[j] - row[i] - 1))

    best: dict[int, tuple[float, int]] = {-1: (0.0, -2)}  # item -> (weight of the best chain ending there, previous)
    for j in ends:
        weight = items[j][1] if j < len(items) else 0.0
        best[j] = max((best[i][0] + weight - stranded(i, j), i) for i in best if row[i] < row[j])
    out, i = set(), best[len(items)][1]
    while i >= 0:
        out.add(i)
        i = best[i][1]
    return out


def _order_rows(ex: Extraction) -> None:
    """The template's row order is a prior, not a law: rows whose labels were read in printed order anchor the
    table; every other run of numbers (no readable label, or a label out of that order, such as a label torn from
    its row) may take any row between its anchors, at a cost for an unlike label, or none. The decoder chooses,
    with the arithmetic."""
    for section in ex.template.sections.values():
        if section.layout != "rows":
            continue
        keys = section.row_keys()
        widths = {len(r.columns) for r in section.rows}
        if len(widths) == 1:
            # A free run of several rows' numbers (their labels torn off): one span per row's worth.
            width = widths.pop()
            spans = []
            for s in ex.spans:
                if s.section == section.key and s.places is not None and len(s.tokens) > width:
                    spans += [replace(s, tokens=chunk) for chunk in _rows_of(s.tokens, width)]
                else:
                    spans.append(s)
            ex.spans = spans
        seq = [s for s in ex.spans if s.section == section.key]
        widest = max(len(r.columns) for r in section.rows)
        items = [(keys.index(s.slots[0][0]) if s.places is None else None, s.confidence,
                  sum(t.kind == "number" for t in s.tokens) >= widest) for s in seq]
        anchor_at = {i: items[i][0] for i in _anchors(items, len(keys))}
        group = 0
        for i, s in enumerate(seq):
            if i in anchor_at:
                group += 1
                continue
            before = max((r for j, r in anchor_at.items() if j < i), default=-1)
            after = min((r for j, r in anchor_at.items() if j > i), default=len(keys))
            if s.places is None:
                row = s.slots[0][0]
                ex.warnings.append(f"row {section.key}.{row}: its label is out of the printed order; placed again")
                ex.rows.pop((section.key, row), None)
            # Rows between its anchors; a row elsewhere that no anchor holds only for a clear label, at a cost:
            # real tables do print a group out of the template's order.
            anchored = set(anchor_at.values())
            s.places = [Place([(k, c) for c in section.rows[r].columns],
                              round(LABEL_COST * (1 - min(1.0, s.scores.get(k, 0.0))))
                              + (0 if before < r < after else OUT_OF_ORDER), section.rows[r].label)
                        for r, k in enumerate(keys) if before < r < after
                        or (r not in anchored and s.scores.get(k, 0.0) >= ACCEPT)]
            s.slots, s.optional, s.how, s.group = [], True, "order", (section.key, group)
