"""``overworld studio``: its flags in --help, one line naming the extra when FastAPI is missing."""

from __future__ import annotations

import importlib.util

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
