"""The figures a synthetic report's prose states: drawn from its tables, now and then contradicting one on purpose.

Returns paragraphs for 一、总体情况 and the truth: {flat prose key: {"value" (as the prose states it), "table",
"approximate", "contradicts"}}. Sentences about another year, another body and information items are written too,
and are not in the truth: a reader that takes them is wrong.
"""
from __future__ import annotations

import random
import re

from service.prose import cells_of, resolve, table_value
from service.template import Template
from training.synth import words

P_CONTRADICT = 0.3  # documents whose prose contradicts one of their table's figures


def _flat(report: dict) -> dict:
    return {(s, r, c): v for s in ("proactive_disclosure", "requests", "review_and_litigation")
            for r, cols in report[s].items() for c, v in cols.items()}


def _num(value) -> str:
    """A number as a report prints it: 12, 3.5, 39557.99 (never rounded)."""
    return f"{value:.4f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


def _cn(rng: random.Random, n: int) -> str:
    """1..99 in Chinese numerals, as prose writes small counts: 两, 十二, 二十."""
    if n == 2 and rng.random() < 0.5:
        return "两"
    tens, ones = divmod(n, 10)
    if tens == 0:
        return words.CN_DIGITS[ones]
    return ("" if tens == 1 else words.CN_DIGITS[tens]) + "十" + (words.CN_DIGITS[ones] if ones else "")


class _Writer:
    def __init__(self, rng: random.Random, template: Template, report: dict):
        self.rng, self.template, self.values = rng, template, _flat(report)
        self.truth: dict[str, dict] = {}

    def key(self, *keys: str) -> str | None:
        return resolve(keys, self.template)

    def table(self, key: str):
        return table_value(key, self.template, self.values)

    def state(self, key: str | None, wordings: list[str], approximate_ok: bool = False, **extra) -> str | None:
        """One wording stating the key's table value; None where the template lacks the key."""
        if key is None or key in self.truth:
            return None
        value = self.table(key)
        if value is None:
            return None
        approx = approximate_ok and isinstance(value, int) and value >= 30 and self.rng.random() < 0.15
        if approx:
            shown = value // 10 * 10
            text = f"{shown}余" if self.rng.random() < 0.7 else f"约{shown}"
        elif isinstance(value, int) and 0 < value < 100 and self.rng.random() < 0.12:
            shown, text = value, _cn(self.rng, value)
        else:
            shown = value
            text = _num(value)
        self.truth[key] = {"value": shown, "table": value, "approximate": approx, "contradicts": False}
        return self.rng.choice(wordings).format(v=text, **extra)

    def contradict(self, paragraphs: list[str]) -> list[str]:
        """Change one exactly stated figure in the text, and say so in the truth."""
        exact = [k for k, t in self.truth.items() if not t["approximate"] and t.get("text")]
        if not exact or self.rng.random() >= P_CONTRADICT:
            return paragraphs
        key = self.rng.choice(exact)
        t = self.truth[key]
        if isinstance(t["value"], float):
            new = round(t["value"] + self.rng.choice([-1, 1]) * self.rng.choice([0.5, 1.2, 3.0]), 2)
            new = new if new >= 0 else round(t["value"] + 1.5, 2)
        else:
            new = t["value"] + self.rng.choice([-3, -2, -1, 1, 2, 5, 10])
            new = new if new >= 0 else t["value"] + 1
        old_text = t["text"]
        at = old_text.rfind(t["shown"])
        new_text = old_text[:at] + _num(new) + old_text[at + len(t["shown"]):]
        t.update(value=new, contradicts=True)
        for other in self.truth.values():  # 均获维持 states the upheld count as the total
            if other.get("follows") == key:
                other.update(value=new, contradicts=new != other["table"])
        return [p.replace(old_text, new_text, 1) for p in paragraphs]


def _say(w: _Writer, key: str | None, wordings: list[str], out: list[str], **kw) -> None:
    sentence = w.state(key, wordings, **kw)
    if sentence:
        out.append(sentence)
        w.truth[key].update(text=sentence, shown=_number_text(sentence))


def _number_text(sentence: str) -> str:
    """The figure as written in its sentence: the last run of digits or Chinese numerals."""
    runs = re.findall(r"\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百千]+", sentence)
    return runs[-1] if runs else ""


