"""The template data files: complete, consistent with the contract, and their rules well-formed."""
import re
from pathlib import Path

import pytest

from service.labels import FuzzyLabelMatcher, normalize, targets_for
from service.template import SECTIONS, all_templates, get_template

CONTRACT = Path(__file__).resolve().parents[2] / "shared" / "contract.md"


def test_both_templates_load_newest_first():
    assert [t.id for t in all_templates()] == ["gov-info-disclosure/2021", "gov-info-disclosure/2019"]


@pytest.mark.parametrize("template", all_templates(), ids=lambda t: t.id)
def test_rules_name_existing_cells(template):
    for rule in template.rules:
        section = template.sections[rule.section]
        keys = set(section.row_keys()) if rule.across == "rows" else set(section.columns)
        assert set(rule.left + rule.right) <= keys, rule.id
    for section in template.sections.values():
        for row in section.rows:
            assert set(row.columns) <= set(section.columns), row.key


def test_field_counts():
    assert len(get_template("gov-info-disclosure/2021").cells()) == 200
    assert len(get_template("gov-info-disclosure/2019").cells()) == 22 + 23 * 7 + 15


@pytest.mark.skipif(not CONTRACT.exists(), reason="../shared/contract.md not present")
@pytest.mark.parametrize("template", all_templates(), ids=lambda t: t.id)
def test_keys_match_the_contract(template):
    text = CONTRACT.read_text(encoding="utf-8")
    year = template.id.rsplit("/", 1)[1]
    part = text[text.index(f"## {year}"):]
    nxt = re.search(r"\n## ", part[3:])
    part = part[: nxt.start() + 3] if nxt else part
    for section in ("proactive_disclosure", "requests"):
        for row in template.sections[section].rows:
            assert f"`{row.key}`" in part, row.key
    for key in ("natural_person", "total", "reconsideration", "litigation_after_reconsideration", "pending"):
        assert f"`{key}`" in text
    assert set(template.sections) == set(SECTIONS)


@pytest.mark.parametrize("template", all_templates(), ids=lambda t: t.id)
def test_every_printed_label_names_its_own_row(template):
    """The fuzzy matcher tells every row from every other by its printed label alone."""
    targets = [t for t in targets_for(template) if t.kind == "row"]
    scores = FuzzyLabelMatcher().scores([t.labels[0] for t in targets], targets)
    for i, row in enumerate(scores):
        best = max(range(len(row)), key=row.__getitem__)
        same_text = normalize(targets[best].labels[0]) == normalize(targets[i].labels[0])
        assert best == i or same_text, (targets[i].key, targets[best].key)


def test_normalize_strips_enumerators_punctuation_and_traditional():
    assert normalize("（三）1.屬於國家秘密") == "属于国家秘密"
    assert normalize("四、结转下年度继续办理") == "结转下年度继续办理"
    assert re.fullmatch(r"[\u4e00-\u9fff]+", normalize("（二）部分公开（区分处理的，只计这一情形，不计其他情形）"))


def test_merged_rows_name_rows_of_their_heading():
    """A group printed as one row (（六）其他处理 on a 2021 table): its label is the heading of the rows it sums."""
    import yaml

    from service.template import TEMPLATE_DIR, get_template

    for path in TEMPLATE_DIR.glob("*.yaml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        t = get_template(data["id"])
        for key, section in data["sections"].items():
            for merged in section.get("merged_rows", []):
                rows = [t.sections[key].row(r) for r in merged["rows"]]
                assert {r.parent for r in rows} == {merged["label"]}
