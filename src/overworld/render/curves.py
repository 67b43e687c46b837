"""Training curves from a run's metrics.csv: loss and accuracy, training and validation, against steps."""

from __future__ import annotations

import csv
import math
from pathlib import Path

from overworld.errors import DataError

__all__ = ["plot_curves", "read_metrics"]


def read_metrics(source: str | Path) -> dict[str, list[tuple[int, float]]]:
    """{column: [(step, value)]} for every numeric column of RUN/metrics.csv (empty cells skipped)."""
    path = Path(source)
    if path.is_dir():
        path = path / "metrics.csv"
    if not path.is_file():
        raise DataError(f"no metrics.csv at {path}; is this a run folder written by `overworld train`?")
    series: dict[str, list[tuple[int, float]]] = {}
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            step = int(float(row["step"]))
            for key, value in row.items():
                if key == "step" or value in ("", None):
                    continue
                try:
                    number = float(value)
                except ValueError:
                    continue
                if math.isfinite(number):
                    series.setdefault(key, []).append((step, number))
    return series


def plot_curves(
    runs: str | Path | dict[str, str | Path],
    out_png: str | Path,
    *,
    width: float = 12.0,
    height: float = 4.5,
    dpi: int = 100,
) -> Path:
    """Loss (left) and accuracy (right) against steps for one run, or several ``{label: run}`` overlaid."""
    from overworld.render.figures import pyplot, save_png

    plt = pyplot()

    named = runs if isinstance(runs, dict) else {"": runs}
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(width, height), dpi=dpi)
    for label, run in named.items():
        series = read_metrics(run)
        prefix = f"{label} " if label else ""
        for key, ax, style in (
            ("train_loss", loss_ax, "-"),
            ("val_loss", loss_ax, "o-"),
            ("train_accuracy", acc_ax, "-"),
            ("val_accuracy", acc_ax, "o-"),
        ):
            if key in series:
                steps, values = zip(*series[key])
                ax.plot(steps, values, style, ms=3, lw=1, label=prefix + key.replace("_", " "))
    loss_ax.set_xlabel("step")
    loss_ax.set_ylabel("loss (nats per token)")
    acc_ax.set_xlabel("step")
    acc_ax.set_ylabel("next-token accuracy")
    for ax in (loss_ax, acc_ax):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return save_png(fig, out_png, dpi)
