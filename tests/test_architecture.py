"""The package's layers stay honest (STYLE.md rules 20 and 21): no import circle between modules, and no
module imports from a layer above its own. Read from the source with ``ast`` (no import-linter): every
``import overworld.x`` and ``from overworld.x import y``, at module level or inside a function (a lazy import
is still a dependency). Imports under ``if TYPE_CHECKING:`` are left out: they are type hints, never run.

The layer order lives in ``LAYERS`` below and, rendered by :func:`layers_table`, in docs/architecture.md;
a test keeps the two in step. Outside ``tokenizers/``, a module reaches a tokenizer only through its
interfaces (STYLE.md rule 21): the registry (``overworld.tokenizers``), ``Tokenizer`` (``base``), the
``Grammar`` protocol (``grammar``) and the declared bar abilities (``abilities``), never a tokenizer's own
modules, so a new tokenizer changes nothing outside its folder.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "overworld"
DOC = ROOT / "docs" / "architecture.md"

# Lowest first. A module may import from its own layer or a lower one, never a higher one. "overworld" is
# the root __init__: __version__ and the public names, loaded by string on first use (no import of its own).
LAYERS: list[tuple[str, ...]] = [
    ("overworld", "errors", "atomic", "preflight", "theory", "threads", "devices"),
    ("config",),
    ("midi",),
    ("datasets",),
    ("tokenizers",),
    ("data",),
    ("models",),
    ("generation",),
    ("evaluation",),
    ("training",),
    ("render",),
    ("export",),
    ("live", "studio"),
    ("cli", "__main__"),
]

# Known upward imports still to remove: (importer, imported) -> why. Each must still exist (a fixed one is
# taken off), and nothing else may go upward.
KNOWN_UPWARD: dict[tuple[str, str], str] = {}

# What a module outside tokenizers/ may import of it: the tokenizers' interfaces, not their implementations.
TOKENIZER_INTERFACES = {
    "overworld.tokenizers",
    "overworld.tokenizers.abilities",
    "overworld.tokenizers.base",
    "overworld.tokenizers.grammar",
}
# Known reaches into a tokenizer's own modules still to remove: (importer, imported) -> why.
KNOWN_REACHES: dict[tuple[str, str], str] = {
    ("overworld.generation.primers", "overworld.tokenizers.vocab"): "GM constants (DRUMS, N_PITCHES) read "
    "from the performance vocabulary, whose values midi.gm holds too; no bar or performance token is read",
}

# Known circles still to break, as the edges that close them: (importer, imported) -> why.
KNOWN_CIRCLES: dict[tuple[str, str], str] = {}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _owner(name: str, known: dict[str, Path]) -> str:
    """The module that ``name`` (a module, or a name inside one) lives in."""
    while name not in known:
        name = name.rpartition(".")[0]
    return name


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """The ids of the import nodes under ``if TYPE_CHECKING:``."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        test = getattr(node, "test", None)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(test):
            skipped.update(id(n) for child in node.body for n in ast.walk(child))
    return skipped


