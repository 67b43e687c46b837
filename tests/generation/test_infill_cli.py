"""`overworld infill` from the command line: the file outside the span kept, --out song.mid a file, the
piece's key and line-up kept, and every bad input a one-line error found before the model loads."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest
import symusic
import torch

from overworld.cli import main
from overworld.config import ModelConfig, SampleConfig
from overworld.midi import load_score, write_score
from overworld.theory import parse_key
from overworld.tokenizers.bars import BarTokenizer
from overworld.tokenizers.bars import Layout as L

from .test_infill_roundtrip import OPENMSX, assert_kept

D_MINOR = parse_key("D minor")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> str:
    """The tiny random bar-token model, saved as a model folder."""
    from overworld.models import build_model, save_model

    torch.manual_seed(0)
    config = ModelConfig(
        vocab_size=L.SIZE,
        embedding_size=32,
        sequence_length=256,
        num_blocks=2,
        num_heads=2,
        feed_forward_dim=64,
        dropout=0.0,
    )
    folder = tmp_path_factory.mktemp("model") / "bars"
    return str(
        save_model(folder, build_model(config), BarTokenizer(), sampling=SampleConfig(max_polyphony=4))
    )


def _run(*argv: str) -> int:
    return main(["infill", *argv, "--device", "cpu"])


def test_out_song_mid_writes_that_file_with_everything_outside_the_span(model_dir, tmp_path, capsys):
    source = OPENMSX / "coconut_run2.mid"
    if not source.exists():
        pytest.skip("Debian's openttd-openmsx is not installed")
    out = tmp_path / "song.mid"
    assert _run(str(source), "--bars", "3-4", "--model", model_dir, "--seed", "1", "--out", str(out)) == 0
    assert out.is_file()
    lines = BarTokenizer().bar_ticks(load_score(source, ttype="tick"))
    assert_kept(out.read_bytes(), source.read_bytes(), (int(lines[2]), int(lines[4])))
    assert str(out) in capsys.readouterr().out


def _d_minor_piece(folder: Path, with_json: bool = True) -> Path:
    """A composed-looking D-minor piece: piece.mid (8 bars of D minor chords and a kick) and piece.json."""
    score = symusic.Score(480)
    score.tempos.append(symusic.Tempo(0, 132.0))
    strings, kit = symusic.Track(program=48), symusic.Track(is_drum=True)
    for bar in range(8):
        for pitch in ((62, 65, 69), (58, 62, 65), (57, 61, 64), (62, 65, 69))[bar % 4]:
            strings.notes.append(symusic.Note(bar * 1920, 1920, pitch, 80))
        kit.notes.append(symusic.Note(bar * 1920, 120, 36, 100))
    score.tracks.extend([strings, kit])
    folder.mkdir(parents=True, exist_ok=True)
    path = write_score(score, folder / "piece.mid")
    if with_json:
        info = {"bpm": 132, "key": "D minor", "bars": 8, "console": None, "files": {"midi": "piece.mid"}}
        (folder / "piece.json").write_text(json.dumps(info))
    return path


def test_a_d_minor_piece_keeps_its_key_and_line_up_in_ten_seeds(model_dir, tmp_path, capsys):
    path = _d_minor_piece(tmp_path / "piece")
    for seed in range(10):
        out = tmp_path / f"take-{seed}.mid"
        assert (
            _run(str(path), "--bars", "3-6", "--model", model_dir, "--seed", str(seed), "--out", str(out))
            == 0
        )
        assert f"key: D minor ({path.parent / 'piece.json'})" in capsys.readouterr().out
        take = load_score(out, ttype="tick")
        new = [(t, n) for t in take.tracks for n in t.notes if 2 * 1920 <= n.time < 6 * 1920]
        assert new and {(t.program, t.is_drum) for t, _ in new} <= {(48, False), (0, True)}  # the line-up
        assert {n.pitch % 12 for t, n in new if not t.is_drum} <= D_MINOR
        assert [round(t.qpm, 3) for t in take.tempos] == [132.0]


@pytest.mark.parametrize(
    "how, expected",
    [
        ("signature", "key: D minor (the file's key signature)"),
        ("estimate", "key: D minor (estimated from the notes outside the span)"),
        ("flag", "key: A minor (--key)"),
    ],
)
def test_the_key_comes_from_piece_json_the_signature_an_estimate_or_the_flag(
    model_dir, tmp_path, capsys, how, expected
):
    import mido

    path = _d_minor_piece(tmp_path, with_json=False)
    if how == "signature":
        midi = mido.MidiFile(path)
        midi.tracks[0].insert(0, mido.MetaMessage("key_signature", key="Dm"))
        midi.save(path)
    flags = ["--key", "A minor"] if how == "flag" else []
    assert (
        _run(
            str(path),
            "--bars",
            "2",
            "--model",
            model_dir,
            "--seed",
            "0",
            "--out",
            str(tmp_path / "o"),
            *flags,
        )
        == 0
    )
    assert expected in capsys.readouterr().out


@pytest.fixture
def no_model(monkeypatch):
    """Loading the model is an error: whatever these tests check must be found before it."""

    def refuse(*args, **kwargs):
        raise AssertionError("the model was loaded before the input was checked")

    monkeypatch.setattr("overworld.models.storage.load_model", refuse)


def _bad_inputs(tmp_path: Path) -> list[tuple[list[str], str]]:
    piece = _d_minor_piece(tmp_path / "ok", with_json=False)
    (tmp_path / "junk.mid").write_bytes(b"<html>not a midi file</html>")
    (tmp_path / "a-file").write_text("x")
    return [
        ([str(tmp_path / "missing.mid"), "--bars", "1"], f"{tmp_path / 'missing.mid'}: no such file"),
        ([str(tmp_path / "junk.mid"), "--bars", "1"], f"{tmp_path / 'junk.mid'}: an HTML page"),
        ([str(tmp_path), "--bars", "1"], f"{tmp_path}: is a folder"),
        ([str(piece), "--bars", "7-12"], "bars 7-12 are outside the piece's 8 bars"),
        (
            [str(piece), "--bars", "1", "--out", str(tmp_path / "a-file" / "out")],
            f"cannot write in {tmp_path / 'a-file'}",
        ),
        ([str(piece), "--bars", "1", "--out", str(tmp_path / "a-file")], "exists and is not a folder"),
        ([str(piece), "--bars", "1", "--seed", "-1"], "--seed must be a whole number from 0 to 4294967295"),
        ([str(piece), "--bars", "1", "--seed", str(2**32)], f"4294967295 (2**32 - 1), not {2**32}"),
        ([str(piece), "--bars", "1", "--key", "H minor"], "'H minor'"),
        (
            [str(piece), "--bars", "1", "--num", "0"],
            "--num must be between 1 and 4096 takes in one batch, not 0",
        ),
        ([str(piece), "--bars", "1", "--num", "100000000"], "not 100000000"),  # no path made for each first
    ]


def test_bad_input_is_one_line_before_the_model_loads(tmp_path, capsys, no_model):
    for argv, message in _bad_inputs(tmp_path):
        assert _run(*argv, "--model", "unused") == 2, argv
        err = capsys.readouterr().err.strip()
        assert err.startswith("overworld infill: error:") and message in err and "\n" not in err, (argv, err)


def test_a_full_disk_while_rendering_leaves_nothing(model_dir, tmp_path, capsys, monkeypatch):
    def full_disk(source, out_path, **kwargs):
        Path(out_path).write_bytes(b"RIFF\0\0")  # part of a WAV, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device", str(out_path))

    monkeypatch.setattr("overworld.render.render", full_disk)
    path = _d_minor_piece(tmp_path / "piece")
    out = tmp_path / "out"
    argv = [str(path), "--bars", "2", "--model", model_dir, "--out", str(out), "--num", "2", "--wav"]
    assert _run(*argv) == 2
    err = capsys.readouterr().err.strip()
    assert "No space left on device" in err and "\n" not in err
    assert list(out.iterdir()) == []  # neither MIDI files nor a part of a WAV


def test_wav_uses_the_console_of_piece_json(model_dir, tmp_path, capsys, monkeypatch):
    import overworld.render.stems as stems

    used, real = [], stems.render_stems

    def spy(source, **kwargs):
        used.append(kwargs.get("console"))
        return real(source, **kwargs)

    monkeypatch.setattr(stems, "render_stems", spy)
    path = _d_minor_piece(tmp_path / "piece")
    info = json.loads((path.parent / "piece.json").read_text())
    (path.parent / "piece.json").write_text(json.dumps({**info, "console": "nes"}))
    out = tmp_path / "take.mid"
    assert (
        _run(str(path), "--bars", "2", "--model", model_dir, "--seed", "3", "--out", str(out), "--wav") == 0
    )
    assert "console nes" in capsys.readouterr().out
    assert [c.name for c in used] == ["nes"] and out.with_suffix(".wav").stat().st_size > 1000
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left
