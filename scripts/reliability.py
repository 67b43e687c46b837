"""Nothing lost, nothing silently wrong: every hardening check of issue 15 tried in one run, side by side.

    python scripts/reliability.py            # the default run (~10 minutes on 2 cores)
    python scripts/reliability.py --quick    # a few of each (the test runs this)

Five sections, each a count of what was tried and a tally of what each gave:

1. fuzzed MIDI byte strings (mutations of a few files made in code) through ``overworld.midi.load_score``
   in a worker process: parsed, a one-line MidiError, a crash (any other exception, or the worker died),
   or a hang (no answer within --hang-seconds);
2. fuzzed files plus good ones through ``overworld prepare``: every good file kept, every failure in
   report.json with a one-line reason, every input accounted for;
3. SIGKILLs at random moments of a tiny ``overworld train`` run, each followed by ``--resume`` to the end:
   the final weights bitwise equal to an uninterrupted run's, or different, or unresumable;
4. hostile archives (traversal, links, devices, bombs, too many members, duplicates, damage) through
   ``overworld.datasets.extract.extract_midi``: refused, extracted safely, or escaped;
5. bad invocations of ``python -m overworld``: a one-line error with exit 2 (the last stderr line
   ``overworld VERB: error: ...``, no traceback), a traceback, silently accepted (exit 0), or a hang;
   with controls (the same calls on untampered inputs) that must succeed;
6-12. issues 25 and 26, one section each (scripts/reliability_checks.py): bad paths and sizes refused
   before any work, seeds outside 0 .. 2**32-1, plot's sizes, prepare onto a prepared folder, bad keys /
   SoundFonts / config files, full and read-only folders (tmpfs, as root), oversized JSON and tokenizer
   options: each a one-line error naming the path or value, before work, with nothing partial left.

What each section tries is built in scripts/reliability_inputs.py. Exit status 1 when any crash, hang,
loss, difference, escape, traceback or silent acceptance was seen (each listed under its section).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reliability_common import Section
from reliability_fuzz import archives, fuzz_midi, fuzz_prepare
from reliability_invocations import bad_inputs, issue_checks
from reliability_training import kills

# ------------------------------------------------------------------------------------------- driver


def table(sections: list[Section]) -> str:
    rows = ["| tried | count | what each gave | must be 0 | seconds |", "|---|---:|---|---:|---:|"]
    for s in sections:
        rows.append(f"| {s.noun} | {s.count:,} | {s.summary()} | {s.failures()} | {s.seconds:.0f} |")
    return "\n".join(rows)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--quick",
        action="store_true",
        help="a few of each: 100 MIDI strings, 30 files, 1 kill, 1 in 16 bad invocations",
    )
    p.add_argument("--midi", type=int, help="fuzzed MIDI byte strings (default 2,500; quick 100)")
    p.add_argument("--prepare", type=int, help="fuzzed files through prepare (default 500; quick 30)")
    p.add_argument("--kills", type=int, help="SIGKILLs during training (default 8; quick 1)")
    p.add_argument("--train-steps", type=int, default=60, help="steps of the tiny training run (60)")
    p.add_argument(
        "--sections", default="midi,prepare,kills,archives,bad-inputs,issues", help="which to run (all)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of every random choice (0)")
    p.add_argument("--jobs", type=int, default=2, help="bad invocations run at once (2)")
    p.add_argument(
        "--hang-seconds", type=float, default=20.0, help="a MIDI string unanswered this long hangs (20)"
    )
    p.add_argument("--json", type=Path, help="also write the sections as JSON here")
    p.add_argument("--keep", action="store_true", help="keep the work folder (printed) for a look afterwards")
    args = p.parse_args(argv)
    defaults = (100, 30, 1) if args.quick else (2500, 500, 8)
    for name, default in zip(("midi", "prepare", "kills"), defaults, strict=True):
        setattr(args, name, default if getattr(args, name) is None else getattr(args, name))
    return args


def _show(section: Section) -> None:
    print(section.line(), flush=True)
    for note in section.notes:
        print(f"    - {note}", flush=True)
    for example in section.examples:
        print(f"    ! {example}", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="overworld-reliability-"))
    runs: dict[str, Callable[[], Section | list[Section]]] = {
        "midi": lambda: fuzz_midi(args.midi, args.seed, args.hang_seconds, work),
        "prepare": lambda: fuzz_prepare(args.prepare, args.seed, work),
        "kills": lambda: kills(args.kills, args.seed, work, args.train_steps),
        "archives": lambda: archives(work, args.quick),
        "bad-inputs": lambda: bad_inputs(work, args.seed, args.quick, args.jobs),
        "issues": lambda: issue_checks(work, args.seed, args.jobs, args.quick),
    }
    sections = []
    try:
        for name in args.sections.split(","):
            started = time.monotonic()
            result = runs[name]()
            if isinstance(result, Section):
                result.seconds = time.monotonic() - started
            for section in [result] if isinstance(result, Section) else result:
                sections.append(section)
                _show(section)
    finally:
        if args.keep:
            print(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print()
    print(table(sections))
    if args.json:
        args.json.write_text(json.dumps([s.as_json() for s in sections], indent=1))
    return 1 if any(s.failures() for s in sections) else 0


if __name__ == "__main__":
    sys.exit(main())
