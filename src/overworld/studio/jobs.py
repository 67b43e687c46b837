"""Long work off the request thread: one job at a time (the model and the CPU are shared), each with the
step it is on and the share done, which the page polls to show progress. Only the last :data:`MAX_JOBS`
jobs are remembered (a job keeps the descriptions of its takes, never the takes: they are on disk)."""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from overworld.errors import OverworldError

__all__ = ["MAX_JOBS", "Job", "Jobs"]

MAX_JOBS = 64

log = logging.getLogger(__name__)


@dataclass
class Job:
    """One piece of work: ``state`` is queued, running, done or error; ``takes`` what it made (done: the
    takes' descriptions), ``error`` its one-line reason (error)."""

    id: int
    state: str = "queued"
    step: str = "waiting for the previous job"
    share: float | None = None
    takes: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": self.state,
            "step": self.step,
            "share": self.share,
            "error": self.error,
            "takes": list(self.takes),
        }


class Jobs:
    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="overworld-studio")
        self._jobs: dict[int, Job] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def submit(self, work: Callable[[Callable[[str, float | None], None]], list[Any]]) -> Job:
        """Run ``work(progress)`` (it returns the takes it made) after the jobs before it. The oldest
        finished job is forgotten past :data:`MAX_JOBS`."""
        with self._lock:
            job = Job(next(self._ids))
            self._jobs[job.id] = job
            finished = [j for j in self._jobs.values() if j.state in ("done", "error")]
            for old in finished[: max(len(self._jobs) - MAX_JOBS, 0)]:
                del self._jobs[old.id]

        def progress(step: str, share: float | None) -> None:
            job.step, job.share = step, share if share is None else min(max(share, 0.0), 1.0)

        def run() -> None:
            job.state, job.step = "running", "starting"
            try:
                job.takes = [take.describe() for take in work(progress)]
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
