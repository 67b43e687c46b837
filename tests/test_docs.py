"""The docs' commands run as written, and the front door says what CI does.

A command block in docs/ is run by this test when the line before its fence is a marker comment:

    <!-- runnable -->                      run here
    <!-- runnable network -->              needs the network: run only with OVERWORLD_DOCS_NETWORK=1
    <!-- runnable needs:/a/path -->        run only where that path exists (a Debian package's files)

Each page's marked blocks run in order in one fresh temporary folder (a later block may use what an
earlier one wrote). A line ``overworld ...`` runs in this process through ``overworld.cli.main``, the
console script's own entry point (one torch import for every command instead of one each); any other
line runs in bash. Every command must exit 0 within its timeout.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
COMMAND_TIMEOUT_S = 120  # one command, on a CPU shared with other work
MARKER = re.compile(r"^<!--\s*runnable\b(?P<options>[^>]*?)\s*-->$", re.MULTILINE)  # on a line of its own
BLOCK = re.compile(
    r"<!--\s*runnable\b(?P<options>[^>]*?)\s*-->\n```(?:bash|sh)\n(?P<body>.*?)\n```", re.DOTALL
)


@dataclass(frozen=True)
class Block:
    page: str
    options: tuple[str, ...]
    commands: tuple[str, ...]

    def skip_reason(self) -> str | None:
        for option in self.options:
            if option == "network" and os.environ.get("OVERWORLD_DOCS_NETWORK") != "1":
                return f"{self.page}: needs the network (OVERWORLD_DOCS_NETWORK=1 runs it)"
            if option.startswith("needs:") and not Path(option.removeprefix("needs:")).exists():
                return f"{self.page}: needs {option.removeprefix('needs:')}"
        return None


def _commands(body: str) -> tuple[str, ...]:
    """The block's commands: backslash continuations joined, blank and comment lines dropped."""
    joined = re.sub(r"\s*\\\n\s*", " ", body)
    return tuple(
        line.strip() for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")
    )


def runnable_blocks(page: Path) -> list[Block]:
    text = page.read_text(encoding="utf-8")
    blocks = [
        Block(page.name, tuple(m["options"].split()), _commands(m["body"])) for m in BLOCK.finditer(text)
    ]
    markers = len(MARKER.findall(text))
    assert markers == len(blocks), f"{page.name}: a runnable marker is not right before a ```bash block"
    return blocks


PAGES = sorted(DOCS.rglob("*.md"))
RUNNABLE = {page.name: blocks for page in PAGES if (blocks := runnable_blocks(page))}


class _Timeout(BaseException):  # not an Exception: nothing in the library may swallow it
    pass


def _on_alarm(signum, frame):
    raise _Timeout


def _run_overworld(line: str) -> tuple[int, str]:
    import torch

    from overworld.cli import main

    argv = shlex.split(line, comments=True)[1:]
    threads = torch.get_num_threads()  # a verb may choose its own; the tests after this one keep theirs
    out = io.StringIO()
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(COMMAND_TIMEOUT_S)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            try:
                code = main(argv)
            except SystemExit as exc:  # --help, and argparse's own errors
                code = exc.code if isinstance(exc.code, int) else 1
    except _Timeout:
        code, out = -1, io.StringIO(f"timed out after {COMMAND_TIMEOUT_S} s\n" + out.getvalue())
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        torch.set_num_threads(threads)
    return code, out.getvalue()


def _run_shell(line: str) -> tuple[int, str]:
    try:
        done = subprocess.run(["bash", "-c", line], capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return -1, f"timed out after {COMMAND_TIMEOUT_S} s"
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize("page", sorted(RUNNABLE))
def test_runnable_commands_of_a_page_succeed(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    skipped = []
    for block in RUNNABLE[page]:
        if reason := block.skip_reason():
            skipped.append(reason)
            continue
        for line in block.commands:
            run = _run_overworld if line.split()[0] == "overworld" else _run_shell
            code, output = run(line)
            assert code == 0, f"{page}: `{line}` exited {code}:\n{output[-2000:]}"
    if len(skipped) == len(RUNNABLE[page]):
        pytest.skip("; ".join(skipped))


def test_the_guide_marks_commands_on_each_task_page():
    # a page that loses its runnable commands would otherwise pass unnoticed
    expected = {
        "install.md",
        "fetch-and-prepare.md",
        "train.md",
        "generate.md",
        "compose-for-games.md",
        "infill.md",
        "studio.md",
        "evaluate.md",
    }
    assert expected <= set(RUNNABLE)
    assert any("network" in block.options for blocks in RUNNABLE.values() for block in blocks)


def test_a_marker_must_sit_right_before_a_block(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("<!-- runnable -->\n\nSome prose.\n\n```bash\noverworld --help\n```\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="not right before"):
        runnable_blocks(page)
    page.write_text("<!-- runnable needs:/x -->\n```bash\noverworld a \\\n  --b c  # note\n# skip\n```\n")
    (block,) = runnable_blocks(page)
    assert block.commands == ("overworld a --b c  # note",) and block.skip_reason() == "page.md: needs /x"


def test_every_overworld_command_in_the_docs_parses():
    # the commands too slow or too big to run (train for 20 minutes, fetch Lakh) still name real verbs
    # and flags: a renamed flag fails here, in any page or the README
    from overworld.cli import build_parser

    parser = build_parser()
    lines = [
        line.strip()
        for page in [*PAGES, ROOT / "README.md"]
        for body in _fenced_bash(page.read_text(encoding="utf-8"))
        for line in re.sub(r"\s*\\\n\s*", " ", body).splitlines()
        if line.strip().startswith("overworld ")
    ]
    assert len(lines) > 40
    for line in lines:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
            try:
                parser.parse_args(shlex.split(line, comments=True)[1:])
            except SystemExit as exc:
                assert not exc.code, f"`{line}`: {err.getvalue().strip().splitlines()[-1]}"


def _fenced_bash(text: str) -> list[str]:
    return [m.strip() for m in re.findall(r"```bash\n(.*?)```", text, re.DOTALL)]


def test_the_readme_is_a_front_door_with_the_two_commands_ci_runs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) < 150
    two = ["./install.sh && overworld generate --wav", "./install.sh --test && python3 -m pytest -q"]
    assert _fenced_bash(readme)[:2] == two  # the first two commands a reader meets
    for page in ("index.md", "install.md"):
        assert _fenced_bash((DOCS / page).read_text(encoding="utf-8"))[:2] == two
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert two[1] in ci and "mkdocs build --strict" in ci
    for page in [*PAGES, ROOT / "README.md"]:  # extras come from a clone: pip install -e '.[studio]'
        assert "overworld[" not in page.read_text(encoding="utf-8"), page.name
    for target in re.findall(
        r"\]\(([^)#\s:]+)", readme
    ):  # GitHub's relative links, which mkdocs does not check
        assert (ROOT / target).exists(), target


def test_the_scripts_index_names_every_script_and_benchmark():
    index = (ROOT / "scripts" / "README.md").read_text(encoding="utf-8")
    scripts = [p for folder in ("scripts", "benchmarks") for p in sorted((ROOT / folder).iterdir())]
    missing = [p.name for p in scripts if p.suffix in {".py", ".sh"} and f"`{p.name}" not in index]
    assert not missing, f"scripts/README.md does not say what these are for: {missing}"