def write(rng: random.Random, template: Template, report: dict, year: int, agency: str) -> tuple[list[str], dict]:
    """Paragraphs that state the tables' figures, and the truth of what they state."""
    w = _Writer(rng, template, report)
    B = words.FIGURES
    short = words.short_name(agency)
    requests: list[str] = []
    new_key = w.key("requests.new.total")
    if w.table(new_key) == 0 and rng.random() < 0.5:
        requests.append(rng.choice(B["none_received"]))
        w.truth[new_key] = {"value": 0, "table": 0, "approximate": False, "contradicts": False}
    else:
        _say(w, new_key, B["new"], requests, approximate_ok=True)
        if requests and rng.random() < 0.3 and w.table(new_key) and not w.truth[new_key]["approximate"]:
            said = []
            for col in ("natural_person", "commercial_enterprise"):
                key = w.key(f"requests.new.{col}")
                if key and w.table(key):
                    said.append(B["applicants"][col].format(v=w.table(key)))
                    w.truth[key] = {"value": w.table(key), "table": w.table(key), "approximate": False,
                                    "contradicts": False}
            if said:
                requests[-1] += "，其中" + "、".join(said)
        if rng.random() < 0.3 and w.table(new_key):
            requests[-1] += rng.choice(B["compare"]).format(last=year - 1, x=rng.randint(1, 400))
        if rng.random() < 0.2 and (w.table(new_key) or 0) > 3:
            requests.append(rng.choice(B["other_body"]).format(body=rng.choice(words.BUREAUS),
                                                               x=rng.randint(1, w.table(new_key) - 1)))
    if w.table(new_key):
        for name, keys in (("carried_over", ["requests.carried_over.total"]),
                           ("handled", ["requests.outcome_total.total"]),
                           ("granted", ["requests.granted.total"]),
                           ("partially_granted", ["requests.partially_granted.total"]),
                           ("denied", ["requests.denied.total"]),
                           ("unavailable", ["requests.unavailable.total"]),
                           ("not_processed", ["requests.not_processed.total"]),
                           ("other", ["requests.other_handling.total", "requests.other.total"]),
                           ("carried_forward", ["requests.carried_forward.total"])):
            if rng.random() < 0.6:
                _say(w, w.key(*keys), B[name], requests, next=year + 1)
    paragraphs = []
    if requests:
        head = rng.choice(B["requests_head"]).format(year=year, short=short)
        paragraphs.append(head + "，".join(requests) + "。")
    if rng.random() < 0.25:
        paragraphs.append(rng.choice(B["other_year"]).format(last=year - 1, x=rng.randint(1, 400)))

    proactive: list[str] = []
    for name, keys in (("normative_issued", ["proactive_disclosure.normative_documents.issued",
                                             "proactive_disclosure.normative_documents.newly_made"]),
                       ("normative_repealed", ["proactive_disclosure.normative_documents.repealed"]),
                       ("normative_in_force", ["proactive_disclosure.normative_documents.in_force"]),
                       ("licensing", ["proactive_disclosure.administrative_licensing.decisions"]),
                       ("penalty", ["proactive_disclosure.administrative_penalty.decisions"]),
                       ("coercion", ["proactive_disclosure.administrative_coercion.decisions"]),
                       ("fees", ["proactive_disclosure.administrative_fees.amount_10k_yuan"])):
        if rng.random() < 0.35:
            _say(w, w.key(*keys), B[name], proactive)
    if rng.random() < 0.3:
        proactive.append(rng.choice(B["items"]).format(x=rng.randint(40, 900), y=rng.randint(1, 30)))
    if proactive:
        paragraphs.append(rng.choice(B["proactive_head"]).format(year=year, short=short) + "，".join(proactive) + "。")

    review = _review(w, rng, B)
    if review:
        paragraphs.append(review)
    paragraphs = w.contradict(paragraphs)
    truth = {k: {f: t[f] for f in ("value", "table", "approximate", "contradicts")} for k, t in w.truth.items()}
    return paragraphs, truth


def _review(w: _Writer, rng: random.Random, B: dict) -> str | None:
    rec = w.key("review_and_litigation.reconsideration.total")
    lit = w.key("review_and_litigation.litigation.total")
    if rng.random() < 0.4:
        return None
    if w.table(rec) == 0 and w.table(lit) == 0 and rng.random() < 0.6:
        for k in (rec, lit):
            w.truth[k] = {"value": 0, "table": 0, "approximate": False, "contradicts": False}
        return rng.choice(B["none_review"])
    parts: list[str] = []
    for key, name in ((rec, "reconsideration"), (lit, "litigation")):
        _say(w, key, B[name], parts)
        if not parts or key not in w.truth or not w.table(key):
            continue
        s, r, _ = key.split(".")
        cols = {c: w.table(w.key(f"{s}.{r}.{c}")) for c in ("upheld", "corrected", "other", "pending")}
        if cols["upheld"] == w.table(key) and rng.random() < 0.6:
            parts[-1] += rng.choice(B["all_upheld"])
            w.truth[w.key(f"{s}.{r}.upheld")] = {"value": cols["upheld"], "table": cols["upheld"],
                                                 "approximate": False, "contradicts": False, "follows": key}
        elif rng.random() < 0.5:
            said = []
            for c, v in cols.items():
                if v:
                    said.append(B["outcome"][c].format(v=v))
                    w.truth[w.key(f"{s}.{r}.{c}")] = {"value": v, "table": v, "approximate": False,
                                                      "contradicts": False}
            if said:
                parts[-1] += "，其中" + "，".join(said)
    return ("全年" + "；".join(parts) + "。") if parts else None
