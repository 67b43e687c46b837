"""render checks the SoundFont and the out path first; a full disk or a read-only folder is one line
naming the file, and leaves no partial file."""

from __future__ import annotations

import errno

import numpy as np
import pytest

from overworld.errors import PathError
from overworld.render.audio import write_audio


def test_a_file_that_is_no_soundfont_is_refused_before_rendering(no_work, error_of, tune, tmp_path):
    passwd = tmp_path / "passwd"
    passwd.write_text("root:x:0:0:root:/root:/bin/bash\n")
    line = error_of(
        ["render", tune, "--synth", "soundfont", "--soundfont", passwd, "--out", tmp_path / "a.wav"]
    )
    assert line.endswith(
        f"SoundFont {passwd} is not a SoundFont (no RIFF sfbk header); give an .sf2 or .sf3 file"
    )


def test_an_out_that_cannot_be_written_is_named_before_rendering(no_work, error_of, tune, tmp_path):
    assert "--out /proc/nope/a.wav: cannot make /proc/nope" in error_of(
        ["render", tune, "--synth", "chiptune", "--out", "/proc/nope/a.wav"]
    )
    assert "cannot write '.mp3' files; use .wav, .flac, .ogg" in error_of(
        ["render", tune, "--synth", "chiptune", "--out", tmp_path / "a.mp3"]
    )


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".ogg"])
def test_a_full_disk_while_writing_audio_leaves_nothing(monkeypatch, tmp_path, suffix):
    import soundfile

    def full(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(soundfile.SoundFile, "write", full)
    target = tmp_path / f"a{suffix}"
    with pytest.raises(PathError, match=f"cannot write {target}: No space left on device"):
        write_audio(target, np.full((44100, 2), 0.1, np.float32), 44100)
    assert list(tmp_path.iterdir()) == []  # neither the file nor a temporary one


def test_a_real_full_disk_is_one_line_naming_the_file(full_disk, error_of, tune):
    target = full_disk / "a.wav"  # ~1 MB of audio into 64 kB
    line = error_of(["render", tune, "--synth", "chiptune", "--out", target])
    assert f"cannot write {target}: no space left on the device" in line
    assert list(full_disk.iterdir()) == []


def test_a_read_only_folder_is_one_line(tmp_path):
    import os

    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o555)
    with pytest.raises(PathError, match=str(folder / "a.wav")):
        write_audio(folder / "a.wav", np.zeros(100, np.float32), 44100)
