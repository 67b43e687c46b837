"""Sections 5-12 of scripts/reliability.py: bad invocations of ``python -m overworld`` (with controls
that must succeed) and the sections of issues 25 and 26, over tiny fixtures made once per work folder.
Not run on its own."""

from __future__ import annotations

import json
import random
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reliability_checks as checks
import reliability_inputs as inputs
import reliability_tamperings as tamperings
from reliability_common import Section, prepared_folder, run_cli

# --------------------------------------------------------------------------------- 5. bad invocations


_FIXTURES: dict[Path, SimpleNamespace] = {}


def fixtures(work: Path, seed: int) -> SimpleNamespace:
    """Tiny model folders, a prepared folder, MIDI and text files, and their tampered copies (made once
    per work folder: the bad-inputs and issue sections share them)."""
    if work not in _FIXTURES:
        _FIXTURES[work] = _make_fixtures(work, seed)
    return _FIXTURES[work]


def _make_fixtures(work: Path, seed: int) -> SimpleNamespace:
    f = SimpleNamespace(out=work / "cli-out", models={}, runs={}, manifests={})
    f.out.mkdir()
    f.prepared = prepared_folder(work / "cli-data", seed)
    f.perf, f.bars = _tiny_model(work / "model-perf", "performance"), _tiny_model(work / "model-bars", "bars")
    f.raw, f.empty = work / "raw", work / "empty"
    f.raw.mkdir(), f.empty.mkdir()
    for i, data in enumerate(inputs.good_files(3, random.Random(seed))):
        (f.raw / f"good-{i}.mid").write_bytes(data)
    f.mid, f.text = work / "tune.mid", work / "notes.mid"
    f.mid.write_bytes(
        inputs.smf(
            [inputs.track(inputs.tempo(500_000) + inputs.line([60, 62, 64, 65, 67, 69, 71, 72] * 2))], fmt=0
        )
    )
    f.text.write_text("these are my notes, not a MIDI file\n")
    f.config_list, f.config_unknown = work / "list.json", work / "unknown.json"
    f.config_list.write_text("[1, 2, 3]")
    f.config_unknown.write_text(json.dumps({"model": {"num_blocks": 1, "colour": "red"}}))
    for i, (label, tamper) in enumerate(tamperings.MODEL_TAMPERINGS.items()):
        f.models[label] = shutil.copytree(f.perf, work / f"model-tampered-{i}")
        tamper(f.models[label])
    f.good_run = _tiny_run(work / "run-good", f.prepared)
    for i, (label, tamper) in enumerate(tamperings.STATE_TAMPERINGS.items()):
        f.runs[label] = shutil.copytree(f.good_run, work / f"run-tampered-{i}")
        tamper(f.runs[label] / "latest" / "state.pt")
    for label, text in (
        ("manifest.json missing", None),
        ("manifest.json not JSON", "{nope"),
        ("manifest.json a list", "[]"),
        ("manifest.json files not a list", json.dumps({"tokenizer": "performance", "files": 3})),
    ):
        folder = f.manifests[label] = shutil.copytree(f.prepared, work / f"data-{len(f.manifests)}")
        (folder / "manifest.json").unlink() if text is None else (folder / "manifest.json").write_text(text)
    return f


def _tiny_model(folder: Path, tokenizer: str) -> Path:
    from overworld.config import ModelConfig
    from overworld.models.build import build_model
    from overworld.models.storage import save_model
    from overworld.tokenizers import make_tokenizer

    tok = make_tokenizer(tokenizer)
    config = ModelConfig(
        vocab_size=tok.vocab_size,
        embedding_size=32,
        sequence_length=64,
        num_blocks=1,
        num_heads=2,
        feed_forward_dim=64,
        dropout=0.0,
    )
    return save_model(
        folder, build_model(config, seed=0), tok, {"name": f"tiny {tokenizer} model", "steps": 0}
    )


