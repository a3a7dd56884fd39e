"""The layers of the Pulumi program, read from the source with `ast`: infra/ (components) knows
neither the composition (stacks/) nor any app; infra/ and stacks/ have no import cycle; the CLI
imports the program as a package instead of editing sys.path."""

from __future__ import annotations

import ast
from pathlib import Path

from infra.images import REPO_ROOT

LAYERS = ("infra", "stacks")


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> set[str]:
    """Every module a file imports, anywhere in it (functions and TYPE_CHECKING blocks too);
    `from pkg import name` counts as `pkg.name`, which is a module or names one in `pkg`."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def layer_modules() -> dict[str, Path]:
    return {
        module_name(path): path for layer in LAYERS for path in (REPO_ROOT / layer).rglob("*.py")
    }


def app_packages() -> set[str]:
    """The import names of the workspace's apps (apps/<app>/<package>/__init__.py)."""
    return {init.parent.name for init in REPO_ROOT.glob("apps/*/*/__init__.py")}


def test_infra_imports_neither_stacks_nor_an_app():
    apps = app_packages()
    assert {"spy_backend", "spy_platform"} <= apps
    offenders = {}
    for module, path in layer_modules().items():
        if not module.startswith("infra"):
            continue
        bad = {name for name in imported(path) if name.split(".")[0] in {"stacks", *apps}}
        if bad:
            offenders[module] = sorted(bad)
    assert not offenders, f"infra/ must not import stacks/ or an app: {offenders}"


def test_no_import_cycle_among_infra_and_stacks():
    modules = layer_modules()
    graph = {
        module: {name for name in imported(path) if name in modules and name != module}
        for module, path in modules.items()
    }
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            cycle = [*path[path.index(module) :], module]
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if module in done:
            return
        for target in sorted(graph[module]):
            visit(target, [*path, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])


def test_the_cli_does_not_edit_sys_path():
    for path in (REPO_ROOT / "apps" / "cli").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            is_sys_path = (
                isinstance(node, ast.Attribute)
                and node.attr == "path"
                and isinstance(node.value, ast.Name)
                and node.value.id == "sys"
            )
            assert not is_sys_path, f"{path.relative_to(REPO_ROOT)}:{node.lineno} uses sys.path"


def test_the_checks_see_a_violation(tmp_path):
    """The scanner itself: an infra-style file importing stacks and an app is caught."""
    sample = tmp_path / "bad.py"
    sample.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from stacks.stack_config import StackConfig\n"
        "def f():\n    import spy_backend.settings\n"
    )
    assert {"stacks.stack_config", "spy_backend.settings"} <= imported(sample)
