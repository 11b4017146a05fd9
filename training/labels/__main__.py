"""python -m training.labels --out models/label_classifier [--tiny] [--steps N] [--pretrain-steps N]

Trains, then writes the weights (model.safetensors) and their ONNX export (model.onnx). `--export-only` writes
model.onnx from the weights already in --out, without training.
"""
from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from models.label_classifier.model import Size, export_onnx
from training.labels.train import Plan, train


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m training.labels", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("models/label_classifier"))
    ap.add_argument("--tiny", action="store_true", help="a tiny model for a few steps (CI)")
    ap.add_argument("--steps", type=int)
    ap.add_argument("--pretrain-steps", type=int)
    ap.add_argument("--hidden", type=int)
    ap.add_argument("--layers", type=int)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--export-only", action="store_true", help="write model.onnx from the weights in --out")
    args = ap.parse_args(argv)
    if args.export_only:
        print(f"wrote {export_onnx(args.out)}")
        return
    plan = Plan.tiny() if args.tiny else Plan()
    if args.hidden or args.layers:
        plan = replace(plan, size=Size(args.hidden or plan.size.hidden, args.layers or plan.size.layers,
                                       plan.size.heads))
    for name in ("steps", "pretrain_steps", "seed"):
        if getattr(args, name) is not None:
            plan = replace(plan, **{name: getattr(args, name)})
    train(args.out, plan)


if __name__ == "__main__":
    main()
