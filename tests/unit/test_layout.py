"""The package's rooms and who may import whom, read from the source.

Every ``import`` counts, at any depth of a module (a lazy import inside a
function or under TYPE_CHECKING is still a dependency). The rooms form
layers; a room imports only rooms below it, so there is no cycle, and the
configuration never reaches code that serves requests or holds privileges.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "itkgw"

#: Each room and the rooms it may import, lowest first. ``errors`` and the
#: package's face (``itkgw``: version, SERVER_SOFTWARE; ``native``, which it runs first to
#: load the compiled modules) are open to all.
LAYERS: dict[str, frozenset[str]] = {
    "rules": frozenset(),
    "config": frozenset({"rules"}),
    "http": frozenset({"config"}),
    "request": frozenset({"rules", "config", "http"}),
    "handlers": frozenset({"rules", "config", "http", "request"}),
    "mpm": frozenset({"rules", "config", "http", "request", "handlers"}),
    "__main__": frozenset({"config", "mpm"}),
}
SHARED = frozenset({"itkgw", "errors", "native"})
#: Third-party libraries only one room may use.
OWNERS = {"h11": "http", "prctl": "mpm", "pyseccomp": "mpm"}
#: Calls that fork the server or change a process's identity: the process model's alone.
PRIVILEGED_CALLS = frozenset({"fork", "setuid", "setgid", "setresuid", "setresgid", "setgroups",
                              "initgroups", "seteuid", "setegid", "setreuid", "setregid"})


def room_of(path: Path) -> str:
    """``config`` for itkgw/config/x.py, ``errors`` for itkgw/errors.py, ``itkgw`` for the face."""
    parts = path.relative_to(PACKAGE).parts
    if len(parts) > 1:
        return parts[0]
    return "itkgw" if parts[0] == "__init__.py" else parts[0].removesuffix(".py")


def imported_modules(tree: ast.AST) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "itkgw":
                yield from (f"itkgw.{alias.name}" for alias in node.names)
            else:
                yield node.module


def sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def dependencies() -> dict[str, set[str]]:
    """Room -> the other rooms and the owned libraries its modules import."""
    found: dict[str, set[str]] = {}
    for path in sources():
        room = room_of(path)
        for module in imported_modules(ast.parse(path.read_text())):
            top, _, rest = module.partition(".")
            if top == "itkgw" and rest:
                target = rest.split(".")[0]
                if not ((PACKAGE / target).is_dir() or (PACKAGE / f"{target}.py").is_file()):
                    target = "itkgw"  # a name of the package's face
                if target != room:
                    found.setdefault(room, set()).add(target)
            elif top in OWNERS:
                found.setdefault(room, set()).add(top)
    return found


def test_every_module_is_in_a_known_room() -> None:
    rooms = {room_of(path) for path in sources()}
    assert rooms <= set(LAYERS) | SHARED, f"rooms without a layer: {rooms - set(LAYERS) - SHARED}"


@pytest.mark.parametrize("room", sorted(LAYERS))
def test_a_room_imports_only_the_rooms_below_it(room: str) -> None:
    imported = dependencies().get(room, set()) - set(OWNERS)
    assert imported <= LAYERS[room] | SHARED, f"{room} imports {sorted(imported - LAYERS[room] - SHARED)}"


def test_the_layers_have_no_cycle() -> None:
    order = list(LAYERS)
    for room, allowed in LAYERS.items():
        assert all(order.index(lower) < order.index(room) for lower in allowed), room


def test_config_reaches_no_socket_no_uid_and_no_request() -> None:
    assert not dependencies().get("config", set()) & {"mpm", "http", "handlers", "request"}


@pytest.mark.parametrize("library", sorted(OWNERS))
def test_a_library_is_used_by_its_room_only(library: str) -> None:
    users = {room for room, imported in dependencies().items() if library in imported}
    assert users <= {OWNERS[library]}, f"{library} imported by {sorted(users)}"


def test_only_the_process_model_forks_or_changes_ids() -> None:
    offenders = []
    for path in sources():
        if room_of(path) == "mpm":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in PRIVILEGED_CALLS):
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.func.attr}")
    assert not offenders


def test_the_walk_sees_lazy_and_type_checking_imports() -> None:
    tree = ast.parse("def f():\n    from itkgw.mpm import privs\nif TYPE_CHECKING:\n    import h11\n")
    assert set(imported_modules(tree)) == {"itkgw.mpm", "h11"}
