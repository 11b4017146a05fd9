"""Large neighbourhood search for the decoder's largest models, where the solver's time ends before a proof.

One CP-SAT worker (the decoder's, so that a loaded machine reads as an idle one) runs its full search only; on a
fax's models of many rows placed by order, that search ends with solutions far from the best (synth fax doc-03:
cost 50,149 where two workers, one of them searching neighbourhoods, reached 10,881 in the same time, but with
readings that change run to run). Here the neighbourhoods are searched one after another, deterministically: a
window of consecutive spans of one section is set free, every other span held to its current reading, and the
window re-solved from the current solution; a better solution is kept.
"""
from __future__ import annotations

from service.cpsat import cp_model

WINDOW = 6  # spans set free together: a few rows placed by order and their neighbours
STRIDE = 3
FOUND = (cp_model.OPTIMAL, cp_model.FEASIBLE)


def windows(sections: list[str | None]) -> list[list[int]]:
    """Runs of WINDOW consecutive span indexes of one section (None: a span with one reading, never set free), every
    STRIDE spans, the section's last run included."""
    out: list[list[int]] = []
    by_section: dict[str, list[int]] = {}
    for k, s in enumerate(sections):
        if s is not None:
            by_section.setdefault(s, []).append(k)
    for ks in by_section.values():
        starts = list(range(0, max(1, len(ks) - WINDOW + 1), STRIDE))
        if starts[-1] + WINDOW < len(ks):
            starts.append(len(ks) - WINDOW)
        out += [ks[i:i + WINDOW] for i in starts]
    return out


def improve(model: cp_model.CpModel, choice: list[list], sections: list[str | None], cost, solver, budget: float,
            run):
    """The best solution found by re-solving windows of spans around `solver`'s (`solver` itself where none is
    better). `choice`: each span's reading literals; `run(model, share)` -> (solver, status, seconds spent), each
    window given `share` of the `budget` (seconds) and the windows tried until the budget is spent."""
    best, spent = solver, 0.0
    for window in windows(sections):
        if spent >= budget:
            break
        free = set(window)
        sub = model.clone()
        sub.clear_hints()
        for k, lits in enumerate(choice):
            for lit in lits:
                on = best.boolean_value(lit)
                v = sub.get_bool_var_from_proto_index(lit.index)
                if k in free:
                    sub.add_hint(v, on)
                elif on:
                    sub.add(v == 1)
        sub.add(sub.get_int_var_from_proto_index(cost.index) < round(best.objective_value))
        s, status, seconds = run(sub, budget / 8)
        spent += seconds
        if status in FOUND:
            best = s
    return best
