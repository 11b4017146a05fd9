"""The HTTP API through a real server on loopback: extraction, jobs, limits, bad inputs, concurrency, metrics, and
the review page in headless Chromium."""
from __future__ import annotations

import asyncio
import io
import math
import shutil
from pathlib import Path

import httpx
import pytest

from tests.api_support import (Server, review_page, corrupt_pdf, docx_report, html_report, pdf_report, pixel_bomb, png_page,
                               text_report, wait_job, zip_bomb_docx)

SECTIONS = ("proactive_disclosure", "requests", "review_and_litigation")
DPI = 100


def flat(report: dict) -> dict:
    return {f"{s}.{r}.{c}": v for s in SECTIONS for r, cols in report[s].items() for c, v in cols.items()}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("api") / "data"
    data_dir.mkdir()
    server = Server(data_dir, env={"NIANBAO_MAX_UPLOAD_MB": "2", "NIANBAO_SYNC_MAX_MB": "0.5",
                                   "NIANBAO_MAX_PAGES": "30", "NIANBAO_MAX_QUEUE": "80",
                                   "NIANBAO_RENDER_DPI": str(DPI)}).start()
    yield server
    server.stop()


@pytest.fixture
def client(server):
    with httpx.Client(base_url=server.url, timeout=60) as c:
        yield c


def upload(name: str, data: bytes) -> dict:
    return {"file": (name, data, "application/octet-stream")}


def test_health_readiness_and_openapi(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["workers_ready"] == ready["workers"] == 2
    spec = client.get("/openapi.json").json()
    assert {"/v1/extract", "/v1/jobs", "/v1/jobs/{job_id}", "/v1/jobs/{job_id}/result",
            "/v1/jobs/{job_id}/pages/{n}.png", "/v1/jobs/{job_id}/pages/{n}/crop", "/healthz", "/readyz",
            "/metrics"} <= set(spec["paths"])
    assert {"ExtractionResult", "JobOut", "ErrorOut"} <= set(spec["components"]["schemas"])
    assert client.get("/docs").status_code == 200
    page = client.get("/")
    assert page.status_code == 200 and "review" in page.text and client.get("/app.js").status_code == 200


def test_extract_answers_the_report_at_once(client):
    data, report = text_report(seed=1)
    r = client.post("/v1/extract", files=upload("qingshan.txt", data))
    assert r.status_code == 200, r.text
    body = r.json()
    assert r.headers["x-job-id"]
    assert (body["template"], body["agency"], body["year"]) == (report["template"], report["agency"], report["year"])
    assert flat(body) == flat(report)
    assert body["valid"] and body["findings"] == []
    assert 0 < body["confidence"]["overall"] <= 1
    assert body["provenance"]["requests.new.total"]["how"] == "read"
    assert body["source"] == {"name": "qingshan.txt", "kind": "text", "pages": 1, "method": "text", "frames": []}


@pytest.mark.parametrize("make, kind", [(html_report, "html"), (docx_report, "docx"), (pdf_report, "pdf")])
def test_every_kind_is_detected_from_its_content_not_its_name(client, make, kind):
    data, report = make(seed=8)
    r = client.post("/v1/extract", files=upload("upload.bin", data))
    assert r.status_code == 200, r.text
    assert r.json()["source"]["kind"] == kind and flat(r.json()) == flat(report)


def test_async_job_lifecycle_and_formats(client):
    data, report = text_report(seed=2)
    r = client.post("/v1/extract", params={"async": "true"}, files=upload("async.txt", data))
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    assert r.headers["location"] == f"/v1/jobs/{job_id}"
    job = wait_job(client, job_id)
    assert job["state"] == "done" and job["progress"] == 1 and job["pages_done"] == 1
    assert job["result_url"] == f"/v1/jobs/{job_id}/result"
    assert flat(client.get(f"/v1/jobs/{job_id}/result").json()) == flat(report)

    csv = client.get(f"/v1/jobs/{job_id}/result", params={"format": "csv"})
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.splitlines()
    assert lines[0].startswith("key,value,confidence") and len(lines) == 1 + len(flat(report))

    from openpyxl import load_workbook
    xlsx = client.get(f"/v1/jobs/{job_id}/result", params={"format": "xlsx"})
    book = load_workbook(io.BytesIO(xlsx.content))
    assert {"report", "requests", "findings"} <= set(book.sheetnames)
    assert client.get(f"/v1/jobs/{job_id}/result", params={"format": "doc"}).status_code == 422

    listed = client.get("/v1/jobs", params={"state": "done", "limit": 1000}).json()
    assert job_id in [j["id"] for j in listed] and all(j["state"] == "done" for j in listed)
    assert client.get("/v1/jobs", params={"state": "lost"}).status_code == 422

    assert client.delete(f"/v1/jobs/{job_id}").status_code == 204
    assert client.get(f"/v1/jobs/{job_id}").status_code == 404
    assert client.delete(f"/v1/jobs/{job_id}").status_code == 404


def test_large_upload_goes_async(client):
    data, _ = text_report(seed=3)
    padded = data + ("\n" + "其他需要报告的事项。" * 60).encode() * 400   # past the 0.5 MB answer-at-once size
    assert 0.5 * 2**20 < len(padded) < 2 * 2**20
    r = client.post("/v1/extract", files=upload("big.txt", padded))
    assert r.status_code == 202, r.text
    assert wait_job(client, r.json()["id"])["state"] == "done"


def test_pdf_page_images_boxes_and_crops(client):
    data, report = pdf_report(seed=4)
    r = client.post("/v1/jobs", files=upload("report.pdf", data))
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    assert wait_job(client, job_id)["state"] == "done"
    result = client.get(f"/v1/jobs/{job_id}/result").json()
    assert flat(result) == flat(report) and result["source"]["method"] == "text-layer"

    pages = client.get(f"/v1/jobs/{job_id}/pages").json()
    assert pages["units"].startswith("PDF points") and len(pages["pages"]) == 1
    page = pages["pages"][0]
    assert page["scale"] == pytest.approx(DPI / 72) and page["width"] == math.ceil(842 * DPI / 72)

    from PIL import Image
    png = client.get(f"/v1/jobs/{job_id}/pages/1.png")
    assert png.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(png.content))
    assert image.size == (page["width"], page["height"])

    box = result["provenance"]["requests.granted.natural_person"]
    # The box, scaled to the picture, holds the cell: its border pixels are dark (the printed grid line).
    left, top = round(box["x"] * page["scale"]), round(box["y"] * page["scale"])
    grey = image.convert("L")
    assert min(grey.getpixel((left + dx, top + round(box["h"] * page["scale"] / 2))) for dx in (-1, 0, 1)) < 128

    crop = client.get(f"/v1/jobs/{job_id}/pages/1/crop", params={k: box[k] for k in ("x", "y", "w", "h")})
    assert crop.status_code == 200
    cw, ch = Image.open(io.BytesIO(crop.content)).size
    # The crop is the box and a margin of 0.15 box heights each side, at 200 DPI.
    margin = 0.3 * box["h"]
    assert cw == pytest.approx((box["w"] + margin) * 200 / 72, abs=3)
    assert ch == pytest.approx((box["h"] + margin) * 200 / 72, abs=3)
    assert client.get(f"/v1/jobs/{job_id}/pages/2.png").status_code == 404
    outside = {"x": 5000, "y": 5000, "w": 10, "h": 10}
    assert client.get(f"/v1/jobs/{job_id}/pages/1/crop", params=outside).status_code == 422


