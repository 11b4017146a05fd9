"""Scans whose cell grid fails get a whole-page reading, kept only when the arithmetic supports it better."""
from dataclasses import replace

import pytest

from service.document import Cell, PageImage, Source
from service.pipeline import Pipeline, PipelineOptions
from service.textdump import read_text
from tests.textgen import consistent_report, render

COLS = ["natural_person", "commercial_enterprise", "research_institution", "social_welfare_org", "legal_service_org",
        "other_org", "total"]


class FakePageReader:
    """Stands in for PP-OCR over whole pages: returns a prepared reading of the same document."""

    def __init__(self, doc):
        self.doc, self.calls, self.pages = doc, 0, None

    def read(self, scanned, pages=None):
        self.calls += 1
        self.pages = pages
        return replace(self.doc, warnings=["tables read by whole-page OCR (the cell grid was incomplete)"])


def ocr_doc(text: str):
    doc = read_text(Source("scan.pdf", text.encode("utf-8"), "text"))
    return replace(doc, kind="pdf", method="ocr", images=[PageImage(1, 10, 10)])


@pytest.fixture
def report():
    return consistent_report(seed=21)


def run(cell_reading, page_reading):
    pipeline = Pipeline(PipelineOptions(classifier="fuzzy"))
    pipeline.read = lambda source: cell_reading
    pipeline._page_reader = FakePageReader(page_reading)
    return pipeline, pipeline.run(Source("scan.pdf", b"%PDF-", "pdf"))


def test_incomplete_grid_reading_is_replaced_by_a_better_page_reading(report):
    full = render(report, "tabs")
    broken = full[: full.index("（四）无法提供")]  # the grid lost the rest of the table
    pipeline, result = run(ocr_doc(broken), ocr_doc(full))
    assert pipeline._page_reader.calls == 1
    assert result.requests == report["requests"] and result.valid
    assert any("whole-page" in w for w in result.warnings)
    assert "second_look" in result.timings and "second_look.read" in result.timings
    assert pipeline._page_reader.pages == {1}  # the text has no boxes: every page the section can lie on


def test_the_second_reading_decodes_only_the_doubtful_sections(report):
    from service.meta import detect_template

    doc = ocr_doc(render(report, "tabs"))
    pipeline = Pipeline(PipelineOptions(classifier="fuzzy"))
    template = detect_template(doc, report["year"])
    ex = pipeline.decode(doc, template, sections={"requests"})
    assert all(ex.value(*c) == report[c[0]][c[1]][c[2]] for c in template.cells() if c[0] == "requests")
    assert all(ex.value(*c) is None for c in template.cells() if c[0] != "requests")


def test_the_pages_a_doubtful_section_can_lie_on(report):
    """From the last page of the section before it to the first page of the section after it: a row the grid
    missed may lie on either side of those it read."""
    from service.document import Box
    from service.pipeline import _pages_of

    ex = _extraction(report, {"proactive_disclosure", "requests", "review_and_litigation"})
    pages = {"proactive_disclosure": (2, 3), "requests": (3, 4), "review_and_litigation": (5, 5)}
    for n, ((s, r, c), reading) in enumerate(sorted(ex.values.items())):
        ex.values[(s, r, c)] = replace(reading, box=Box(pages[s][n % 2], 0, 0, 1, 1))
    assert _pages_of(ex, {"requests"}, 7) == {3, 4, 5}
    assert _pages_of(ex, {"proactive_disclosure"}, 7) == {1, 2, 3}
    assert _pages_of(ex, {"review_and_litigation"}, 7) == {4, 5, 6, 7}
    assert _pages_of(ex, {"proactive_disclosure", "review_and_litigation"}, 7) == {1, 2, 3, 4, 5, 6, 7}
    del_rows = [c for c in ex.values if c[0] == "requests"]
    for c in del_rows:
        del ex.values[c]  # a section not read at all lies between its neighbours
    assert _pages_of(ex, {"requests"}, 7) == {3, 4, 5}


