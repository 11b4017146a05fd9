"""The readings of one span: every way its tokens can fill the cells of a place.

As printed, one number per cell; run-together digits cut every possible way (checked against the rules within the
row as they are made); blanks that may be 0; cells a text dump lost; a recogniser's alternative readings of an OCR'd
cell; a stray number beside the row; a row's digit stream cut afresh where its cell borders are wrong. Each reading
has a cost; service.decode chooses among them with the arithmetic.
"""
from __future__ import annotations

import itertools
import math
import re
import unicodedata
from dataclasses import dataclass

from service.assemble import ACCEPT, Place, Span
from service.validate import Equation
from service.values import Token, parse_number

MAX_DIGITS = 9  # no count in these tables runs to nine digits: longer is the digits of several merged cells
MAX_OPTIONS = 4000  # readings of one span; beyond this only the plain readings are kept
MAX_ALTERNATIVES = 2  # cells of one span read as a recogniser's alternative at once (three misread cells in one row
#                       that alternatives mend is rarer than the model it costs: 7 cells of 3 readings are 2187 combos)
# A row no label placed (a fax's unreadable labels: a dozen places) has one misread cell mended at a time: two at
# once, at each place, made a fax's model of 4,400 readings that the solver's time limit cut off.
FEW_PLACES = 3
MAX_BROKEN_CUTS = 50  # cuts kept when none satisfies the rules within its row
# Cuts of a span's run-together digits tried for one sharing of its cells among its tokens. Real run-together rows
# need at most a few dozen; a fax's whole review row read as one 31-digit string has some 10^8 ways into 15 cells
# (two minutes for one reading): digits of that many cells are not told apart by trying them all.
MAX_CUTS = 20_000

# Costs, in the decoder's units (a broken rule costs 1000): the plainer reading wins.
CUT = 20  # one run-together string cut into several cells
GAP = 30  # one cell the dump lost, valued by the arithmetic
DROP_BLANK = 40  # a blank that is no cell of this row (another group of the table)
ALT = 10  # per unit of log-probability an alternative OCR reading is below the best
ALT_MAX = 50  # an alternative 150 times less likely than the best reading is no reading worth a place in the model
LEFT_OUT = 150  # numbers that fit no row are left out
LEFT_OUT_NAMED = 5000  # ... numbers a label names: printed numbers are placed even where they break a rule
STRAY = 70  # a number beside a row that is none of its cells
REJOIN = 40  # a row's digits read as one stream, its cell borders ignored
LEADING_ZERO = 60  # a number printed with a leading zero read as it stands
UNSIGNED = 20  # a scanned number read without the minus the recogniser saw
OTHER = 30  # a number read as another reading of the page read it (a digit blurred in one is often clear in the other)
# A number the recogniser read unsurely may be valued by the rules instead: at a cost above any alternative's and far
# below a broken rule's, growing with the recogniser's confidence (the least sure cell of a broken rule gives way).
DOUBTFUL = 0.9
DOUBT = 400  # plus DOUBT_PER_CONFIDENCE times the confidence
DOUBT_PER_CONFIDENCE = 200
UPPER = 10 ** MAX_DIGITS


@dataclass(frozen=True)
class Piece:
    """What one reading puts into one cell."""
    kind: str  # read | split | repaired | na | blank | gap | doubt (a doubtful reading the rules value)
    value: float | int | None = None  # fixed value (read, split, repaired)
    token: Token | None = None
    note: str | None = None
    signed: bool = False  # printed with 增/减/+: a change column's value

    @property
    def free(self) -> bool:
        return self.kind in ("blank", "gap", "doubt")


@dataclass
class Option:
    pieces: tuple[Piece, ...]
    cost: int
    place: Place | None = None  # None: the span is left out


# -- readings of one span -------------------------------------------------------------------------------------------

def _number(text: str, tok: Token, kind: str = "read", note: str | None = None) -> Piece:
    value, unit_note = parse_number(text)
    if abs(value) >= UPPER:
        return Piece("na", None, tok, f"'{text}' is too long for one cell; left null")
    notes = "; ".join(n for n in (note, unit_note) if n) or None
    return Piece(kind, value, tok, notes, _SIGN.match(text) is not None)


