"""A rich progress bar that only appears when the work takes more than a second."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn


class DelayedProgress:
    """Counts steps; shows a bar on stderr once ``delay`` seconds have passed. Safe to
    advance from several threads (the bootstrap's blocks report from its thread pool)."""

    def __init__(self, total: int, description: str, delay: float = 1.0):
        self.total, self.description, self.delay = total, description, delay
        self.start = time.perf_counter()
        self.done = 0
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._lock = threading.Lock()

    def advance(self, label: str = "") -> None:
        self.advance_by(1, label)

    def advance_by(self, steps: int, label: str = "") -> None:
        with self._lock:
            self._advance(steps, label)

    def _advance(self, steps: int, label: str) -> None:
        self.done += steps
        if self._progress is None and time.perf_counter() - self.start > self.delay:
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[step]}"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task(self.description, total=self.total, step="")
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=self.done, step=label)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()


@contextmanager
def delayed_progress(total: int, description: str) -> Iterator[DelayedProgress]:
    bar = DelayedProgress(total, description)
    try:
        yield bar
    finally:
        bar.close()
