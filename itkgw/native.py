"""The request path compiled to C, used only while it matches the sources.

``etc/build-native`` compiles the modules of :data:`COMPILED` with mypyc (the
type annotations the code carries anyway become C types) into
``build/native/<interpreter>/`` with a manifest of what it compiled. Those
modules then load in place of their Python sources, but only when the manifest
names this interpreter and every source of the package is still byte for byte
the one compiled: compiled modules call one another directly and rely on the
types of the others, so one edited source sends all of them back to Python,
and nothing stale ever runs. Without a build
(no compiler, another interpreter) the same code runs as Python, as it does
with ITKGW_NATIVE=0 in the environment (to profile it, say).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Sequence

PACKAGE_DIR = Path(__file__).resolve().parent
BUILD_ROOT = PACKAGE_DIR.parent / "build" / "native"
MANIFEST = "manifest.json"

#: What is compiled: the rooms every request passes through, the process model's modules
#: that pass and serve connections (the FastCGI backend manager among them: in the itk model
#: every connection child asks it for a process), and the configuration's model (read on
#: every request).
#: Reading the configuration and starting processes run once or seldom, and stay Python;
#: so does mpm/log.py, whose handler and formatter derive from the logging module's classes
#: (compiled, such a class crashed a process now and then as it was made).
COMPILED = ("rules", "http", "request", "handlers", "config/model.py",
            *(f"mpm/{name}.py" for name in ("child", "scoreboard", "worker", "front", "handoff",
                                             "pools", "pool_worker", "fcgid_manager", "backends")))


def interpreter_tag() -> str:
    """A build's directory name: compiled code is tied to the interpreter that built it."""
    digest = hashlib.sha256(f"{sys.version}|{sys.platform}".encode()).hexdigest()[:10]
    version = ".".join(map(str, sys.version_info[:3]))
    return f"{sys.implementation.name}-{version}-{digest}"


def compiled_sources() -> list[Path]:
    """The source files :data:`COMPILED` names (package __init__ files stay Python)."""
    sources: list[Path] = []
    for entry in COMPILED:
        path = PACKAGE_DIR / entry
        if path.suffix == ".py":
            sources.append(path)
        else:
            sources += sorted(p for p in path.glob("*.py") if p.name != "__init__.py")
    return sources


def package_sources() -> list[Path]:
    """Every source of the package: what a build was compiled against."""
    return sorted(PACKAGE_DIR.rglob("*.py"))


def source_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Build:
    """One directory of compiled modules and the manifest that says what they were built from."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @functools.cached_property
    def manifest(self) -> dict | None:
        """The manifest, read once (the checks and the libraries both need it)."""
        try:
            return json.loads((self.directory / MANIFEST).read_text())
        except (OSError, ValueError):
            return None

    def stale_reason(self) -> str | None:
        """Why this build cannot be used here (None: it can)."""
        manifest = self.manifest
        if manifest is None:
            return f"no build in {self.directory}"
        if manifest.get("python") != sys.version:
            return f"built for Python {manifest.get('python')!r}"
        sources: dict[str, str] = manifest.get("sources", {})
        root = PACKAGE_DIR.parent
        current = {str(path.relative_to(root)): path for path in package_sources()}
        if set(current) != set(sources):
            return "the package's modules changed (some added or removed)"
        for name, path in current.items():
            try:
                changed = source_digest(path) != sources[name]
            except OSError:
                changed = True
            if changed:
                return f"{name} changed since it was compiled"
        return None

    def libraries(self) -> dict[str, Path]:
        """Module name -> its compiled library."""
        manifest = self.manifest or {}
        return {name: self.directory / relative for name, relative in manifest.get("libraries", {}).items()}


class _CompiledFinder(importlib.abc.MetaPathFinder):
    """Finds the compiled library of a module the build holds; the rest import as usual."""

    def __init__(self, libraries: dict[str, Path]) -> None:
        self.libraries = libraries

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        library = self.libraries.get(fullname)
        if library is None:
            return None
        loader = importlib.machinery.ExtensionFileLoader(fullname, str(library))
        return importlib.util.spec_from_file_location(fullname, library, loader=loader)


_UNDECIDED = "not looked for yet"
#: Why the compiled modules are not in use (None: they are); set by :func:`install`.
not_in_use: str | None = _UNDECIDED
#: The build in use, if one is.
in_use: Build | None = None


def install(directory: Path | None = None) -> bool:
    """Use the build for this interpreter (or ``directory``'s) if it matches the sources;
    whether it does. The first call decides: modules may have been loaded since."""
    global not_in_use, in_use
    if not_in_use != _UNDECIDED:
        return in_use is not None
    build = Build(directory or BUILD_ROOT / interpreter_tag())
    if os.environ.get("ITKGW_NATIVE") == "0":
        not_in_use = "ITKGW_NATIVE=0 in the environment"
    else:
        not_in_use = build.stale_reason()
    if not_in_use is None:
        in_use = build
        sys.meta_path.insert(0, _CompiledFinder(build.libraries()))
    return not_in_use is None


def state() -> str:
    """For ``itkgw -V``: whether the request path runs compiled, and if not, why."""
    if in_use is not None:
        return f"yes, {len(compiled_sources())} modules ({in_use.directory})"
    return f"no, running as Python ({not_in_use}; etc/build-native compiles them)"