def digit_cuts(s: str, parts: int):
    """Every way to cut a digit string into `parts` numbers without leading zeros."""
    if parts == 1:
        if s and (s == "0" or not s.startswith("0")):
            yield [s]
        return
    for i in range(1, len(s) - parts + 2):
        head = s[:i]
        if head != "0" and head.startswith("0"):
            break
        for rest in digit_cuts(s[i:], parts - 1):
            yield [head, *rest]


def _plain(tok: Token) -> list[tuple[tuple[Piece, ...], int]]:
    """The readings of one token without cutting it: as printed, or (OCR) one of the recogniser's alternatives."""
    if tok.kind == "blank":
        return [((Piece("blank", None, tok),), 0), ((), DROP_BLANK)]
    if tok.kind == "na":
        return [((Piece("na", None, tok, f"'{tok.text}' means not applicable"),), 0)]
    if tok.kind == "unread":  # a number cell the recogniser misread: its value is for the arithmetic to give
        return [((Piece("gap", None, tok, f"'{tok.text}' is no number"),), GAP)]
    if _cuttable(tok) and len(_TAIL.match(tok.text).group(2)) > MAX_DIGITS:
        return []  # ten digits and more: digits of several cells
    # "023" is no number as printed (digits of several cells, or a misread): read so only at a cost.
    odd = LEADING_ZERO if _cuttable(tok) and tok.text.startswith("0") and not tok.text.startswith("0.") else 0
    out = [((_number(tok.text, tok),), odd)]
    if tok.text[:1] in "-−" and tok.cell.confidence < 1:  # a recognised minus is as often a speck or a rule
        out.append(((_number(tok.text[1:], tok, "repaired", f"'{tok.text}' read without its sign"),), UNSIGNED))
    out += _other(tok)
    alts = tok.cell.alternatives
    if len(alts) > 1 and unicodedata.normalize("NFKC", tok.cell.text).strip() == tok.text:
        best = max(alts[0][1], 1e-9)
        for text, prob in alts[1:]:
            text = unicodedata.normalize("NFKC", text).strip()
            if text == tok.text or not text.replace(",", "").replace(".", "", 1).lstrip("-").isdigit():
                continue
            cost = max(1, round(ALT * math.log(best / max(prob, 1e-9))))
            if cost > ALT_MAX:
                continue
            out.append(((_number(text, tok, "repaired", f"recogniser's alternative to '{tok.text}' "
                                                         f"(p={prob:.2f})"),), cost))
    return out


def _other(tok: Token) -> list[tuple[tuple[Piece, ...], int]]:
    """The number another reading of the page read in the token's cell, where it differs."""
    other = tok.cell.other
    if other is None or other == tok.text or not tok.text.isdigit():
        return []
    return [((_number(other, tok, "repaired", f"'{tok.text}' read '{other}' by a whole-page reading"),), OTHER)]


# A sign, which belongs to the first cell only ("增98": +9 and 8); digits; what belongs to the last cell only.
_TAIL = re.compile(r"^([增减+\-−]?)(\d+)((?:\.\d+)?(?:万元|元)?)$")
_SIGN = re.compile(r"^[增减+]")


def _cuttable(tok: Token) -> bool:
    m = _TAIL.match(tok.text) if tok.kind == "number" else None
    return bool(m) and len(m.group(2)) > 1


def _cut_values(text: str, parts: int):
    """The numbers of every cut of a token into parts: a decimal or unit stays with the last."""
    sign, digits, tail = _TAIL.match(text).groups()
    for cut in digit_cuts(digits, parts):
        *head, last = cut
        if tail and last != "0" and last.startswith("0"):
            continue
        values = [int(p) for p in head] + [parse_number(last + tail)[0] if tail else int(last)]
        values[0] = -values[0] if sign in ("减", "-", "−") else values[0]
        yield tuple(values)


Inside = tuple[tuple[tuple[int, ...], tuple[int, ...]], ...]  # rules within one place, as cell positions


