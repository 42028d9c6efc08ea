"""The layers of Pulseboard, enforced: every module imports only from its
own layer or the layers below it, and nothing below the web layer imports
Flask, Dash or another HTTP package.

The imports are read with ``ast`` from the source, so an import inside a
function counts as much as one at the top. Imports under ``if
TYPE_CHECKING:`` are allowed in any direction: they never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Lowest first. A module's layer is that of its longest matching prefix.
LAYERS: dict[str, int] = {
    "analytics": 1,
    "core": 1,
    "data": 2,
    "reports": 3,
    "alerts": 3,
    "jobs": 3,
    "live": 3,  # the broker, the tail and the Live machinery; their endpoints below are web
    "settings": 4,
    "services": 4,
    "demo": 5,  # fills a running Pulseboard through its services
    "web": 5,
    "api": 5,
    "live.endpoints": 5,
    "live.compat": 5,
    "live.rooms": 5,
    "live.socketio": 5,
    "auth": 5,
    "layouts": 6,
    "callbacks": 6,
    "app": 7,
    "demo.__main__": 7,  # `python -m demo`: builds the app like app.py does
}
NAMES = {1: "pure", 2: "storage", 3: "services", 4: "wiring", 5: "web", 6: "pages", 7: "app"}
# Packages of HTTP and of the pages, which only the web layer and above may import.
WEB_PACKAGES = (
    "flask",
    "flask_cors",
    "werkzeug",
    "dash",
    "dash_bootstrap_components",
    "dash_ag_grid",
    "dash_extensions",
    "flask_sock",
    "gunicorn",
    "socketio",
    "engineio",
    "simple_websocket",
)
# The pure layer is also kept free of database sessions.
PURE_FORBIDDEN = ("sqlalchemy",)


def layer_of(module: str) -> int | None:
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        found = LAYERS.get(".".join(parts[:n]))
        if found is not None:
            return found
    return None


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> list[Path]:
    paths = [ROOT / f"{name}.py" for name in LAYERS if (ROOT / f"{name}.py").exists()]
    for package in {name.split(".")[0] for name in LAYERS}:
        folder = ROOT / package
        if folder.is_dir():
            paths += [p for p in folder.rglob("*.py") if "migrations" not in p.parts]
    return sorted(set(paths))


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(path: Path, module: str) -> list[tuple[int, str]]:
    """(line, imported module) for every import that runs."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking_only(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            # `from pkg import mod` imports pkg.mod when mod is a module.
            for alias in node.names:
                found.append((node.lineno, f"{target}.{alias.name}"))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def problems(module: str, target: str) -> list[str]:
    """What is wrong with ``module`` importing ``target``."""
    own = layer_of(module)
    assert own is not None, module
    top = target.split(".")[0]
    out = []
    if own < 5 and top in WEB_PACKAGES:
        out.append(f"{module} ({NAMES[own]}) imports {target} (HTTP/pages)")
    if own == 1 and top in PURE_FORBIDDEN:
        out.append(f"{module} (pure) imports {target}")
    theirs = layer_of(target)
    if theirs is not None and theirs > own:
        out.append(f"{module} ({NAMES[own]}) imports {target} ({NAMES[theirs]})")
    return out


def violations() -> list[str]:
    out = []
    for path in project_modules():
        module = module_name(path)
        for line, target in imports_of(path, module):
            out += [f"{path.relative_to(ROOT)}:{line}: {p}" for p in problems(module, target)]
    return out


def test_no_module_imports_a_higher_layer() -> None:
    found = violations()
    assert not found, "upward imports:\n" + "\n".join(found)


def test_every_module_has_a_layer() -> None:
    assert all(layer_of(module_name(p)) is not None for p in project_modules())
    assert len(project_modules()) > 100  # the walk found the tree


@pytest.mark.parametrize(
    ("source", "module", "expected"),
    [
        ("from api.http import ApiError\n", "data.csv_import", "data.csv_import (storage) imports api.http (web)"),
        ("def f():\n    from web import params\n", "alerts.rules", "alerts.rules (services) imports web.params (web)"),
        ("import flask\n", "jobs.exports", "jobs.exports (services) imports flask (HTTP/pages)"),
        ("from . import endpoints\n", "live.tail", "live.tail (services) imports live.endpoints (web)"),
    ],
)
def test_the_walk_catches_an_upward_import(tmp_path: Path, source: str, module: str, expected: str) -> None:
    path = tmp_path / "m.py"
    path.write_text(source)
    messages = [p for _, target in imports_of(path, module) for p in problems(module, target)]
    assert expected in messages


def test_imports_for_type_checking_only_are_allowed(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from services import Services\n")
    assert all(not t.startswith("services") for _, t in imports_of(path, "jobs.x"))