def test_a_worse_page_reading_is_not_taken(report):
    full = render(report, "tabs")
    partial = full[: full.index("（四）无法提供")]
    worse = full[: full.index("（一）予以公开")]
    pipeline, result = run(ocr_doc(partial), ocr_doc(worse))
    assert pipeline._page_reader.calls == 1
    assert result.requests["granted"] == report["requests"]["granted"]
    assert any("was not better" in w for w in result.warnings)


def test_complete_grid_reading_needs_no_second_look(report):
    full = render(report, "tabs")
    pipeline, result = run(ocr_doc(full), ocr_doc(""))
    assert pipeline._page_reader.calls == 0 and result.valid


def test_a_sum_printed_wrong_and_read_surely_needs_no_second_look(report):
    """A broken rule whose every cell was read surely is the table as printed (the findings report it); a broken
    rule with a doubtful cell, or a cell left null, is worth reading the pages again."""
    from service.pipeline import _incomplete
    from service.template import get_template
    from service.validate import equations

    eqs = equations(get_template(report["template"]))
    ex = _extraction(report, {"proactive_disclosure", "requests", "review_and_litigation"})
    assert not _incomplete(ex, eqs)
    cell = ("requests", "granted", "natural_person")
    ex.values[cell] = replace(ex.values[cell], value=ex.values[cell].value + 7)
    assert not _incomplete(ex, eqs)
    ex.values[cell] = replace(ex.values[cell], confidence=0.8)
    assert _incomplete(ex, eqs)
    ex.values[cell] = replace(ex.values[cell], confidence=1.0, how="arithmetic")
    assert _incomplete(ex, eqs)
    ex.values[cell] = replace(ex.values[cell], value=None, how="read")
    assert _incomplete(ex, eqs)


def test_each_reading_gives_the_rows_the_other_lost(report):
    # The grid lost one row, whole-page OCR another (a line missed): the result has both.
    lines = render(report, "tabs").splitlines()
    no_granted = "\n".join(l for l in lines if "予以公开" not in l)
    no_carried = "\n".join(l for l in lines if "结转下年度继续办理" not in l)
    pipeline, result = run(ocr_doc(no_granted), ocr_doc(no_carried))
    assert pipeline._page_reader.calls == 1
    assert result.requests["granted"] == report["requests"]["granted"]
    assert result.requests["carried_forward"] == report["requests"]["carried_forward"]


def _extraction(report: dict, sections: set[str], how: str = "read"):
    """An Extraction holding the report's numbers for `sections` only, each obtained `how`."""
    from service.assemble import Extraction, Reading
    from service.template import get_template

    t = get_template(report["template"])
    values = {(s, r, c): Reading(report[s][r][c], how=how) for s, r, c in t.cells() if s in sections}
    return Extraction(t, values=values)


def test_the_second_look_is_kept_section_by_section(report):
    """The grid read the requests table and lost the review table; the whole-page reading has the review table, but
    its requests table is cells the rules filled (most numbers lost): each section comes from the better one."""
    from service.pipeline import _by_section
    from service.template import get_template
    from service.validate import equations

    eqs = equations(get_template(report["template"]))
    grid = _extraction(report, {"proactive_disclosure", "requests"})
    page = _extraction(report, {"proactive_disclosure", "requests", "review_and_litigation"})
    for cell, reading in page.values.items():
        if cell[0] == "requests" and cell[2] != "natural_person":
            page.values[cell] = replace(reading, how="arithmetic")
    merged, taken = _by_section(grid, page, eqs)
    assert taken == ["review_and_litigation"]
    assert all(merged.values[c].how == "read" for c in merged.values if c[0] == "requests")
    assert all(merged.value(*c) == page.value(*c) for c in page.values if c[0] == "review_and_litigation")
    # A section both read alike goes with the reading that is better over the whole document.
    whole = _extraction(report, {"proactive_disclosure", "requests", "review_and_litigation"})
    _, taken = _by_section(grid, whole, eqs)
    assert "proactive_disclosure" in taken and "requests" in taken


