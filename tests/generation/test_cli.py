"""The generate verb end to end with a tiny saved model."""

from __future__ import annotations

import pytest
import symusic

from overworld.cli import main

from .test_sampler import check_midi


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, tokenizer):
    from overworld.models import build_model
    from overworld.models.storage import save_model

    from .conftest import tiny_config

    path = tmp_path_factory.mktemp("model")
    return save_model(path, build_model(tiny_config()), tokenizer, {"data": "random weights"})


@pytest.fixture(scope="module")
def gridded_model_dir(tmp_path_factory, tokenizer):
    """The tiny model with recommended settings: a sixteenth-note grid at 150 bpm (100 ms, 10 steps)."""
    from overworld.config import SampleConfig
    from overworld.models import build_model
    from overworld.models.storage import save_model

    from .conftest import tiny_config

    sampling = SampleConfig(grid=4, bpm=150.0, max_instruments=(1, 2), max_note_seconds=1.0)
    path = tmp_path_factory.mktemp("gridded")
    return save_model(
        path, build_model(tiny_config()), tokenizer, {"data": "random weights"}, sampling=sampling
    )


def _starts_in_sixteenths(path) -> list[float]:
    score = symusic.Score(str(path))
    assert [round(t.qpm, 3) for t in score.tempos] == [150.0]
    return [n.time / (score.ticks_per_quarter / 4) for track in score.tracks for n in track.notes]


def test_generate_starts_from_the_models_recommended_settings(gridded_model_dir, tmp_path):
    out = tmp_path / "out"
    argv = ["generate", "--model", str(gridded_model_dir), "--out", str(out), "--num", "2", "--seconds", "4",
            "--seed", "1"]  # fmt: skip
    assert main(argv) == 0
    for path in sorted(out.iterdir()):
        check_midi(path)
        starts = _starts_in_sixteenths(path)  # written at the grid's tempo, every note on a sixteenth
        assert len(starts) > 5 and all(abs(s - round(s)) < 1e-6 for s in starts)
        assert 1 <= len({(t.program, t.is_drum) for t in symusic.Score(str(path)).tracks}) <= 2
    raw = tmp_path / "raw"
    assert main([*argv[:3], "--out", str(raw), *argv[5:], "--raw"]) == 0
    for path in sorted(raw.iterdir()):  # the plain defaults: free timing, no 150 bpm grid
        assert [t.qpm for t in symusic.Score(str(path)).tempos] != [150.0]


def test_a_continuation_is_written_on_the_beats_of_its_primers_grid(gridded_model_dir, tmp_path):
    out = tmp_path / "out"
    # the chord lasts one beat at 100 bpm (0.6 s): the continuation starts 1.5 beats of 150 bpm in
    argv = ["generate", "--model", str(gridded_model_dir), "--out", str(out), "--seconds", "3", "--seed", "2",
            "--primer-pitches", "[60, 64, 67]", "--primer-bpm", "100"]  # fmt: skip
    assert main(argv) == 0
    starts = _starts_in_sixteenths(out / "overworld-2-0.mid")
    assert len(starts) > 5 and all(abs(s - round(s)) < 1e-6 for s in starts)
    assert min(starts) % 4 == 2  # the first grid point is half a beat past a beat, as in the primer's time


