"""Long work off the request thread: one job at a time (the model and the CPU are shared), each with the
step it is on and the share done, which the page polls to show progress."""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from overworld.errors import OverworldError

__all__ = ["Job", "Jobs"]

log = logging.getLogger(__name__)


@dataclass
class Job:
    """One piece of work: ``state`` is queued, running, done or error; ``takes`` what it made (done),
    ``error`` its one-line reason (error)."""

    id: int
    state: str = "queued"
    step: str = "waiting for the previous job"
    share: float | None = None
    takes: list[Any] = field(default_factory=list)
    error: str = ""

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "state": self.state, "step": self.step, "share": self.share, "error": self.error,
                "takes": [t.describe() for t in self.takes]}  # fmt: skip


class Jobs:
    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="overworld-studio")
        self._jobs: dict[int, Job] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def submit(self, work: Callable[[Callable[[str, float | None], None]], list[Any]]) -> Job:
        """Run ``work(progress)`` (it returns the takes it made) after the jobs before it."""
        with self._lock:
            job = Job(next(self._ids))
            self._jobs[job.id] = job

        def progress(step: str, share: float | None) -> None:
            job.step, job.share = step, share if share is None else min(max(share, 0.0), 1.0)

        def run() -> None:
            job.state, job.step = "running", "starting"
            try:
                job.takes = list(work(progress))
                job.state, job.step, job.share = "done", "done", 1.0
            except OverworldError as exc:
                job.error, job.state = str(exc).splitlines()[0] if str(exc) else type(exc).__name__, "error"
            except Exception as exc:  # the page still gets one line; the log keeps the traceback
                log.exception("studio job %d failed", job.id)
                job.error, job.state = (
                    f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
                    "error",
                )

        self._pool.submit(run)
        return job

    def get(self, job_id: int) -> Job | None:
        return self._jobs.get(job_id)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
