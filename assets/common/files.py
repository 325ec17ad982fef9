"""Who may read what the platform writes to disk.

Raw and personal data — the zone databases (with their WAL and SHM files), the aggregation and
governance Parquet files, quality results, reports, the Dagster instance and the secrets — are
readable by the owner only: directories 0700, files 0600. Runs set :data:`PRIVATE_UMASK` at their
start, so everything a library creates on the way is private too; the writers below also set the
modes explicitly, so a file stays private whoever calls them. Public outputs (the published catalog)
are made readable by everyone with :func:`make_public`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path
from typing import Any

PRIVATE_UMASK = 0o077
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
PUBLIC_DIR_MODE = 0o755
PUBLIC_FILE_MODE = 0o644


def private_umask() -> int:
    """Make files this process creates from now on owner-only; returns the previous umask."""
    return os.umask(PRIVATE_UMASK)


def private_dir(path: Path) -> Path:
    """``path`` as a directory only its owner can enter. Missing parents are created owner-only too;
    parents that already exist are left as they are."""
    path = Path(path)
    missing: list[Path] = []
    current = path
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):
            directory.mkdir(mode=PRIVATE_DIR_MODE)
        _chmod(directory, PRIVATE_DIR_MODE)
    _chmod(path, PRIVATE_DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Make an existing file owner-only (read and write)."""
    _chmod(Path(path), PRIVATE_FILE_MODE)
    return Path(path)


def create_private_file(path: Path) -> Path:
    """Create ``path`` empty with mode 0600 if it does not exist (before a library opens it, so it
    is never readable by others even for a moment); an existing file is made 0600."""
    path = Path(path)
    private_dir(path.parent)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE_MODE)
    os.close(descriptor)
    return private_file(path)


def make_private(root: Path) -> None:
    """Make ``root`` and everything under it owner-only (a tree a library wrote)."""
    _chmod_tree(Path(root), PRIVATE_DIR_MODE, PRIVATE_FILE_MODE)


def make_public(root: Path, *, base: Path | None = None) -> None:
    """Make ``root`` and everything under it readable by everyone (directories also enterable), and
    the directories from ``base`` down to it enterable and listable, so others can reach it."""
    root = Path(root)
    if not root.exists():
        return
    if base is not None:
        for ancestor in [*reversed(root.relative_to(base).parents)][1:]:
            directory = Path(base) / ancestor
            _chmod(directory, directory.stat().st_mode & 0o777 | 0o755)
        _chmod(Path(base), Path(base).stat().st_mode & 0o777 | 0o755)
    _chmod_tree(root, PUBLIC_DIR_MODE, PUBLIC_FILE_MODE)


def _chmod_tree(root: Path, dir_mode: int, file_mode: int) -> None:
    if not root.exists():
        return
    _chmod(root, dir_mode if root.is_dir() else file_mode)
    for current, directories, files in os.walk(root):
        for name in directories:
            _chmod(Path(current) / name, dir_mode)
        for name in files:
            _chmod(Path(current) / name, file_mode)


def link_problem(root: Path, path: Path) -> str | None:
    """Why ``path``, found under ``root``, must not be read as one of root's files: it resolves
    outside ``root`` (a link, or a linked directory on the way), it is a dangling link, or a link to
    a directory. None for a plain file or a link to a file inside ``root``."""
    path = Path(path)
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):  # a missing target, or a loop
        return "是失效的链接（指向的文件不存在），未读取" if path.is_symlink() else None
    if not resolved.is_relative_to(Path(root).resolve()):
        return "是指向数据目录之外的链接，拒收：数据目录之外的文件不作为交付或登记读取"
    if path.is_symlink() and resolved.is_dir():
        return "是指向目录的链接，不读取其中的文件：请把文件直接放在目录中"
    return None


def display_name(text: str) -> str:
    """A file name as text that is valid UTF-8 everywhere (JSON, logs, terminals): bytes that are
    not UTF-8 (which Python keeps as lone surrogates) are shown as ``\\xNN``."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def printable(tree: Any) -> Any:
    """``tree`` (JSON-like) with every string made valid UTF-8 by :func:`display_name`."""
    if isinstance(tree, str):
        return display_name(tree)
    if isinstance(tree, dict):
        return {printable(key): printable(value) for key, value in tree.items()}
    if isinstance(tree, list | tuple):
        return [printable(value) for value in tree]
    return tree


def _chmod(path: Path, mode: int) -> None:
    if path.is_symlink():
        return  # never follow a link to change something outside
    try:
        if path.stat().st_mode & 0o777 != mode:
            path.chmod(mode)
    except PermissionError:
        pass  # not ours (a shared directory): leave it


def sources_digest(header: str, base: Path, names: tuple[str, ...]) -> str:
    """SHA-256 of ``header`` and each named source file under ``base`` (name and bytes; ``-`` for
    one that is missing): the code version a kept result is valid for."""
    digest = hashlib.sha256(f"{header}\n".encode())
    for name in names:
        path = base / name
        digest.update(name.encode())
        digest.update(path.read_bytes() if path.exists() else b"-")
    return digest.hexdigest()
