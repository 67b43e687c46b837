"""scripts/reliability.py --quick: every section runs and reports no crash, hang, loss, difference, escape,
traceback or silent acceptance (issue 15's counts, a few of each), and issues 25 and 26's sections no
error after work, none that fails to name its path or value, and nothing partial left."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "reliability.py"
SECTIONS = [
    "MIDI parser",
    "prepare",
    "training kills",
    "archives",
    "bad inputs",
    "checks before work",
    "seeds",
    "plot sizes",
    "prepare overwrite",
    "refusals",
    "full disk",
    "size caps",
]


@pytest.mark.slow
def test_the_quick_reliability_run_finds_nothing_wrong(tmp_path):
    results = tmp_path / "reliability.json"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--json", str(results)],
        cwd=tmp_path,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert results.exists(), done.stdout + done.stderr
    sections = json.loads(results.read_text())
    assert [s["name"] for s in sections] == SECTIONS
    for s in sections:
        mounted = s["name"] != "full disk" or os.geteuid() == 0  # a tmpfs is mounted as root only
        assert s["count"] > 0 or not mounted, s
        assert s["failures"] == 0, f"{s['name']}: {s['examples']}"
    by_name = {s["name"]: s["tally"] for s in sections}
    assert by_name["prepare"]["good files kept"] > 0
    assert by_name["training kills"]["equal"] == 1  # killed, resumed, and bitwise the uninterrupted run
    assert by_name["archives"]["refused"] >= 20
    assert (
        by_name["seeds"]["one-line errors before work"] >= 1 and by_name["seeds"]["controls succeeded"] == 1
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "| tried | count |" in done.stdout  # the final table
