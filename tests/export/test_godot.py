"""A real engine takes the music pack: Debian's Godot 3 (headless) imports a composed pack with its own
importers, and a GDScript prints what Godot itself read (the WAV's loop mode and loop points in samples,
the OGG's length and loop offset, the stems' lengths); the test fails on any mismatch."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

GODOT = shutil.which("godot3-server") or shutil.which("godot3")
pytestmark = pytest.mark.skipif(GODOT is None, reason="needs Godot 3 (apt-get install godot3-server)")

# what Godot reads, one JSON line; a 16-bit mono AudioStreamSample holds 2 bytes a frame
CHECK = """extends SceneTree

func wav(path):
    var s = load(path)
    return {"loop_mode": s.loop_mode, "loop_begin": s.loop_begin, "loop_end": s.loop_end, "mix_rate": s.mix_rate,
            "frames": s.data.size() / (2 if s.format == AudioStreamSample.FORMAT_16_BITS else 1)}

func _init():
    var out = {"mix": wav("res://mix.wav"), "intro": wav("res://intro.wav"), "loop": wav("res://loop.wav"),
               "stems": []}
    for path in STEMS:
        out["stems"].append(wav(path))
    var ogg = load("res://mix.ogg")
    out["ogg"] = {"length": ogg.get_length(), "loop": ogg.loop, "loop_offset": ogg.loop_offset}
    print("RESULT " + to_json(out))
    quit()
"""
# the pack as a game would import it: the WAVs untouched (no trim, no normalising, the smpl loop kept),
# the OGG looping from the loop's start (Godot 3's OGG importer takes the offset in seconds)
WAV_IMPORT = """[remap]\nimporter="wav"\ntype="AudioStreamSample"\n\n[params]\nforce/8_bit=false\nforce/mono=false
force/max_rate=false\nedit/trim=false\nedit/normalize=false\nedit/loop=false\ncompress/mode=0\n"""
OGG_IMPORT = (
    """[remap]\nimporter="ogg_vorbis"\ntype="AudioStreamOGGVorbis"\n\n[params]\nloop=true\nloop_offset={}\n"""
)


def _godot(project, *args: str) -> str:
    env = {**os.environ, "HOME": str(project.parent)}  # Godot's own settings stay in the test's folder
    done = subprocess.run(
        [GODOT, "--path", str(project), *args], capture_output=True, text=True, timeout=180, env=env
    )
    return done.stdout + done.stderr


def test_godot_imports_the_packs_loop_points_to_the_sample(packs, tmp_path):
    _, folder = max(packs[1::2], key=lambda pack: len(pack[0].score.tracks))  # an intro bar, then the loop
    info = json.loads((folder / "piece.json").read_text())
    project = tmp_path / "game"
    shutil.copytree(folder, project, ignore=shutil.ignore_patterns("*.mid", "*.xm", "*.json", "stems/*.ogg"))
    (project / "project.godot").write_text('config_version=4\n\n[application]\n\nconfig/name="pack"\n')
    for wav in project.rglob("*.wav"):
        wav.with_name(wav.name + ".import").write_text(WAV_IMPORT)
    (project / "mix.ogg.import").write_text(OGG_IMPORT.format(info["loop"]["start_seconds"]))
    stems = sorted(f"res://{p.relative_to(project).as_posix()}" for p in project.glob("stems/*.wav"))
    (project / "check.gd").write_text(CHECK.replace("STEMS", json.dumps(stems)))
    _godot(project, "--editor", "--quit")  # Godot's importers write .import/
    output = _godot(project, "--script", "check.gd")
    lines = [line for line in output.splitlines() if line.startswith("RESULT ")]
    assert lines, output[-2000:]
    read = json.loads(lines[0][len("RESULT ") :])
    start, end, samples = info["loop"]["start_sample"], info["loop"]["end_sample"], info["samples"]
    mix = read["mix"]
    assert mix["loop_mode"] == 1  # AudioStreamSample.LOOP_FORWARD, from the smpl chunk
    # the smpl chunk's end is the last sample played (inclusive, as the RIFF specification and OpenMPT
    # have it); Godot 3 shows it as loop_end
    assert (mix["loop_begin"], mix["loop_end"]) == (start, end - 1)
    assert (mix["frames"], mix["mix_rate"]) == (samples, info["sample_rate"])
    assert (
        read["intro"]["frames"] + read["loop"]["frames"] == samples and read["loop"]["frames"] == end - start
    )
    assert read["intro"]["loop_mode"] == read["loop"]["loop_mode"] == 0  # plain clips: the game queues them
    assert len(read["stems"]) == len(stems) >= 2
    assert all(
        (s["frames"], s["loop_begin"], s["loop_end"]) == (samples, start, end - 1) for s in read["stems"]
    )
    ogg = read["ogg"]
    assert ogg["loop"] and abs(ogg["loop_offset"] - info["loop"]["start_seconds"]) < 1e-6
    assert abs(ogg["length"] - info["seconds"]) < 1e-3
