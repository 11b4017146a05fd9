"""CJK fonts for reportlab: wqy-zenhei as is, Noto CJK converted to a TrueType subset once and cached.

reportlab cannot embed CFF (PostScript-outline) fonts, and Noto CJK is CFF, so the glyphs the factory can print
(template labels, the word banks, ASCII and punctuation) are subset and converted to quadratic outlines with
fontTools. The result is cached by content hash under ~/.cache/nianbao/synth-fonts (a few seconds the first time).
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from functools import lru_cache
from pathlib import Path

from service.template import all_templates
from training.synth import words

NOTO = Path("/usr/share/fonts/opentype/noto")
WQY = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
# name -> (collection file, index of the Simplified Chinese face)
SOURCES = {"serif": (NOTO / "NotoSerifCJK-Regular.ttc", 2), "sans": (NOTO / "NotoSansCJK-Regular.ttc", 2)}
FAMILIES = {"serif": "Noto Serif CJK SC", "sans": "Noto Sans CJK SC", "wqy": "WenQuanYi Zen Hei"}
# Latin faces reports print numbers in (Times New Roman's and Arial's metric clones, DejaVu): drawn for value cells
# when training the digit recogniser. A face not installed falls back to WenQuanYi.
_LIB, _DJV = Path("/usr/share/fonts/truetype/liberation"), Path("/usr/share/fonts/truetype/dejavu")
LATIN = {"times": _LIB / "LiberationSerif-Regular.ttf", "times-bold": _LIB / "LiberationSerif-Bold.ttf",
         "arial": _LIB / "LiberationSans-Regular.ttf", "arial-bold": _LIB / "LiberationSans-Bold.ttf",
         "arial-narrow": _LIB / "LiberationSansNarrow-Regular.ttf", "mono": _LIB / "LiberationMono-Regular.ttf",
         "dejavu-serif": _DJV / "DejaVuSerif.ttf", "dejavu-sans": _DJV / "DejaVuSans.ttf"}
PUNCTUATION = "，。、；：？！“”‘’（）《》【】—…·／％＋－×÷ 　减增年月日第条项万元件数"


def _template_strings() -> list[str]:
    out: list[str] = []
    for t in all_templates():
        out += [t.name, *t.markers]
        for sec in t.sections.values():
            out += [sec.title, *sec.header]
            for g in sec.groups:
                out += [g["caption"], *g["header"]]
            for spec in [*sec.rows, *sec.columns.values()]:
                out += [spec.label, *spec.variants, spec.short or "", spec.parent or ""]
    return out


@lru_cache(maxsize=None)
def corpus_chars() -> str:
    chars = {chr(c) for c in range(0x20, 0x7F)}
    for s in words.all_strings() + _template_strings() + [PUNCTUATION]:
        chars.update(s)
    for s in list(chars):
        chars.add(s.replace("（", "(").replace("）", ")"))
    return "".join(sorted(chars))


def _cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "nianbao" / "synth-fonts"


def _convert(source: Path, index: int, chars: str, target: Path) -> None:
    from fontTools import subset
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import TTCollection, newTable

    font = TTCollection(str(source)).fonts[index]
    opts = subset.Options()
    opts.layout_features = []
    opts.name_IDs = ["*"]
    opts.notdef_outline = True
    sub = subset.Subsetter(opts)
    sub.populate(unicodes=[ord(c) for c in chars])
    sub.subset(font)
    order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = {}
    for name in order:
        pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(pen, 1.0, reverse_direction=True))
        glyf[name] = pen.glyph()
    font["loca"] = newTable("loca")
    font["glyf"] = glyf
    for table in ("CFF ", "VORG"):
        if table in font:
            del font[table]
    maxp = newTable("maxp")
    maxp.tableVersion = 0x00010000
    for attr in ("maxZones", "maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
                 "maxStackElements", "maxSizeOfInstructions", "maxComponentElements", "maxPoints", "maxContours",
                 "maxCompositePoints", "maxCompositeContours", "maxComponentDepth"):
        setattr(maxp, attr, 0)
    maxp.maxZones = 1
    font["maxp"] = maxp
    post = font["post"]
    post.formatType = 2.0
    post.extraNames = []
    post.mapping = {}
    post.glyphOrder = order
    font["head"].indexToLocFormat = 0
    font["head"].glyphDataFormat = 0
    font.sfntVersion = "\x00\x01\x00\x00"
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".ttf")
    os.close(fd)
    font.save(tmp)
    os.replace(tmp, target)  # atomic: parallel workers never read a half-written font


def font_file(name: str) -> tuple[Path, int]:
    """The TrueType file (and subfont index) reportlab should load for a style font name."""
    if name in LATIN and LATIN[name].exists():
        return LATIN[name], 0
    if name == "wqy" or name not in SOURCES:
        return WQY, 0
    source, index = SOURCES[name]
    if not source.exists():
        return WQY, 0
    chars = corpus_chars()
    digest = hashlib.sha1((str(source) + str(index) + chars).encode("utf-8")).hexdigest()[:12]
    target = _cache_dir() / f"{name}-{digest}.ttf"
    if not target.exists():
        _convert(source, index, chars, target)
    return target, 0


def ensure_all() -> None:
    for name in FAMILIES:
        font_file(name)


@lru_cache(maxsize=None)
def register(name: str) -> str:
    """Register with reportlab (once per process); returns the reportlab font name."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    path, index = font_file(name)
    rl_name = f"synth-{name}"
    pdfmetrics.registerFont(TTFont(rl_name, str(path), subfontIndex=index))
    return rl_name
