"""How likely a number is in a cell of the tables: a prior learned from real reports' truths.

The decoder asks it last, only to choose among readings that fit the arithmetic and the prose equally well
(run-together digits cut several ways: '3960181' as 396/0/181 or 39/60/181), and keeps its choice only where it is
clearly the likeliest (service.decode.PRIOR_MARGIN). A number's cost is -log P(its digit count | cell, context) plus
the log of how many numbers have that many digits: within one digit count every number is as likely. Digit count 0
stands for the value 0, the commonest value of these tables. The context is whether another cell of the same row
holds a non-zero number: a row with numbers in it has far fewer zeros (an agency that issued documents this year
has documents in force).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

PRIOR_FILE = Path(__file__).with_name("value_prior.json")
MAX_DIGITS = 10
FLOOR = 1e-4  # a digit count never seen in a column is unlikely, not impossible
CONTEXTS = ("alone", "with")  # the row's other cells all 0 (or unknown) / some other cell of the row non-zero


def digits(value: float | int) -> int:
    """0 for the value 0, else the digits of its integer part (a decimal amount's cents do not count)."""
    whole = int(abs(value))
    return 0 if value == 0 else len(str(whole)) if whole else 1


@dataclass
class ValuePrior:
    # "context:section.row.column", "context:section.column" and "any:section.column" -> {digit count:
    # probability}; a cell is smoothed toward its column in its context, that toward the column in any context, that
    # toward every column together
    columns: dict[str, dict[int, float]]
    default: dict[str, dict[int, float]]  # context -> every column together: for a column the truths never showed

    def cost(self, section: str, row: str, column: str, value: float | int, with_others: bool = False) -> float:
        """-log P(value) in nats, up to a constant shared by every reading of the same digits. `with_others`: another
        cell of the row holds a non-zero number."""
        d = digits(value)
        context = CONTEXTS[with_others]
        dist = self.columns.get(f"{context}:{section}.{row}.{column}") \
            or self.columns.get(f"{context}:{section}.{column}") or self.columns.get(f"any:{section}.{column}") \
            or self.default[context]
        p = dist.get(d, 0.0) or FLOOR
        return -math.log(p) + (0.0 if d == 0 else math.log(9) + (d - 1) * math.log(10))

    def to_json(self) -> dict:
        return {"default": self.default, "columns": self.columns}

    @classmethod
    def from_json(cls, data: dict) -> "ValuePrior":
        def probs(d: dict) -> dict[int, float]:
            return {int(k): float(v) for k, v in d.items()}
        return cls({k: probs(v) for k, v in data["columns"].items()},
                   {k: probs(v) for k, v in data["default"].items()})

    @classmethod
    def load(cls, path: Path = PRIOR_FILE) -> "ValuePrior | None":
        """The shipped prior; None where it is not there (the decoder then leaves such ties null)."""
        return cls.from_json(json.loads(path.read_text(encoding="utf-8"))) if path.exists() else None

    @classmethod
    def fit(cls, rows: list[tuple[str, str, dict[str, float | int]]], strength: float = 5.0) -> "ValuePrior":
        """From rows as (section, row, {column: value}) of known reports: each cell's digit counts in each context,
        smoothed toward its column's in that context, those toward the column's in any context, and those toward
        all columns together, by `strength` pseudo-counts (a cell seen in two reports says little alone)."""
        seen: dict[str, list[int]] = {}
        everything = {c: [1] * (MAX_DIGITS + 1) for c in (*CONTEXTS, "any")}  # add-one: any count may come
        for section, row, cells in rows:
            for column, value in cells.items():
                d = min(digits(value), MAX_DIGITS)
                context = CONTEXTS[any(v != 0 for c, v in cells.items() if c != column)]
                for key in (f"{context}:{section}.{row}.{column}", f"{context}:{section}.{column}",
                            f"any:{section}.{column}"):
                    seen.setdefault(key, [0] * (MAX_DIGITS + 1))[d] += 1
                everything[context][d] += 1
                everything["any"][d] += 1
        default = {c: [n / sum(counts) for n in counts] for c, counts in everything.items()}

        def smoothed(counts: list[int], toward: list[float]) -> list[float]:
            return [(counts[d] + strength * toward[d]) / (sum(counts) + strength) for d in range(MAX_DIGITS + 1)]

        columns = {k: smoothed(c, default["any"]) for k, c in seen.items() if k.startswith("any:")}
        for level in (1, 2):  # a context's column, then a context's cell
            for key, counts in seen.items():
                context, rest = key.split(":")
                if context != "any" and rest.count(".") == level:
                    section, *_, column = rest.split(".")
                    toward = columns[f"any:{section}.{column}"] if level == 1 else columns[f"{context}:{section}.{column}"]
                    columns[key] = smoothed(counts, toward)

        def rounded(ps: list[float]) -> dict[int, float]:
            return {d: round(p, 6) for d, p in enumerate(ps)}
        return cls({k: rounded(v) for k, v in sorted(columns.items())}, {c: rounded(v) for c, v in default.items()})
