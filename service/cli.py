"""`nianbao extract | serve | batch`."""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

EXAMPLES = """examples:
  nianbao extract report.pdf                      canonical JSON on stdout
  nianbao extract a.pdf b.html c.docx -o out/     out/a.json, out/b.json, out/c.json
  nianbao extract scan.pdf --format xlsx -o out/  out/scan.xlsx
  nianbao serve --port 8000                       HTTP API and review page
  nianbao batch archive.zip reports/ --out corpus/ --workers 2
"""


def _out_name(path: str, fmt: str) -> str:
    # a.scan.pdf -> a.scan.json: only the last extension goes.
    return f"{Path(path).stem}.{fmt}"


def cmd_extract(args: argparse.Namespace) -> int:
    from service.document import InputError
    from service.ingest import load_source
    if args.format == "xlsx" and not args.output:
        print("error: --format xlsx needs -o DIR", file=sys.stderr)
        return 2
    if len(args.files) > 1 and not args.output:
        print("error: several files need -o DIR (one output per file)", file=sys.stderr)
        return 2
    pipeline = None
    out_dir = Path(args.output) if args.output else None
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
    failed = 0
    files = args.files
    if len(files) > 1 and sys.stderr.isatty():
        from tqdm import tqdm

        files = tqdm(files, desc="extract", unit="file")
    for path in files:
        try:
            source = load_source(path)  # a bad input is answered before any model loads
            if pipeline is None:
                from service.pipeline import Pipeline, PipelineOptions

                pipeline = Pipeline(PipelineOptions(classifier=args.classifier, device=args.device,
                                                    ocr_runtime=args.ocr_runtime))
            result = pipeline.run(source)
        except InputError as e:
            failed += 1
            print(f"error: {path}: {e}" if not str(e).startswith(Path(path).name) else f"error: {e}",
                  file=sys.stderr)
            continue
        except Exception as e:  # one bad file must not stop the others
            failed += 1
            print(f"error: {path}: internal error while extracting: {type(e).__name__}: {e}", file=sys.stderr)
            logging.getLogger("nianbao").debug("extract failed", exc_info=True)
            continue
        if out_dir is None:
            sys.stdout.write(result.to_csv() if args.format == "csv" else result.to_json() + "\n")
            continue
        target = out_dir / _out_name(path, args.format)
        if args.format == "xlsx":
            result.to_xlsx(target)
        else:
            target.write_text(result.to_csv() if args.format == "csv" else result.to_json() + "\n", encoding="utf-8")
        if not result.valid:
            print(f"note: {path}: {len(result.findings)} findings (see {target})", file=sys.stderr)
    return 1 if failed else 0


def cmd_serve(args: argparse.Namespace) -> int:
    from service.api.app import serve

    return serve(host=args.host, port=args.port)


def cmd_batch(args: argparse.Namespace) -> int:
    from service.batch.run import main as batch_main

    return batch_main(args)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; the batch command's own arguments only when `command` is batch (importing them costs 0.2 s)."""
    p = argparse.ArgumentParser(prog="nianbao", description="政府信息公开工作年度报告 -> validated canonical JSON",
                                epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)

    e = sub.add_parser("extract", help="extract reports from files (PDF, image, HTML, DOCX, text)")
    e.add_argument("files", nargs="+", metavar="FILE")
    e.add_argument("-o", "--output", metavar="DIR", help="write DIR/<name>.<format> per file instead of stdout")
    e.add_argument("--format", choices=["json", "csv", "xlsx"], default="json")
    e.add_argument("--classifier", choices=["auto", "fuzzy", "model", "model-torch"], default="auto",
                   help="label classifier: the trained model through onnxruntime where shipped (auto, model), "
                        "the same model through torch (model-torch), or the fuzzy matcher")
    e.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    e.add_argument("--ocr-runtime", choices=["onnxruntime", "torch"],
                   help="what runs the OCR models (default: onnxruntime on cpu, torch on cuda)")
    e.set_defaults(func=cmd_extract)

    s = sub.add_parser("serve", help="run the HTTP API and review page")
    s.add_argument("--host", default=os.environ.get("NIANBAO_HOST", "127.0.0.1"))
    s.add_argument("--port", type=int, default=int(os.environ.get("NIANBAO_PORT", "8000")))
    s.set_defaults(func=cmd_serve)

    b = sub.add_parser("batch", help="reprocess folders, zip/tar archives or file lists, resumably")
    if command == "batch":
        from service.batch.run import add_arguments

        add_arguments(b)
    b.set_defaults(func=cmd_batch)
    return p


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=os.environ.get("NIANBAO_LOG", "WARNING"), format="%(levelname)s %(name)s: %(message)s")
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv[0] if argv else None).parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
