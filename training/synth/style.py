"""How one synthetic document looks: fonts, sizes, margins, rules, page orientation, text-dump flavour.

Drawn once per document and recorded in the truth (`style`), so a failure can be traced to what it looked like.
"""
from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field

FONTS = ("serif", "sans", "wqy")
RULES = ("full", "partial", "horizontal", "none")
TEXT_STYLES = ("tabs", "pipes_cell", "pipes_row", "runs")


@dataclass
class Style:
    font: str = "serif"
    title_font: str = "sans"
    # The face of value cells' numbers ("" the body's): reports often print them in a Latin face (fonts.LATIN).
    # The factory's own draws leave it; the digit recogniser's training (training/digits) draws it.
    value_font: str = ""
    body_size: float = 12.0
    title_size: float = 18.0
    table_size: float = 9.0
    leading: float = 1.5
    margin: float = 72.0
    line_width: float = 0.6
    # Per table (section key): ruling and whether it sits on a landscape page.
    rules: dict[str, str] = field(default_factory=dict)
    landscape: dict[str, bool] = field(default_factory=dict)
    col_jitter: float = 0.1
    value_align: str = "center"
    label_align: str = "left"
    negative: str = "-"
    half_parens: bool = False
    total_outside: bool = False
    variants: bool = False
    heading_bold: bool = True
    text_style: str = "tabs"
    html_border: int = 1
    signature_align: str = "right"
    seal: bool = False

    def as_dict(self) -> dict:
        d = asdict(self)
        if not d["value_font"]:  # the factory's own draws: their truth files as they were
            del d["value_font"]
        return d


def draw_style(rng: random.Random) -> Style:
    tables = ("proactive_disclosure", "requests", "review_and_litigation")
    ruled = rng.choices(RULES, [75, 10, 8, 7])[0]
    rules = {t: (ruled if rng.random() < 0.85 else rng.choice(RULES)) for t in tables}
    landscape = {"proactive_disclosure": False, "requests": rng.random() < 0.12,
                 "review_and_litigation": rng.random() < 0.25}
    body = rng.choice([10.5, 11, 12, 12, 14, 14, 15, 16])
    return Style(
        font=rng.choices(FONTS, [5, 3, 2])[0],
        title_font=rng.choices(FONTS, [3, 5, 2])[0],
        body_size=body,
        title_size=rng.choice([16, 18, 20, 22]),
        table_size=rng.choice([7.5, 8, 8.5, 9, 9, 10, 10.5]),
        leading=rng.uniform(1.3, 1.9),
        margin=rng.uniform(45, 90),
        line_width=rng.choice([0.25, 0.5, 0.5, 0.75, 1.0, 1.5]),
        rules=rules,
        landscape=landscape,
        col_jitter=rng.uniform(0.0, 0.25),
        value_align=rng.choices(["center", "right", "left"], [7, 2, 1])[0],
        label_align=rng.choices(["left", "center"], [6, 4])[0],
        negative=rng.choice(["-", "减"]),
        half_parens=rng.random() < 0.3,
        total_outside=rng.random() < 0.15,
        variants=rng.random() < 0.15,
        heading_bold=rng.random() < 0.7,
        text_style=rng.choice(TEXT_STYLES),
        html_border=rng.choices([1, 0], [9, 1])[0],
        signature_align=rng.choices(["right", "center"], [8, 2])[0],
        seal=rng.random() < 0.6,
    )
