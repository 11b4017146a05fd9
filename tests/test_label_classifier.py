"""The shipped character tagger for labels: loads offline, reads clean and corrupted labels, and trains; its ONNX
export (what a run uses) answers as the torch weights do."""
from __future__ import annotations

import os

import numpy as np
import pytest

from models.label_classifier import Span, TokenLabelClassifier
from models.label_classifier.classes import target_ref
from models.label_classifier.classifier import MODEL_DIR
from service.labels import LabelTarget, targets_for
from service.template import all_templates, get_template

T2021 = get_template("gov-info-disclosure/2021")
T2019 = get_template("gov-info-disclosure/2019")


@pytest.fixture(scope="module")
def clf() -> TokenLabelClassifier:
    return TokenLabelClassifier(MODEL_DIR, runtime="onnx")


@pytest.fixture(scope="module")
def torch_clf() -> TokenLabelClassifier:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    return TokenLabelClassifier(MODEL_DIR, runtime="torch")


def best(clf: TokenLabelClassifier, texts: list[str], template=T2021) -> list[tuple[str, float]]:
    """(section.kind.key, score) of the best target of the template for each text."""
    targets = targets_for(template)
    out = []
    for row in clf.scores(texts, targets):
        k = max(range(len(targets)), key=row.__getitem__)
        out.append((targets[k].id, row[k]))
    return out


@pytest.mark.parametrize("text, key", [
    ("（三）不予公开 1.属于国家秘密", "requests.row.denied_state_secret"),
    ("1.属于国家秘密", "requests.row.denied_state_secret"),
    ("屬於國家秘密", "requests.row.denied_state_secret"),
    ("本年新", "requests.row.new"),
    ("三类内容事务信息", "requests.row.denied_internal_affairs"),
    ("一、本年\tF新收政府(信息公开申请数量", "requests.row.new"),
    ("(四) 无 法提供\t1.本机关不掌握相关政府信息", "requests.row.unavailable_not_held"),
    ("5.要求行政机关确认或重新出具已 获取信息", "requests.row.not_processed_confirm_or_reissue"),
    ("本年制发件数", "proactive_disclosure.column.issued"),
    ("社会 公益 组织", "requests.column.social_welfare_org"),
    ("未经复议直接起诉", "review_and_litigation.row.litigation_direct"),
])
def test_reads_clean_and_corrupted_labels(clf, text, key):
    found, score = best(clf, [text])[0]
    assert found == key, (text, found, score)
    assert score > 0.5


def test_every_printed_label_of_both_templates_finds_its_target(clf):
    for template in all_templates():
        targets = targets_for(template)
        texts = [t.labels[0] for t in targets]
        scores = clf.scores(texts, targets)
        for t, row in zip(targets, scores):
            k = max(range(len(targets)), key=row.__getitem__)
            # Targets that print the same words (总计, 其他) share a tag class: either is right.
            assert target_ref(targets[k]) in clf.classes[clf.class_of(t) - 1].targets, (t.labels[0], targets[k].id)


def test_other_text_scores_low(clf):
    texts = ["(大司继报的历本教学艺生、然 运动放一至之的 然", "一、总体情况", "0 0 0 0 0 0 0",
             "本单位2023年度未收取政府信息公开信息处理费。"]
    for text, (key, score) in zip(texts, best(clf, texts)):
        assert score < 0.5, (text, key, score)


def test_a_label_only_the_other_template_prints_scores_low(clf):
    (key, score), = best(clf, ["本年新制作数量"], T2021)
    assert score < 0.3, (key, score)
    (key, score), = best(clf, ["本年新制作数量"], T2019)
    assert key == "proactive_disclosure.column.newly_made" and score > 0.8


def test_scores_shape_and_range(clf):
    targets = targets_for(T2019)
    texts = ["规章", "", "   ", "总计", "x" * 300]
    scores = clf.scores(texts, targets)
    assert len(scores) == len(texts) and all(len(row) == len(targets) for row in scores)
    assert all(0.0 <= s <= 1.0 for row in scores for s in row)
    assert max(scores[1]) == 0.0 and max(scores[2]) == 0.0


def test_a_target_the_model_never_saw_falls_back_to_fuzzy_matching(clf):
    unseen = LabelTarget("test/0", "requests", "row", "brand_new", ("完全没见过的标签",))
    scores = clf.scores(["完全没见过的标签", "规章"], [unseen])
    assert scores[0][0] > 0.9 and scores[1][0] < 0.3


def test_tag_splits_a_cell_holding_a_parent_and_its_row(clf):
    text = "（三）不予公开 1.属于国家秘密"
    spans = clf.tag([text])[0]
    assert all(isinstance(s, Span) and text[s.start:s.end] == s.text for s in spans)
    named = [s for s in spans if s.targets]
    assert [s.tag for s in named] == ["requests.row.denied_state_secret"]
    assert any("parent" in s.roles for s in spans), spans
    assert target_ref(targets_for(T2021)[[t.id for t in targets_for(T2021)].index(
        "requests.row.denied_state_secret")]) in named[0].targets


def test_onnx_scores_equal_torch_scores_on_the_held_out_set(clf, torch_clf):
    from training.labels.evaluate import HELD_OUT_SEED
    from training.labels.generate import HELD_OUT, LabelBank, examples

    held = examples(LabelBank(all_templates(), clf.classes), HELD_OUT, HELD_OUT_SEED, 600)
    texts = [e.text for e in held] + ["x" * 300, "", "   "]  # 300: longer than the model's window, in pieces
    assert len({len(t) for t in texts}) > 20  # many widths, so the export's dynamic axes are exercised
    for template in all_templates():
        targets = targets_for(template)
        a, b = np.array(clf.scores(texts, targets)), np.array(torch_clf.scores(texts, targets))
        assert np.abs(a - b).max() < 1e-4
        assert (a.argmax(1) == b.argmax(1)).all()
        assert a.max() > 0.9  # real scores, not all zero


def test_tiny_training_run_reduces_loss_exports_and_loads(tmp_path):
    from training.labels.train import Plan, train

    info = train(tmp_path, Plan.tiny(), log=lambda _: None)
    assert info["last_loss"] < info["first_loss"] * 0.95
    texts = ["规章", "总计", "（三）不予公开 1.属于国家秘密"]
    by_runtime = {}
    for runtime in ("onnx", "torch"):
        tiny = TokenLabelClassifier(tmp_path, runtime=runtime)
        by_runtime[runtime] = np.array(tiny.scores(texts, targets_for(T2021)))
        assert by_runtime[runtime].shape == (3, len(targets_for(T2021)))
    assert np.abs(by_runtime["onnx"] - by_runtime["torch"]).max() < 1e-4


def test_auto_picks_the_onnx_model_and_model_torch_the_torch_one():
    from models.label_classifier.model import TorchTagger
    from models.label_classifier.onnx_runtime import OnnxTagger
    from service.pipeline import load_classifier

    assert isinstance(load_classifier("auto").runtime, OnnxTagger)
    assert isinstance(load_classifier("model").runtime, OnnxTagger)
    assert isinstance(load_classifier("model-torch").runtime, TorchTagger)
    assert load_classifier("fuzzy").name == "fuzzy"
