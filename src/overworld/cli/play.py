"""``overworld play``: endless music composed while it plays, to the sound card, a MIDI port or a file;
its intensity changes while it plays (a number and Enter on stdin, ``+``/``-`` to step, ``q`` to stop)."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator

PACES = ("realtime", "fast")


def add_parser(sub: argparse._SubParsersAction) -> None:
    from overworld.generation.surface import add_arguments
    from overworld.live.bar import LiveConfig
    from overworld.render import SYNTHS

    p = sub.add_parser(
        "play", help="endless music composed as it plays, its intensity changed while it plays",
        description="Compose bars ahead of playback and play them: to the sound card (needs "
        "`pip install -e '.[live]'` and PortAudio), to a MIDI port (--midi-out), or into a file "
        "(--out FILE.wav or FILE.mid). While it plays, type an intensity 0-1 and Enter (0.8), + or - to "
        "step it by 0.1, q to stop. Bars are composed ahead at the full arrangement and the intensity picks "
        "their layers as each bar is played, so a change is heard from the next bar; if composing falls "
        "behind, the last bars loop until it catches up (counted in the summary as fallback bars).",
    )  # fmt: skip
    p.add_argument(
        "--model", default="default", help="a bar-token model directory (default: the bundled model)"
    )
    p.add_argument("--seed", type=int, help="random seed (default: random)")
    add_arguments(p, LiveConfig)  # --bpm, --time-signature, --key, --intensity, --instruments, --ahead
    p.add_argument(
        "--minutes", type=float, help="stop after this many minutes of music (default: until q or Ctrl-C)"
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--out", metavar="FILE", help="record into FILE.wav (audio) or FILE.mid instead of playing"
    )
    where.add_argument(
        "--midi-out", metavar="PORT", help="send MIDI to the output port of that name (needs python-rtmidi)"
    )
    p.add_argument("--pace", choices=PACES, default="realtime",
                   help="with --out: realtime (bar by bar on the clock, as it would play) or fast (as fast as the "
                   "model composes; needs --minutes) (default: realtime)")  # fmt: skip
    p.add_argument("--synth", choices=SYNTHS, default="chiptune", help="audio synth (default: chiptune)")
    p.add_argument("--soundfont", default="", metavar="SF2", help="--synth soundfont: the SoundFont")
    p.add_argument("--sample-rate", type=int, default=44100, help="audio sample rate in Hz (default: 44100)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto (default: cpu)")
    p.set_defaults(func=run)


def _check(args: argparse.Namespace) -> tuple[object, object]:
    """The stream's config and a function that opens the sink, every setting checked (no model yet)."""
    from overworld.errors import ConfigError
    from overworld.generation.surface import from_args
    from overworld.live import LiveConfig
    from overworld.live import sinks as S

    config = LiveConfig(**from_args(LiveConfig, args))
    if args.minutes is not None and not 0 < args.minutes <= 24 * 60:
        raise ConfigError(f"--minutes must be above 0 and at most a day (1440), not {args.minutes:g}")
    if args.pace == "fast" and (not args.out or args.minutes is None):
        raise ConfigError("--pace fast records into --out FILE and needs --minutes")
    if not 8000 <= args.sample_rate <= 192000:
        raise ConfigError(f"--sample-rate must be between 8000 and 192000 Hz, not {args.sample_rate}")
    if args.out:
        out = S.raise_if_bad_out(args.out)
        if out.suffix.lower() == ".mid":
            return config, lambda: S.MidiFileSink(out)
        return config, lambda: S.WavSink(out, S.BarAudio(args.synth, args.sample_rate, args.soundfont))
    if args.midi_out:
        port = S.check_midi_port(args.midi_out)
        return config, lambda: S.MidiPortSink(port)
    S.check_sound_card()
    return config, lambda: S.SoundCardSink(S.BarAudio(args.synth, args.sample_rate, args.soundfont))


def read_controls(stream: object, controls: object, stop: object, say: object) -> None:
    """Read stdin: a number and Enter sets the intensity, ``+``/``-`` step it by 0.1, ``q`` stops."""
    import sys

    from overworld.errors import ConfigError

    line = ""
    while not stop.is_set():
        try:
            char = sys.stdin.read(1)
        except (OSError, ValueError):  # no stdin to read
            return
        if not char:
            return  # stdin closed: play on
        if char in "+-" and not line.strip():
            step = 0.1 if char == "+" else -0.1
            char, line = "\n", f"{min(1.0, max(0.0, round(stream.intensity + step, 2)))}"
        if char.lower() == "q" and not line.strip():
            stop.set()
            return
        if char not in "\r\n":
            line += char
            continue
        text, line = line.strip(), ""
        try:
            if text:
                controls.set_intensity(float(text))
                say(f"intensity {float(text):g} from the next bar")
        except (ValueError, ConfigError):
            say(f"intensity must be a number from 0 (calm) to 1 (intense), not {text!r}")


def run(args: argparse.Namespace) -> int:
    import secrets
    import sys
    import threading

    from overworld.devices import pick_device
    from overworld.live import LiveMusic
    from overworld.live.player import Controls, play
    from overworld.models.storage import load_model

    config, open_sink = _check(args)  # bad settings are one line, before the model loads
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)

    def say(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    model = load_model(args.model, device=pick_device(args.device))
    stop = threading.Event()
    with LiveMusic(model, config, seed=seed) as stream:
        stream.wait_ready(config.ahead)
        say(f"playing seed {seed} in {stream.key} at {config.bpm:g} bpm ({config.time_signature}); type 0-1 and Enter "
            "to change the intensity, + or - to step it, q to stop")  # fmt: skip
        controls = Controls(stream)
        realtime = bool(args.out) and args.pace == "realtime"
        with _keys_at_once():
            threading.Thread(target=read_controls, args=(stream, controls, stop, say), daemon=True).start()
            report = play(stream, open_sink(), minutes=args.minutes, realtime=realtime, stop=stop,
                          controls=controls, live=not args.out)  # fmt: skip
    say(summary(report, config.bar_seconds) + (f"; wrote {args.out}" if args.out else ""))
    return 0


@contextlib.contextmanager
def _keys_at_once() -> Iterator[None]:
    """On a terminal, keys reach :func:`read_controls` as they are typed (+, - and q need no Enter)."""
    import sys

    try:
        import termios
        import tty

        fd = sys.stdin.fileno()
        saved = termios.tcgetattr(fd) if sys.stdin.isatty() else None
    except (ImportError, OSError, ValueError):
        saved = None
    if saved is None:
        yield
        return
    tty.setcbreak(fd)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def summary(report: object, bar_seconds: float) -> str:
    """One line: bars played, bars composed ahead at the bar lines, late and fallback bars, changes."""
    low, median = report.ahead_summary()
    line = (f"played {report.bars} bars ({report.bars * bar_seconds / 60:.1f} min); composed ahead at each bar "
            f"line: min {low}, median {median:g} bars; {report.late} late, {report.fallbacks} fallback")  # fmt: skip
    heard = [c.latency for c in report.changes if c.latency is not None]
    if heard:
        on_time, counted = report.on_time()
        line += (f"; intensity changes heard at the next bar line {on_time} of {counted}, "
                 f"after {min(heard):.2f}-{max(heard):.2f} s")  # fmt: skip
    return line
