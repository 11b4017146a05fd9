"""Draw a scan page with its truth cell boxes, to look at: value cells red, labels and headers blue.

python -m training.synth.look DIR/doc-000001.scan.pdf --page 2 --out page2.png [--no-boxes] [--max-side 1600]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np
import pypdfium2 as pdfium


def page_with_boxes(scan_pdf: Path, page: int, boxes: bool = True) -> np.ndarray:
    cells = json.loads(Path(str(scan_pdf).replace(".scan.pdf", ".scan.cells.json")).read_text(encoding="utf-8"))
    info = cells["pages"][page - 1]
    doc = pdfium.PdfDocument(str(scan_pdf))
    img = doc[page - 1].render(scale=info["dpi"] / 72.0).to_numpy()[:, :, :3].copy()
    doc.close()
    if boxes:
        thick = max(1, info["dpi"] // 100)
        for c in cells["cells"]:
            if c["page"] == page:
                x, y, w, h = c["box"]
                cv2.rectangle(img, (int(x), int(y)), (int(x + w), int(y + h)),
                              (0, 0, 255) if c["key"] else (255, 0, 0), thick)
    return img


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.synth.look", description=__doc__.splitlines()[0])
    p.add_argument("scan_pdf", type=Path)
    p.add_argument("--page", type=int, default=1)
    p.add_argument("--out", type=Path, required=True, help="PNG to write")
    p.add_argument("--no-boxes", action="store_true")
    p.add_argument("--max-side", type=int, default=1600)
    args = p.parse_args(argv)
    img = page_with_boxes(args.scan_pdf, args.page, not args.no_boxes)
    scale = min(1.0, args.max_side / max(img.shape[:2]))
    if scale < 1.0:
        img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    cv2.imwrite(str(args.out), img)
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
