"""Scanned documents (PDF scans, photos) -> Document, through raster, rulings, layout, cells and text stages."""
from service.scan.reader import ScanOptions, ScanReader, read_scan

__all__ = ["ScanOptions", "ScanReader", "read_scan"]
