"""Synthetic report factory: random but rule-abiding annual reports rendered as PDF, HTML, DOCX, text dumps and
degraded scans, each with its truth (python -m training.synth --help).

Stages, in order: draw (numbers that obey the template's rules) -> compose (words, style, tables as merged-cell
grids) -> render_pdf / render_html / render_docx / render_text -> scan (rasterise + degrade, cell boxes mapped
through the same matrix) -> factory (files, truth, manifest; parallel workers).
"""
from training.synth.compose import SynthDoc, compose
from training.synth.draw import check_rules, draw_report
from training.synth.factory import Job, generate, run

__all__ = ["Job", "SynthDoc", "check_rules", "compose", "draw_report", "generate", "run"]
