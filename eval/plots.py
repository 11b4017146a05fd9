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
    ax.set_ylim(0, 110)
    ax.set_ylabel("field accuracy (%)")
    ax.set_title(f"Field accuracy by degradation level ({data['set']['name'] or 'set'})", fontsize=10)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def time_per_stage(data: dict, path: Path) -> None:
    """Stacked bars: seconds per page in each pipeline stage, one bar per system."""
    systems = _systems(data)
    stages = list(dict.fromkeys(st for v in systems.values() for st in v["speed"]["stages"]))
    fig, ax = plt.subplots(figsize=(max(5, 1.4 * len(systems) + 3), 3.6), dpi=110)
    names = list(systems)
    bottoms = [0.0] * len(names)
    for st in stages:
        vals = [(systems[n]["speed"]["stages"].get(st) or {}).get("s_per_page") or 0.0 for n in names]
        ax.bar(names, vals, 0.6, bottom=bottoms, label=st)
        bottoms = [b + v for b, v in zip(bottoms, vals)]
    for i, total in enumerate(bottoms):
        ax.text(i, total, f"{total:.3g}s", ha="center", va="bottom", fontsize=8)
    ax.set_ylabel("seconds per page")
    ax.set_title("Time per stage (mean over the set)", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
