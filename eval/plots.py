"""The report's plots (matplotlib, Agg: no display needed): accuracy by degradation level, time per stage."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

LEVEL_ORDER = ("clean", "light", "moderate", "heavy")


def _systems(data: dict) -> dict:
    return {k: v for k, v in data["systems"].items() if not v.get("skipped")}


def accuracy_by_level(data: dict, path: Path) -> None:
    """Grouped bars: field accuracy per degradation level, one bar per system (where it read that level)."""
    systems = _systems(data)
    levels = sorted({lv for v in systems.values() for lv in v["summary"]["by_level"]},
                    key=lambda k: (LEVEL_ORDER.index(k) if k in LEVEL_ORDER else 99, k))
    fig, ax = plt.subplots(figsize=(max(5, 1.6 * len(levels) + 2), 3.6), dpi=110)
    width = 0.8 / max(1, len(systems))
    for i, (name, v) in enumerate(systems.items()):
        xs, ys = [], []
        for j, lv in enumerate(levels):
            group = v["summary"]["by_level"].get(lv)
            if group and group["accuracy"] is not None:
                xs.append(j + (i - (len(systems) - 1) / 2) * width)
                ys.append(100 * group["accuracy"])
        bars = ax.bar(xs, ys, width, label=name)
        for b, y in zip(bars, ys):
            ax.text(b.get_x() + b.get_width() / 2, y + 1, f"{y:.0f}", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(range(len(levels)), levels)
    ax.set_ylim(0, 112)
    ax.set_ylabel("field accuracy (%)")
    ax.set_title(f"Field accuracy by degradation level ({data['set']['name'] or 'set'})", fontsize=10)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=max(1, len(systems)), frameon=False)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def time_per_stage(data: dict, path: Path) -> None:
    """Stacked horizontal bars: seconds per page in each pipeline stage, one bar per system and input kind (a text
    dump and a scan differ by orders of magnitude, so they are never averaged together)."""
    systems = _systems(data)
    bars = [(f"{name} · {kind}", v["stages_s_per_page"]) for name, s in systems.items()
            for kind, v in s["speed"]["by_kind"].items()]
    stages = list(dict.fromkeys(st for _, per in bars for st in per))
    fig, ax = plt.subplots(figsize=(8, max(2.8, 0.38 * len(bars) + 1.8)), dpi=110)
    labels = [b[0] for b in bars][::-1]
    per_bar = [b[1] for b in bars][::-1]
    lefts = [0.0] * len(bars)
    for st in stages:
        vals = [per.get(st) or 0.0 for per in per_bar]
        ax.barh(labels, vals, 0.6, left=lefts, label=st)
        lefts = [a + b for a, b in zip(lefts, vals)]
    top = max(lefts) if lefts else 1.0
    for i, total in enumerate(lefts):
        ax.text(total + 0.01 * top, i, f"{total:.3g} s", va="center", fontsize=7)
    ax.set_xlim(0, top * 1.15 or 1)
    ax.set_xlabel("seconds per page")
    ax.set_title("Time per stage, by system and input kind", fontsize=10)
    ax.tick_params(axis="y", labelsize=8)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=max(1, len(stages)), frameon=False)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
