"""For the API tests: a real server on loopback (started and stopped by the tests) and small generated inputs."""
from __future__ import annotations

import contextlib
import io
import os
import signal
import socket
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.textgen import consistent_report, prose_head, render, table_rows

ROOT = Path(__file__).resolve().parent.parent
FONT = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"


# --- the server ------------------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """`nianbao serve` in its own process group, so a test can kill it (and its workers) like a crash would."""
    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90.0) -> Server:
        self.port = free_port()
        env = {**os.environ, "NIANBAO_DATA_DIR": str(self.data_dir), "NIANBAO_CLASSIFIER": "fuzzy",
               "NIANBAO_WORKERS": "2", **self.env}
        self.log = open(self.data_dir.parent / f"{self.data_dir.name}-server.log", "ab")
        self.process = subprocess.Popen([sys.executable, "-m", "service.cli", "serve", "--host", "127.0.0.1",
                                         "--port", str(self.port)], cwd=ROOT, env=env, stdout=self.log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}; see {self.log.name}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"server not ready after {timeout} s; see {self.log.name}")

    def kill(self) -> None:
        """SIGKILL to the server and its worker processes: nothing gets to clean up."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # uvicorn's graceful shutdown runs the app's lifespan end
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.process:
            try:  # worker processes of a server that died on its own
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.log.close()


def wait_job(client: httpx.Client, job_id: str, timeout: float = 60.0, until=("done", "failed")) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}").json()
        if job["state"] in until:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still {job['state']} after {timeout} s")


# --- inputs ------------------------------------------------------------------------------------------------------

def text_report(seed: int = 0) -> tuple[bytes, dict]:
    report = consistent_report(seed=seed)
    return render(report, "tabs").encode("utf-8"), report


def pdf_report(seed: int = 0) -> tuple[bytes, dict]:
    """A digital PDF: title and prose, then every table row as a ruled row of cells (label cells, then values)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    if "WQY" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("WQY", FONT, subfontIndex=0))
    report = consistent_report(seed=seed)
    width, height, margin, row_h = 842.0, 1190.0, 30.0, 16.0
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(width, height))
    y = height - margin

    def need(space: float) -> None:
        nonlocal y
        if y - space < margin:
            c.showPage()
            y = height - margin

    def text(line: str, size: float = 9) -> None:
        nonlocal y
        need(row_h)
        c.setFont("WQY", size)
        c.drawString(margin, y - size - 2, line)
        y -= row_h

    for line in prose_head(report):
        text(line, 12 if "年度报告" in line else 9)
    for label, values in table_rows(report):
        cells = [p for p in label.split("\t") if p]
        if not values:
            text("  ".join(cells))
            continue
        need(row_h)
        widths = [200.0 if i == len(cells) - 1 else 90.0 for i in range(len(cells))] + [40.0] * len(values)
        x = margin
        c.setFont("WQY", 8)
        for cell, w in zip([*cells, *values], widths, strict=True):
            c.rect(x, y - row_h, w, row_h)
            c.drawString(x + 2, y - row_h + 4, cell[:int(w / 8)])
            x += w
        y -= row_h
    c.showPage()
    c.save()
    return buf.getvalue(), report


def html_report(seed: int = 0) -> tuple[bytes, dict]:
    """An HTML page: title, then every table row as a <tr> of label cells and values."""
    from html import escape

    report = consistent_report(seed=seed)
    rows = []
    for label, values in table_rows(report):
        cells = [p for p in label.split("\t") if p]
        if not values:
            rows.append(f"<p>{escape(' '.join(cells))}</p>")
        else:
            rows.append("<table><tr>" + "".join(f"<td>{escape(c)}</td>" for c in [*cells, *values]) + "</tr></table>")
    body = "".join(f"<p>{escape(line)}</p>" for line in prose_head(report)) + "".join(rows)
    return f"<!doctype html><html><head><meta charset='utf-8'></head><body>{body}</body></html>".encode(), report


