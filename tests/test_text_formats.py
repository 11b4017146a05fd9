"""Every text serialization real dumps show gives the canonical report exactly."""
import json
from pathlib import Path

import pytest

from service.ingest import load_source
from service.pipeline import Pipeline, PipelineOptions
from service.template import SECTIONS
from tests.textgen import REAL_STYLES, STYLES, consistent_report, render, render_real, small_report

SEEDS = Path(__file__).resolve().parents[1].parent / "shared" / "seeds"


@pytest.fixture(scope="module")
def pipeline():
    return Pipeline(PipelineOptions(classifier="fuzzy"))


def run(pipeline, text: str, name="report.txt"):
    return pipeline.run(load_source(text.encode("utf-8"), name=name))


def assert_tables(result, report):
    got = result.model_dump()
    wrong = {f"{s}.{r}.{c}": (got[s][r][c], v) for s in SECTIONS for r, cols in report[s].items()
             for c, v in cols.items() if got[s][r][c] != v}
    assert not wrong, wrong


@pytest.mark.parametrize("template_id", ["gov-info-disclosure/2021", "gov-info-disclosure/2019"])
@pytest.mark.parametrize("style", STYLES)
def test_serializations(pipeline, style, template_id):
    report = consistent_report(template_id, seed=len(style))
    result = run(pipeline, render(report, style))
    assert result.template == template_id
    assert (result.agency, result.year) == (report["agency"], report["year"])
    assert_tables(result, report)
    assert result.valid, [f.message for f in result.findings]


@pytest.mark.skipif(not SEEDS.exists(), reason="../shared/seeds not present")
@pytest.mark.parametrize("seed", sorted(p.name for p in SEEDS.glob("*.txt")) if SEEDS.exists() else [])
def test_seeds_exact(pipeline, seed):
    expected = json.loads((SEEDS / seed.replace(".txt", ".expected.json")).read_text(encoding="utf-8"))
    result = pipeline.run(load_source(SEEDS / seed))
    assert result.contract() == expected


def test_punctuation_traditional_typos_and_garbage(pipeline):
    report = consistent_report(seed=3)
    text = render(report, "tabs")
    text = (text.replace("（一）予以公开", "(一)予以公開")
                .replace("1.属于国家秘密", "1.屬於國家秘密")
                .replace("5.属于三类内部事务信息", "5.属于三类内容事务信息")
                .replace("一、本年新收政府信息公开申请数量", "一、本年新")
                .replace("本年制发件数", "本年发件")
                .replace("三、收到和处理政府信息公开申请情况",
                         "三、收到和处理政府信息公开申请情况\n(大司继报的历本教学艺生、然 运动放一至之的 然"))
    result = run(pipeline, text)
    assert_tables(result, report)


def test_printed_rule_break_is_reported_not_fixed(pipeline):
    report = consistent_report(seed=5)
    report["requests"]["outcome_total"]["natural_person"] += 3  # a publisher's arithmetic slip
    report["requests"]["outcome_total"]["total"] += 3
    result = run(pipeline, render(report, "tabs"))
    assert result.requests["outcome_total"]["natural_person"] == report["requests"]["outcome_total"]["natural_person"]
    assert not result.valid and not result.repairs
    rules = {f.rule for f in result.findings}
    assert "requests.outcome_total" in rules
    f = next(f for f in result.findings if f.rule == "requests.outcome_total"
             and "requests.outcome_total.natural_person" in f.cells)
    assert f.printed == report["requests"]["outcome_total"]["natural_person"]
    assert f.expected == f.printed - 3


def test_truncated_report_keeps_what_is_there(pipeline):
    report = consistent_report(seed=7)
    text = render(report, "tabs")
    text = text[: text.index("（四）无法提供")]
    result = run(pipeline, text)
    assert result.requests["granted"] == report["requests"]["granted"]
    assert result.requests["carried_forward"]["total"] is None
    assert result.review_and_litigation["reconsideration"]["total"] is None
    assert any(f.rule == "document.incomplete" for f in result.findings)
    assert not result.valid


