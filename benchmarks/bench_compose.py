"""Game-ready composition speed: a 16-bar loop with stems, composed and written, on this CPU.

Claim checked (issue 14): ``compose --bars 16 --bpm 150 --key 'D minor' --loop --stems`` takes well under a
minute on a laptop CPU. Prints the seconds to compose (sampling the body, infilling the loop's last bars)
and to write (MIDI, the mix and stems as OGG with loop comments, piece.json) for each seed, then each
loop's seam: the jump from the last sample to the first against the steps around it, how far the looped
audio lies from the piece played on, around a settled repeat (0: the seam is what a continuous performance
sounds like), and how far the stems' sum is from the mix. With ``--transitions``, also the model's per-token
likelihood of bar 1 after bar 16 against its other bar transitions, and how many seams lie in their range;
then the same with every bar scored after only the 8 bars before it (``local_transitions``).

    python benchmarks/bench_compose.py                                  # runs/bars/model if present
    python benchmarks/bench_compose.py --model path/to/bar-model --seeds 0 1 2 --transitions
"""

from __future__ import annotations

import argparse
import tempfile
import time
import types
from pathlib import Path

import numpy as np

DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "runs" / "bars" / "model"


def _model(path: str | None, device: str):
    from overworld.models import load_model

    if path or DEFAULT_MODEL.exists():
        return load_model(path or DEFAULT_MODEL, device=device), str(path or DEFAULT_MODEL)
    import torch

    from overworld.config import ModelConfig, SampleConfig
    from overworld.models import build_model
    from overworld.tokenizers.bars import BarTokenizer
    from overworld.tokenizers.bars import Layout as L

    torch.manual_seed(0)
    config = ModelConfig(vocab_size=L.SIZE, embedding_size=32, sequence_length=256, num_blocks=2, num_heads=2,
                         feed_forward_dim=64, dropout=0.0)  # fmt: skip
    tiny = types.SimpleNamespace(model=build_model(config).eval(), tokenizer=BarTokenizer(),
                                 sampling=SampleConfig(max_polyphony=4, max_instruments=(2, 4)))  # fmt: skip
    return tiny, "tiny untrained bar model (no trained model found)"


def main() -> None:
    from overworld.export import write_composition
    from overworld.generation.arrangement import Arrangement
    from overworld.generation.compose import ComposeConfig, compose
    from overworld.generation.loop import local_transitions, loop_transitions
    from overworld.render.stems import render_stems, replay_error, seam

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", help=f"a bar-token model (default: {DEFAULT_MODEL} if present, else a tiny one)"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--sample-rate", type=int, default=44100)
    parser.add_argument("--transitions", action="store_true", help="also score the seam with the model")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    model, name = _model(args.model, args.device)
    config = ComposeConfig(
        bars=16, bpm=150, key="D minor", loop=True, stems=True, sample_rate=args.sample_rate
    )
    print(f"model: {name}\n16-bar loop at 150 bpm in D minor with stems, {args.sample_rate} Hz OGG")
    print(f"{'seed':>5} {'compose s':>10} {'write s':>8} {'total s':>8} {'notes':>6} {'stems':>6}")
    lines, inside, inside_local = [], 0, 0
    for seed in args.seeds:
        start = time.perf_counter()
        piece = compose(model, config, seed=seed)[0]
        composed = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            write_composition(piece, tmp, config, model_name=name)
            stems = len(list(Path(tmp, "stems").iterdir()))
        done = time.perf_counter()
        notes = sum(len(t.notes) for t in piece.score.tracks)
        print(
            f"{seed:>5} {composed - start:>10.2f} {done - composed:>8.2f} {done - start:>8.2f} {notes:>6} {stems:>6}"
        )
        length = piece.sample(16, args.sample_rate)
        audio = render_stems(piece.score, sample_rate=args.sample_rate, length=length, loop_start=0)
        joint = seam(audio.mix)
        error = float(np.abs(audio.audio.sum(axis=0, dtype=np.float64) - audio.mix).max())
        replay = replay_error(piece.score, length, sample_rate=args.sample_rate)
        lines.append(f"seam (seed {seed}): jump {joint.jump:.4f}; steps around it median {joint.median_step:.4f}, "
                     f"mean {joint.mean_step:.4f}, max {joint.max_step:.4f}; looped vs the piece played on "
                     f"{replay:.1e} of the peak; stems' sum vs mix {error:.2e}")  # fmt: skip
        if args.transitions:
            scores = loop_transitions(model, Arrangement.from_score(piece.score, piece.bar_ticks), 16,
                                      (150.0, 4, 4))  # fmt: skip
            inside += scores.within_range
            lines.append(f"  bar transitions (nats/token): seam {scores.seam:.3f}, others {min(scores.bars):.3f}"
                         f"-{max(scores.bars):.3f} (median {np.median(scores.bars):.3f})")  # fmt: skip
            near = local_transitions(
                model, Arrangement.from_score(piece.score, piece.bar_ticks), 16, (150.0, 4, 4)
            )
            inside_local += near.within_range
            lines.append(f"  after the 8 bars before (bits/note): seam {near.seam:.2f}, others {min(near.bars):.2f}"
                         f"-{max(near.bars):.2f} (median {np.median(near.bars):.2f})")  # fmt: skip
    print("\n".join(lines))
    if args.transitions:
        print(f"seams within the range of their piece's other bar transitions: {inside} of {len(args.seeds)}; "
              f"each bar after only the 8 before it: {inside_local} of {len(args.seeds)}")  # fmt: skip


if __name__ == "__main__":
    main()
