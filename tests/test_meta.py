"""Agency, year and template from the title, the signature and the prose."""
import pytest

from service.document import Cell, Document, Line
from service.meta import detect_template, read_meta


def doc(*lines: str) -> Document:
    return Document(source="x", kind="text", lines=[Line([Cell(t)]) for t in lines])


@pytest.mark.parametrize("title, agency, year", [
    ("湛河区人民政府办公室 2023 年政府信息公开工作年度报告", "湛河区人民政府办公室", 2023),
    ("老城区西关街道办事处 2024 年政府信息公开工作年 度报告", "老城区西关街道办事处", 2024),
    ("某某市生态环境局关于2022年度政府信息公开工作年度报告", "某某市生态环境局", 2022),
    ("某某区人民政府二〇二一年政府信息公开工作年度报告", "某某区人民政府", 2021),
    ("2020年某某县交通运输局政府信息公开工作年度报告", "某某县交通运输局", 2020),
    ("梅江区卫生健康委员会 2025 年政府言息公开工作年度报告", "梅江区卫生健康委员会", 2025),  # OCR: 信 read as 言
])
def test_title_variants(title, agency, year):
    assert read_meta(doc(title, "一、总体情况", "正文。")) == (agency, year)


def test_signature_and_prose_when_there_is_no_title():
    d = doc("一、总体情况", "2023年我街道共收到1件依申请公开件。", "2023年度本机关未收取信息处理费。",
            "安泰街道办事处", "2024年1月4日")
    assert read_meta(d) == ("安泰街道办事处", 2023)


def test_template_by_markers_then_by_year():
    assert detect_template(doc("信息内容", "本年新制作数量", "本年新公开数量", "对外公开总数量"), 2022).id \
        == "gov-info-disclosure/2019"
    assert detect_template(doc("信息内容", "本年制发件数", "本年废止件数", "现行有效件数"), 2020).id \
        == "gov-info-disclosure/2021"
    assert detect_template(doc("无标记"), 2020).id == "gov-info-disclosure/2019"
    assert detect_template(doc("无标记"), 2023).id == "gov-info-disclosure/2021"


def test_page_chrome_before_the_title_is_not_the_agency():
    d = doc("标题: 某某区人民政府2021年度政府信息公开工作年度报告", "发布时间: 2022-02-08 16:34", "一、总体情况")
    assert read_meta(d) == ("某某区人民政府", 2021)


def test_a_prose_sentence_is_not_a_title():
    d = doc("根据《中华人民共和国政府信息公开条例》和有关要求,现将我办2022年度政府信息公开情况报告如下",
            "一、总体情况", "某某区人民政府办公室", "2023年1月10日")
    assert read_meta(d) == ("某某区人民政府办公室", 2022)


def test_traditional_title_gives_the_simplified_agency():
    assert read_meta(doc("標題: 某某區人民政府2021年度政府信息公開工作年度報告", "一、總體情況")) == ("某某区人民政府", 2021)


def test_agency_as_the_subject_of_the_opening_sentence_when_there_is_no_title():
    d = doc("一、总体情况", "2023年,在区委、区政府的坚强领导下,安泰街道办事处认真贯彻落实《条例》。", "二、主动公开政府信息情况")
    assert read_meta(d) == ("安泰街道办事处", 2023)
    d = doc("一、总体情况", "2023年,我局认真贯彻落实《条例》。")
    assert read_meta(d) == (None, 2023)
    d = doc("一、总体情况", "2022年,区政府办公室认真贯彻执行《条例》。")
    assert read_meta(d) == (None, 2022)


def test_a_title_wrapped_before_its_last_words_and_a_short_name_spelled_out():
    d = doc("正文", "2022 年某某市发改委政府信息公开工作", "年度报告", "根据《条例》的要求，市发改委编制了本报告。")
    assert read_meta(d) == ("某某市发展和改革委员会", 2022)


def test_a_full_name_the_report_prints_for_itself_when_it_says_only_we():
    d = doc("一、总体情况", "2021年，我局在某某县交通运输局网站上主动公开信息88条。", "我局收到申请3件。")
    assert read_meta(d) == ("某某县交通运输局", 2021)
    # A name of another kind of body than the pronoun's is not the report's own.
    d = doc("一、总体情况", "2021年，我局向某某县人民政府报送信息12条。")
    assert read_meta(d) == (None, 2021)
    # A bare level without a place is no full name.
    d = doc("一、总体情况", "2021年，现公布区统计局信息。我局收到申请3件。")
    assert read_meta(d) == (None, 2021)
