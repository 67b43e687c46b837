"""Infill keeps the whole file outside the span: on 10 real files (OpenMSX, Freedoom) and on one made here
with every kind of event, each track's events outside the span, at their absolute ticks, equal the input's
as mido reads them (controllers, RPNs, bends, aftertouch, programs with a drum kit's, names in their own
bytes, text, lyrics, markers, key and time signatures, the tempo map, sysex and the resolution)."""

from __future__ import annotations

import io
from collections import defaultdict, deque
from pathlib import Path

import mido
import numpy as np
import pytest
import symusic

from overworld.generation.infill import infill
from overworld.midi import load_score
from overworld.midi.load import smf_bytes
from overworld.midi.write import write_spliced

from .test_infill import bar_model  # noqa: F401 (the tiny bar-token model fixture)

OPENMSX = Path("/usr/share/games/openttd/baseset/openmsx")
FREEDOOM2 = Path("/usr/share/games/doom/freedoom2.wad")
# each carries kinds of event the others lack: a drum kit program (1, 16), 'Spår 1' names in Latin-1,
# RPNs, lyrics, markers, aftertouch, sequencer-specific events, MIDI ports, 65 tempos, 3 metres
OPENMSX_FILES = ("coconut_run2.mid", "chuggachugga.mid", "city_blues_redfarn.mid", "tttheme2.mid",
                 "modern_motion.mid", "midnight_snow_run.mid", "be_sharp_bw_redfarn.mid")  # fmt: skip
FREEDOOM_LUMPS = ("D_DDTBL2", "D_DEAD2", "D_ROMER2")  # markers and bends; channel prefixes; metre changes


def events_outside(data: bytes, span: tuple[int, int], charset: str = "latin1") -> tuple[int, list]:
    """The resolution and, per track, ``(absolute tick, message)`` of every event but the notes that
    start in ``span`` (their note-on and the note-off that ends each, paired first in, first out)."""
    midi = mido.MidiFile(file=io.BytesIO(data), charset=charset)
    tracks = []
    for track in midi.tracks:
        tick, events, drop = 0, [], set()
        sounding: dict[tuple[int, int], deque] = defaultdict(deque)
        for msg in track:
            tick += msg.time
            events.append((tick, msg.copy(time=0)))
            if msg.type == "note_on" and msg.velocity:
                sounding[msg.channel, msg.note].append((len(events) - 1, tick))
            elif msg.type in ("note_on", "note_off") and sounding[msg.channel, msg.note]:
                on, onset = sounding[msg.channel, msg.note].popleft()
                if span[0] <= onset < span[1]:
                    drop.update((on, len(events) - 1))
        drop.update(on for rest in sounding.values() for on, onset in rest if span[0] <= onset < span[1])
        tracks.append([e for i, e in enumerate(events) if i not in drop])
    return midi.ticks_per_beat, tracks


def assert_kept(out: bytes, data: bytes, span: tuple[int, int], charset: str = "latin1") -> None:
    """Every track of ``data`` is in ``out`` with every event outside ``span`` as it was; a track added
    (for an instrument that plays nowhere at the span's start) holds a name, a program and new notes only."""
    (tpq, tracks), (tpq_in, tracks_in) = (
        events_outside(out, span, charset),
        events_outside(data, span, charset),
    )
    assert tpq == tpq_in and tracks[: len(tracks_in)] == tracks_in
    for added in tracks[len(tracks_in) :]:
        assert {m.type for _, m in added} <= {"track_name", "program_change", "end_of_track"}


def _real_files() -> list:
    files = [pytest.param(OPENMSX / name, id=name) for name in OPENMSX_FILES]
    return files + [pytest.param(("freedoom2", lump), id=lump) for lump in FREEDOOM_LUMPS]


def _bytes_of(which) -> bytes:
    if isinstance(which, Path):
        if not which.exists():
            pytest.skip("Debian's openttd-openmsx is not installed")
        return which.read_bytes()
    if not FREEDOOM2.exists():
        pytest.skip("Debian's freedoom is not installed")
    from overworld.midi.wad import read_music_lumps

    return dict(read_music_lumps(FREEDOOM2))[which[1]]