def test_text_inputs_have_no_page_images(client):
    data, _ = text_report(seed=5)
    job_id = client.post("/v1/jobs", files=upload("r.txt", data)).json()["id"]
    assert client.get(f"/v1/jobs/{job_id}/pages").json()["pages"] == []
    assert client.get(f"/v1/jobs/{job_id}/pages/1.png").status_code == 404


def test_image_input_page_is_served_at_its_size(client):
    job_id = client.post("/v1/jobs", files=upload("scan.png", png_page(400, 300))).json()["id"]
    pages = client.get(f"/v1/jobs/{job_id}/pages").json()
    assert pages["kind"] == "image" and pages["pages"] == [{"n": 1, "width": 400, "height": 300, "scale": 1.0}]
    assert client.get(f"/v1/jobs/{job_id}/pages/1.png").status_code == 200
    client.delete(f"/v1/jobs/{job_id}")


def _many_pages_pdf(n: int) -> bytes:
    from reportlab.pdfgen import canvas
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    for i in range(n):
        c.drawString(100, 700, f"page {i + 1}")
        c.showPage()
    c.save()
    return buf.getvalue()


@pytest.mark.parametrize("name, data, status, words", [
    ("tool.exe", b"\x7fELF\x02\x01\x01" + b"\0" * 200, 422, "ELF"),
    ("broken.pdf", None, 422, "damaged"),
    ("empty.txt", b"", 422, "empty"),
    ("huge.txt", b"a" * (2 * 2**20 + 10), 413, "limit"),        # read, then refused
    ("huger.txt", b"a" * (4 * 2**20), 413, "limit"),            # refused from its Content-Length, unread
    ("bomb.docx", None, 422, "zip bomb"),
    ("bomb.png", None, 422, "pixels"),
    ("anim.gif", b"GIF89a" + b"\0" * 100, 422, "GIF"),
    ("long.pdf", None, 413, "31 pages"),
])
def test_bad_inputs_get_a_clear_4xx_and_the_service_stays_up(client, name, data, status, words):
    data = data if data is not None else {"broken.pdf": corrupt_pdf, "bomb.docx": zip_bomb_docx,
                                          "bomb.png": pixel_bomb, "long.pdf": lambda: _many_pages_pdf(31)}[name]()
    for path in ("/v1/extract", "/v1/jobs"):
        r = client.post(path, files=upload(name, data))
        assert r.status_code == status, r.text
        assert words in r.json()["detail"], r.json()
    assert client.get("/healthz").status_code == 200
    assert client.post("/v1/extract", files=upload("ok.txt", text_report(seed=6)[0])).status_code == 200


