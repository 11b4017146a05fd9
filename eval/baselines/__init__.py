"""Baselines: other ways to read the same inputs, mapped to canonical keys by the project's own assembler.

A baseline is only a reader (Source -> Document of Lines and Cells). BaselinePipeline puts it in place of the
project's read stage, so meta, label mapping, the decoder and validation are the project's own and the
difference the benchmark shows is the extraction alone.

Each baseline module has `missing() -> str | None` (why it cannot run here, or None) and `Reader(options)`, a callable
Source -> Document. A baseline scores only the input kinds it is made for.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass

from service.document import Document, Source
from service.pipeline import Pipeline, PipelineOptions


@dataclass(frozen=True)
class Baseline:
    name: str
    title: str
    kinds: tuple[str, ...]  # the case kinds it reads
    module: str

    def load(self):
        return importlib.import_module(self.module)

    def missing(self) -> str | None:
        try:
            return self.load().missing()
        except ImportError as e:
            return f"cannot import {e.name or e}"


BASELINES = {b.name: b for b in (
    Baseline("tesseract", "Tesseract (chi_sim) + img2table", ("scan",), "eval.baselines.tesseract"),
    Baseline("rapidocr-page", "whole-page PP-OCR (rapidocr), rows by y", ("scan",), "eval.baselines.rapidocr_page"),
    Baseline("pdfplumber", "pdfplumber extract_tables", ("pdf",), "eval.baselines.pdfplumber_tables"),
)}


class BaselinePipeline(Pipeline):
    """The project's pipeline with a baseline's reader as its read stage."""

    def __init__(self, baseline: Baseline, options: PipelineOptions | None = None):
        super().__init__(options)
        self.baseline = baseline
        self.reader = baseline.load().Reader(self.options)

    def read(self, source: Source) -> Document:
        return self.reader(source)
