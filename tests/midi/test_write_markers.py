"""Loop markers: a loopStart/loopEnd marker pair and RPG Maker's controller 111, read back by mido; the file
ends where the piece does."""

from __future__ import annotations

import mido
import symusic

from overworld.midi import write_score


def test_markers_controls_and_the_end_are_read_back_by_mido(tmp_path):
    score = symusic.Score(96)  # a tick score keeps its own resolution
    track = symusic.Track(program=80)
    track.notes.append(symusic.Note(0, 96, 60, 100))  # C4 for one beat at time 0
    score.tracks.append(track)
    path = write_score(
        score,
        tmp_path / "loop.mid",
        markers=((96, "loopStart"), (384, "loopEnd")),
        controls=((96, 0, 111, 0),),
        end_tick=768,
    )
    midi = mido.MidiFile(path)
    assert midi.ticks_per_beat == 96
    events, tick = [], 0
    for msg in midi.tracks[0]:
        tick += msg.time
        events.append((tick, msg.type, getattr(msg, "text", getattr(msg, "control", None))))
    assert (96, "marker", "loopStart") in events and (384, "marker", "loopEnd") in events
    assert (96, "control_change", 111) in events
    assert events[-1] == (768, "end_of_track", None)
    assert max(sum(m.time for m in t) for t in midi.tracks) == 768  # two 4/4 bars, to the tick