def _notes(score, keep=lambda t: True) -> list:
    return sorted(
        (t.is_drum, n.time, n.duration, n.pitch, n.velocity) for t in score.tracks if keep(t) for n in t.notes
    )


def _notes(score, keep=lambda t: True) -> list:
    return sorted(
        (t.is_drum, n.time, n.duration, n.pitch, n.velocity) for t in score.tracks if keep(t) for n in t.notes
    )


def _infill_and_write(model, data: bytes, bars, tmp_path: Path, **kw):
    take = infill(model, data, bars, seed=1, **kw)[0]
    path, written = write_spliced(tmp_path / "out.mid", smf_bytes(data), take.span_ticks, take.new_notes,
                                  take.instruments)  # fmt: skip
    return take, path.read_bytes(), written


@pytest.mark.parametrize("which", _real_files())
def test_every_event_outside_the_span_of_a_real_file_is_kept(bar_model, which, tmp_path):  # noqa: F811
    data = _bytes_of(which)
    take, out, written = _infill_and_write(bar_model, data, (3, 4), tmp_path)
    assert_kept(out, data, take.span_ticks)
    # the new notes are there, and symusic reads the notes the take holds
    assert written > 0
    again = load_score(out, ttype="tick")
    assert _notes(again) == _notes(take.score)


def every_kind() -> bytes:
    """A 6-bar file at 96 ticks a beat with one of each kind of event, a drum kit program 1 and a track
    named in UTF-8 outside Latin-1."""
    midi = mido.MidiFile(type=1, ticks_per_beat=96, charset="utf-8")
    meta = mido.MidiTrack([
        mido.MetaMessage("track_name", name="Tempo – Ω"), mido.MetaMessage("copyright", text="(c) test"),
        mido.MetaMessage("time_signature", numerator=4, denominator=4),
        mido.MetaMessage("key_signature", key="Dm"), mido.MetaMessage("set_tempo", tempo=500_000),
        mido.MetaMessage("marker", text="loopStart", time=384), mido.MetaMessage("set_tempo", tempo=400_000, time=384),
        mido.MetaMessage("time_signature", numerator=3, denominator=4, time=384),
        mido.MetaMessage("cue_marker", text="cue", time=288), mido.MetaMessage("text", text="hello", time=10),
        mido.MetaMessage("sequencer_specific", data=(0x43, 1, 2)),
    ])  # fmt: skip
    lead = mido.MidiTrack([mido.MetaMessage("track_name", name="Spår 1 – Ω"), mido.Message("sysex", data=(0x7E, 0x7F, 9, 1)),
                           mido.Message("program_change", channel=0, program=80)])  # fmt: skip
    for cc, value in ((7, 100), (10, 30), (91, 60), (93, 20), (101, 0), (100, 0), (6, 12), (38, 0)):
        lead.append(mido.Message("control_change", channel=0, control=cc, value=value))
    kit = mido.MidiTrack([mido.MetaMessage("track_name", name="Batería"), mido.Message("program_change", channel=9, program=1)])  # fmt: skip
    for bar in range(6):
        for beat in range(4 if bar < 2 else 3):
            lead += [mido.Message("note_on", channel=0, note=62 + beat, velocity=90),
                     mido.Message("pitchwheel", channel=0, pitch=512 * beat, time=24),
                     mido.Message("aftertouch", channel=0, value=40), mido.Message("polytouch", channel=0, note=62 + beat, value=30),
                     mido.Message("note_off", channel=0, note=62 + beat, time=48),
                     mido.Message("control_change", channel=0, control=11, value=beat, time=24)]  # fmt: skip
            kit += [mido.Message("note_on", channel=9, note=36, velocity=100),
                    mido.Message("note_off", channel=9, note=36, time=96)]  # fmt: skip
    lead.append(mido.MetaMessage("lyrics", text="la"))
    midi.tracks += [meta, lead, kit]
    buffer = io.BytesIO()
    midi.save(file=buffer)
    return buffer.getvalue()


