"""Character-level corruption that keeps every character's tag: OCR confusions, drops, duplicates, splits, merges,
punctuation and enumerator variants, traditional characters, spaces, one-character-per-line text and truncation.

A text is a list of (char, tag) pairs; every operation returns a new list, so the tag of each surviving or inserted
character is known exactly.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass
from functools import lru_cache

Tagged = list[tuple[str, int]]

# Groups of characters that OCR and careless typing confuse with each other (visually close shapes).
CONFUSABLE_GROUPS = """
己已巳 未末 土士 人入八 日曰目 天夭无 于干千 王玉主 大太犬 开井 公么 予子矛 以似 分兮 不丕 处外 理埋 法去
提捉 供洪 掌拿 相想湘 关美 政正攻 府付 信言 息自 现观 成戌戍 需霄 另别 制刹 作昨 补朴扑 正止 申由甲电
请清情 内肉纳 容客 仍扔 明朋 访仿坊 举拳 报极 投没 诉拆 类娄 重童 复夏 要耍 求来 出山 版板 物牧 量星
反仅 确碓 认议 新亲 具县真 获狭 取耻 逾谕 期斯 纳纲 费贵 用甩 通道 知和 收牧 结给洁 转专传 继断 续读绩
办为力 年午牛 度席渡 果呆 全金 稳隐 定走 三二王 安女 危厄 及反 保堡 护沪户 第弟笫 方万 合含会 权杈
益盖 属届 秘泌必 密蜜 家冢 国囯固 律津 规观 禁林 性姓牲 过讨 程桯 执热 案桉 卷券 查香 询洵 事亊 项顶须
务各 部郎剖 机肌 构沟购 服股 企仑 业亚 科料 研妍 社杜 组细阻 织识 然燃 维准 持特待 纠叫 尚向当 审宙
起超 直真 经轻径 议仪 许讦 可司 罚罗 强弹 金釜 额颔 单草 位住 元兀 发友 件伴 数教 废庞 有右 效郊 章竟
行衍 范苑 文丈 况沉 主生 动劝 上止 一— 二= 十+ 七匕 四囚 五丑 口□ 0O 1lI| 2Z 5S 8B 9g 、, ，, 。. （( ）)
"""


@lru_cache(maxsize=1)
def confusions() -> dict[str, str]:
    out: dict[str, str] = {}
    for group in CONFUSABLE_GROUPS.split():
        for ch in group:
            out[ch] = out.get(ch, "") + group.replace(ch, "")
    return out


# A character OCR splits into two (left and right parts read apart).
SPLITS = {
    "部": "咅阝", "秘": "禾必", "理": "王里", "规": "夫见", "现": "王见", "许": "讠午", "结": "纟吉", "请": "讠青",
    "信": "亻言", "机": "木几", "利": "禾刂", "他": "亻也", "政": "正攵", "行": "彳亍", "作": "亻乍", "数": "娄攵",
    "私": "禾厶", "研": "石开", "织": "纟只", "组": "纟且", "纠": "纟丩", "维": "纟隹", "持": "扌寺", "提": "扌是",
    "护": "扌户", "保": "亻呆", "法": "氵去", "决": "冫夬", "况": "冫兄", "须": "彡页", "到": "至刂", "制": "朱刂",
    "情": "忄青", "明": "日月", "的": "白勺", "好": "女子", "相": "木目", "补": "衤卜", "科": "禾斗", "致": "至攵",
    "期": "其月", "取": "耳又", "获": "犭获", "确": "石角", "询": "讠旬", "访": "讠方", "诉": "讠斥", "议": "讠义",
}

PUNCT_SWAP = {"（": "(", "）": ")", "，": ",", "：": ":", "；": ";", "“": '"', "”": '"', "、": ",", "．": ".",
              "！": "!", "／": "/"}
PUNCT_SWAP.update({v: k for k, v in list(PUNCT_SWAP.items()) if v not in "\",."})

JUNK = "FIl|!ſ_-~'`.,:;“”()[]口□■"

_CN = "一二三四五六七八九十"
ENUM_RE = re.compile(r"^(?:[（(]([一二三四五六七八九十]+)[)）]|([一二三四五六七八九十]+)、|(\d{1,2})[.．、]|[（(](\d{1,2})[)）])")


def restyle_enumerator(text: str, rng: random.Random, p_drop: float) -> str:
    """Print the leading enumerator the way another report would: （一） (一) 一、 / 1. 1． 1、 (1) - or not at all."""
    m = ENUM_RE.match(text)
    if not m:
        return text
    body = text[m.end():]
    if rng.random() < p_drop:
        return body
    cn = m.group(1) or m.group(2)
    digit = m.group(3) or m.group(4)
    if cn:
        styles = [f"（{cn}）", f"({cn})", f"{cn}、", f"({cn}) ", f"（{cn}）", f"{cn}."]
    else:
        styles = [f"{digit}.", f"{digit}．", f"{digit}、", f"（{digit}）", f"({digit})", f"{digit}. ", f"{digit}"]
    return rng.choice(styles) + body


@dataclass(frozen=True)
class NoiseMix:
    """Per-character or per-text probabilities of each corruption."""
    confuse: float = 0.04
    typo: float = 0.02
    drop: float = 0.03
    dup: float = 0.015
    junk: float = 0.01
    split: float = 0.01
    merge: float = 0.01
    space: float = 0.03
    punct: float = 0.3  # per punctuation mark: full-width <-> half-width
    traditional: float = 0.08  # per text
    traditional_chars: float = 0.05  # per text: only some characters traditional
    vertical: float = 0.04  # per text: one character per line, joined
    clean: float = 0.25  # per text: no character noise at all


def _s2t():
    from opencc import OpenCC

    return OpenCC("s2t")


@lru_cache(maxsize=1)
def _converter():
    return _s2t()


def to_traditional(chars: Tagged, rng: random.Random, fraction: float = 1.0) -> Tagged:
    conv = _converter()
    out = []
    for ch, tag in chars:
        t = conv.convert(ch) if rng.random() < fraction else ch
        out.append((t if len(t) == 1 else ch, tag))
    return out


def corrupt(chars: Tagged, rng: random.Random, mix: NoiseMix, common: str) -> Tagged:
    """Apply the character noise of `mix` to a tagged text."""
    if rng.random() < mix.traditional:
        chars = to_traditional(chars, rng)
    elif rng.random() < mix.traditional_chars:
        chars = to_traditional(chars, rng, fraction=0.4)
    if rng.random() < mix.clean:
        return _punct(chars, rng, mix.punct)
    conf = confusions()
    out: Tagged = []
    i = 0
    while i < len(chars):
        ch, tag = chars[i]
        r = rng.random()
        if r < mix.drop:
            i += 1
            continue
        r -= mix.drop
        if r < mix.confuse and ch in conf:
            out.append((rng.choice(conf[ch]), tag))
        elif (r := r - mix.confuse) < mix.typo and not ch.isspace():
            out.append((rng.choice(common), tag))
        elif (r := r - mix.typo) < mix.dup:
            out += [(ch, tag), (ch, tag)]
        elif (r := r - mix.dup) < mix.junk:
            out += [(ch, tag), (rng.choice(JUNK), tag)]
        elif (r := r - mix.junk) < mix.split and ch in SPLITS:
            out += [(c, tag) for c in SPLITS[ch]]
        elif (r := r - mix.split) < mix.merge and i + 1 < len(chars) and chars[i + 1][1] == tag:
            out.append((rng.choice(common), tag))
            i += 1
        else:
            out.append((ch, tag))
        if rng.random() < mix.space and i + 1 < len(chars):
            out.append((" ", tag if chars[i + 1][1] == tag else 0))
        i += 1
    out = _punct(out, rng, mix.punct)
    if rng.random() < mix.vertical:
        out = vertical(out, rng)
    return out


def _punct(chars: Tagged, rng: random.Random, p: float) -> Tagged:
    return [(PUNCT_SWAP[ch] if ch in PUNCT_SWAP and rng.random() < p else ch, tag) for ch, tag in chars]


def vertical(chars: Tagged, rng: random.Random) -> Tagged:
    """A label printed one character per line, then joined by the reader with spaces or newlines."""
    sep = rng.choice(["\n", " ", "", "  "])
    out: Tagged = []
    for k, (ch, tag) in enumerate(chars):
        if k and sep and not ch.isspace():
            out.append((sep, tag if chars[k - 1][1] == tag else 0))
        out.append((ch, tag))
    return out


def to_text(chars: Tagged) -> tuple[str, list[int]]:
    """Join the characters; multi-character separators keep one tag per character."""
    text, tags = [], []
    for ch, tag in chars:
        for c in ch:
            text.append(c)
            tags.append(tag)
    return "".join(text), tags
