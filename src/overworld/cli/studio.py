"""``overworld studio``: compose, listen, regenerate bars and download in the browser (a local web app)."""

from __future__ import annotations

import argparse
import contextlib
import errno
import socket
from collections.abc import Iterator
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "studio",
        help="a local web app: compose, listen, regenerate bars, download",
        description="Serve the studio at http://HOST:PORT/: every control of compose and generate (a primer "
        "upload too), the mix in a player and a piano roll whose bars can be selected and regenerated, the "
        "takes of the session, and a zip of each (MIDI, mix, stems, piece.json). It answers only requests "
        "for its own address (127.0.0.1, localhost, [::1], --host, --allow-host) and changes only on requests "
        "from its own page. Needs the studio extra: pip install 'overworld[studio]'.",
    )
    p.add_argument(
        "--model",
        default="default",
        help="model or run folder, 'default' (the bundled model) or a Hugging Face Hub id user/name; "
        "compose and regenerating bars need a bar-token model (default: default)",
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on; 0.0.0.0 opens it to the network, with --allow-host for the name "
        "it is opened by (default: 127.0.0.1)",
    )
    p.add_argument(
        "--port", type=int, default=7860, help="port to listen on; 0 picks a free one (default: 7860)"
    )
    p.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="another name or address the studio is opened by (a machine's name on the network); "
        "repeat for several (default: only 127.0.0.1, localhost, [::1] and --host)",
    )
    p.add_argument(
        "--workdir",
        "--work",
        metavar="DIR",
        help="work folder: the takes are kept there, and a studio started again with the same folder "
        "shows them (default: a temporary folder, removed when the studio stops)",
    )
    p.add_argument("--sample-rate", type=int, default=44100, help="audio sample rate in Hz (default: 44100)")
    p.add_argument("--device", default="auto", help="cpu, cuda or auto (default: auto)")
    p.set_defaults(func=run)


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host``:``port`` (the server listens on it), or a one-line ConfigError naming
    the port when it is taken: checked before the model loads."""
    from overworld.errors import ConfigError

    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (socket.gaierror, UnicodeError) as exc:
        raise ConfigError(f"--host {host}: not an address to listen on ({exc})") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        reason = (
            "it is in use; choose another --port, or stop what uses it"
            if exc.errno == errno.EADDRINUSE
            else exc.strerror
        )
        raise ConfigError(f"--port {port}: cannot listen on {host}:{port}: {reason}") from None
    return sock


@contextlib.contextmanager
def work_folder(workdir: str | None) -> Iterator[Path]:
    """``workdir`` (created when missing, kept), else a temporary folder removed when the block ends."""
    import shutil
    import tempfile

    if workdir:
        Path(workdir).mkdir(parents=True, exist_ok=True)
        yield Path(workdir)
        return
    folder = Path(tempfile.mkdtemp(prefix="overworld-studio-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _check(args: argparse.Namespace) -> None:
    import importlib.util

    from overworld.errors import ConfigError

    missing = [m for m in ("fastapi", "uvicorn", "python_multipart") if importlib.util.find_spec(m) is None]
    if missing:
        raise ConfigError(f"the studio needs {', '.join(missing)}: pip install 'overworld[studio]'")
    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port must be between 0 and 65535, not {args.port}")
    if not 8000 <= args.sample_rate <= 192000:
        raise ConfigError(f"--sample-rate must be between 8000 and 192000 Hz, not {args.sample_rate}")
    if args.workdir and Path(args.workdir).exists() and not Path(args.workdir).is_dir():
        raise ConfigError(f"--workdir {args.workdir}: not a folder")


def run(args: argparse.Namespace) -> int:
    _check(args)
    sock = listening_socket(args.host, args.port)  # before the model: a busy port is one line at once
    with contextlib.closing(sock), work_folder(args.workdir) as workdir:
        import uvicorn

        from overworld.devices import pick_device
        from overworld.models.storage import load_model
        from overworld.studio.app import create_app
        from overworld.studio.session import Studio

        model = load_model(args.model, device=pick_device(args.device))
        port = sock.getsockname()[1]
        studio = Studio(model, workdir, model_name=str(args.model), sample_rate=args.sample_rate)
        app = create_app(studio, host=args.host, port=port, allow_hosts=tuple(args.allow_host))
        shown = f"[{args.host}]" if ":" in args.host else args.host
        kept = "" if args.workdir else ", removed when it stops"
        print(
            f"overworld studio: http://{shown}:{port}/  (takes in {workdir}{kept}; Ctrl-C stops it)",
            flush=True,
        )
        uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])
    return 0
