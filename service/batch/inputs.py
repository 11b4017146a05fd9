"""What a batch reads: folders (recursively), zip and tar archives, and lists of files, as a stream of inputs.

Each input comes with its bytes and their sha256, read one at a time: archives are never unpacked to disk, members are
read with a size cap (declared sizes are not trusted), and member names are only used as labels, never as paths to
write to. An input that cannot be read safely (too large, a zip-bomb ratio, an unsafe or encrypted member, a damaged
archive) comes with an error instead of bytes, so the batch records it as failed rather than stopping.
"""
from __future__ import annotations

import hashlib
import json
import os
import posixpath
import stat
import tarfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath

from service.ingest import Limits

LIST_SUFFIXES = (".lst", ".txt")
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
SKIPPED_NAMES = ("__MACOSX", ".DS_Store", "Thumbs.db", "desktop.ini")
ZIP_BOMB_MIN_BYTES = 1024 * 1024   # below this a high compression ratio is harmless (a page of zeros)


@dataclass(frozen=True)
class Locator:
    """Where an input's bytes live, so that another process can read them again."""
    kind: str                   # file | zip | tar
    path: str                   # the file, or the archive
    member: str | None = None   # the archive member
    offset: int | None = None   # tar: where the member's bytes start in the (decompressed) stream
    size: int | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @staticmethod
    def from_json(text: str) -> Locator:
        return Locator(**json.loads(text))

    def read(self, limits: Limits = Limits()) -> bytes:
        if self.kind == "file":
            return _read_capped(open(self.path, "rb"), limits.max_bytes, self.path)
        if self.kind == "zip":
            with zipfile.ZipFile(self.path) as archive:
                return _read_capped(archive.open(self.member), limits.max_bytes, self.member)
        if self.kind == "tar":
            # "r:*" gives a seekable (decompressing) file object, so the member is read from its offset without
            # walking the archive's headers again.
            with tarfile.open(self.path, "r:*") as archive:
                archive.fileobj.seek(self.offset)
                return archive.fileobj.read(self.size)
        raise ValueError(f"unknown locator kind {self.kind!r}")


@dataclass
class Input:
    source: str                 # the path shown to the user: a file, or "archive.zip!/member/path"
    locator: Locator
    data: bytes | None = None   # None when error is set
    sha256: str = ""
    error: str | None = None

    @property
    def name(self) -> str:
        """The file name, without folders."""
        return PurePosixPath(self.source.replace("\\", "/")).name

    @property
    def parent(self) -> str:
        """The innermost folder (or the archive's stem when the member sits at its root), to tell equal names apart."""
        inner = self.source.rsplit("!/", 1)[-1]
        parent = PurePosixPath(inner.replace("\\", "/")).parent.name
        if not parent and "!/" in self.source:
            parent = archive_stem(self.source.rsplit("!/", 1)[0])
        return parent


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def unread_key(source: str) -> str:
    """The manifest key of an input whose bytes were refused: derived from where it is, as it has no content hash."""
    return "unread:" + sha256(source.encode("utf-8"))


