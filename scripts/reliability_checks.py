"""The cases of scripts/reliability.py's sections for issues 25 and 26: every verb checks its inputs and
outputs before any work, seeds are 0 .. 2**32-1, plot's sizes are bounded, prepare replaces a prepared
folder only with --overwrite, bad keys / SoundFonts / config files are refused, a full disk leaves nothing,
and oversized JSON or tokenizer options are refused before they cost memory.

Each section is a list of :class:`Case`: an invocation of ``python -m overworld`` that must fail (a
one-line error, before work) or succeed (a control), and optionally a check of what it left on disk. A
failure counts as "after work" when stderr shows the work had begun: a model loaded (its log line) or a
progress bar drawn.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["BAD", "SECTIONS", "SERIAL", "Case", "judge", "mount_tmpfs", "sections", "unmount"]

SECTIONS = {  # section name -> what its cases try (the order of the table)
    "checks before work": "bad paths and sizes given to each verb (issue 25)",
    "seeds": "seeds outside 0 .. 2**32-1 (issue 26 #5)",
    "plot sizes": "plot sizes, dpi, pixel caps and extensions",
    "prepare overwrite": "prepare --out onto a prepared folder",
    "refusals": "a bad key, a non-SoundFont, a misspelled config file",
    "full disk": "full or read-only folders while writing (issue 26 #4)",
    "size caps": "oversized JSON files and tokenizer options (issue 26 #11)",
}


@dataclass
class Case:
    label: str
    argv: list[Any]
    must_fail: bool = True
    says: str = ""  # the error line must hold this (a path or value)
    left: Callable[[], str | None] | None = None  # after the run: what was wrongly left, or None
    before: bool = True  # the error must come before any work (not so for a disk that fills while writing)


def judge(case: Case, code: int | None, err: str) -> tuple[str, str]:
    """(outcome, detail) of one case: outcomes listed in ``BAD`` must never happen."""
    lines = [line for line in err.replace("\r", "\n").splitlines() if line.strip()]
    last = lines[-1] if lines else ""
    problem = case.left() if case.left else None
    if code is None:
        return "hangs", last
    if "Traceback" in err:
        return "tracebacks", last
    if problem:
        return "partial files left", problem
    if not case.must_fail:
        return ("controls succeeded", "") if code == 0 else ("controls failed", f"exit {code}: {last}")
    if code == 0:
        return "silently accepted", ""
    verb = str(case.argv[0])
    errors = [line for line in lines if ": error:" in line]
    if code != 2 or len(errors) != 1 or not last.startswith(f"overworld {verb}: error: "):
        return "other failures", f"exit {code}: {last}"
    if case.says and case.says not in last:
        return "errors not naming the path or value", f"{last} (wanted {case.says!r})"
    if not case.before:
        return "one-line errors", ""
    if any("loaded " in line or "%|" in line for line in lines[:-1]):
        return "errors after work", last
    return "one-line errors before work", ""


BAD = ("tracebacks", "silently accepted", "hangs", "other failures", "errors after work",
       "errors not naming the path or value", "partial files left", "controls failed")  # fmt: skip


def mount_tmpfs(folder: Path, options: str) -> bool:
    """Mount a small tmpfs on ``folder`` (root only); whether it worked."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return False
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True)
    return done.returncode == 0


def _empty(folder: Path) -> Callable[[], str | None]:
    def check() -> str | None:
        left = sorted(p.name for p in folder.iterdir()) if folder.exists() else []
        return f"{folder} holds {left}" if left else None

    return check


def _unchanged(path: Path) -> Callable[[], str | None]:
    before = path.read_bytes()
    return lambda: None if path.read_bytes() == before else f"{path} was changed"


SERIAL = ("full disk",)  # sections whose cases share a small disk: run one at a time


def sections(f: Any, work: Path, quick: bool = False) -> dict[str, list[Case]]:
    """Every section's cases over the fixtures ``f`` (see reliability.fixtures) in ``work``; ``quick``:
    every third case that must fail, and every control."""
    work.mkdir(parents=True, exist_ok=True)
    a_file = work / "README.md"
    a_file.write_text("a file, where a folder is needed\n")
    gen = ["generate", "--model", f.perf, "--length", "16", "--device", "cpu"]
    train = ["train", "--data", f.prepared, "--steps", "1", "--sequence-length", "32", "--embedding-size", "32",
             "--num-blocks", "1", "--num-heads", "2", "--feed-forward-dim", "64", "--quiet", "--device", "cpu"]  # fmt: skip
    every = {
        "checks before work": _before_work(f, work, a_file, gen, train),
        "seeds": _seeds(f, work, gen, train),
        "plot sizes": _plot(f, work),
        "prepare overwrite": _overwrite(f, work),
        "refusals": _refusals(f, work, gen, train),
        "full disk": _full_disk(f, work),
        "size caps": _size_caps(f, work),
    }
    if quick:
        every = {name: [c for c in cases if not c.must_fail] + [c for c in cases if c.must_fail][::3]
                 for name, cases in every.items()}  # fmt: skip
    return every


