"""Per text style tables of this report: python eval/reports/synth-formats/by_style.py (after `python -m eval run
--set synth-formats --baseline none`). Each document's style is in its truth file (style.text_style)."""
import json
import statistics
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
REPORT = Path(__file__).resolve().parent / "report.json"
SET = ROOT / "eval" / "runs" / "sets" / "synth-formats"
RECORDS = ROOT / "eval" / "runs" / "records" / "synth-formats" / "project.jsonl"


def main() -> None:
    docs = {d["case"]: d for d in json.loads(REPORT.read_text())["systems"]["project"]["docs"]}
    timings = {r["case"]: r["timings"] for r in map(json.loads, RECORDS.read_text().splitlines())}
    by: dict[str, list] = {}
    for case, d in docs.items():
        truth = json.loads((SET / f"{case.split(':')[0]}.truth.json").read_text(encoding="utf-8"))
        by.setdefault(truth["style"]["text_style"], []).append((d, timings.get(case, {})))
    print("| text style | field accuracy | documents exactly right | decode median / max ms | "
          "decode.solve median / max ms |")
    print("|---|---|---|---|---|")
    for style, rows in by.items():
        right, fields = sum(d["right"] for d, _ in rows), sum(d["fields"] for d, _ in rows)
        dec = [t.get("decode", 0) * 1000 for _, t in rows]
        sol = [t.get("decode.solve", 0) * 1000 for _, t in rows]
        print(f"| {style} | {100 * right / fields:.2f}% ({right}/{fields}) | {sum(d['exact'] for d, _ in rows)}/"
              f"{len(rows)} | {statistics.median(dec):.0f} / {max(dec):.0f} | {statistics.median(sol):.0f} / "
              f"{max(sol):.0f} |")


if __name__ == "__main__":
    main()
