"""A run's metrics: ``metrics.csv`` (one row per logged step, in :data:`METRIC_COLUMNS`) and TensorBoard.
On resume the rows past the resumed step are dropped, so the file reads as one uninterrupted run."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

__all__ = ["METRIC_COLUMNS", "Metrics"]

log = logging.getLogger(__name__)

METRIC_COLUMNS = (
    "step",
    "elapsed_s",
    "lr",
    "train_loss",
    "train_accuracy",
    "tokens_per_s",
    "val_loss",
    "val_accuracy",
    "val_bits_per_token",
)


class Metrics:
    """metrics.csv (one row per logged step) and TensorBoard, written by rank 0 only."""

    def __init__(self, run: Path, resume_step: int | None, enabled: bool) -> None:
        self.enabled = enabled
        self.path = run / "metrics.csv"
        self.writer = None
        if not enabled:
            return
        rows = []
        if resume_step is not None and self.path.exists():
            with open(self.path, newline="") as handle:
                rows = [r for r in csv.DictReader(handle) if int(r["step"]) <= resume_step]
        with open(self.path, "w", newline="") as handle:
            w = csv.DictWriter(handle, METRIC_COLUMNS)
            w.writeheader()
            w.writerows(rows)
        try:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(run / "tensorboard"), purge_step=resume_step)
        except ImportError:  # tensorboard missing: metrics.csv still has everything
            log.warning("tensorboard is not installed; logging to metrics.csv only")

    def log(self, row: dict[str, float]) -> None:
        if not self.enabled:
            return
        with open(self.path, "a", newline="") as handle:
            csv.DictWriter(handle, METRIC_COLUMNS).writerow({k: row.get(k, "") for k in METRIC_COLUMNS})
        if self.writer is not None:
            for key, value in row.items():
                if key != "step":
                    self.writer.add_scalar(key.replace("_", "/", 1), value, int(row["step"]))
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
