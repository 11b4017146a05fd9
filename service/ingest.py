"""Input detection and bad-input handling: bytes or a path in, a checked Source out, or one clear InputError.

The kind comes from the content (magic bytes, markup sniffing, text decoding), never from the file name, and every
check is cheap and bounded: a path is stat-ed before it is read, PDFs are counted without rendering, images are
measured from their header, zip members from their declared sizes.
"""
from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from service.document import InputError, Source

MB = 1024 * 1024
PRICE_DPI = 200   # a PDF page's pixel cost: the resolution the scan reader renders at, at most


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 200 * MB
    max_pages: int = 300
    max_image_pixels: int = 80_000_000          # per page image; a PDF page is priced at PRICE_DPI
    max_total_pixels: int = 1_500_000_000       # all pages together (300 A4 pages at 200 dpi is 1.16 G)
    max_uncompressed_bytes: int = 300 * MB      # zip-based formats (docx)
    max_text_chars: int = 5_000_000
    max_zip_ratio: int = 200                    # uncompressed / compressed, per large member


# --- public entry points ---------------------------------------------------------------------------------------

def load_source(path_or_bytes: str | Path | bytes, name: str | None = None, limits: Limits = Limits()) -> Source:
    """Read and check an input; the Source's kind is detected from its bytes."""
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        data = bytes(path_or_bytes)
        name = name or "input"
    else:
        path = Path(path_or_bytes)
        name = name or path.name
        data = _read_path(path, limits)
    if not data:
        raise InputError(f"{name}: the file is empty (0 bytes)")
    if len(data) > limits.max_bytes:
        raise InputError(f"{name}: the file is too large ({len(data) / MB:.0f} MB; the limit is "
                         f"{limits.max_bytes / MB:.0f} MB)")
    kind = detect_kind(data)
    if kind == "mht":   # a web archive (Word's "single file web page", some .doc files): its HTML part is the page
        data, kind = _mht_html(data, name), "html"
    if kind == "pdf":
        _check_pdf(data, name, limits)
    elif kind == "docx":
        _check_zip(data, name, limits)
    elif kind == "image":
        _check_image(data, name, limits)
    elif kind in ("text", "html"):
        if len(data) > 4 * limits.max_text_chars:   # no encoding spends more than 4 bytes a character
            raise InputError(f"{name}: the text is too long ({len(data) / MB:.0f} MB; the limit is "
                             f"{limits.max_text_chars:,} characters)")
        text = decode_text(data)
        if text is None:
            raise InputError(f"{name}: not a supported document: the text is in an unknown encoding")
        if len(text) > limits.max_text_chars:
            raise InputError(f"{name}: the text is too long ({len(text):,} characters; the limit is "
                             f"{limits.max_text_chars:,})")
        if kind == "text":
            data = text.encode("utf-8")   # readers downstream see UTF-8 only; HTML keeps its bytes for its charset
    else:
        raise InputError(f"{name}: not a supported document: looks like {kind}")
    return Source(name=name, data=data, kind=kind)


def page_count(source: Source) -> int:
    """Pages for a progress bar: a PDF's page count, an image's frame count, 1 for everything else."""
    if source.kind == "pdf":
        import pypdfium2 as pdfium
        pdf = pdfium.PdfDocument(source.data)
        try:
            return len(pdf)
        finally:
            pdf.close()
    if source.kind == "image":
        from PIL import Image
        with Image.open(io.BytesIO(source.data)) as image:
            return getattr(image, "n_frames", 1)
    return 1


# --- detection ---------------------------------------------------------------------------------------------------