def _tiny_run(run: Path, data: Path) -> Path:
    from overworld.config import ModelConfig, TrainConfig
    from overworld.training.loop import train

    model = ModelConfig(embedding_size=32, sequence_length=32, num_blocks=1, num_heads=2, feed_forward_dim=64)
    config = TrainConfig(
        steps=2, batch_size=2, warmup_steps=1, eval_every=2, log_every=1, save_every=1, seed=1, device="cpu"
    )
    train(run, data, model, config, progress=False)
    return run


def judge(argv: list[str], code: int | None, err: str) -> str:
    """What an invocation that must fail gave."""
    if code is None:
        return "hangs"
    if "Traceback" in err:
        return "tracebacks"
    if code == 0:
        return "silently accepted"
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if ": error:" in line]
    if code == 2 and len(errors) == 1 and lines[-1].startswith(f"overworld {argv[0]}: error: "):
        return "one-line errors (exit 2)"
    return "other failures"


def bad_inputs(work: Path, seed: int, quick: bool, jobs: int) -> Section:
    section = Section(
        "bad inputs",
        "bad invocations of `python -m overworld`",
        bad=("tracebacks", "silently accepted", "hangs", "other failures", "controls failed"),
    )
    f = fixtures(work, seed)
    stringify = lambda cases: [(label, [str(a) for a in argv]) for label, argv in cases]  # noqa: E731
    cases, checks = stringify(tamperings.bad_invocations(f)), stringify(tamperings.controls(f))
    if quick:
        cases, checks = cases[::16], checks[:2]  # one in 16, spread over the verbs

    def with_out(i: int, argv: list[str]) -> list[str]:  # each case writes into a folder of its own
        takes_out = argv[0] in ("generate", "train", "prepare", "infill", "compose")
        return [*argv, "--out", str(f.out / str(i))] if takes_out and "--out" not in argv else argv

    every = [(label, with_out(i, argv), True) for i, (label, argv) in enumerate(cases)]
    every += [(label, with_out(len(cases) + i, argv), False) for i, (label, argv) in enumerate(checks)]
    with ThreadPoolExecutor(jobs) as pool:
        results = list(pool.map(lambda c: (c, *run_cli(c[1], f.out, 300)), every))
    for (label, argv, must_fail), code, err in results:
        last = err.strip().splitlines()[-1] if err.strip() else ""
        if must_fail:
            section.add(judge(argv, code, err), f"{label}: exit {code}: {last[:240]}")
        elif code != 0:
            section.add("controls failed", f"{label}: exit {code}: {last[:240]}")
    succeeded = len(checks) - section.tally["controls failed"]
    section.noun += f" (and {len(checks)} controls on untampered inputs: {succeeded} succeeded)"
    section.count -= section.tally["controls failed"]
    return section


# --------------------------------------------------------------------------- 6-12. issues 25 and 26


def issue_checks(work: Path, seed: int, jobs: int, quick: bool) -> list[Section]:
    """One section per item of issues 25 and 26 (reliability_checks.SECTIONS), each case run as
    ``python -m overworld`` and judged by :func:`reliability_checks.judge`."""
    f, folder = fixtures(work, seed), work / "issue-checks"
    try:
        every = checks.sections(f, folder, quick)
        out = []
        for name, cases in every.items():
            started = time.monotonic()
            section = Section(name, checks.SECTIONS[name], bad=checks.BAD)
            with ThreadPoolExecutor(1 if name in checks.SERIAL else jobs) as pool:
                results = list(pool.map(lambda c: (c, *run_cli([str(a) for a in c.argv], f.out, 300)), cases))
            for case, code, err in results:
                outcome, detail = checks.judge(case, code, err)
                section.add(outcome, f"{case.label}: {detail[:240]}")
            if not cases:
                section.notes.append("skipped: no tmpfs could be mounted (needs root)")
            section.seconds = time.monotonic() - started
            out.append(section)
        return out
    finally:
        checks.unmount(folder)