def test_every_kind_of_event_outside_the_span_is_kept(bar_model, tmp_path):  # noqa: F811
    data = every_kind()
    take, out, _ = _infill_and_write(bar_model, data, (2, 3), tmp_path)
    assert_kept(out, data, take.span_ticks, "utf-8")
    assert "Spår 1 – Ω".encode() in out and "Batería".encode() in out  # names in their own bytes
    kinds = {m.type for t in mido.MidiFile(file=io.BytesIO(out)).tracks for m in t}
    assert {"sysex", "pitchwheel", "aftertouch", "polytouch", "lyrics", "cue_marker", "marker"} <= kinds
    drums = [m.program for t in mido.MidiFile(file=io.BytesIO(out)).tracks for m in t
             if m.type == "program_change" and m.channel == 9]  # fmt: skip
    assert drums == [1]  # the kit's program stays 1


def test_the_notes_of_instruments_not_rewritten_stay_in_the_span(bar_model, tmp_path):  # noqa: F811
    data = every_kind()
    _, out, _ = _infill_and_write(bar_model, data, (2, 3), tmp_path, instruments=(128,))
    pitched = lambda t: not t.is_drum  # noqa: E731
    assert _notes(load_score(out, ttype="tick"), pitched) == _notes(load_score(data, ttype="tick"), pitched)


def test_a_new_note_never_starts_inside_a_kept_note_of_its_pitch():
    from overworld.midi.splice import splice_notes
    from overworld.midi.write import score_to_smf

    score = symusic.Score(480)
    piano = symusic.Track(program=0)
    piano.notes.append(symusic.Note(0, 3000, 60, 80))  # held from bar 1 into bar 2 (1920-3840)
    score.tracks.append(piano)
    data = score_to_smf(score)
    new = {0: np.array([[1920, 480, 60, 90], [2400, 960, 64, 90], [3360, 960, 60, 90]])}
    out, written = splice_notes(data, (1920, 3840), new)
    notes = sorted(
        (n.time, n.duration, n.pitch) for t in load_score(out, ttype="tick").tracks for n in t.notes
    )
    # the C at 1920 would start inside the held C and is left out; the one at 3360 starts after it ends
    assert notes == [(0, 3000, 60), (2400, 960, 64), (3360, 960, 60)] and written == 2


def test_a_new_instrument_gets_its_own_track_on_a_free_channel():
    from overworld.midi.splice import splice_notes
    from overworld.midi.write import score_to_smf

    score = symusic.Score(480)
    piano = symusic.Track(program=0)
    piano.notes.append(symusic.Note(0, 480, 60, 80))
    score.tracks.append(piano)
    out, written = splice_notes(score_to_smf(score), (1920, 3840), {40: np.array([[1920, 480, 67, 90]])})
    tracks = {
        (t.program, t.is_drum): [(n.time, n.pitch) for n in t.notes]
        for t in load_score(out, ttype="tick").tracks
    }
    assert tracks == {(0, False): [(0, 60)], (40, False): [(1920, 67)]} and written == 1


def test_running_status_and_a_format_0_file_are_read_and_kept():
    from overworld.midi.splice import splice_notes

    # format 0, 96 ticks: program 5, C4 and E4 with running status (note-on velocity 0 ends them)
    body = bytes([0, 0xC0, 5, 0, 0x90, 60, 80, 0, 64, 80, 96, 60, 0, 0, 64, 0, 0x83, 0, 0x90, 67, 70, 96, 67, 0,
                  0, 0xFF, 0x2F, 0])  # fmt: skip
    data = (
        b"MThd"
        + (6).to_bytes(4, "big")
        + bytes([0, 0, 0, 1, 0, 96])
        + b"MTrk"
        + len(body).to_bytes(4, "big")
        + body
    )
    out, _ = splice_notes(data, (400, 800), {})
    assert events_outside(out, (400, 800)) == events_outside(data, (400, 800))
    assert [(n.time, n.pitch) for t in load_score(out, ttype="tick").tracks for n in t.notes] == [
        (0, 60),
        (0, 64),
    ]
