"""What `nianbao batch` reads: folders, zip and tar archives, file lists; and what it refuses to read."""
from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

from service.batch.inputs import Locator, iter_inputs, is_file_list, sha256
from service.ingest import Limits

REPORT = "某某区人民政府 2023 年政府信息公开工作年度报告\n一、总体情况\n".encode()


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "reports"
    (root / "2023" / "deep").mkdir(parents=True)
    (root / "2023" / "a.txt").write_bytes(REPORT + b"a")
    (root / "2023" / "deep" / "b.html").write_bytes(b"<html><body>b</body></html>")
    (root / ".hidden.txt").write_bytes(b"ignored")
    (root / "__MACOSX").mkdir()
    (root / "__MACOSX" / "a.txt").write_bytes(b"ignored")
    return root


def test_a_folder_is_read_recursively_in_a_stable_order_without_hidden_files(tmp_path):
    root = _tree(tmp_path)
    found = list(iter_inputs([root]))
    assert [Path(i.source).relative_to(root).as_posix() for i in found] == ["2023/a.txt", "2023/deep/b.html"]
    assert all(i.error is None and i.sha256 == sha256(i.data) for i in found)
    assert found[0].name == "a.txt" and found[0].parent == "2023"


def test_zip_and_tar_members_are_streamed_with_their_own_sources(tmp_path):
    zpath, tpath = tmp_path / "batch.zip", tmp_path / "batch.tar.gz"
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("2023/a.txt", REPORT + b"z")
        z.writestr("b.txt", REPORT + b"zb")
        z.writestr("__MACOSX/._b.txt", b"resource fork")
    with tarfile.open(tpath, "w:gz") as t:
        for name, data in [("./x/a.txt", REPORT + b"t"), ("c.txt", REPORT + b"tc")]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    found = {i.source.split("!/", 1)[1]: i for i in iter_inputs([zpath, tpath])}
    assert set(found) == {"2023/a.txt", "b.txt", "x/a.txt", "c.txt"}
    assert found["b.txt"].parent == "batch" and found["x/a.txt"].parent == "x"
    # Another process finds the same bytes again from the locator alone (what a Ray actor does).
    for item in found.values():
        assert item.error is None
        assert Locator.from_json(item.locator.to_json()).read() == item.data


def test_zip_bombs_traversal_and_links_are_refused_member_by_member(tmp_path):
    zpath = tmp_path / "evil.zip"
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("../escape.txt", REPORT)
        z.writestr("/etc/abs.txt", REPORT)
        z.writestr("bomb.txt", b"0" * (8 * 2**20))   # 8 MB of zeros compress ~1000x
        z.writestr("fine.txt", REPORT)
    tpath = tmp_path / "evil.tar"
    with tarfile.open(tpath, "w") as t:
        link = tarfile.TarInfo("link.txt")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        t.addfile(link)
        big = tarfile.TarInfo("big.txt")
        big.size = 3000
        t.addfile(big, io.BytesIO(b"x" * 3000))
    found = {i.source.rsplit("/", 1)[-1]: i for i in iter_inputs([zpath, tpath], Limits(max_bytes=2000 + 2**23))}
    assert found["fine.txt"].error is None
    assert "climbing out" in found["escape.txt"].error
    assert "absolute" in found["abs.txt"].error
    assert "zip bomb" in found["bomb.txt"].error and found["bomb.txt"].data is None
    assert "not a regular file" in found["link.txt"].error
    assert found["big.txt"].error is None
    small = {i.source.rsplit("/", 1)[-1]: i for i in iter_inputs([tpath], Limits(max_bytes=2000))}
    assert "too large" in small["big.txt"].error
    # Refused inputs have a stable key of their own, never a content hash of bytes that were not read.
    assert found["bomb.txt"].sha256.startswith("unread:")


def test_a_damaged_archive_is_one_failed_input(tmp_path):
    whole = tmp_path / "ok.tar.gz"
    with tarfile.open(whole, "w:gz") as t:
        info = tarfile.TarInfo("a.txt")
        info.size = 5000
        t.addfile(info, io.BytesIO(b"y" * 5000))
    bad = tmp_path / "broken.tar.gz"
    bad.write_bytes(whole.read_bytes()[:40])   # cut inside the compressed stream
    found = list(iter_inputs([bad]))
    assert len(found) == 1 and "damaged tar" in found[0].error


def test_file_lists_are_told_from_text_reports(tmp_path):
    root = _tree(tmp_path)
    listing = tmp_path / "todo.txt"
    listing.write_text("# reports to redo\nreports/2023/a.txt\n\nreports/2023/deep\n", encoding="utf-8")
    lst = tmp_path / "more.lst"
    lst.write_text("reports/2023/a.txt\nreports/missing.pdf\n", encoding="utf-8")
    assert is_file_list(listing) and is_file_list(lst)
    assert not is_file_list(root / "2023" / "a.txt")   # a text report: its lines are not paths
    found = [i.source for i in iter_inputs([listing])]
    assert found == [str(root / "2023" / "a.txt"), str(root / "2023" / "deep" / "b.html")]
    missing = [i for i in iter_inputs([lst]) if i.error]
    assert len(missing) == 1 and "not found" in missing[0].error


def test_the_output_folder_is_not_read_as_input(tmp_path):
    root = _tree(tmp_path)
    (root / "out" / "json").mkdir(parents=True)
    (root / "out" / "json" / "a.json").write_text("{}")
    assert not any("/out/" in i.source for i in iter_inputs([root], exclude=[root / "out"]))