def test_missing_file_field_is_422(client):
    r = client.post("/v1/extract", data={"x": "1"})
    assert r.status_code == 422


def test_fifty_concurrent_uploads_each_get_their_own_result(server):
    inputs = {f"c{i:02d}.txt": text_report(seed=100 + i % 5) for i in range(50)}

    async def one(http: httpx.AsyncClient, name: str, data: bytes):
        r = await http.post("/v1/extract", files=upload(name, data))
        return name, r

    async def all_at_once():
        async with httpx.AsyncClient(base_url=server.url, timeout=120,
                                     limits=httpx.Limits(max_connections=50)) as http:
            return await asyncio.gather(*(one(http, name, data) for name, (data, _) in inputs.items()))

    answers = asyncio.run(all_at_once())
    assert [r.status_code for _, r in answers] == [200] * 50
    assert len({r.headers["x-job-id"] for _, r in answers}) == 50
    for name, r in answers:
        body = r.json()
        assert body["source"]["name"] == name
        assert flat(body) == flat(inputs[name][1])


def test_metrics_count_requests_jobs_and_seconds(client):
    client.get("/healthz")
    text = client.get("/metrics").text
    assert 'nianbao_http_requests_total{method="GET",route="/healthz",status="200"}' in text
    assert 'nianbao_http_requests_total{method="POST",route="/v1/extract",status="422"}' in text
    done = next(line for line in text.splitlines() if line.startswith('nianbao_jobs{state="done"}'))
    assert float(done.split()[-1]) >= 1
    count = next(line for line in text.splitlines()
                 if line.startswith('nianbao_extraction_seconds_count{outcome="done"}'))
    assert float(count.split()[-1]) >= 1
    assert "nianbao_workers_ready 2.0" in text


# --- the review page in headless Chromium ----------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def test_review_page_in_chromium(server, tmp_path):
    pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    data, report = pdf_report(seed=7)
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(data)
    key = "requests.granted.natural_person"
    with review_page(server.url, pdf, CHROMIUM) as (page, errors):
        cells = page.locator("td.value")
        assert cells.count() == len(flat(report))
        assert page.locator(".page img").count() == 1
        assert page.locator(".box").count() == len(flat(report))   # every value drawn where it was read
        assert page.locator("td.value.conf-high").count() == len(flat(report))
        assert "valid" in page.inner_text("#summary")

        page.click(f"td.value[data-key='{key}']")
        page.wait_for_selector(f"#detail-crop[data-loaded='{key}']", timeout=15_000)
        assert page.inner_text("#detail-key") == key
        assert page.locator(f".box.selected[data-key='{key}']").count() == 1
        natural = page.evaluate("document.querySelector('#detail-crop').naturalWidth")
        assert natural > 50
        other = "review_and_litigation.reconsideration.total"
        page.click(f".box[data-key='{other}']")            # a box on the page selects its table cell
        page.wait_for_selector(f"#detail-crop[data-loaded='{other}']", timeout=15_000)
        assert page.locator(f"td.value.selected[data-key='{other}']").count() == 1
        page.click(f"td.value[data-key='{key}']")
        with page.expect_download() as download:
            page.click("#downloads button[data-format='csv']")
        assert download.value.suggested_filename == "report.csv"
        page.screenshot(path=str(Path(server.data_dir).parent / "review.png"))
        assert errors == []
