"""A minimal multi-page PDF of JPEG images (DCTDecode, passed through untouched), byte-deterministic.

Each page is sized so that rendering it at the recorded DPI gives back the image's pixel size.
"""
from __future__ import annotations


def jpeg_pages_to_pdf(pages: list[tuple[bytes, int, int, int, bool]]) -> bytes:
    """pages: (jpeg bytes, width px, height px, dpi, is_gray)."""
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    catalog = add(b"")  # filled once the page tree exists
    tree = add(b"")
    kids = []
    for i, (jpeg, w, h, dpi, gray) in enumerate(pages):
        space = b"/DeviceGray" if gray else b"/DeviceRGB"
        image = add(b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace %s /BitsPerComponent 8 "
                    b"/Filter /DCTDecode /Length %d >>\nstream\n" % (w, h, space, len(jpeg)) + jpeg + b"\nendstream")
        # A hair under the exact size: renderers round up, and W px at the DPI must come back as W, not W + 1.
        pw, ph = (w - 0.01) * 72.0 / dpi, (h - 0.01) * 72.0 / dpi
        content = b"q %.4f 0 0 %.4f 0 0 cm /Im%d Do Q" % (pw, ph, i)
        stream = add(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
        page = add(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %.4f %.4f] /Resources << /XObject << /Im%d %d 0 R >> "
                   b">> /Contents %d 0 R >>" % (tree, pw, ph, i, image, stream))
        kids.append(page)
    objects[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R >>" % tree
    objects[tree - 1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids), len(kids))
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, catalog, xref)
    return bytes(out)