def imports_of(path: Path, known: dict[str, Path]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = _type_checking_nodes(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(_owner(a.name, known) for a in node.names if a.name.split(".")[0] == "overworld")
        elif (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and (node.module or "").split(".")[0] == "overworld"
        ):
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.add(full if full in known else _owner(node.module, known))
    return found


def import_graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(path, known) - {name} for name, path in known.items()}


def top_level(module: str) -> str:
    return module.split(".")[1] if "." in module else module


def layer_of(module: str) -> int:
    top = top_level(module)
    return next(i for i, layer in enumerate(LAYERS) if top in layer)


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as a path ``[a, b, ..., a]``, or None."""
    state: dict[str, int] = {}  # 1 on the path, 2 done
    for start in sorted(graph):
        if state.get(start):
            continue
        path, stack = [start], [iter(sorted(graph[start]))]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(graph.get(nxt, ()))))
    return None


def layers_table() -> str:
    """The layer order as docs/architecture.md shows it, highest first."""
    rows = ["| layer | imports only from its own row and those below |", "| --- | --- |"]
    for i in reversed(range(len(LAYERS))):
        rows.append(f"| {i} | {', '.join(f'`{name}`' for name in LAYERS[i])} |")
    return "\n".join(rows)


def test_every_top_level_module_has_a_layer():
    tops = {top_level(m) for m in modules()}
    placed = {name for layer in LAYERS for name in layer}
    assert tops - placed == set(), "give each new package or module a layer in LAYERS (and the docs table)"
    assert placed - tops == set(), "LAYERS names a package that no longer exists"


def test_no_import_circle():
    graph = import_graph()
    for importer, imported in KNOWN_CIRCLES:
        graph[importer].discard(imported)
    cycle = find_cycle(graph)
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


def test_no_upward_import():
    upward = sorted(
        f"{importer} (layer {layer_of(importer)}) imports {imported} (layer {layer_of(imported)})"
        for importer, deps in import_graph().items()
        for imported in deps
        if layer_of(imported) > layer_of(importer) and (importer, imported) not in KNOWN_UPWARD
    )
    assert upward == [], "upward imports:\n" + "\n".join(upward)


def test_known_exceptions_still_exist():
    graph = import_graph()
    stale = [edge for edge in {**KNOWN_UPWARD, **KNOWN_CIRCLES} if edge[1] not in graph.get(edge[0], set())]
    assert stale == [], f"fixed, so take them off the known exceptions: {stale}"


def reaches_into_tokenizers() -> list[tuple[str, str]]:
    """``(importer, imported)`` for each import of a tokenizer's own module from outside ``tokenizers/``."""
    return sorted(
        (importer, imported)
        for importer, deps in import_graph().items()
        if not importer.startswith("overworld.tokenizers")
        for imported in deps
        if imported.startswith("overworld.tokenizers.") and imported not in TOKENIZER_INTERFACES
    )


def test_no_module_outside_tokenizers_reaches_into_a_tokenizer():
    reaches = [edge for edge in reaches_into_tokenizers() if edge not in KNOWN_REACHES]
    assert reaches == [], (
        "import the bar tokenizer's abilities through overworld.tokenizers.abilities (bars_of), not its modules:\n"
        + "\n".join(f"{a} imports {b}" for a, b in reaches)
    )
    stale = [edge for edge in KNOWN_REACHES if edge not in reaches_into_tokenizers()]
    assert stale == [], f"fixed, so take them off KNOWN_REACHES: {stale}"


def test_the_bar_abilities_are_asked_for_never_guessed():
    # no hasattr/getattr on the abilities and no bare BAR id outside tokenizers/ (STYLE.md rule 21)
    guesses = re.compile(r"""(getattr|hasattr)\([^)]*["'](can_infill|arranges)["']|ids == 3\b""")
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if "tokenizers" not in path.relative_to(PACKAGE).parts
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if guesses.search(line)
    ]
    assert found == [], "ask overworld.tokenizers.abilities.bars_of (or has_bars) instead: " + ", ".join(
        found
    )


def test_the_docs_show_these_layers():
    assert layers_table() in DOC.read_text(encoding="utf-8"), (
        "docs/architecture.md's layer table differs from LAYERS; paste this:\n" + layers_table()
    )


def test_the_checks_catch_a_circle_and_a_lazy_import(tmp_path):
    # a() imports b at module level, b imports a inside a function: still a circle
    graph = {"overworld.a": {"overworld.b"}, "overworld.b": {"overworld.a"}, "overworld.c": set()}
    assert find_cycle(graph) == ["overworld.a", "overworld.b", "overworld.a"]
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from overworld.errors import ConfigError\n", encoding="utf-8")
    assert imports_of(source, modules()) == {"overworld.errors"}
