"""The constraint decoder: readings chosen by the template's arithmetic, kept only where they are unique."""
from __future__ import annotations

import copy

import pytest

from service.assemble import Assembler
from service.decode import decode
from service.readings import digit_cuts
from service.document import Cell, Document, Line, Source
from service.labels import FuzzyLabelMatcher
from service.pipeline import Pipeline, PipelineOptions
from service.template import get_template
from service.textdump import read_text
from tests.textgen import consistent_report, render

T2021 = "gov-info-disclosure/2021"
COLS = ["natural_person", "commercial_enterprise", "research_institution", "social_welfare_org", "legal_service_org",
        "other_org", "total"]


@pytest.fixture(scope="module")
def pipeline():
    return Pipeline(PipelineOptions(classifier="fuzzy"))


@pytest.fixture(scope="module")
def no_prior():
    """Ties stay ties: the uniqueness rule alone."""
    return Pipeline(PipelineOptions(classifier="fuzzy", value_prior=False))


def balanced(report: dict) -> dict:
    """The report with outcome_total, new and every total column made to obey the rules again."""
    t = get_template(report["template"])
    req = report["requests"]
    outcome_rows = next(r for r in t.rules if r.id == "requests.outcome_total").left
    for c in COLS[:-1]:
        req["outcome_total"][c] = sum(req[r][c] for r in outcome_rows)
        req["new"][c] = req["outcome_total"][c] + req["carried_forward"][c] - req["carried_over"][c]
    for r in req:
        req[r]["total"] = sum(req[r][c] for c in COLS[:-1])
    return report


def row_text(report: dict, row: str) -> str:
    return "\t".join(str(v) for v in report["requests"][row].values())


def extract(pipeline, text: str, hints=None):
    return pipeline.run(Source("r.txt", text.encode("utf-8"), "text"), hints=hints)


def decoded_doc(doc, hints=None):
    ex = Assembler(FuzzyLabelMatcher()).run(doc, get_template(T2021))
    decode(ex, hints)
    return ex


def test_digit_cuts_have_no_leading_zeros():
    assert sorted(digit_cuts("1203", 3)) == [["1", "20", "3"], ["12", "0", "3"]]
    assert list(digit_cuts("000", 3)) == [["0", "0", "0"]]


def test_digits_of_too_many_cells_run_together_are_not_cut_every_way():
    """A fax's whole review row read as one string: 24 digits have 1.35 million cuts into 12 cells, tried one by one
    for minutes. Such a string is not cut (its cells stay for the arithmetic, or null); a real run-together row of a
    few cells still is."""
    from service.readings import _cuts
    from service.values import Token

    def tok(text):
        return Token("number", text, Cell(text), 0)

    assert list(_cuts([tok("100417264178373511348126")], 12, ())) == []
    cuts = [tuple(p.value for p in pieces) for pieces, _ in _cuts([tok("77132470")], 3, ())]
    assert (77, 132, 470) in cuts and len(cuts) == len(list(digit_cuts("77132470", 3))) == 21


# -- uniqueness -----------------------------------------------------------------------------------------------------

ALONE = "三、收到和处理政府信息公开申请情况\n（一）予以公开\t330000033\n"


def test_two_equally_good_cuts_stay_null_with_both_listed(no_prior):
    # 33/0/0/0/0/0/33 and 3/30/0/0/0/0/33 both satisfy the row's rule; nothing else tells them apart.
    result = extract(no_prior, ALONE)
    granted = result.requests["granted"]
    assert granted["natural_person"] is None and granted["commercial_enterprise"] is None
    # What every reading agrees on is kept.
    assert granted["total"] == 33 and granted["research_institution"] == 0
    assert result.provenance["requests.granted.total"].how == "split"
    finding = next(f for f in result.findings if f.rule == "decode.ambiguous")
    assert set(finding.cells) == {"requests.granted.natural_person", "requests.granted.commercial_enterprise"}
    assert "3, 33" in finding.message and "0, 30" in finding.message


def test_a_cut_is_decided_by_the_arithmetic_across_rows(pipeline):
    report = consistent_report(seed=3)
    report["requests"]["granted"].update(natural_person=3, commercial_enterprise=30, research_institution=0,
                                         social_welfare_org=0, legal_service_org=0, other_org=0)
    report = balanced(report)
    text = render(report, "tabs").replace(row_text(report, "granted"), "330000033")
    assert "330000033" in text
    result = extract(pipeline, text)
    assert result.requests == report["requests"]
    assert result.provenance["requests.granted.commercial_enterprise"].how == "split"
    assert not [f for f in result.findings if f.severity == "error"]


def test_a_printed_wrong_total_is_kept_as_printed_with_its_finding(pipeline):
    report = consistent_report(seed=4)
    printed = copy.deepcopy(report)
    printed["requests"]["outcome_total"]["total"] += 1
    result = extract(pipeline, render(printed, "tabs"))
    assert result.requests == printed["requests"]
    assert result.provenance["requests.outcome_total.total"].how == "read"
    broken = {f.rule for f in result.findings if f.severity == "error"}
    assert "requests.applicant_total" in broken or "requests.outcome_total" in broken
    assert not result.valid


def test_a_cell_the_dump_lost_is_valued_by_the_arithmetic(pipeline):
    report = consistent_report(seed=5)
    report["requests"]["granted"].update(natural_person=4, commercial_enterprise=2)
    report = balanced(report)
    line = row_text(report, "granted")
    lost = "\t".join(str(v) for k, v in report["requests"]["granted"].items() if k != "commercial_enterprise")
    result = extract(pipeline, render(report, "tabs").replace(line, lost))
    assert result.requests["granted"] == report["requests"]["granted"]
    assert result.provenance["requests.granted.commercial_enterprise"].how == "arithmetic"


# -- OCR alternatives -----------------------------------------------------------------------------------------------

def _ocr_doc(report: dict, row: str, col: str, printed: str, alternatives, confidence: float = 1.0):
    doc = read_text(Source("scan.txt", render(report, "tabs").encode("utf-8"), "text"))
    doc.method = "ocr"
    label = get_template(T2021).sections["requests"].row(row).label
    line = next(ln for ln in doc.lines if any(c.text == label for c in ln.cells))
    numbers = [c for c in line.cells if c.text.lstrip("-").isdigit()]
    cell = numbers[COLS.index(col)]
    cell.text, cell.alternatives, cell.confidence = printed, alternatives, confidence
    return doc


