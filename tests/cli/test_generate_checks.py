"""generate checks its seed, sizes, flags and paths before the model loads (issues 25 and 26)."""

from __future__ import annotations

import pytest
import symusic

from overworld.cli import main

GEN = ["generate", "--model", "unused-model", "--length", "8"]


@pytest.mark.parametrize("seed", ["-1", str(2**63), str(2**32)])
def test_a_seed_outside_0_to_2_32_is_refused_before_the_model_loads(no_work, error_of, seed, tmp_path):
    line = error_of([*GEN, "--seed", seed, "--out", tmp_path / "o"])
    assert f"--seed must be a whole number from 0 to 4294967295 (2**32 - 1), not {seed}" in line


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (["--bars", "0"], "bars must be between 1 and"),
        (["--length", "1000000000"], "length must be between 1 and"),
        (["--num", "0"], "num must be between 1 and"),
        (["--key", "C##### major"], "unknown key 'C##### major': a tonic is A-G with at most one # or b"),
        (["--top-p", "7"], "top_p"),
    ],
)
def test_absurd_sizes_and_settings_are_refused_before_the_model_loads(
    no_work, error_of, flags, says, tmp_path
):
    assert says in error_of(["generate", "--model", "unused", *flags, "--seed", "1", "--out", tmp_path / "o"])


def test_an_out_folder_that_cannot_be_made_or_is_a_file_is_named_first(no_work, error_of, tmp_path):
    assert "--out /proc/nope: cannot make /proc/nope in /proc" in error_of(
        [*GEN, "--seed", "1", "--out", "/proc/nope"]
    )
    a_file = tmp_path / "README.md"
    a_file.write_text("not a folder")
    assert f"--out {a_file} is a file; a folder is needed here" in error_of(
        [*GEN, "--seed", "1", "--out", a_file]
    )
    assert "--out" in error_of([*GEN, "--num", "2", "--seed", "1", "--out", tmp_path / "one.mid"])


def test_a_primer_or_soundfont_of_the_wrong_kind_is_named_first(no_work, error_of, tmp_path):
    out = ["--seed", "1", "--out", tmp_path / "o"]
    assert f"--primer {tmp_path} is a folder" in error_of([*GEN, "--primer", tmp_path, *out])
    assert "--primer /nonexistent/p.mid does not exist" in error_of(
        [*GEN, "--primer", "/nonexistent/p.mid", *out]
    )
    passwd = tmp_path / "passwd"
    passwd.write_text("root:x:0:0:root:/root:/bin/bash\n")
    line = error_of([*GEN, "--synth", "soundfont", "--soundfont", passwd, *out])
    assert f"SoundFont {passwd} is not a SoundFont (no RIFF sfbk header)" in line


def test_out_name_mid_writes_that_one_file(tiny_model_dir, tmp_path):
    target = tmp_path / "songs" / "boss.mid"
    assert (
        main(
            [
                "generate",
                "--model",
                str(tiny_model_dir),
                "--length",
                "24",
                "--seed",
                "3",
                "--out",
                str(target),
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    assert target.is_file() and sorted(p.name for p in target.parent.iterdir()) == ["boss.mid"]
    symusic.Score(str(target))  # a MIDI file, not a folder named boss.mid
