"""The figures the prose states: numerals, approximations, other years and bodies, mismatches with the table."""
import pytest

from service.document import Document, Line, Cell
from service.ingest import load_source
from service.pipeline import Pipeline, PipelineOptions
from service.prose import cn_number, parse_number, prose_findings, prose_hints, read_prose
from service.template import get_template
from tests.textgen import consistent_report, render

T2021 = get_template("gov-info-disclosure/2021")
T2019 = get_template("gov-info-disclosure/2019")


def doc(*paragraphs: str) -> Document:
    return Document(source="t.txt", kind="text", lines=[Line([Cell(p)]) for p in paragraphs])


def values(prose: dict) -> dict:
    return {k: v["value"] for k, v in prose.items()}


@pytest.fixture(scope="module")
def pipeline():
    return Pipeline(PipelineOptions(classifier="fuzzy"))


def with_prose(report: dict, *sentences: str) -> str:
    """The rendered report with sentences added under 一、总体情况."""
    text = render(report, "tabs")
    return text.replace("一、总体情况\n", "一、总体情况\n" + "\n".join(sentences) + "\n", 1)


# --- numbers -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,value", [("十二", 12), ("两", 2), ("二十", 20), ("一百零五", 105), ("三千二百", 3200),
                                        ("一万二千", 12000), ("三〇", 30), ("十", 10)])
def test_chinese_numerals(text, value):
    assert cn_number(text) == value


def test_arabic_numbers():
    assert parse_number("1,234") == 1234
    assert parse_number("2.5万") == 25000
    assert parse_number("12.75") == 12.75


def test_numerals_in_prose():
    got = values(read_prose(doc("本年度共收到政府信息公开申请十二件，办结十件，两件结转下年度继续办理。"), T2021, 2023))
    assert got == {"requests.new.total": 12, "requests.outcome_total.total": 10, "requests.carried_forward.total": 2}


# --- what is read ------------------------------------------------------------------------------------------------

def test_outcomes_groups_and_review():
    text = ("2023年，我委新收政府信息公开申请45件，上年结转政府信息公开申请3件。其中，予以公开20件，部分公开4件，"
            "不予公开6件，无法提供9件，不予处理1件，其他处理2件，结转下年度继续办理6件。"
            "全年发生政府信息公开行政复议5件，其中结果维持3件，结果纠正1件，尚未审结1件；行政诉讼2件，均获维持。")
    got = values(read_prose(doc(text), T2021, 2023))
    assert got == {"requests.new.total": 45, "requests.carried_over.total": 3, "requests.granted.total": 20,
                   "requests.partially_granted.total": 4, "requests.denied.total": 6,
                   "requests.unavailable.total": 9, "requests.not_processed.total": 1, "requests.other.total": 2,
                   "requests.carried_forward.total": 6, "review_and_litigation.reconsideration.total": 5,
                   "review_and_litigation.reconsideration.upheld": 3,
                   "review_and_litigation.reconsideration.corrected": 1,
                   "review_and_litigation.reconsideration.pending": 1,
                   "review_and_litigation.litigation.total": 2, "review_and_litigation.litigation.upheld": 2}


def test_keys_follow_the_template():
    text = "全年制定行政规范性文件7件，废止规范性文件2件，现行有效规范性文件40件。其他处理3件。"
    assert values(read_prose(doc(text), T2021, 2023)) == {
        "proactive_disclosure.normative_documents.issued": 7, "proactive_disclosure.normative_documents.repealed": 2,
        "proactive_disclosure.normative_documents.in_force": 40, "requests.other.total": 3}
    # The 2019 template has no repealed or in-force column; its (六) is one row.
    assert values(read_prose(doc(text), T2019, 2020)) == {
        "proactive_disclosure.normative_documents.newly_made": 7, "requests.other_handling.total": 3}


def test_a_joined_outcome_is_not_one_row():
    got = values(read_prose(doc("其中予以公开及部分公开30件，不予公开2件。"), T2021, 2023))
    assert got == {"requests.denied.total": 2}


def test_statements_of_none():
    got = values(read_prose(doc("2023年，本单位未收到政府信息公开申请，全年未发生因政府信息公开引起的行政复议和行政诉讼。"),
                            T2021, 2023))
    assert got == {"requests.new.total": 0, "review_and_litigation.reconsideration.total": 0,
                   "review_and_litigation.litigation.total": 0}


