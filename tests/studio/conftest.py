"""A tiny bar-token model saved to disk, as ``overworld studio --model DIR`` loads one, and a studio
server on a free port of 127.0.0.1 (uvicorn in a thread) for the API and browser tests, with the session
token its page carries."""

from __future__ import annotations

import contextlib
import re
import threading
import time
import types
import urllib.request
from pathlib import Path

import pytest
import torch

from overworld.config import ModelConfig, SampleConfig

pytest.importorskip("fastapi", reason="the studio extra: pip install 'overworld[studio]'")

SR = 8000  # a low sample rate keeps the renders quick


@pytest.fixture(scope="session")
def bar_model_dir(tmp_path_factory) -> Path:
    from overworld.models import build_model, save_model
    from overworld.tokenizers.bars import BarTokenizer
    from overworld.tokenizers.bars import Layout as L

    torch.manual_seed(0)
    config = ModelConfig(
        vocab_size=L.SIZE,
        embedding_size=32,
        sequence_length=256,
        num_blocks=2,
        num_heads=2,
        feed_forward_dim=64,
        dropout=0.0,
    )
    sampling = SampleConfig(max_polyphony=4, max_instruments=(2, 3))  # a random model's parts stay small
    return save_model(
        tmp_path_factory.mktemp("bar-model"),
        build_model(config).eval(),
        BarTokenizer(),
        card={"data": "none: random weights for tests"},
        sampling=sampling,
    )


@pytest.fixture(scope="session")
def bar_model(bar_model_dir):
    from overworld.models import load_model

    return load_model(bar_model_dir)


def page_token(url: str) -> str:
    """The session token in the studio page's meta tag (what studio.js sends with every POST)."""
    with urllib.request.urlopen(url + "/", timeout=30) as response:
        page = response.read().decode()
    return re.search(r'<meta name="overworld-token" content="([^"]+)">', page)[1]


@contextlib.contextmanager
def serving(studio):
    """``studio`` served on a free port of 127.0.0.1, as ``overworld studio`` serves it."""
    import uvicorn

    from overworld.cli.studio import listening_socket
    from overworld.studio.app import create_app

    sock = listening_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    app_server = uvicorn.Server(
        uvicorn.Config(create_app(studio, host="127.0.0.1", port=port), log_level="warning")
    )
    thread = threading.Thread(target=app_server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not app_server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the studio did not start"
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    try:
        yield types.SimpleNamespace(url=url, port=port, studio=studio, token=page_token(url))
    finally:
        app_server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture(scope="module")
def server(bar_model, tmp_path_factory):
    """``server.url`` serves a studio over the tiny model; ``server.studio`` is its session,
    ``server.token`` its page's token."""
    from overworld.studio.session import Studio

    studio = Studio(bar_model, tmp_path_factory.mktemp("takes"), model_name="tiny", sample_rate=SR)
    with serving(studio) as served:
        yield served