def _cuts(tokens: list[Token], m: int, inside: Inside):
    """Readings that cut run-together digit strings so that the tokens give exactly m cells: the extra cells are
    shared out among the cuttable tokens every possible way, then each token is cut every possible way. Cuts that
    break a rule within the place are dropped early (the common case has thousands of cuts and a handful that
    add up), unless no cut satisfies them: then a few are kept."""
    extra = m - len(tokens)
    if len(tokens) == 1 and tokens[0].text.isdigit() and ((tuple(range(m - 1)), (m - 1,)) in inside):
        # One string for a whole row whose last cell is the sum of the others: choose the total first, then cut
        # the rest into parts that add up to it (no part exceeds the total), instead of trying every cut.
        tok = tokens[0]
        found = False
        for values in _summed_cuts(tok.text, m):
            found = True
            note = f"run-together digits '{tok.text}' cut {'/'.join(map(str, values))}"
            yield tuple(Piece("split", v, tok, note) for v in values), CUT
        if found:
            return
    room = [len(t.text) - 1 if _cuttable(t) else 0 for t in tokens]
    kept, broken = 0, []
    for alloc in _shares(extra, room):
        if math.prod(math.comb(len(_TAIL.match(t.text).group(2)) - 1, k) for t, k in zip(tokens, alloc) if k) \
                > MAX_CUTS:
            continue
        per_token = []
        for tok, k in zip(tokens, alloc):
            if k == 0:
                plain = _plain(tok)[:1]
                per_token.append([(tuple(p.value for p in ps), ps) for ps, _ in plain])
                continue
            per_token.append([(values, tok) for values in _cut_values(tok.text, k + 1)])
        cost = CUT * sum(1 for k in alloc if k)
        for combo in itertools.product(*per_token):
            values = tuple(v for vs, _ in combo for v in vs)
            if any(v is not None and abs(v) >= UPPER for v in values):
                continue  # a part of ten digits and more is no cell either
            ok = all(None in [values[i] for i in (*left, *right)] or
                     sum(values[i] for i in left) == sum(values[i] for i in right) for left, right in inside)
            if not ok and (kept or len(broken) >= MAX_BROKEN_CUTS):
                continue
            pieces = []
            for vs, src in combo:
                if isinstance(src, tuple):
                    pieces += src
                else:
                    note = f"run-together digits '{src.text}' cut {'/'.join(f'{v:g}' for v in vs)}"
                    pieces += [Piece("split", v, src, note, i == 0 and _SIGN.match(src.text) is not None)
                               for i, v in enumerate(vs)]
            if ok:
                kept += 1
                yield tuple(pieces), cost
            else:
                broken.append((tuple(pieces), cost))
    if not kept:
        yield from broken


def _summed_cuts(s: str, m: int):
    """Cuts of s into m numbers (no leading zeros) whose last is the sum of the others."""
    def parts(rest: str, k: int, remaining: int):
        if k == 0:
            if not rest and remaining == 0:
                yield ()
            return
        for i in range(1, len(rest) - k + 2):
            head = rest[:i]
            if head != "0" and head.startswith("0"):
                break
            v = int(head)
            if v > remaining:
                break
            for tail in parts(rest[i:], k - 1, remaining - v):
                yield (v, *tail)

    for j in range(max(1, len(s) - MAX_DIGITS), len(s)):
        total = s[j:]
        if total != "0" and total.startswith("0"):
            continue
        for head in parts(s[:j], m - 1, int(total)):
            yield (*head, int(total))


def _shares(total: int, room: list[int]):
    """Every way to share `total` among slots of the given room."""
    if not room:
        if total == 0:
            yield ()
        return
    for k in range(min(total, room[0]) + 1):
        for rest in _shares(total - k, room[1:]):
            yield (k, *rest)


def _readings(tokens: list[Token], m: int, inside: Inside = (), doubt: bool = False,
              alternatives: int = MAX_ALTERNATIVES) -> list[Option]:
    """Every reading of the tokens as m cells; with one number too many, that number at either end is a stray
    (a page number, a footnote mark) at a cost."""
    out = _fitted(tokens, m, inside, doubt, alternatives)
    if len(tokens) == m + 1:
        for rest in (tokens[1:], tokens[:-1]):
            out += [Option(o.pieces, o.cost + STRAY) for o in _fitted(rest, m, inside, alternatives=alternatives)]
    return out