def test_wrapped_lines_and_traditional_characters():
    d = Document(source="t", kind="text", lines=[Line([Cell("全年收到政府信息公開申")]), Line([Cell("請 58 件，")]),
                                                 Line([Cell("辦結 58 件。")])])
    assert values(read_prose(d, T2021, 2023)) == {"requests.new.total": 58, "requests.outcome_total.total": 58}


def test_fees_in_yuan_and_the_processing_fee():
    got = values(read_prose(doc("行政事业性收费共计35000元。本年度收取信息处理费200元。"), T2021, 2023))
    assert got == {"proactive_disclosure.administrative_fees.amount_10k_yuan": 3.5}


# --- what is not taken -------------------------------------------------------------------------------------------

def test_approximate_figures_are_flagged():
    prose = read_prose(doc("全年共收到政府信息公开申请300余件，办结约280件。"), T2021, 2023)
    assert prose["requests.new.total"] == {"value": 300, "text": "收到政府信息公开申请300余件", "page": 1,
                                           "approximate": True}
    assert prose["requests.outcome_total.total"]["approximate"]
    assert prose_hints(prose) == {}


def test_other_years_are_not_taken():
    text = ("2022年收到政府信息公开申请31件。2023年，我局共收到政府信息公开申请22件，比2021年(40件)有所下降，"
            "答复22件。去年办结17件。")
    assert values(read_prose(doc(text), T2021, 2023)) == {"requests.new.total": 22,
                                                           "requests.outcome_total.total": 22}


def test_carried_to_next_year_by_its_number():
    got = values(read_prose(doc("2024年，共收到政府信息公开申请60件，办结52件，结转至2025年8件。"), T2021, 2024))
    assert got["requests.carried_forward.total"] == 8


def test_other_bodies_are_not_taken():
    text = "全区共收到政府信息公开申请90件，其中，区财政局收到申请30件。"
    assert values(read_prose(doc(text), T2021, 2023)) == {"requests.new.total": 90}


def test_information_items_are_not_decisions():
    text = "主动公开信息80条，其中行政许可类信息12条，行政处罚信息5条，规范性文件类信息3条。"
    assert read_prose(doc(text), T2021, 2023) == {}


# --- against the table -------------------------------------------------------------------------------------------

def test_mismatch_names_cell_table_and_prose(pipeline):
    report = consistent_report(seed=3)
    new = report["requests"]["new"]["total"]
    handled = report["requests"]["outcome_total"]["total"]
    text = with_prose(report, f"本年度共收到政府信息公开申请{new + 5}件，办结{handled}件，"
                              f"现行有效行政规范性文件约{report['proactive_disclosure']['normative_documents']['in_force'] + 9}件。")
    result = pipeline.run(load_source(text.encode("utf-8"), name="r.txt"))
    assert result.prose["requests.new.total"].value == new + 5
    mismatches = [f for f in result.findings if f.rule == "prose.mismatch"]
    assert len(mismatches) == 1  # the handled figure agrees; the approximate one is never compared
    m = mismatches[0]
    assert m.severity == "warning" and m.cells == ["requests.new.total"]
    assert (m.printed, m.expected) == (new, new + 5)
    assert str(new) in m.message and str(new + 5) in m.message
    assert result.valid  # a warning about the prose leaves the table's validity alone


def test_group_mismatch_compares_the_sum():
    denied = [("requests", r.key, "total") for r in T2021.sections["requests"].rows if r.key.startswith("denied_")]
    table = {c: 0 for c in denied}
    table[denied[0]], table[denied[3]] = 2, 1
    prose = read_prose(doc("不予公开4件。"), T2021, 2023)
    [f] = prose_findings(prose, T2021, table)
    assert (f.printed, f.expected) == (3, 4) and len(f.cells) == len(denied)
    table[denied[1]] = 1
    assert prose_findings(prose, T2021, table) == []


def test_unread_cells_are_not_contradicted():
    prose = read_prose(doc("不予公开4件。收到政府信息公开申请9件。"), T2021, 2023)
    assert prose_findings(prose, T2021, {("requests", "new", "total"): None}) == []


def test_a_figure_no_cut_of_the_uncut_digits_gives_contradicts_the_table():
    prose = read_prose(doc("现行有效行政规范性文件393件。"), T2021, 2023)
    cell = ("proactive_disclosure", "normative_documents", "in_force")
    table = {cell: None}
    [f] = prose_findings(prose, T2021, table, uncut={cell: "77132470"})
    assert f.cells == [".".join(cell)] and f.expected == 393 and "77132470" in f.message
    # A figure some cut gives is no contradiction: the cut is only undecided.
    assert prose_findings(prose, T2021, table, uncut={cell: "77393470"}) == []


