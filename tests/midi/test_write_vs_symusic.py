"""Why overworld writes MIDI itself: what symusic's ``Score.dump_midi`` (measured on 0.6.0) gets right and
where it loses music. If one of the "loses" tests starts failing, symusic has fixed it: reconsider
``midi/write.py``."""

from __future__ import annotations

import mido
import pretty_midi
import pytest
import symusic

from overworld.midi import write_score


def _channels(path) -> dict[str, tuple[set[int], list[int]]]:
    """{track name: (channels its events use, its program changes)}"""
    out = {}
    for track in mido.MidiFile(path).tracks:
        channels = {m.channel for m in track if hasattr(m, "channel")}
        if channels:
            out[track.name] = (channels, [m.program for m in track if m.type == "program_change"])
    return out


def _band(pitched: int, drums_at: int) -> symusic.Score:
    """``pitched`` one-note tracks on programs 0.. with a drum track inserted at index ``drums_at``."""
    score = symusic.Score(480)
    for program in range(pitched):
        track = symusic.Track(name=f"p{program}", program=program)
        track.notes.append(symusic.Note(0, 480, 60, 90))  # C4 for one beat at time 0
        score.tracks.append(track)
    drums = symusic.Track(name="Drums", program=0, is_drum=True)
    drums.notes.append(symusic.Note(0, 120, 36, 100))  # a kick at time 0
    score.tracks.insert(drums_at, drums)
    score.tempos.append(symusic.Tempo(0, 150.0))
    score.tempos.append(symusic.Tempo(960, 90.0))
    score.time_signatures.append(symusic.TimeSignature(0, 3, 4))
    return score


def test_symusic_gets_channels_programs_names_and_the_tempo_map_right(tmp_path):
    # not "every track on channel 0", as midi/write.py once said: a channel per track, drums on 10
    score = _band(3, drums_at=3)
    score.dump_midi(str(tmp_path / "sym.mid"))
    tracks = _channels(tmp_path / "sym.mid")
    assert tracks["Drums"][0] == {9}
    assert [tracks[f"p{i}"] for i in range(3)] == [({0}, [0]), ({1}, [1]), ({2}, [2])]
    back = symusic.Score(str(tmp_path / "sym.mid"))
    assert [round(t.qpm, 2) for t in back.tempos] == [150.0, 90.0]
    assert [(t.numerator, t.denominator) for t in back.time_signatures] == [(3, 4)]


def test_symusic_loses_an_instrument_when_drums_sit_between_fifteen_pitched_tracks(tmp_path):
    # symusic numbers channels by track index, skipping 10: the drum track at index 1 uses up a slot, so
    # the 15th pitched track wraps onto channel 1 with the 1st; their program changes both land at time 0
    # and one instrument plays the other's notes. Ours numbers the pitched tracks alone: 15 channels.
    score = _band(15, drums_at=1)
    score.dump_midi(str(tmp_path / "sym.mid"))
    sym = _channels(tmp_path / "sym.mid")
    assert sym["p0"] == ({0}, [0]) and sym["p14"] == ({0}, [14])  # one channel, two programs
    ours = _channels(write_score(score, tmp_path / "ours.mid"))
    pitched = [next(iter(ours[f"p{i}"][0])) for i in range(15)]
    assert len(set(pitched)) == 15 and 9 not in pitched and ours["Drums"][0] == {9}


def test_symusic_drops_zero_length_and_zero_velocity_notes(tmp_path):
    # a note whose NOTE_OFF falls on its NOTE_ON's tick (a generated blip) and one of velocity 0 (which
    # symusic writes as NOTE_ON velocity 0: by the MIDI standard a note-off): players never sound them
    score = symusic.Score(480)
    track = symusic.Track(name="p", program=0)
    track.notes.append(symusic.Note(0, 0, 60, 90))  # C4, zero length, at time 0
    track.notes.append(symusic.Note(480, 240, 62, 0))  # D4, velocity 0, on beat 2
    track.notes.append(symusic.Note(960, 240, 64, 90))  # E4 on beat 3
    score.tracks.append(track)
    score.dump_midi(str(tmp_path / "sym.mid"))
    heard = [n.pitch for n in pretty_midi.PrettyMIDI(str(tmp_path / "sym.mid")).instruments[0].notes]
    assert heard == [64]
    ours = write_score(score, tmp_path / "ours.mid")  # one tick long at least, velocity at least 1
    assert [n.pitch for n in pretty_midi.PrettyMIDI(str(ours)).instruments[0].notes] == [60, 62, 64]


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)], ids=oct)
def test_midi_files_are_written_with_the_users_umask(tmp_path, umask, mode):
    import os
    import stat

    import symusic

    from overworld.midi import write_score

    score = symusic.Score(480)
    track = symusic.Track(program=0)
    track.notes.append(symusic.Note(0, 480, 60, 90))
    score.tracks.append(track)
    old = os.umask(umask)
    try:
        path = write_score(score, tmp_path / "a.mid")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == mode
