"""python -m training.digits crops|train|evaluate (see training/digits/train.py)."""
from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str] | None = None) -> int:
    from training.digits import train as t

    p = argparse.ArgumentParser(prog="python -m training.digits", description=t.__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("crops", help="cut labelled value-cell crops from freshly made factory scans")
    c.add_argument("--docs", type=int, default=200)
    c.add_argument("--seed", type=int, default=1)
    c.add_argument("--workers", type=int, default=2)
    c.add_argument("--profiles", default=None, help="comma list of level/profile taken in turn (heavy/dark_copy, "
                   "fax, ...); default: each scan's level and profile drawn")
    c.add_argument("--out", required=True)
    r = sub.add_parser("train", help="train the recogniser on crops")
    r.add_argument("--data", required=True, help="crops file, or several joined by commas")
    r.add_argument("--val", default=None)
    r.add_argument("--steps", type=int, default=6000)
    r.add_argument("--batch", type=int, default=64)
    r.add_argument("--lr", type=float, default=2e-3)
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--init", default=None, help="weights to go on from")
    r.add_argument("--out", required=True)
    e = sub.add_parser("evaluate", help="share of crops read exactly")
    e.add_argument("--data", required=True)
    e.add_argument("--weights", default=None)
    args = p.parse_args(argv)
    if args.cmd == "crops":
        samples = t.make_crops(args.seed, args.docs, args.workers,
                               profiles=args.profiles.split(",") if args.profiles else None)
        t.save(samples, args.out)
        print(json.dumps({"crops": len(samples)}))
    elif args.cmd == "train":
        import torch

        init = torch.load(args.init, map_location="cpu", weights_only=True) if args.init else None
        state = t.train(t.load(args.data), args.steps, args.batch, args.lr, args.seed, init=init)
        torch.save(state, args.out)
        from models.digits import export_onnx
        print(json.dumps({"weights": args.out, "onnx": str(export_onnx(args.out))}))
        if args.val:
            from models.digits import DigitReader
            print(json.dumps(t.evaluate(DigitReader(args.out), t.load(args.val)), indent=1))
    else:
        from models.digits import WEIGHTS, DigitReader
        print(json.dumps(t.evaluate(DigitReader(args.weights or WEIGHTS), t.load(args.data)), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
