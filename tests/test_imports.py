"""Imports run down the pipeline only, and `hark --help` stays free of numerical libraries.

The import graph is read from the source with `ast` (nothing is imported), counting every
import: at module level and inside functions alike, since a lazy import up the pipeline is
still a dependency up the pipeline."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import hark

PACKAGE = Path(hark.__file__).resolve().parent

# Rank of every sub-package and top-level module. A module may import modules of its own rank
# or lower, never higher. The base (schema, errors, fileio, runfiles, ranges) holds names, error types,
# option ranges and file reading/writing every stage shares; cli dispatches to every command by name.
STAGES = ("data", "features", "models", "train", "evaluate", "analysis", "explorer")
BASE = ("hark", "hark.schema", "hark.errors", "hark.fileio", "hark.runfiles", "hark.ranges")
RANK = {
    **{name: 0 for name in BASE},
    **{f"hark.{stage}": rank for rank, stage in enumerate(STAGES, 1)},
    "hark.cli": len(STAGES) + 1,
}
# hark.synth is a side branch: it writes datasets with hark.data's helpers, and no stage may
# depend on it (the analysis must never learn the synthetic faults it is tested against).
SIDE_BRANCHES = {"hark.synth": ("hark.data", *BASE)}
# Numerical libraries that `hark --help` must not load (it would take seconds).
NUMERICAL = ("numpy", "torch", "soundfile", "soxr", "pandas", "pyarrow", "scipy", "sklearn", "librosa")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """hark modules that `name` imports; `from package import module` counts as the module."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
    return {target for target in found if target in modules and target != name}


def import_graph() -> dict[str, set[str]]:
    modules = package_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def area(name: str) -> str:
    """The sub-package or top-level module that `name` belongs to."""
    parts = name.split(".")
    return ".".join(parts[:2])


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan), each as a sorted list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    wrong = []
    for source, targets in sorted(graph.items()):
        for target in sorted(targets):
            here, there = area(source), area(target)
            if here == there:
                continue
            if there in SIDE_BRANCHES:
                wrong.append(f"{source} imports {target}: no stage may depend on {there}")
            elif here in SIDE_BRANCHES:
                if there not in SIDE_BRANCHES[here]:
                    wrong.append(f"{source} imports {target}: {here} may use only {', '.join(SIDE_BRANCHES[here])}")
            elif RANK[there] > RANK[here] and here != "hark.cli":
                wrong.append(f"{source} imports {target}: up the pipeline ({here} comes before {there})")
    return wrong


def test_every_module_belongs_to_a_known_area():
    unknown = sorted({area(name) for name in package_modules()} - set(RANK) - set(SIDE_BRANCHES))
    assert not unknown, f"give these a place in the pipeline order: {unknown}"


def test_no_import_cycle():
    found = cycles(import_graph())
    assert not found, "import cycles:\n" + "\n".join(" <-> ".join(group) for group in found)


def test_imports_run_down_the_pipeline_only():
    wrong = upward_imports(import_graph())
    assert not wrong, "\n".join(wrong)


def test_the_checker_sees_an_upward_import_and_a_cycle():
    graph = {"hark.train.loop": {"hark.evaluate.metrics"}, "hark.evaluate.metrics": {"hark.train.loop"}}
    assert upward_imports(graph) == [
        "hark.train.loop imports hark.evaluate.metrics: up the pipeline (hark.train comes before hark.evaluate)"
    ]
    assert cycles(graph) == [["hark.evaluate.metrics", "hark.train.loop"]]
    assert upward_imports({"hark.analysis.x": {"hark.synth.faults"}})
    assert upward_imports({"hark.synth.x": {"hark.train.run"}})
    assert not upward_imports({"hark.synth.x": {"hark.data.audio"}, "hark.explorer.x": {"hark.schema"}})


def test_lazy_and_relative_imports_count(tmp_path):
    modules = {
        "hark.a": Path("a.py"),
        "hark.b": Path("b.py"),
        "hark.pkg": Path("pkg/__init__.py"),
        "hark.pkg.c": Path("pkg/c.py"),
    }
    source = tmp_path / "probe.py"
    source.write_text("def f():\n    from hark.b import x\nfrom . import a\nfrom hark.pkg import c\n")
    assert imports_of("hark.probe", source, modules) == {"hark.a", "hark.b", "hark.pkg.c"}


def test_help_imports_no_numerical_library():
    probe = (
        "import sys, contextlib, io\n"
        "from hark.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n        main(['--help'])\n    except SystemExit:\n        pass\n"
        f"print(' '.join(sorted(m for m in {NUMERICAL!r} if m in sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "", f"`hark --help` imports {result.stdout.strip()}"