def _few_alternatives(choices: list[list], most: int = MAX_ALTERNATIVES):
    """Each token's first reading, with at most `most` tokens read otherwise."""
    if not all(choices):
        return  # a token with no reading at all (ten digits and more): no reading of the span as printed
    firsts = [c[0] for c in choices]
    for k in range(most + 1):
        for at in itertools.combinations([i for i, c in enumerate(choices) if len(c) > 1], k):
            for others in itertools.product(*(choices[i][1:] for i in at)):
                combo = list(firsts)
                for i, o in zip(at, others):
                    combo[i] = o
                yield tuple(combo)


def _fitted(tokens: list[Token], m: int, inside: Inside, doubt: bool = False,
            alternatives: int = MAX_ALTERNATIVES) -> list[Option]:
    out: dict[tuple, Option] = {}

    def add(pieces: tuple[Piece, ...], cost: int):
        key = tuple((p.kind, p.value) for p in pieces)
        if key not in out or out[key].cost > cost:
            out[key] = Option(pieces, cost)

    def spread(combo):  # the pieces in order, with the cells a dump lost anywhere in between
        pieces = tuple(p for ps, _ in combo for p in ps)
        cost = sum(c for _, c in combo)
        if len(pieces) > m:
            return
        gaps = m - len(pieces)
        known = _columns(pieces, m) if gaps else None
        for where in [known] if known else itertools.islice(itertools.combinations(range(m), len(pieces)),
                                                              MAX_OPTIONS):
            cells = [Piece("gap")] * m
            for i, p in zip(where, pieces):
                cells[i] = p
            add(tuple(cells), cost + GAP * gaps)

    # Cells as printed (or an OCR alternative), with the cells a dump lost anywhere in between. Blanks are dropped
    # (another group's column) only as many as the span has tokens beyond its cells: a blank dropped where a lost
    # cell is then placed is the blank read as that cell, and trying both made blank-heavy rows thousands of
    # equivalent readings.
    plain = [_plain(t) for t in tokens]
    blanks = [i for i, t in enumerate(tokens) if t.kind == "blank"]
    for dropped in itertools.combinations(blanks, min(max(0, len(tokens) - m), len(blanks))):
        choices = [[ps[1]] if i in dropped else ps[:1] if i in blanks else ps for i, ps in enumerate(plain)]
        for combo in itertools.islice(_few_alternatives(choices, alternatives), MAX_OPTIONS):
            spread(combo)
            if len(out) > MAX_OPTIONS:
                break
        if len(out) > MAX_OPTIONS:
            break
    # Every number as the other reading of the page read it, at once (a row of blurred digits): as many as
    # `alternatives` the combinations above have tried already.
    others = [_other(t) for t in tokens]
    if sum(map(len, others)) > alternatives and all(plain):
        spread([(o or ps)[0] for o, ps in zip(others, plain)])
    # One number of a row printed whole, read unsurely: the rules may value it instead. One per row, and in rows
    # a label placed: more (every doubtful pair, rows placed by order) made a fax's model too large to solve.
    if doubt and len(tokens) == m and all(plain):  # (a token of ten digits and more has no reading as printed)
        printed = [ps[0] for ps in plain]
        for i, tok in enumerate(tokens):
            if tok.kind == "number" and tok.cell.confidence < DOUBTFUL and len(printed[i][0]) == 1:
                unsure = Piece("doubt", None, tok, f"'{tok.text}' read unsurely (p={tok.cell.confidence:.2f})")
                add(tuple(unsure if j == i else ps[0] for j, (ps, _) in enumerate(printed)),
                    sum(c for _, c in printed) + DOUBT + round(DOUBT_PER_CONFIDENCE * tok.cell.confidence))
    # Run-together digits: every cut that gives the span exactly its cells.
    if len(tokens) < m and any(_cuttable(t) for t in tokens):
        for pieces, cost in itertools.islice(_cuts(tokens, m, inside), MAX_OPTIONS):
            add(pieces, cost)
    # Digits whose cell borders are wrong ("5 | 0766 | ... | 050 | 766": a number broken over cells, glued to the
    # next): the digit stream is what was printed; cut it afresh.
    if len(tokens) > 1 and all(t.kind == "number" and t.text.isdigit() for t in tokens) and (
            len(tokens) > m or any(t.text != "0" and t.text.startswith("0") for t in tokens)):
        stream = Token("number", "".join(t.text for t in tokens), tokens[0].cell, tokens[0].line)
        for pieces, cost in itertools.islice(_cuts([stream], m, inside), MAX_OPTIONS):
            add(pieces, cost + REJOIN)
    return list(out.values())


