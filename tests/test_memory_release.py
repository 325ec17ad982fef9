"""``orchestration/memory.py``: after a run that grew the process, a full collection; after one that
did not, none (a full collection in a process holding many objects cost most of a small run)."""

import gc

from orchestration import memory


def _full_collections(action) -> int:
    seen: list[int] = []

    def callback(phase: str, info: dict) -> None:
        if phase == "start" and info["generation"] == 2:
            seen.append(1)

    gc.callbacks.append(callback)
    try:
        action()
    finally:
        gc.callbacks.remove(callback)
    return len(seen)


def test_a_full_collection_only_after_the_process_grew():
    memory.release_memory()  # settled
    assert _full_collections(memory.release_memory) == 0

    grown = bytearray(memory.COLLECT_AFTER_GROWTH + 64 * 2**20)  # touched: resident
    assert memory._rss() - memory._settled_rss >= memory.COLLECT_AFTER_GROWTH
    assert _full_collections(memory.release_memory) == 1
    del grown
    memory.release_memory()
    assert _full_collections(memory.release_memory) == 0