# Magic prefixes of formats we read, and of common ones we do not (named in the error so the user knows why).
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*")
_FOREIGN_MAGIC = [
    (b"\x7fELF", "an ELF binary (an executable program)"),
    (b"MZ", "a Windows executable"),
    (b"{\\rtf", "an RTF document; save it as DOCX or PDF"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"GIF8", "a GIF image (not supported; use PNG, JPEG, TIFF, BMP or WebP)"),
    (b"%!PS", "a PostScript file"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\xca\xfe\xba\xbe", "a Java class or Mach-O binary"),
    (b"\xcf\xfa\xed\xfe", "a Mach-O binary"),
    (b"OggS", "an Ogg media file"),
    (b"ID3", "an MP3 audio file"),
    (b"\x00asm", "a WebAssembly binary"),
]
_TEXT_FORMATS = (b"{\\rtf", b"%!PS")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_OFFICE = "EncryptedPackage".encode("utf-16-le")   # the stream an encrypted docx/xlsx is wrapped in
_MHT_MARKER = re.compile(r"\s*(?:[\w-]+:[^\n]*\n)*?MIME-Version:", re.I)
_CLOSING_TAG = re.compile(r"</(?:p|div|span|td|tr|table|font|strong|b|h\d|li|a)>", re.I)
_HTML_MARKERS = re.compile(r"<!doctype\s+html|<html[\s>]|<table[\s>]|<body[\s>]|<head[\s>]|<meta\s", re.I)
_ZIP_KINDS = [("word/document.xml", "docx"), ("xl/workbook.xml", "an Excel workbook (.xlsx); save it as PDF"),
              ("ppt/presentation.xml", "a PowerPoint file (.pptx)"),
              ("content.xml", "an OpenDocument file (.odt/.ods)")]


def detect_kind(data: bytes) -> str:
    """pdf | docx | html | image | text, or a short description of an unsupported format."""
    head = data[:1024]
    if b"%PDF-" in head:   # some producers put a few junk bytes before the header; readers tolerate them
        return "pdf"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return _zip_kind(data)
    webp = head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    bmp = head[:2] == b"BM" and head[6:10] == b"\0\0\0\0"   # "BM", size, then reserved zeros (not a text "BM...")
    if any(head.startswith(magic) for magic in _IMAGE_MAGIC) or webp or bmp:
        return "image"
    if head.startswith(_OLE_MAGIC):
        if _ENCRYPTED_OFFICE in data:
            return "a password-protected Office document; give an unlocked copy"
        return "a legacy Office file (.doc/.xls/.wps); save it as DOCX or PDF"
    for magic, what in _FOREIGN_MAGIC:
        # Binary formats have NUL bytes in their header: a text that merely starts with "MZ" is still a text.
        if head.startswith(magic) and (magic in _TEXT_FORMATS or b"\0" in head[:64]):
            return what
    if head[4:8] == b"ftyp":
        return "an MP4/HEIC media file"
    text = decode_text(data[:65536], partial=True)
    if text is None:
        return f"binary data of an unrecognised format ({len(data):,} bytes)"
    if _MHT_MARKER.match(text) and "multipart/related" in text[:4096].lower():
        return "mht"
    if _HTML_MARKERS.search(text) or (text.lstrip().startswith("<") and _CLOSING_TAG.search(text)):
        return "html"
    return "text"


def _zip_kind(data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return "a damaged zip archive"
    for member, kind in _ZIP_KINDS:
        if member in names:
            return kind
    return "a zip archive (unpack it and give the report itself)"


# --- text decoding -----------------------------------------------------------------------------------------------

_BOMS = [(b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")]


def decode_text(data: bytes, partial: bool = False) -> str | None:
    """UTF-8, UTF-16 or GB18030 text with mostly printable characters, or None if the bytes are not text.

    partial: data is a prefix cut anywhere, so a character split at the end is forgiven.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            candidates = [encoding]
            data = data[len(bom):] if encoding != "utf-8-sig" else data
            break
    else:
        candidates = ["utf-8"]
        if _looks_utf16(data):
            candidates.append("utf-16-le" if data[1:200:2].count(0) > data[0:200:2].count(0) else "utf-16-be")
        candidates.append("gb18030")
    for encoding in candidates:
        chunk = data
        if partial:   # drop up to 3 trailing bytes that may be a cut character
            for cut in range(4):
                try:
                    text = chunk[:len(chunk) - cut].decode(encoding)
                    break
                except UnicodeDecodeError:
                    continue
            else:
                continue
        else:
            try:
                text = chunk.decode(encoding)
            except UnicodeDecodeError:
                continue
        if _mostly_printable(text):
            return text.lstrip("\ufeff")
    for encoding in candidates:   # real files carry the odd broken byte: a few replacement characters are fine
        text = data.decode(encoding, "replace")
        if _mostly_printable(text):
            return text.lstrip("\ufeff")
    return None


def _looks_utf16(data: bytes) -> bool:
    sample = data[:2000]
    return len(sample) >= 4 and sample.count(0) >= len(sample) // 4


_NOT_PRINTABLE = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ue000-\uf8ff\ufffd\ufffe\uffff]")


def _mostly_printable(text: str) -> bool:
    if not text:
        return False
    return len(_NOT_PRINTABLE.findall(text)) <= len(text) * 0.02


# --- per-kind checks ---------------------------------------------------------------------------------------------

def _read_path(path: Path, limits: Limits) -> bytes:
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not a file")
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise InputError(f"{path.name}: the file is too large ({size / MB:.0f} MB; the limit is "
                         f"{limits.max_bytes / MB:.0f} MB)")
    with path.open("rb") as handle:
        return handle.read(limits.max_bytes + 1)   # a file that grew after stat is still caught by the size check


def _mht_html(data: bytes, name: str) -> bytes:
    """The first text/html part of a MIME web archive, as UTF-8."""
    import email
    import email.policy
    message = email.message_from_bytes(data, policy=email.policy.default)
    for part in message.walk():
        if part.get_content_type() == "text/html":
            try:
                return part.get_content().encode("utf-8")
            except (LookupError, UnicodeError, ValueError):
                return part.get_payload(decode=True) or b""
    raise InputError(f"{name}: the web archive (MHT) holds no HTML page")


def _check_pdf(data: bytes, name: str, limits: Limits) -> None:
    """Open with pdfium (no rendering): catches corrupt and password-protected files and counts the pages."""
    import pypdfium2 as pdfium
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as error:
        if "password" in str(error).lower():
            raise InputError(f"{name}: the PDF is password protected; give an unlocked copy") from None
        raise InputError(f"{name}: the PDF is damaged or truncated and cannot be opened") from None
    try:
        pages = len(pdf)
        if pages == 0:
            raise InputError(f"{name}: the PDF has no pages")
        if pages > limits.max_pages:
            raise InputError(f"{name}: the PDF has {pages} pages; the limit is {limits.max_pages}")
        _check_page_sizes(pdf, name, limits)
    finally:
        pdf.close()


def _check_page_sizes(pdf, name: str, limits: Limits) -> None:
    """Price every page at PRICE_DPI from its size alone (no page is loaded or rendered): a huge page, or many
    pages, would cost a worker gigabytes and minutes when rendered for OCR or for the review page."""
    scale = (PRICE_DPI / 72) ** 2
    total = 0.0
    for i in range(len(pdf)):
        width, height = pdf.get_page_size(i)
        pixels = abs(width * height) * scale
        if pixels > limits.max_image_pixels:
            raise InputError(f"{name}: page {i + 1} is {width / 72:.0f} x {height / 72:.0f} inches; the limit is "
                             f"{limits.max_image_pixels:,} pixels at {PRICE_DPI} dpi per page")
        total += pixels
    if total > limits.max_total_pixels:
        raise InputError(f"{name}: the pages add up to {total / 1e6:,.0f} million pixels at {PRICE_DPI} dpi; the "
                         f"limit is {limits.max_total_pixels / 1e6:,.0f} million")


def _check_zip(data: bytes, name: str, limits: Limits) -> None:
    """A zip bomb is caught from the declared sizes; Python's zipfile never inflates a member past its declared
    size (and fails its CRC if the data is longer), so the declared sizes are a safe bound."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise InputError(f"{name}: the DOCX is damaged (not a readable zip archive)") from None
    total = sum(member.file_size for member in members)
    if total > limits.max_uncompressed_bytes:
        raise InputError(f"{name}: the DOCX would unpack to {total / MB:.0f} MB; the limit is "
                         f"{limits.max_uncompressed_bytes / MB:.0f} MB (zip bomb?)")
    for member in members:
        if member.file_size > MB and member.file_size > limits.max_zip_ratio * max(member.compress_size, 1):
            raise InputError(f"{name}: the DOCX member {member.filename} is compressed "
                             f"{member.file_size // max(member.compress_size, 1)}:1 (zip bomb?)")


def _check_image(data: bytes, name: str, limits: Limits) -> None:
    """Measure from the header before decoding anything, then decode once to catch truncated files."""
    import warnings

    from PIL import Image
    # PIL's own guard (warning at 1x, error at 2x) is tied to our limit, for every later Image.open too.
    Image.MAX_IMAGE_PIXELS = limits.max_image_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)   # the size check below says more
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                frames = getattr(image, "n_frames", 1)
                if width * height > limits.max_image_pixels:
                    raise InputError(f"{name}: the image is {width}x{height} pixels; the limit is "
                                     f"{limits.max_image_pixels:,} pixels per page")
                if frames > limits.max_pages:
                    raise InputError(f"{name}: the image has {frames} pages; the limit is {limits.max_pages}")
                if width * height * frames > limits.max_total_pixels:   # frames priced at the first one's size
                    raise InputError(f"{name}: the image's {frames} pages add up to more than "
                                     f"{limits.max_total_pixels / 1e6:,.0f} million pixels")
                image.load()
    except InputError:
        raise
    except Image.DecompressionBombError:
        raise InputError(f"{name}: the image is larger than {limits.max_image_pixels:,} pixels "
                         "(a pixel bomb?)") from None
    except Exception:   # PIL raises many types (OSError, SyntaxError, ValueError) for damaged files
        raise InputError(f"{name}: the image is damaged or truncated and cannot be decoded") from None


# --- text clean-up shared by the readers ------------------------------------------------------------------------

_CJK = (r"\u2e80-\u2fff\u3001-\u303f\u3040-\u30ff\u3100-\u312f\u3400-\u4dbf\u4e00-\u9fff"
        r"\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef")
_SPACE_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}])\s+(?=[{_CJK}])")
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")


def collapse_whitespace(text: str) -> str:
    """Cell text as one line: whitespace between CJK characters (including line breaks and the ideographic space)
    disappears, any other run of whitespace becomes one space."""
    text = _INVISIBLE.sub("", text)
    text = _SPACE_BETWEEN_CJK.sub("", text.strip())
    return re.sub(r"\s+", " ", text)


def is_cjk(ch: str) -> bool:
    return bool(re.match(rf"[{_CJK}]", ch))