def docx_report(seed: int = 0) -> tuple[bytes, dict]:
    """A DOCX: title paragraphs, then one table with a row per table row (label cells, then values)."""
    from docx import Document

    report = consistent_report(seed=seed)
    document = Document()
    for line in prose_head(report):
        document.add_paragraph(line)
    for label, values in table_rows(report):
        cells = [p for p in label.split("\t") if p]
        if not values:
            document.add_paragraph(" ".join(cells))
            continue
        table = document.add_table(rows=1, cols=len(cells) + len(values))
        for cell, text in zip(table.rows[0].cells, [*cells, *values], strict=True):
            cell.text = text
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue(), report


def png_page(width: int = 400, height: int = 300) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), "white")
    ImageDraw.Draw(image).rectangle((20, 20, width - 20, height - 20), outline="black", width=2)
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def pixel_bomb() -> bytes:
    """A valid PNG header that claims 60000 x 60000 pixels (3.6 gigapixels), with almost no data behind it."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 60000, 60000, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + \
        chunk(b"IEND", b"")


def zip_bomb_docx() -> bytes:
    """A DOCX whose document.xml inflates 1000:1 (40 MB of zeros in ~40 KB)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", b"<w:document>" + b"\0" * (40 * 1024 * 1024) + b"</w:document>")
    return buf.getvalue()


def corrupt_pdf() -> bytes:
    data, _ = pdf_report()
    return data[: len(data) // 3]  # cut off: no xref, no trailer, broken streams


# --- the job database: SQLite, or a schema of its own on the local PostgreSQL server ------------------------------

PG_SERVER = os.environ.get("NIANBAO_TEST_PG", "host=127.0.0.1 port=5432 dbname=test user=postgres")


def pg_schema_url():
    """(url, drop): a fresh schema on the PostgreSQL server, so parallel test runs never share a table, and the
    function that drops it; None when no server answers (the caller skips, saying so)."""
    import uuid

    try:
        import psycopg
        conn = psycopg.connect(PG_SERVER, connect_timeout=3, autocommit=True)
    except Exception as error:  # not installed, no server, refused: the PostgreSQL variant cannot run here
        return None, f"PostgreSQL at {PG_SERVER} unreachable: {type(error).__name__}: {error}"
    schema = f"nianbao_test_{uuid.uuid4().hex[:12]}"
    conn.execute(f"CREATE SCHEMA {schema}")
    params = dict(p.split("=", 1) for p in PG_SERVER.split())
    url = (f"postgresql+psycopg://{params.get('user', 'postgres')}@{params.get('host', '127.0.0.1')}:"
           f"{params.get('port', '5432')}/{params.get('dbname', 'test')}?options=-csearch_path%3D{schema}")

    def drop():
        conn.execute(f"DROP SCHEMA {schema} CASCADE")
        conn.close()

    return url, drop


def descendants(pid: int) -> set[int]:
    """Every live process below pid (workers, sandbox helpers, multiprocessing's resource tracker)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def huge_page_pdf(width_pt: float = 7200, height_pt: float = 7200, pages: int = 1) -> bytes:
    """A tiny PDF whose pages are enormous (or many): cheap to send, costly to render."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument.new()
    for _ in range(pages):
        pdf.new_page(width_pt, height_pt)
    buf = io.BytesIO()
    pdf.save(buf)
    return buf.getvalue()


@contextlib.contextmanager
def review_page(url: str, upload: Path, chromium: str):
    """The review page in headless Chromium with `upload` extracted through it: yields (page, errors), errors being
    the page's script errors."""
    import playwright.sync_api as playwright

    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-background-networking"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(url + "/")
            page.set_input_files("#file", str(upload))
            page.click("#extract")
            page.wait_for_selector("body[data-ready='1']", timeout=60_000)
            yield page, errors
        finally:
            browser.close()