def test_a_row_one_reading_misread_is_taken_from_the_other(report):
    """Each reading misread a different row (its total no longer adds up): the result takes each row from the reading
    whose row adds up."""
    from service.pipeline import _by_section
    from service.template import get_template
    from service.validate import equations

    eqs = equations(get_template(report["template"]))
    sections = {"proactive_disclosure", "requests", "review_and_litigation"}
    grid, page = _extraction(report, sections), _extraction(report, sections)
    for ex, row in ((grid, "granted"), (page, "carried_over")):
        cell = ("requests", row, "natural_person")
        ex.values[cell] = replace(ex.values[cell], value=ex.values[cell].value + 7)
    merged, _ = _by_section(grid, page, eqs)
    from service.pipeline import _with_rows_of

    result = _with_rows_of(merged, page, eqs)
    assert all(result.value(*c) == report[c[0]][c[1]][c[2]] for c in result.values)


def test_a_tie_goes_to_the_reading_surer_of_the_cells_they_differ_in(report):
    from service.pipeline import _by_section
    from service.template import get_template
    from service.validate import equations

    eqs = equations(get_template(report["template"]))
    grid = _extraction(report, {"proactive_disclosure", "requests", "review_and_litigation"})
    page = _extraction(report, {"proactive_disclosure"})
    cell = next(c for c in grid.values if c[0] == "proactive_disclosure" and grid.value(*c))
    grid.values[cell] = replace(grid.values[cell], value=grid.value(*cell) + 1, confidence=0.1)
    merged, taken = _by_section(grid, page, eqs)
    assert taken == ["proactive_disclosure"]  # the grid is better overall, but unsure of the one cell
    assert merged.value(*cell) == report[cell[0]][cell[1]][cell[2]]


def test_a_row_the_other_reading_only_made_up_from_the_rules_is_not_taken(report):
    """Values the arithmetic invented (most numbers of the row lost) are no reading of the row, however well they
    fit the rules: the row read, even broken, stays."""
    from service.pipeline import _with_rows_of
    from service.template import get_template
    from service.validate import equations

    eqs = equations(get_template(report["template"]))
    sections = {"proactive_disclosure", "requests", "review_and_litigation"}
    grid, page = _extraction(report, sections), _extraction(report, sections)
    cell = ("requests", "granted", "natural_person")
    grid.values[cell] = replace(grid.values[cell], value=grid.values[cell].value + 7)
    for c in list(page.values):
        if c[:2] == ("requests", "granted"):
            page.values[c] = replace(page.values[c], how="arithmetic")
    assert _with_rows_of(grid, page, eqs).value(*cell) == report["requests"]["granted"]["natural_person"] + 7


def test_a_streak_read_as_text_does_not_join_the_rows_it_crosses():
    from service.scan.page_ocr import group_rows

    rows = [(100, 100 + 60 * i, 120, 30, f"label {i}", 0.9) for i in range(5)]
    rows += [(400, 100 + 60 * i, 40, 30, str(i), 0.9) for i in range(5)]
    streak = (600, 90, 18, 300, "2", 0.5)  # a dirty drum's vertical line, detected as a box of text
    grouped = group_rows(rows + [streak])
    assert [[b[4] for b in r] for r in grouped] == [[f"label {i}", str(i)] for i in range(5)]


def _table_row(y: int, texts: list[str | None], x0: int = 400, step: int = 60) -> list[tuple]:
    """A label and a row of boxes at a table's column places; None: detection found nothing there."""
    return [(100, y, 200, 20, "本年新收", 0.9)] + [(x0 + step * i + 10 * (len(t) == 1), y, 12 * len(t), 20, t, 0.9)
                                                for i, t in enumerate(texts) if t is not None]