def test_not_applicable_amounts_and_signed_change(pipeline):
    report = consistent_report("gov-info-disclosure/2019", seed=11)
    text = render(report, "tabs")
    pro = report["proactive_disclosure"]
    text = text.replace("\t".join(["", "行政事业性收费", *map(str, pro["administrative_fees"].values())]),
                        "\t".join(["", "行政事业性收费", "/", "减4"]))
    procurement = "\t".join(["", "政府集中采购", *(f"{v:g}" if isinstance(v, float) else str(v)
                                               for v in pro["government_procurement"].values())])
    assert procurement in text
    text = text.replace(procurement, "\t".join(["", "政府集中采购", "3", "251000元"]))
    result = run(pipeline, text)
    fees = result.proactive_disclosure["administrative_fees"]
    assert fees == {"previous_year_items": None, "change": -4}
    assert "not applicable" in result.provenance["proactive_disclosure.administrative_fees.previous_year_items"].note
    assert result.proactive_disclosure["government_procurement"] == {"items": 3, "amount_10k_yuan": 25.1}
    assert "万元" in result.provenance["proactive_disclosure.government_procurement.amount_10k_yuan"].note


def test_blank_cells_filled_only_by_arithmetic(pipeline):
    report = consistent_report(seed=2)
    zero_row = next(r for r, cols in report["requests"].items() if not any(cols.values()) and r != "other_unpaid_fee")
    text = render(report, "tabs")
    line = next(li for li in text.splitlines() if li.endswith("\t".join(["0"] * 7) + "\t\t")
                and label_of(report, zero_row) in li)
    text = text.replace(line, line.replace("\t0\t", "\t\t", 1))  # a blank cell, lost by the dump
    result = run(pipeline, text)
    assert result.requests[zero_row] == report["requests"][zero_row]
    assert "arithmetic" in {result.provenance[f"requests.{zero_row}.{c}"].how for c in report["requests"][zero_row]}


def label_of(report, row):
    from service.template import get_template

    return get_template(report["template"]).sections["requests"].row(row).label


def test_text_without_a_table_is_a_result_with_every_cell_null(pipeline):
    result = run(pipeline, "今天天气很好。\n我们去公园散步，看到了 3 只鸟。\n")
    assert all(v is None for v in result.flat_values().values())
    assert any(f.rule == "document.no_table" for f in result.findings)
    assert not result.valid


def test_unreadable_label_between_two_readable_rows_is_placed_by_order(pipeline):
    report = consistent_report(seed=12)
    text = render(report, "tabs").replace("二、上年结转政府信息公开申请数量", "二年结转身八一、上十和移以们口心川，黑")
    result = run(pipeline, text)
    assert result.requests["carried_over"] == report["requests"]["carried_over"]
    assert result.provenance["requests.carried_over.total"].how == "order"
    assert any("carried_over" in w and "unreadable" in w for w in result.warnings)


@pytest.mark.parametrize("template_id", ["gov-info-disclosure/2021", "gov-info-disclosure/2019"])
@pytest.mark.parametrize("style", REAL_STYLES)
def test_real_serializations(pipeline, style, template_id):
    """Page texts as real sites print them: empty cells as lone "|" lines or blanks between pipes, a whole table on
    one line with its cells run together, PDF-to-markdown with row labels torn out of the table."""
    report = small_report(template_id) if style in ("one_line", "table_lines") else consistent_report(template_id, seed=len(style))
    text = render_real(report, style)
    result = run(pipeline, text)
    assert result.template == template_id
    assert (result.agency, result.year) == (report["agency"], report["year"])
    assert_tables(result, report)


def test_one_line_table_is_cut_into_rows():
    from service.document import Source
    from service.textdump import read_text

    report = small_report()
    doc = read_text(Source("r.txt", render_real(report, "one_line").encode("utf-8"), "text"))
    rows = {line.cells[-2].text: line.cells[-1].text for line in doc.lines if len(line.cells) > 1}
    granted = report["requests"]["granted"]
    assert rows["(一)予以公开"] == "".join(str(v) for v in granted.values())
    # "…00000002.其他…": the enumerator of the next label is not a digit of the row before it.
    assert rows["2.其他法律行政法规禁止公开"] == "".join(str(v) for v in report["requests"]["denied_prohibited_by_law"].values())


