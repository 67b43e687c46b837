"""``overworld studio``: compose, listen, regenerate bars and download in the browser (a local web app)."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "studio", help="a local web app: compose, listen, regenerate bars, download",
        description="Serve the studio at http://HOST:PORT/: every control of compose and generate (a primer "
        "upload too), the mix in a player and a piano roll whose bars can be selected and regenerated, the "
        "takes of the session, and a zip of each (MIDI, mix, stems, piece.json). Needs the studio extra: "
        "pip install 'overworld[studio]'.",
    )  # fmt: skip
    p.add_argument("--model", default="default",
                   help="model or run folder, 'default' (the bundled model) or a Hugging Face Hub id user/name; "
                   "compose and regenerating bars need a bar-token model (default: default)")  # fmt: skip
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on; 0.0.0.0 opens it to the network (default: 127.0.0.1)")  # fmt: skip
    p.add_argument("--port", type=int, default=7860, help="port to listen on (default: 7860)")
    p.add_argument("--workdir", help="folder for the takes (default: a new temporary folder)")
    p.add_argument("--sample-rate", type=int, default=44100, help="audio sample rate in Hz (default: 44100)")
    p.add_argument("--device", default="auto", help="cpu, cuda or auto (default: auto)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import importlib.util
    import tempfile

    from overworld.errors import ConfigError

    missing = [m for m in ("fastapi", "uvicorn", "python_multipart") if importlib.util.find_spec(m) is None]
    if missing:
        raise ConfigError(f"the studio needs {', '.join(missing)}: pip install 'overworld[studio]'")
    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port must be between 0 and 65535, not {args.port}")
    if not 8000 <= args.sample_rate <= 192000:
        raise ConfigError(f"--sample-rate must be between 8000 and 192000 Hz, not {args.sample_rate}")

    import uvicorn

    from overworld.devices import pick_device
    from overworld.models.storage import load_model
    from overworld.studio.app import create_app
    from overworld.studio.session import Studio

    model = load_model(args.model, device=pick_device(args.device))
    workdir = args.workdir or tempfile.mkdtemp(prefix="overworld-studio-")
    studio = Studio(model, workdir, model_name=str(args.model), sample_rate=args.sample_rate)
    print(f"overworld studio: http://{args.host}:{args.port}/  (takes in {workdir}; Ctrl-C stops it)")
    uvicorn.run(create_app(studio), host=args.host, port=args.port, log_level="warning")
    return 0