def _granted_is(value: int) -> dict:
    """A consistent report whose requests.granted.natural_person is `value`, the sums around it made to agree."""
    report = consistent_report(seed=6)
    report["requests"]["granted"]["natural_person"] = value
    return balanced(report)


def test_a_number_read_unsurely_gives_way_to_the_rules_it_breaks():
    report = _granted_is(56)
    cell = ("requests", "granted", "natural_person")
    unsure = _ocr_doc(report, "granted", "natural_person", "84", [], confidence=0.6)
    ex = decoded_doc(unsure)
    assert (ex.values[cell].value, ex.values[cell].raw, ex.values[cell].how) == (56, "84", "arithmetic")
    assert [(r["cell"], r["printed"], r["repaired"]) for r in ex.repairs] == [("requests.granted.natural_person", 84, 56)]
    assert "unsurely" in ex.values[cell].note
    # Read surely, or with doubts switched off (the second look's whole-page reading), it stays as read.
    sure = decoded_doc(_ocr_doc(report, "granted", "natural_person", "84", [], confidence=0.95))
    assert sure.values[cell].value == 84 and not sure.repairs
    off = Assembler(FuzzyLabelMatcher()).run(_ocr_doc(report, "granted", "natural_person", "84", [], 0.6),
                                             get_template(T2021))
    decode(off, doubts=False)
    assert off.values[cell].value == 84


def test_an_unsure_number_may_gain_a_digit_but_not_become_any_number():
    report = _granted_is(1288)
    cell = ("requests", "granted", "natural_person")
    dropped = decoded_doc(_ocr_doc(report, "granted", "natural_person", "128", [], confidence=0.6))
    assert dropped.values[cell].value == 1288
    far = decoded_doc(_ocr_doc(report, "granted", "natural_person", "12", [], confidence=0.6))
    assert far.values[cell].value == 12 and far.values[cell].how == "read"


def test_an_ocr_alternative_is_chosen_by_a_rule():
    report = _granted_is(8)
    ex = decoded_doc(_ocr_doc(report, "granted", "natural_person", "3", [("3", 0.6), ("8", 0.3), ("5", 0.1)]))
    reading = ex.values[("requests", "granted", "natural_person")]
    assert (reading.value, reading.raw, reading.how) == (8, "3", "repaired")
    assert [(r["cell"], r["printed"], r["repaired"]) for r in ex.repairs] == [
        ("requests.granted.natural_person", 3, 8)]
    assert ex.current_values() == {(s, r, c): v for s, rows in report.items() if s in get_template(T2021).sections
                                   for r, cols in rows.items() for c, v in cols.items()}


def test_an_ocr_reading_no_alternative_mends_stays_as_read():
    report = balanced(consistent_report(seed=7))
    true = report["requests"]["granted"]["natural_person"]
    wrong = str(true + 1)
    ex = decoded_doc(_ocr_doc(report, "granted", "natural_person", wrong, [(wrong, 0.9), (str(true + 2), 0.1)]))
    reading = ex.values[("requests", "granted", "natural_person")]
    assert (reading.value, reading.how) == (true + 1, "read")
    assert not ex.repairs


def test_a_row_misread_in_three_cells_takes_the_other_reading_of_its_page():
    """Three numbers of one row misread (more than the recogniser's alternatives mend at once), each read right by
    another reading of the page: the row is read as that reading read it, and only where the rules say so."""
    report = balanced(consistent_report(seed=8))
    truth = dict(report["requests"]["granted"])
    cols = ["natural_person", "commercial_enterprise", "total"]

    def doc(others):  # others(column, true value) -> the other reading's text
        d = read_text(Source("scan.txt", render(report, "tabs").encode("utf-8"), "text"))
        d.method = "ocr"
        label = get_template(T2021).sections["requests"].row("granted").label
        line = next(ln for ln in d.lines if any(c.text == label for c in ln.cells))
        numbers = [c for c in line.cells if c.text.isdigit()]
        for col in cols:
            cell = numbers[COLS.index(col)]
            cell.text, cell.confidence, cell.other = str(truth[col] + 10), 0.95, others(col, truth[col])
        return d

    ex = decoded_doc(doc(lambda col, v: str(v)))
    assert {c: ex.value("requests", "granted", c) for c in cols} == {c: truth[c] for c in cols}
    assert {ex.values[("requests", "granted", c)].how for c in cols} == {"repaired"}
    assert "whole-page reading" in ex.values[("requests", "granted", "total")].note
    # Without the other reading, or where it read other wrong numbers, the row stays as read.
    for others in (lambda col, v: None, lambda col, v: str(v + 13 + 2 * cols.index(col))):
        ex = decoded_doc(doc(others))
        assert {c: ex.value("requests", "granted", c) for c in cols} == {c: truth[c] + 10 for c in cols}


