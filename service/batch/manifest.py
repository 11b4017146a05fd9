"""The batch manifest: one SQLite file that says, per input content, what happened to it.

inputs: one row per content (sha256): its first source, state (pending | done | failed), error, attempts, pages,
        seconds, input kind and the name of its JSON report. A content is processed once whatever its names.
sources: every path seen, and the content it held, so a second name for the same content is a known duplicate.

Only the batch's main process writes, one short transaction per change, so a SIGKILL at any moment leaves a consistent
file: at worst a report written but not yet marked done, which the next run processes again and overwrites.
"""
from __future__ import annotations

import re
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

PENDING, DONE, FAILED = "pending", "done", "failed"

SCHEMA = """
CREATE TABLE IF NOT EXISTS inputs (
    sha256    TEXT PRIMARY KEY,
    source    TEXT NOT NULL,
    state     TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
    error     TEXT,
    attempts  INTEGER NOT NULL DEFAULT 0,
    pages     INTEGER,
    seconds   REAL,
    kind      TEXT,
    json_name TEXT UNIQUE,
    updated   REAL
);
CREATE TABLE IF NOT EXISTS sources (
    source    TEXT PRIMARY KEY,
    sha256    TEXT NOT NULL REFERENCES inputs(sha256)
);
"""


@dataclass
class Entry:
    sha256: str
    source: str
    state: str
    error: str | None
    attempts: int
    pages: int | None
    seconds: float | None
    kind: str | None
    json_name: str | None


class Manifest:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        # isolation_level=None: autocommit; each change below is one statement or one explicit transaction.
        self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    # -- registering what a scan finds ------------------------------------------------------------------------------
    def register(self, sha: str, source: str, name: str, parent: str, readable: bool = True) -> Entry:
        """Record that `source` holds content `sha`; a new content gets a row (pending) and a unique JSON name.

        readable=False: the bytes were refused (too large, unsafe); no JSON name is reserved for it.
        """
        self.db.execute("BEGIN IMMEDIATE")
        try:
            entry = self.get(sha)
            if entry is None:
                json_name = self._free_json_name(name, parent, sha) if readable else None
                self.db.execute("INSERT INTO inputs (sha256, source, json_name, updated) VALUES (?, ?, ?, ?)",
                                (sha, source, json_name, time.time()))
                entry = self.get(sha)
            self.db.execute("INSERT OR REPLACE INTO sources (source, sha256) VALUES (?, ?)", (source, sha))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return entry

    def _free_json_name(self, name: str, parent: str, sha: str) -> str:
        """`a.pdf` -> `a`; an equal name from another folder -> `folder_a`; then `a-<sha8>` (names are never reused)."""
        stem = safe_name(name.rsplit(".", 1)[0] if "." in name.strip(".") else name)
        for candidate in (stem, safe_name(f"{parent}_{stem}") if parent else None, f"{stem}-{sha[:8]}"):
            if candidate and not self.db.execute("SELECT 1 FROM inputs WHERE json_name = ?", (candidate,)).fetchone():
                return candidate
        return f"{stem}-{sha[:16]}"

    # -- state changes -------------------------------------------------------------------------------------------
    def start(self, sha: str) -> None:
        self.db.execute("UPDATE inputs SET attempts = attempts + 1, updated = ? WHERE sha256 = ?", (time.time(), sha))

    def mark_done(self, sha: str, pages: int | None, seconds: float, kind: str | None) -> None:
        self.db.execute("UPDATE inputs SET state = 'done', error = NULL, pages = ?, seconds = ?, kind = ?, updated = ? "
                        "WHERE sha256 = ?", (pages, round(seconds, 3), kind, time.time(), sha))

    def mark_failed(self, sha: str, error: str, pages: int | None = None, seconds: float | None = None,
                    kind: str | None = None) -> None:
        self.db.execute("UPDATE inputs SET state = 'failed', error = ?, pages = ?, seconds = ?, kind = ?, updated = ? "
                        "WHERE sha256 = ?",
                        (error, pages, None if seconds is None else round(seconds, 3), kind, time.time(), sha))

    # -- reading -------------------------------------------------------------------------------------------------
    def get(self, sha: str) -> Entry | None:
        row = self.db.execute(f"SELECT {_COLUMNS} FROM inputs WHERE sha256 = ?", (sha,)).fetchone()
        return Entry(*row) if row else None

    def entries(self, state: str | None = None) -> list[Entry]:
        """The contents some path still holds (a file edited since an earlier run leaves its old content out), each
        under its first path when that path still holds it, else under another that does."""
        query = (f"SELECT {_CURRENT_COLUMNS} FROM inputs i "
                 "WHERE EXISTS (SELECT 1 FROM sources s WHERE s.sha256 = i.sha256)"
                 + (" AND i.state = ?" if state else "") + " ORDER BY 2")
        return [Entry(*row) for row in self.db.execute(query, (state,) if state else ())]

    def duplicates(self) -> list[tuple[str, str, str]]:
        """(duplicate source, the source its report is listed under, sha256) for every extra name of a content."""
        listed = {e.sha256: e.source for e in self.entries()}
        return [(source, listed[sha], sha) for source, sha in self.db.execute(
                "SELECT source, sha256 FROM sources ORDER BY source") if source != listed[sha]]

    def counts(self) -> dict[str, int]:
        counts = {PENDING: 0, DONE: 0, FAILED: 0}
        counts.update(dict(self.db.execute("SELECT state, COUNT(*) FROM inputs GROUP BY state")))
        return counts


_COLUMNS = "sha256, source, state, error, attempts, pages, seconds, kind, json_name"
_CURRENT_COLUMNS = ("i.sha256, COALESCE((SELECT s.source FROM sources s WHERE s.source = i.source AND s.sha256 = i.sha256), "
                    "(SELECT MIN(s.source) FROM sources s WHERE s.sha256 = i.sha256)), i.state, i.error, i.attempts, "
                    "i.pages, i.seconds, i.kind, i.json_name")
_UNSAFE = re.compile(r'[\x00-\x1f<>:"/\\|?*]+')


def safe_name(name: str) -> str:
    """A file name that is safe on every OS: no separators or reserved characters, no leading dots, not too long."""
    name = _UNSAFE.sub("_", name).strip(" .") or "report"
    return name[:150]
