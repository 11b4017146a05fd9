"""Kind detection from content and the bad-input checks: each bad input fails fast with one clear InputError."""
from __future__ import annotations

import io
import random
import struct
import time
import zipfile
import zlib

import pytest

from service.document import InputError
from service.ingest import Limits, collapse_whitespace, detect_kind, load_source, page_count
from tests.api_support import huge_page_pdf


def _pdf(pages: int = 1, encrypt: str | None = None) -> bytes:
    from reportlab.pdfgen import canvas
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, encrypt=encrypt)
    for i in range(pages):
        c.drawString(72, 720, f"page {i + 1}")
        c.showPage()
    c.save()
    return buffer.getvalue()


def _png(width: int = 8, height: int = 8) -> bytes:
    from PIL import Image
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(buffer, "PNG")
    return buffer.getvalue()


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height, with a tiny (wrong) body: a pixel bomb."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + \
        chunk(b"IEND", b"")


def _docx_zip(extra: dict[str, int] | None = None) -> bytes:
    """A minimal docx-shaped zip, with optional members of `size` zero bytes (highly compressible)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
        for name, size in (extra or {}).items():
            with archive.open(name, "w", force_zip64=True) as member:
                block = b"\0" * (1 << 20)
                for _ in range(size >> 20):
                    member.write(block)
    return buffer.getvalue()


def _fails(data, match: str, limits: Limits = Limits(), seconds: float = 3.0) -> None:
    start = time.perf_counter()
    with pytest.raises(InputError, match=match) as caught:
        load_source(data, name="bad", limits=limits)
    assert time.perf_counter() - start < seconds
    assert "\n" not in str(caught.value)


# --- detection ---------------------------------------------------------------------------------------------------

def test_kind_comes_from_content_not_name(tmp_path):
    pdf = tmp_path / "report.txt"
    pdf.write_bytes(_pdf())
    assert load_source(pdf).kind == "pdf"
    html = tmp_path / "report.doc"   # Word "save as web page" files often keep .doc
    html.write_bytes("<html><body><p>报告</p></body></html>".encode())
    assert load_source(html).kind == "html"
    assert load_source(_png(), name="scan.pdf").kind == "image"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16"])
def test_text_in_any_common_encoding_becomes_utf8(encoding):
    text = "柳湖街道办事处 2023 年政府信息公开工作年度报告\n一、总体情况\n"
    source = load_source(text.encode(encoding), name="dump")
    assert source.kind == "text"
    assert source.data.decode("utf-8").lstrip("\ufeff") == text


def test_html_sniffed_in_gbk_and_with_doctype():
    assert detect_kind("<!DOCTYPE html><html><head>".encode()) == "html"
    assert detect_kind('<meta charset="gb2312"><table><tr><td>总计</td></tr></table>'.encode("gbk")) == "html"


def test_docx_and_images_detected():
    assert detect_kind(_docx_zip()) == "docx"
    assert detect_kind(_png()) == "image"
    from PIL import Image
    for fmt in ("JPEG", "TIFF", "BMP", "WEBP"):
        buffer = io.BytesIO()
        Image.new("RGB", (4, 4)).save(buffer, fmt)
        assert load_source(buffer.getvalue()).kind == "image", fmt


def test_page_count():
    assert page_count(load_source(_pdf(3))) == 3
    assert page_count(load_source(_png())) == 1
    assert page_count(load_source("一、总体情况".encode())) == 1


def test_collapse_whitespace_joins_cjk_and_spaces_latin():
    assert collapse_whitespace(" 总\u3000计\n") == "总计"
    assert collapse_whitespace("三、收到和处理\n政府信息") == "三、收到和处理政府信息"
    assert collapse_whitespace("2023 年\nabc\n def") == "2023 年 abc def"


# --- bad inputs --------------------------------------------------------------------------------------------------

def test_empty_file(tmp_path):
    _fails(b"", "empty")
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        load_source(empty)


def test_missing_path_and_directory(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_source(tmp_path / "nope.pdf")
    with pytest.raises(InputError, match="directory"):
        load_source(tmp_path)


def test_too_large_checked_before_reading(tmp_path):
    big = tmp_path / "big.txt"
    big.write_bytes(b"a" * 5000)
    with pytest.raises(InputError, match="too large"):
        load_source(big, limits=Limits(max_bytes=1000))
    _fails(b"a" * 5000, "too large", Limits(max_bytes=1000))


def test_binaries_are_named():
    _fails(b"\x7fELF\x02\x01\x01" + bytes(200), "ELF binary")
    _fails(random.Random(0).randbytes(4096), "not a supported document")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("photos/a.txt", "x")
    _fails(buffer.getvalue(), "zip archive")
    _fails(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "legacy Office")


def test_corrupt_pdf():
    data = _pdf(3)
    _fails(data[: len(data) // 2], "damaged or truncated")
    _fails(b"%PDF-1.7\n" + random.Random(1).randbytes(3000), "damaged or truncated")


def test_encrypted_pdf():
    _fails(_pdf(1, encrypt="secret"), "password")


def test_too_many_pages_fails_fast():
    data = _pdf(2000)
    _fails(data, "2000 pages; the limit is 300", seconds=2.0)


def test_pixel_bomb_read_from_header():
    _fails(_png_header_only(50000, 50000), "larger than 80,000,000 pixels", seconds=1.0)
    _fails(_png_header_only(5000, 5000), "5000x5000 pixels", Limits(max_image_pixels=20_000_000), seconds=1.0)


def test_truncated_image():
    data = _png(300, 300)
    _fails(data[:80], "damaged or truncated")


def test_zip_bomb_docx():
    _fails(_docx_zip({"word/media/blob.bin": 40 << 20}), "zip bomb", seconds=5.0)
    _fails(_docx_zip({"word/media/blob.bin": 4 << 20}), "would unpack",
           Limits(max_uncompressed_bytes=2 << 20), seconds=5.0)


def test_damaged_docx():
    data = _docx_zip()
    _fails(data[:-30], "damaged")


def test_text_too_long():
    _fails(("年" * 2000).encode(), "too long", Limits(max_text_chars=1000))


def test_web_archive_mht_becomes_its_html_page():
    import quopri
    page = "<html><head><meta charset='gb2312'></head><body><p>三、收到和处理政府信息公开申请情况</p></body></html>"
    body = quopri.encodestring(page.encode("gbk")).decode("ascii")
    mht = ("MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=\"----=_NextPart_01\"\r\n\r\n"
           "------=_NextPart_01\r\nContent-Location: file:///C:/report.htm\r\n"
           "Content-Transfer-Encoding: quoted-printable\r\nContent-Type: text/html; charset=\"gb2312\"\r\n\r\n"
           f"{body}\r\n------=_NextPart_01--\r\n")
    source = load_source(mht.encode("ascii"), name="report.doc")
    assert source.kind == "html"
    assert "三、收到和处理政府信息公开申请情况" in source.data.decode("utf-8")


def test_html_fragment_and_encrypted_office_file():
    assert detect_kind("  <p>一、总体情况</p><p>正文</p>".encode()) == "html"
    assert detect_kind("一、总体情况 a<b 且 c>d".encode()) == "text"
    encrypted = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500) + "EncryptedPackage".encode("utf-16-le") + bytes(100)
    _fails(encrypted, "password-protected Office")


def test_text_with_a_few_broken_bytes_is_still_text():
    data = ("一、总体情况\n" * 200).encode("utf-8") + b"\xff\xfe\x80" + "二、主动公开".encode("utf-8")
    source = load_source(data)
    assert source.kind == "text" and "二、主动公开" in source.data.decode("utf-8")
    page = ("<html><body>" + "<p>一、总体情况</p>" * 200 + "</body></html>").encode("gbk") + b"\xff"
    assert load_source(page).kind == "html"


def test_text_starting_like_a_magic_number_is_text():
    assert detect_kind("BM公司2023年政府信息公开工作年度报告".encode()) == "text"
    assert detect_kind("MZ街道2023年政府信息公开工作年度报告".encode()) == "text"
    assert "Windows executable" in detect_kind(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + bytes(100))
    assert "RTF" in detect_kind(rb"{\rtf1\ansi\ansicpg936 report}")


def test_pdf_pages_are_priced_in_pixels_before_anything_renders():
    # One 100 x 100 inch page: 1.3 KB to send, gigabytes to render. Refused from its size alone, in the CLI and
    # batch too (their default Limits).
    _fails(huge_page_pdf(7200, 7200), "page 1 is 100 x 100 inches", seconds=1.0)
    _fails(huge_page_pdf(595, 842, pages=200), "the pages add up to", Limits(max_total_pixels=500_000_000), seconds=2.0)
    assert load_source(huge_page_pdf(2384, 3370)).kind == "pdf"           # A0 still passes
    assert load_source(huge_page_pdf(595, 842, pages=250)).kind == "pdf"  # as do 250 A4 pages by default