def test_generate_writes_named_valid_files(model_dir, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["generate", "--model", str(model_dir), "--out", str(out), "--num", "2", "--length", "80",
            "--seed", "3", "--top-k", "40", "--instruments", "nes", "--primer-melody", "[60, -2, 64]",
            "--inclusive"]  # fmt: skip
    assert main(argv) == 0
    files = sorted(p.name for p in out.iterdir())
    assert files == ["overworld-3-0.mid", "overworld-3-1.mid"]
    for name in files:
        check_midi(out / name)
    assert "--seed 3" in capsys.readouterr().out


def test_generate_errors_are_one_line(model_dir, tmp_path, capsys):
    assert main(["generate", "--model", str(tmp_path / "missing")]) == 2
    assert main(["generate", "--model", str(model_dir), "--instruments", "kazoo-xyz"]) == 2
    assert (
        main(["generate", "--model", str(model_dir), "--primer-melody", "[x]", "--out", str(tmp_path)]) == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("overworld generate: error:") for line in err)


def _one_error_line(capsys) -> str:
    """The one line generate printed to stderr (a progress bar it cleared aside), without a traceback."""
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    line = err.split("\r")[-1].strip()
    assert line.startswith("overworld generate: error: "), err
    return line


BAD_VALUES = [  # what the issue tried (each was an allocation traceback or silently accepted, or is now refused)
    (["--top-p", "7"], "top_p must be above 0 and at most 1"),
    (["--top-p", "0"], "top_p must be above 0"),
    (["--top-p", "-1"], "top_p must be above 0"),
    (["--top-k", "-5"], "top_k must be between 0 (off) and 1,000,000, not -5"),
    (["--top-k", "1e9"], "argument --top-k: invalid int value: '1e9'"),
    (["--top-k", "1000000000"], "top_k must be between 0 (off) and 1,000,000"),
    (["--temperature", "-1"], "temperature must be between 0 (greedy) and 100"),
    (["--temperature", "inf"], "temperature must be float, not inf"),
    (["--temperature", "nan"], "temperature must be float, not nan"),
    (["--bpm", "0"], "--bpm must be a positive tempo, not 0.0"),
    (["--max-note-seconds", "1e9"], "max_note_seconds must be between 0.01 and 600 seconds"),
    (["--seconds", "nan"], "seconds must be positive and at most 3600, not nan"),
    (["--seconds", "1e12"], "seconds must be positive and at most 3600"),
    (["--length", "1e9"], "argument --length: invalid int value: '1e9'"),
    (["--length", "1000000000"], "length must be between 1 and 1,000,000 tokens"),
    (["--num", "1e8"], "argument --num: invalid int value: '1e8'"),
    (["--num", "100000000"], "num must be between 1 and 4096 pieces in one batch"),
    (["--num", "4096", "--length", "1000000"], "GiB, more than cpu has free"),
    (["--primer-melody", "60,62", "--primer-bpm", "nan"], "primer bpm must be between 10 and 1000, not nan"),
]


@pytest.mark.parametrize(("flags", "reason"), BAD_VALUES, ids=[" ".join(f) for f, _ in BAD_VALUES])
def test_bad_values_on_the_command_line_are_one_line_errors(
    model_dir, tmp_path, capsys, monkeypatch, flags, reason
):
    from overworld.generation import sampler

    monkeypatch.setattr(sampler, "free_memory", lambda device: 2**30)  # the same answer on every machine
    argv = ["generate", "--model", str(model_dir), "--out", str(tmp_path), "--device", "cpu", *flags]
    if "invalid int value" in reason:  # argparse's own refusal: its usage, then the one error line
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        err = capsys.readouterr().err
        assert exit_.value.code == 2 and err.splitlines()[-1] == f"overworld generate: error: {reason}"
    else:
        assert main(argv) == 2
        assert reason in _one_error_line(capsys)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("setting", "reason"),
    [
        ({"top_p": 7}, "top_p must be above 0 and at most 1"),
        ({"top_k": 1e9}, "top_k must be int"),
        (
            {"temperature": float("nan")},
            "temperature must be float, not nan",
        ),  # json writes NaN, reads it back
        ({"temperature": float("inf")}, "temperature must be float, not inf"),
        ({"bpm": -120}, "bpm must be 0 (not set) or between 10 and 1000"),
        ({"max_note_seconds": 1e9}, "max_note_seconds must be between 0.01 and 600 seconds"),
        ({"max_instruments": [9, 4]}, "max_instruments range must be"),
        ({"grid": "4"}, "grid must be int"),
    ],
)
def test_a_tampered_generation_config_is_a_one_line_error(model_dir, tmp_path, capsys, setting, reason):
    import json
    import shutil

    folder = shutil.copytree(model_dir, tmp_path / "model")
    (folder / "generation_config.json").write_text(json.dumps(setting))
    assert main(["generate", "--model", str(folder), "--out", str(tmp_path / "out")]) == 2
    line = _one_error_line(capsys)
    assert (
        line.startswith(f"overworld generate: error: {folder / 'generation_config.json'}: ")
        and reason in line
    )


