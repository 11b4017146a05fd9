"""Fit the decoder's value prior (models/value_prior.py) from folders of reports with known answers.

    python -m training.value_prior /work/shared/real /work/shared/seeds [--out models/value_prior.json]

Every number of every truth counts once toward its cell ("section.row.column") and column, in its row's context; cells a truth leaves out count for
nothing. Real reports only: the factory's numbers are drawn by the factory, and a prior learned from them would
say what the factory likes.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from eval.cases import load_cases
from eval.score import flatten
from models.value_prior import PRIOR_FILE, ValuePrior


def known_rows(folders: list[str], skip: set[str] = frozenset()) -> list[tuple[str, str, dict]]:
    """Every row of every truth as (section, row, {column: value}), the cells the truth knows."""
    rows: dict[tuple, dict] = {}
    seen = set()
    for folder in folders:
        for case in load_cases(folder):
            if case.doc in seen or case.doc in skip:
                continue
            seen.add(case.doc)
            for key, v in flatten(case.truth).items():
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    section, row, column = key.split(".")
                    rows.setdefault((case.doc, section, row), {})[column] = v
    return [(section, row, cells) for (_, section, row), cells in rows.items()]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m training.value_prior", description=__doc__.split("\n\n")[0])
    ap.add_argument("folders", nargs="+", help="folders of documents with truth (see eval/cases.py)")
    ap.add_argument("--out", default=str(PRIOR_FILE))
    ap.add_argument("--strength", type=float, default=5.0, help="pseudo-counts toward all columns together")
    args = ap.parse_args(argv)
    rows = known_rows(args.folders)
    prior = ValuePrior.fit(rows, args.strength)
    Path(args.out).write_text(json.dumps(prior.to_json(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{sum(len(cells) for _, _, cells in rows)} values in {len(rows)} rows -> {args.out}")


if __name__ == "__main__":
    main()
