"""Progress of the long stages (ingest, quality, governance, classification, publish), in datasets and
rows: each stage reports a dataset started and finished with its row count — counts only, never a
value. The report goes to the stage's own log (the Dagster run log, as ``context.log.info``) and to the
listeners registered in this process (the CLI's progress line, through ``listening``).

Free of Dagster: the assets pass their logger's ``info``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

STAGE_LABELS = {
    "ingest": "入库",
    "quality": "质量校验",
    "governance": "治理",
    "classification": "分类分级",
    "operation": "脱敏发布",
}


@dataclass(frozen=True)
class StageProgress:
    stage: str  # a key of STAGE_LABELS
    dataset_id: str
    title: str  # the catalog title, for people
    rows: int  # rows of the dataset this stage has handled so far
    finished: bool

    def text(self) -> str:
        state = "完成" if self.finished else "开始"
        return (
            f"{STAGE_LABELS.get(self.stage, self.stage)} {self.title}（{self.dataset_id}）{state}"
            f" · {self.rows:,d} 行"
        )


Listener = Callable[[StageProgress], None]
_listeners: list[Listener] = []


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Within the block, every stage report of this process also goes to ``listener``."""
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)


def forget_listeners() -> None:
    """A forked process reports to its own listeners only, not to those of the parent it copied."""
    _listeners.clear()


def report(
    log: Callable[[str], object] | None,
    stage: str,
    dataset_id: str,
    title: str,
    *,
    rows: int,
    finished: bool = True,
) -> None:
    """One progress event: logged with ``log`` and handed to the listeners. A listener that fails
    never stops the stage."""
    event = StageProgress(stage, dataset_id, title, int(rows), finished)
    if log is not None:
        log(event.text())
    for listener in list(_listeners):
        with suppress(Exception):  # a progress display must not fail a run
            listener(event)
