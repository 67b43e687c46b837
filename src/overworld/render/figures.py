"""Matplotlib on the Agg backend (no screen needed), and writing a figure as PNG."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["pyplot", "save_png"]


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend, imported on first use."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_png(fig: Any, out_png: str | Path, dpi: int) -> Path:
    """Lay out, write (creating the folder) and close ``fig``."""
    fig.tight_layout()
    out = Path(out_png)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi)
    pyplot().close(fig)
    return out
