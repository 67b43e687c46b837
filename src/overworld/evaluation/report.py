"""Plain-text reports of the evaluations: each function returns the lines a caller prints (the CLI, a
notebook, a results script), never prints itself."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from overworld.evaluation.metrics import SetComparison

__all__ = ["copy_test_table", "copying_report", "likelihood_table", "statistics_report", "statistics_table"]


def _fmt4(x: float) -> str:
    return "-" if not math.isfinite(x) else f"{x:.4f}"


def likelihood_table(results: Mapping[str, Any]) -> str:
    """One column per scored model (``{"model": result, "bigram": result}``), one row per figure."""
    keys = ("bits_per_token", "bits_per_note", "bits_per_second", "perplexity", "accuracy")
    names = list(results)
    lines = [f"{'':<16}" + "".join(f"{n:>14}" for n in names)]
    for key in keys:
        lines.append(f"{key:<16}" + "".join(f"{_fmt4(getattr(results[n], key)):>14}" for n in names))
    for key in ("tokens", "notes", "seconds"):
        lines.append(f"{key:<16}" + "".join(f"{getattr(results[n], key):>14.0f}" for n in names))
    return "\n".join(lines)


def statistics_table(comparison: SetComparison, describe: Callable[[float], str] | None = None) -> str:
    """A plain-text table: one row per metric averaged into the mean OA, then the mean OA; the other rows
    (drum share, structure), then the mean OA over all rows."""
    fmt = describe or (lambda x: "-" if not math.isfinite(x) else f"{x:.3f}")
    header = f"{'metric':<22} {'generated':>19} {'reference':>19} {'OA':>7}"
    rule = "-" * len(header)

    def row(m: Any) -> str:
        g = f"{fmt(m.generated_mean)} ± {fmt(m.generated_std)}"
        r = f"{fmt(m.reference_mean)} ± {fmt(m.reference_std)}"
        return f"{m.name:<22} {g:>19} {r:>19} {fmt(m.overlapping_area):>7}"

    averaged = comparison.mean_of or tuple(m.name for m in comparison.metrics)
    lines = [header, rule, *(row(m) for m in comparison.metrics if m.name in averaged), rule]
    lines.append(f"{'mean OA':<22} {'':>19} {'':>19} {fmt(comparison.mean_overlapping_area):>7}")
    others = [row(m) for m in comparison.metrics if m.name not in averaged]
    if others:
        lines += [rule, *others, rule]
        lines.append(
            f"{'mean OA, all rows':<22} {'':>19} {'':>19} {fmt(comparison.mean_overlapping_area_all):>7}"
        )
    return "\n".join(lines)


def statistics_report(comparison: SetComparison, generated: str | Path, reference: str | Path) -> str:
    """The heading, :func:`statistics_table`, the pieces left out of the structure rows and the files
    that could not be read."""
    lines = [f"musical statistics: {generated} vs {reference} (OA: Yang and Lerch 2020)"]
    lines.append(statistics_table(comparison))
    sizes = {"generated": len(comparison.generated), "reference": len(comparison.reference)}
    for which, reasons in comparison.unmeasured.items():
        total = sizes.get(which, 0)
        for reason, count in reasons.items():
            pieces = f"{'piece' if total == 1 else 'pieces'} {'has' if count == 1 else 'have'}"
            lines.append(
                f"{which}: {count} of {total} {pieces} {reason} (left out of bar_self_similarity and "
                "exact_repeat_rate)"
            )
    lines += [f"skipped {path}: {reason}" for path, reason in comparison.skipped]
    return "\n".join(lines)


def copying_report(report: Any, generated: str | Path, train: str | Path) -> str:
    """One row per generated file (notes, longest copied run, 4-bar spans found in the train split), the
    totals and the files that could not be read; ``report`` is a ``copying.CopyReport``."""
    lines = [f"copy detection: {generated} vs the train split of {train}"]
    lines.append(f"{'file':<40} {'notes':>7} {'longest run':>12} {'4-bar spans found':>18}")
    for p in report.pieces:
        found = f"{p.spans_found}/{p.spans}"
        lines.append(f"{Path(p.path).name[:40]:<40} {p.notes:>7} {p.longest_run:>12} {found:>18}")
    lines.append(f"longest copied run: {report.longest_run} notes; spans found: {report.span_fraction:.1%}")
    lines += [f"skipped {path}: {reason}" for path, reason in report.skipped]
    return "\n".join(lines)


def copy_test_table(report: Any) -> str:
    """One row per tested piece (the primer similarity of its real and generated continuations and their
    ratio), the means, and the skipped pieces by reason; ``report`` is a ``copy_test.CopyTestReport``."""
    p, c = report.primer_bars, report.continuation_bars
    lines = [
        f"copy test: primed with {p} bars, {c} bars continued (seed {report.seed})",
        "primer similarity: each continuation bar's best Jaccard match to a primer bar, averaged",
    ]
    header = f"{'piece':<40} {'seconds':>8} {'real':>7} {'generated':>10} {'ratio':>7}"
    lines += [header, "-" * len(header)]
    for piece in report.pieces:
        lines.append(
            f"{Path(piece.path).name[:40]:<40} {piece.seconds:>8.1f} {_fmt4(piece.real):>7} "
            f"{_fmt4(piece.generated):>10} {_fmt4(piece.ratio):>7}"
        )
    lines.append("-" * len(header))
    mean = f"mean over {len(report.pieces)} {'piece' if len(report.pieces) == 1 else 'pieces'}"
    lines.append(
        f"{mean:<40} {'':>8} {_fmt4(report.mean_real):>7} {_fmt4(report.mean_generated):>10} "
        f"{_fmt4(report.ratio):>7}"
    )
    for reason, count in report.skipped_by_reason.items():
        lines.append(f"skipped {count} {'piece' if count == 1 else 'pieces'}: {reason}")
    return "\n".join(lines)


def realism_report(result: Any, generated: str | Path, reference: str | Path) -> str:
    """The realism test (:mod:`overworld.evaluation.realism`): the AUC with its interval, then each 4-bar
    window statistic's medians and its own AUC, the most telling first."""
    lines = [
        f"realism: can a classifier tell {generated} from {reference} over 4-bar windows? (0.5: no, 1: always)",
        f"AUC {result.auc:.3f} (95% interval {result.interval[0]:.3f}-{result.interval[1]:.3f}; windows "
        f"{result.windows[0]} generated, {result.windows[1]} reference; pieces {result.pieces[0]}, "
        f"{result.pieces[1]})",
        f"{'statistic':<22} {'generated':>10} {'reference':>10} {'AUC alone':>10}",
    ]
    for name in sorted(result.per_statistic, key=lambda n: -result.per_statistic[n]):
        gen, ref = result.medians[name]
        lines.append(f"{name:<22} {gen:>10.2f} {ref:>10.2f} {result.per_statistic[name]:>10.2f}")
    lines += result.notes
    return "\n".join(lines)
