"""One synthetic document as an ordered list of blocks (title, headings, paragraphs, tables, signature).

Drawn once from a seed; every renderer walks the same blocks, so all outputs of a document agree.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

from service.template import Template, all_templates
from training.synth import figures, words
from training.synth.draw import draw_report
from training.synth.style import Style, draw_style
from training.synth.tables import Format, Table, build_tables


@dataclass
class Block:
    kind: str  # title | heading | para | table | sign
    text: str = ""
    table: Table | None = None


@dataclass
class SynthDoc:
    doc_id: str
    template: Template
    report: dict
    broken_rules: list[dict]
    style: Style
    blocks: list[Block] = field(default_factory=list)
    title_style: str = ""
    # The figures the prose states: {flat key: {"value", "table", "approximate", "contradicts"}}.
    prose: dict = field(default_factory=dict)


def pick_template(rng: random.Random, year: int, allowed: list[str]) -> Template:
    """2019 template for 2019-2020, and about 10% of later reports still use it."""
    by_year = {t.first_year: t for t in all_templates()}
    wanted = 2019 if year < 2021 or rng.random() < 0.10 else 2021
    ids = {t.id for t in all_templates() if str(t.first_year) in allowed}
    if by_year[wanted].id not in ids:
        wanted = next(t.first_year for t in all_templates() if t.id in ids)
    return by_year[wanted]


P_MERGED = 0.08  # 2021 tables that print （六）其他处理 as one row


def unknown_under_merged(template, report: dict) -> None:
    """The truth a reader can know of rows printed only as their sum: 0 where the sum is 0, else unknown (null)."""
    section = template.sections["requests"]
    for m in section.merged:
        for col in section.columns:
            total = sum(report["requests"][r][col] for r in m.rows)
            for r in m.rows:
                report["requests"][r][col] = 0 if total == 0 else None


def compose(doc_id: str, rng: random.Random, templates: list[str], p_break: float = 0.05) -> SynthDoc:
    year = rng.randint(2019, 2025)
    template = pick_template(rng, year, templates)
    if template.first_year > year:
        year = rng.randint(template.first_year, 2025)
    agency = words.agency_name(rng)
    drawn = draw_report(rng, template, agency, year, p_break=p_break)
    style = draw_style(rng)
    # Drawn apart from `rng`, so every other draw of a document stays as it was.
    merged = bool(template.sections["requests"].merged) and not drawn.broken_rules \
        and random.Random(f"{doc_id}:merged").random() < P_MERGED
    fmt = Format(negative=style.negative, half_parens=style.half_parens, total_outside=style.total_outside,
                 variants=style.variants, merged=merged)
    tables = build_tables(template, drawn.report, fmt)
    title_style, title = words.title(rng, agency, year)
    new = drawn.report["requests"]["new"]["total"]
    prose = words.prose(rng, agency, year, new)
    # The figures get their own generator, so the tables, style and scan drawn from `rng` stay as they were.
    stated, prose_truth = figures.write(random.Random(f"{doc_id}:{agency}:{year}"), template, drawn.report, year,
                                        agency)
    received = words.RECEIVED_SENTENCE.format(n4=new)  # the figure paragraphs state it, or contradict it
    overview = [p.replace(received, words.RECEIVED_NO_FIGURE) for p in prose[words.HEADINGS[0]]]
    prose[words.HEADINGS[0]] = overview + stated
    blocks = [Block("title", title)]
    for heading in words.HEADINGS:
        blocks.append(Block("heading", heading))
        section = next((s for s in template.sections.values() if s.title == heading), None)
        if section is not None:
            blocks.append(Block("table", table=tables[section.key]))
        for para in prose.get(heading, []):
            blocks.append(Block("para", para))
    blocks.append(Block("sign", agency))
    blocks.append(Block("sign", words.sign_date(rng, year)))
    if merged:
        unknown_under_merged(template, drawn.report)
    return SynthDoc(doc_id=doc_id, template=template, report=drawn.report, broken_rules=drawn.broken_rules,
                    style=style, blocks=blocks, title_style=title_style, prose=prose_truth)

