"""How much the value prior decides, measured without the document under test: leave one out.

    python -m eval.value_prior [--set /work/shared/real] [--also /work/shared/seeds] [--out eval/reports/real/value_prior.md]

For each document of the set, the prior is fitted on every other document (and the --also folders), the document
is extracted with it, and its fields are scored; beside it the same document without any prior (ties left null).
The shipped prior is fitted on all of them, so the set's own eval report flatters it: this is the honest number.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from eval.cases import load_cases
from eval.score import field_hits, flatten
from models.value_prior import ValuePrior
from service.ingest import load_source
from service.pipeline import Pipeline, PipelineOptions
from training.value_prior import known_rows


def _score(pipe: Pipeline, case) -> tuple[int, int, int, int]:
    """(right, null, wrong, decided by the prior) over the truth's fields."""
    result = pipe.run(load_source(case.path)).model_dump()
    values = flatten(result)
    hits = field_hits(case.truth, values)
    null = sum(1 for k, ok in hits.items() if not ok and values.get(k) is None)
    by_prior = sum(1 for k in hits if (result["provenance"].get(k) or {}).get("how") == "prior")
    return sum(hits.values()), null, len(hits) - sum(hits.values()) - null, by_prior


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m eval.value_prior", description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", default="/work/shared/real")
    ap.add_argument("--also", nargs="*", default=["/work/shared/seeds"])
    ap.add_argument("--out", default="eval/reports/real/value_prior.md")
    ap.add_argument("--strength", type=float, default=5.0, help="the prior's smoothing (training.value_prior)")
    args = ap.parse_args(argv)
    cases = load_cases(args.set)
    with_prior, without = Pipeline(PipelineOptions()), Pipeline(PipelineOptions(value_prior=False))
    rows, totals = [], {"loo": [0, 0, 0, 0], "none": [0, 0, 0, 0]}
    fields = 0
    for case in cases:
        with_prior.prior = ValuePrior.fit(known_rows([args.set, *args.also], skip={case.doc}), args.strength)
        loo, none = _score(with_prior, case), _score(without, case)
        fields += len(flatten(case.truth))
        for key, got in (("loo", loo), ("none", none)):
            totals[key] = [a + b for a, b in zip(totals[key], got)]
        if loo != none:
            rows.append(f"| {case.doc} | {none[0]} right, {none[1]} null | {loo[0]} right, {loo[1]} null, "
                        f"{loo[2]} wrong ({loo[3]} by the prior) |")
    lines = [f"# The value prior, left one out: {Path(args.set).name}", "",
             f"Made by `python -m eval.value_prior --set {args.set} --also {' '.join(args.also)}`: each document "
             "extracted with a prior fitted on all the others (and the --also folders), against no prior.", "",
             "| | right | null | wrong | decided by the prior |", "|---|---|---|---|---|"]
    for key, name in (("none", "no prior (ties stay null)"), ("loo", "prior fitted without the document")):
        right, null, wrong, by_prior = totals[key]
        lines.append(f"| {name} | {right}/{fields} ({100 * right / fields:.2f}%) | {null} | {wrong} | {by_prior} |")
    lines += ["", "Documents where the prior changed anything:", "", "| document | no prior | left one out |",
              "|---|---|---|", *rows, ""]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
