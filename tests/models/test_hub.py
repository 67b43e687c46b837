"""Models on the Hugging Face Hub, without the internet: a cache laid out as huggingface_hub lays it out,
read in offline mode, and a push to (and pull from) a stand-in Hub on 127.0.0.1 that speaks the few
endpoints ``create_repo``, ``create_commit`` and ``snapshot_download`` call."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest
import torch
import yaml

from overworld.cli import main
from overworld.config import ModelConfig
from overworld.errors import DataError
from overworld.models import hub, publish
from overworld.models.build import build_model
from overworld.models.storage import load_model, save_model

TOKEN = "hf_stand_in_write_token"


# ---- the stand-in Hub --------------------------------------------------------------------------------


class StandInHub(ThreadingHTTPServer):
    """Repos in memory: ``repos[repo_id] = {"private": bool, "sha": commit, "files": {path: bytes}}``."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.repos: dict[str, dict[str, Any]] = {}
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: StandInHub

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body if body is not None else {}).encode()
        self.send_response(status)
        for key, value in {"Content-Type": "application/json", **(headers or {})}.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _authorised(self) -> bool:
        if self.headers.get("authorization") == f"Bearer {TOKEN}":
            return True
        self._send(401, {"error": "Invalid credentials in Authorization header"},
                   {"X-Error-Message": "Invalid credentials in Authorization header"})  # fmt: skip
        return False

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def _repo(self, repo_id: str) -> dict[str, Any] | None:
        repo = self.server.repos.get(repo_id)
        if repo is None:
            self._send(404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
        return repo

    def do_POST(self) -> None:
        path = unquote(urlparse(self.path).path)
        if not self._authorised():
            return
        body = self._body()
        if path == "/api/repos/create":
            payload = json.loads(body)
            repo_id = f"{payload['organization']}/{payload['name']}"
            if repo_id in self.server.repos:
                return self._send(409, {"error": "You already created this model repo"})
            private = payload.get("visibility") == "private" or bool(payload.get("private"))
            self.server.repos[repo_id] = {"private": private, "sha": "0" * 40, "files": {}}
            return self._send(200, {"url": f"{self.server.url}/{repo_id}"})
        if path == "/api/validate-yaml":  # the Hub's check of a card's metadata: it must be a YAML mapping
            content = json.loads(body)["content"]
            meta = yaml.safe_load(content.split("---")[1]) if content.startswith("---") else None
            return self._send(200 if isinstance(meta, dict) else 400, {"errors": [], "warnings": []})
        _api, _kind, user, name, action, *_ = [*path.strip("/").split("/"), "", ""][:6]
        repo = self._repo(f"{user}/{name}")
        if repo is None:
            return None
        if action == "preupload":  # everything goes up inline ("regular"), base64 in the commit
            files = json.loads(body)["files"]
            return self._send(200, {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                                              for f in files]})  # fmt: skip
        if action == "commit":
            for line in body.splitlines():
                item = json.loads(line)
                if item["key"] == "file":
                    repo["files"][item["value"]["path"]] = base64.b64decode(item["value"]["content"])
            repo["sha"] = hashlib.sha1(
                json.dumps(sorted(map(str, repo["files"].items()))).encode()
            ).hexdigest()
            return self._send(200, {"commitUrl": f"{self.server.url}/{user}/{name}/commit/{repo['sha']}",
                                    "commitOid": repo["sha"]})  # fmt: skip
        return self._send(404, {"error": f"no such endpoint {path}"})

    def do_GET(self) -> None:
        path = unquote(urlparse(self.path).path)
        parts = path.strip("/").split("/")
        if parts[0] == "api" and parts[1] == "models":  # /api/models/u/n/revision/R, /api/models/u/n/tree/R
            repo = self._repo(f"{parts[2]}/{parts[3]}")
            if repo is None:
                return None
            if parts[4] == "revision":
                siblings = [{"rfilename": p} for p in repo["files"]]
                return self._send(200, {"id": f"{parts[2]}/{parts[3]}", "sha": repo["sha"],
                                        "private": repo["private"], "siblings": siblings})  # fmt: skip
            return self._send(200, [{"type": "file", "path": p, "size": len(data), "oid": _git_oid(data)}
                                    for p, data in repo["files"].items()])  # fmt: skip
        if len(parts) >= 5 and parts[2] == "resolve":  # /u/n/resolve/R/FILE
            repo = self._repo(f"{parts[0]}/{parts[1]}")
            if repo is None:
                return None
            data = repo["files"].get("/".join(parts[4:]))
            if data is None:
                return self._send(404, {"error": "Entry not found"}, {"X-Error-Code": "EntryNotFound"})
            headers = {"X-Repo-Commit": repo["sha"], "ETag": f'"{_git_oid(data)}"',
                       "Content-Type": "application/octet-stream"}  # fmt: skip
            return self._send(200, data, headers)
        return self._send(404, {"error": f"no such endpoint {path}"})

    do_HEAD = do_GET


