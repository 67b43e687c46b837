"""install.sh's PyTorch step against a fake package index on 127.0.0.1: offline, a few seconds.

The fake "default" index (PyPI's role) serves ``torch 2.13.0`` that depends on ``nvidia-cublas-cu12``, as
PyPI's Linux build does; the fake "CPU" index (download.pytorch.org/whl/cpu's role) serves
``torch 2.13.0+cpu`` with no dependencies. install.sh runs with OVERWORLD_PIP_DRY_RUN, which makes its exact
pip command a ``--dry-run --report``; the report says what a machine without torch would get.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
import zipfile
from functools import partial
from pathlib import Path
from urllib.parse import quote

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ("dirname", "id", "mktemp", "rm")  # what install.sh's PyTorch step runs besides bash and Python


def _wheel(folder: Path, name: str, version: str, requires: tuple[str, ...] = ()) -> Path:
    """A minimal valid wheel: one module, METADATA (with Requires-Dist), WHEEL and RECORD."""
    dist = f"{name.replace('-', '_')}-{version}"
    files = {
        f"{name.replace('-', '_')}/__init__.py": b"",
        f"{dist}.dist-info/METADATA": "".join(
            [f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"]
            + [f"Requires-Dist: {r}\n" for r in requires]
        ).encode(),
        f"{dist}.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = [
        f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},{len(data)}"
        for path, data in files.items()
    ]
    files[f"{dist}.dist-info/RECORD"] = ("\n".join([*record, f"{dist}.dist-info/RECORD,,"]) + "\n").encode()
    path = folder / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as z:
        for member, data in files.items():
            z.writestr(member, data)
    return path


def _index(root: Path, name: str, wheels: dict[str, list[Path]]) -> str:
    """A PEP 503 simple index ``root/name/simple/<project>/`` linking ``wheels``; returns its path."""
    for project, paths in wheels.items():
        page = root / name / "simple" / project
        page.mkdir(parents=True)
        links = []
        for wheel in paths:
            target = root / name / "files" / wheel.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(wheel, target)
            digest = hashlib.sha256(target.read_bytes()).hexdigest()
            links.append(f'<a href="../../files/{quote(wheel.name)}#sha256={digest}">{wheel.name}</a>')
        page.joinpath("index.html").write_text(
            "<!DOCTYPE html><html><body>" + "".join(links) + "</body></html>"
        )
    return f"/{name}/simple"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def indexes(tmp_path_factory):
    """``{"default": URL, "cpu": URL, "local-cpu": URL, "missing": URL}`` served on 127.0.0.1."""
    tmp = tmp_path_factory.mktemp("index")
    wheels = tmp / "wheels"
    wheels.mkdir()
    cuda_torch = _wheel(wheels, "torch", "2.13.0", ("nvidia-cublas-cu12==12.8.4.1",))
    cublas = _wheel(wheels, "nvidia-cublas-cu12", "12.8.4.1")
    cpu_torch = _wheel(wheels, "torch", "2.13.0+cpu")
    root = tmp / "www"
    paths = {
        "default": _index(root, "default", {"torch": [cuda_torch], "nvidia-cublas-cu12": [cublas]}),
        "cpu": _index(root, "cpu", {"torch": [cpu_torch]}),
        "local-cpu": _index(root, "local-cpu", {"torch": [cpu_torch]}),  # a pip configured with a local copy
        "missing": "/missing/simple",  # a CPU index that does not answer with torch
    }
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    yield {name: base + path for name, path in paths.items()}
    server.shutdown()


def _install_sh(tmp: Path, *, default: str, cpu: str, nvidia_smi: bool = False, **env: str):
    """Run install.sh's PyTorch step as a dry run on a machine whose pip has no configuration of its own,
    with nothing on PATH but the tools it needs (and a fake nvidia-smi if asked). Returns the process and
    the names and versions in pip's report (None when no report was written)."""
    bin_dir = tmp / "bin"
    bin_dir.mkdir(parents=True)
    for tool in TOOLS:
        (bin_dir / tool).symlink_to(shutil.which(tool))
    if nvidia_smi:
        (bin_dir / "nvidia-smi").write_text("#!/bin/sh\necho 'GPU 0: NVIDIA H200'\n")
        (bin_dir / "nvidia-smi").chmod(0o755)
    report = tmp / "report.json"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}  # no find-links, no mirrors
    clean.update(
        PATH=str(bin_dir),
        PYTHON=sys.executable,
        PIP_CONFIG_FILE=os.devnull,
        PIP_NO_CACHE_DIR="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_INDEX_URL=default,
        TORCH_INDEX=cpu,
        OVERWORLD_PIP_DRY_RUN=str(report),
        HOME=str(tmp),
        **env,
    )
    done = subprocess.run(
        [shutil.which("bash"), str(ROOT / "install.sh")],
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if not report.exists():
        return done, None
    installs = json.loads(report.read_text())["install"]
    return done, {i["metadata"]["name"]: i["metadata"]["version"] for i in installs}


def _no_nvidia_driver() -> None:
    if Path("/proc/driver/nvidia/version").exists():
        pytest.skip("this machine has an NVIDIA driver: install.sh rightly detects a GPU")


def test_no_gpu_installs_the_cpu_build_and_no_cuda_wheels(indexes, tmp_path):
    _no_nvidia_driver()
    done, got = _install_sh(tmp_path, default=indexes["default"], cpu=indexes["cpu"])
    assert done.returncode == 0, done.stderr
    assert got == {"torch": "2.13.0+cpu"}  # from the CPU index: no nvidia-* package at all


def test_an_nvidia_gpu_gets_the_cuda_build(indexes, tmp_path):
    done, got = _install_sh(tmp_path, default=indexes["default"], cpu=indexes["cpu"], nvidia_smi=True)
    assert done.returncode == 0, done.stderr
    assert got == {"torch": "2.13.0", "nvidia-cublas-cu12": "12.8.4.1"}


def test_overworld_torch_cpu_wins_over_a_gpu(indexes, tmp_path):
    done, got = _install_sh(
        tmp_path, default=indexes["default"], cpu=indexes["cpu"], nvidia_smi=True, OVERWORLD_TORCH="cpu"
    )
    assert done.returncode == 0, done.stderr
    assert got == {"torch": "2.13.0+cpu"}


def test_without_the_cpu_index_a_local_cpu_copy_is_used_but_never_cuda_wheels(indexes, tmp_path):
    _no_nvidia_driver()
    # the CPU index does not answer and pip's own index has PyPI's CUDA build: refuse, in one line
    done, got = _install_sh(
        tmp_path / "a", default=indexes["default"], cpu=indexes["missing"], OVERWORLD_TORCH="auto"
    )
    assert done.returncode != 0 and got is None
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("install.sh: error:") and "nvidia-cublas-cu12" in last and "TORCH_INDEX" in last
    # pip's own index is a local copy of the CPU build: that is what it installs
    done, got = _install_sh(tmp_path / "b", default=indexes["local-cpu"], cpu=indexes["missing"])
    assert done.returncode == 0, done.stderr
    assert got == {"torch": "2.13.0+cpu"}


def test_the_readmes_linux_cpu_command_pulls_no_cuda_wheels(indexes, tmp_path):
    # `pip install . --extra-index-url https://download.pytorch.org/whl/cpu`: pyproject's torch>=2.2 from
    # both indexes; the +cpu build outranks the default index's build of the same version
    report = tmp_path / "report.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_CACHE_DIR="1", HOME=str(tmp_path))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--dry-run",
            "--ignore-installed",
            "--report",
            str(report),
            "torch>=2.2",
            "--index-url",
            indexes["default"],
            "--extra-index-url",
            indexes["cpu"],
        ],
        env=env,
        check=True,
        timeout=120,
    )
    installs = json.loads(report.read_text())["install"]
    assert {i["metadata"]["name"]: i["metadata"]["version"] for i in installs} == {"torch": "2.13.0+cpu"}