def _before_work(f: Any, work: Path, a_file: Path, gen: list, train: list) -> list[Case]:
    out = work / "before"
    ev = ["evaluate", "--model", f.perf, "--data", f.prepared, "--device", "cpu"]
    cases = [
        *[Case(f"{argv[0]} --out /proc/nope", [*argv, "--out", "/proc/nope"], says="/proc/nope")
          for argv in (gen, train, ["prepare", f.raw], ["fetch", "folder", "--path", f.raw])],
        *[Case(f"{argv[0]} --out (a file)", [*argv, "--out", a_file], says=str(a_file))
          for argv in (gen, train, ["prepare", f.raw], ["fetch", "folder", "--path", f.raw])],
        Case("generate --bars 0", [*gen[:3], "--bars", "0", "--seed", "1", "--out", out / "g"], says="0"),
        Case("generate --length 10**9", [*gen[:3], "--length", "1000000000", "--out", out / "g"], says="1000000000"),
        Case("generate --primer (a folder)", [*gen, "--primer", f.raw, "--out", out / "g"], says=str(f.raw)),
        Case("generate --out x.mid --num 2", [*gen, "--num", "2", "--out", out / "x.mid"], says="x.mid"),
        Case("plot (missing file)", ["plot", work / "nope.mid"], says=str(work / "nope.mid")),
        Case("plot --out /proc/nope/p.png", ["plot", f.mid, "--out", "/proc/nope/p.png"], says="/proc/nope"),
        Case("render --out /proc/nope/a.wav", ["render", f.mid, "--synth", "chiptune", "--out", "/proc/nope/a.wav"],
             says="/proc/nope"),
        Case("render --out a.mp3", ["render", f.mid, "--synth", "chiptune", "--out", out / "a.mp3"], says=".mp3"),
        Case("evaluate --json /proc/nope/r.json", [*ev, "--json", "/proc/nope/r.json"], says="/proc/nope"),
        Case("evaluate --data (a file)", [*ev[:3], "--data", f.prepared / "manifest.json"], says="manifest.json"),
        Case("train --config (a folder)", [*train, "--config", f.raw, "--out", out / "t"], says=str(f.raw)),
        Case("inspect (a file)", ["inspect", f.mid], says=str(f.mid)),
        Case("generate --out x.mid (control)", [*gen, "--seed", "1", "--out", out / "x.mid"], must_fail=False),
    ]  # fmt: skip
    return cases


def _seeds(f: Any, work: Path, gen: list, train: list) -> list[Case]:
    out = work / "seeds"
    copy = ["evaluate", "--model", f.perf, "--copy-test", "--data", f.prepared, "--device", "cpu"]
    cases = []
    for seed in ("-1", str(2**32), str(2**63)):
        cases += [Case(f"generate --seed {seed}", [*gen, "--seed", seed, "--out", out / "g"], says=seed),
                  Case(f"train --seed {seed}", [*train, "--seed", seed, "--out", out / "t"], says=seed),
                  Case(f"evaluate --copy-test --seed {seed}", [*copy, "--seed", seed], says=seed)]  # fmt: skip
    cases.append(Case("generate --seed 4294967295 (control)", [*gen, "--seed", str(2**32 - 1), "--out", out / "ok"],
                      must_fail=False))  # fmt: skip
    return cases


def _plot(f: Any, work: Path) -> list[Case]:
    out = work / "plot"
    flags = [("--dpi", "0"), ("--dpi", "-5"), ("--height", "nan"), ("--width", "0"), ("--width", "inf"),
             ("--width", "100000", "--dpi", "1000"), ("--width", "500", "--dpi", "1000"),
             ("--width", "200", "--height", "200")]  # fmt: skip
    cases = [Case(f"plot {' '.join(extra)}", ["plot", f.mid, *extra, "--out", out / "p.png"], says=extra[1])
             for extra in flags]  # fmt: skip
    cases.append(Case("plot --out p.xyz", ["plot", f.mid, "--out", out / "p.xyz"], says="p.xyz"))
    cases.append(Case("plot --out p.svg (control)", ["plot", f.mid, "--out", out / "p.svg"], must_fail=False))
    return cases


def _overwrite(f: Any, work: Path) -> list[Case]:
    out = work / "overwrite"
    shutil.copytree(f.prepared, out)
    return [
        Case("prepare --out (a prepared folder)", ["prepare", f.raw, "--out", out, "--workers", "1"], says=str(out),
             left=_unchanged(out / "manifest.json")),
        Case("prepare --out (a prepared folder) --overwrite (control)",
             ["prepare", f.raw, "--out", work / "overwrite-ok", "--workers", "1", "--overwrite"], must_fail=False),
    ]  # fmt: skip