def test_page_chrome_before_the_title(pipeline):
    report = consistent_report(seed=4)
    title = render(report, "tabs").splitlines()[0]
    text = "\n".join([f"标题: {title}", "发布时间: 2024-01-20 10:00", "文号:", "栏目: 政府信息公开年报",
                      "当前位置：首页 > 政务公开 > 政府信息公开年报", render(report, "tabs")])
    result = run(pipeline, text)
    assert (result.agency, result.year) == (report["agency"], report["year"])
    assert_tables(result, report)


def test_traditional_characters(pipeline):
    from opencc import OpenCC

    report = consistent_report(seed=6)
    result = run(pipeline, OpenCC("s2t").convert(render(report, "pipes")))
    assert_tables(result, report)


def test_amounts_in_yuan_are_read_as_10k_yuan(pipeline):
    report = consistent_report(seed=8)
    fee = report["proactive_disclosure"]["administrative_fees"]["amount_10k_yuan"]
    text = render(report, "tabs").replace("本年收费金额（单位：万元）", "本年收费金额（单位：元）")
    text = text.replace(f"行政事业性收费\t{fee:g}", f"行政事业性收费\t{round(fee * 10000):d}")
    result = run(pipeline, text)
    assert result.proactive_disclosure["administrative_fees"]["amount_10k_yuan"] == pytest.approx(fee)
    assert "万元" in result.provenance["proactive_disclosure.administrative_fees.amount_10k_yuan"].note


def test_change_printed_with_zeng_and_jian(pipeline):
    report = consistent_report("gov-info-disclosure/2019", seed=9)
    pro = report["proactive_disclosure"]
    pro["administrative_licensing"]["change"], pro["administrative_penalty"]["change"] = 5, -2
    text = render(report, "tabs")
    for row, printed in (("administrative_licensing", "增5"), ("administrative_penalty", "减2")):
        values = [str(v) for v in pro[row].values()]
        label = get_label(report, row)
        old = "\t".join([label, *values])
        assert old in text
        text = text.replace(old, "\t".join([label, values[0], printed, values[2]]))
    result = run(pipeline, text)
    assert result.proactive_disclosure["administrative_licensing"]["change"] == 5
    assert result.proactive_disclosure["administrative_penalty"]["change"] == -2


def get_label(report, row):
    from service.template import get_template

    return get_template(report["template"]).sections["proactive_disclosure"].row(row).label


def test_labels_only_invents_nothing(pipeline):
    """An empty template (labels printed, no values): no value may be made up."""
    from service.document import InputError

    report = consistent_report(seed=10)
    lines = [li for li in render(report, "tabs").splitlines()]
    emptied = "\n".join("\t".join(c for c in li.split("\t") if not c.strip().lstrip("-减").replace(".", "").isdigit())
                        for li in lines)
    try:
        result = run(pipeline, emptied)
    except InputError:
        return
    got = result.model_dump()
    assert all(v is None for s in SECTIONS for cols in got[s].values() for v in cols.values())


# --- the factory's serializations of real page texts -------------------------------------------------------------

def _factory_doc(index: int):
    import random

    from training.synth.compose import compose

    return compose(f"doc-{index:06d}", random.Random(f"formats-{index}"), ["2021", "2019"])


def _request_lines(doc, text: str) -> dict[str, list[str]]:
    """Each 三 row as the reader gives it: row key -> the texts of its last 7 cells."""
    import unicodedata

    from service.document import Source
    from service.labels import simplified
    from service.textdump import read_text

    labels = {simplified(unicodedata.normalize("NFKC", r.label)): r.key for r in doc.template.sections["requests"].rows}
    out = {}
    for line in read_text(Source("r.txt", text.encode("utf-8"), "text")).lines:
        texts = [simplified(unicodedata.normalize("NFKC", c.text)) for c in line.cells]
        key = next((labels[t] for t in reversed(texts) if t in labels), None)
        if key and key not in out:
            out[key] = texts[-7:]
    return out


