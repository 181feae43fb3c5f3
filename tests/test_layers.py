"""The architecture holds: imports in src/signlens only go down the layers, never round in a cycle
(function-level imports included), only the entry points (cli/, serve/) import lazily, and no module
grows past 400 lines. Read from the source with ast, so nothing is imported to check it."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "src"
# Lowest first; a module may import its own package and anything ranked below it.
LAYERS = [
    # The package root holds the version; it names the public API (signlens.Recognizer ...) by module
    # path and imports it on first use, so importing signlens imports nothing else.
    {"signlens", "errors"},
    {"io"},
    {"data"},
    {"models"},
    {"engine"},
    {"inference"},
    {"evaluation", "export"},  # siblings: neither imports the other
    {"pipeline"},
    {"study"},
    {"serve"},
    {"cli"},  # `signlens serve` starts the server
    {"__main__"},
]
RANK = {part: rank for rank, parts in enumerate(LAYERS) for part in parts}
MODULE_LEVEL_ONLY = {
    "signlens",
    "errors",
    "io",
    "data",
    "models",
    "engine",
    "inference",
    "evaluation",
    "export",
}
MAX_LINES = 400


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted((ROOT / "signlens").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def package_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "signlens"


def imports_of(module: str, path: Path, known: dict[str, Path]) -> list[tuple[str, int, bool]]:
    """(imported signlens module, line, at module level) for every import statement in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    top_level = {id(node) for node in tree.body}
    # Imports under `if TYPE_CHECKING:` or try/except at module level still run at import time.
    for node in tree.body:
        if isinstance(node, ast.If | ast.Try):
            top_level |= {id(inner) for inner in ast.walk(node)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
                here = here[: len(here) - node.level + 1]
                base = ".".join(here + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for target in targets:
            if target == "signlens" or target.startswith("signlens."):
                while target not in known and "." in target:
                    target = target.rsplit(".", 1)[0]
                found.append((target, node.lineno, id(node) in top_level))
    return found


def graph() -> tuple[dict[str, Path], dict[str, list[tuple[str, int, bool]]]]:
    known = modules()
    return known, {m: imports_of(m, p, known) for m, p in known.items()}


def test_every_package_has_a_layer():
    known, _ = graph()
    assert {package_of(m) for m in known} <= set(RANK), sorted({package_of(m) for m in known} - set(RANK))


def test_imports_only_go_down_the_layers():
    known, edges = graph()
    wrong = []
    for module, targets in edges.items():
        here = package_of(module)
        for target, line, _ in targets:
            there = package_of(target)
            if there != here and RANK[there] >= RANK[here]:
                wrong.append(f"{known[module].relative_to(ROOT)}:{line} {module} -> {target}")
    assert not wrong, "upward or sideways imports:\n" + "\n".join(wrong)


def test_lower_layers_import_at_module_level():
    """Lazy imports buy start-up time only at the entry points (cli/, serve/). The lower layers import
    everything at module level, so the graph above is what runs. (pipeline and study still hold
    function-level imports; they are counted in the graph, and join this list once moved.)"""
    known, edges = graph()
    lazy = [
        f"{known[module].relative_to(ROOT)}:{line} -> {target}"
        for module, targets in edges.items()
        if package_of(module) in MODULE_LEVEL_ONLY
        for target, line, top in targets
        if not top
    ]
    assert not lazy, "function-level signlens imports:\n" + "\n".join(lazy)


def test_no_import_cycles():
    _, edges = graph()
    adjacency = {m: sorted({t for t, _, _ in targets if t != m}) for m, targets in edges.items()}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in adjacency.get(node, []):
            # A package's __init__ importing its own submodules is how packages work, not a cycle.
            if node == nxt.rsplit(".", 1)[0] and nxt.startswith(node + "."):
                continue
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*path[path.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for module in sorted(adjacency):
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_modules_stay_short():
    known, _ = graph()
    long = {
        str(p.relative_to(ROOT)): n
        for p in known.values()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_the_checker_sees_function_level_imports_and_cycles(tmp_path):
    """The checks above would pass vacuously if the parser missed imports: it must find a lazy one."""
    path = tmp_path / "m.py"
    path.write_text("import os\n\ndef f():\n    from signlens.errors import SignlensError\n")
    known = {"signlens.errors": path, "signlens.engine.m": path}
    assert imports_of("signlens.engine.m", path, known) == [("signlens.errors", 4, False)]
    _, edges = graph()
    assert sum(len(v) for v in edges.values()) > 100


def test_the_runtime_never_reaches_the_build():
    """What predict, live and the server run (every import, function-level ones included) never reaches
    study.recognizer, which builds the bundled model: the build sits apart from the runtime."""
    known, edges = graph()
    runtime = [m for m in known if package_of(m) in ("pipeline", "serve")] + ["signlens.cli.predict"]
    seen, todo = set(), list(runtime)
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo += [target for target, _, _ in edges.get(module, [])]
    assert "signlens.cli.predict" in seen and "signlens.serve.app" in seen
    assert not sorted(m for m in seen if m.startswith("signlens.study")), "the runtime imports the build"
