"""How likely a number is in a column of the tables: a prior learned from real reports' truths.

The decoder asks it last, only to choose among readings that fit the arithmetic and the prose equally well
(run-together digits cut several ways: '3960181' as 396/0/181 or 39/60/181), and keeps its choice only where it is
clearly the likeliest (service.decode.PRIOR_MARGIN). A number's cost is -log P(its digit count | column) plus the
log of how many numbers have that many digits: within one digit count every number is as likely. Digit count 0
stands for the value 0, the commonest value of these tables.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

PRIOR_FILE = Path(__file__).with_name("value_prior.json")
MAX_DIGITS = 10
FLOOR = 1e-4  # a digit count never seen in a column is unlikely, not impossible


def digits(value: float | int) -> int:
    """0 for the value 0, else the digits of its integer part (a decimal amount's cents do not count)."""
    whole = int(abs(value))
    return 0 if value == 0 else len(str(whole)) if whole else 1


@dataclass
class ValuePrior:
    # "section.row.column" and "section.column" -> {digit count: probability}; a row's cell is smoothed toward its
    # column (every row of it), a column toward every column together
    columns: dict[str, dict[int, float]]
    default: dict[int, float]  # every column together: for a column the truths never showed

    def cost(self, section: str, row: str, column: str, value: float | int) -> float:
        """-log P(value) in nats, up to a constant shared by every reading of the same digits."""
        d = digits(value)
        dist = self.columns.get(f"{section}.{row}.{column}") or self.columns.get(f"{section}.{column}", self.default)
        p = dist.get(d, 0.0) or FLOOR
        return -math.log(p) + (0.0 if d == 0 else math.log(9) + (d - 1) * math.log(10))

    def to_json(self) -> dict:
        return {"default": self.default, "columns": self.columns}

    @classmethod
    def from_json(cls, data: dict) -> "ValuePrior":
        def probs(d: dict) -> dict[int, float]:
            return {int(k): float(v) for k, v in d.items()}
        return cls({k: probs(v) for k, v in data["columns"].items()}, probs(data["default"]))

    @classmethod
    def load(cls, path: Path = PRIOR_FILE) -> "ValuePrior | None":
        """The shipped prior; None where it is not there (the decoder then leaves such ties null)."""
        return cls.from_json(json.loads(path.read_text(encoding="utf-8"))) if path.exists() else None

    @classmethod
    def fit(cls, values: dict[str, list[float | int]], strength: float = 5.0) -> "ValuePrior":
        """From {"section.row.column": values seen}: each cell's digit counts, smoothed toward its column's, and
        those toward all columns together, by `strength` pseudo-counts (a cell seen in two reports says little
        alone)."""
        def counts(vs) -> list[int]:
            out = [0] * (MAX_DIGITS + 1)
            for v in vs:
                out[min(digits(v), MAX_DIGITS)] += 1
            return out

        def smoothed(c: list[int], toward: list[float]) -> list[float]:
            return [(c[d] + strength * toward[d]) / (sum(c) + strength) for d in range(MAX_DIGITS + 1)]

        everything = [1 + n for n in counts(v for vs in values.values() for v in vs)]  # add-one: any count may come
        default = [n / sum(everything) for n in everything]
        by_column: dict[str, list] = {}
        for key, vs in values.items():
            section, _, column = key.split(".")
            by_column.setdefault(f"{section}.{column}", []).extend(vs)
        columns = {key: smoothed(counts(vs), default) for key, vs in by_column.items()}
        for key, vs in values.items():
            section, _, column = key.split(".")
            columns[key] = smoothed(counts(vs), columns[f"{section}.{column}"])

        def rounded(ps: list[float]) -> dict[int, float]:
            return {d: round(p, 6) for d, p in enumerate(ps)}
        return cls({k: rounded(v) for k, v in sorted(columns.items())}, rounded(default))
