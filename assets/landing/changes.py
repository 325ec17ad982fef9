"""Which landing files are new or changed since the last look (the landing sensor's cursor).

The cursor maps each file's path (relative to the data directory) to its size, modification time and
SHA-256. A file whose size and mtime are unchanged is not hashed again; a file touched but identical in
content requests nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from assets.landing.paths import LandingPath, file_checksum


@dataclass(frozen=True)
class FileState:
    size: int
    mtime_ns: int
    checksum: str


@dataclass(frozen=True)
class ChangedFile:
    landing: LandingPath
    checksum: str
    is_new: bool


def load_cursor(cursor: str | None) -> dict[str, FileState]:
    if not cursor:
        return {}
    raw = json.loads(cursor)
    return {path: FileState(*state) for path, state in raw.get("files", {}).items()}


def dump_cursor(states: dict[str, FileState]) -> str:
    return json.dumps(
        {"files": {p: [s.size, s.mtime_ns, s.checksum] for p, s in sorted(states.items())}},
        separators=(",", ":"),
    )


def detect_changes(
    files: list[LandingPath], previous: dict[str, FileState]
) -> tuple[list[ChangedFile], dict[str, FileState]]:
    """New or changed files (by content), and the cursor state to store next."""
    changed: list[ChangedFile] = []
    states: dict[str, FileState] = {}
    for landing in files:
        try:
            stat = landing.path.stat()
        except FileNotFoundError:  # removed between listing and now
            continue
        before = previous.get(landing.relative_path)
        if before and before.size == stat.st_size and before.mtime_ns == stat.st_mtime_ns:
            states[landing.relative_path] = before
            continue
        checksum = file_checksum(landing.path)
        states[landing.relative_path] = FileState(stat.st_size, stat.st_mtime_ns, checksum)
        if before is None or before.checksum != checksum:
            changed.append(ChangedFile(landing, checksum, is_new=before is None))
    return changed, states
