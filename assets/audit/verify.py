"""Verify the audit log (``publicdata audit verify``): the chain in the database from the newest archive
anchor (or the genesis) to the head, the anchors' own links, and optionally every archive file."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from assets.audit.log import HEAD_ID, chain_rows
from assets.common.hashchain import GENESIS, ChainCheck, ChainProblem, check_chain, sm3_hex
from assets.storage.tables import audit_anchors, audit_head


@dataclass(frozen=True)
class Anchor:
    from_seq: int
    to_seq: int
    records: int
    first_prev_hash: str
    last_hash: str
    archive_file: str
    file_sm3: str


@dataclass
class Verification:
    chain: ChainCheck
    anchor: Anchor | None
    archives_checked: int = 0
    problems: list[str] = field(default_factory=list)  # anchors and archives

    @property
    def ok(self) -> bool:
        return self.chain.ok and not self.problems

    def as_dict(self) -> dict[str, Any]:
        problem: ChainProblem | None = self.chain.problem
        return {
            "ok": self.ok,
            "checked": self.chain.checked,
            "first_seq": self.chain.first_seq,
            "last_seq": self.chain.last_seq,
            "head_hash": self.chain.head_hash,
            "anchor": (
                {"to_seq": self.anchor.to_seq, "hash": self.anchor.last_hash}
                if self.anchor
                else None
            ),
            "first_bad": problem.as_dict() if problem else None,
            "archives_checked": self.archives_checked,
            "archive_problems": self.problems,
        }


def anchors(engine: Engine) -> list[Anchor]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(audit_anchors).order_by(audit_anchors.c.to_seq)
        ).mappings()
        return [Anchor(**{k: row[k] for k in Anchor.__dataclass_fields__}) for row in rows]


def _anchor_links(found: list[Anchor]) -> list[str]:
    problems = []
    expected_from, expected_prev = 1, GENESIS
    for anchor in found:
        if anchor.from_seq != expected_from or anchor.first_prev_hash != expected_prev:
            problems.append(
                f"归档段 {anchor.from_seq}–{anchor.to_seq} 与前一段不相接"
                f"（应从第 {expected_from} 条、前一散列 {expected_prev[:12]}… 开始）"
            )
        expected_from, expected_prev = anchor.to_seq + 1, anchor.last_hash
    return problems


def read_archive(path: Path) -> Iterator[Mapping[str, Any]]:
    """The records of an archive file (JSON lines; the first line is its header)."""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle):
            if number == 0:
                continue
            if line.strip():
                yield json.loads(line)


def check_archive(data_dir: Path, anchor: Anchor) -> str | None:
    """None when the archive file exists, has the recorded SM3 and its records chain from the
    anchor's first link to its last hash; else what is wrong."""
    path = data_dir / anchor.archive_file
    if not path.is_file():
        return f"归档文件缺失: {anchor.archive_file}"
    if sm3_hex(path.read_bytes()) != anchor.file_sm3:
        return f"归档文件 {anchor.archive_file} 的 SM3 与锚点记载不符：文件被改动"
    result = check_chain(
        read_archive(path),
        anchor_seq=anchor.from_seq - 1,
        anchor_hash=anchor.first_prev_hash,
        head=(anchor.to_seq, anchor.last_hash),
    )
    if result.problem is not None:
        return f"归档文件 {anchor.archive_file}：{result.problem.message}"
    return None


def verify_log(engine: Engine, *, data_dir: Path | None = None) -> Verification:
    """Check the chain in the database from the newest anchor to the head; with ``data_dir`` also
    every archive file against its anchor."""
    found = anchors(engine)
    latest = found[-1] if found else None
    with engine.connect() as connection:
        stored_head = connection.execute(
            sa.select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == HEAD_ID)
        ).one_or_none()
        chain = check_chain(
            chain_rows(connection, after_seq=latest.to_seq if latest else 0),
            anchor_seq=latest.to_seq if latest else 0,
            anchor_hash=latest.last_hash if latest else GENESIS,
            head=(int(stored_head[0]), str(stored_head[1])) if stored_head else None,
        )
    verification = Verification(chain, latest, problems=_anchor_links(found))
    if stored_head is None:
        verification.problems.append("链头记录缺失")
    if data_dir is not None:
        for anchor in found:
            problem = check_archive(Path(data_dir), anchor)
            verification.archives_checked += 1
            if problem:
                verification.problems.append(problem)
    return verification
