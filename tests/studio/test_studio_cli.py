"""``overworld studio``: its flags in --help, one line naming the extra when FastAPI is missing."""

from __future__ import annotations

import importlib.util
import socket

import pytest

from overworld.cli import main


def test_help_names_every_flag(capsys):
    with pytest.raises(SystemExit):
        main(["studio", "--help"])
    text = capsys.readouterr().out
    assert all(flag in text for flag in ("--model", "--host", "--port", "127.0.0.1", "7860"))


def test_without_the_extra_it_says_what_to_install(monkeypatch, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "fastapi" else real(name, *a)
    )
    assert main(["studio"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "overworld studio: error: the studio needs fastapi: pip install 'overworld[studio]'"


@pytest.fixture
def no_model(monkeypatch):
    """load_model fails the test if it is called."""
    import overworld.models.storage as storage

    def load_model(*args, **kwargs):
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(storage, "load_model", load_model)


def test_a_busy_port_is_one_line_before_the_model_loads(no_model, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["studio", "--port", str(port)]) == 2
    out, err = capsys.readouterr()
    assert out == ""  # no banner
    assert err.strip() == (
        f"overworld studio: error: --port {port}: cannot listen on 127.0.0.1:{port}: it is in use; "
        "choose another --port, or stop what uses it"
    )


@pytest.fixture
def served(monkeypatch, bar_model):
    """``overworld studio`` with the tiny model, the server returning at once: what it served."""
    import uvicorn

    import overworld.models.storage as storage

    seen = []
    monkeypatch.setattr(storage, "load_model", lambda *a, **k: bar_model)

    def run(self, sockets=None):
        studio = self.config.app.state.studio
        (studio.workdir / "made-while-serving.txt").write_text("a take")
        seen.append((studio.workdir, sockets[0].getsockname()[1]))

    monkeypatch.setattr(uvicorn.Server, "run", run)
    monkeypatch.setattr(
        uvicorn, "run", lambda *a, **k: pytest.fail("uvicorn.run instead of the bound socket")
    )
    return seen


def test_a_temporary_work_folder_is_removed_when_it_stops(served, capsys):
    assert main(["studio", "--port", "0"]) == 0
    ((workdir, port),) = served
    banner = capsys.readouterr().out
    assert f"http://127.0.0.1:{port}/" in banner and port != 0 and "removed when it stops" in banner
    assert not workdir.exists()


def test_a_work_folder_given_is_kept(served, tmp_path):
    assert main(["studio", "--port", "0", "--work", str(tmp_path / "mine")]) == 0
    assert served[0][0] == tmp_path / "mine" and (tmp_path / "mine" / "made-while-serving.txt").exists()
