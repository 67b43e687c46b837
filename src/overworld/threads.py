"""How many CPU threads torch uses for a piece of work: as the user says, else chosen from its size.

Sampling one piece from a small model is a chain of tiny matrix products: a second intra-op thread only
waits for the first (torch's OpenMP threads spin while they wait) and takes a core from whatever else
runs on the machine. ``compose --bars 16`` on a 2-core machine with one core busy took 117 s with torch's
default of a thread per core and 11.5 s with one thread. So sampling starts from one thread and adds one
per :data:`WORK_PER_THREAD` of batch x parameters; training and evaluation use every core.

Precedence, first found wins: the ``--threads`` flag (``flag``), ``OVERWORLD_THREADS``, ``OMP_NUM_THREADS``
(the user's setting for every OpenMP program, respected as is), the automatic choice. ``auto`` asks for the
automatic choice wherever a number may be given.

Nothing happens at import: :func:`choose_threads` is called by the function that starts the work (the
CLI before a verb that runs a model, ``generate`` with its batch and model size).
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass

from overworld.errors import ConfigError

__all__ = [
    "ENV",
    "MAX_THREADS",
    "SMALL_MODEL",
    "WORK_PER_THREAD",
    "ThreadChoice",
    "choose_threads",
    "parse_threads",
    "resolve_threads",
]

log = logging.getLogger(__name__)

ENV = "OVERWORLD_THREADS"
MAX_THREADS = 1024
# batch x parameters a sampling step keeps one thread busy for before a second one pays (a 1.9 M-parameter
# model at batch 32 is 61 M: one thread; see benchmarks/bench_threads.py)
WORK_PER_THREAD = 64_000_000
SMALL_MODEL = 2_000_000  # parameters assumed where the model is not known yet (the bundled model's size)


@dataclass(frozen=True)
class ThreadChoice:
    """``threads`` for the work and where the number came from (``--threads``, an environment variable's
    name, or ``auto``)."""

    threads: int
    source: str

    def __post_init__(self) -> None:
        if not 1 <= self.threads <= MAX_THREADS:
            raise ConfigError(f"threads must be from 1 to {MAX_THREADS}, not {self.threads}")


def parse_threads(value: str | int | None, name: str = "--threads") -> int | None:
    """A thread count from a flag or an environment variable: a whole number from 1 to 1024, or ``auto``
    (and None, not given) for None. Anything else is a one-line :class:`ConfigError` naming ``name``."""
    if value is None:
        return None
    text = str(value).strip().lower()
    if text == "auto":
        return None
    if text.isdigit() and 1 <= int(text) <= MAX_THREADS:
        return int(text)
    raise ConfigError(
        f"{name} must be a whole number of threads from 1 to {MAX_THREADS} or 'auto', not {value!r}"
    )


def _omp_threads(env: Mapping[str, str]) -> int | None:
    """The first number of ``OMP_NUM_THREADS`` (OpenMP allows a list, one per nesting level); a value
    OpenMP would not take is not ours to reject, and counts as unset."""
    head = env.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    return int(head) if head.isdigit() and 1 <= int(head) <= MAX_THREADS else None


def auto_threads(cores: int, *, batch: int = 1, parameters: int | None = None, training: bool = False) -> int:
    """The automatic choice: every core for training, else a thread per :data:`WORK_PER_THREAD` of batch x
    parameters (an unknown model counts as :data:`SMALL_MODEL`), at least one and at most ``cores``."""
    cores = max(1, int(cores))
    if training:
        return cores
    size = SMALL_MODEL if parameters is None else max(0, int(parameters))
    work = max(1, int(batch)) * size
    return max(1, min(cores, -(-work // WORK_PER_THREAD)))


def resolve_threads(
    flag: str | int | None = None,
    *,
    env: Mapping[str, str],
    cores: int,
    batch: int = 1,
    parameters: int | None = None,
    training: bool = False,
) -> ThreadChoice:
    """The threads for a piece of work, from ``flag`` (``--threads``), then ``env`` (``OVERWORLD_THREADS``,
    ``OMP_NUM_THREADS``), then :func:`auto_threads`. Pure: reads nothing but its arguments."""
    auto = ThreadChoice(auto_threads(cores, batch=batch, parameters=parameters, training=training), "auto")
    if flag is not None:
        n = parse_threads(flag, "--threads")
        return auto if n is None else ThreadChoice(n, "--threads")
    if env.get(ENV, "").strip():
        n = parse_threads(env[ENV], ENV)
        return auto if n is None else ThreadChoice(n, ENV)
    omp = _omp_threads(env)
    return auto if omp is None else ThreadChoice(omp, "OMP_NUM_THREADS")


def available_cores() -> int:
    """CPUs this process may run on (its affinity mask where the system tells it), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


@functools.cache
def _torch_default() -> int:
    """torch's own thread count before anything here changed it (a thread per physical core)."""
    import torch

    return torch.get_num_threads()


def choose_threads(
    flag: str | int | None = None, *, batch: int = 1, parameters: int | None = None, training: bool = False
) -> int:
    """Set torch's intra-op threads for work of this size (see :func:`resolve_threads`) and return them.

    Call it where the work starts: ``choose_threads(batch=num, parameters=model.num_parameters())``
    before sampling, ``choose_threads(training=True)`` before training. The automatic choice never goes
    past torch's own default (physical cores) nor the CPUs this process may use. Raises
    :class:`ConfigError` for a bad ``flag`` or ``OVERWORLD_THREADS``.
    """
    import torch

    cores = min(available_cores(), _torch_default())
    choice = resolve_threads(
        flag, env=os.environ, cores=cores, batch=batch, parameters=parameters, training=training
    )
    if torch.get_num_threads() != choice.threads:
        torch.set_num_threads(choice.threads)
    log.debug("torch uses %d CPU thread(s) (%s)", choice.threads, choice.source)
    return choice.threads