def _git_oid(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@pytest.fixture
def stand_in_hub():
    server = StandInHub()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


# ---- a tiny model and an empty cache -------------------------------------------------------------------


@pytest.fixture
def model_dir(tmp_path):
    """A run folder: ``model/`` (a tiny performance-token model saved by save_model) and training state."""
    from overworld.tokenizers import make_tokenizer

    tokenizer = make_tokenizer("performance")
    config = ModelConfig(vocab_size=tokenizer.vocab_size, embedding_size=16, sequence_length=16, num_blocks=1,
                         num_heads=2, feed_forward_dim=32, dropout=0.0)  # fmt: skip
    run = tmp_path / "run"
    save_model(run / "model", build_model(config, seed=5), tokenizer, {"data": "random weights", "steps": 0})
    (run / "latest").mkdir()
    (run / "latest" / "state.pt").write_bytes(b"optimizer state: never uploaded")
    return run


@pytest.fixture
def hf_home(tmp_path, monkeypatch):
    """An empty Hugging Face home in tmp: HF_HOME set, and huggingface_hub's constants (read at its import)
    pointed at it, online unless a test switches offline mode on."""
    from huggingface_hub import constants

    home = tmp_path / "hf_home"
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(home / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    return home


def _offline(monkeypatch) -> None:
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)


def _cache_by_hand(hub_cache: Path, repo_id: str, folder: Path, commit: str = "a" * 40) -> None:
    """Lay ``folder``'s files out as huggingface_hub's cache does: content-addressed blobs, a snapshot of
    links to them per commit, and a ref naming the commit of ``main``."""
    repo = hub_cache / ("models--" + repo_id.replace("/", "--"))
    (repo / "blobs").mkdir(parents=True)
    (repo / "snapshots" / commit).mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    for file in folder.iterdir():
        blob = repo / "blobs" / hashlib.sha256(file.read_bytes()).hexdigest()
        shutil.copyfile(file, blob)
        (repo / "snapshots" / commit / file.name).symlink_to(Path("..", "..", "blobs", blob.name))


def _same_weights(a: Any, b: Any) -> bool:
    sa, sb = a.model.state_dict(), b.model.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def _midi_bytes(pretrained: Any, out: Path) -> bytes:
    from overworld.generation.sampler import generate, write_midi

    pieces = generate(pretrained, seconds=2.0, seed=11, length=64)
    return write_midi(pieces, pretrained.tokenizer, out, seed=11)[0].read_bytes()


# ---- loading through the cache -------------------------------------------------------------------------


def test_offline_cache_loads_a_hub_model_with_identical_weights(model_dir, hf_home, monkeypatch, tmp_path):
    _cache_by_hand(hf_home / "hub", "someone/tiny-tunes", model_dir / "model")
    _offline(monkeypatch)
    monkeypatch.chdir(tmp_path)  # no local folder someone/tiny-tunes
    pulled = load_model("someone/tiny-tunes")
    assert _same_weights(pulled, load_model(model_dir))
    assert pulled.path.parent.name == "snapshots" or pulled.path.parent.parent.name == "snapshots"


def test_generate_model_accepts_a_hub_id(model_dir, hf_home, monkeypatch, tmp_path, capsys):
    _cache_by_hand(hf_home / "hub", "someone/tiny-tunes", model_dir / "model")
    _offline(monkeypatch)
    monkeypatch.chdir(tmp_path)
    args = ["generate", "--seconds", "1", "--seed", "3", "--num", "1", "--out"]
    assert main([*args, "hub", "--model", "someone/tiny-tunes"]) == 0
    assert main([*args, "local", "--model", str(model_dir)]) == 0
    assert (tmp_path / "hub" / "overworld-3-0.mid").read_bytes() == (
        tmp_path / "local/overworld-3-0.mid"
    ).read_bytes()


def test_a_local_folder_of_the_same_name_wins(model_dir, hf_home, monkeypatch, tmp_path):
    other = tmp_path / "other"
    save_model(other, build_model(load_model(model_dir).config, seed=99), load_model(model_dir).tokenizer)
    _cache_by_hand(hf_home / "hub", "someone/tiny-tunes", other)
    _offline(monkeypatch)
    monkeypatch.chdir(tmp_path)
    shutil.copytree(model_dir / "model", tmp_path / "someone" / "tiny-tunes")
    assert _same_weights(load_model("someone/tiny-tunes"), load_model(model_dir))


def test_an_uncached_model_offline_is_a_one_line_error(hf_home, monkeypatch, tmp_path, capsys):
    _offline(monkeypatch)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError, match=r"not in the Hugging Face cache.*HF_HUB_OFFLINE=1"):
        load_model("someone/not-cached")
    assert main(["generate", "--model", "someone/not-cached", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("overworld generate: error: no local folder someone/not-cached, and Hub model")
    assert "\n" not in err


@pytest.mark.parametrize("name", ["someone/bad name", "a/b/c", "someone/-dash", "x/y..z"])
def test_a_bad_id_is_a_one_line_error_without_a_network_call(name, hf_home, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    import huggingface_hub

    monkeypatch.setattr(
        huggingface_hub, "snapshot_download", lambda *a, **k: pytest.fail("the Hub was asked")
    )
    with pytest.raises(DataError, match="does not exist") as info:
        load_model(name)
    assert "\n" not in str(info.value)
    with pytest.raises(hub.HubError, match="not a Hugging Face repo id"):
        hub.download_model(name)


# ---- push and pull against the stand-in ---------------------------------------------------------------


def test_push_then_pull_gives_identical_weights_and_music(
    model_dir, hf_home, stand_in_hub, monkeypatch, tmp_path
):
    url = publish.push_model(model_dir, "someone/tiny-tunes", token=TOKEN, endpoint=stand_in_hub.url,
                         datasets=["someone/game-midi"])  # fmt: skip
    repo = stand_in_hub.repos["someone/tiny-tunes"]
    assert url.endswith(repo["sha"])
    # the model folder's files and the licence the card links; no training state
    assert sorted(repo["files"]) == [
        "LICENSE.md",
        "README.md",
        "config.json",
        "model.safetensors",
        "tokenizer.json",
    ]
    assert repo["files"]["model.safetensors"] == (model_dir / "model" / "model.safetensors").read_bytes()
    card = repo["files"]["README.md"].decode()
    meta = yaml.safe_load(card.split("---")[1])
    assert meta["library_name"] == "overworld"
    assert {"music-generation", "midi"} <= set(meta["tags"])
    assert (meta["license"], meta["license_link"]) == ("other", "LICENSE.md")
    assert meta["datasets"] == ["someone/game-midi"] and meta["data"] == "random weights"

    folder = hub.download_model("someone/tiny-tunes", endpoint=stand_in_hub.url)
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "config.json", "model.safetensors",
                                                        "tokenizer.json"]  # fmt: skip
    pulled, original = load_model(folder), load_model(model_dir)
    assert _same_weights(pulled, original)
    assert _midi_bytes(pulled, tmp_path / "pulled") == _midi_bytes(original, tmp_path / "original")
    # the pull is in the cache: offline, the name alone loads it
    _offline(monkeypatch)
    monkeypatch.chdir(tmp_path)
    assert _same_weights(load_model("someone/tiny-tunes"), original)


def test_push_verb_uploads_a_private_repo_and_errors_are_one_line(model_dir, hf_home, stand_in_hub,
                                                                  monkeypatch, capsys):  # fmt: skip
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "ENDPOINT", stand_in_hub.url)  # what HF_ENDPOINT sets
    assert main(["push", str(model_dir / "model"), "--repo", "someone/private-tunes", "--private",
                 "--token", TOKEN]) == 0  # fmt: skip
    assert stand_in_hub.repos["someone/private-tunes"]["private"] is True
    assert "someone/private-tunes" in capsys.readouterr().out

    assert main(["push", str(model_dir), "--repo", "someone/tiny-tunes", "--token", "wrong"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("overworld push: error: the Hugging Face Hub refused access to someone/tiny-tunes")
    assert "\n" not in err
    assert main(["push", str(model_dir / "latest"), "--repo", "someone/tiny-tunes", "--token", TOKEN]) == 2
    assert "not a model directory" in capsys.readouterr().err
