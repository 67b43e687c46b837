"""The model's incremental steps, on a worker thread while the sampler works out the grammar's next mask.

# B batch, T new positions, V vocabulary

A sampled token feeds two pieces of work that do not depend on each other: the model's one-token step
(the logits of the next token) and the grammar's update, mask and bias (which tokens may come next). At
batch 1 on a CPU each takes a good share of a token's time, so :class:`Stepper` runs the model's step on
one worker thread while the caller's thread runs the grammar, and the two meet when the next token is
drawn. torch's kernels release the GIL, so the two overlap wherever a core is free; the operations and
their order within each are the same as run one after the other, so the logits (and the pieces drawn from
them) are bit for bit the same.

:func:`overlaps` decides: only where a core is left over beside torch's own threads (on a CPU; one for the
caller's thread on another device), since on a single core a second thread only adds switching.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor, wait
from types import TracebackType
from typing import Any

import torch
from torch import Tensor

from overworld.threads import available_cores

__all__ = ["Stepper", "overlaps"]


def overlaps(device: torch.device) -> bool:
    """Whether a worker thread for the model's steps has a core of its own: more cores than torch's
    intra-op threads on a CPU (which :func:`overworld.threads.choose_threads` set for this batch),
    at least two on another device (the model's launches and the grammar)."""
    busy = torch.get_num_threads() if device.type == "cpu" else 1
    return available_cores() > busy


class Stepper:
    """``lm.step(ids, cache)[:, -1]`` started with :meth:`start` and collected with :meth:`result`, on a
    worker thread when ``background`` (else at once, on the caller's). A context manager: leaving it waits
    for a step still running (so the model is never switched back to training under it) and ends the
    thread."""

    def __init__(self, lm: Any, cache: Any, *, background: bool) -> None:
        self.lm, self.cache = lm, cache
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="overworld-step") if background else None
        self._pending: Future[Tensor] | None = None
        self._logits: Tensor | None = None

    def _step(self, ids: Tensor) -> Tensor:
        with torch.inference_mode():  # thread-local: the worker enters it itself
            return self.lm.step(ids, self.cache)[:, -1]  # (B, V)

    def start(self, ids: Tensor) -> None:
        """Feed ``ids (B, T)``: the logits of the position after them come from :meth:`result`."""
        if self._pool is None:
            self._logits = self._step(ids)
        else:
            self._pending = self._pool.submit(self._step, ids)

    def result(self) -> Tensor:
        """The logits ``(B, V)`` of the last :meth:`start` (waiting for its step to end); its error if it
        raised one."""
        if self._pending is not None:
            pending, self._pending = self._pending, None
            self._logits = pending.result()
        if self._logits is None:
            raise RuntimeError("Stepper.result() before any start()")
        return self._logits

    def __enter__(self) -> Stepper:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._pending is not None:
            wait([self._pending])  # a step begun for a token after the last: let it end, drop its logits
            self._pending = None
        if self._pool is not None:
            self._pool.shutdown(wait=True)