def test_a_count_in_no_rule_may_exceed_all_the_others_together():
    """A city's 行政处罚 decisions run to millions, more than twice every other number of its report together; the
    bound that keeps the solver's propagation short (what the numbers read add up to, each read its smallest way)
    holds only for cells in a rule. Read clearly, with a recogniser's unlikely alternative a digit short, the count
    stays as read."""
    report = balanced(consistent_report(seed=3))
    others = sum(abs(v) for sec in ("requests", "review_and_litigation") for row in report[sec].values()
                 for v in row.values() if isinstance(v, (int, float)))
    big = 10 * others + 7
    report["proactive_disclosure"]["administrative_penalty"]["decisions"] = big
    doc = read_text(Source("scan.txt", render(report, "tabs").encode("utf-8"), "text"))
    doc.method = "ocr"
    cell = next(c for ln in doc.lines for c in ln.cells if c.text == str(big))
    cell.confidence, cell.alternatives = 0.9, [(str(big), 0.9), (str(big // 10), 0.25)]
    ex = decoded_doc(doc)
    assert ex.value("proactive_disclosure", "administrative_penalty", "decisions") == big
    assert ex.values[("proactive_disclosure", "administrative_penalty", "decisions")].how == "read"


def test_only_numbers_another_reading_reads_otherwise_are_offered():
    from service.assemble import Extraction, Reading
    from service.document import Box, Document
    from service.pipeline import _offered

    template = get_template(T2021)
    boxes = [Box(1, 10.0 * i, 0, 8, 8) for i in range(4)]
    doc = Document("scan", "image", [Line([Cell(t, b) for t, b in zip(["12", "7", "3", "40"], boxes)], 0)],
                   method="ocr")
    cells = [("requests", "granted", c) for c in COLS[:4]]
    first = Extraction(template, {c: Reading(int(t), t, b) for c, t, b in zip(cells, ["12", "7", "3", "40"], boxes)})
    other = Extraction(template, {cells[0]: Reading(12), cells[1]: Reading(1), cells[2]: Reading(8, how="arithmetic"),
                                  cells[3]: Reading(46)})
    offered = _offered(doc, first, other, {"requests"})
    assert [c.other for c in offered.lines[0].cells] == [None, "1", None, "46"]
    assert [c.other for c in doc.lines[0].cells] == [None] * 4  # the first reading itself is left as it was
    assert _offered(doc, first, other, {"review_and_litigation"}) is None


def _scanned(doc):
    """Every cell of every line at its grid column, as a scan's reader gives them."""
    for line in doc.lines:
        for i, c in enumerate(line.cells):
            c.col = i
    return doc


def test_a_scanned_number_misread_as_text_is_valued_by_the_arithmetic_and_parts_no_row():
    report = balanced(consistent_report(seed=11))
    true = report["requests"]["granted"]["commercial_enterprise"]
    doc = _scanned(_ocr_doc(report, "granted", "commercial_enterprise", "章", []))
    ex = decoded_doc(doc)
    reading = ex.values[("requests", "granted", "commercial_enterprise")]
    assert (reading.value, reading.raw, reading.how) == (true, "章", "arithmetic")
    assert "unreadable" in reading.note
    for col, v in report["requests"]["granted"].items():
        assert ex.values[("requests", "granted", col)].value == v


@pytest.mark.parametrize("proven", [True, False])
def test_an_unreadable_cell_in_no_rule_is_null_even_when_the_solver_runs_out_of_time(monkeypatch, proven):
    """A blotted cell that no rule of the template involves (section 二's counts) could hold any value. Where the
    solver's time ends before its reading is proven, probing for other values is skipped: the value it held then
    was arbitrary (seen on a fax: -10^9, the solver's bound). Either way it is null."""
    import service.decode as decoder

    if not proven:
        monkeypatch.setattr(decoder, "_proven", lambda solver: False)
    report = balanced(consistent_report(seed=5))
    report["proactive_disclosure"]["regulations"] = {"issued": 3, "repealed": 1, "in_force": 24}
    doc = read_text(Source("scan.txt", render(report, "tabs").encode("utf-8"), "text"))
    doc.method = "ocr"
    _scanned(doc)
    label = get_template(T2021).sections["proactive_disclosure"].row("regulations").label
    line = next(ln for ln in doc.lines if any(c.text == label for c in ln.cells))
    assert [c.text for c in line.cells[-3:]] == ["3", "1", "24"]
    line.cells[-2].text = "章"
    ex = decoded_doc(doc)
    reading = ex.values[("proactive_disclosure", "regulations", "repealed")]
    assert (reading.value, reading.raw) == (None, "章")
    assert "no rule" in reading.note
    assert ex.value("proactive_disclosure", "regulations", "in_force") == 24
    # The cells a rule does value are still valued (the numbers read beside it stay as read).
    assert ex.value("requests", "granted", "total") == report["requests"]["granted"]["total"]


def test_a_longer_text_after_numbers_stays_a_label():
    report = balanced(consistent_report(seed=11))
    doc = _scanned(_ocr_doc(report, "granted", "commercial_enterprise", "其他处理情况", []))
    ex = decoded_doc(doc)
    reading = ex.values[("requests", "granted", "commercial_enterprise")]
    assert reading.raw != "其他处理情况" and "unreadable" not in (reading.note or "")


def test_a_scanned_minus_sign_goes_where_the_rules_say_it_is_a_speck():
    report = balanced(consistent_report(seed=12))
    true = report["requests"]["granted"]["natural_person"]
    doc = _ocr_doc(report, "granted", "natural_person", f"-{true}", [])
    cell = next(c for ln in doc.lines for c in ln.cells if c.text == f"-{true}")
    cell.confidence = 0.9
    reading = decoded_doc(doc).values[("requests", "granted", "natural_person")]
    assert (reading.value, reading.how) == (true, "repaired")


def test_a_count_read_with_a_fraction_is_no_reading_of_it():
    """A dotted speck made a count's cell read "2.901498948": the solver rounded it to 3, and 2.9015 was written."""
    report = _granted_is(3)
    cell = ("requests", "granted", "natural_person")
    ex = decoded_doc(_ocr_doc(report, "granted", "natural_person", "2.901498948", [], confidence=0.95))
    assert ex.values[cell].value == 3 and ex.values[cell].how == "arithmetic"


def test_a_dash_read_in_the_review_header_does_not_shift_the_review_row():
    report = consistent_report(seed=13)
    doc = _scanned(read_text(Source("scan.txt", render(report, "tabs").encode("utf-8"), "text")))
    doc.method = "ocr"
    header = next(ln for ln in doc.lines if ln.cells and ln.cells[0].text == "行政复议" and len(ln.cells) > 10)
    header.cells[9].text = "–"  # "尚未审结" as a dash
    ex = decoded_doc(doc)
    review = get_template(T2021).sections["review_and_litigation"]
    for row in review.rows:
        for col in row.columns:
            assert ex.values[("review_and_litigation", row.key, col)].value == report["review_and_litigation"][row.key][col]


def _review_values_right(ex, report) -> bool:
    review = get_template(T2021).sections["review_and_litigation"]
    return all(ex.value("review_and_litigation", row.key, col) == report["review_and_litigation"][row.key][col]
               for row in review.rows for col in row.columns)


def _review_row(doc):
    header = next(i for i, ln in enumerate(doc.lines) if ln.cells and ln.cells[0].text == "行政复议" and len(ln.cells) > 10)
    return header, doc.lines[header + 1]


def test_digits_in_the_review_headers_and_stray_lines_do_not_shift_the_review_row():
    """A dark copy's header cells read with digits in them ("英想656") and stray lines beside the table ("2009")
    moved the cursor of the review row on: its numbers filled the litigation groups, one group late."""
    report = consistent_report(seed=13)
    doc = _scanned(read_text(Source("scan.txt", render(report, "tabs").encode("utf-8"), "text")))
    doc.method = "ocr"
    header, row = _review_row(doc)
    assert len([c for c in row.cells if c.text.strip()]) == 15
    doc.lines[header].cells[2].text += "656"
    doc.lines.insert(header + 1, Line([Cell("2009")], table=None))
    assert _review_values_right(decoded_doc(doc), report)


def test_a_glyph_among_the_numbers_of_a_row_read_whole_is_a_number_misread():
    """The second look reads a row as one line of text, without grid columns: a blotched "1" read as "意" between
    its numbers parted the row, and the numbers after it went one cell late; as an unread value the arithmetic
    gives it. A date in prose ("2024年3月") keeps its characters."""
    report = consistent_report(seed=13)
    doc = read_text(Source("scan.txt", render(report, "tabs").encode("utf-8"), "text"))
    doc.method = "ocr"
    _, row = _review_row(doc)
    numbers = [c for c in row.cells if c.text.strip()]
    numbers[11].text = "意"
    assert _review_values_right(decoded_doc(doc), report)
    from service.assemble import _unread_values
    from service.values import tokenize
    date = Document("scan", "image", [Line([Cell("2024"), Cell("年"), Cell("3"), Cell("月")], table=None)],
                    method="ocr")
    tokens = _unread_values(date, [t for c in date.lines[0].cells for t in tokenize(c, 0)])
    assert [t.kind for t in tokens] == ["number", "label", "number", "label"]


def test_a_row_placed_by_order_with_one_misread_number_is_placed_not_dropped(pipeline):
    """An unreadable label and one misread number: leaving the row out would silence the rules it breaks, yet it
    is the row's printed numbers; it is placed, the broken rule reported."""
    report = balanced(consistent_report(seed=14))
    label = get_template(T2021).sections["requests"].row("denied_third_party_rights").label
    lines = render(report, "tabs").replace(label, "□□□□□□").splitlines()
    i = next(i for i, line in enumerate(lines) if "□□□□□□" in line)
    cells = lines[i].split("\t")
    first = next(j for j, c in enumerate(cells) if c.isdigit())
    cells[first] = str(int(cells[first]) + 3)
    lines[i] = "\t".join(cells)
    result = extract(pipeline, "\n".join(lines))
    row, truth = result.requests["denied_third_party_rights"], report["requests"]["denied_third_party_rights"]
    assert row["natural_person"] == truth["natural_person"] + 3
    assert {c: v for c, v in row.items() if c != "natural_person"} == {
        c: v for c, v in truth.items() if c != "natural_person"}
    assert any("requests.denied_third_party_rights.total" in f.cells for f in result.findings if f.severity == "error")


def test_a_label_that_names_two_rows_alike_is_placed_by_the_printed_order():
    """（六）1. and 2. both end in 行政机关不再处理其政府信息公开申请: a label read only to that shared end scores both rows
    alike, and is no anchor for either; the printed order and the arithmetic place it."""
    shared = "行政机关不再处理其政府信息公开申请"

    class SharedEnd(FuzzyLabelMatcher):  # a classifier that cannot tell the two rows apart by the shared end
        def scores(self, texts, targets):
            out = super().scores(texts, targets)
            for text, row in zip(texts, out):
                if text.endswith(shared):
                    for j, t in enumerate(targets):
                        if t.key in ("other_overdue_correction", "other_unpaid_fee"):
                            row[j] = 0.9
            return out

    report = consistent_report(seed=15)
    report["requests"]["other_overdue_correction"].update(natural_person=5, commercial_enterprise=1)
    report["requests"]["other_unpaid_fee"].update(natural_person=2, commercial_enterprise=0)
    report = balanced(report)
    second = get_template(T2021).sections["requests"].row("other_unpaid_fee").label
    doc = read_text(Source("r.txt", render(report, "tabs").replace(second, shared).encode("utf-8"), "text"))
    ex = Assembler(SharedEnd()).run(doc, get_template(T2021))
    span = next(s for s in ex.spans if s.label.endswith(shared))
    assert not span.slots and {p.slots[0][0] for p in span.places} >= {"other_unpaid_fee"}
    decode(ex)
    for row in ("other_overdue_correction", "other_unpaid_fee"):
        assert {c: ex.value("requests", row, c) for c in COLS} == report["requests"][row]


# -- blanks ---------------------------------------------------------------------------------------------------------

def test_grid_blanks_are_zero_where_nothing_says_otherwise():
    report = balanced(consistent_report(seed=8))
    doc = read_text(Source("g.txt", render(report, "tabs").encode("utf-8"), "text"))
    label = get_template(T2021).sections["requests"].row("carried_over").label
    line = next(ln for ln in doc.lines if any(c.text == label for c in ln.cells))
    for i, c in enumerate(line.cells):
        c.col = i
        if c.text == "0":
            c.text = ""  # printed empty
    ex = decoded_doc(doc)
    for col, v in report["requests"]["carried_over"].items():
        reading = ex.values[("requests", "carried_over", col)]
        assert reading.value == v
        if v == 0 and col != "total":
            assert reading.how in ("blank", "arithmetic")


# -- prose hints ----------------------------------------------------------------------------------------------------

def test_the_value_prior_breaks_a_clear_tie_and_says_so(pipeline):
    # 33/0 against 3/30: a commercial enterprise's column is 0 in most reports, so 33/0 is far likelier.
    result = extract(pipeline, ALONE)
    granted = result.requests["granted"]
    assert (granted["natural_person"], granted["commercial_enterprise"], granted["total"]) == (33, 0, 33)
    assert result.provenance["requests.granted.natural_person"].how == "prior"
    assert result.provenance["requests.granted.total"].how == "split"  # unique anyway: not the prior's doing
    finding = next(f for f in result.findings if f.rule == "decode.likeliest")
    assert set(finding.cells) == {"requests.granted.natural_person", "requests.granted.commercial_enterprise"}
    assert "else 3" in finding.message and "else 30" in finding.message
    assert not any(f.rule == "decode.ambiguous" for f in result.findings)


def test_the_value_prior_also_decides_a_span_placed_by_the_printed_order(pipeline):
    """An unreadable label: the run-together digits go to the row the order gives, and the prior still cuts them."""
    text = ("三、收到和处理政府信息公开申请情况\n一、本年新收政府信息公开申请数量\t2\t0\t0\t0\t0\t0\t2\n"
            "□□□□\t330000033\n（一）予以公开\t1\t0\t0\t0\t0\t0\t1\n")
    result = extract(pipeline, text)
    carried = result.requests["carried_over"]
    assert (carried["natural_person"], carried["commercial_enterprise"], carried["total"]) == (33, 0, 33)
    assert result.provenance["requests.carried_over.natural_person"].how == "prior"


def test_a_prior_that_cannot_tell_cuts_apart_leaves_them_null():
    """Every column alike: cuts of the same digit lengths (1/23/45, 12/3/45, 12/34/5) are as likely as each other."""
    from models.value_prior import ValuePrior
    from service.document import Cell, Document, Line

    t = get_template(T2021)
    section = t.sections["proactive_disclosure"]
    row = section.row("normative_documents")  # three counts, no rule among them
    doc = Document("n.txt", "text", [Line([Cell(section.title)]), Line([Cell(row.label), Cell("12345")], 0)])
    ex = Assembler(FuzzyLabelMatcher()).run(doc, t)
    flat_prior = ValuePrior({}, {c: {d: 0.1 for d in range(11)} for c in ("alone", "with", "any")})
    decode(ex, prior=flat_prior)
    cells = [k for k in ex.values if k[1] == row.key]
    assert len(cells) == 3 and all(ex.values[k].value is None for k in cells)
    assert any(i["rule"] == "decode.ambiguous" for i in ex.issues)
    # A prior that knows the last column is the large one decides: 1/2/345 is its favourite by far.
    lopsided = ValuePrior({f"{context}:proactive_disclosure.{row.key}.{c}": ({0: 0.05, 1: 0.9} if i < 2 else {3: 0.9})
                           for context in ("alone", "with")
                           for i, (_, _, c) in enumerate(sorted(cells, key=t.cells().index))},
                          {c: {d: 0.01 for d in range(11)} for c in ("alone", "with", "any")})
    ex = Assembler(FuzzyLabelMatcher()).run(doc, t)
    decode(ex, prior=lopsided)
    assert [ex.values[k].value for k in sorted(cells, key=t.cells().index)] == [1, 2, 345]
    assert all(ex.values[k].how == "prior" for k in cells)


def test_hints_break_a_tie_and_nothing_else(pipeline):
    hints = {("requests", "granted", "natural_person"): 3,
             ("requests", "granted", "total"): 34}  # disagrees with a value the table settles: ignored
    result = extract(pipeline, ALONE, hints=hints)
    granted = result.requests["granted"]
    assert (granted["natural_person"], granted["commercial_enterprise"], granted["total"]) == (3, 30, 33)
    assert result.provenance["requests.granted.natural_person"].how == "prose"
    assert result.provenance["requests.granted.commercial_enterprise"].how == "prose"
    assert result.provenance["requests.granted.total"].how == "split"
    assert not any(f.rule == "decode.ambiguous" for f in result.findings)


def test_a_hint_never_overrides_a_value_read_unambiguously(pipeline):
    report = consistent_report(seed=9)
    hint = report["requests"]["granted"]["natural_person"] + 5
    result = extract(pipeline, render(report, "tabs"), hints={("requests", "granted", "natural_person"): hint})
    assert result.requests == report["requests"]
    assert all(p.how != "prose" for p in result.provenance.values())


# -- rows the labels do not place -----------------------------------------------------------------------------------

def _torn_text(report: dict, torn: list[str], labels: dict[str, str] | None = None) -> str:
    """Pipe rows; the rows in `torn` (taken in pairs) print their numbers bare, and both labels of a pair pile up on
    lines of their own above the first pair's numbers (as PDF-to-markdown tears them off). `labels`: rows printed
    with another label (misread) than their own."""
    t = get_template(report["template"])
    lines = [f"{report['agency']}{report['year']}年政府信息公开工作年度报告", t.sections["requests"].title]
    for r in t.sections["requests"].rows:
        values = " | ".join(str(v) for v in report["requests"][r.key].values())
        if r.key in torn:
            i = torn.index(r.key)
            if i % 2 == 0:
                lines += [t.sections["requests"].row(k).label for k in torn[i: i + 2]]
            lines.append(f"| {values} |")
        else:
            lines.append(f"| {(labels or {}).get(r.key, r.label)} | {values} |")
    return "\n".join(lines) + "\n"


def test_labels_torn_from_their_rows_are_placed_by_order_and_arithmetic(pipeline):
    report = consistent_report(seed=11)
    report["requests"]["denied_internal_affairs"].update(natural_person=2)
    report["requests"]["unavailable_not_held"].update(natural_person=5)
    report = balanced(report)
    torn = ["denied_internal_affairs", "unavailable_not_held", "not_processed_excessive",
            "not_processed_confirm_or_reissue"]
    text = _torn_text(report, torn)
    result = extract(pipeline, text)
    assert result.requests == report["requests"]
    assert result.provenance["requests.denied_internal_affairs.natural_person"].how in ("order", "read")  # a reader may re-attach the label


def test_a_misread_label_does_not_strand_the_unreadable_rows_before_it(pipeline):
    """Three rows' labels unreadable, then a label misread as the first of them (a copier scan's page of garbled
    labels): taken at its word it would leave no row between it and the row above for the three rows' numbers.
    It is placed again with them, by the printed order and the arithmetic."""
    report = consistent_report(seed=11)
    rows = ["unavailable_needs_creation", "unavailable_unclear_after_correction", "not_processed_petition_complaint",
            "not_processed_duplicate"]
    for n, key in enumerate(rows):
        report["requests"][key].update(natural_person=3 + 4 * n, commercial_enterprise=n + 1)
    report = balanced(report)
    first = get_template(T2021).sections["requests"].row(rows[0]).label
    text = _torn_text(report, [], labels={rows[0]: "□□□□", rows[1]: "□□□", rows[2]: "□□□□□", rows[3]: first})
    result = extract(pipeline, text)
    assert {k: result.requests[k] for k in rows} == {k: report["requests"][k] for k in rows}


def test_a_table_on_one_line_is_cut_by_the_whole_table_or_left_null_with_a_finding():
    report = balanced(consistent_report(seed=12))
    t = get_template(T2021)
    cells = []
    for r in t.sections["requests"].rows:
        cells += [r.label, "".join(str(v) for v in report["requests"][r.key].values())]
    from service.document import Cell, Document, Line

    doc = Document("one.txt", "text", [Line([Cell(t.sections["requests"].title)]), Line([Cell(c) for c in cells], 0)])
    ex = decoded_doc(doc)
    truth = {("requests", r, c): v for r, cols in report["requests"].items() for c, v in cols.items()}
    got = {k: ex.values[k].value for k in truth if k in ex.values}
    assert all(got[k] == v for k, v in truth.items() if got.get(k) is not None)  # nothing wrong
    assert sum(v is not None for v in got.values()) >= 0.9 * len(truth)  # almost everything decided
    named = {c for i in ex.issues if i["rule"] == "decode.ambiguous" for c in i["cells"]}
    assert {".".join(k) for k, v in got.items() if v is None} <= named  # every null is named in a finding


def test_one_cell_per_line_with_blank_cells_for_empty_ones():
    """Each cell on its own line, an empty cell a line of its own (a reader that knows it is a cell gives it a
    column); blanks between headers and labels are layout, blanks in a row are its values."""
    from service.document import Cell, Document, Line

    t = get_template(T2021)
    req = t.sections["requests"]
    lines = [Line([Cell(req.title)]), *[Line([Cell(c.label, col=0)]) for c in req.columns.values()],
             Line([Cell("", col=0)])]  # a blank under the headers: layout
    rows = {"new": ["", "", "", "", "", "", "3"], "carried_over": ["1", "", "", "", "", "", "1"],
            "granted": ["", "", "", "", "", "", ""]}
    for key, cells in rows.items():
        lines += [Line([Cell(req.row(key).label, col=0)]), *[Line([Cell(c, col=0)]) for c in cells]]
    ex = decoded_doc(Document("cells.txt", "text", lines))
    new = {c: ex.values[("requests", "new", c)] for c in COLS}
    # Six blanks and a total of 3: the blanks cannot all be 0; which one holds the 3 the text does not say.
    assert new["total"].value == 3 and all(new[c].value is None for c in COLS[:-1])
    assert any(i["rule"] == "decode.ambiguous" and "requests.new.natural_person" in i["cells"] for i in ex.issues)
    carried = [ex.values[("requests", "carried_over", c)].value for c in COLS]
    assert carried == [1, 0, 0, 0, 0, 0, 1]
    assert ex.values[("requests", "carried_over", "commercial_enterprise")].how == "blank"
    assert [ex.values[("requests", "granted", c)].value for c in COLS] == [0] * 7


def test_a_number_broken_over_cell_borders_is_read_from_the_digit_stream():
    """A text layer whose cell borders fell inside numbers ("50766" over two cells, glued to the next one): the
    row's digits are cut afresh, by the row's rule."""
    from service.document import Cell, Document, Line

    req = get_template(T2021).sections["requests"]
    cells = ["5", "0766", "0", "0", "0", "0", "050", "766"]
    doc = Document("p.pdf", "pdf", [Line([Cell(req.title)]),
                                    Line([Cell(req.row("new").label)] + [Cell(c, col=i + 1) for i, c in enumerate(cells)],
                                         0)])
    ex = decoded_doc(doc)
    assert [ex.values[("requests", "new", c)].value for c in COLS] == [50766, 0, 0, 0, 0, 0, 50766]


def test_the_decoder_loads_without_pandas_and_pandas_still_loads_after_it():
    import subprocess
    import sys

    code = ("import sys, service.decode; assert 'pandas' not in sys.modules, 'pandas imported'; "
            "import pandas; assert pandas.DataFrame({'a': [1]}).shape == (1, 1)")
    subprocess.run([sys.executable, "-c", code], check=True)


# -- rows printed as one ---------------------------------------------------------------------------------------------

def test_a_merged_other_row_on_a_2021_table_is_their_sum_and_decides_only_what_it_can(pipeline):
    """（六）其他处理 printed as one row (as on the 2019 table) over the 2021 table's three rows: the three stay null
    where the sum leaves them open, 0 where the sum is 0; the rest of the table reads as printed."""
    parts = ["other_overdue_correction", "other_unpaid_fee", "other_other"]
    report = consistent_report(seed=5)
    for r in parts:
        report["requests"][r]["natural_person"] += 1
    report = balanced(report)
    req = report["requests"]
    merged = [sum(req[r][c] for r in parts) for c in COLS]
    lines = []
    for line in render(report, "pipes").split("\n"):
        if line.startswith("| （六）其他处理 | "):  # the three rows, each under the heading
            if not any(x.startswith("| （六）其他处理 | ") for x in lines):
                lines.append("| （六）其他处理 | " + " | ".join(map(str, merged)) + " |")
            continue
        lines.append(line)
    text = "\n".join(lines)
    assert text.count("| （六）其他处理 |") == 1 and "3.其他 |" not in text
    result = extract(pipeline, text)
    for r in req:
        if r not in parts:
            assert result.requests[r] == req[r], r
    for c, total in zip(COLS, merged):
        for r in parts:
            assert result.requests[r][c] == (0 if total == 0 else None), (r, c)
    finding = next(f for f in result.findings if f.rule == "decode.merged_rows")
    assert f"natural_person {merged[0]}" in finding.message
    assert "requests.other_other.natural_person" in finding.cells
    assert result.provenance["requests.other_other.research_institution"].how == "arithmetic"


def test_a_merged_rows_sum_left_open_is_named_in_its_own_finding_not_among_the_ties():
    """A merged row's printed sum that the arithmetic leaves open (a fax's blurred （六）其他处理 row) is no cell of the
    template: the ties' findings name the template's cells only, and the merged row's finding says which sum was not
    read for sure (the ties' finding sorted it by the template's cells and crashed the extraction)."""
    from types import SimpleNamespace

    from service.assemble import Extraction, Reading, Span
    from service.decode import _name_ties, _write_merged
    from service.readings import Piece
    from service.values import Token

    template = get_template(T2021)
    group = template.sections["requests"].merged[0]
    merged = ("requests", group.key, "commercial_enterprise")
    plain = ("requests", "granted", "natural_person")
    span = Span("requests", [(group.key, c) for c in COLS], [])
    tok = Token("number", "8", Cell("8", confidence=0.6), 0)
    ex = Extraction(template, values={
        merged: Reading(None, "8", None, 0.0, "arithmetic", "could be 3, 8; left null"),
        ("requests", group.key, "natural_person"): Reading(4, "4"),
        plain: Reading(None, "8", None, 0.0, "arithmetic", "could be 3, 8; left null")})
    piece_of = {merged: (Piece("doubt", None, tok), span, None), plain: (Piece("doubt", None, tok), span, None)}
    ambiguous = {merged: {3, 8}, plain: {3, 8}}
    _name_ties(ex, piece_of, ambiguous, {})
    ties = [f for f in ex.issues if f["rule"] == "decode.ambiguous"]
    assert [f["cells"] for f in ties] == [["requests.granted.natural_person"]]
    _write_merged(ex, SimpleNamespace(within=set()), {}, ambiguous)
    finding = next(f for f in ex.issues if f["rule"] == "decode.merged_rows")
    assert "natural_person 4" in finding["message"] and "commercial_enterprise not read for sure" in finding["message"]
    assert not any(row == group.key for _, row, _ in ex.values)


def test_a_tie_the_prior_settles_by_leaving_a_cell_unfilled_is_reported_as_no_value():
    """The value prior may favour the solution where a cell stays unfilled: its finding says "no value" (formatting
    the missing value as a number crashed a factory fax's second look)."""
    from service.assemble import Extraction, Reading, Span
    from service.decode import _name_ties
    from service.readings import Piece
    from service.values import Token

    template = get_template(T2021)
    cell, other = ("requests", "granted", "natural_person"), ("requests", "granted", "commercial_enterprise")
    span = Span("requests", [("granted", c) for c in COLS], [])
    tok = Token("number", "15", Cell("15", confidence=0.6), 0)
    ex = Extraction(template, values={cell: Reading(None, "15", None, 0.5, "prior"), other: Reading(5, "15")})
    piece_of = {cell: (Piece("doubt", None, tok), span, None), other: (Piece("split", 5, tok), span, None)}
    _name_ties(ex, piece_of, {}, {cell: {1, 15}, other: {None}})
    finding = next(f for f in ex.issues if f["rule"] == "decode.likeliest")
    assert "requests.granted.natural_person = no value (else 1, 15)" in finding["message"]
    assert "requests.granted.commercial_enterprise = 5 (else no value)" in finding["message"]


def test_a_reading_the_decoder_found_no_solution_for_never_wins_the_comparison(monkeypatch):
    # The solver's limit is wall-clock time: on a loaded machine a whole-page second reading can run out of it.
    # Unsolved, it has no values; it must not count as the cheaper reading (it replaced a full one with nothing).
    import service.decode as decoder

    printed = consistent_report(seed=4)
    printed["requests"]["outcome_total"]["total"] += 1  # a broken rule: the full reading costs something
    doc = read_text(Source("r.txt", render(printed, "tabs").encode("utf-8"), "text"))
    solved = decoded_doc(doc)
    monkeypatch.setattr(decoder, "_solve", lambda model, seconds=5.0, prove=True: None)
    unsolved = decoded_doc(doc)
    assert solved.values and solved.cost > 0 and not unsolved.values
    assert not unsolved.cost < solved.cost


def test_alternatives_of_many_cells_are_tried_two_at_a_time_and_unlikely_ones_not_at_all():
    """Seven OCR'd cells of three readings each would be 2187 readings of one row; at most two cells are read
    otherwise at once, and a reading 150 times less likely than the best is none."""
    from service.document import Cell
    from service.readings import MAX_ALTERNATIVES, _fitted
    from service.values import Token

    def tok(text, alts):
        return Token("number", text, Cell(text, alternatives=[(text, 0.9), *alts]), 0)

    tokens = [tok(str(i), [(str(i + 1), 0.05), (str(i + 2), 0.04)]) for i in range(6)]
    tokens.append(tok("7", [("1", 0.0001)]))  # far too unlikely
    options = _fitted(tokens, 7, ())
    read_otherwise = [sum(p.kind == "repaired" for p in o.pieces) for o in options]
    assert max(read_otherwise) == MAX_ALTERNATIVES
    assert len(options) == 1 + 6 * 2 + 15 * 4  # none, one or two of the six cells with alternatives
    assert all(o.pieces[6].value == 7 for o in options)
    # A token of ten digits and more has no reading as printed: nothing to combine.
    long = _fitted([tok("1234567890", []), tok("5", [])], 2, ())
    assert all(p.kind != "read" or p.token.text != "1234567890" for o in long for p in o.pieces)
    # ... and none to doubt beside it: a row holding one and a doubtful number is read without crashing (a fax's
    # merged cells, seen on a factory fax).
    unsure = Token("number", "5", Cell("5", confidence=0.5), 0)
    assert _fitted([tok("1234567890", []), unsure], 2, (), doubt=True) == []


def test_a_sentence_of_a_scans_prose_is_no_table_row_and_sets_no_section(pipeline):
    # A scanned report whose heading of section 二 was not read, its prose saying "共收到政府信息公开申请365件":
    # taken for the requests table's first row, the sentence put every row of section 二 after it into the requests
    # table. The cell grid read the tables; a sentence outside them is prose.
    from service.meta import detect_template

    report = balanced(consistent_report(seed=12))
    doc = read_text(Source("scan.txt", render(report, "tabs").encode("utf-8"), "text"))
    doc.method = "ocr"
    title = get_template(T2021).sections["proactive_disclosure"].title
    doc.lines = [ln for ln in doc.lines if not any(title in c.text for c in ln.cells)]
    for i, line in enumerate(doc.lines):
        line.table = 0 if len(line.cells) > 1 else None
        for j, c in enumerate(line.cells):
            c.row, c.col = (i, j) if line.table is not None else (None, None)
    sentence = Line([Cell("2024年，共收到本年新收政府信息公开申请数量365件")], table=None)
    first = next(i for i, ln in enumerate(doc.lines) if ln.table is not None)
    doc.lines.insert(first, sentence)
    ex = pipeline.decode(doc, detect_template(doc, report["year"]))
    section = report["proactive_disclosure"]
    assert {(r, c): ex.value("proactive_disclosure", r, c) for r in section for c in section[r]} == \
        {(r, c): v for r in section for c, v in section[r].items()}
    assert ex.value("requests", "new", "natural_person") == report["requests"]["new"]["natural_person"]


def test_a_row_no_label_placed_mends_one_misread_cell_at_a_time():
    """A fax's row whose label was unreadable may fill a dozen rows: two alternatives at once, at every place, made
    a model of thousands of readings the solver's time limit cut off. Where a label placed the row, two stay."""
    from service.assemble import Place, Span
    from service.document import Cell
    from service.readings import MAX_ALTERNATIVES, options_of
    from service.values import Token

    cols = ["natural_person", "commercial_enterprise", "research_institution", "social_welfare_org",
            "legal_service_org", "other_org", "total"]
    tokens = [Token("number", str(i), Cell(str(i), alternatives=[(str(i), 0.9), (str(i + 1), 0.05)]), 0)
              for i in range(7)]
    rows = ["granted", "partially_granted", "denied_state_secret", "denied_prohibited_by_law", "denied_internal_affairs"]

    def most_mended(places: list[str]) -> int:
        span = Span("requests", [(places[0], c) for c in cols], tokens,
                    places=[Place([(r, c) for c in cols]) for r in places])
        return max(sum(p.kind == "repaired" for p in o.pieces) for o in options_of(span, []))

    assert most_mended(rows[:1]) == MAX_ALTERNATIVES == 2
    assert most_mended(rows) == 1


def _read_rows_but(req: dict, torn: tuple[str, ...], misread, group=None):
    """The requests table as a scan's rows come to the decoder: each row at its read label, but the rows `torn`
    unlabelled, their numbers `misread(printed)`, each free to take any of the torn rows (`group`: in printed order)."""
    from service.assemble import Extraction, Place, Span
    from service.document import Cell
    from service.values import Token

    def tokens(values) -> list[Token]:
        return [Token("number", str(v), Cell(str(v), confidence=0.97), 0) for v in values]

    ex = Extraction(template=get_template(T2021))
    for row, values in req.items():
        printed = [values[c] for c in COLS]
        if row not in torn:
            ex.spans.append(Span("requests", [(row, c) for c in COLS], tokens(printed)))
        else:
            ex.spans.append(Span("requests", [], tokens(misread(printed)), 0.5, "order", optional=True, group=group,
                                 places=[Place([(r, c) for c in COLS]) for r in torn]))
    return ex


def test_a_whole_row_of_numbers_left_one_place_is_placed_though_misread():
    """A fax's "(七)总计" read "(化)好十": its row is placed by the printed order, and the rows read around it leave
    it one place. Three of its seven numbers misread, placing it breaks the column sums it sits under; left out,
    all seven cells were null. Placed, the four read right are kept and the findings name the sums it breaks."""
    req = consistent_report(seed=3)["requests"]
    ex = _read_rows_but(req, ("outcome_total",), lambda p: [p[0] + 10, p[1] + 30, 6, *p[3:]])
    decode(ex)
    for c in COLS[3:]:
        assert ex.value("requests", "outcome_total", c) == req["outcome_total"][c]


def test_unlabelled_rows_go_to_the_section_of_their_printed_tables_labelled_rows():
    """A fax's heading "三、收到和处理政府信息公开申请情况" misread leaves section 二 in force for the table under it;
    its first row's label is read, the rest are not. The unlabelled rows belong where the labelled rows of the same
    printed table went, not to the section of the last heading read (where they matched no row and were dropped)."""
    report = balanced(consistent_report(seed=21))
    template = get_template(T2021)
    doc = _scanned(read_text(Source("scan.txt", render(report, "tabs").encode("utf-8"), "text")))
    doc.method = "ocr"
    heading = next(i for i, ln in enumerate(doc.lines) if ln.cells and "收到和处理" in ln.cells[0].text)
    review = next(i for i, ln in enumerate(doc.lines) if ln.cells and "行政复议" in ln.cells[0].text
                  and i > heading)
    doc.lines[heading].cells[0].text = "三、口口口口口口口口口口口口口口口"
    labels = {r.label for r in template.sections["requests"].rows if r.key != "new"}
    for i, line in enumerate(doc.lines):
        line.table = 0 if i < heading else 1 if i < review else 2
        for c in line.cells:
            if heading < i < review and (c.text in labels or not any(ch.isdigit() for ch in c.text)) \
                    and "新收" not in c.text:
                c.text = "口口口口"
    ex = decoded_doc(doc)
    assert {(r, c): ex.value("requests", r, c) for r in report["requests"] for c in report["requests"][r]} == {
        (r, c): v for r in report["requests"] for c, v in report["requests"][r].items()}


def test_two_unlabelled_rows_that_fill_the_rows_between_their_neighbours_are_placed_though_misread():
    """A phone photo's last two rows of a page, labels unreadable, two numbers misread in each: the rows read around
    them leave them two rows, one each in printed order. Left out, fourteen cells were null; placed, the ten read
    right are kept and the findings name the sums the misread ones break."""
    req = consistent_report(seed=5)["requests"]
    torn = ("denied_administrative_inquiry", "unavailable_not_held")
    ex = _read_rows_but(req, torn, lambda p: [p[0] + 7, *p[1:-1], p[-1] + 50], group=("requests", 9))
    decode(ex)
    for row in torn:
        assert [ex.value("requests", row, c) for c in COLS[1:-1]] == [req[row][c] for c in COLS[1:-1]]
        assert ex.value("requests", row, COLS[0]) == req[row][COLS[0]] + 7


def test_a_reading_not_proven_best_keeps_its_choices_at_lower_confidence(no_prior, monkeypatch):
    # A fax's large model can run out of time before its reading is proven best. Other readings at its cost are then
    # no ties, only readings not yet ruled out: probing for them spent the time again and nulled the cells.
    import service.decode as decoder

    monkeypatch.setattr(decoder, "_proven", lambda solver: False)
    result = extract(no_prior, ALONE + "（二）部分公开\t1\t0\t0\t0\t0\t0\t1\n")
    granted = result.requests["granted"]
    assert granted["natural_person"] + granted["commercial_enterprise"] == 33
    assert not any(f.rule == "decode.ambiguous" for f in result.findings)
    assert any("proven" in w for w in result.warnings)
    # The cut chosen among several is marked; the row read as printed, one reading only, is not.
    chosen, printed = result.confidence["requests.granted.natural_person"], \
        result.confidence["requests.partially_granted.natural_person"]
    assert chosen < 0.8 * printed


def test_a_model_with_alternatives_that_finds_nothing_in_time_is_decoded_again_without_them(monkeypatch):
    # A fax with illegible labels (rows placed by order alone) and many doubtful cells made a model whose search
    # found no solution in its time: every cell came out null (synth-scans doc-000040: 2 of 200 fields). The numbers
    # as read then still give a reading.
    import service.decode as dec

    report = _granted_is(8)
    doc = _ocr_doc(report, "granted", "natural_person", "3", [("3", 0.6), ("8", 0.3), ("5", 0.1)])
    seen, real = [], dec._solve

    def first_finds_nothing(model, *args, **kwargs):
        seen.append(sum(1 for c in _cells(doc) if c.alternatives))
        return None if len(seen) == 1 else real(model, *args, **kwargs)

    monkeypatch.setattr(dec, "_solve", first_finds_nothing)
    ex = decoded_doc(doc)
    assert seen[:2] == [1, 0]  # the second model was built without the alternatives...
    assert sum(1 for c in _cells(doc) if c.alternatives) == 1  # ...which are the cells' again afterwards
    reading = ex.values[("requests", "granted", "natural_person")]
    assert (reading.value, reading.how) in {(3, "read"), (8, "arithmetic")}
    assert "the decoder found no reading within its time limit" not in ex.warnings


def _cells(doc):
    return [c for ln in doc.lines for c in ln.cells]
