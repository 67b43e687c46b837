"""torchrun support: one process per GPU (or CPU process on gloo), DistributedDataParallel, rank 0 writes.

``torchrun --nproc_per_node=N -m overworld train ...`` (or ``--nnodes``/``--rdzv-endpoint`` for several
machines) sets RANK, WORLD_SIZE and LOCAL_RANK; without them training runs in one process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

__all__ = ["Distributed", "is_main_process", "setup_distributed"]


@dataclass(frozen=True)
class Distributed:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def all_mean(self, value: float, device: torch.device) -> float:
        if not self.enabled:
            return value
        t = torch.tensor([value], dtype=torch.float64, device=device)
        dist.all_reduce(t)
        return float(t.item()) / self.world_size

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def close(self) -> None:
        if self.enabled and dist.is_initialized():
            dist.destroy_process_group()


def is_main_process() -> bool:
    """Whether this process is rank 0 (or alone), from torchrun's environment: known before the group."""
    return int(os.environ.get("WORLD_SIZE", "1")) <= 1 or int(os.environ.get("RANK", "0")) == 0


def setup_distributed(device: torch.device) -> Distributed:
    """Join the process group torchrun describes (nccl on CUDA, gloo otherwise), or run alone."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Distributed()
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    backend = "nccl" if device.type == "cuda" else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    return Distributed(rank=rank, world_size=world, local_rank=local)