def test_a_report_without_a_table_keeps_its_prose(pipeline):
    text = ("某县统计局2023年政府信息公开工作年度报告\n一、总体情况\n2023年，我局新收政府信息公开申请十五件，"
            "上年结转政府信息公开申请1件，予以公开9件，不予处理2件，结转下年度继续办理5件。\n")
    result = pipeline.run(load_source(text.encode("utf-8"), name="t.txt"))
    assert result.year == 2023
    assert {k: v.value for k, v in result.prose.items()} == {
        "requests.new.total": 15, "requests.carried_over.total": 1, "requests.granted.total": 9,
        "requests.not_processed.total": 2, "requests.carried_forward.total": 5}
    assert result.requests["new"]["total"] is None
    assert not [f for f in result.findings if f.rule == "prose.mismatch"]


def test_hints_are_single_exact_cells():
    prose = read_prose(doc("收到政府信息公开申请12件，不予公开3件，办结约10件。"), T2021, 2023)
    assert prose_hints(prose) == {("requests", "new", "total"): 12}


# --- the corpus tables -------------------------------------------------------------------------------------------

def test_corpus_tables_gain_prose_columns_and_mismatches(tmp_path):
    import csv

    import pandas as pd

    from service.batch.tables import build_tables, value_keys
    from tests.test_batch_tables import _corpus, _report

    a, b = _report("甲局", 2023, 0, 0), _report("乙局", 2023, 0, 0)
    a["prose"] = {"requests.new.total": {"value": 7, "text": "收到政府信息公开申请7件", "page": 1, "approximate": False},
                  "requests.denied.total": {"value": 30, "text": "不予公开30余件", "page": 1, "approximate": True}}
    a["findings"].append({"rule": "prose.mismatch", "severity": "warning", "message": "the prose states ...",
                          "cells": ["requests.new.total"], "expected": 7, "printed": 0})
    manifest, out = _corpus(tmp_path, {"/c/a.txt": a, "/c/b.txt": b})
    build_tables(manifest, out)
    frame = pd.read_parquet(out / "reports.parquet")
    assert list(frame.columns)[len(value_keys()) + 4:] == ["prose.requests.new.total", "prose.requests.denied.total",
                                                           "prose.approximate"]
    row = frame.set_index("source").loc["/c/a.txt"]
    assert row["prose.requests.new.total"] == 7 and row["prose.approximate"] == "requests.denied.total"
    assert pd.isna(frame.set_index("source").loc["/c/b.txt", "prose.requests.new.total"])
    with open(out / "findings.csv", encoding="utf-8-sig") as f:
        mismatches = [r for r in csv.DictReader(f) if r["rule"] == "prose.mismatch"]
    assert [(m["source"], m["cells"], m["expected"], m["printed"]) for m in mismatches] == [
        ("/c/a.txt", "requests.new.total", "7", "0")]


# --- the review page ---------------------------------------------------------------------------------------------

def test_review_page_shows_prose_and_marks_contradicted_cells(tmp_path):
    import shutil
    from pathlib import Path

    pytest.importorskip("playwright.sync_api")
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.skip("chromium is not installed")
    from tests.api_support import Server, review_page

    report = consistent_report(seed=5)
    new = report["requests"]["new"]["total"]
    text = with_prose(report, f"全年共收到政府信息公开申请{new + 2}件，不予公开约40件。")
    path = tmp_path / "report.txt"
    path.write_text(text, encoding="utf-8")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    server = Server(data_dir).start()
    try:
        with review_page(server.url, path, chromium) as (page, errors):
            rows = page.locator("table.prose tr[data-prose]")
            assert rows.count() == 2
            assert page.locator("table.prose tr.contradicted").count() == 1
            assert page.locator("td.value.contradicted").count() == 1
            assert page.locator("td.value.contradicted[data-key='requests.new.total']").count() == 1
            page.click("table.prose tr[data-prose='requests.new.total']")
            assert page.inner_text("#detail-key") == "requests.new.total"
            assert str(new + 2) in page.inner_text("#detail-fields")
            assert errors == []
    finally:
        server.stop()


