"""Isolated parsing workers: each file is read, hashed, parsed and tokenized in a child process under a
memory limit; the parent gives every file a time limit. A worker that crashes (a native fault in a
parser), runs out of memory or overruns its time is killed and replaced, its file is recorded as failed,
and the rest of the batch goes on.

Files travel to workers in small chunks, two in flight (the next one waits in the pipe), and results come
back one per file, so when a worker dies the parent knows exactly which file killed it.
"""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

import numpy as np

from overworld.errors import DataError

__all__ = ["FileResult", "process_files"]

_CHUNK = 8


@dataclass
class FileResult:
    path: str
    source: str
    sha256: str = ""
    ids: np.ndarray | None = None  # uint16 tokens, without BOS/EOS
    notes: int = 0
    seconds: float = 0.0
    instruments: list[int] = field(default_factory=list)
    reason: str | None = None  # set when the file failed


def _limit_memory(megabytes: int) -> None:
    try:
        import resource

        with open("/proc/self/status", encoding="ascii") as handle:
            vm = next(int(line.split()[1]) * 1024 for line in handle if line.startswith("VmSize:"))
        limit = vm + megabytes * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, OSError, StopIteration, ValueError):  # not Linux: no limit, the timeout remains
        pass


def _work_one(path: str, source: str, tokenizer: Any, max_bytes: int, max_seconds: float) -> FileResult:
    from overworld.errors import OverworldError
    from overworld.midi import load_score

    result = FileResult(path=path, source=source)
    try:
        size = os.path.getsize(path)
        if size > max_bytes:
            raise OverworldError(f"{size} bytes, over the {max_bytes}-byte limit")
        with open(path, "rb") as handle:
            data = handle.read()
        result.sha256 = hashlib.sha256(data).hexdigest()
        score = load_score(data, max_seconds=max_seconds)
        ids = tokenizer.encode(score)
        if len(ids) == 0:
            raise OverworldError("no notes to tokenize")
        result.ids = ids.astype(np.uint16)
        result.notes = int(score.note_num())
        result.seconds = float(score.end())
        result.instruments = sorted(
            {128 if t.is_drum else int(t.program) for t in score.tracks if len(t.notes)}
        )
    except MemoryError:
        result.reason = "out of memory while parsing"
    except OverworldError as exc:
        result.reason = str(exc)
    except OSError as exc:
        result.reason = f"cannot read: {exc.strerror or exc}"
    except Exception as exc:  # a parser bug must cost one file, not the batch
        if "bad_alloc" in str(exc):
            result.reason = "out of memory while parsing"
            return result
        result.reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
    return result


def _worker_main(
    conn: Connection, tokenizer_dict: dict, memory_mb: int, max_bytes: int, max_seconds: float
) -> None:
    import symusic  # noqa: F401  (everything a parse needs is loaded before the memory limit)

    import overworld.midi  # noqa: F401
    from overworld.tokenizers import load_tokenizer

    tokenizer = load_tokenizer(tokenizer_dict)
    _limit_memory(memory_mb)
    conn.send("ready")
    while True:
        try:
            chunk = conn.recv()
        except EOFError:
            return
        if chunk is None:
            return
        for path, source in chunk:
            conn.send(_work_one(path, source, tokenizer, max_bytes, max_seconds))


class _Worker:
    def __init__(self, ctx: Any, args: tuple) -> None:
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_main, args=(child, *args), daemon=True)
        self.proc.start()
        child.close()
        self.pending: deque[tuple[str, str]] = deque()
        self.deadline = float("inf")
        self.ready = False

    def receive(self, timeout_s: float) -> tuple[list[FileResult], str | None]:
        """Every message the worker has sent so far (one wait for several when the parent was slow to
        run): its results in order, and why it died (None while it lives)."""
        results: list[FileResult] = []
        try:
            while True:
                message = self.conn.recv()
                if message == "ready":
                    self.ready = True
                else:
                    self.pending.popleft()
                    results.append(message)
                    self.deadline = time.monotonic() + timeout_s  # the next file's clock starts
                if not self.conn.poll():
                    return results, None
        except (EOFError, OSError):
            self.proc.join(1)
            return results, f"the parser crashed (worker exit code {self.proc.exitcode})"

    def feed(self, todo: deque[tuple[str, str]], timeout_s: float) -> None:
        """Send chunks of ``todo`` until two are in flight: the next chunk waits in the pipe while the
        worker parses one, so it never idles waiting for the parent (which on a busy machine may not run
        for milliseconds)."""
        while self.ready and len(self.pending) <= _CHUNK and todo:
            if not self.pending:  # the clock of an idle worker's next file starts now
                self.deadline = time.monotonic() + timeout_s
            chunk = [todo.popleft() for _ in range(min(_CHUNK, len(todo)))]
            self.pending.extend(chunk)
            self.conn.send(chunk)

    def finish(self) -> None:
        """Tell the worker there is no more work, and wait for it to end."""
        self.conn.send(None)
        self.proc.join(5)
        self.conn.close()

    def kill(self) -> None:
        self.proc.kill()
        self.proc.join()
        self.conn.close()


def process_files(
    files: list[tuple[str, str]],
    tokenizer_dict: dict,
    *,
    workers: int,
    timeout_s: float,
    memory_mb: int,
    max_bytes: int,
    max_seconds: float,
    on_result: Callable[[FileResult], None] | None = None,
) -> Iterator[FileResult]:
    """Yield one FileResult per (path, source), in completion order."""
    ctx = mp.get_context("spawn")  # a fresh interpreter: no inherited threads, an honest memory limit
    args = (tokenizer_dict, memory_mb, max_bytes, max_seconds)
    todo = deque(files)
    pool = [_Worker(ctx, args) for _ in range(max(1, min(workers, len(files))))]
    start_grace = 60.0  # a worker's first answer includes interpreter start-up
    startup_failures = 0
    for w in pool:
        w.deadline = time.monotonic() + start_grace

    try:
        while pool:
            # wake at the first deadline: with a 50 ms poll a file could overrun a shorter limit unseen
            first_deadline = min(w.deadline for w in pool) - time.monotonic()
            ready = wait([w.conn for w in pool], timeout=min(0.05, max(0.0, first_deadline)))
            now = time.monotonic()
            for w in list(pool):
                failed_reason = None
                if w.conn in ready:
                    results, failed_reason = w.receive(timeout_s)
                    yield from results
                elif now > w.deadline:
                    failed_reason = f"took longer than {timeout_s:g} s (parser hung?)"
                if failed_reason is not None:
                    if not w.ready:  # it died before taking any work: starting it again would loop
                        startup_failures += 1
                        if startup_failures >= 3:
                            raise DataError(
                                f"parsing workers could not start ({failed_reason}); a script that calls "
                                "prepare() needs an `if __name__ == '__main__':` guard (workers are spawned)"
                            )
                    if w.pending:
                        path, source = w.pending.popleft()
                        yield FileResult(path=path, source=source, reason=failed_reason)
                    todo.extendleft(reversed(w.pending))  # the rest of its chunk goes back in line
                    w.kill()
                    pool.remove(w)
                    if todo or any(p.pending for p in pool):
                        fresh = _Worker(ctx, args)
                        fresh.deadline = time.monotonic() + start_grace
                        pool.append(fresh)
                    continue
                w.feed(todo, timeout_s)
                if not todo and not w.pending and w.ready:
                    w.finish()
                    pool.remove(w)
    finally:
        for w in pool:
            w.kill()
