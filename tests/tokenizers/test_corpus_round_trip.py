"""MIDI -> tokens -> MIDI over every file of the Freedoom and OpenMSX soundtracks, measured and printed."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from overworld.midi import load_score, write_score
from overworld.midi.wad import read_music_lumps
from overworld.tokenizers import make_tokenizer

OPENMSX = Path("/usr/share/games/openttd/baseset/openmsx")
DOOM = Path("/usr/share/games/doom")


def _sources(name):
    if name == "openmsx":
        return [(p.name, p.read_bytes()) for p in sorted(OPENMSX.glob("*.mid"))]
    return [
        (f"{w}_{n}", d) for w in ("freedoom1", "freedoom2") for n, d in read_music_lumps(DOOM / f"{w}.wad")
    ]


def _notes(score):
    return Counter(
        (128 if t.is_drum else t.program, n.pitch, round(n.time * 100), n.velocity // 4)
        for t in score.tracks
        for n in t.notes
        if n.velocity > 0
    )


@pytest.mark.parametrize("name", ["freedoom", "openmsx"])
def test_every_file_round_trips(name, tmp_path, capsys):
    if (name == "openmsx" and not OPENMSX.exists()) or (
        name == "freedoom" and not (DOOM / "freedoom1.wad").exists()
    ):
        pytest.skip(f"Debian package for {name} not installed")
    tok = make_tokenizer("performance")
    files = notes = matched = 0
    worst_ms = 0.0
    for fname, data in _sources(name):
        score = load_score(data)
        out = write_score(tok.decode(tok.encode(score)), tmp_path / f"{fname}.mid")  # through a real file
        back = load_score(out)
        want, got = _notes(score), _notes(back)
        files += 1
        notes += sum(want.values())
        matched += sum((want & got).values())
        starts = sorted(n.time for t in score.tracks for n in t.notes)
        starts_back = sorted(n.time for t in back.tracks for n in t.notes)
        if len(starts) == len(starts_back):
            worst_ms = max(worst_ms, max(abs(a - b) for a, b in zip(starts, starts_back)) * 1000)
    with capsys.disabled():
        print(
            f"\n{name}: {files} files, {notes} notes, {100 * matched / notes:.3f}% kept pitch+instrument+"
            f"10 ms onset+velocity bin, worst onset error {worst_ms:.1f} ms"
        )
    assert files >= 30 and matched == notes and worst_ms <= 10.0