def archive_stem(path: str) -> str:
    name = Path(path).name
    for suffix in sorted(TAR_SUFFIXES + (".zip",), key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return Path(path).stem


# --- the walk --------------------------------------------------------------------------------------------------

def iter_inputs(paths: Iterable[str | Path], limits: Limits = Limits(), exclude: Iterable[Path] = ()) -> Iterator[Input]:
    """Every input under the given folders, archives, file lists and files, in a stable order."""
    excluded = [Path(p).resolve() for p in exclude]
    for given in paths:
        path = Path(given)
        if not path.exists():
            yield _refused(os.path.abspath(path), f"{given}: no such file or folder")
        elif path.is_dir():
            yield from _walk_folder(path, limits, excluded)
        elif is_file_list(path):
            yield from _walk_list(path, limits, excluded)
        else:
            yield from _walk_file(path, limits)


def _walk_folder(folder: Path, limits: Limits, excluded: list[Path]) -> Iterator[Input]:
    for root, dirs, files in os.walk(folder):
        root_path = Path(root)
        dirs[:] = sorted(d for d in dirs if not _skipped(d) and (root_path / d).resolve() not in excluded)
        for name in sorted(files):
            if not _skipped(name):
                yield from _walk_file(root_path / name, limits)


def _walk_list(listing: Path, limits: Limits, excluded: list[Path]) -> Iterator[Input]:
    for entry in _list_entries(listing):
        if entry.is_dir():
            yield from _walk_folder(entry, limits, excluded)
        elif entry.exists():
            yield from _walk_file(entry, limits)   # a list inside a list is read as a file: no loops
        else:
            yield _refused(os.path.abspath(entry), f"{entry}: listed in {listing.name} but not found")


def _walk_file(path: Path, limits: Limits) -> Iterator[Input]:
    source = os.path.abspath(path)
    if not path.is_file():
        yield _refused(source, f"{path}: not a regular file")
    elif is_tar(path):
        yield from _walk_tar(path, limits)
    elif is_zip_archive(path):
        yield from _walk_zip(path, limits)
    else:
        locator = Locator("file", source)
        size = path.stat().st_size
        if size > limits.max_bytes:
            yield _refused(source, f"{path.name}: the file is too large ({size / 2**20:.0f} MB; the limit is "
                                   f"{limits.max_bytes / 2**20:.0f} MB)", locator)
        else:
            yield _read(source, locator, limits)


def _walk_zip(path: Path, limits: Limits) -> Iterator[Input]:
    archive_path = os.path.abspath(path)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        yield _refused(archive_path, f"{path.name}: a damaged zip archive ({e})")
        return
    with archive:
        for info in sorted(archive.infolist(), key=lambda i: i.filename):
            if info.is_dir() or _skipped_member(info.filename):
                continue
            source = f"{archive_path}!/{_display(info.filename)}"
            locator = Locator("zip", archive_path, info.filename, size=info.file_size)
            problem = _unsafe_name(info.filename)
            if problem is None and info.flag_bits & 0x1:
                problem = "the member is encrypted"
            if problem is None and stat.S_ISLNK(info.external_attr >> 16):
                problem = "the member is a symbolic link"
            if problem is None and info.file_size > limits.max_bytes:
                problem = (f"the member is too large ({info.file_size / 2**20:.0f} MB; the limit is "
                           f"{limits.max_bytes / 2**20:.0f} MB)")
            if problem is None and info.file_size > ZIP_BOMB_MIN_BYTES and \
                    info.file_size > limits.max_zip_ratio * max(info.compress_size, 1):
                problem = f"the member expands {info.file_size // max(info.compress_size, 1)}x (a zip bomb?)"
            if problem:
                yield _refused(source, f"{info.filename}: {problem}", locator)
                continue
            try:
                data = _read_capped(archive.open(info), limits.max_bytes, info.filename)
            except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:   # bad CRC, truncated, size lies
                yield _refused(source, f"{info.filename}: cannot be read from {path.name} ({e})", locator)
                continue
            yield Input(source, locator, data, sha256(data))


def _walk_tar(path: Path, limits: Limits) -> Iterator[Input]:
    archive_path = os.path.abspath(path)
    try:
        # "r|*": one sequential pass over the stream, each member read as it passes, nothing kept or extracted.
        with tarfile.open(path, "r|*") as archive:
            for info in archive:
                if _skipped_member(info.name) or info.isdir():
                    continue
                source = f"{archive_path}!/{_display(info.name)}"
                locator = Locator("tar", archive_path, info.name, offset=info.offset_data, size=info.size)
                problem = _unsafe_name(info.name)
                if problem is None and not info.isfile():
                    problem = "not a regular file (a link or a device)"
                if problem is None and info.size > limits.max_bytes:
                    problem = (f"the member is too large ({info.size / 2**20:.0f} MB; the limit is "
                               f"{limits.max_bytes / 2**20:.0f} MB)")
                if problem:
                    yield _refused(source, f"{info.name}: {problem}", locator)
                    continue
                data = archive.extractfile(info).read()
                yield Input(source, locator, data, sha256(data))
    except (tarfile.TarError, OSError, EOFError) as e:
        yield _refused(archive_path, f"{path.name}: a damaged tar archive ({e})")


# --- what a path is ---------------------------------------------------------------------------------------------

def is_tar(path: Path) -> bool:
    """By name: a damaged .tar.gz is still an archive, reported as damaged, not a document."""
    return path.name.lower().endswith(TAR_SUFFIXES)


def is_zip_archive(path: Path) -> bool:
    """A .zip that is an archive of reports, not an Office document (a DOCX is a zip too)."""
    return path.suffix.lower() == ".zip" and zipfile.is_zipfile(path)


def is_file_list(path: Path) -> bool:
    """A .lst, or a .txt whose every line names an existing file or folder (a text report does not)."""
    if not path.is_file() or path.suffix.lower() not in LIST_SUFFIXES or path.stat().st_size > 10 * 2**20:
        return False
    if path.suffix.lower() == ".lst":
        return True
    try:
        entries = _list_entries(path)
    except (UnicodeDecodeError, OSError):
        return False
    return bool(entries) and all(e.exists() for e in entries)


def _list_entries(listing: Path) -> list[Path]:
    """One path per line; blank lines and # comments skipped; relative paths are relative to the list's folder."""
    entries = []
    for line in listing.read_text(encoding="utf-8-sig").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        entry = Path(line).expanduser()
        entries.append(entry if entry.is_absolute() else listing.parent / entry)
    return entries


def _skipped(name: str) -> bool:
    """Hidden files, Office lock files and OS clutter ("." and ".." are path steps, checked by _unsafe_name)."""
    return (name.startswith(".") and name not in (".", "..")) or name.startswith("~$") or name in SKIPPED_NAMES


def _skipped_member(name: str) -> bool:
    return any(_skipped(part) for part in PurePosixPath(name).parts)


def _display(member: str) -> str:
    """A member's name as shown: "./a/b.txt" -> "a/b.txt" (the name as stored is kept in the Locator)."""
    return posixpath.normpath(member.replace("\\", "/")).lstrip("/")


def _unsafe_name(name: str) -> str | None:
    """Archive member names that try to leave the archive: absolute, drive-qualified or climbing out with '..'."""
    posix = name.replace("\\", "/")
    if posix.startswith("/") or (len(posix) > 1 and posix[1] == ":"):
        return "an absolute member path (refused)"
    if ".." in PurePosixPath(posix).parts:
        return "a member path climbing out of the archive with '..' (refused)"
    return None


# --- reading -----------------------------------------------------------------------------------------------------

def _read(source: str, locator: Locator, limits: Limits) -> Input:
    try:
        data = locator.read(limits)
    except (OSError, ValueError) as e:
        return _refused(source, f"{Path(source).name}: cannot be read ({e})", locator)
    return Input(source, locator, data, sha256(data))


def _read_capped(stream, cap: int, name: str) -> bytes:
    with stream:
        data = stream.read(cap + 1)
    if len(data) > cap:
        raise ValueError(f"{name}: more than {cap / 2**20:.0f} MB once unpacked")
    return data


def _refused(source: str, error: str, locator: Locator | None = None) -> Input:
    return Input(source, locator or Locator("file", source), None, unread_key(source), error)
