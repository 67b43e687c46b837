"""General MIDI rendering through FluidSynth with a SoundFont found in the usual places.

symusic 0.6's own ``Synthesizer.render`` fails with numpy 2.4 (a return-type conversion error), so the
FluidSynth program (Debian's ``fluidsynth``) does the synthesis: the score is written to a temporary MIDI
file, rendered to a temporary WAV, and read back.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from overworld.errors import OverworldError

__all__ = ["SOUNDFONT_PLACES", "check_soundfont", "find_soundfont", "synthesize"]

SOUNDFONT_PLACES = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/soundfonts/default.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
    "/usr/local/share/soundfonts/default.sf2",
    "/opt/homebrew/share/soundfonts/default.sf2",
)


# the RIFF form types FluidSynth reads: SoundFont 2 and 3 ("sfbk") and DLS
SOUNDFONT_FORMS = (b"sfbk", b"DLS ")


def check_soundfont(path: str | Path, what: str = "SoundFont") -> Path:
    """``path`` if it is a readable RIFF SoundFont (SF2/SF3 or DLS); anything else is a one-line
    :class:`OverworldError` naming it. FluidSynth given another file (``/etc/passwd``) only warns and
    renders silence with no instruments, so the header is checked first."""
    from overworld.preflight import readable_file

    path = readable_file(path, what)
    try:
        with path.open("rb") as handle:
            head = handle.read(12)
    except OSError as exc:
        raise OverworldError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] not in SOUNDFONT_FORMS:
        raise OverworldError(
            f"{what} {path} is not a SoundFont (no RIFF sfbk header); give an .sf2 or .sf3 file"
        )
    return path


def find_soundfont(explicit: str | Path | None = None) -> Path:
    """``explicit``, else $OVERWORLD_SOUNDFONT, else the usual system places, else one shipped by an
    installed Python package (pretty_midi's TimGM6mb.sf2). A clear error says how to get one; a file
    given that is no SoundFont is refused (:func:`check_soundfont`)."""
    if explicit is not None:
        if not Path(explicit).exists():
            raise OverworldError(f"SoundFont {explicit} does not exist")
        return check_soundfont(explicit)
    env = os.environ.get("OVERWORLD_SOUNDFONT")
    if env and Path(env).exists():
        return check_soundfont(env, "$OVERWORLD_SOUNDFONT")
    candidates = [Path(env)] if env else []
    candidates += [Path(p) for p in SOUNDFONT_PLACES]
    try:
        import importlib.util

        spec = importlib.util.find_spec("pretty_midi")
        if spec and spec.origin:
            candidates.append(Path(spec.origin).parent / "TimGM6mb.sf2")
    except (ImportError, ValueError):
        pass
    for path in candidates:
        if path.is_file():
            return path
    raise OverworldError(
        "no SoundFont found; install one (`sudo apt-get install fluid-soundfont-gm`), pass --soundfont FILE.sf2, "
        "set OVERWORLD_SOUNDFONT, or use --synth chiptune, which needs none"
    )


def synthesize(score: Any, sample_rate: int = 44100, soundfont: str | Path | None = None) -> np.ndarray:
    """Stereo float32 audio ``(samples, 2)`` of a Score, rendered by FluidSynth."""
    import soundfile

    from overworld.midi import write_score

    sf2 = find_soundfont(soundfont)
    binary = shutil.which("fluidsynth")
    if binary is None:
        raise OverworldError(
            "the fluidsynth program is missing; `sudo apt-get install fluidsynth`, or use --synth chiptune"
        )
    with tempfile.TemporaryDirectory() as tmp:
        mid, wav = Path(tmp) / "in.mid", Path(tmp) / "out.wav"
        write_score(score, mid)
        done = subprocess.run(
            [
                binary,
                "-ni",
                "-q",
                "-g",
                "0.6",
                "-r",
                str(sample_rate),
                "-F",
                str(wav),
                "-T",
                "wav",
                str(sf2),
                str(mid),
            ],
            capture_output=True,
            text=True,
            timeout=1800,
        )
        if done.returncode != 0 or not wav.exists():
            raise OverworldError(
                f"fluidsynth failed: {(done.stderr or done.stdout).strip().splitlines()[-1:]}"
            )
        audio, _ = soundfile.read(str(wav), dtype="float32", always_2d=True)
    return audio