@pytest.mark.parametrize("style", ["slash_cells", "row_marks", "pipes_blank"])
def test_factory_empty_cells_are_blank_cells_in_place(style):
    """Every 三 row comes out with its 7 cells in place: the printed numbers, and the empty cells as blanks exactly
    where the truth has a 0 that the row's total forces."""
    from training.synth.render_text import render_text

    for index in range(3):
        doc = _factory_doc(index)
        rows = _request_lines(doc, render_text(doc, style))
        assert set(rows) == set(doc.report["requests"])
        for key, cells in rows.items():
            truth = doc.report["requests"][key]
            assert [int(c) if c else 0 for c in cells] == list(truth.values()), key
        assert any("" in cells for cells in rows.values())


def test_factory_one_line_rows_keep_their_digits():
    """A table printed on one line comes out one row per line, its digits run together as printed."""
    from training.synth.render_text import render_text

    for index in range(3):
        doc = _factory_doc(index)
        text = render_text(doc, "one_line")
        assert sum(1 for line in text.splitlines() if "主动公开政府信息情况" in line) == 1
        rows = _request_lines(doc, text)
        assert set(rows) == set(doc.report["requests"])
        for key, cells in rows.items():
            assert cells[-1].replace(" ", "") == "".join(str(v) for v in doc.report["requests"][key].values()), key


def test_factory_markdown_with_torn_labels(pipeline):
    from training.synth.render_text import render_text

    for index in range(3):
        doc = _factory_doc(index)
        text = render_text(doc, "markdown_torn")
        assert "|---|" in text
        result = run(pipeline, text, name="r.md")
        assert_tables(result, doc.report)


def test_one_line_table_keeps_a_signed_change_in_its_row():
    from service.document import Source
    from service.textdump import read_text

    report = small_report("gov-info-disclosure/2019")
    report["proactive_disclosure"]["administrative_licensing"]["change"] = -3
    text = render_real(report, "one_line")
    lic = report["proactive_disclosure"]["administrative_licensing"]
    for printed in ("-3", "减3"):
        doc = read_text(Source("r.txt", text.replace(f"行政许可{lic['previous_year_items']}-3",
                                                     f"行政许可{lic['previous_year_items']}{printed}").encode(), "text"))
        rows = {line.cells[-2].text: line.cells[-1].text for line in doc.lines if len(line.cells) > 1}
        assert rows["行政许可"] == f"{lic['previous_year_items']} {printed}{lic['decisions']}"


def test_amounts_in_yuan_in_an_html_table(pipeline):
    from tests.textgen import prose_head, prose_tail, table_rows

    report = consistent_report(seed=13)
    fee = report["proactive_disclosure"]["administrative_fees"]["amount_10k_yuan"]
    rows = []
    for label, values in table_rows(report):
        cells = [c for c in label.split("\t") if c] + values
        if values == [f"{fee:g}"] and label == "行政事业性收费":
            cells = [label, f"{round(fee * 10000):d}"]
        rows.append("<tr>" + "".join(f"<td>{c.replace('单位：万元', '单位：元')}</td>" for c in cells) + "</tr>")
    html = ("<html><body>" + "".join(f"<p>{p}</p>" for p in prose_head(report) if p) + "<table>" + "".join(rows)
            + "</table>" + "".join(f"<p>{p}</p>" for p in prose_tail(report) if p) + "</body></html>")
    result = run(pipeline, html, name="r.html")
    assert result.proactive_disclosure["administrative_fees"]["amount_10k_yuan"] == pytest.approx(fee)


def test_vlm_markdown_label_gaps_are_not_blank_cells():
    """The empty cells a merged label leaves in a markdown grid are layout: each 三 row keeps exactly its 7 values."""
    from service.document import Source
    from service.textdump import read_text

    report = consistent_report(seed=len("vlm_markdown"))
    doc = read_text(Source("r.md", render_real(report, "vlm_markdown").encode("utf-8"), "text"))
    rows = [li for li in doc.lines if any(c.text.isdigit() for c in li.cells)
            and any(c.text and not c.text.isdigit() for c in li.cells) and len(li.cells) >= 8]
    assert len(rows) == len(report["requests"])
    for li in rows:
        values = [c for c in li.cells if not c.text or c.text.isdigit()]
        assert len(values) == 7, [c.text for c in li.cells]


