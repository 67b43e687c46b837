"""Where a piece's arrangement plan comes from: drawn from the plans of the model's training pieces
(``plans.json`` beside the weights, written by :func:`write_plans`), or read from a piece the user names
(``--like FILE.mid``), through the tokenizer's bar abilities (:func:`~overworld.tokenizers.abilities.bars_of`:
``plan_of``, ``read_plan``). See :mod:`overworld.tokenizers.bars_plan` for what a plan is and how the
grammar keeps to it.

A drawn plan is a stretch of one training piece's plan, starting on a 4-bar line, going round to the
piece's start when the piece is shorter than the music asked for; with a line-up (``--instruments``, a
console), it is mapped onto those instruments by register, a bass onto the bass.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from overworld.errors import ConfigError, DataError
from overworld.midi.gm import DRUMS
from overworld.tokenizers.abilities import bars_of

if TYPE_CHECKING:
    from overworld.tokenizers.bars_plan import Plan  # a type only: plans come through the abilities

__all__ = ["PLANS_FILE", "draw_plans", "like_plan", "read_plans", "write_plans"]

PLANS_FILE = "plans.json"
MAX_PLANS_BYTES = 32 * 2**20
PHRASE = 4  # drawn plans start on a multiple of this many bars
TRIES = 16  # draws to find a plan that fills a line-up's voices


_READ: dict[tuple[str, int, int], tuple[Any, list[Plan]]] = {}  # a few files, with their tokenizers


def read_plans(model: Any) -> list[Plan]:
    """The plans beside a loaded model (``model.path / plans.json``); none when it has no such file.
    Parsed once per file version and tokenizer (0.1-0.3 s a read on a 2-core machine, which generate,
    compose's passes, live play and the studio paid on every piece): plans are frozen, so calls share
    them."""
    path = Path(getattr(model, "path", "") or ".") / PLANS_FILE
    if not path.is_file():
        return []
    stat = path.stat()
    if stat.st_size > MAX_PLANS_BYTES:
        raise DataError(f"{path} is over {MAX_PLANS_BYTES // 2**20} MB; not a plans file")
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    held = _READ.get(key)
    if held is None or held[0] is not model.tokenizer:
        if len(_READ) >= 4:
            _READ.clear()
        held = _READ[key] = (model.tokenizer, _parse_plans(path, model.tokenizer))
    return held[1]


def _parse_plans(path: Path, tokenizer: Any) -> list[Plan]:
    """Every plan of the plans file at ``path``, read with ``tokenizer``'s bar abilities."""
    bars = bars_of(tokenizer, "arrangement plans")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [bars.read_plan(d) for d in data["plans"]]
    except (ValueError, KeyError, TypeError, ConfigError) as exc:
        raise DataError(f"{path}: not a plans file ({exc})") from exc


def write_plans(prepared: str | Path, out: str | Path, split: str = "train") -> int:
    """Write the plans of every piece of a prepared bar-token folder's ``split`` to ``out``; returns
    how many. Pieces with fewer than 4 bars are left out."""
    from overworld.data.shards import read_shard
    from overworld.tokenizers import load_tokenizer

    folder = Path(prepared)
    bars = bars_of(load_tokenizer(folder / "tokenizer.json"), "arrangement plans")
    tokens, index = read_shard(folder, split)
    files = [
        f for f in json.loads((folder / "manifest.json").read_text())["files"] if f.get("split") == split
    ]
    bounds = [*np.asarray(index, dtype=np.int64).tolist(), len(tokens)]
    plans = []
    for n, (start, end) in enumerate(zip(bounds[:-1], bounds[1:])):
        name = Path(files[n]["path"]).name if n < len(files) else f"piece {n}"
        plan = bars.plan_of(np.asarray(tokens[start:end]), source=name)
        if plan is not None and len(plan.bars) >= PHRASE:
            plans.append(plan.to_dict())
    target = Path(out)
    partial = target.with_name(target.name + ".partial")
    partial.write_text(json.dumps({"plans": plans}, separators=(",", ":")), encoding="utf-8")
    partial.replace(target)
    return len(plans)


def _stretch(plan: Plan, bars: int | None, rng: np.random.Generator) -> Plan:
    """``bars`` bars of ``plan`` from a phrase line (the whole plan without a length)."""
    want = min(bars or len(plan.bars), plan.MAX_BARS)
    lines = range(0, max(1, len(plan.bars) - want + 1), PHRASE)
    return plan.segment(int(rng.choice(list(lines))), want)


def draw_plans(plans: Sequence[Plan], num: int, bars: int | None, seed: int,
               instruments: Sequence[int] = (), at_least: int = 0) -> list[Plan]:  # fmt: skip
    """``num`` plans of ``bars`` bars drawn from ``plans`` (seeded), on ``instruments`` when given, each
    with ``at_least`` instruments where one of :data:`TRIES` draws has them (intensity layers need some)."""
    if not plans:
        raise ConfigError("this model has no arrangement plans (plans.json); generate without --plan")
    rng = np.random.default_rng([int(seed), 0x9E3779B9])
    return [_draw(plans, bars, rng, tuple(instruments), at_least) for _ in range(num)]


def _draw(plans: Sequence[Plan], bars: int | None, rng: np.random.Generator, instruments: tuple[int, ...],
          at_least: int) -> Plan:  # fmt: skip
    """One stretch of a plan; on a line-up, one that gives each of its pitched voices (up to 3) a part,
    and one with ``at_least`` instruments, where one of :data:`TRIES` draws does (a console's bass and
    two leads, not one voice alone)."""
    voices = min(3, len([i for i in instruments if i != DRUMS])) if instruments else 0
    for _ in range(TRIES):
        plan = _stretch(plans[int(rng.integers(len(plans)))], bars, rng)
        plan = plan.remapped(instruments) if instruments else plan
        pitched = [i for i in plan.instruments if i != DRUMS]
        if len(pitched) >= voices and len(plan.instruments) >= at_least:
            break
    return plan


def like_plan(model: Any, path: str | Path, bars: int | None = None, instruments: Sequence[int] = ()) -> Plan:
    """The plan of the piece at ``path`` (MIDI or module): its first ``bars`` bars (going round when it
    is shorter), on ``instruments`` when given."""
    from overworld.midi import load_score

    tokenizer = bars_of(model.tokenizer, "--like")
    score = load_score(path, ttype="tick")
    plan = tokenizer.plan_of(tokenizer.encode(score), source=Path(path).name)
    if plan is None:
        raise DataError(f"{path} has no bars with notes to take an arrangement from")
    plan = plan.segment(0, min(bars or len(plan.bars), plan.MAX_BARS))
    return plan.remapped(instruments) if instruments else plan