def _refusals(f: Any, work: Path, gen: list, train: list) -> list[Case]:
    out = work / "refusals"
    out.mkdir(parents=True, exist_ok=True)
    configs = {"a misspelled section": {"model": {"num_blocks": 1}, "trian": {"steps": 3}},
               "a misspelled key": {"train": {"stpes": 3}}, "a flat unknown key": {"num_blocks": 1, "lr": 3}}  # fmt: skip
    cases = [Case(f"generate --key {key!r}", [*gen, "--key", key, "--seed", "1", "--out", out / "g"], says=key)
             for key in ("C##### major", "Cbb minor", "H major")]  # fmt: skip
    cases += [
        Case("render --soundfont /etc/passwd", ["render", f.mid, "--synth", "soundfont", "--soundfont", "/etc/passwd",
             "--out", out / "a.wav"], says="/etc/passwd", left=_empty(out)),
        Case("generate --soundfont /etc/passwd", [*gen, "--synth", "soundfont", "--soundfont", "/etc/passwd",
             "--seed", "1", "--out", out / "g"], says="/etc/passwd"),
    ]  # fmt: skip
    for label, config in configs.items():
        path = work / f"config-{len(cases)}.json"
        path.write_text(json.dumps(config))
        cases.append(
            Case(f"train --config ({label})", [*train, "--config", path, "--out", out / "t"], says=str(path))
        )
    return cases


def _full_disk(f: Any, work: Path) -> list[Case]:
    from reliability_inputs import line, smf, tempo, track

    full, read_only = work / "tmpfs-64k", work / "tmpfs-ro"
    if not (mount_tmpfs(full, "size=64k") and mount_tmpfs(read_only, "ro,size=64k")):
        return []  # not root, or no tmpfs: the tests' fake writers cover it
    f.big = work / "big-midi"  # random lines (bar tokens write a repeated one once): over 64 kB of shards
    f.big.mkdir(exist_ok=True)
    rng = random.Random(0)
    for i in range(12):
        pitches = [rng.randrange(40, 90) for _ in range(2000)]
        (f.big / f"{i}.mid").write_bytes(smf([track(tempo(500_000) + line(pitches))]))
    cases = []
    for folder, what in ((full, "full"), (read_only, "read-only")):  # each case in a folder of its own
        render, prepare, generate = folder / "render", folder / "prepare", folder / "generate"
        cases += [
            Case(f"render onto a {what} folder", ["render", f.mid, "--synth", "chiptune", "--out", render / "a.wav"],
                 says=str(folder), left=_empty(render), before=what != "full"),
            Case(f"prepare onto a {what} folder", ["prepare", f.big, "--out", prepare / "p", "--workers", "1"],
                 says=str(folder), left=_empty(prepare), before=what != "full"),
            Case(f"generate --wav onto a {what} folder", ["generate", "--model", f.perf, "--length", "64", "--seed",
                 "1", "--wav", "--out", generate, "--device", "cpu"], says=str(folder), before=what != "full"),
        ]  # fmt: skip
    return cases


def unmount(work: Path) -> None:
    """Undo :func:`mount_tmpfs` for the folders :func:`sections` mounted in ``work``."""
    for name in ("tmpfs-64k", "tmpfs-ro"):
        if os.path.ismount(work / name):
            subprocess.run(["umount", str(work / name)], capture_output=True, check=False)


def _size_caps(f: Any, work: Path) -> list[Case]:
    def sparse(path: Path, size: int = 300 << 20) -> Path:
        with path.open("wb") as handle:
            handle.truncate(size)
        return path

    cases = []
    for name in ("config.json", "tokenizer.json", "generation_config.json"):
        model = shutil.copytree(f.perf, work / f"big-model-{name}")
        sparse(model / name)
        cases.append(Case(f"generate --model (a 300 MB {name})", ["generate", "--model", model, "--length", "8",
                          "--seed", "1", "--out", work / "big-out", "--device", "cpu"], says=name))  # fmt: skip
    data = shutil.copytree(f.prepared, work / "big-manifest")
    sparse(data / "manifest.json")
    cases.append(Case("inspect (a 300 MB manifest.json)", ["inspect", data], says="manifest.json"))
    config = work / "big-config.json"
    sparse(config)
    cases.append(Case("train --config (300 MB)", ["train", "--data", f.prepared, "--config", config, "--out",
                      work / "big-run"], says=str(config)))  # fmt: skip
    miditok = shutil.copytree(f.perf, work / "beat-res")
    from overworld.tokenizers import make_tokenizer

    tokenizer = make_tokenizer("remi").to_dict()
    tokenizer["miditok"]["config"]["beat_res"] = {"0_20000": 8}
    (miditok / "tokenizer.json").write_text(json.dumps(tokenizer))
    cases.append(Case("generate --model (tokenizer beat_res 0_20000)", ["generate", "--model", miditok, "--length",
                      "8", "--seed", "1", "--out", work / "br", "--device", "cpu"], says="beat_res"))  # fmt: skip
    return cases