def test_2019_template_printed_for_a_later_year(pipeline):
    """Some agencies kept the 2019 trial table after 2021: its markers, not the year, choose the template."""
    report = consistent_report("gov-info-disclosure/2019", seed=14)
    report["year"] = 2022
    result = run(pipeline, render(report, "pipes"))
    assert (result.template, result.year) == ("gov-info-disclosure/2019", 2022)
    assert_tables(result, report)


def _blank_heavy_doc(style: str):
    """A factory document whose dump in `style` prints at least 40 empty value cells (the zero parts of 三 and 四
    rows)."""
    from service.document import Source
    from service.textdump import read_text
    from service.values import tokenize
    from training.synth.render_text import render_text

    for index in range(20):
        doc = _factory_doc(index)
        text = render_text(doc, style)
        lines = read_text(Source("r.txt", text.encode("utf-8"), "text")).lines
        blanks = sum(t.kind == "blank" for i, li in enumerate(lines) for c in li.cells for t in tokenize(c, i))
        if blanks >= 40:
            return doc, text
    raise AssertionError(f"no blank-heavy document in {style}")


@pytest.mark.parametrize("style", ["slash_cells", "row_marks", "pipes_blank"])
def test_factory_blank_heavy_documents_decode_to_the_truth(pipeline, style):
    """Rows of mostly empty cells (each a 0 the row's total forces) decode to the truth: a blank is a cell in
    place, never dropped for a lost cell elsewhere, so the model stays one reading per row."""
    doc, text = _blank_heavy_doc(style)
    result = run(pipeline, text)
    assert not any("time limit" in w for w in result.warnings)
    assert_tables(result, doc.report)
    assert result.provenance["requests.new.total"].how == "read"
    assert any(p.how == "blank" for p in result.provenance.values())


def test_factory_vlm_markdown_keeps_the_grid_columns(pipeline):
    """A VLM grid prints 四's header rows with gaps and its one row of numbers from the first column: each number
    keeps its printed column."""
    from training.synth.render_text import render_text

    for index in range(3):
        doc = _factory_doc(index)
        result = run(pipeline, render_text(doc, "vlm_markdown"), name="r.md")
        assert_tables(result, doc.report)


def test_factory_one_line_tables_are_right_or_null_with_a_finding(pipeline):
    """A table on one line: every cut that the arithmetic decides is right (a signed change "增98" included: its
    sign marks the change cell), and each cell it cannot decide is null and named in a finding."""
    from training.synth.render_text import render_text

    for index in range(6):
        doc = _factory_doc(index)
        result = run(pipeline, render_text(doc, "one_line"))
        got = result.model_dump()
        named = {c for f in result.findings for c in f.cells}
        for s in SECTIONS:
            for r, cols in doc.report[s].items():
                for c, v in cols.items():
                    assert got[s][r][c] in (v, None), (s, r, c, got[s][r][c], v)
                    assert got[s][r][c] is not None or f"{s}.{r}.{c}" in named, (s, r, c)


def test_factory_cli_text_styles_in_turn(tmp_path):
    """`--text-styles` gives the text dumps those serializations in turn, and the truth says which."""
    from training.synth.__main__ import main

    assert main(["--n", "3", "--seed", "5", "--kinds", "text", "--text-styles", "pipes_blank,one_line",
                 "--out", str(tmp_path), "--workers", "1", "--quiet"]) == 0
    styles = [json.loads((tmp_path / f"doc-00000{i}.truth.json").read_text(encoding="utf-8"))["style"]["text_style"]
              for i in (1, 2, 3)]
    assert styles == ["pipes_blank", "one_line", "pipes_blank"]
    assert "|   |" in (tmp_path / "doc-000001.txt").read_text(encoding="utf-8")
    assert sum(1 for li in (tmp_path / "doc-000002.txt").read_text(encoding="utf-8").splitlines()
               if "主动公开政府信息情况" in li) == 1
