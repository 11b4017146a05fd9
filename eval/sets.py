"""The standard benchmark sets, as fixed commands: the same name always means the same files.

Synthetic sets are made on demand by the factory (training.synth) into a cache folder (eval/runs/sets/<name>, not
committed); a stamp file holds the command that made them, so a changed command regenerates the set.
"""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "eval" / "runs" / "sets"
SEEDS = Path(os.environ.get("NIANBAO_SEEDS", "/work/shared/seeds"))
REAL = Path(os.environ.get("NIANBAO_REAL", "/work/shared/real"))
STAMP = ".made-by"


@dataclass(frozen=True)
class SynthSet:
    name: str
    description: str
    n: int
    seed: int
    kinds: str = "text,html,docx,pdf,scan"
    # Scan degradation levels: one sub-folder per level with n documents each (an even split), or None for one
    # folder whose documents draw their level at random (the factory's default).
    levels: tuple[str, ...] | None = None
    # Text dumps in these serializations, taken in turn by document index (None: each document's drawn one).
    text_styles: tuple[str, ...] | None = None

    def parts(self, out: Path) -> list[tuple[Path, list[str]]]:
        """(folder, factory arguments) for each part of the set."""
        base = ["-m", "training.synth", "--seed", str(self.seed), "--kinds", self.kinds]
        if self.text_styles:
            base += ["--text-styles", ",".join(self.text_styles)]
        if not self.levels:
            return [(out, base + ["--n", str(self.n), "--out", str(out)])]
        return [(out / level, base + ["--n", str(self.n), "--start", str(i * self.n), "--levels", level,
                                      "--out", str(out / level)])
                for i, level in enumerate(self.levels)]

    def command(self, out: Path | None = None) -> str:
        """The factory command(s), with paths inside the repository written relative to it."""
        out = out or CACHE / self.name
        if out.is_absolute() and out.is_relative_to(ROOT):
            out = out.relative_to(ROOT)
        return " && ".join("python " + shlex.join(args) for _, args in self.parts(out))


@dataclass(frozen=True)
class RealScanSet:
    """Scans of real layouts: every digital PDF with a truth file in `folder`, degraded by the factory's `scan`
    command; `levels` holds (level, copies): several copies of a level go through its profiles in turn."""
    name: str
    description: str
    folder: Path
    levels: tuple[tuple[str, int], ...]
    seed: int

    def parts(self, out: Path) -> list[tuple[Path, list[str]]]:
        pdfs = sorted(p for p in self.folder.glob("*.pdf") if (self.folder / f"{p.stem}.truth.json").exists())
        return [(out, ["-m", "training.synth", "scan", str(p), "--truth", str(self.folder / f"{p.stem}.truth.json"),
                       "--levels", level, "--copies", str(copies), "--seed", str(self.seed), "--out", str(out)])
                for p in pdfs for level, copies in self.levels]

    def command(self, out: Path | None = None) -> str:
        return SynthSet.command(self, out)  # type: ignore[arg-type]


@dataclass(frozen=True)
class FolderSet:
    name: str
    description: str
    path: Path


SETS: dict[str, SynthSet | RealScanSet | FolderSet] = {s.name: s for s in (
    FolderSet("real", "real reports as published (text dumps, PDF-to-markdown, a digital PDF) with hand-checked "
                      "fields (/work/shared/real or $NIANBAO_REAL)", REAL),
    FolderSet("seeds", "the real text dumps with their expected output (/work/shared/seeds or $NIANBAO_SEEDS)", SEEDS),
    SynthSet("synth-standard", "40 synthetic reports, both templates, every kind (text, HTML, DOCX, digital PDF, "
                               "scan at a drawn level)", n=40, seed=2026),
    SynthSet("synth-scans", "40 synthetic scans, 10 at each degradation level (light; moderate: 150-200 DPI scanner; "
                            "heavy: ink bleed, bad photocopy, phone photo; fax)", n=10,
             seed=2027, kinds="scan", levels=("light", "moderate", "heavy", "fax")),
    SynthSet("synth-faxes", "24 synthetic faxes of another draw than synth-scans' ten (100-200 DPI, bled, speckled, "
                            "skewed): the fax level measured on more pages", n=24, seed=7001, kinds="scan",
             levels=("fax",)),
    SynthSet("synth-digital", "40 synthetic reports as text, HTML, DOCX and digital PDF only (fast)", n=40, seed=2028,
             kinds="text,html,docx,pdf"),
    SynthSet("synth-formats", "60 synthetic text dumps in the serializations real page texts show, 10 each (one cell "
                              "per line with empty cells, row marks, pipe rows with blanks, one-line tables, torn "
                              "markdown, VLM markdown)", n=60, seed=2029, kinds="text",
             text_styles=("slash_cells", "row_marks", "pipes_blank", "one_line", "markdown_torn", "vlm_markdown")),
    SynthSet("synth-smoke", "3 synthetic reports, every kind: a quick check", n=3, seed=7),
    RealScanSet("real-layout-scans", "scans of the real digital PDFs in /work/shared/real ($NIANBAO_REAL): 2 light, "
                                     "2 moderate, 6 heavy (scanner, copier, phone photo, dirty drum, dark copy, warped "
                                     "sheet), 2 fax", REAL,
                levels=(("light", 2), ("moderate", 2), ("heavy", 6), ("fax", 2)), seed=2029),
    # real-layout-scans' six heavy scans are one of each profile: too few to tell a general gain from one page's.
    RealScanSet("real-layout-heavy", "24 heavy scans of the same real PDFs, four of each profile (scanner, copier, "
                                     "phone photo, dirty drum, dark copy, warped sheet), another draw than "
                                     "real-layout-scans'", REAL, levels=(("heavy", 24),), seed=2031),
)}


def describe() -> str:
    lines = []
    for s in SETS.values():
        how = str(s.path) if isinstance(s, FolderSet) else s.command()
        lines.append(f"  {s.name:15} {s.description}\n  {'':15} {how}")
    return "\n".join(lines)


def materialize(name: str, cache: Path = CACHE, quiet: bool = False) -> Path:
    """The folder holding the named set, generating it first when needed; a path that is not a set name is
    returned as it is."""
    spec = SETS.get(name)
    if spec is None:
        path = Path(name)
        if not path.is_dir():
            raise SystemExit(f"unknown set {name!r}: not a folder and not one of {', '.join(SETS)}")
        return path
    if isinstance(spec, FolderSet):
        if not spec.path.is_dir():
            raise SystemExit(f"set {name}: folder {spec.path} not found")
        return spec.path
    out = cache / spec.name
    command = spec.command(out)
    stamp = out / STAMP
    if stamp.exists() and stamp.read_text().strip() == command:
        return out
    if out.exists():  # a stale set of another command: start clean
        shutil.rmtree(out)
    if not quiet:
        print(f"making set {name}: {command}", file=sys.stderr, flush=True)
    for folder, args in spec.parts(out.resolve()):
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, *args] + (["--quiet"] if quiet else []), cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL if quiet else None)
    stamp.write_text(command + "\n")
    return out
