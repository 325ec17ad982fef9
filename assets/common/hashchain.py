"""The audit log's hash chain (第二十七条 行为留痕, 第二十九条 商用密码): pure functions, no database.

Each record carries ``seq`` (1, 2, 3 … with no gap), ``prev_hash`` (the hash of the record before it, or
the anchor of the archived segment before it, or ``GENESIS``) and ``hash`` = SM3 (GB/T 32905) of its own
canonical content, which includes ``seq`` and ``prev_hash``. Changing, deleting, inserting or reordering
a record breaks the chain at that record or the one after it; ``check_chain`` names the first bad one.
Anyone with write access could rebuild a whole chain, so the head hash is also written outside the
database (every periodic report) — a rebuilt chain no longer ends in the published head.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64
HASH_ALGORITHM = "sm3"

# the content a record's hash covers, in this order (the order does not matter: keys are sorted)
CONTENT_FIELDS = (
    "seq",
    "at",
    "actor",
    "actor_role",
    "action",
    "target",
    "reason",
    "rows",
    "detail",
    "prev_hash",
)


def sm3_hex(data: bytes) -> str:
    return hashlib.new(HASH_ALGORITHM, data).hexdigest()


def canonical_time(value: datetime | str) -> str:
    """UTC with microseconds and a ``Z``: the same text whatever the database gives back (SQLite
    returns naive UTC datetimes, PostgreSQL aware ones)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def normalize_detail(detail: Mapping[str, object] | None) -> dict[str, Any] | None:
    """``detail`` as the JSON column gives it back (dates and other objects as text), so the hash
    computed before the insert equals the hash recomputed from the stored row."""
    if detail is None:
        return None
    return json.loads(json.dumps(dict(detail), ensure_ascii=False, default=str))


def canonical_content(record: Mapping[str, Any]) -> bytes:
    content = {field: record.get(field) for field in CONTENT_FIELDS}
    content["at"] = canonical_time(record["at"])
    content["seq"] = int(record["seq"])
    content["rows"] = None if record.get("rows") is None else int(record["rows"])
    return json.dumps(
        content, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str
    ).encode("utf-8")


def record_hash(record: Mapping[str, Any]) -> str:
    return sm3_hex(canonical_content(record))


@dataclass(frozen=True)
class ChainProblem:
    """The first bad record: its ``seq`` and row ``id`` as stored, and what is wrong (Chinese)."""

    seq: int | None
    id: int | None
    kind: str  # modified | missing | inserted | reordered | broken_link | head_mismatch
    message: str

    def as_dict(self) -> dict[str, object]:
        return {"seq": self.seq, "id": self.id, "kind": self.kind, "message": self.message}


@dataclass(frozen=True)
class ChainCheck:
    checked: int
    first_seq: int | None
    last_seq: int | None
    head_hash: str
    problem: ChainProblem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


RECENT = 4096  # how many recent hashes the check remembers, to name inserted records exactly


def _original_seq(row: Mapping[str, Any], window: int = 16) -> int | None:
    """The seq under which ``row``'s content was hashed, when only its number was changed."""
    seq = int(row["seq"])
    for other in range(max(1, seq - window), seq + window + 1):
        if other != seq and record_hash({**row, "seq": other}) == row["hash"]:
            return other
    return None


def check_chain(
    records: Iterable[Mapping[str, Any]],
    *,
    anchor_seq: int = 0,
    anchor_hash: str = GENESIS,
    head: tuple[int, str] | None = None,
) -> ChainCheck:
    """Walk records in ``seq`` order from the anchor (the last archived record, or the genesis) and
    stop at the first bad one. ``head`` is the stored (seq, hash) of the newest record, checked at the
    end (a removed last record shows there)."""
    expected_seq, expected_prev = anchor_seq + 1, anchor_hash
    previous_id: int | None = None
    checked = 0
    first_seq: int | None = None
    recent: dict[str, int] = {anchor_hash: anchor_seq}  # hash → seq of the records walked
    ids: dict[int, int | None] = {}  # seq → row id of the records walked

    def result(problem: ChainProblem | None, last: int) -> ChainCheck:
        return ChainCheck(checked, first_seq, last if checked else None, expected_prev, problem)

    def fail(seq: int, row_id: int | None, kind: str, message: str) -> ChainCheck:
        return result(ChainProblem(seq, row_id, kind, message), expected_seq - 1)

    def inserted_after(prev_hash: str) -> int | None:
        """When ``prev_hash`` is the hash of a record before the last one walked, the records walked
        since it were inserted: the seq of the first of them."""
        seen = recent.get(prev_hash)
        return seen + 1 if seen is not None and seen < expected_seq - 1 else None

    def label(seq: int, row_id: int | None) -> str:
        return f"第 {seq} 条审计记录（id {row_id}）"

    for row in records:
        seq, row_id = int(row["seq"]), row.get("id")
        if first_seq is None:
            first_seq = seq
        if record_hash(row) != row["hash"]:
            original = _original_seq(row)
            if original is None:
                return fail(
                    seq, row_id, "modified", f"{label(seq, row_id)}的内容与其散列不符：记录被修改"
                )
            first_inserted = inserted_after(row["prev_hash"])
            if first_inserted is not None:
                return fail(
                    first_inserted,
                    ids.get(first_inserted),
                    "inserted",
                    f"{label(first_inserted, ids.get(first_inserted))}是插入的：其后一条原为第 "
                    f"{original} 条，被改号为第 {seq} 条",
                )
            return fail(
                seq,
                row_id,
                "reordered",
                f"{label(seq, row_id)}原为第 {original} 条：序号被改动，记录被调换顺序或前面有记录被删改",
            )
        if seq > expected_seq:
            return fail(
                seq,
                row_id,
                "missing",
                f"{label(seq, row_id)}之前缺少第 {expected_seq}–{seq - 1} 条：记录被删除",
            )
        if seq < expected_seq:
            return fail(
                seq, row_id, "inserted", f"{label(seq, row_id)}的序号重复或倒退：记录被插入"
            )
        if row["prev_hash"] != expected_prev:
            first_inserted = inserted_after(row["prev_hash"])
            if first_inserted is not None:
                return fail(
                    first_inserted,
                    ids.get(first_inserted),
                    "inserted",
                    f"{label(first_inserted, ids.get(first_inserted))}是插入的：第 {seq} 条记载的前一条"
                    f"是第 {first_inserted - 1} 条",
                )
            return fail(
                seq,
                row_id,
                "broken_link",
                f"{label(seq, row_id)}记载的前一条散列与第 {seq - 1} 条不符：前一条被替换或删除",
            )
        if previous_id is not None and row_id is not None and row_id < previous_id:
            return fail(
                seq,
                row_id,
                "reordered",
                f"{label(seq, row_id)}的存储顺序在前一条之前：记录被调换顺序",
            )
        previous_id = row_id if row_id is not None else previous_id
        expected_seq, expected_prev = seq + 1, row["hash"]
        recent[row["hash"]] = seq
        ids[seq] = row_id
        if len(recent) > RECENT:
            oldest = next(iter(recent))
            ids.pop(recent.pop(oldest), None)
        checked += 1
    last_seq = expected_seq - 1
    if head is not None and (int(head[0]), head[1]) != (last_seq, expected_prev):
        return result(
            ChainProblem(
                int(head[0]),
                None,
                "head_mismatch",
                f"链头记载第 {head[0]} 条，而日志止于第 {last_seq} 条（或散列不同）："
                "末尾记录被删除或链被改写",
            ),
            last_seq,
        )
    return result(None, last_seq)