def test_generate_bars_in_a_key_and_metre_with_a_bar_model(tmp_path):
    from overworld.config import ModelConfig
    from overworld.models import build_model
    from overworld.models.storage import save_model
    from overworld.theory import parse_key
    from overworld.tokenizers import make_tokenizer

    bars = make_tokenizer("bars")
    config = ModelConfig(vocab_size=bars.vocab_size, embedding_size=32, sequence_length=64, num_blocks=2,
                         num_heads=2, feed_forward_dim=64, dropout=0.0)  # fmt: skip
    model_dir = save_model(tmp_path / "m", build_model(config), bars, {"data": "random weights"})
    argv = ["generate", "--model", str(model_dir), "--out", str(tmp_path / "out"), "--bars", "4", "--seed", "1",
            "--key", "A minor", "--time-signature", "3/4", "--bpm", "90"]  # fmt: skip
    assert main(argv) == 0
    score = symusic.Score(str(tmp_path / "out" / "overworld-1-0.mid"))
    assert [(t.numerator, t.denominator) for t in score.time_signatures] == [(3, 4)]
    assert abs(score.tempos[0].qpm - 90) / 90 < 0.04
    bar = 3 * score.ticks_per_quarter
    assert max(n.time for t in score.tracks for n in t.notes) < 4 * bar  # four bars, no more
    pitched = [n.pitch for t in score.tracks if not t.is_drum for n in t.notes]
    assert all(p % 12 in parse_key("A minor") for p in pitched)


def test_generate_synth_means_what_render_synth_means(model_dir, tmp_path, capsys, monkeypatch):
    import overworld.render

    asked = []

    def fake_render(source, out_path, *, synth, soundfont):
        asked.append((synth, soundfont))
        out_path.write_bytes(b"RIFF")
        return out_path

    monkeypatch.setattr(overworld.render, "render", fake_render)
    base = ["generate", "--model", str(model_dir), "--length", "20", "--seed", "5"]
    assert main([*base, "--out", str(tmp_path / "a"), "--wav"]) == 0  # --wav alone: chiptune, as before
    sf2 = tmp_path / "gm.sf2"
    sf2.write_bytes(b"RIFF\x04\x00\x00\x00sfbk")  # the header a SoundFont has
    # --synth as in `overworld render` (and it implies --wav)
    assert main([*base, "--out", str(tmp_path / "b"), "--synth", "soundfont", "--soundfont", str(sf2)]) == 0
    assert asked == [("chiptune", None), ("soundfont", str(sf2))]
    assert (tmp_path / "b" / "overworld-5-0.wav").exists()
    assert main([*base, "--soundfont", str(sf2)]) == 2  # a SoundFont for the chiptune synth: say so
    assert (
        capsys.readouterr().err.strip().splitlines()[-1].startswith("overworld generate: error: --soundfont")
    )


def test_generate_progress_counts_the_music_asked_for(model_dir, tmp_path, monkeypatch):
    import tqdm

    bars = []

    class Recorder(tqdm.tqdm):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            bars.append(self)

        def close(self):
            self.final = (self.n, self.total, self.unit)
            super().close()

    monkeypatch.setattr(tqdm, "tqdm", Recorder)
    assert (
        main(["generate", "--model", str(model_dir), "--out", str(tmp_path), "--seconds", "3", "--seed", "1"])
        == 0
    )
    assert bars[-1].final == (3.0, 3.0, "s")  # 3 of 3 seconds, not 27 of 664 tokens
