"""The package's shape: no module reaches into another's private names, and no import cycle.

Both checks read the source with `ast`, so they see what a reader sees, not what happened to be imported.

- *Private names*: every import counts, top-level or inside a function, and so does `module._name` on a
  name bound to a proofpile module (`from proofpile import build; build._execute(...)`). A function-level
  import is still a dependency on the other module's internals; hiding it in a function changes only when
  it is paid for.
- *Cycles*: only top-level imports (module body, including `if`/`try` blocks there, excluding
  `if TYPE_CHECKING:`) count. A function-level import is the standard way to keep a heavy or optional
  dependency lazy (datatrove steps are pickled to workers); it cannot fail at import time, so it cannot
  form the import-order trap a cycle is. Importing `a.b.c` runs the `__init__` of `a` and `a.b` first, so
  it is an edge to those packages too, except to the importer's own packages (Python has started them
  before the importer). `from pkg import submodule` needs only the submodule; taking a name defined in a
  package's `__init__` (`from proofpile.pack import PackError` inside `proofpile.pack.y`) is an edge to
  that package like any other.
"""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "proofpile"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def _is_package(mod: str) -> bool:
    return MODULES[mod].name == "__init__.py"


def _resolve(mod: str, node: ast.ImportFrom) -> str:
    """The absolute module an `ImportFrom` names (relative imports resolved against `mod`)."""
    if not node.level:
        return node.module or ""
    base = mod.split(".")
    if not _is_package(mod):
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _top_level_imports(tree: ast.Module):
    """Import nodes executed when the module is imported (not in functions or TYPE_CHECKING blocks)."""
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If):
            test = ast.unparse(node.test)
            if "TYPE_CHECKING" not in test:
                stack += node.body
            stack += node.orelse
        elif isinstance(node, ast.Try):
            stack += [*node.body, *node.orelse, *node.finalbody, *(s for h in node.handlers for s in h.body)]
        elif isinstance(node, ast.With):
            stack += node.body
        elif isinstance(node, ast.ClassDef):  # a class body runs at import time
            stack += node.body


def _targets(mod: str, node: ast.Import | ast.ImportFrom) -> set[str]:
    """The proofpile modules an import runs (the named module, the packages above it, and imported submodules)."""
    named: set[str] = set()
    if isinstance(node, ast.Import):
        named = {a.name for a in node.names}
    else:
        base = _resolve(mod, node)
        subs = {f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in MODULES}
        named |= subs
        if len(subs) < len(node.names):  # a name defined in `base` itself, not only its submodules
            named.add(base)
    own_packages = {".".join(mod.split(".")[:i]) for i in range(1, mod.count(".") + 1)}
    out = named & MODULES.keys()
    for name in named:
        parts = name.split(".")
        # the packages above it run first, except the importer's own: Python has already started those
        out |= ({".".join(parts[:i]) for i in range(1, len(parts))} - own_packages) & MODULES.keys()
    out.discard(mod)
    return out


def private_imports() -> list[str]:
    found = []
    for mod, path in MODULES.items():
        tree = ast.parse(path.read_text(), str(path))
        aliases: dict[str, str] = {}  # local name -> proofpile module it is bound to
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                source = _resolve(mod, node)
                if source not in MODULES or source == mod:
                    continue
                for a in node.names:
                    if f"{source}.{a.name}" in MODULES:
                        aliases[a.asname or a.name] = f"{source}.{a.name}"
                    if _private(a.name):
                        found.append(f"{mod}: from {source} import {a.name} (line {node.lineno})")
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.name in MODULES and a.asname:
                        aliases[a.asname] = a.name
                    if any(_private(part) for part in a.name.split(".")[1:]) and a.name in MODULES:
                        found.append(f"{mod}: import {a.name} (line {node.lineno})")
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and _private(node.attr) and isinstance(node.value, ast.Name)
                    and node.value.id in aliases and aliases[node.value.id] != mod):
                found.append(f"{mod}: {aliases[node.value.id]}.{node.attr} (line {node.lineno})")
    return found


def import_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for mod, path in MODULES.items():
        tree = ast.parse(path.read_text(), str(path))
        graph[mod] = set()
        for node in _top_level_imports(tree):
            graph[mod] |= _targets(mod, node)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each strongly connected component of more than one module (Tarjan), as a sorted list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _cycle_path(graph: dict[str, set[str]], comp: list[str]) -> str:
    """One concrete loop through a component, for a readable failure."""
    members, start = set(comp), comp[0]
    path, seen = [start], {start}
    while True:
        nxt = sorted(graph[path[-1]] & members)
        back = [n for n in nxt if n in seen]
        if back:
            return " -> ".join([*path[path.index(back[0]):], back[0]])
        path.append(nxt[0])
        seen.add(nxt[0])


def test_checker_sees_the_package():
    assert "proofpile.build" in MODULES and "proofpile.pack.packer" in MODULES
    assert len(MODULES) > 40


def test_no_module_imports_a_private_name_from_another():
    assert private_imports() == []


def test_no_import_cycle_among_top_level_imports():
    graph = import_graph()
    found = cycles(graph)
    assert not found, "\n".join(_cycle_path(graph, c) for c in found)


def test_checks_catch_what_they_claim(tmp_path):
    """The checker itself, on the shapes it must flag (a test that cannot fail is no test)."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert _cycle_path(graph, ["a", "b", "c"]) == "a -> b -> c -> a"
    assert cycles({"a": {"b"}, "b": set()}) == []
    tree = ast.parse("import os\nif TYPE_CHECKING:\n    import x\ndef f():\n    import y\ntry:\n    import z\n"
                     "except ImportError:\n    import w\n")
    assert sorted(a.names[0].name for a in _top_level_imports(tree)) == ["os", "w", "z"]
