"""Labelled value-cell crops, cut from the factory's scans the way the page reader cuts them.

Each synthetic report is rendered, scanned at a drawn level (the factory's degradations: bled ink, copies, phone
photos, dirty drums, faxes), and prepared as the reader prepares a page (lighting evened, noise cleared, rules
painted out); each value cell's box from the renderer is then cut into text lines by the reader's own
`cell_crops`, so the recogniser learns the crops it will be given. Cells that come out as more than one line are
left out (the label would have to be split). The page is not deskewed, so the crops lean a little as they may in use.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

import cv2
import numpy as np

from models.digits import ALPHABET, to_alphabet
from service.scan.cells import cell_crops, cleaned, soften, stretch
from service.scan.grid import GridCell
from service.scan.raster import even_out, is_bilevel
from service.scan.reader import rulings_of

# The faces of value cells' numbers ("" the document's CJK face): reports print them in Times New Roman most often.
VALUE_FONTS = {"": 7, "times": 5, "times-bold": 1, "arial": 2, "arial-bold": 1, "arial-narrow": 1, "dejavu-serif": 1,
               "dejavu-sans": 1, "mono": 1}
BLANK = 0.08  # value cells printed blank
# Scans drawn per level: the hard levels most, the easy ones so as not to forget clean digits.
LEVEL_WEIGHTS = {"light": 1, "moderate": 2, "heavy": 5, "fax": 4}


@dataclass
class Sample:
    image: np.ndarray  # the crop as the recogniser is given it (grey uint8)
    text: str
    level: str
    profile: str
    dpi: int


def page_samples(gray: np.ndarray, dpi: float, boxes: list[tuple[list[float], str]], rng: random.Random
                 ) -> list[tuple[np.ndarray, str]]:
    """(crop, text) for each value cell box that the reader's cutting makes one line of."""
    # The page as the reader has it before reading, without the turns and deskew (which move the boxes).
    bilevel = is_bilevel(gray)
    gray = even_out(gray, dpi, bilevel)[0]
    _, rulings, mask, ink_clean = rulings_of(gray, dpi, bilevel)
    gray_clean, ink_clean = cleaned(gray, mask, ink_clean, rulings.cut, dpi)
    out = []
    for (x, y, w, h), text in boxes:
        cell = GridCell(0, 0, 1, 1, x, y, x + w, y + h)
        crops = cell_crops(gray_clean, ink_clean, cell, 0, dpi, bilevel)
        if text and len(crops) != 1:
            continue
        for crop in crops:  # a blank cell's every crop is noise
            img = soften(crop.image, dpi, rng.choice((1.0, 1.5))) if bilevel else stretch(crop.image)
            out.append((img, text))
    return out


def value_text(text: str) -> str | None:
    """A value cell's printed text in the recogniser's alphabet ("" for a blank cell), or None where it holds
    anything else."""
    t = to_alphabet(text.replace(" ", ""))
    return t if all(ch in ALPHABET for ch in t) else None


def random_value(rng: random.Random) -> str:
    """A value as tables print them, drawn wider than reports' own (mostly zeros and small counts)."""
    r = rng.random()
    if r < 0.04:
        return rng.choice("-/")
    if r < 0.10:
        return f"{rng.uniform(0, 999):.{rng.choice((1, 2))}f}"
    digits = rng.choices((1, 2, 3, 4, 5), weights=(4, 4, 3, 1.5, 0.5))[0]
    return str(rng.randrange(10 ** (digits - 1) if digits > 1 else 0, 10 ** digits))


def vary_values(doc, rng: random.Random) -> None:
    """Most of a report's values replaced by drawn ones: its zeros and small counts would teach little else (the
    crops need no arithmetic to hold)."""
    for block in doc.blocks:
        for cell in (block.table.cells if block.table else []):
            if not cell.key or not cell.text:
                continue
            if rng.random() < BLANK:
                cell.text = " "  # printed blank: its crops (a dirty copy's specks and blotches) read as nothing
            elif rng.random() < (0.85 if cell.text == "0" else 0.5):
                cell.text = random_value(rng)


def document_samples(seed: int, index: int, level: str | None = None, dpi: int | None = None,
                     profile: str | None = None) -> list[Sample]:
    """One synthetic report, scanned at `level` (drawn by LEVEL_WEIGHTS if None; the DPI drawn by the level unless
    given; the profile drawn by the level unless given), cut into labelled crops."""
    from training.synth.compose import compose
    from training.synth.render_pdf import render_pdf
    from training.synth.scan import scan

    rng = random.Random(f"digits-{seed}-{index}")
    if level is None:
        level = rng.choices(list(LEVEL_WEIGHTS), weights=list(LEVEL_WEIGHTS.values()))[0]
    doc = compose(f"digits-{index}", rng, ["2021", "2019"])
    vary_values(doc, rng)
    doc.style.value_font = rng.choices(list(VALUE_FONTS), weights=list(VALUE_FONTS.values()))[0]
    pdf = render_pdf(doc)
    result = scan(pdf.data, pdf.cells, np.random.default_rng([seed, index, 11]), level, dpi, profile)
    samples = []
    for number, page in enumerate(result.pages, start=1):
        if any(op.get("op") == "rotate90" for op in page.ops):
            continue  # crops are cut without the reader's quarter turn: on such a page they stand on their side
        boxes = [(c["box"], t) for c in result.cells if c["page"] == number and c.get("key")
                 and (t := value_text(c["text"])) is not None]
        if not boxes:
            continue
        gray = cv2.imdecode(np.frombuffer(page.jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
        for img, text in page_samples(gray, result.dpi, boxes, rng):
            samples.append(Sample(img, text, level, result.profile, result.dpi))
    return samples
