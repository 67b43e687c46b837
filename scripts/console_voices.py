"""How many of a console's voices a composed piece plays: for each seed, the pitched instruments with notes
(and whether the line-up's bass is among them), the drums, and the distinct pitches each voice plays.

    python3 scripts/console_voices.py --console nes --seeds 0 1 2 3 4 5 6 7 8 9
"""

from __future__ import annotations

import argparse
import time

from overworld.generation.compose import ComposeConfig, compose
from overworld.models.storage import load_model
from overworld.render.consoles import console


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--console", default="nes")
    parser.add_argument("--bars", type=int, default=8)
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    args = parser.parse_args()
    model = load_model(args.model)
    machine = console(args.console)
    bass = [p for p in machine.instruments if 32 <= p < 40]
    full = 0
    for seed in args.seeds:
        start = time.perf_counter()
        config = ComposeConfig(bars=args.bars, bpm=140, key="A minor", loop=True, console=args.console)
        piece = compose(model, config, seed=seed)[0]
        voices = {
            t.program: len({n.pitch for n in t.notes})
            for t in piece.score.tracks
            if not t.is_drum and len(t.notes)
        }
        drums = sum(len(t.notes) for t in piece.score.tracks if t.is_drum)
        ok = len(voices) >= min(3, len(machine.instruments) - 1) and any(b in voices for b in bass)
        full += ok
        names = ", ".join(f"{machine.channels.get(p, p)} {n} pitches" for p, n in sorted(voices.items()))
        print(
            f"seed {seed}: {names}; drums {drums} notes; {'yes' if ok else 'no'} ({time.perf_counter() - start:.1f} s)"
        )
    print(
        f"{full} of {len(args.seeds)} seeds play 3 pitched voices with the bass ({args.console}, model {args.model})"
    )


if __name__ == "__main__":
    main()