def _columns(pieces: tuple[Piece, ...], m: int) -> tuple[int, ...] | None:
    """The cells of a row of m that the pieces' numbers were seen under (whole-page OCR: Cell.under), where every
    piece has its own one; None where any is unknown."""
    under = [p.token.cell.under if p.token is not None else None for p in pieces]
    if not under or any(u is None or u[1] != m for u in under):
        return None
    at = tuple(i for i, _ in under)
    return at if all(a < b for a, b in zip(at, at[1:])) else None


def _inside(slots: list[tuple[str, str]], section: str, eqs: list[Equation]) -> Inside:
    at = {(section, *s): i for i, s in enumerate(slots)}
    return tuple((tuple(at[c] for c in eq.left), tuple(at[c] for c in eq.right))
                 for eq in eqs if all(c in at for c in eq.cells))


def _holds(option: Option, inside: Inside) -> bool:
    """The option's fixed values satisfy every rule that lies within its own cells."""
    values = [p.value for p in option.pieces]
    return all(any(values[i] is None for i in (*left, *right))
               or abs(sum(values[i] for i in left) - sum(values[i] for i in right)) < 1e-6 for left, right in inside)


def _whole_row(span: Span) -> bool:
    """A number in each cell of every place the span may take."""
    places = span.candidates()
    return bool(places) and all(t.kind == "number" for t in span.tokens) and all(
        len(span.tokens) == len(p.slots) for p in places)


def forced_spans(spans: list[Span]) -> set[int]:
    """ids of spans whose group is a run of whole rows as many as the rows it may take: kept in printed order,
    each has one row to fill (two rows of a fax both unlabelled between two rows read: each is that row's)."""
    groups: dict[tuple, list[Span]] = {}
    for s in spans:
        if s.group is not None:
            groups.setdefault(s.group, []).append(s)
    out: set[int] = set()
    for members in groups.values():
        rows = {p.slots[0][0] for s in members for p in s.candidates()}
        if len(members) > 1 and len(rows) == len(members) and all(_whole_row(s) for s in members):
            out |= {id(s) for s in members}
    return out


def _has_doubt(option: Option) -> bool:
    return any(p.kind == "doubt" for p in option.pieces)


def options_of(span: Span, eqs: list[Equation], doubts: bool = True, forced: bool = False) -> list[Option]:
    """The span's readings at each of its places (a span's own rules prune its readings there, when any reading
    satisfies them), and leaving it out where it may be. `forced`: the span is one of a run of whole rows that
    fill the rows between the rows read around them, one each, in printed order."""
    out: list[Option] = []
    cache: dict[tuple, list[Option]] = {}
    places = span.candidates()
    alternatives = MAX_ALTERNATIVES if len(places) <= FEW_PLACES else 1
    for place in places:
        inside = _inside(place.slots, span.section, eqs)
        key = (len(place.slots), inside)
        if key not in cache:
            readings = _readings(span.tokens, len(place.slots), inside, doubt=doubts and len(places) == 1,
                                 alternatives=alternatives)
            # A doubtful number valued by the rules holds any rule: it is kept only where no reading holds.
            cache[key] = [o for o in readings if _holds(o, inside) and not _has_doubt(o)] or readings
        out += [Option(o.pieces, o.cost + place.cost, place) for o in cache[key]]
    if span.optional or not out:
        # Numbers under a clear label are printed numbers: placed even where they break a rule (the finding says
        # so), never left out to keep the arithmetic whole.
        named = out and max(span.scores.values(), default=0.0) >= ACCEPT
        # So are a whole row's numbers that the rows read around them leave one place: a fax's "(七)总计" read
        # "(化)好十", its seven numbers three of them misread, was left out whole (7 fields) rather than break
        # the column sums it sits under.
        whole = (len(places) == 1 or forced) and _whole_row(span)
        out.append(Option((), LEFT_OUT_NAMED if named or whole else LEFT_OUT, None))
    return out