def test_mismatch_says_when_the_table_breaks_its_own_rules_there():
    prose = read_prose(doc("收到政府信息公开申请9件。"), T2021, 2023)
    table = {("requests", "new", "total"): 8}
    [plain] = prose_findings(prose, T2021, table)
    [noted] = prose_findings(prose, T2021, table, broken={"requests.new.total"})
    assert "arithmetic" not in plain.message and "arithmetic fails there too" in noted.message


def test_listed_outcomes_and_joined_ones():
    got = values(read_prose(doc("予以公开8件、部分公开2件、不予公开、无法提供共5件。"), T2021, 2023))
    assert got == {"requests.granted.total": 8, "requests.partially_granted.total": 2}


def test_rows_by_their_own_labels_and_none_carried_forward():
    got = values(read_prose(doc("其中，予以公开3件，本局不掌握相关政府信息2件，重复申请1件。无下年度结转。"), T2021, 2023))
    assert got == {"requests.granted.total": 3, "requests.unavailable_not_held.total": 2,
                   "requests.not_processed_duplicate.total": 1, "requests.carried_forward.total": 0}


def test_who_applied():
    text = "全年共收到申请20件，其中自然人申请17件、商业企业3件；办结20件，其中自然人17件。"
    assert values(read_prose(doc(text), T2021, 2023)) == {
        "requests.new.total": 20, "requests.new.natural_person": 17, "requests.new.commercial_enterprise": 3,
        "requests.outcome_total.total": 20}


def test_other_things_handled_are_not_applications():
    got = values(read_prose(doc("全年办结12件人大代表建议，答复群众留言300条。共办结政府信息公开申请9件。"), T2021, 2023))
    assert got == {"requests.outcome_total.total": 9}


def test_handled_in_other_words_and_both_review_counts_zero():
    text = "新收政府信息公开申请6件，上年结转1件，共办理7件。政府信息公开行政复议和行政诉讼案件均为0。"
    assert values(read_prose(doc(text), T2021, 2023)) == {
        "requests.new.total": 6, "requests.carried_over.total": 1, "requests.outcome_total.total": 7,
        "review_and_litigation.reconsideration.total": 0, "review_and_litigation.litigation.total": 0}


# --- scoring -----------------------------------------------------------------------------------------------------

def test_scoring_figures_and_mismatches():
    from eval.score import prose_counts, prose_key_of, prose_mismatch_counts

    assert prose_key_of(["requests.new.total"]) == "requests.new.total"
    assert prose_key_of(["requests.denied_state_secret.total", "requests.denied_third_party_rights.total"]) == \
        "requests.denied.total"
    assert prose_key_of(["review_and_litigation.litigation_direct.upheld",
                         "review_and_litigation.litigation_after_reconsideration.upheld"]) == \
        "review_and_litigation.litigation.upheld"
    truth = {"requests.new.total": {"value": 12, "approximate": False, "contradicts": True},
             "requests.denied.total": {"value": 30, "approximate": True, "contradicts": False},
             "requests.granted.total": {"value": 4, "approximate": False, "contradicts": False}}
    got = {"requests.new.total": {"value": 12, "approximate": False},
           "requests.denied.total": {"value": 30, "approximate": False},   # the flag is part of being right
           "requests.carried_over.total": {"value": 1, "approximate": False}}
    assert prose_counts(truth, got) == {"tp": 1, "fp": 2, "fn": 2}
    findings = [{"rule": "prose.mismatch", "cells": ["requests.new.total"]},
                {"rule": "prose.mismatch", "cells": ["requests.granted.total"]},
                {"rule": "requests.balance", "cells": ["requests.new.total"]}]
    assert prose_mismatch_counts(truth, findings) == {"tp": 1, "fp": 1, "fn": 0}


def test_xlsx_has_a_prose_sheet(pipeline, tmp_path):
    from openpyxl import load_workbook

    report = consistent_report(seed=4)
    text = with_prose(report, f"全年共收到政府信息公开申请{report['requests']['new']['total']}件。")
    result = pipeline.run(load_source(text.encode("utf-8"), name="r.txt"))
    result.to_xlsx(tmp_path / "r.xlsx")
    rows = list(load_workbook(tmp_path / "r.xlsx")["prose"].values)
    assert rows[0] == ("key", "value", "approximate", "text", "page")
    assert rows[1][:3] == ("requests.new.total", report["requests"]["new"]["total"], False)
