"""What scripts/reliability.py does to tiny model folders and training states (``MODEL_TAMPERINGS``,
``STATE_TAMPERINGS``: what a damaged or hostile file in a model folder or run folder holds), and the bad
invocations of ``python -m overworld`` it tries over them (``bad_invocations``, with the ``controls`` that
must succeed). Not run on its own."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["MODEL_TAMPERINGS", "STATE_TAMPERINGS", "bad_invocations", "controls"]

# ------------------------------------------------------------------------------- model folders, states


def _json(name: str, value: Any) -> Callable[[Path], None]:
    return lambda folder: (folder / name).write_text(json.dumps(value), encoding="utf-8")


def _config(**changes: Any) -> Callable[[Path], None]:
    def change(folder: Path) -> None:
        path = folder / "config.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), **changes}), encoding="utf-8")

    return change


def _weights(change: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[[Path], None]:
    def tamper(folder: Path) -> None:
        from safetensors import safe_open
        from safetensors.torch import load_file, save_file

        path = folder / "model.safetensors"
        with safe_open(str(path), "pt") as f:
            metadata = f.metadata()
        save_file(change(load_file(str(path))), str(path), metadata=metadata)

    return tamper


def _first_to(fill: float) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def change(tensors: dict[str, Any]) -> dict[str, Any]:
        name = next(iter(tensors))
        tensors[name] = tensors[name].clone()
        tensors[name].view(-1)[0] = fill
        return tensors

    return change


def _other_tokenizer(folder: Path) -> None:
    from overworld.tokenizers import make_tokenizer

    make_tokenizer("bars").save(folder / "tokenizer.json")  # the model's vocabulary is the performance one


def _write(name: str, data: bytes) -> Callable[[Path], None]:
    return lambda folder: (folder / name).write_bytes(data)


def _remove(name: str) -> Callable[[Path], None]:
    return lambda folder: (folder / name).unlink()


# label -> what is done to a copy of a tiny performance-token model folder
MODEL_TAMPERINGS: dict[str, Callable[[Path], None]] = {
    "config.json: num_blocks as text": _config(num_blocks="2"),
    "config.json: embedding_size 4.5": _config(embedding_size=4.5),
    "config.json: num_blocks 10^6": _config(num_blocks=10**6),
    "config.json: sequence_length 10^9": _config(sequence_length=10**9),
    "config.json: a list": _json("config.json", [1, 2]),
    "config.json: not JSON": _write("config.json", b"{num_blocks: 2"),
    "config.json: an unknown key": _config(wings=2),
    "config.json: missing": _remove("config.json"),
    "tokenizer.json: a list": _json("tokenizer.json", ["performance"]),
    "tokenizer.json: another vocabulary": _other_tokenizer,
    "tokenizer.json: missing": _remove("tokenizer.json"),
    "model.safetensors: int64 weights": _weights(lambda t: {k: v.long() for k, v in t.items()}),
    "model.safetensors: bool weights": _weights(lambda t: {k: v.bool() for k, v in t.items()}),
    "model.safetensors: a NaN": _weights(_first_to(float("nan"))),
    "model.safetensors: an infinity": _weights(_first_to(float("inf"))),
    "model.safetensors: a weight missing": _weights(lambda t: dict(list(t.items())[1:])),
    "model.safetensors: not safetensors": _write("model.safetensors", b"\x89PNG\r\n\x1a\n" + bytes(500)),
    "README.md: binary": _write("README.md", bytes(range(256)) * 4),
    "generation_config.json: top_p 7": _json("generation_config.json", {"top_p": 7}),
    "generation_config.json: a list": _json("generation_config.json", [0.9]),
}


def _state(change: Callable[[dict[str, Any]], Any]) -> Callable[[Path], None]:
    def tamper(path: Path) -> None:
        from overworld.training.checkpoint import load_state, save_state

        save_state(path, change(load_state(path)))

    return tamper


def _moments_3x3(state: dict[str, Any]) -> dict[str, Any]:
    import torch

    for moments in state["optimizer"]["state"].values():
        moments["exp_avg"] = torch.zeros(3, 3)
    return state


def _nan_weights(state: dict[str, Any]) -> dict[str, Any]:
    name = next(iter(state["model"]))
    state["model"][name] = state["model"][name] * float("nan")
    return state


def _wider(state: dict[str, Any]) -> dict[str, Any]:
    state["model_config"] = json.dumps({**json.loads(state["model_config"]), "embedding_size": 64})
    return state


def _bytes_state(data: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(data(path.read_bytes()))


# label -> what is done to RUN/latest/state.pt of a tiny run before `train --resume`
STATE_TAMPERINGS: dict[str, Callable[[Path], None]] = {
    "state.pt: not a torch file": _bytes_state(lambda b: b"not a checkpoint at all" * 10),
    "state.pt: cut in half": _bytes_state(lambda b: b[: len(b) // 2]),
    "state.pt: no step": _state(lambda s: {k: v for k, v in s.items() if k != "step"}),
    "state.pt: step 10^12": _state(lambda s: {**s, "step": 10**12}),
    "state.pt: a list": _state(lambda s: [1, 2]),
    "state.pt: moments of the wrong shape": _state(_moments_3x3),
    "state.pt: NaN weights": _state(_nan_weights),
    "state.pt: another model width": _state(_wider),
}


def _args(argv: list[Any]) -> str:
    """Flags as a label: a fixture path by its name alone."""
    return " ".join(a.name if isinstance(a, Path) else a for a in argv)


def bad_invocations(f: Any) -> list[tuple[str, list[str]]]:
    """(label, argv after ``python -m overworld``) of invocations that must each be a one-line error.

    ``f`` names the fixtures: ``perf`` and ``bars`` (tiny model folders), ``prepared`` (a tiny prepared
    folder), ``mid`` (a good MIDI file), ``text`` (a text file named .mid), ``raw`` (a folder of MIDI
    files), ``empty`` (a folder with none), ``out`` (where each case writes: out/<n>), ``config_list``
    and ``config_unknown`` (bad train --config files), ``models`` {label: tampered model folder},
    ``runs`` {label: run folder with a tampered state}, ``manifests`` {label: tampered prepared folder}.
    """
    return [*_generate_and_train(f), *_prepare_evaluate_infill(f), *_compose_render_models(f)]


def _generate_and_train(f: Any) -> list[tuple[str, list[str]]]:
    gen = ["generate", "--model", f.perf, "--length", "16", "--seed", "0"]
    train = ["train", "--data", f.prepared, "--steps", "2", "--sequence-length", "32", "--embedding-size", "32",
             "--num-blocks", "1", "--num-heads", "2", "--feed-forward-dim", "64", "--quiet", "--device", "cpu"]  # fmt: skip
    return [
        *[(f"generate {flag} {value}", [*gen, flag, value]) for flag, value in (
            ("--top-p", "7"), ("--top-p", "0"), ("--top-p", "-1"), ("--top-p", "nan"), ("--top-k", "-5"),
            ("--top-k", "1000000000"), ("--temperature", "-1"), ("--temperature", "inf"), ("--temperature", "nan"),
            ("--bpm", "0"), ("--max-note-seconds", "1e9"), ("--seconds", "nan"), ("--seconds", "1e12"),
            ("--length", "1000000000"), ("--num", "100000000"), ("--num", "0"), ("--num", "-1"),
            ("--max-polyphony", "-1"), ("--instruments", "kazoo-orchestra"), ("--key", "H major"),
            ("--time-signature", "0/4"), ("--grid", "-3"), ("--max-instruments", "9-4"), ("--device", "tpu9"),
            ("--primer", "/nonexistent/primer.mid"), ("--primer", f.text), ("--model", "/nonexistent/model"))],
        ("generate --primer-seconds nan", [*gen, "--primer", f.mid, "--primer-seconds", "nan"]),
        *[(f"train {_args(extra)}", [*train, *extra]) for extra in (
            ["--steps", "-5"], ["--steps", "0"], ["--batch-size", "0"], ["--lr", "nan"], ["--lr", "-1"],
            ["--dropout", "1.5"], ["--sequence-length", "1000000000"], ["--num-blocks", "1000000"],
            ["--embedding-size", "0"], ["--num-heads", "3"], ["--eval-every", "0"], ["--infill-rate", "2"],
            ["--max-minutes", "nan"], ["--max-minutes", "-1"], ["--grad-accumulation", "0"],
            ["--model", "transformer-xl"], ["--attention", "quantum"], ["--config", f.config_list],
            ["--config", f.config_unknown], ["--config", "/nonexistent/config.json"])],
        ("train --data (missing folder)", ["train", "--data", "/nonexistent/data", "--quiet"]),
        ("train --data (a folder of MIDI files)", ["train", "--data", f.raw, "--quiet"]),
    ]  # fmt: skip


def _prepare_evaluate_infill(f: Any) -> list[tuple[str, list[str]]]:
    ev = ["evaluate", "--model", f.perf, "--data", f.prepared, "--device", "cpu"]
    infill = ["infill", f.mid, "--model", f.bars, "--bars", "1-2", "--seed", "0", "--device", "cpu"]
    return [
        *[(f"prepare {_args(extra)}", ["prepare", f.raw, *extra]) for extra in (
            ["--workers", "-2"], ["--workers", "100000"], ["--timeout", "nan"], ["--timeout", "0"],
            ["--memory-mb", "0"], ["--split", "50,50"], ["--split", "a,b,c"], ["--tokenizer", "klingon"],
            ["--max-piece-minutes", "-1"])],
        ("prepare (missing input)", ["prepare", "/nonexistent/midi"]),
        ("prepare (no MIDI files)", ["prepare", f.empty]),
        *[(f"evaluate {_args(extra)}", [*ev, *extra]) for extra in (
            ["--batch-size", "0"], ["--stride", "-4"], ["--split", "banana"], ["--model", f.bars],
            ["--data", "/nonexistent/data"])],
        *[(f"evaluate --data ({label})", [*ev, "--data", folder]) for label, folder in f.manifests.items()],
        *[(f"inspect ({label})", ["inspect", folder]) for label, folder in f.manifests.items()],
        ("evaluate --ngram 0", ["evaluate", "--generated", f.raw, "--train", f.prepared, "--ngram", "0"]),
        *[(f"infill {_args(extra)}", [*infill, *extra]) for extra in (
            ["--bars", "0"], ["--bars", "8-5"], ["--bars", "1-1000000"], ["--top-p", "7"],
            ["--temperature", "nan"], ["--num", "100000000"], ["--model", f.perf])],
        ("infill (missing FILE)", ["infill", "/nonexistent/a.mid", "--model", f.bars, "--bars", "1-2"]),
        ("infill (FILE not MIDI)", ["infill", f.text, "--model", f.bars, "--bars", "1-2"]),
    ]  # fmt: skip


def _compose_render_models(f: Any) -> list[tuple[str, list[str]]]:
    compose = ["compose", "--model", f.bars, "--bars", "2", "--seed", "0", "--device", "cpu"]
    ev = ["evaluate", "--model", f.perf, "--data", f.prepared, "--device", "cpu"]
    gen = ["generate", "--model", f.perf, "--length", "16", "--seed", "0"]
    return [
        *[(f"compose {_args(extra)}", [*compose, *extra]) for extra in (
            ["--bars", "0"], ["--bars", "100000"], ["--bpm", "0"], ["--bpm", "nan"], ["--time-signature", "7/0"],
            ["--key", "H major"], ["--form", "A!B"], ["--console", "atari2600"], ["--intensity", "2"],
            ["--variation", "nan"], ["--sample-rate", "0"], ["--loop-bars", "-1"], ["--model", f.perf])],
        *[(f"render {_args(extra)}", ["render", f.mid, "--synth", "chiptune", *extra]) for extra in (
            ["--sample-rate", "0"], ["--sample-rate", "nan"], ["--max-seconds", "nan"], ["--max-seconds", "-1"],
            ["--synth", "kazoo"], ["--synth", "soundfont", "--soundfont", "/nonexistent/gm.sf2"])],
        ("render (missing file)", ["render", "/nonexistent/a.mid", "--synth", "chiptune"]),
        ("render (file not MIDI)", ["render", f.text, "--synth", "chiptune"]),
        *[(f"generate --model ({label})", [*gen, "--model", folder]) for label, folder in f.models.items()],
        *[(f"evaluate --model ({label})", [*ev, "--model", f.models[label]]) for label in (
            "model.safetensors: a NaN", "model.safetensors: int64 weights", "tokenizer.json: another vocabulary")],
        *[(f"train --resume ({label})", ["train", "--data", f.prepared, "--out", run, "--resume", "--steps", "4",
                                         "--quiet", "--device", "cpu"]) for label, run in f.runs.items()],
    ]  # fmt: skip


def controls(f: Any) -> list[tuple[str, list[str]]]:
    """The same calls on untampered inputs, which must succeed: the errors above are the inputs' doing."""
    return [
        ("generate (tiny model)", ["generate", "--model", f.perf, "--length", "16", "--seed", "0"]),
        ("evaluate (tiny model, tiny data)", ["evaluate", "--model", f.perf, "--data", f.prepared, "--device", "cpu"]),
        ("train --resume (untampered state)", ["train", "--data", f.prepared, "--out", f.good_run, "--resume",
                                               "--steps", "4", "--quiet", "--device", "cpu"]),
        ("prepare (good MIDI files)", ["prepare", f.raw]),
        ("render (good MIDI file)", ["render", f.mid, "--synth", "chiptune"]),
        ("infill (tiny bar model)", ["infill", f.mid, "--model", f.bars, "--bars", "1-2", "--seed", "0",
                                     "--device", "cpu"]),
    ]  # fmt: skip