def test_the_numbers_of_a_row_the_page_reading_lost_some_of_keep_their_columns():
    """Detection missed a number, or read a blurred one as a blot: the row's other numbers sit under the columns of
    the rows around it, so the cells left are known, not anywhere in the row."""
    from service.scan.page_ocr import columns_under, group_rows

    full = ["12", "3", "0", "0", "1", "0", "16"]
    rows = group_rows(
        _table_row(100, full) + _table_row(130, full)
        + _table_row(160, ["12", "3", "0", None, "1", "0", "16"])  # a zero detection missed
        + _table_row(190, ["12", "a", "0", "0", "1", "0", "16"])  # a blurred 3 read as a blot
        + _table_row(220, full) + _table_row(250, ["9", "9", "9"], x0=100, step=40))  # another table's row
    under = columns_under(rows)
    numbers = [[u for b, u in zip(row, hints) if b[4] not in ("本年新收", "a")] for row, hints in zip(rows, under)]
    assert numbers[2] == [(0, 7), (1, 7), (2, 7), (4, 7), (5, 7), (6, 7)]
    assert numbers[3] == [(0, 7), (2, 7), (3, 7), (4, 7), (5, 7), (6, 7)]
    assert numbers[0] == [(i, 7) for i in range(7)]


def test_a_row_whose_numbers_sit_under_no_columns_gets_no_places():
    from service.scan.page_ocr import columns_under, group_rows

    full = ["12", "3", "0", "0", "1", "0", "16"]
    rows = group_rows(_table_row(100, full) + _table_row(130, full)
                      + [(100, 160, 200, 20, "本年新收", 0.9), (430, 160, 20, 20, "5", 0.9), (455, 160, 20, 20, "7", 0.9)])
    assert columns_under(rows)[2] == [None, None, None]  # two numbers under one column: a doubled row, not places


def test_a_row_with_known_places_is_read_with_its_lost_cells_there_only():
    from service.readings import _fitted
    from service.values import Token

    def tok(text, under=None):
        return Token("number", text, Cell(text, under=under), 0)

    printed = [("12", 0), ("3", 1), ("0", 2), ("1", 4), ("0", 5), ("16", 6)]

    def gaps(tokens):  # the readings with a lost cell (the others cut the two-digit numbers)
        return [[p.kind for p in o.pieces] for o in _fitted(tokens, 7, ()) if any(p.kind == "gap" for p in o.pieces)]

    assert gaps([tok(t, (i, 7)) for t, i in printed]) == [["read"] * 3 + ["gap"] + ["read"] * 3]
    assert len(gaps([tok(t) for t, _ in printed])) == 7  # the lost cell anywhere in the row
    assert len(gaps([tok(t, (i, 9)) for t, i in printed])) == 7  # places in a row of nine say nothing of seven


def test_a_reading_whose_misreads_the_rules_absorbed_does_not_replace_one_that_shows_its_misread(report):
    """The whole-page reading read eight numbers as blots, and the rules valued them: they absorbed its misreads
    (two by two, every sum still holds) and no rule can check those rows. The grid read every number, one misread,
    and two rules show it. The grid's reading is kept: a rule that cannot be checked is no evidence."""
    import itertools

    from service.pipeline import _by_section
    from service.template import get_template
    from service.validate import equations, violations

    eqs = equations(get_template(report["template"]))
    sections = {"proactive_disclosure", "requests", "review_and_litigation"}
    grid, page = _extraction(report, sections), _extraction(report, sections)
    rows = ["granted", "partially_granted", "denied_state_secret", "denied_prohibited_by_law"]
    cols = COLS[:4]
    rectangles = [(r1, r2, c1, c2) for (r1, r2), (c1, c2) in itertools.product(
        itertools.combinations(rows, 2), itertools.combinations(cols, 2))
        if report["requests"][r1][c2] and report["requests"][r2][c1]]
    used: set = set()
    for r1, r2, c1, c2 in rectangles:
        cells = [(r1, c1, 1), (r2, c2, 1), (r1, c2, -1), (r2, c1, -1)]
        if used & {(r, c) for r, c, _ in cells} or len(used) == 8:
            continue
        used |= {(r, c) for r, c, _ in cells}
        for r, c, d in cells:
            cell = ("requests", r, c)
            page.values[cell] = replace(page.values[cell], value=page.values[cell].value + d, how="arithmetic")
    assert len(used) == 8 and not violations(page.current_values(), eqs)
    misread = ("requests", "carried_over", "natural_person")
    grid.values[misread] = replace(grid.values[misread], value=grid.values[misread].value + 7)
    assert len(violations(grid.current_values(), eqs)) == 2
    _, taken = _by_section(grid, page, eqs)
    assert "requests" not in taken
