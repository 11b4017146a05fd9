"""Character vocabulary: one token per character, so tags map straight back onto the text.

Built from the GB2312 character set (the 6,763 common simplified characters), their traditional forms, ASCII,
full-width forms and CJK punctuation, plus every character of the template labels. Whitespace of any kind is one
token; characters outside the vocabulary are [UNK] (their tag still lands on the right character).
"""
from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Iterable

PAD, UNK, MASK, SPACE = "[PAD]", "[UNK]", "[MASK]", "[SPACE]"
SPECIALS = (PAD, UNK, MASK, SPACE)


def gb2312_chars() -> list[str]:
    out = []
    for hi in range(0xB0, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                out.append(bytes([hi, lo]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return out


def build_chars(extra_texts: Iterable[str] = ()) -> list[str]:
    from opencc import OpenCC

    simplified = gb2312_chars()
    traditional = OpenCC("s2t").convert("".join(simplified))
    ascii_ = [chr(c) for c in range(0x21, 0x7F)]
    fullwidth = [chr(c) for c in range(0xFF01, 0xFF5F)]
    cjk_punct = list("、。〈〉《》「」『』【】〔〕〖〗〘〙〚〛〜〝〞〟–—‘’“”…‧﹏·•●○■□▲△◆◇★☆→←↑↓√×÷±≤≥≠")
    chars = [*simplified, *traditional, *ascii_, *fullwidth, *cjk_punct, *"".join(extra_texts)]
    return sorted({c for c in chars if not c.isspace()})


class CharVocab:
    def __init__(self, tokens: list[str]):
        self.tokens = tokens
        self.index = {t: i for i, t in enumerate(tokens)}
        self.pad, self.unk, self.mask, self.space = (self.index[s] for s in SPECIALS)

    @classmethod
    def build(cls, extra_texts: Iterable[str] = ()) -> "CharVocab":
        return cls([*SPECIALS, *build_chars(extra_texts)])

    @classmethod
    def load(cls, path: Path) -> "CharVocab":
        return cls(path.read_text(encoding="utf-8").split("\n"))

    def save(self, path: Path) -> None:
        path.write_text("\n".join(self.tokens), encoding="utf-8")

    def __len__(self) -> int:
        return len(self.tokens)

    def id(self, ch: str) -> int:
        if ch.isspace():
            return self.space
        found = self.index.get(ch)
        if found is None:
            folded = unicodedata.normalize("NFKC", ch)
            found = self.index.get(folded, self.unk) if len(folded) == 1 else self.unk
        return found

    def encode(self, text: str) -> list[int]:
        return [self.id(ch) for ch in text]
