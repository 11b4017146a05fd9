"""Every text serialization real dumps show gives the canonical report exactly."""
import json
from pathlib import Path

import pytest

from service.ingest import load_source
from service.pipeline import Pipeline, PipelineOptions
from service.template import SECTIONS
from tests.textgen import STYLES, consistent_report, render

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
